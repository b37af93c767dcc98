# Two `systemctl restart mpsr.service` while 16 producers write 20,000 lines
# each: no line lost, none doubled, none cut in two, no producer disconnected.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
name=ld-restart tag=rst$$ P=16 M=20000
rb_loader $name
restarts0=$(rb_show NRestarts)

# 2,000 lines/s each, so the load spans both restarts (10 s at least).
rb_load_start $name -P $P -m $M -r 2000 -t $tag
pids=
for delay in 2 3; do
	sleep $delay
	rb_load_running $name || fail "the load ended before restart ($delay s): too fast to prove anything"
	pids="$pids $(rb_show MainPID)"
	ct systemctl restart mpsr.service || fail "restart failed"
done
rb_load_wait $name || fail "a producer's write failed: it was disconnected"
pids="$pids $(rb_show MainPID)"
echo "MainPID over the restarts:$pids"
[ "$(echo $pids | tr ' ' '\n' | sort -u | wc -l)" = 3 ] || fail "mpsrd did not restart twice:$pids"

rb_wait_ids $name $tag $P $M 120 || fail "lines lost, doubled or cut"
[ "$(rb_stop_breaks $name)" = 0 ] || fail "lines cut by a stop (MPSR_LINE_BREAK=stop)"
[ "$(rb_show NRestarts)" = "$restarts0" ] || fail "mpsrd failed and was restarted by systemd"
rb_check_dropped
rb_check_sanitizers
rb_forget_journal
