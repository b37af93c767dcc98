# Two `kill -9` of mpsrd while 16 producers write 20,000 lines each; systemd
# restarts it with the producers' connections from the fd store. No line may
# be lost. A line is written twice only if mpsrd died between writing it and
# taking it from the socket, which it does every 8 lines (CONSUME_LINES in
# server.c): so at most 8 lines per kill, counted and reported.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
name=ld-crash tag=crash$$ P=16 M=20000 kills=2
rb_loader $name
restarts0=$(rb_show NRestarts)

rb_load_start $name -P $P -m $M -r 2000 -t $tag
pids=
for delay in 2 3; do
	sleep $delay
	rb_load_running $name || fail "the load ended before the kill ($delay s): too fast to prove anything"
	pid=$(rb_show MainPID)
	pids="$pids $pid"
	ct kill -KILL "$pid" || fail "kill $pid"
	# Restart=on-failure brings it back after RestartSec=.
	for i in $(seq 50); do
		new=$(rb_show MainPID)
		[ "$new" != 0 ] && [ "$new" != "$pid" ] && break
		sleep 0.1
	done
done
rb_load_wait $name || fail "a producer's write failed: it was disconnected"
pids="$pids $(rb_show MainPID)"
echo "MainPID over the kills:$pids"
[ "$(echo $pids | tr ' ' '\n' | sort -u | wc -l)" = 3 ] || fail "mpsrd was not restarted twice:$pids"
[ "$(rb_show NRestarts)" = $((restarts0 + kills)) ] || fail "NRestarts $(rb_show NRestarts), want $((restarts0 + kills))"

out=$(rb_wait_ids $name $tag $P $M 120)
echo "$out"
summary=${out%%$'\n'*}
dup=$(echo "$summary" | sed -n 's/.* duplicated=\([0-9]*\) .*/\1/p')
case "$summary" in
"stored=$((P * M + dup)) unique=$((P * M)) missing=0 duplicated=$dup malformed=0") ;;
*) fail "lines lost or cut" ;;
esac
echo "duplicated by the kills: $dup"
[ "$dup" -le $((kills * 8)) ] || fail "$dup lines written twice, more than 8 per kill"
[ "$(rb_stop_breaks $name)" = 0 ] || fail "lines cut by a stop (MPSR_LINE_BREAK=stop)"
rb_check_dropped
rb_check_sanitizers
rb_forget_journal
