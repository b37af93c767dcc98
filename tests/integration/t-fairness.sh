# One producer floods as fast as it can; another writes 10 lines a second
# beside it. The small producer's lines are stored within a second each, and
# the flood loses nothing either.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=fair$$ big=ld-flood small=ld-small
rb_loader $big
rb_loader $small

rb_load_start $big -P 1 -m 400000 -t $tag
sleep 1
rb_load_running $big || fail "the flood ended before the small producer began"
ct $small -P 1 -m 30 -r 10 -t $tag || fail "the small producer's write failed"
rb_load_running $big || fail "the flood ended before the small producer did: nothing proven"
rb_load_wait $big || fail "the flood's write failed"

ct_wait_ids $tag 1 30 30 SYSLOG_IDENTIFIER=$small || fail "the small producer's lines"
lat=$(ct journalctl -q --no-pager -o json SYSLOG_IDENTIFIER=$small | "$here/latency" --max-ms 1000)
ok=$?
echo "small producer, write to journald: $lat"
[ $ok = 0 ] || fail "a small producer's line took more than a second"
ct_wait_ids $tag 1 400000 120 SYSLOG_IDENTIFIER=$big || fail "the flood's lines"
echo "flood, write to journald: $(ct journalctl -q --no-pager -o json SYSLOG_IDENTIFIER=$big | "$here/latency")"
rb_check_dropped
rb_check_sanitizers
rb_forget_journal
