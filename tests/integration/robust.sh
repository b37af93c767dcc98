# Helpers for the cases that prove nothing is lost: restarts, crashes, floods,
# hostile producers. Sourced by those t-*.sh files (not a case itself).
#
# Each case runs mpsr-load under a name of its own (a copy of the binary), so
# its lines are found by SYSLOG_IDENTIFIER, which journald indexes: fast even
# at a million lines, and exact whatever else the journal holds.

rb_since=$(date +%s)
# Where the journal stood when the case began, for what systemd logged since.
rb_cursor=$(ct journalctl -q -n1 -o export | sed -n 's/^__CURSOR=//p')

# rb_loader NAME: installs the load generator as NAME (at most 15 bytes, the comm).
rb_loader() {
	ct cp /usr/local/bin/mpsr-load "/usr/local/bin/$1"
}

# rb_load_start NAME ARGS...: runs the load generator NAME in the background;
# rb_load_wait NAME returns its exit status (0: every write succeeded).
rb_load_start() {
	local name=$1
	shift
	ct_sh "$name $* >/run/$name.out 2>&1; echo \$? >/run/$name.rc" &
	eval "rb_pid_${name//-/_}=\$!"
}
# rb_load_running NAME: whether it is still writing.
rb_load_running() {
	local pid
	eval "pid=\$rb_pid_${1//-/_}"
	kill -0 "$pid" 2>/dev/null
}
rb_load_wait() {
	local pid
	eval "pid=\$rb_pid_${1//-/_}"
	wait "$pid"
	ct cat "/run/$1.out" | sed "s/^/$1: /"
	return "$(ct cat "/run/$1.rc")"
}

