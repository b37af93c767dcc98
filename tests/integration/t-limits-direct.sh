# journald's own rate limit, measured: what a flooding unprivileged unit gets
# into the journal when it writes to journald directly (journal-growth
# --via=direct). The figures are what mpsr's limiting is compared with; this
# case checks that they are what mpsr's reading of journald's limits
# (ratelimit.h, window.h, through limits-probe) predicts:
#   - journald.conf's drop-in RateLimitIntervalSec=10s, RateLimitBurst=1000:
#     a unit that sets nothing stores exactly burst x modulation per window,
#     a window beginning with the first entry after the last one ended;
#   - a unit's LogRateLimitIntervalSec=2s, LogRateLimitBurst=50 overrides it;
#   - a unit's LogRateLimitIntervalSec=0 is unset (PID 1 publishes nothing),
#     so journald.conf's interval holds, with the unit's burst;
#   - the burst is scaled by the space journald has left under SystemMaxUse=,
#     not by the file system's free space.
dropin=/etc/systemd/journald.conf.d/50-mpsr-limits-direct.conf
out=$(mktemp)
restore() {
	rm -f "$out"
	ct rm -f "$dropin"
	ct systemctl restart systemd-journald
}
trap restore EXIT

ct mkdir -p "${dropin%/*}"
printf '[Journal]\nRateLimitIntervalSec=10s\nRateLimitBurst=1000\n' | ct tee "$dropin" >/dev/null
ct systemctl restart systemd-journald || fail "journald did not restart"
ct sh -c 'cat >/usr/local/bin/limits-probe && chmod 0755 /usr/local/bin/limits-probe' \
	<"$MPSR_BUILD/tests/integration/limits-probe" || fail "limits-probe"

# field KEY LINE: the value of KEY= in a line of key=value figures.
field() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# windows UNIT TAG INTERVAL_USEC: the stored lines of TAG per window, as
# journald forms them: a window begins with an entry that comes more than
# INTERVAL after the current window began (journald-rate-limit.c).
windows() {
	ct journalctl -q --no-pager -o export "_SYSTEMD_UNIT=$1" | awk -v tag="$2" -v iv="$3" '
		/^__MONOTONIC_TIMESTAMP=/ { t = substr($0, 23) + 0 }
		index($0, "MESSAGE=" tag " p=") == 1 {
			if (!n || t > begin + iv) { begin = t; n++ }
			c[n]++
		}
		END { for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? " " : ""), c[i]; print "" }'
}

# expect_windows NAME COUNTS BURST MIN: every window but the last holds exactly
# BURST (the last at most BURST), and there are at least MIN windows.
expect_windows() {
	local name=$1 counts=$2 burst=$3 min=$4 n=0 last=
	for c in $counts; do
		[ -z "$last" ] || [ "$last" = "$burst" ] || fail "$name: a window held $last, not $burst ($counts)"
		last=$c n=$((n + 1))
	done
	[ $n -ge "$min" ] || fail "$name: $n windows ($counts), expected at least $min"
	[ "$last" -le "$burst" ] || fail "$name: the last window held $last > $burst ($counts)"
}

growth() {
	ct bash -s -- "$@" <"$here/journal-growth" || fail "journal-growth $*"
}

# 1. journald.conf's limit, for a unit that sets nothing: 15 s of 2,000 lines/s
# are two windows (at 0 s and 10 s), each filled within 2 s.
probe=$(ct limits-probe)
echo "limits-probe: $probe"
[ "$(field interval_usec "$probe")" = 10000000 ] || fail "interval from the drop-in: $probe"
[ "$(field burst "$probe")" = 1000 ] || fail "burst from the drop-in: $probe"
b1=$(field modulated "$probe")
r=$(growth --via=direct --seconds=15 --rate=2000 --unit=lim-conf)
echo "journald.conf 10s/1000: $r"
b2=$(ct limits-probe --modulate 1000)
counts=$(windows lim-conf.service "$(field tag "$r")" 10000000)
echo "per window: $counts (burst x modulation: $b1 before, $b2 after)"
# Space shrinks while the journal grows; journald rereads it every 30 s.
expect_windows conf "$counts" "$b1" 2 2>/dev/null ||
	expect_windows conf "$counts" "$b2" 2
