# The read-back after a crash (mpsr-readback, mpsrd(8) CRASHES): it answers
# only the processes of one unit, and a local user who writes MPSR_LEDGER=
# entries of his own cannot change its answer: it matches only entries that
# mpsrd's uid wrote in this boot (_UID, _BOOT_ID: journald's, not the client's).
#
# The questions here come from a transient unit that the reader is told to
# trust (--unit=), as it trusts mpsr.service; t-crash has mpsrd itself ask.

tag="readback-$$-$RANDOM"
fifo=/run/t-readback.fifo
forged=/run/t-readback.forged
dropin=/run/systemd/system/mpsr-readback@.service.d/50-t-readback.conf
asker=t-readback-ask.service
holder=
cleanup() {
	[ -n "$holder" ] && ct kill "$holder" 2>/dev/null
	ct rm -f "$fifo" "$forged" "$dropin"
	ct systemctl daemon-reload
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

# Asked about mpsrd's entry and about the forged parity: mpsrd's is the last.
a=$(ask "$asker" system.slice "$uid MPSR_LEDGER=$mine")
[ "$a" = 1 ] || fail "asked about mpsrd's own entry: '$a', want 1"
a=$(ask "$asker" system.slice "$uid MPSR_LEDGER=$next")
[ "$a" = 0 ] || fail "asked about the forged parity: '$a', want 0 (fooled by the forger)"
echo "mpsrd's entry: the last (1); the forged parity: not (0)"

# Anyone else gets no answer: another unit, and a unit of that name elsewhere.
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
