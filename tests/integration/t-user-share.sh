# No uid takes the house: with --max-connections=400 and
# --max-connections-per-user=100, one unprivileged uid opens 1,000
# connections; those beyond its 100 are accepted and closed at once, with a
# warning naming the uid and its unit, so another uid's producer still
# connects and has its line in the journal within 100 ms.
. "$here/robust.sh"
. "$here/tenants.sh"
dropin=/etc/systemd/system/mpsr.service.d/user-share.conf hog=hog$$.service
exe=$(ct systemctl show -P ExecStart mpsr.service | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
restore() {
	ct systemctl stop "$hog" 2>/dev/null
	ct rm -f "$dropin"
	ct systemctl daemon-reload
	ct systemctl restart mpsr.service
}
trap restore EXIT
ct systemctl start mpsr.socket || fail "mpsr.socket"
# Producers an earlier case left connected count against --max-connections:
# room for 400 beside them.
ct systemctl restart mpsr.service || fail "restart"
base=$(rb_producers)
ct mkdir -p "${dropin%/*}"
ct sh -c "printf '[Service]\nExecStart=\nExecStart=%s --fd-store --max-connections=$((base + 400)) --max-connections-per-user=100\n' $exe >$dropin"
ct systemctl daemon-reload
ct systemctl restart mpsr.service || fail "restart with the share"
echo "producers connected before: $base"
tag=us$$
rb_loader ld-hog
uid=$(tn_user mpsr-te)
other=$(tn_user mpsr-tf)

tn_start $hog mpsr-te -p LimitNOFILE=4096 /usr/local/bin/ld-hog --idle=1000 --hold=40
n=$(ct_wait_grep 1 20 "^uid $uid ($hog) has 100 connections" -u mpsr _TRANSPORT=stdout)
[ "$n" -ge 1 ] || fail "no warning naming uid $uid and $hog"
sleep 1
status=$(rb_show StatusText)
echo "STATUS=$status"
producers=$(echo "$status" | sed -n 's/^\([0-9]*\) producers.*/\1/p')
[ -n "$producers" ] && [ "$producers" -le $((base + 101)) ] || fail "uid $uid holds more than its share"

# Another uid connects and writes one line: in the journal within 100 ms of connect().
t0=$(ct setpriv --reuid="$other" --regid="$other" --clear-groups /usr/bin/python3 -c '
import socket, sys, time
t = time.time()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect("/run/mpsr.sock")
s.sendall(("%s other t=%d\n" % (sys.argv[1], int(t * 1e6))).encode())
s.close()
print(int(t * 1e6))' "$tag") || fail "uid $other could not connect"
n=$(ct_wait_count 1 10 MPSR_UID=$other)
[ "$n" -ge 1 ] || fail "uid $other's line is not in the journal"
at=$(ct journalctl -q --no-pager -o json --output-fields=__REALTIME_TIMESTAMP MPSR_UID=$other |
	sed -n 's/.*"__REALTIME_TIMESTAMP":"\([0-9]*\)".*/\1/p' | head -n1)
ms=$(((at - t0) / 1000))
echo "uid $other: connect to journald in $ms ms"
[ "$ms" -lt 100 ] || fail "uid $other waited $ms ms"
rb_check_sanitizers