# rb_sent NAME: for a load sized by time (mpsr-load --duration), what each of
# its producers sent, "N0,N1,..." in producer order, for ct_wait_ids --sent=;
# after rb_load_wait NAME.
rb_sent() {
	ct cat "/run/$1.out" | sed -n 's/^producer p=\([0-9]*\) sent=\([0-9]*\)$/\1 \2/p' |
		sort -n | awk '$1 != NR - 1 { gap = 1 } { printf "%s%s", (NR > 1 ? "," : ""), $2 }
			END { print ""; exit gap || NR == 0 }'
}
# rb_sum LIST: the sum of rb_sent's numbers.
rb_sum() {
	echo $((${1//,/+}))
}

# Milliseconds since T0 (date +%s%N).
rb_ms() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

rb_show() {
	ct systemctl show -P "$1" mpsr.service
}

# rb_wait_new_main OLD: until systemd runs another mpsrd than OLD (its restart
# after a kill); false if none within 10 s.
rb_wait_new_main() {
	local i new
	for i in $(seq 100); do
		new=$(rb_show MainPID)
		[ "$new" != 0 ] && [ "$new" != "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# The "N dropped" of mpsrd's STATUS=, and of every "stopping:" line it logged
# since the case began: all must be 0.
rb_check_dropped() {
	local status bad
	status=$(rb_show StatusText)
	case "$status" in
	*" 0 dropped"*) ;;
	*) fail "STATUS= reports drops: $status" ;;
	esac
	bad=$(ct journalctl -q --no-pager -o cat -u mpsr _TRANSPORT=stdout --since "@$rb_since" |
		grep -E '^stopping: .* dropped' | grep -v ' 0 dropped')
	[ -z "$bad" ] || fail "mpsrd dropped messages: $bad"
	echo "STATUS=$status"
}

# A sanitizer build reports on stderr, which is the journal: none may appear.
rb_check_sanitizers() {
	local bad
	bad=$(ct journalctl -q --no-pager -o cat -u mpsr _TRANSPORT=stdout --since "@$rb_since" |
		grep -E 'Sanitizer|runtime error' | head -5)
	[ -z "$bad" ] || fail "sanitizer report: $bad"
}

# How often systemd restarted mpsrd on its own (Restart=on-failure) since the
# case began. Read from systemd's log, not NRestarts, which a manual
# `systemctl restart` sets back to 0.
rb_auto_restarts() {
	ct journalctl -q --no-pager -o cat UNIT=mpsr.service _PID=1 --after-cursor="$rb_cursor" |
		grep -c 'Scheduled restart job'
}

# mpsrd's own log lines (not relayed ones) since the case began.
rb_own_lines() {
	ct journalctl -q --no-pager -o cat -u mpsr _TRANSPORT=stdout --since "@$rb_since" | wc -l
}

# Lines of a relayed producer cut in two by a stop: there must be none.
rb_stop_breaks() {
	ct journalctl -q --no-pager -o cat SYSLOG_IDENTIFIER="$1" MPSR_LINE_BREAK=stop | wc -l
}

# At the end of a case that passed: its hundreds of thousands of entries are
# counted, and would only slow down every later case that reads the journal.
rb_forget_journal() {
	ct journalctl --rotate --vacuum-files=1 >/dev/null 2>&1
}

# rb_disruption KIND: 16 producers write 1,000 lines/s each, and twice while
# they write (2 s after the start, then 3 s after the first is done) something
# happens to mpsr:
#   restart   `systemctl restart mpsr.service`
#   crash     `kill -9` of mpsrd; systemd restarts it (Restart=on-failure)
#   journald  `systemctl restart systemd-journald`: mpsrd waits for it
# No producer may be disconnected, no line lost, cut or written twice: not
# even by a crash (mpsrd's ledger, ledger.h).
#
# The load lasts until 3 s after the second disruption is done, however long
# each takes (journald's restart under this load can take 10 s): sized by
# progress, and the producers write to the mpsrd that comes after the last.
rb_disruption() {
	local kind=$1 name=ld-$1 tag=$1$$ P=16 pids= pid mpsrd delay i out dup restarts t0 sent
	ct systemctl start mpsr.socket || fail "mpsr.socket"
	rb_loader $name
	t0=$(date +%s%N)
	ct rm -f /run/$name.stop
	rb_load_start $name -P $P -r 1000 --until=/run/$name.stop -t $tag
	for delay in 2 3; do
		sleep $delay
		rb_load_running $name ||
			fail "the producers stopped before the $kind at $(rb_ms $t0) ms: $(ct cat /run/$name.out | tail -n 2)"
		echo "$kind at $(rb_ms $t0) ms"
		case $kind in
		restart)
			pids="$pids $(rb_show MainPID)"
			ct systemctl restart mpsr.service || fail "restart failed"
			;;
		crash)
			pid=$(rb_show MainPID)
			pids="$pids $pid"
			ct kill -KILL "$pid" || fail "kill $pid"
			# Wait for systemd's restart, so the next kill finds a new mpsrd.
			rb_wait_new_main "$pid" || fail "mpsrd did not come back after kill $pid"
			;;
		journald)
			[ -n "$pids" ] || mpsrd=$(rb_show MainPID)
			pids="$pids $(ct systemctl show -P MainPID systemd-journald.service)"
			ct systemctl restart systemd-journald.service || fail "journald restart failed"
			;;
		*) fail "rb_disruption: no disruption called $kind" ;;
		esac
	done
	sleep 3
	ct touch /run/$name.stop
	rb_load_wait $name || fail "a producer's write failed: it was disconnected"
	sent=$(rb_sent $name) || fail "not every producer said what it sent"
	echo "load done at $(rb_ms $t0) ms: $(rb_sum $sent) lines"

	# Each disruption really happened: three processes over the two.
	if [ $kind = journald ]; then
		pids="$pids $(ct systemctl show -P MainPID systemd-journald.service)"
		echo "journald's MainPID over the restarts:$pids"
		[ "$(rb_show MainPID)" = "$mpsrd" ] || fail "mpsrd was restarted ($mpsrd -> $(rb_show MainPID))"
	else
		pids="$pids $(rb_show MainPID)"
		echo "mpsrd's MainPID before, between and after:$pids"
	fi
	[ "$(echo $pids | tr ' ' '\n' | sort -u | wc -l)" = 3 ] || fail "not two ${kind}s:$pids"
	restarts=$(rb_auto_restarts)
	if [ $kind = crash ]; then
		[ "$restarts" = 2 ] || fail "systemd restarted mpsrd $restarts times after 2 kills"
	else
		[ "$restarts" = 0 ] || fail "mpsrd failed and was restarted by systemd ($restarts times)"
	fi

	# Counted under the unit: a line journald stored without it is a lost line.
	out=$(ct_wait_ids --sent=$sent $tag 0 0 120 -u mpsr SYSLOG_IDENTIFIER=$name)
	i=$?
	echo "$out"
	[ $i = 0 ] || fail "lines lost, cut, or written twice"
	# What each restarted mpsrd found of the crash: bytes in the journal, still in the socket.
	if [ $kind = crash ]; then
		out=$(ct journalctl -q -o cat -u mpsr --grep 'after a crash|cannot tell|ledger')
		printf '%s\n' "$out" | sed 's/^/mpsrd: /'
		ct journalctl -q -o cat -t mpsr-readback --since "@$rb_since" | sed 's/^/mpsr-readback: /'
		# An entry in doubt is settled by mpsr-readback, not sent again on a guess.
		case "$out" in *"cannot tell"*) fail "the entry in doubt was not read back" ;; esac
	fi
	[ "$(rb_stop_breaks $name)" = 0 ] || fail "lines cut by a stop (MPSR_LINE_BREAK=stop)"
	rb_check_dropped
	rb_check_sanitizers
	rb_forget_journal
}

