# The read-back after a crash (mpsr-readback, mpsrd(8) CRASHES): it answers
# only the processes of one unit, and a local user who writes MPSR_LEDGER=
# entries of his own cannot change its answer: it matches only entries that
# mpsrd's uid wrote in this boot (_UID, _BOOT_ID: journald's, not the client's).
#
# The questions of parts 1 and 2 come from a transient unit that the reader
# is told to trust (--unit=), as it trusts mpsr.service. In part 3 mpsrd asks
# itself: it is killed while blocked sending to a stopped journald, so there
# is an entry in doubt every time; with the reader it is settled, without it
# (the socket masked) mpsrd says so and sends it again.

tag="readback-$$-$RANDOM"
fifo=/run/t-readback.fifo
forged=/run/t-readback.forged
dropin=/run/systemd/system/mpsr-readback@.service.d/50-t-readback.conf
asker=t-readback-ask.service
holder=
cleanup() {
	[ -n "$holder" ] && ct kill "$holder" 2>/dev/null
	ct systemctl kill -s CONT systemd-journald.service 2>/dev/null
	ct rm -f "$fifo" "$forged" "$dropin"
	ct systemctl unmask --runtime mpsr-readback.socket 2>/dev/null
	ct systemctl daemon-reload
	ct systemctl start mpsr-readback.socket
}
trap cleanup EXIT

# ask UNIT SLICE QUESTION: the reader's answer to a process of UNIT in SLICE.
ask() {
	ct systemd-run -q --pipe --wait --collect --unit="$1" --slice="$2" python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect("/run/mpsr-readback.sock")
s.send(sys.argv[1].encode())
print(s.recv(64).decode() or "hung up")' "$3"
}

ct systemctl start mpsr.socket || fail "mpsr.socket"

# One line through a connection that stays open: mpsrd tags its entry.
ct mkfifo -m 0600 "$fifo"
ct_sh "socat -u OPEN:$fifo UNIX-CONNECT:/run/mpsr.sock </dev/null >/dev/null 2>&1 &"
holder=$(ct_sh "sleep 300 >$fifo </dev/null 2>/dev/null & echo \$!")
ct_sh "echo '$tag one' >$fifo"
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$tag one")" = 1 ] || fail "the line was not stored"
# mpsr.service brought the reader's socket up with it.
[ "$(ct systemctl is-active mpsr-readback.socket)" = active ] || fail "mpsr-readback.socket is not listening"
[ "$(ct stat -c %a /run/mpsr-readback.sock)" = 666 ] || fail "/run/mpsr-readback.sock is not 0666"
entry=$(ct journalctl -q -u mpsr MESSAGE="$tag one" -o export)
mine=$(printf '%s\n' "$entry" | sed -n 's/^MPSR_LEDGER=//p')
uid=$(printf '%s\n' "$entry" | sed -n 's/^_UID=//p')
[ -n "$mine" ] && [ -n "$uid" ] || fail "the entry has no MPSR_LEDGER= or _UID: $entry"
case $mine in *0) next=${mine%0}1 ;; *) next=${mine%1}0 ;; esac
echo "mpsrd's uid $uid, its entry MPSR_LEDGER=$mine"

# A local user forges the next parity, as if it were mpsrd's next entry: had
# mpsrd died sending it, the reader fooled would have it skipped (a line lost).
ct_sh "printf 'MESSAGE=$tag forged\nMPSR_LEDGER=$next\n' >$forged && chmod 0644 $forged"
ct setpriv --reuid=nobody --regid=nogroup --clear-groups logger --journald="$forged" ||
	fail "logger --journald"
[ "$(ct_wait_count 1 10 MPSR_LEDGER="$next" _UID="$(ct id -u nobody)")" = 1 ] ||
	fail "the forged entry is not in the journal"

# The reader trusts $asker instead of mpsr.service.
exe=$(ct systemctl cat mpsr-readback@.service | sed -n 's/^ExecStart=//p' | tail -n1)
ct mkdir -p "${dropin%/*}"
ct_sh "printf '[Service]\nExecStart=\nExecStart=$exe --unit=$asker\n' >$dropin"
ct systemctl daemon-reload

