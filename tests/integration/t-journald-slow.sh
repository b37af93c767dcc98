# journald stopped while mpsrd stops, and journald throttled:
#  - `systemctl restart mpsr` while journald is stopped (SIGSTOP) for 6 s and
#    4 producers go on writing: the old mpsrd waits for journald before it
#    exits, the new one takes the connections over (fd store);
#  - `systemctl stop mpsr` while journald is stopped, with lines the producers
#    sent still in mpsrd's sockets: it exits once journald took them all;
#  - journald held to 10% of the time (CPUQuota=10%) under 16 producers that
#    write for 1.5 times the watchdog period (sized by time, so that the load
#    lasts that long on any machine): the producers slow down, none fails, the
#    watchdog (10 s) never fires.
# Every line counted in `journalctl -u mpsr`, exactly once.
. "$here/robust.sh"

# Counted with -u mpsr: an entry journald processed after mpsrd had exited
# carries no _SYSTEMD_UNIT, and is a line lost to whoever reads the service's log.

dropin=/run/systemd/system/mpsr.service.d/50-test-slow.conf
jdropin=/run/systemd/system/systemd-journald.service.d/50-test-slow.conf
jwatchdog=/run/systemd/system/systemd-journald.service.d/50-test-slow-watchdog.conf
jpid=
throttle_stop() {
	local pid
	pid=$(ct cat /run/throttle.pid 2>/dev/null) && ct kill "$pid" 2>/dev/null
	ct rm -f /run/throttle.pid
	sleep 0.2 # its last `sleep` ends: then no kill -STOP can follow
}
cleanup() {
	throttle_stop
	# Never leave journald stopped or throttled for the cases that follow.
	[ -n "$jpid" ] && ct kill -CONT "$jpid" 2>/dev/null
	ct rm -f $dropin $jdropin $jwatchdog
	ct systemctl daemon-reload
	ct systemctl restart systemd-journald.service
}
trap cleanup EXIT

# mpsrd's last stop gave up on journald (the lines it had sent may lack _SYSTEMD_UNIT).
gave_up() {
	ct journalctl -q --no-pager -o cat -u mpsr _TRANSPORT=stdout --since "@$rb_since" |
		grep 'did not take everything'
}

ct systemctl start mpsr.socket || fail "mpsr.socket"
# A journald killed by its own watchdog in the middle would lose what it had
# read: its loss, not mpsr's. The stalls must be the only trouble here.
rb_stall_watchdogs $dropin $jwatchdog
restarts0=$(rb_show NRestarts)
P=4

# --- restart while journald is stopped, producers writing -------------------
# A stall of 6 s: STATUS= (set once a second) says the stop waits for
# journald, and the stop or restart is seen still waiting a second before
# journald goes on. mpsrd would wait up to --stop-timeout (60 s).
name=ld-slow-rst tag=srst$$ M=20000 stall=6
rb_loader $name
rb_load_start $name -P $P -m $M -r 2000 -t $tag
sleep 2
rb_load_running $name || fail "the load ended before the stall: too fast to prove anything"
old=$(rb_show MainPID)
jpid=$(ct systemctl show -P MainPID systemd-journald.service)
ct kill -STOP "$jpid" || fail "cannot stop journald"
sleep 1
t0=$(date +%s%N)
ct systemctl restart mpsr.service &
restart=$!
sleep $((stall - 2))
status=$(rb_show StatusText)
sleep 1
# Had it exited, journald would take its last entries from a process gone.
kill -0 $restart 2>/dev/null || fail "mpsrd stopped while journald had not taken its entries"
[ "$(ct systemctl show -P MainPID systemd-journald.service)" = "$jpid" ] ||
	fail "journald was restarted during the stall"
ct kill -CONT "$jpid"
jpid=
cont_ms=$((($(date +%s%N) - t0) / 1000000))
wait $restart || fail "restart failed"
ms=$((($(date +%s%N) - t0) / 1000000))
echo "restart: STATUS= during the stall: $status"
echo "restart: took $((ms / 1000)).$((ms % 1000 / 100)) s; journald continued after $((cont_ms / 1000)).$((cont_ms % 1000 / 100)) s of it"
case "$status" in
"Stopping: "*"waiting for journald for "*) ;;
*) fail "STATUS= at stop does not say that mpsrd waits for journald" ;;
esac
[ "$(rb_show MainPID)" != "$old" ] || fail "mpsrd was not restarted"
[ -z "$(gave_up)" ] || fail "mpsrd gave up on journald: $(gave_up)"
rb_load_wait $name || fail "a producer's write failed: it was disconnected"
ct_wait_ids $tag $P $M 120 -u mpsr SYSLOG_IDENTIFIER=$name || fail "lines lost, doubled or cut"
[ "$(rb_stop_breaks $name)" = 0 ] || fail "lines cut by a stop (MPSR_LINE_BREAK=stop)"

# --- stop while journald is stopped, lines still in mpsrd's sockets ---------
name=ld-slow-stop tag=sstp$$ M=1000
rb_loader $name
jpid=$(ct systemctl show -P MainPID systemd-journald.service)
ct kill -STOP "$jpid" || fail "cannot stop journald"
t0=$(date +%s)
# 100 KB each: it fits in a socket's buffer, so the producers are done before the stop.
rb_load_start $name -P $P -m $M -t $tag
for i in $(seq 100); do
	rb_load_running $name || break
	sleep 0.1
