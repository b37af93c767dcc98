# The syslog clients people already have, pointed at mpsr's sockets: util-linux
# logger in each of its modes and the standard-library syslog handlers of
# Python and Perl, on the stream and the datagram socket. Every message is one
# entry with exactly its text, identifier, priority and facility.
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=sl$$

# check IDENT TEXT PRIORITY FACILITY: exactly one such entry under the unit, nothing else by IDENT.
check() {
	local ident=$1 text=$2 prio=$3 fac=$4 n
	n=$(ct_wait_count 1 10 -u mpsr SYSLOG_IDENTIFIER="$ident")
	[ "$n" = 1 ] || fail "$ident: $n entries, want 1"
	got=$(ct journalctl -q -u mpsr SYSLOG_IDENTIFIER="$ident" -o json --output-fields=MESSAGE,PRIORITY,SYSLOG_FACILITY)
	printf '%s\n' "$got" | /usr/bin/python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
want = {"MESSAGE": sys.argv[1], "PRIORITY": sys.argv[2], "SYSLOG_FACILITY": sys.argv[3]}
bad = {k: (e.get(k), v) for k, v in want.items() if e.get(k) != v}
sys.exit("%s: %s" % (sys.argv[4], bad) if bad else 0)
' "$text" "$prio" "$fac" "$ident" || fail "entry differs"
}

# util-linux logger: RFC 3164 by default (stream, then datagram), RFC 5424, octet counting.
ct logger -u /run/mpsr.sock --socket-errors=on -t "$tag-l1" -p local3.err "plain 3164" || fail "logger"
check "$tag-l1" "plain 3164" 3 19
ct logger -u /run/mpsr.dgram -d --socket-errors=on -t "$tag-l2" -p user.warning "as a datagram" || fail "logger -d"
check "$tag-l2" "as a datagram" 4 1
ct logger -u /run/mpsr.sock --socket-errors=on --rfc5424 --msgid MID -t "$tag-l3" -p daemon.notice "in 5424" || fail "logger --rfc5424"
check "$tag-l3" "in 5424" 5 3
[ "$(ct journalctl -q -u mpsr SYSLOG_IDENTIFIER="$tag-l3" -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("SYSLOG_MSGID"))')" = MID ] ||
	fail "RFC 5424 MSGID not kept"
ct logger -u /run/mpsr.sock --socket-errors=on --octet-count -t "$tag-l4" -p local0.info "counted octets" || fail "logger --octet-count"
check "$tag-l4" "counted octets" 6 16
ct logger -u /run/mpsr.sock --socket-errors=on --rfc5424 --octet-count -t "$tag-l5" -p local7.debug "5424 counted" || fail "logger --rfc5424 --octet-count"
check "$tag-l5" "5424 counted" 7 23

# Python's logging.handlers.SysLogHandler: "<PRI>msg\0", on a stream and as a datagram.
for kind in STREAM DGRAM; do
	path=/run/mpsr.sock; [ $kind = DGRAM ] && path=/run/mpsr.dgram
	ct /usr/bin/python3 -c '
import logging, logging.handlers, socket, sys
h = logging.handlers.SysLogHandler(address=sys.argv[1], facility="local4",
                                   socktype=getattr(socket, "SOCK_" + sys.argv[2]))
h.setFormatter(logging.Formatter("%(name)s: %(message)s"))
log = logging.getLogger(sys.argv[3])
log.addHandler(h)
log.error("first from python")
log.warning("second from python")
h.close()
' "$path" $kind "$tag-py$kind" || fail "python $kind"
	n=$(ct_wait_count 2 10 -u mpsr SYSLOG_IDENTIFIER="$tag-py$kind")
	[ "$n" = 2 ] || fail "python $kind: $n entries, want 2"
	got=$(ct journalctl -q -u mpsr SYSLOG_IDENTIFIER="$tag-py$kind" -o json --output-fields=MESSAGE,PRIORITY,SYSLOG_FACILITY |
		/usr/bin/python3 -c 'import json,sys; print(" | ".join("%s %s %s" % (e["MESSAGE"], e["PRIORITY"], e["SYSLOG_FACILITY"]) for e in map(json.loads, sys.stdin)))')
	[ "$got" = "first from python 3 20 | second from python 4 20" ] || fail "python $kind: $got"
done

# Perl's Sys::Syslog on the datagram socket, and on the stream socket.
for kind in datagram stream; do
	path=/run/mpsr.dgram; [ $kind = stream ] && path=/run/mpsr.sock
	ct perl -MSys::Syslog=:standard,:macros,setlogsock -e '
setlogsock({type => "unix", path => $ARGV[0]}) or die "setlogsock";
openlog($ARGV[1], "pid", LOG_LOCAL2) or die "openlog";
syslog(LOG_CRIT, "from perl %s", $ARGV[2]) or die "syslog";
closelog();
' "$path" "$tag-pl$kind" "$kind" 2>&1 || fail "perl $kind"
	check "$tag-pl$kind" "from perl $kind" 2 18
done

# "\r\n" ends a message on both sockets: no CR is stored, no entry is a blob.
crlf='<2>Oct 11 22:14:15 myhostname %s[1234]: message 0\r\n'
ct_sh "printf '$crlf' $tag-crs | socat -u - UNIX-CONNECT:/run/mpsr.sock" || fail "CRLF, stream"
ct_sh "printf '$crlf' $tag-crd | socat -u - UNIX-SENDTO:/run/mpsr.dgram" || fail "CRLF, datagram"
for id in "$tag-crs" "$tag-crd"; do
	check "$id" "message 0" 2 0
	entry=$(ct journalctl -q -u mpsr SYSLOG_IDENTIFIER="$id" -o export)
	printf '%s\n' "$entry" | grep -qx 'SYSLOG_HOSTNAME=myhostname' || fail "$id: no SYSLOG_HOSTNAME=myhostname"
	printf '%s\n' "$entry" | grep -qx 'SYSLOG_PID=1234' || fail "$id: no SYSLOG_PID=1234"
	[ "$(ct journalctl -q -u mpsr SYSLOG_IDENTIFIER="$id" -o cat)" = "message 0" ] || fail "$id: journalctl shows no plain text"