# 1. Asked about mpsrd's entry and about the forged parity: mpsrd's is the last.
a=$(ask "$asker" system.slice "$uid MPSR_LEDGER=$mine")
[ "$a" = 1 ] || fail "asked about mpsrd's own entry: '$a', want 1"
a=$(ask "$asker" system.slice "$uid MPSR_LEDGER=$next")
[ "$a" = 0 ] || fail "asked about the forged parity: '$a', want 0 (fooled by the forger)"
echo "mpsrd's entry: the last (1); the forged parity: not (0)"

# 2. Anyone else gets no answer: another unit, and a unit of that name elsewhere.
a=$(ask t-readback-other.service system.slice "$uid MPSR_LEDGER=$mine")
[ "$a" = -1 ] || fail "another unit got '$a', want -1 (EPERM)"
a=$(ask "$asker" t-readback.slice "$uid MPSR_LEDGER=$mine")
[ "$a" = -1 ] || fail "$asker in t-readback.slice got '$a', want -1 (EPERM)"
# A question that is not one is refused, not looked up.
a=$(ask "$asker" system.slice "$uid MPSR_LEDGER=$mine _UID=0")
[ "$a" = -22 ] || fail "a malformed question got '$a', want -22 (EINVAL)"
echo "other units: EPERM; a malformed question: EINVAL"
n=$(ct journalctl -q -o cat -t mpsr-readback --since "@$(($(date +%s) - 60))" | grep -c 'is not')
echo "the reader logged $n refusals"

# 3. mpsrd asks. A kill -9 while its writer is blocked in the send of an entry
# (journald stopped, its queue full): that entry is in doubt.
. "$here/robust.sh"
ct rm -f "$dropin"
ct systemctl daemon-reload
M=4000
crash_in_send() { # NAME: the load's name; prints what mpsrd logged of the crash
	local name=$1 pid i since
	since=$(date +%s)
	rb_loader "$name"
	rb_load_start "$name" -P 1 -m $M -r 1000 -t "$name"
	sleep 1
	pid=$(rb_show MainPID)
	ct systemctl kill --kill-who=main -s STOP systemd-journald.service || fail "cannot stop journald"
	sleep 1 # the writer fills journald's queue and blocks in the send
	ct kill -KILL "$pid" || fail "kill $pid"
	# At once: what the killed mpsrd left in journald's queue is stored under
	# mpsr.service only while journald still knows the dead sender's unit
	# (mpsrd(8), CRASHES: a stall of more than a few seconds loses it).
	ct systemctl kill --kill-who=main -s CONT systemd-journald.service
	rb_wait_new_main "$pid" || fail "mpsrd did not come back after the kill"
	rb_load_wait "$name" >/dev/null || fail "a producer's write failed"
	for i in $(seq 50); do
		crashlog=$(ct journalctl -q -o cat -u mpsr --since "@$since" --grep 'after a crash: the entry|cannot tell')
		[ -n "$crashlog" ] && break
		sleep 0.2
	done
	printf '%s\n' "$crashlog" | sed 's/^/mpsrd: /'
}

crash_in_send rb-with
case "$crashlog" in
*"the entry being sent then is "*"in the journal"*) ;;
*) fail "the entry in doubt was not read back: '$crashlog'" ;;
esac
case "$crashlog" in *"cannot tell"*) fail "mpsrd could not ask the reader" ;; esac
ct_wait_ids rb-with 1 $M 60 -u mpsr SYSLOG_IDENTIFIER=rb-with || fail "lines lost or twice with the reader"

# Without the reader: mpsrd says it cannot tell, and sends the entry again.
# (Stopped first: a masked unit has lost its RemoveOnStop=.)
ct systemctl stop mpsr-readback.socket
ct systemctl mask --runtime mpsr-readback.socket >/dev/null 2>&1
ct test -e /run/mpsr-readback.sock && fail "the reader's socket is still there"
crash_in_send rb-without
case "$crashlog" in
*"cannot tell whether journald got the entry"*) ;;
*) fail "without a reader, mpsrd did not say it cannot tell: '$crashlog'" ;;
esac
ct_wait_ids --dups=1 rb-without 1 $M 60 -u mpsr SYSLOG_IDENTIFIER=rb-without ||
	fail "lines lost, or more than one twice, without the reader"
rb_forget_journal
