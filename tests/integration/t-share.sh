# Fair shares: unit A floods through 100 connections, unit B through 1 (both
# with limits high enough not to matter), each as a uid of its own. While both
# are backlogged, B gets at least 45% of what is stored; unit C, writing 20
# lines a second beside them, has every line stored within 50 ms (p99).
# Unit D writes the same lines straight to journald at the same time: what an
# entry waits in journald's queue is D's delay as much as C's, so C's p99 over
# D's is mpsrd's own part (its turn after a slice of each busy unit, the loop):
# less than 20 ms. That queue is one FIFO for every sender, and mpsrd's
# entries of A and B are in it: mpsrd keeps their part short (pace.h), without
# which it stayed full (512 entries) and C's p99 was 50-97 ms here, D's 44-76.
. "$here/robust.sh"
. "$here/tenants.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=share$$ A=shareA$$.service B=shareB$$.service C=shareC$$.service D=shareD$$.service
nolimit="-p LogRateLimitIntervalSec=1s -p LogRateLimitBurst=1000000000"
rb_loader ld-a
rb_loader ld-b
rb_loader ld-c
rb_loader ld-d
tn_user mpsr-ta >/dev/null
tn_user mpsr-tb >/dev/null
tn_user mpsr-tc >/dev/null

tn_start $A mpsr-ta $nolimit /usr/local/bin/ld-a -P 100 -d 12 -t $tag
tn_start $B mpsr-tb $nolimit /usr/local/bin/ld-b -P 1 -d 12 -t $tag
sleep 2
from=$(date +%s)
tn_start $C mpsr-tc $nolimit /usr/local/bin/ld-c -P 1 -m 160 -r 20 -t $tag
tn_start $D mpsr-tc $nolimit /usr/local/bin/ld-d --mode=native -P 1 -m 160 -r 20 -t $tag
sleep 7
until=$(date +%s)
ct systemctl is-active -q $A && ct systemctl is-active -q $B ||
	fail "A or B stopped writing before the window ended: nothing proven"
ct_wait_gone $C 30 && ct_wait_gone $D 30 || fail "C or D still writing"
ct_wait_ids $tag 1 160 30 MPSR_UNIT=$C || fail "C's lines"
lat=$(ct journalctl -q --no-pager -o json MPSR_UNIT=$C | "$here/latency")
echo "C, 20 lines/s beside the flood, write to journald: $lat"
direct=$(ct journalctl -q --no-pager -o json _SYSTEMD_UNIT=$D | "$here/latency")
echo "D, the same straight to journald: $direct"
ct_wait_gone $A 120 && ct_wait_gone $B 120 || fail "A or B still writing"

# What journald received while both were backlogged (and C was writing).
count() {
	ct journalctl -q --no-pager -o cat --since "@$from" --until "@$until" MPSR_UNIT=$1 | wc -l
}
a=$(count $A) b=$(count $B)
share=$((b * 1000 / (a + b + 1)))
echo "from $from to $until: A (100 connections) $a lines, B (1 connection) $b lines: B's share $((share / 10)).$((share % 10)) %"
[ $share -ge 450 ] || fail "B got less than 45 %"
p99=$(echo "$lat" | sed -n 's/.*p99=\([0-9]*\).*/\1/p')
p99d=$(echo "$direct" | sed -n 's/.*p99=\([0-9]*\).*/\1/p')
echo "mpsr's part of C's p99: $((p99 - p99d)) ms"
[ $((p99 - p99d)) -lt 20 ] || fail "C's p99 $p99 ms, more than 20 ms over D's $p99d ms"
[ "$p99" -lt 50 ] || fail "C's p99 $p99 ms, not under 50 ms (D's, straight to journald: $p99d ms)"
rb_check_dropped
rb_check_sanitizers
rb_forget_journal
