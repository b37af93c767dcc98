# The holder at its limit. The kernel refuses a sender more fds in flight
# than its RLIMIT_NOFILE (ETOOMANYREFS), counting the live connections, the
# dead ones awaiting compaction and a compaction's copies. With
# LimitNOFILE=20000 and --max-connections=16384 asked, mpsrd lowers what it
# accepts to what it can keep, and says so at start; one user opens
# connections until mpsrd stops accepting, then closes all but 100 at once:
# no send into the holder is refused, and a restart keeps the 100.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=limit$$ comm=ld-limit ctl=/run/limit$$ keep=100
cleanup() {
	rb_dropin_remove 50-test-holder-limit
	ct systemctl restart mpsr.service
	ct rm -f $ctl.*
}
trap cleanup EXIT
rb_dropin 50-test-holder-limit "[Service]\nLimitNOFILE=20000\nExecStart=\nExecStart=$(rb_exec_start) --max-connections=16384\n"
ct systemctl restart mpsr.service || fail "restart"
since=$(date +%s)
[ "$(rb_show LimitNOFILE)" = 20000 ] || fail "LimitNOFILE=$(rb_show LimitNOFILE)"

own_log() {
	ct journalctl -q --no-pager -o cat -u mpsr _TRANSPORT=stdout --since "@$since"
}
wait_prefix() {
	local i
	for i in $(seq $(($2 * 10))); do
		case "$(ct cat $ctl.state 2>/dev/null)" in "$1"*) return 0 ;; esac
		sleep 0.1
	done
	fail "many-conns did not reach '$1' in $2 s: $(ct cat $ctl.state 2>/dev/null)"
}
ct python3 "$CT_TOOLS/many-conns" -n 40000 --until-refused --keep $keep --tag $tag --comm $comm --ctl $ctl &
conns=$!
wait_prefix connected 300
n=$(rb_producers)
echo "many-conns: $(ct cat $ctl.state); mpsrd serves $n"

# All but 100 hang up at once: the compactions that follow stay within the limit.
ct touch $ctl.close
wait_prefix "kept $keep" 60
rb_wait_producers -le $keep 60
sleep 1
bad=$(own_log | grep -E 'Too many references|not kept|cannot drop closed|does not keep' | head -3)
[ -z "$bad" ] || fail "the holder refused connections: $bad"

# What mpsrd said at start: what it accepts, and why.
own_log | grep -E 'serving and keeping|lowered'
[ "$n" -lt 16384 ] || fail "mpsrd accepts $n producers with LimitNOFILE=20000"
own_log | grep -q "serving and keeping up to $n producers" || fail "mpsrd did not say it keeps $n"
own_log | grep -q -- "--max-connections=16384 lowered to $n by LimitNOFILE=" ||
	fail "mpsrd did not say why it accepts $n"

# A restart keeps every connection still open.
pid0=$(rb_show MainPID)
ct systemctl restart mpsr.service || fail "restart"
[ "$(rb_show MainPID)" != "$pid0" ] || fail "not restarted"
rb_wait_producers -ge $keep 30
ct touch $ctl.go0
rb_wait_state $ctl "wrote 0" 60
ct_wait_ids $tag $keep 1 60 SYSLOG_IDENTIFIER=$comm || fail "a line of each of the $keep kept producers after the restart"
bad=$(own_log | grep -E 'Too many references|not kept|cannot drop closed|does not keep' | head -3)
[ -z "$bad" ] || fail "the holder refused connections: $bad"
ct touch $ctl.end
wait $conns || fail "many-conns: a connect or write failed"
rb_check_sanitizers