done

# Where journald is odd, mpsr's decisions (mpsr(7)): <192> and <01> are text,
# an empty tag is none, a NUL inside a datagram is kept, kern has
# SYSLOG_FACILITY=0, a pid that is no number stays in the identifier, tag[]
# claims no pid. (Their own tag: the raw headers here are meant.) The sender
# lives until its entries are in the journal: o3's identifier is its comm,
# which mpsrd reads when it reads the datagram (mpsr(7), SYSLOG_IDENTIFIER).
odd=od$$
ct /usr/bin/python3 -c '
import os, socket, sys, time
t = sys.argv[1].encode()
for m in [b"<192>" + t + b"o1: x", b"<01>" + t + b"o2: x", b"<13>: " + t + b"o3",
          b"<13>" + t + b"o4: a\0b", b"<4>Nov 25 19:17:04 " + t + b"o5: x",
          b"<13>" + t + b"o6[abc]: x", b"<13>" + t + b"o7[]: x"]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(m, "/run/mpsr.dgram")
    s.close()
for i in range(1200):
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.1)
' "$odd" "/run/$odd.seen" &
sender=$!
for i in $(seq 50); do
	n=$(ct journalctl -q -u mpsr MPSR_TRANSPORT=datagram -o json --all | grep -c "${odd}o")
	[ "$n" -ge 7 ] && break
	sleep 0.2
done
ct touch "/run/$odd.seen"
wait $sender || fail "odd cases"
[ "$n" = 7 ] || fail "odd cases: $n entries, want 7"
ct journalctl -q -u mpsr MPSR_TRANSPORT=datagram -o json --all | /usr/bin/python3 -c '
import json, sys
t = sys.argv[1]
want = {
    "<192>%so1: x" % t: {"PRIORITY": "6", "SYSLOG_FACILITY": None},
    "<01>%so2: x" % t: {"PRIORITY": "6", "SYSLOG_FACILITY": None},
    ": %so3" % t: {"PRIORITY": "5", "SYSLOG_FACILITY": "1", "SYSLOG_IDENTIFIER": "python3"},
}
got = {}
for line in sys.stdin:
    e = json.loads(line)
    m = e.get("MESSAGE")
    if isinstance(m, list):
        m = bytes(m).decode("latin-1")
    if isinstance(m, str) and t in m or t in str(e.get("SYSLOG_IDENTIFIER")):
        got[e.get("SYSLOG_IDENTIFIER")] = e
        got[m] = e
def check(e, fields, what):
    bad = {k: (e.get(k), v) for k, v in fields.items() if e.get(k) != v}
    if bad:
        sys.exit("%s: %s" % (what, bad))
for m, fields in want.items():
    if m not in got:
        sys.exit("no entry with MESSAGE %r" % m)
    check(got[m], fields, m)
check(got.get(t + "o4", {}), {"MESSAGE": list(b"a\0b")}, "NUL")
check(got.get(t + "o5", {}), {"PRIORITY": "4", "SYSLOG_FACILITY": "0"}, "kern")
check(got.get(t + "o6[abc]", {}), {"MESSAGE": "x"}, "pid that is no number")
e = got.get(t + "o7", {})
check(e, {"MESSAGE": "x", "SYSLOG_PID": e.get("MPSR_PID")}, "tag[]")
' "$odd" || fail "odd cases differ"

# None of them left a raw header or a NUL in any entry of this case.
raw=$(ct journalctl -q -u mpsr -o json --output-fields=MESSAGE | grep -F "$tag" | grep -cE '"MESSAGE":"<[0-9]|"MESSAGE":\[')
[ "$raw" = 0 ] || fail "$raw entries with a raw header or binary bytes"
# The producer's unit, from the kernel's pid: journalctl -u mpsr MPSR_UNIT=... finds it.
unit=mpsr-t-syslog-$$
ct systemd-run -q --wait -u "$unit" sh -c '{ echo "<27>app[999]: from a unit"; sleep 1; } | socat -u - UNIX-CONNECT:/run/mpsr.sock' ||
	fail "systemd-run"
n=$(ct_wait_count 1 10 -u mpsr MPSR_UNIT="$unit.service" SYSLOG_IDENTIFIER=app)
[ "$n" = 1 ] || fail "MPSR_UNIT=$unit.service: $n entries, want 1: $(ct journalctl -q -u mpsr SYSLOG_IDENTIFIER=app -o export | grep -a ^MPSR_)"
entry=$(ct journalctl -q -u mpsr MPSR_UNIT="$unit.service" -o export)
printf '%s\n' "$entry" | grep -qx 'SYSLOG_PID=999' || fail "the claimed pid is not SYSLOG_PID"
printf '%s\n' "$entry" | grep -qx 'MPSR_PID=999' && fail "MPSR_PID took the claimed pid"
printf '%s\n' "$entry" | grep -qx 'MPSR_COMM=socat' || fail "MPSR_COMM is not the kernel's producer"
echo "logger (3164, datagram, 5424, octet counting), python and perl (stream, datagram), CRLF, the odd cases: as sent"
