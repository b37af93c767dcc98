# Shared by the integration suite and the demo: boots the host's own systemd in
# a throwaway container on a tmpfs overlay of /, installs the build into it, and
# tears everything down again. Source it; set MPSR_BUILD to the meson build dir.

ct_dir= ct_nspawn= CT_PID=
ct_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CT_TOOLS=/usr/local/lib/mpsr-tests # the tests' helpers, inside the container

# Runs a command inside the container, as a user there would.
ct() {
	nsenter -t "$CT_PID" -a -- "$@"
}

# Like ct, with a shell command line.
ct_sh() {
	nsenter -t "$CT_PID" -a -- /bin/sh -c "$1"
}

ct_log() {
	printf '# %s\n' "$*" >&2
}

ct_teardown() {
	local i
	if [ -n "$ct_nspawn" ] && kill -0 "$ct_nspawn" 2>/dev/null; then
		# SIGTERM asks nspawn to shut the container down cleanly.
		kill -TERM "$ct_nspawn" 2>/dev/null
		for i in $(seq 100); do
			kill -0 "$ct_nspawn" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$ct_nspawn" 2>/dev/null
		wait "$ct_nspawn" 2>/dev/null
	fi
	ct_nspawn=
	if [ -n "$ct_dir" ]; then
		umount -l "$ct_dir/root" 2>/dev/null
		umount -l "$ct_dir" 2>/dev/null
		rmdir "$ct_dir" 2>/dev/null
		ct_dir=
	fi
}

# Why the suite cannot run here, or nothing.
ct_unsupported() {
	[ "$(id -u)" = 0 ] || { echo "needs root (mounts and systemd-nspawn)"; return; }
	command -v systemd-nspawn >/dev/null || { echo "systemd-nspawn not installed (package systemd-container)"; return; }
	command -v nsenter >/dev/null || { echo "nsenter not installed (package util-linux)"; return; }
	[ -x /lib/systemd/systemd ] || { echo "no systemd to boot (package systemd)"; return; }
	if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
		: # works under a systemd host too
	fi
}

# Boots the container and installs the build into it (unless CT_INSTALL=no).
# Extra arguments go to nspawn.
ct_boot() {
	local name="mpsrtest$$" i state
	ct_dir=$(mktemp -d /tmp/mpsr-ct.XXXXXX) || return 1
	mount -t tmpfs -o mode=0755,size=60% mpsr-ct "$ct_dir" || return 1
	mkdir "$ct_dir/upper" "$ct_dir/work" "$ct_dir/root"
	mount -t overlay overlay \
		-o "lowerdir=/,upperdir=$ct_dir/upper,workdir=$ct_dir/work" "$ct_dir/root" || return 1

	# The container's own copy of mpsr, installed the way users install it;
	# CT_INSTALL=no boots without it (the package test installs the .deb).
	if [ "${CT_INSTALL:-yes}" != no ]; then
		meson install -C "$MPSR_BUILD" --destdir "$ct_dir/root" --no-rebuild --quiet >/dev/null || return 1
		# The tests' load generator and helpers; not part of what users install.
		# Copied in: the container's /tmp (where a checkout may live) is its own.
		install -m 0755 "$MPSR_BUILD/bench/mpsr-load" "$ct_dir/root/usr/local/bin/mpsr-load" || return 1
		install -D -m 0755 "$ct_lib_dir/many-conns" "$ct_dir/root$CT_TOOLS/many-conns" || return 1
	fi
	# A fresh machine id, so the container's journal is its own.
	: >"$ct_dir/root/etc/machine-id"
	# Services of the host image that have nothing to do with this test.
	for u in postgresql.service postgresql@.service cron.service ssh.service docker.service \
		containerd.service exim4.service nginx.service redis-server.service memcached.service; do
		ln -sf /dev/null "$ct_dir/root/etc/systemd/system/$u"
	done

	systemd-nspawn -q -D "$ct_dir/root" -b -M "$name" --register=no --keep-unit \
		--console=passive --private-network "$@" >"$ct_dir/console.log" 2>&1 &
	ct_nspawn=$!

	for i in $(seq 300); do
		CT_PID=$(pgrep -P "$ct_nspawn" -x systemd | head -n1)
		[ -n "$CT_PID" ] && break
		kill -0 "$ct_nspawn" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$CT_PID" ]; then
		ct_log "container did not start:"; sed 's/^/#   /' "$ct_dir/console.log" >&2
		return 1
	fi
	for i in $(seq 600); do
		state=$(ct systemctl is-system-running 2>/dev/null) || true
		case "$state" in running|degraded) break ;; esac
		sleep 0.1
	done
	case "$state" in
	running|degraded) ;;
	*) ct_log "container did not finish booting ($state)"; return 1 ;;
	esac
	ct systemctl daemon-reload
}

# Waits until `journalctl ARGS` prints at least N lines (or T seconds pass);
# prints the count it saw last.
ct_wait_count() {
	local want=$1 secs=$2 n=0 i
	shift 2
	for i in $(seq $((secs * 5))); do
		n=$(ct journalctl -q --no-pager -o cat "$@" 2>/dev/null | wc -l)
		[ "$n" -ge "$want" ] && break
		sleep 0.2
	done
	echo "$n"
}

# Counts mpsr-load's messages ("TAG p=<producer> s=<seq> ...") that mpsr stored,
# against P producers x M messages. Prints "stored=N missing=N duplicated=N"
# and succeeds only if every message is there exactly once.
ct_check_ids() {
	local tag=$1 producers=$2 messages=$3
	ct journalctl -q --no-pager -o cat -u mpsr MPSR_TRANSPORT="${4:-stream}" |
		awk -v tag="$tag" -v P="$producers" -v M="$messages" '
		$1 == tag {
			p = substr($2, 3); s = substr($3, 3)
			if (p !~ /^[0-9]+$/ || s !~ /^[0-9]+$/) { bad++; next }
			p += 0; s += 0
			if (p >= P || s >= M) { bad++; next }
			if (seen[p, s]++) dup++
			stored++
		}
		END {
			missing = P * M - (stored - dup)
			printf "stored=%d missing=%d duplicated=%d malformed=%d\n", stored, missing, dup, bad
			exit !(missing == 0 && dup == 0 && bad == 0)
		}'
}

# Waits (up to SECS) until TAG's messages are all there, then reports like ct_check_ids.
ct_wait_ids() {
	local tag=$1 producers=$2 messages=$3 secs=${4:-60} transport=${5:-stream} i out
	for i in $(seq $((secs * 2))); do
		out=$(ct_check_ids "$tag" "$producers" "$messages" "$transport") && break
		case "$out" in *duplicated=0*) ;; *) break ;; esac
		sleep 0.5
	done
	echo "$out"
	case "$out" in *" missing=0 duplicated=0 malformed=0") return 0 ;; esac
	return 1
}
