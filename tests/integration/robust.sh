# Helpers for the cases that prove nothing is lost: restarts, crashes, floods,
# hostile producers. Sourced by those t-*.sh files (not a case itself).
#
# Each case runs mpsr-load under a name of its own (a copy of the binary), so
# its lines are found by SYSLOG_IDENTIFIER, which journald indexes: fast even
# at a million lines, and exact whatever else the journal holds.

fail() {
	echo "FAIL: $*"
	exit 1
}

rb_since=$(date +%s)

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

# rb_ids NAME TAG P M: counts NAME's lines in the journal (see count-ids);
# every line must be mpsr-load's default 100 bytes long.
rb_ids() {
	ct journalctl -q --no-pager -o cat SYSLOG_IDENTIFIER="$1" |
		"$here/count-ids" -v tag="$2" -v P="$3" -v M="$4" -v size=100
}

# rb_wait_ids NAME TAG P M SECS: waits until all are there, or until the count
# stops growing for 5 s, or SECS pass; prints the last count.
rb_wait_ids() {
	local name=$1 tag=$2 p=$3 m=$4 secs=$5 out last= same=0 end=$(($(date +%s) + $5))
	while :; do
		out=$(rb_ids "$name" "$tag" "$p" "$m") && break
		[ "$out" = "$last" ] && same=$((same + 1)) || same=0
		last=$out
		[ $same -ge 5 ] || [ "$(date +%s)" -ge $end ] && break
		sleep 1
	done
	echo "$out"
	[ "${out%%$'\n'*}" = "stored=$((p * m)) unique=$((p * m)) missing=0 duplicated=0 malformed=0" ]
}

rb_show() {
	ct systemctl show -P "$1" mpsr.service
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
