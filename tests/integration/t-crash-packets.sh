# Repeated `kill -9` of mpsrd under stream, datagram and record load: every
# message exactly once in `journalctl -u mpsr`. A record or a datagram is
# peeked, written, then taken out of its socket; the ledger (ledger.h, P1 to
# P3) says which packet was being written at the kill, journald (asked
# through mpsr-readback) whether it has it, and the socket's peek mark whether
# it was taken: none may be written twice, none lost.
#
# Sized by time: the producers write for $secs seconds, mpsrd is killed again
# as soon as the one before has served for a moment, as often as that allows
# (the unit's start limit is lifted for it). Each kill lands wherever the
# writer happens to be: in a send, between a send and its take, in the
# recovery of the kill before.
. "$here/robust.sh"

secs=24 P=3 rate=800
cleanup() {
	ct rm -f /run/rec-load.py
	rb_dropin_remove 50-test-crash-packets
}
trap cleanup EXIT

# Records: P producers, one seqpacket connection each, "TAG p=P s=S ..." (100
# bytes, as mpsr-load writes) under SYSLOG_IDENTIFIER=$3, R a second for S
# seconds; each says what it sent, as mpsr-load does.
ct_sh 'cat >/run/rec-load.py' <<'EOF'
import os, socket, sys, time
P, secs, rate, tag, ident = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def produce(p):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect("/run/mpsr.record")
    head = ("SYSLOG_IDENTIFIER=%s\n\n" % ident).encode()
    start = time.time()
    i = 0
    while time.time() < start + secs:
        wait = start + i / rate - time.time()
        if wait > 0:
            time.sleep(wait)
        line = "%s p=%d s=%d t=%d " % (tag, p, i, time.time() * 1e6)
        s.send(head + (line + "x" * (100 - len(line))).encode())
        i += 1
    s.close()
    return i
# Each producer reports in one write to a pipe (atomic), the parent prints.
rd, wr = os.pipe()
kids = []
for p in range(P):
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        n = produce(p)
        os.write(wr, b"producer p=%d sent=%d\n" % (p, n))
        os._exit(0)
    kids.append(pid)
os.close(wr)
with os.fdopen(rd) as reports:
    sys.stdout.write(reports.read())
sys.exit(max(os.waitstatus_to_exitcode(os.waitpid(k, 0)[1]) != 0 for k in kids))
EOF

ct systemctl start mpsr.socket || fail "mpsr.socket"
# More kills than the start limit lets through (5 in 10 s by default).
rb_dropin 50-test-crash-packets '[Unit]\nStartLimitIntervalSec=0\n'
ct systemctl start mpsr.service || fail "start"

rb_loader cp-stream
rb_loader cp-dgram
rb_load_start cp-stream -P $P -r $rate -d $secs -t cps$$
rb_load_start cp-dgram --mode=dgram -s /run/mpsr.dgram -P $P -r $rate -d $secs -t cpd$$
ct_sh "python3 /run/rec-load.py $P $secs $rate cpr$$ cp-record >/run/cp-record.out 2>&1; echo \$? >/run/cp-record.rc" &
rec=$!

# Kill until 2 s before the producers stop: the last mpsrd sees their end.
t0=$(date +%s%N)
kills=0
sleep 1
while [ $(rb_ms $t0) -lt $(((secs - 2) * 1000)) ]; do
	pid=$(rb_show MainPID)
	[ "$pid" != 0 ] || { sleep 0.1; continue; }
	ct kill -KILL "$pid" || fail "kill $pid"
	kills=$((kills + 1))
	# The next mpsrd: ready, then serving for a moment (0.3 to 0.8 s) before its kill.
	for i in $(seq 200); do
		new=$(rb_show MainPID)
		[ "$new" != 0 ] && [ "$new" != "$pid" ] && [ "$(rb_show ActiveState)" = active ] && break
		sleep 0.05
	done
	sleep 0.$((3 + RANDOM % 6))
done
echo "$kills kills in $(rb_ms $t0) ms"
[ $kills -ge 10 ] || fail "only $kills kills: too few to prove anything"

rb_load_wait cp-stream || fail "a stream producer's write failed"
rb_load_wait cp-dgram || fail "a datagram producer's write failed"
wait $rec
ct cat /run/cp-record.out | sed 's/^/cp-record: /'
[ "$(ct cat /run/cp-record.rc)" = 0 ] || fail "a record producer failed"
[ "$(rb_auto_restarts)" -ge $kills ] || fail "systemd restarted mpsrd $(rb_auto_restarts) times after $kills kills"

# Counted under the unit: an entry journald stored without it is lost to its
# reader. Datagrams by their transport: one read after its sender exited has
# no comm to be named after (SYSLOG_IDENTIFIER=unknown), and is no less there.
bad=0
for kind in stream:cps:SYSLOG_IDENTIFIER=cp-stream dgram:cpd:MPSR_TRANSPORT=datagram \
	record:cpr:SYSLOG_IDENTIFIER=cp-record; do
	IFS=: read -r name tag match <<<"$kind"
	name=cp-$name tag=$tag$$
	sent=$(rb_sent $name) || fail "$name: no counts"
	out=$(ct_wait_ids --sent="$sent" $tag 0 0 120 -u mpsr "$match") || bad=1
	echo "$name: sent $(rb_sum "$sent"): $out"
done
named=$(ct journalctl -q -o cat -u mpsr SYSLOG_IDENTIFIER=cp-dgram | grep -c "^cpd$$ ")
all=$(ct journalctl -q -o cat -u mpsr MPSR_TRANSPORT=datagram | grep -c "^cpd$$ ")
echo "datagrams named after a sender gone by then: $((all - named))" \
	"($(ct journalctl -q -u mpsr MPSR_TRANSPORT=datagram -o json | grep "cpd$$ " |
		grep -o '"SYSLOG_IDENTIFIER":"[^"]*"' | grep -v cp-dgram | sort | uniq -c | tr -s ' \n' ' '))"

# What each restarted mpsrd found: packets and lines in the journal, or still in their socket.
log=$(ct journalctl -q -o cat -u mpsr _TRANSPORT=stdout --since "@$rb_since")
echo "packets in doubt found in the journal: $(grep -c 'packet being sent then is in' <<<"$log")," \
	"not in it: $(grep -c 'packet being sent then is not' <<<"$log")," \
	"taken after a kill inside the take: $(grep -c 'a packet in the journal already was taken out' <<<"$log")"
echo "stream entries in doubt found: $(grep -c 'entry being sent then is in' <<<"$log")," \
	"not: $(grep -c 'entry being sent then is not' <<<"$log")"
[ $bad = 0 ] || fail "messages lost, cut, or written twice"
grep -q 'cannot tell' <<<"$log" && fail "an entry in doubt was not read back: $(grep 'cannot tell' <<<"$log" | head -n1)"
rb_check_dropped
rb_check_sanitizers
rb_forget_journal
