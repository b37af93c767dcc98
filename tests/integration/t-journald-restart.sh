# `systemctl restart systemd-journald` twice while 16 producers write 20,000
# lines each: mpsrd waits for journald (backpressure) and loses nothing.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
name=ld-journald tag=jrn$$ P=16 M=20000
rb_loader $name
restarts0=$(rb_show NRestarts)

rb_load_start $name -P $P -m $M -r 2000 -t $tag
sleep 1
mpsrd=$(rb_show MainPID)
jpids=
for delay in 1 3; do
	sleep $delay
	rb_load_running $name || fail "the load ended before journald's restart ($delay s): too fast to prove anything"
	jpids="$jpids $(ct systemctl show -P MainPID systemd-journald.service)"
	ct systemctl restart systemd-journald.service || fail "journald restart failed"
done
rb_load_wait $name || fail "a producer's write failed"
jpids="$jpids $(ct systemctl show -P MainPID systemd-journald.service)"
echo "journald's MainPID over the restarts:$jpids"
[ "$(echo $jpids | tr ' ' '\n' | sort -u | wc -l)" = 3 ] || fail "journald did not restart twice:$jpids"

rb_wait_ids $name $tag $P $M 120 || fail "lines lost, doubled or cut"
[ "$(rb_show MainPID)" = "$mpsrd" ] || fail "mpsrd was restarted ($mpsrd -> $(rb_show MainPID))"
[ "$(rb_show NRestarts)" = "$restarts0" ] || fail "mpsrd failed and was restarted"
rb_check_dropped
rb_check_sanitizers
rb_forget_journal
