#!/bin/bash
# How fast does `seq N | mpsr-send` get N lines into the journal, next to
# `seq N | systemd-cat`, in the same container run and against the same journald?
#
#   bench/client-vs-systemd-cat.sh [BUILD_DIR] [LINES]   (as root; default build, 1000000)
#
# Boots the integration suite's throwaway systemd container, installs the build,
# and runs each pipeline in a transient unit whose journald rate limit is lifted
# (mpsr.service lifts its own), so no line is dropped by journald. Rows:
#
#   mpsr-send        seq N | mpsr-send            (stream socket, large writes)
#   mpsr-send -t     seq N | mpsr-send -t TAG     (record socket, one record a line)
#   systemd-cat -t   seq N | systemd-cat -t TAG   (journald's stdout stream)
#
# "sender" is when the pipeline exited; "stored" is when the last line (a marker
# sent after the N lines) could be read back with journalctl; lines/s is N over
# "stored". Every row then counts its lines in the journal: all N must be there.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
N=${2:-1000000}

cd "$top"
[ -d "$build/meson-private" ] || meson setup "$build" >/dev/null || exit 1
meson compile -C "$build" >/dev/null || { echo "build failed" >&2; exit 1; }
export MPSR_BUILD=$(cd "$build" && pwd)
. "$top/tests/integration/lib.sh"
why=$(ct_unsupported)
[ -z "$why" ] || { echo "cannot run: $why" >&2; exit 77; }
trap ct_teardown EXIT
trap 'exit 130' INT TERM
ct_boot || { echo "could not boot a container" >&2; exit 1; }
ct systemctl start mpsr.socket || exit 1
# Start mpsrd now, so activation is not part of the first row.
ct_sh 'printf "warm-up\n" | mpsr-send -t bench-warmup' || exit 1

now() { date +%s.%N; }

# row NAME IDENT PIPELINE: PIPELINE reads the lines on stdin and stores them under IDENT.
row() {
	local name=$1 ident=$2 pipeline=$3 marker="end-of-$2-$$" t0 t1 t2 n
	t0=$(now)
	ct systemd-run --wait --quiet --collect -p LogRateLimitIntervalSec=1s \
		-p LogRateLimitBurst=100000000 /bin/sh -c "{ seq $N; echo $marker; } | $pipeline" ||
		{ echo "$name: the pipeline failed" >&2; return 1; }
	t1=$(now)
	until [ "$(ct journalctl -q -o cat -t "$ident" -n 1 2>/dev/null)" = "$marker" ]; do
		sleep 0.05
	done
	t2=$(now)
	n=$(ct journalctl -q -o cat -t "$ident" | grep -c '^[0-9]*$')
	awk -v name="$name" -v a="$t0" -v b="$t1" -v c="$t2" -v n="$n" -v want="$N" 'BEGIN {
		printf "%-16s %9.2f %9.2f %12.0f %10d%s\n", name, b - a, c - a, want / (c - a), n,
			n == want ? "" : "   LOST " want - n
	}'
	[ "$n" = "$N" ]
}

printf '%-16s %9s %9s %12s %10s\n' row "sender s" "stored s" "lines/s" stored
ok=0
row "mpsr-send" mpsr-send "mpsr-send" || ok=1
row "mpsr-send -t" bench-rec "mpsr-send -t bench-rec" || ok=1
row "systemd-cat -t" bench-cat "systemd-cat -t bench-cat" || ok=1
echo "# $N lines each; $(nproc) CPUs; $(uname -r); systemd $(ct systemctl --version | awk 'NR==1{print $2}')"
exit $ok
