# WatchdogSec=: mpsrd's WATCHDOG=1 keeps it alive, idle and under load, for
# several times a short watchdog period; and when it stops pinging (SIGSTOP)
# systemd does kill and restart it, so the pings are what kept it alive.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
[ -n "$(rb_show WatchdogUSec | grep -v '^0$')" ] || fail "the unit sets no WatchdogSec="
dropin=/run/systemd/system/mpsr.service.d/50-test-watchdog.conf
cleanup() {
	ct rm -f $dropin
	ct systemctl daemon-reload
}
trap cleanup EXIT
ct mkdir -p "${dropin%/*}"
ct_sh "printf '[Service]\nWatchdogSec=2s\n' >$dropin"
ct systemctl daemon-reload
ct systemctl restart mpsr.service || fail "restart"
[ "$(rb_show WatchdogUSec)" = 2s ] || fail "WatchdogSec=2s not in effect: $(rb_show WatchdogUSec)"
pid=$(rb_show MainPID) restarts0=$(rb_show NRestarts)
tag=wd$$
rb_loader ld-watchdog

sleep 5 # idle
ct ld-watchdog -P 4 -m 10000 -r 2000 -t $tag || fail "a producer's write failed" # 5 s busy
[ "$(rb_show MainPID)" = "$pid" ] && [ "$(rb_show NRestarts)" = "$restarts0" ] ||
	fail "mpsrd was restarted within 10 s under WatchdogSec=2s"
ct_wait_ids $tag 4 10000 30 SYSLOG_IDENTIFIER=ld-watchdog || fail "lines lost"
echo "10 s under WatchdogSec=2s, idle and busy: same MainPID, NRestarts=$restarts0"

# Without pings systemd steps in: the test above could fail.
ct kill -STOP "$pid"
sleep 3
ct kill -CONT "$pid" 2>/dev/null # gone already, if systemd killed it
rb_wait_new_main "$pid" || fail "a silent mpsrd was not restarted"
[ "$(rb_show NRestarts)" = $((restarts0 + 1)) ] || fail "a silent mpsrd was not restarted"
ct journalctl -q --no-pager -u mpsr --since "@$rb_since" | grep -q 'Watchdog timeout' ||
	fail "no watchdog timeout logged"
echo "a stopped mpsrd: watchdog timeout, restarted (NRestarts=$(rb_show NRestarts))"