done
rb_load_running $name && fail "the producers could not send their lines while journald was stopped"
rb_load_wait $name || fail "a producer's write failed"
ct systemctl stop mpsr.service &
stop=$!
# The stop waits at least 2 s for journald, however long the producers took.
left=$((stall - ($(date +%s) - t0)))
sleep $((left > 2 ? left : 2))
kill -0 $stop 2>/dev/null || fail "mpsrd stopped while journald had not taken its entries"
[ "$(ct systemctl show -P MainPID systemd-journald.service)" = "$jpid" ] ||
	fail "journald was restarted during the stall"
ct kill -CONT "$jpid"
jpid=
wait $stop || fail "stop failed"
[ "$(ct systemctl show -P Result mpsr.service)" = success ] || fail "result $(ct systemctl show -P Result mpsr.service)"
[ "$(ct systemctl show -P ExecMainStatus mpsr.service)" = 0 ] || fail "exit status not 0"
[ -z "$(gave_up)" ] || fail "mpsrd gave up on journald: $(gave_up)"
ct_wait_ids $tag $P $M 60 -u mpsr SYSLOG_IDENTIFIER=$name || fail "lines lost, doubled or cut"
echo "stop: result success, exit 0, after $(($(date +%s) - t0)) s"
ct systemctl start mpsr.service || fail "start"
rb_check_dropped
rb_check_sanitizers
rb_forget_journal

# --- journald throttled ------------------------------------------------------
mpsrd=$(rb_show MainPID) restarts0=$(rb_show NRestarts)
P=16
watchdog_s=10                            # rb_stall_watchdogs' WatchdogSec=
load_s=${MPSR_SLOW_SECONDS:-15}          # well past the watchdog period
base_s=3
# The same load without throttling first: what "slowed" compares with.
name=ld-slow-base tag=sbas$$
rb_loader $name
t0=$(date +%s%N)
rb_load_start $name -P $P -d $base_s -t $tag
rb_load_wait $name >/dev/null || fail "a producer's write failed (unthrottled)"
base_ms=$(rb_ms $t0)
sent=$(rb_sent $name) || fail "not every producer said what it sent (unthrottled)"
base_n=$(rb_sum $sent)
ct_wait_ids --sent=$sent $tag 0 0 60 -u mpsr SYSLOG_IDENTIFIER=$name >/dev/null ||
	fail "lines lost, doubled or cut (unthrottled)"

ct_sh "printf '[Service]\nCPUQuota=10%%\n' >$jdropin"
ct systemctl daemon-reload
ct systemctl restart systemd-journald.service || fail "journald restart"
jpid=$(ct systemctl show -P MainPID systemd-journald.service)
# The quota as the kernel holds it (v2 cpu.max, v1 cpu.cfs_quota_us): where the
# container's systemd has no cpu controller of its own, CPUQuota= stays a wish,
# and journald runs 10 ms of every 100 ms by SIGSTOP and SIGCONT instead.
cg=$(ct systemctl show -P ControlGroup systemd-journald.service)
quota=$(ct cat /sys/fs/cgroup$cg/cpu.max /sys/fs/cgroup/cpu$cg/cpu.cfs_quota_us \
	/sys/fs/cgroup/cpu,cpuacct$cg/cpu.cfs_quota_us 2>/dev/null | head -n1)
case "$quota" in
"10000 100000" | 10000) echo "throttle: CPUQuota=10% ($quota)" ;;
*)
	echo "throttle: CPUQuota=10% not enforced in this container; SIGSTOP 90 ms of every 100 ms"
	ct_sh "echo \$\$ >/run/throttle.pid; while :; do kill -CONT $jpid; sleep 0.01; kill -STOP $jpid; sleep 0.09; done" \
		>/dev/null 2>&1 &
	;;
esac
# The producers write for load_s seconds, as fast as the throttled journald
# lets them: the load lasts that long on a fast machine and on a slow one.
name=ld-slow-thr tag=sthr$$
rb_loader $name
t0=$(date +%s%N)
rb_load_start $name -P $P -d $load_s -t $tag
rb_load_wait $name || fail "a producer's write failed"
load_ms=$(rb_ms $t0)
throttle_stop
ct kill -CONT "$jpid"
sent=$(rb_sent $name) || fail "not every producer said what it sent"
load_n=$(rb_sum $sent)
ct_wait_ids --sent=$sent $tag 0 0 120 -u mpsr SYSLOG_IDENTIFIER=$name || fail "lines lost, doubled or cut"
# Lines per second, throttled and not: the producers must have felt journald's pace.
base_rate=$((base_n * 1000 / (base_ms > 0 ? base_ms : 1)))
load_rate=$((load_n * 1000 / (load_ms > 0 ? load_ms : 1)))
echo "throttle: $load_n lines in $((load_ms / 1000)).$((load_ms % 1000 / 100)) s ($load_rate/s);" \
	"unthrottled: $base_n lines in $((base_ms / 1000)).$((base_ms % 1000 / 100)) s ($base_rate/s)"
[ $load_n -gt 0 ] || fail "the throttled producers sent nothing"
[ $((2 * load_rate)) -lt $base_rate ] || fail "the throttled journald did not slow the producers down"
[ $load_ms -gt $((watchdog_s * 1000)) ] || fail "the throttled load took less than the watchdog period: proves nothing"
[ "$(rb_show MainPID)" = "$mpsrd" ] || fail "mpsrd was restarted ($mpsrd -> $(rb_show MainPID))"
[ "$(rb_show NRestarts)" = "$restarts0" ] || fail "mpsrd failed and was restarted"
ct rm -f $jdropin
ct systemctl daemon-reload
ct systemctl restart systemd-journald.service || fail "journald restart"
jpid=
rb_check_dropped
rb_check_sanitizers
rb_forget_journal
