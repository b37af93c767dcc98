# A producer's unit belongs to the process that connected, and is not lost
# when it exits at once: with mpsrd stopped, a unit's socat connects (socket
# activation holds the connection), writes a line and exits before mpsrd has
# started; its line still carries MPSR_UNIT of its unit (the kernel keeps the
# exited process's cgroup id where it can: SO_PEERPIDFD and PIDFD_GET_INFO),
# and a SYSLOG_IDENTIFIER: socat's comm is gone with it, its unit's name is not.
. "$here/robust.sh"
. "$here/tenants.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
ct systemctl stop mpsr.service
tag=uk$$ unit=uk$$.service
tn_user mpsr-tk >/dev/null
tn_start $unit mpsr-tk sh -c "echo '$tag quick' | socat -u - UNIX-CONNECT:/run/mpsr.sock; sleep 5"
n=$(ct_wait_grep 1 15 "^$tag quick" -u mpsr)
[ "$n" -ge 1 ] || fail "the line is not in the journal"
ct journalctl -q --no-pager -o verbose -u mpsr MPSR_UID=$(ct id -u mpsr-tk) | grep -E 'MPSR_(UNIT|COMM|PID)=' | sed 's/^ *//'
kernel=$(uname -r)
case "$kernel" in
[0-5].* | 6.[0-9].* | 6.1[0-4].*)
	echo "kernel $kernel: no pidfd information after exit; the unit is read while the producer lives"
	n=$(ct_wait_count 1 1 -u mpsr MPSR_UNIT=$unit)
	echo "with MPSR_UNIT=$unit: $n" ;;
*)
	n=$(ct_wait_count 1 5 -u mpsr MPSR_UNIT=$unit)
	[ "$n" -ge 1 ] || fail "the line of an exited producer has no MPSR_UNIT=$unit"
	ids=$(ct journalctl -q --no-pager -o json --output-fields=SYSLOG_IDENTIFIER,MPSR_COMM -u mpsr \
		MPSR_UNIT=$unit | sed -n 's/.*"MPSR_COMM":"\([^"]*\)".*"SYSLOG_IDENTIFIER":"\([^"]*\)".*/\1 \2/p;
		s/.*"SYSLOG_IDENTIFIER":"\([^"]*\)".*"MPSR_COMM":"\([^"]*\)".*/\2 \1/p')
	echo "MPSR_COMM, SYSLOG_IDENTIFIER: $ids"
	# Gone before its accept (as a rule: mpsrd was not running), or seen alive.
	case "$ids" in
	"unknown uk$$" | "socat socat") ;;
	*) fail "an exited producer's line is named '$ids', not by its unit (uk$$)" ;;
	esac ;;
esac
rb_check_sanitizers
