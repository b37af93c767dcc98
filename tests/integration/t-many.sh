# 10,000 producers connected at once: all accepted and served, kept across a
# restart (in mpsrd's holder: a few fd store entries for all), and little
# memory each.
# 10,000 is beyond the default --max-connections (8192 with --fd-store): the
# case asks for it.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=many$$ N=10000 comm=ld-many ctl=/run/many$$
trap 'rb_dropin_remove 50-test-many; ct systemctl restart mpsr.service' EXIT
rb_dropin 50-test-many "[Service]\nExecStart=\nExecStart=$(rb_exec_start) --max-connections=$N\n"
ct systemctl restart mpsr.service || fail "restart"
# As many as mpsrd can hold here, at most N (its limits may lower what it was asked for).
cap=$(rb_capacity)
[ -n "$cap" ] || fail "mpsrd did not say how many producers it holds"
[ "$cap" -lt "$N" ] && echo "N=$N lowered to $cap: what mpsrd holds under RLIMIT_NOFILE=$(ct sh -c "grep 'open files' /proc/\$(systemctl show -P MainPID mpsr.service)/limits" | awk '{print $4}')" && N=$cap
echo "net.core.somaxconn=$(ct sysctl -n net.core.somaxconn) Backlog=$(ct systemctl show -P Backlog mpsr.socket)" \
	"LimitNOFILE=$(rb_show LimitNOFILE) FileDescriptorStoreMax=$(rb_show FileDescriptorStoreMax)"

rss_kb() {
	ct sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$(rb_show MainPID)/status"
}

# The starting point: mpsrd running, its first producer served and gone.
ct_sh "printf '%s\n' 'start $tag' | socat - UNIX-CONNECT:/run/mpsr.sock" || fail "first producer"
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="start $tag")" = 1 ] || fail "the first producer's line"
rb_wait_producers -eq 0 10
base=0 pid0=$(rb_show MainPID) rss0=$(rss_kb) fds0=$(rb_show NFileDescriptorStore)

t0=$(date +%s%N)
ct python3 "$CT_TOOLS/many-conns" -n $N --tag $tag --comm $comm --ctl $ctl &
holder=$!
# Slow where systemd takes each connection into its fd store (minutes on
# a busy machine): the case is about all being accepted, not how fast.
rb_wait_state $ctl connected 300
rb_wait_producers -ge $((base + N)) 60
t1=$(date +%s%N)
rss1=$(rss_kb) fds1=$(rb_show NFileDescriptorStore)
echo "$N connected and accepted in $(((t1 - t0) / 1000000)) ms"
echo "mpsrd RSS: ${rss0} kB with $base producers, ${rss1} kB with $((base + N))" \
	"($(((rss1 - rss0) * 1024 / N)) bytes per idle producer)"
echo "fd store: $fds0 -> $fds1 fds"
[ "$fds1" -le 8 ] || fail "the fd store holds $fds1 fds for $N producers, want at most 8"

ct touch $ctl.go0
rb_wait_state $ctl "wrote 0" 60
ct_wait_ids $tag $N 1 60 SYSLOG_IDENTIFIER=$comm || fail "a line of each of the $N producers: lost or doubled"

# All of them survive a restart, through the fd store.
[ "$(rb_show MainPID)" = "$pid0" ] || fail "mpsrd was restarted before its time: $pid0 -> $(rb_show MainPID)"
t2=$(date +%s%N)
ct systemctl restart mpsr.service || fail "restart"
rb_wait_producers -ge $((base + N)) 60
t3=$(date +%s%N)
pid1=$(rb_show MainPID)
[ "$pid1" != "$pid0" ] || fail "not restarted"
echo "restart with $((base + N)) producers took $(((t3 - t2) / 1000000)) ms to adopt them all"
ct touch $ctl.go1
rb_wait_state $ctl "wrote 1" 60
ct_wait_ids $tag $N 2 60 SYSLOG_IDENTIFIER=$comm || fail "a second line of each producer after the restart: lost or doubled"

ct touch $ctl.end
wait $holder || fail "many-conns: a connect or write failed"
rb_wait_producers -le $base 10
[ "$(rb_show NFileDescriptorStore)" -le "$fds0" ] || fail "closed connections stay in the fd store: $(rb_show NFileDescriptorStore)"
[ "$(rb_show MainPID)" = "$pid1" ] || fail "mpsrd was restarted after the restart: $pid1 -> $(rb_show MainPID)"
[ "$(rb_auto_restarts)" = 0 ] || fail "mpsrd failed and was restarted by systemd"
ct rm -f $ctl.*
rb_check_dropped
rb_check_sanitizers
