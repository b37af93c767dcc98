# journald stopped (SIGSTOP) for 65 s while 4 producers write 20,000 lines
# each: mpsrd waits it out. It stays the same process (its watchdog, shortened
# to 10 s, goes on being answered through the stall), says in STATUS= that it
# is waiting for journald, holds the producers back instead of buffering or
# dropping, and afterwards every line is in `journalctl -u mpsr` exactly once.
# 65 s is six watchdog periods, and longer than the longest period of mpsrd's
# housekeeping (it rereads journald.conf every 60 s, the space journald has
# left every 30 s): each of its periodic tasks runs at least once while
# journald is stopped, and none may hold up the watchdog. MPSR_STALLS="45 120"
# sets other stalls (seconds), one after the other.
. "$here/robust.sh"

dropin=/run/systemd/system/mpsr.service.d/50-test-stall.conf
jdropin=/run/systemd/system/systemd-journald.service.d/50-test-stall.conf
jpid=
cleanup() {
	# Never leave journald stopped, or without its watchdog, for the cases that follow.
	[ -n "$jpid" ] && ct kill -CONT "$jpid" 2>/dev/null
	ct rm -f $dropin $jdropin
	ct systemctl daemon-reload
	ct systemctl restart systemd-journald.service
}
trap cleanup EXIT

ct systemctl start mpsr.socket || fail "mpsr.socket"
rb_stall_watchdogs $dropin $jdropin

P=4 M=20000
for stall in ${MPSR_STALLS:-65}; do
	name=ld-stall$stall tag=stl$stall.$$
	rb_loader $name
	mpsrd=$(rb_show MainPID) restarts0=$(rb_show NRestarts)

	# 2,000 lines/s each: the load is still running when journald stops.
	rb_load_start $name -P $P -m $M -r 2000 -t $tag
	sleep 2
	rb_load_running $name || fail "the load ended before the stall: too fast to prove anything"
	jpid=$(ct systemctl show -P MainPID systemd-journald.service)
	ct kill -STOP "$jpid" || fail "cannot stop journald"
	t0=$(date +%s)

	# Through the stall, once a second: the watchdog's last ping and STATUS=.
	pings=() last_ping= status=
	while [ $(($(date +%s) - t0)) -lt $stall ]; do
		sleep 1
		ping=$(rb_show WatchdogTimestampMonotonic)
		[ "$ping" != "$last_ping" ] && pings+=("$ping") && last_ping=$ping
		status=$(rb_show StatusText)
	done
	[ "$(ct systemctl show -P MainPID systemd-journald.service)" = "$jpid" ] ||
		fail "journald was restarted during the stall"
	rb_load_running $name || fail "the producers finished while journald was stopped: no backpressure"
	ct kill -CONT "$jpid"
	jpid=
	t1=$(date +%s%N)

	echo "stall of $stall s: STATUS=$status"
	echo "stall of $stall s: watchdog pings seen (monotonic usec): ${pings[*]}"
	case "$status" in
	*"waiting for journald for "*) ;;
	*) fail "STATUS= does not say that mpsrd waits for journald" ;;
	esac
	waited=${status#*waiting for journald for }
	waited=${waited%% s;*}
	[ "$waited" -ge $((stall - 5)) ] || fail "STATUS= says it waited $waited s of a $stall s stall"
	# Pings 5 s apart (half of WatchdogSec) cover the whole stall: from the
	# first one seen to the last, no gap of a watchdog period.
	[ ${#pings[@]} -ge $((stall / 5 - 1)) ] || fail "only ${#pings[@]} watchdog pings in $stall s"
	for ((i = 1; i < ${#pings[@]}; i++)); do
		gap=$(((pings[i] - pings[i - 1]) / 1000000))
		[ $gap -lt 10 ] || fail "no watchdog ping for $gap s during the stall"
	done
	span=$(((pings[${#pings[@]} - 1] - pings[0]) / 1000000))
	[ $span -ge $((stall - 10)) ] || fail "watchdog pings span $span s of a $stall s stall"

	rb_load_wait $name || fail "a producer's write failed"
	# Counted under the unit: an entry journald stored without it (one it
	# processed after its sender had exited) is a line lost to its readers.
	ct_wait_ids $tag $P $M 180 -u mpsr SYSLOG_IDENTIFIER=$name || fail "lines lost, doubled or cut"
	ms=$((($(date +%s%N) - t1) / 1000000))
	echo "stall of $stall s: all $((P * M)) lines in journalctl -u mpsr $((ms / 1000)).$((ms % 1000 / 100)) s after journald continued"
	[ "$(rb_show MainPID)" = "$mpsrd" ] || fail "mpsrd was restarted ($mpsrd -> $(rb_show MainPID))"
	[ "$(rb_show NRestarts)" = "$restarts0" ] || fail "mpsrd failed and was restarted"
	rb_check_dropped
	rb_check_sanitizers
	rb_forget_journal
done
