# --exit-idle=2: with no producer connected mpsrd exits after 2 s (cleanly, not
# counted as a failure), stays running while one is connected, and the next
# producer brings it back through the socket, its line stored.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
exec_start=$(ct systemctl cat mpsr.service | sed -n 's/^ExecStart=\(.*mpsrd.*\)/\1/p' | tail -n1)
[ -n "$exec_start" ] || fail "no ExecStart= for mpsrd"
dropin=/run/systemd/system/mpsr.service.d/50-test-exit-idle.conf
cleanup() {
	ct rm -f $dropin
	ct systemctl daemon-reload
}
trap cleanup EXIT
ct mkdir -p "${dropin%/*}"
ct_sh "printf '[Service]\nExecStart=\nExecStart=%s --exit-idle=2\n' '$exec_start' >$dropin"
ct systemctl daemon-reload
ct systemctl restart mpsr.service || fail "restart"
restarts0=$(rb_show NRestarts)
tag=idle$$
rb_loader ld-idle

# wait_state STATE SECS
wait_state() {
	local i
	for i in $(seq $(($2 * 10))); do
		[ "$(ct systemctl is-active mpsr.service)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
t0=$(date +%s%N)
wait_state inactive 30 || fail "mpsrd did not exit with no producers: $(rb_show StatusText)"
echo "exited after $((($(date +%s%N) - t0) / 1000000)) ms without producers"
[ "$(rb_show Result)" = success ] && [ "$(rb_show ExecMainStatus)" = 0 ] || fail "idle exit is not clean: $(rb_show Result)"
[ "$(ct systemctl is-active mpsr.socket)" = active ] || fail "mpsr.socket went down"

# A producer brings it back, and keeps it up while connected.
rb_load_start ld-idle -P 1 -m 1 -t $tag --hold 5
wait_state active 10 || fail "a producer did not start mpsrd"
sleep 4
[ "$(ct systemctl is-active mpsr.service)" = active ] || fail "mpsrd exited with a producer connected"
rb_load_wait ld-idle || fail "the producer's write failed"
ct_wait_ids $tag 1 1 10 SYSLOG_IDENTIFIER=ld-idle || fail "the line that started mpsrd"
wait_state inactive 10 || fail "mpsrd did not exit after the producer left"
echo "back on demand, and gone again once idle"
[ "$(rb_show NRestarts)" = "$restarts0" ] || fail "idle exits were counted as failures"
rb_check_sanitizers
