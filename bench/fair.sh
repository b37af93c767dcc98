# The fairness rows of bench/run (sourced by it; uses its ct, say, work, SIZE,
# journal_reset, wait_quiet, mpsr_use and median). Not a program of its own.
#
# Four transient units of four unprivileged uids, as local users' producers
# run (systemd-run --uid=), limits off (journald.conf RateLimitIntervalSec=0,
# which mpsrd follows as journald does):
#   A  floods through 100 connections for FAIR_DUR + 4 s
#   B  floods through 1 connection, as long
#   C  from 2 s in, writes 20 lines/s for FAIR_DUR s on a stream connection
#   D  beside C, the same 20 lines/s straight to journald's native socket
# In row fair-mpsr, A, B and C write to /run/mpsr.sock; in row fair-journald,
# to journald's stdout stream (one stream per connection), as they would
# without mpsr. D is the same in both: what journald alone makes a small
# writer wait beside that flood (its native queue is one FIFO for everyone,
# mpsrd's entries included).
#
# Reported: the lines of A and B that journald received while C wrote (both
# backlogged then), B's share of them, C's and D's lines stored and their
# p50/p99 from the send (t=) to journald's __REALTIME_TIMESTAMP; lost,
# duplicated and reordered lines of all four.

FAIR_ROWS="fair-mpsr fair-journald"

# fair_user NAME: an unprivileged user in the container, created if new.
fair_user() {
	ct id -u "$1" >/dev/null 2>&1 ||
		ct useradd --system --no-create-home --shell /usr/sbin/nologin "$1"
}

# fair_start UNIT USER LOAD-ARGS...: mpsr-load as the transient UNIT of USER,
# its report in /run/UNIT.out.
fair_start() {
	local unit=$1 user=$2
	shift 2
	ct systemd-run -q --collect --unit="$unit" --uid="$user" \
		-p StandardOutput="truncate:/run/$unit.out" -p StandardError=journal \
		/usr/local/bin/mpsr-load -b "$SIZE" "$@" >/dev/null
}

# fair_count TAGS W0 W1 LATDIR: reads the journal once; for each tag (the
# units' in order, their reports in $work/fair-N.out) prints
# "want= stored= lost= dup= reord= win=" (win: received in [W0, W1) µs) and
# writes each unit's delays (µs) to LATDIR/N.
fair_count() {
	ct journalctl -q --no-pager -o export --output-fields=MESSAGE 2>/dev/null |
		awk -v tags="$1" -v w0="$2" -v w1="$3" -v dir="$4" -v work="$work" '
		BEGIN {
			n = split(tags, T, " ")
			for (i = 1; i <= n; i++) {
				idx[T[i]] = i
				f = work "/fair-" i ".out"
				while ((getline line < f) > 0)
					if (line ~ /^producer p=/) {
						split(line, w, /[ =]/); want[i, w[3]] = w[5]; total[i] += w[5]
					}
				close(f)
			}
		}
		/^__REALTIME_TIMESTAMP=/ { rt = substr($0, 22) + 0; next }
		/^MESSAGE=/ { msg = substr($0, 9); next }
		/^$/ { if (msg != "") entry(); msg = ""; next }
		END {
			if (msg != "") entry()
			for (i = 1; i <= n; i++)
				printf "want=%d stored=%d lost=%d dup=%d reord=%d win=%d\n", total[i],
					stored[i], total[i] - stored[i], dup[i], reord[i], win[i]
		}
		function entry(   f, i, p, s) {
			split(msg, f, " ")
			if (!(f[1] in idx)) return
			i = idx[f[1]]; p = substr(f[2], 3); s = substr(f[3], 3) + 0
			if (!((i, p) in want) || s >= want[i, p]) return
			if ((i, p, s) in seen) { dup[i]++; return }
			seen[i, p, s] = 1; stored[i]++
			if (((i, p) in last) && s < last[i, p]) reord[i]++
			last[i, p] = s
			if (rt >= w0 && rt < w1) win[i]++
			print rt - substr(f[4], 3) > (dir "/" i)
		}'
}

# fair_pct Q FILE: the Q-th percentile of FILE's µs, in ms.
fair_pct() {
	sort -n "$2" 2>/dev/null | awk -v q="$1" '{ v[NR] = $1 }
		END {
			if (!NR) { print "-"; exit }
			i = int(NR * q / 100 + 0.5)
			if (i < 1) i = 1
			printf "%.1f", v[i] / 1000
		}'
}

