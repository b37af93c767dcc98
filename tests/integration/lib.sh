# Shared by the integration suite and the demo: boots the host's own systemd in
# a throwaway container on a tmpfs overlay of /, installs the build into it, and
# tears everything down again. Source it; set MPSR_BUILD to the meson build dir.

ct_dir= ct_nspawn= CT_PID= ct_cgroups=
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

# For the cases (t-*.sh): end the case as failed, or as skipped (exit 77),
# with the reason.
fail() {
	echo "FAIL: $*"
	exit 1
}
skip() {
	echo "SKIP: $*"
	exit 77
}

# Stops the container and removes its mounts, whatever state ct_boot left
# them in; safe to call twice, from a trap, with or without `set -e`.
ct_teardown() {
	local - i
	set +e # every step is tried, whether the one before it worked or not
	if [ -n "$ct_nspawn" ]; then
		# SIGTERM asks nspawn to shut the container down cleanly; SIGKILL
		# if it takes longer than 10 s. Either may find it gone already.
		kill -TERM "$ct_nspawn" 2>/dev/null
		for i in $(seq 100); do
			kill -0 "$ct_nspawn" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$ct_nspawn" 2>/dev/null
		wait "$ct_nspawn" 2>/dev/null
	fi
	# Should the container's init outlive nspawn, killing it ends every
	# process in its namespace, those a test entered with nsenter too. (Only
	# if that pid is still a container's init: the number may be reused.)
	if [ -n "$CT_PID" ] && [ -e "/proc/$CT_PID/ns/pid" ] &&
		[ "$(readlink "/proc/$CT_PID/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]; then
		kill -KILL "$CT_PID" 2>/dev/null
	fi
	ct_nspawn= CT_PID=
	# What is left of the container's cgroups (empty now), innermost first.
	for i in $ct_cgroups; do
		[ -d "$i" ] && find "$i" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	ct_cgroups=
	if [ -n "$ct_dir" ]; then
		mountpoint -q "$ct_dir/root" && umount -l "$ct_dir/root"
		mountpoint -q "$ct_dir" && umount -l "$ct_dir"
		rmdir "$ct_dir" 2>/dev/null
		ct_dir=
	fi
	return 0
}

# A cgroup of its own for each container. nspawn --keep-unit puts the
# container below the cgroup it was started in: two containers started from
# the same one (two runs side by side) share their units' cgroups, so one's
# cpu.stat counts the other's journald too, and a unit's cgroup does not empty
# while the other container's same unit runs. ct_cgroup_paths NAME prints the
# directories to make (below this shell's cgroup, in the systemd v1 hierarchy
# and the unified one); ct_cgroup_enter makes them and moves the calling
# (sub)shell in. Where that fails, the container starts where it always did.
ct_cgroup_paths() {
	local line
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		line=$(sed -n 's/^0:://p' /proc/self/cgroup)
		echo "/sys/fs/cgroup${line%/}/mpsr-ct-$1"
		return
	fi
	line=$(sed -n 's/^[0-9]*:name=systemd://p' /proc/self/cgroup)
	[ -d /sys/fs/cgroup/systemd ] && [ -n "$line" ] && echo "/sys/fs/cgroup/systemd${line%/}/mpsr-ct-$1"
	line=$(sed -n 's/^0:://p' /proc/self/cgroup)
	[ -d /sys/fs/cgroup/unified ] && [ -n "$line" ] && echo "/sys/fs/cgroup/unified${line%/}/mpsr-ct-$1"
}
ct_cgroup_enter() {
	local d
	for d in $1; do
		mkdir -p "$d" 2>/dev/null && echo "$BASHPID" >"$d/cgroup.procs" 2>/dev/null
	done
	return 0
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
		install -D -m 0755 "$ct_lib_dir/unfinished-lines" "$ct_dir/root$CT_TOOLS/unfinished-lines" || return 1
		install -D -m 0755 "$ct_lib_dir/chaos-lines" "$ct_dir/root$CT_TOOLS/chaos-lines" || return 1
	fi
	# A fresh machine id, so the container's journal is its own.
	: >"$ct_dir/root/etc/machine-id"
	# Services of the host image that have nothing to do with this test.
	for u in postgresql.service postgresql@.service cron.service ssh.service docker.service \
		containerd.service exim4.service nginx.service redis-server.service memcached.service \
		syslog-ng.service rsyslog.service; do
		ln -sf /dev/null "$ct_dir/root/etc/systemd/system/$u"
	done

	ct_cgroups=$(ct_cgroup_paths "$name")
	(
		ct_cgroup_enter "$ct_cgroups"
		exec systemd-nspawn -q -D "$ct_dir/root" -b -M "$name" --register=no --keep-unit \
			--console=passive --private-network "$@" >"$ct_dir/console.log" 2>&1
	) &
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

# ct_wait_gone UNIT SECS: waits until UNIT is no longer active; 1 if it still
# is after SECS.
ct_wait_gone() {
	local i
	for i in $(seq $(($2 * 5))); do
		ct systemctl is-active -q "$1" || return 0
		sleep 0.2
	done
	return 1
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

# ct_wait_grep N SECS PATTERN MATCH...: like ct_wait_count, counting only the
# lines that match the grep PATTERN: for finding entries by their text.
ct_wait_grep() {
	local want=$1 secs=$2 pat=$3 n=0 i
	shift 3
	for i in $(seq $((secs * 5))); do
		n=$(ct journalctl -q --no-pager -o cat "$@" 2>/dev/null | grep -c -- "$pat")
		[ "$n" -ge "$want" ] && break
		sleep 0.2
	done
	echo "$n"
}

# ct_ids [--dups=N] [--sent=N0,N1,...] TAG P M MATCH...: counts the lines of
# mpsr-load or many-conns ("TAG p=<producer> s=<seq> ...", 100 bytes) among the
# entries of `journalctl MATCH...`, against P producers x M messages, with
# count-ids. With --sent (a load sized by time), producer p sent Np messages,
# and P and M are not used. Prints its summary and succeeds only if every
# message is there, none cut, and at most N (default 0) twice.
ct_ids() {
	local dups=0 sent=
	while :; do
		case "$1" in
		--dups=*) dups=${1#--dups=} ;;
		--sent=*) sent=${1#--sent=} ;;
		*) break ;;
		esac
		shift
	done
	local tag=$1 p=$2 m=$3
	shift 3
	ct journalctl -q --no-pager -o cat "$@" |
		"$ct_lib_dir/count-ids" -v tag="$tag" -v P="$p" -v M="$m" -v sent="$sent" -v size=100 -v maxdup="$dups"
}

# ct_wait_ids [--dups=N] [--sent=LIST] TAG P M SECS MATCH...: like ct_ids once
# all are there, or the count has not grown for 10 s, or SECS have passed and it
# did not grow in the last second. Waiting on growth rather than on the clock: a
# busy machine is slow, not lossy.
ct_wait_ids() {
	local opts=()
	while :; do
		case "$1" in --dups=* | --sent=*) opts+=("$1"); shift ;; *) break ;; esac
	done
	local tag=$1 p=$2 m=$3 secs=$4 out last= same=0 end rc=1
	shift 4
	end=$(($(date +%s) + secs))
	while :; do
		out=$(ct_ids "${opts[@]}" "$tag" "$p" "$m" "$@") && { rc=0; break; }
		[ "$out" = "$last" ] && same=$((same + 1)) || same=0
		last=$out
		[ $same -ge 10 ] || { [ $same -ge 1 ] && [ "$(date +%s)" -ge $end ]; } && break
		sleep 1
	done
	echo "$out"
	return $rc
}