# The number of producers in mpsrd's STATUS= (after any "waiting for ...; " part),
# or nothing when STATUS= has none.
rb_producers() {
	rb_show StatusText | sed -n 's/^\(.*; \)\{0,1\}\([0-9]*\) producers.*/\2/p'
}
# rb_wait_producers OP N SECS: until STATUS= shows a number of producers that
# is OP (-eq, -ge, -le) N. No number at all (mpsrd not running, STATUS= not
# set or changed) never matches.
rb_wait_producers() {
	local i n
	for i in $(seq $(($3 * 5))); do
		n=$(rb_producers)
		[ -n "$n" ] && [ "$n" "$1" "$2" ] && return 0
		sleep 0.2
	done
	fail "STATUS= shows ${n:-no} producers after $3 s, want $1 $2: $(rb_show StatusText)"
}
# rb_wait_state CTL STATE SECS: until the many-conns helper driven through CTL says STATE.
rb_wait_state() {
	local i
	for i in $(seq $(($3 * 10))); do
		[ "$(ct cat $1.state 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
	done
	fail "many-conns did not reach '$2' in $3 s"
}

# rb_stall_watchdogs DROPIN JOURNALD_DROPIN: for the cases that stop journald.
# mpsr's watchdog shortened to 10 s, so that a missed ping shows within a stall;
# journald's own (3 min, pinged every 90 to 135 s) turned off, or systemd would
# restart a stopped journald in the middle and end the stall early. The caller
# removes both drop-ins and restarts journald when it is done.
rb_stall_watchdogs() {
	ct mkdir -p "${1%/*}" "${2%/*}"
	ct_sh "printf '[Service]\nWatchdogSec=10s\n' >$1"
	ct_sh "printf '[Service]\nWatchdogSec=0\n' >$2"
	ct systemctl daemon-reload
	ct systemctl restart systemd-journald.service || fail "journald restart"
	ct systemctl restart mpsr.service || fail "restart"
	[ "$(rb_show WatchdogUSec)" = 10s ] || fail "WatchdogSec=10s not in effect: $(rb_show WatchdogUSec)"
}

# rb_dropin NAME TEXT: a drop-in for mpsr.service (printf format), until
# rb_dropin_remove NAME; reloads systemd. rb_exec_start: the unit's own
# mpsrd command line, for a drop-in that adds options to it.
rb_dropin() {
	ct mkdir -p /run/systemd/system/mpsr.service.d
	ct_sh "printf '$2' >/run/systemd/system/mpsr.service.d/$1.conf"
	ct systemctl daemon-reload
}
rb_dropin_remove() {
	ct rm -f "/run/systemd/system/mpsr.service.d/$1.conf"
	ct systemctl daemon-reload
}
rb_exec_start() {
	ct systemctl cat mpsr.service | sed -n 's/^ExecStart=\(.*mpsrd.*\)/\1/p' | head -n1
}

# rb_capacity: how many producers the running mpsrd says it will hold ("serving
# ... up to N producers" at its start): --max-connections, lowered by what its
# LimitNOFILE= and the kernel allow (inflight.h). A container can raise no
# limit above the one the suite was started with.
rb_capacity() {
	local id n i
	id=$(ct systemctl show -P InvocationID mpsr.service)
	for i in $(seq 100); do # journald may not have it yet
		n=$(ct journalctl -q --no-pager -o cat _SYSTEMD_INVOCATION_ID="$id" |
			sed -n 's/^serving.* up to \([0-9][0-9]*\) producers.*/\1/p' | tail -n1)
		[ -n "$n" ] && break
		sleep 0.1
	done
	echo "$n"
}