# fair_measure ROW REP: one measurement; prints one line of key=value.
fair_measure() {
	local row=$1 rep=$2 mode u tags i res start buf lat=$work/fair-lat warn=
	case $row in
	fair-mpsr) mode=stream; mpsr_use journal ;;
	fair-journald) mode=journal-stream ;;
	esac
	for u in a b c d; do fair_user "bench-fair-$u"; done
	u=bench-fair$rep-$row
	tags="$u-A $u-B $u-C $u-D"
	# Every stream with the send buffer a plain connect() gets (the kernel
	# doubles what is asked), also those to journald's stdout stream, for
	# which sd_journal_stream_fd() asks 8 MiB: so that a flood of 10 s is
	# 10 s of lines, not minutes of them queued in the kernel at once.
	buf=$(($(ct cat /proc/sys/net/core/wmem_default) / 2))
	journal_reset
	fair_start "$u-A.service" bench-fair-a --mode=$mode --sndbuf=$buf -t "$u-A" -P 100 -d $((FAIR_DUR + 4))
	fair_start "$u-B.service" bench-fair-b --mode=$mode --sndbuf=$buf -t "$u-B" -P 1 -d $((FAIR_DUR + 4))
	sleep 2
	fair_start "$u-C.service" bench-fair-c --mode=$mode --sndbuf=$buf -t "$u-C" -P 1 -r 20 -m $((FAIR_DUR * 20)) -d 600
	fair_start "$u-D.service" bench-fair-d --mode=native -t "$u-D" -P 1 -r 20 -m $((FAIR_DUR * 20)) -d 600
	ct_wait_gone "$u-C.service" $((FAIR_DUR + 30)) && ct_wait_gone "$u-D.service" 30 ||
		warn="$warn C or D wrote too long;"
	ct systemctl is-active -q "$u-A.service" && ct systemctl is-active -q "$u-B.service" ||
		warn="$warn A or B ended before C did (the share is not of a backlog);"
	ct_wait_gone "$u-A.service" 120 && ct_wait_gone "$u-B.service" 120 || warn="$warn A or B still writing;"
	wait_quiet || warn="$warn journald did not go quiet;"
	i=0
	for t in A B C D; do
		i=$((i + 1))
		ct cat "/run/$u-$t.service.out" >"$work/fair-$i.out" 2>/dev/null
	done
	start=$(sed -n 's/.* start=\([0-9]*\).*/\1/p' "$work/fair-3.out")
	[ -n "$start" ] || { say "bench: $row: C reported nothing: $(head -c 300 "$work/fair-3.out")"; start=0; }
	for i in $(seq 20); do
		rm -rf "$lat" && mkdir -p "$lat"
		res=$(fair_count "$tags" "$start" $((start + FAIR_DUR * 1000000)) "$lat")
		[ "$(printf '%s\n' "$res" | awk '{ split($3, f, "="); s += f[2] } END { print s + 0 }')" = 0 ] && break
		sleep 1
	done
	[ -n "$warn" ] && say "bench: $row rep $rep:$warn"
	printf '%s\n' "$res" | awk -v c50="$(fair_pct 50 "$lat/3")" -v c99="$(fair_pct 99 "$lat/3")" \
		-v d50="$(fair_pct 50 "$lat/4")" -v d99="$(fair_pct 99 "$lat/4")" -v ok="${warn:-ok}" '
		{ for (k = 1; k <= NF; k++) { split($k, f, "="); v[NR, f[1]] = f[2] } }
		END {
			a = v[1, "win"]; b = v[2, "win"]
			for (i = 1; i <= 4; i++) { lost += v[i, "lost"]; dup += v[i, "dup"]; reord += v[i, "reord"] }
			printf "a=%d b=%d share=%.1f c_sent=%d c_stored=%d c_p50=%s c_p99=%s d_sent=%d d_stored=%d d_p50=%s d_p99=%s lost=%d dup=%d reord=%d valid=%s\n",
				a, b, a + b ? 100 * b / (a + b) : 0, v[3, "want"], v[3, "stored"], c50, c99,
				v[4, "want"], v[4, "stored"], d50, d99, lost, dup, reord, ok == "ok" ? 1 : 0
		}'
}

# fair_run REPS: every fairness row REPS times; raw lines in $work/fair.
fair_run() {
	local rep row line
	: >"$work/fair"
	for rep in $(seq "$1"); do
		for row in $FAIR_ROWS; do
			line=$(fair_measure "$row" "$rep")
			say "bench: fairness $row rep $rep: $line"
			printf '%s\t%s\t%s\n' "$row" "$rep" "$line" >>"$work/fair"
		done
	done
}

# fair_tsv REPS: the fairness section of the TSV, medians of the repetitions
# (sums for the counts of lines sent, stored, lost, duplicated, reordered).
fair_tsv() {
	local row sel k
	printf '\n# fairness: unit A floods through 100 connections, B through 1; C writes 20 lines/s beside them on a stream, D the same to journald natively; limits off; A and B lines received while C wrote; %s s, median of %s\n' "$FAIR_DUR" "$1"
	printf 'row\ta_lines\tb_lines\tb_share_pct\tc_sent\tc_stored\tc_p50_ms\tc_p99_ms\td_sent\td_stored\td_p50_ms\td_p99_ms\tlost\tdup\treordered\tvalid_runs\n'
	for row in $FAIR_ROWS; do
		sel=$(awk -F'\t' -v r="$row" '$1 == r { print $3 }' "$work/fair")
		[ -n "$sel" ] || continue
		printf '%s' "$row"
		for k in a b share; do
			printf '\t%s' "$(printf '%s\n' "$sel" | tr ' ' '\n' | sed -n "s/^$k=//p" | median)"
		done
		for k in c_sent c_stored; do
			printf '\t%s' "$(printf '%s\n' "$sel" | tr ' ' '\n' | sed -n "s/^$k=//p" | awk '{ s += $1 } END { print s + 0 }')"
		done
		for k in c_p50 c_p99; do
			printf '\t%s' "$(printf '%s\n' "$sel" | tr ' ' '\n' | sed -n "s/^$k=//p" | median)"
		done
		for k in d_sent d_stored; do
			printf '\t%s' "$(printf '%s\n' "$sel" | tr ' ' '\n' | sed -n "s/^$k=//p" | awk '{ s += $1 } END { print s + 0 }')"
		done
		for k in d_p50 d_p99; do
			printf '\t%s' "$(printf '%s\n' "$sel" | tr ' ' '\n' | sed -n "s/^$k=//p" | median)"
		done
		for k in lost dup reord valid; do
			printf '\t%s' "$(printf '%s\n' "$sel" | tr ' ' '\n' | sed -n "s/^$k=//p" | awk '{ s += $1 } END { print s + 0 }')"
		done
		printf '\n'
	done
}
