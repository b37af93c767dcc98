/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "origin.h"
#include "peer.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* PIDFD_GET_INFO's first version (linux/pidfd.h, 6.13), for headers that predate it. */
struct peer_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define PEER_PIDFD_GET_INFO      _IOWR(0xFF, 11, struct peer_pidfd_info)
#define PEER_PIDFD_INFO_CGROUPID (1ULL << 2)
#define PEER_PIDFD_INFO_EXIT     (1ULL << 3) /* a reaped process answers only if this is asked */

#define CACHE_SLOTS 32
#define WALK_DEPTH  8

struct peer_cache {
	struct {
		uint64_t id;
		struct unit_key key;
	} slots[CACHE_SLOTS];
	unsigned next;
};

int peer_cache_new(struct peer_cache **ret) {
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void peer_cache_free(struct peer_cache *c) {
	free(c);
}

/* Reads /proc/PID/{status,cgroup}: the unit, if the process there has uid. */
static int read_proc(pid_t pid, uid_t uid, struct unit_key *k) {
	char path[64], buf[4096];
	_cleanup_(closep) int dir = -1;

	if (pid <= 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	/* The effective uid, as SO_PEERCRED and SCM_CREDENTIALS give it: the directory's owner. */
	struct stat st;
	if (fstat(dir, &st) < 0)
		return -errno;
	int fd = openat(dir, "cgroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	/* A process that is not dumpable shows root as owner; its uid cannot be checked so. */
	if (st.st_uid != uid && st.st_uid != 0)
		return -ESRCH;
	return unit_key_from_proc(buf, (size_t)n, k);
}

/* Whether the process is still there (a zombie keeps its pid too); EPERM: another uid's, there. */
static bool pidfd_alive(int pidfd) {
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 || errno == EPERM;
}

/* Finds the directory under dir whose inode is id; its path goes to path. */
static bool walk(int dir, uint64_t id, char *path, size_t size, size_t used, int depth) {
	DIR *d = fdopendir(dir);
	struct dirent *e;
	bool found = false;

	if (!d) {
		close(dir);
		return false;
	}
	while (!found && (e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		int n = snprintf(path + used, size - used, "/%s", e->d_name);
		if (n < 0 || (size_t)n >= size - used)
			continue;
		if (e->d_ino == id)
			return closedir(d), true;
		if (depth > 0) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub >= 0)
				found = walk(sub, id, path, size, used + (size_t)n, depth - 1);
		}
	}
	closedir(d);
	return found;
}

/* The cgroup v2 hierarchy: /sys/fs/cgroup, or its "unified" directory on hybrid systems. */
static int open_cgroup2(void) {
	static const char *const paths[] = {PEER_CGROUP_ROOT, PEER_CGROUP_ROOT "/unified"};
	struct statfs sf;

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		int fd = open(paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && fstatfs(fd, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
			return fd;
		if (fd >= 0)
			close(fd);
	}
	return -ENOENT;
}

/* The unit whose cgroup has this id; remembered, as many producers share a few units. */
static int unit_of_cgroup(struct peer_cache *c, uint64_t id, struct unit_key *k) {
	char path[4096] = "";

	for (unsigned i = 0; i < CACHE_SLOTS; i++)
		if (c->slots[i].id == id) {
			*k = c->slots[i].key;
			return k->unit[0] ? 0 : -ENOENT;
		}
	/* Remembered when not found too: a burst of producers from a gone unit walks once. */
	int dir = open_cgroup2();
	int r = -ENOENT;
	if (dir >= 0 && walk(dir, id, path, sizeof(path), 0, WALK_DEPTH))
		r = unit_key_from_path(path, k);
	if (r < 0)
		memset(k, 0, sizeof(*k));
	c->slots[c->next].id = id;
	c->slots[c->next].key = *k;
	c->next = (c->next + 1) % CACHE_SLOTS;
	return r;
}

int peer_unit_of_socket(struct peer_cache *c, int fd, const struct ucred *cred, struct unit_key *k,
			char *comm, size_t comm_size) {
	int pidfd = -1;
	socklen_t len = sizeof(pidfd);

	/* Read before the check that the process still lives, which vouches for it too. */
	if (origin_read_comm(cred->pid, comm, comm_size) < 0)
		comm[0] = '\0';
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0 || pidfd < 0) {
		int r = read_proc(cred->pid, cred->uid, k);
		/* Still the same process: the pid is not free for another while it lives. */
		if (kill(cred->pid, 0) < 0 && errno == ESRCH)
			r = -ESRCH, comm[0] = '\0';
		return r < 0 ? -ENOENT : 0;
	}
	int r = read_proc(cred->pid, cred->uid, k);
	bool alive = pidfd_alive(pidfd);
	if (r >= 0 && alive) {
		close(pidfd);
		return 0;
	}
	/* It has exited (or its pid was taken since): the kernel kept its cgroup's id. */
	if (!alive)
		comm[0] = '\0';
	struct peer_pidfd_info info = {.mask = PEER_PIDFD_INFO_CGROUPID | PEER_PIDFD_INFO_EXIT};
	r = -ENOENT;
	if (ioctl(pidfd, PEER_PIDFD_GET_INFO, &info) == 0 && (info.mask & PEER_PIDFD_INFO_CGROUPID))
		r = unit_of_cgroup(c, info.cgroupid, k);
	close(pidfd);
	return r < 0 ? -ENOENT : 0;
}

int peer_unit_of_pid(const struct ucred *cred, struct unit_key *k) {
	return read_proc(cred->pid, cred->uid, k) < 0 ? -ENOENT : 0;
}
