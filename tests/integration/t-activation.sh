# Socket activation as users do it: the socket first, the service on the first producer.

# From scratch, whatever ran before: nothing listening, no mpsrd.
ct systemctl stop mpsr.socket mpsr.service
ct test ! -e /run/mpsr.sock || fail "/run/mpsr.sock left behind after stop"
ct systemctl start mpsr.socket || fail "cannot start mpsr.socket"
ct test -S /run/mpsr.sock || fail "/run/mpsr.sock is not a socket"
mode=$(ct stat -c %a /run/mpsr.sock)
[ "$mode" = 666 ] || fail "socket mode $mode, want 666"
state=$(ct systemctl is-active mpsr.service)
[ "$state" = inactive ] || fail "mpsr.service is $state before any producer"

msg="disk almost full ($$)"
ct_sh "printf '%s\n' '$msg' | socat - UNIX-CONNECT:/run/mpsr.sock" || fail "socat failed"
n=$(ct_wait_count 1 10 -u mpsr MESSAGE="$msg")
[ "$n" = 1 ] || fail "line stored $n times, want 1"

[ "$(ct systemctl is-active mpsr.service)" = active ] || fail "mpsr.service not active"
[ "$(ct systemctl show -P Type mpsr.service)" = notify ] || fail "not Type=notify"
status=$(ct systemctl show -P StatusText mpsr.service)
[ -n "$status" ] || fail "STATUS= is empty"
echo "STATUS=$status"

# The entry names its producer: socat, as the kernel saw it.
entry=$(ct journalctl -u mpsr MESSAGE="$msg" -o export)
for f in MPSR_PID MPSR_UID=0 MPSR_GID=0 MPSR_COMM=socat SYSLOG_IDENTIFIER=socat PRIORITY=6 MPSR_TRANSPORT=stream _SYSTEMD_UNIT=mpsr.service; do
	printf '%s\n' "$entry" | grep -q "^$f" || fail "entry lacks $f"
done
