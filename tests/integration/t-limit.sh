# A unit with LogRateLimitIntervalSec=1s, LogRateLimitBurst=1000 writes 20,000
# lines at once: mpsr holds it to that limit as set (1000 a second: journald
# would scale the burst by its free space, mpsrd --rate-limits=journald too),
# by reading it more slowly: every line is stored exactly once and in order,
# over 15 to 40 s, at no more than the limit, and mpsrd says the unit is being
# slowed, and later that it no longer is.
. "$here/robust.sh"
. "$here/tenants.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=lim$$ unit=lim$$.service M=20000
tn_load $unit 65534 ld-limit 1000 -P 1 -m $M -t $tag
set -- $(ct_wait_grep 1 20 "^$unit (uid 65534) is over its limit" -u mpsr _TRANSPORT=stdout)
limit=$(tn_limited "$unit")
[ -n "$limit" ] || fail "mpsrd did not say it slows $unit"
set -- $limit
burst=$1 interval_ms=$2
echo "held to $burst lines per $interval_ms ms"
[ "$interval_ms" = 1000 ] || fail "interval $interval_ms ms, not the unit's 1 s"
for i in $(seq 20); do
	status=$(rb_show StatusText)
	case "$status" in *"1 unit over its limit"*) break ;; esac
	sleep 0.1
done
echo "STATUS=$status"
case "$status" in *"1 unit over its limit"*) ;; *) fail "STATUS= does not count the slowed unit" ;; esac
[ "$burst" = 1000 ] || fail "burst $burst, not the unit's 1000"
windows=$(((M + burst - 1) / burst))
ct_wait_gone $unit $((windows * 3 + 30)) || fail "$unit still writing after $((windows * 3 + 30)) s"
ct_wait_ids $tag 1 $M 30 MPSR_UNIT=$unit || fail "$unit's lines"
tn_in_order MPSR_UNIT=$unit || fail "$unit's lines out of order"
span=$(tn_span_ms MPSR_UNIT=$unit)
echo "$M lines over $span ms ($windows windows of $burst)"
# A full window for each burst but the first; no more than twice as long.
[ "$span" -ge $(((windows - 1) * 1000 - 200)) ] || fail "stored faster than the limit allows"
[ "$span" -le $((windows * 2000 + 5000)) ] || fail "stored much slower than the limit"
[ "$span" -ge 15000 ] && [ "$span" -le 40000 ] || fail "$M lines over $span ms, not 15 to 40 s"
# Not one line more than a burst in any window: per second, at most burst.
worst=$(ct journalctl -q --no-pager -o json --output-fields=__MONOTONIC_TIMESTAMP MPSR_UNIT=$unit |
	sed -n 's/.*"__MONOTONIC_TIMESTAMP":"\([0-9]*\)".*/\1/p' |
	awk -v w=1000000 '{ t[NR] = $1 } END { j = 1; for (i = 1; i <= NR; i++) { while (t[i] - t[j] >= w) j++; if (i - j + 1 > m) m = i - j + 1 } print m }')
echo "most lines in any 1 s: $worst"
[ "$worst" -le $((burst * 2)) ] || fail "$worst lines in one second, over twice the burst"
n=$(ct_wait_grep 1 15 "^$unit (uid 65534) is within its limit" -u mpsr _TRANSPORT=stdout)
[ "$n" -ge 1 ] || fail "mpsrd did not say $unit is no longer slowed"
rb_check_dropped
rb_check_sanitizers