[ "$(field stored "$r")" -lt "$(field written "$r")" ] || fail "nothing was held back: $r"
[ "$(field reported_dropped "$r")" -gt 0 ] || fail "journald reported no suppression: $r"
[ $(($(field stored "$r") + $(field reported_dropped "$r"))) -le "$(field written "$r")" ] ||
	fail "stored + reported dropped > written: $r"

# 2. The unit's own limit, as PID 1 publishes it, while it runs.
ct bash -s -- --via=direct --seconds=7 --rate=1000 --unit=lim-unit --interval=2s --burst=50 \
	<"$here/journal-growth" >"$out" 2>&1 &
gpid=$!
for i in $(seq 50); do
	ct test -L /run/systemd/units/log-rate-limit-burst:lim-unit.service && break
	sleep 0.1
done
probe=$(ct limits-probe lim-unit.service)
echo "limits-probe lim-unit.service: $probe"
wait $gpid || fail "journal-growth (unit limit): $(cat "$out")"
r=$(cat "$out")
echo "unit 2s/50: $r"
[ "$(field interval_usec "$probe")" = 2000000 ] || fail "the unit's published interval: $probe"
[ "$(field burst "$probe")" = 50 ] || fail "the unit's published burst: $probe"
b=$(ct limits-probe --modulate 50)
counts=$(windows lim-unit.service "$(field tag "$r")" 2000000)
echo "per window: $counts (burst x modulation: $b)"
expect_windows unit "$counts" "$b" 3

# 3. LogRateLimitIntervalSec=0 is "unset": journald.conf's 10 s, the unit's burst.
ct bash -s -- --via=direct --seconds=12 --rate=1000 --unit=lim-zero --interval=0 --burst=77 \
	<"$here/journal-growth" >"$out" 2>&1 &
gpid=$!
for i in $(seq 50); do
	ct test -L /run/systemd/units/log-rate-limit-burst:lim-zero.service && break
	sleep 0.1
done
ct test -L /run/systemd/units/log-rate-limit-interval:lim-zero.service &&
	fail "PID 1 published an interval of 0"
probe=$(ct limits-probe lim-zero.service)
echo "limits-probe lim-zero.service: $probe"
wait $gpid || fail "journal-growth (interval 0): $(cat "$out")"
r=$(cat "$out")
echo "unit 0/77: $r"
[ "$(field interval_usec "$probe")" = 10000000 ] || fail "interval for a unit's 0: $probe"
[ "$(field burst "$probe")" = 77 ] || fail "burst of the unit: $probe"
b=$(ct limits-probe --modulate 77)
counts=$(windows lim-zero.service "$(field tag "$r")" 10000000)
echo "per window: $counts (burst x modulation: $b)"
expect_windows zero "$counts" "$b" 2

# 4. The space journald sees: a journal held to 64 MiB leaves it tens of MiB,
# so the burst is scaled by 2.25 or so, not by what the file system has free.
printf '[Journal]\nRateLimitIntervalSec=10s\nRateLimitBurst=1000\nSystemMaxUse=64M\nRuntimeMaxUse=64M\n' |
	ct tee "$dropin" >/dev/null
ct systemctl restart systemd-journald || fail "journald did not restart"
probe=$(ct limits-probe)
echo "limits-probe with a 64M journal: $probe"
echo "journald: $(ct journalctl -q --no-pager -o cat -u systemd-journald -n 1 --grep ' is .*, max ')"
b=$(ct limits-probe --modulate 100)
[ "$(field available "$probe")" -lt $((64 << 20)) ] || fail "available beyond SystemMaxUse: $probe"
r=$(growth --via=direct --seconds=5 --rate=1000 --unit=lim-space --interval=2s --burst=100)
echo "unit 2s/100, 64M journal: $r"
counts=$(windows lim-space.service "$(field tag "$r")" 2000000)
echo "per window: $counts (burst x modulation: $b)"
expect_windows space "$counts" "$b" 2
