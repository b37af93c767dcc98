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
	rm -f "$out" "$out".*
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

# windows UNIT TAG INTERVAL_USEC: the stored lines of TAG per window. journald
# begins a window with the first entry more than INTERVAL after the current
# one began (journald-rate-limit.c), but by its clock at the rate-limit test,
# which an entry's timestamp, taken later, does not show: on a busy machine
# the window's first entry may be stamped late enough for the next window's
# first to fall within INTERVAL of it. Every load here uses its burst up in a
# fraction of the interval and is held back for the rest, so a window begins
# with an entry more than half an interval after the last one stored.
windows() {
	ct journalctl -q --no-pager -o export "_SYSTEMD_UNIT=$1" | awk -v tag="$2" -v iv="$3" '
		/^__MONOTONIC_TIMESTAMP=/ { t = substr($0, 23) + 0 }
		index($0, "MESSAGE=" tag " p=") == 1 {
			if (!n || t > last + iv / 2) n++
			last = t
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

# growth_start NAME ARGS...: journal-growth ARGS in the background, its figures
# in $out.NAME; growth_wait NAME waits until it is done, and puts them in $r.
growth_start() {
	local name=$1
	shift
	ct bash -s -- "$@" <"$here/journal-growth" >"$out.$name" 2>&1 &
	eval "gpid_$name=\$!"
}
growth_wait() {
	local pid
	eval "pid=\$gpid_$1"
	wait "$pid" || fail "journal-growth ($1): $(cat "$out.$1")"
	r=$(cat "$out.$1")
}

# unit_probe UNIT: what limits-probe reads for UNIT, once PID 1 has published
# its LogRateLimitBurst= (while it runs).
unit_probe() {
	local i
	for i in $(seq 50); do
		ct test -L "/run/systemd/units/log-rate-limit-burst:$1" && break
		sleep 0.1
	done
	ct limits-probe "$1"
}

# unit_windows NAME UNIT PROBE INTERVAL_USEC BURST MIN: once journal-growth
# NAME is done, UNIT's limit as limits-probe read it (PROBE) is INTERVAL_USEC
# and BURST, and UNIT's windows hold BURST x modulation each (at least MIN).
unit_windows() {
	local name=$1 unit=$2 probe=$3 interval=$4 burst=$5 min=$6 b counts
	growth_wait "$name"
	echo "limits-probe $unit: $probe"
	echo "$name: $r"
	[ "$(field interval_usec "$probe")" = "$interval" ] || fail "$name: $unit's interval: $probe"
	[ "$(field burst "$probe")" = "$burst" ] || fail "$name: $unit's burst: $probe"
	b=$(ct limits-probe --modulate "$burst")
	counts=$(windows "$unit" "$(field tag "$r")" "$interval")
	echo "per window: $counts (burst x modulation: $b)"
	expect_windows "$name" "$counts" "$b" "$min"
}

# Sections 1 to 3 run at once, each in a unit of its own: journald limits each
# unit by itself. All three are done well within the 30 s after journald's
# restart above, before it rereads the space it has left.

# 1. journald.conf's limit, for a unit that sets nothing: 15 s of 2,000 lines/s
# are two windows (at 0 s and 10 s), each filled within 2 s.
probe=$(ct limits-probe)
echo "limits-probe: $probe"
[ "$(field interval_usec "$probe")" = 10000000 ] || fail "interval from the drop-in: $probe"
[ "$(field burst "$probe")" = 1000 ] || fail "burst from the drop-in: $probe"
b1=$(field modulated "$probe")
growth_start conf --via=direct --seconds=15 --rate=2000 --unit=lim-conf
# 2. The unit's own limit, as PID 1 publishes it, while it runs.
growth_start unit --via=direct --seconds=7 --rate=1000 --unit=lim-unit --interval=2s --burst=50
# 3. LogRateLimitIntervalSec=0 is "unset": journald.conf's 10 s, the unit's burst.
growth_start zero --via=direct --seconds=12 --rate=1000 --unit=lim-zero --interval=0 --burst=77

probe_unit=$(unit_probe lim-unit.service)
probe_zero=$(unit_probe lim-zero.service)
ct test -L /run/systemd/units/log-rate-limit-interval:lim-zero.service &&
	fail "PID 1 published an interval of 0"

# 2.: the unit's 2 s and 50; 3.: journald.conf's 10 s and the unit's 77.
unit_windows unit lim-unit.service "$probe_unit" 2000000 50 3
unit_windows zero lim-zero.service "$probe_zero" 10000000 77 2

growth_wait conf
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
