/* SPDX-License-Identifier: MIT */
/* The fd store's stand-in for the holder's tests (standin.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdstore.h"
#include "restore.h"
#include "standin.h"

struct manager M = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool same_fd(int a, int b) {
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

void keep(const char *name, int fd) {
	for (unsigned i = 0; i < M.n; i++)
		if (same_fd(M.fd[i].fd, fd)) {
			close(fd);
			return;
		}
	if (M.n >= M.max) {
		M.refused++;
		close(fd);
		return;
	}
	snprintf(M.fd[M.n].name, sizeof(M.fd[M.n].name), "%s", name);
	M.fd[M.n++].fd = fd;
}

static void drop(const char *name) {
	for (unsigned i = 0; i < M.n;)
		if (strcmp(M.fd[i].name, name) == 0) {
			close(M.fd[i].fd);
			M.fd[i] = M.fd[--M.n];
		} else {
			i++;
		}
}

/* One notify message; false when none is queued. Called with the lock held. */
static bool handle_one(void) {
	char text[1024], name[256] = "";
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(16 * sizeof(int))];
	} control;
	struct iovec iov = {.iov_base = text, .iov_len = sizeof(text) - 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	ssize_t n = recvmsg(M.sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int fds[16], nfds = 0;

	if (n < 0)
		return false;
	text[n] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
				memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	const char *p = strstr(text, "FDNAME=");
	if (p)
		sscanf(p, "FDNAME=%255[^\n]", name);
	if (strstr(text, "FDSTORE=1"))
		for (int i = 0; i < nfds; i++)
			keep(name, fds[i]);
	else
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	if (strstr(text, "FDSTOREREMOVE=1"))
		drop(name);
	return true;
}

/* libsystemd's sends block once 10 messages wait: keep reading. */
static void *manager_run(void *arg) {
	(void)arg;
	for (;;) {
		struct pollfd p = {.fd = M.sock, .events = POLLIN};
		poll(&p, 1, 10);
		pthread_mutex_lock(&M.lock);
		bool stop = M.stop;
		while (handle_one())
			;
		pthread_mutex_unlock(&M.lock);
		if (stop)
			return NULL;
	}
}

/* Everything sent so far is handled: sd_notify() returns once it is queued. */
void manager_sync(void) {
	pthread_mutex_lock(&M.lock);
	while (handle_one())
		;
	pthread_mutex_unlock(&M.lock);
}

void manager_start(void) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct rlimit rl;

	/* As mpsrd does: thousands of fds. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);

	snprintf(M.path, sizeof(M.path), "/tmp/test-fdstore-%d.sock", (int)getpid());
	unlink(M.path);
	strcpy(sa.sun_path, M.path);
	M.sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(M.sock, 0);
	cr_assert_eq(bind(M.sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", M.path, 1);
	M.stop = false;
	M.n = M.refused = 0;
	M.max = MAX_STORED;
	cr_assert_eq(pthread_create(&M.thread, NULL, manager_run, NULL), 0);
}

void manager_stop(void) {
	pthread_mutex_lock(&M.lock);
	M.stop = true;
	pthread_mutex_unlock(&M.lock);
	pthread_join(M.thread, NULL);
	for (unsigned i = 0; i < M.n; i++)
		close(M.fd[i].fd);
	close(M.sock);
	unlink(M.path);
	unsetenv("NOTIFY_SOCKET");
}

int stored_fd(const char *suffix) {
	size_t k = strlen(suffix);

	manager_sync();
	for (unsigned i = 0; i < M.n; i++) {
		size_t l = strlen(M.fd[i].name);
		if (l >= k && strcmp(M.fd[i].name + l - k, suffix) == 0)
			return M.fd[i].fd;
	}
	return -1;
}

/* What a new mpsrd gets: copies of what the manager keeps, under their names. */
struct holder *restart(int (*adopt)(int fd, void *data), void *data, int *adopted) {
	struct holder *fs;

	manager_sync();
	struct restore *rs;

	cr_assert_eq(holder_new(true, 0, 0, &fs), 0);
	cr_assert_eq(restore_new(&rs), 0);
	for (unsigned i = 0; i < M.n; i++) {
		cr_assert(fdstore_is_kept(M.fd[i].name));
		int fd = fcntl(M.fd[i].fd, F_DUPFD_CLOEXEC, 3);
		cr_assert_geq(fd, 0);
		cr_assert_eq(restore_take(rs, fs, fd, M.fd[i].name), 0);
	}
	*adopted = restore_run(rs, fs, adopt, data);
	restore_free(rs);
	manager_sync();
	return fs;
}

int adopt_record(int fd, void *data) {
	struct got *g = data;
	struct stat st;

	cr_assert_lt(g->n, g->max);
	cr_assert_eq(fstat(fd, &st), 0);
	g->fd[g->n] = fd;
	g->ino[g->n++] = st.st_ino;
	return 0;
}

struct got got_new(unsigned max) {
	struct got g = {
		.fd = calloc(max, sizeof(int)), .ino = calloc(max, sizeof(ino_t)), .max = max};
	cr_assert(g.fd && g.ino);
	return g;
}

void got_close(struct got *g) {
	for (unsigned i = 0; i < g->n; i++)
		close(g->fd[i]);
	free(g->fd);
	free(g->ino);
}

ino_t inode(int fd) {
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

int find_ino(const struct got *g, ino_t ino) {
	int found = -1;
	for (unsigned i = 0; i < g->n; i++)
		if (g->ino[i] == ino) {
			cr_assert_eq(found, -1, "inode %lu adopted twice", (unsigned long)ino);
			found = (int)i;
		}
	return found;
}

void send_fds(int sock, const int *fds, unsigned n) {
	char byte = 0;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(MSG_FDS * sizeof(int))];
	} control;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = CMSG_SPACE(n * sizeof(int))};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	cr_assert_eq(sendmsg(sock, &msg, MSG_DONTWAIT), 1);
}

int adopt_none(int fd, void *data) {
	(void)fd;
	(void)data;
	cr_assert_fail("nothing to adopt");
	return -1;
}

/* Every producer still connected: none sees the end (its peer is kept somewhere). */
void assert_connected(const int *peer, int n) {
	for (int i = 0; i < n; i++) {
		char c;
		errno = 0;
		cr_assert_eq(recv(peer[i], &c, 1, MSG_DONTWAIT), -1, "producer %d sees the end", i);
		cr_assert_eq(errno, EAGAIN);
	}
}

/* n connections kept by an mpsrd that is gone now: in a holder of the manager, nowhere else. */
void kept_by_a_gone_mpsrd(int *peer, ino_t *ino, int n) {
	int adopted;
	struct holder *fs = restart(adopt_none, NULL, &adopted);

	int *conn = calloc(n, sizeof(int));
	cr_assert_not_null(conn);
	for (int i = 0; i < n; i++) {
		int sv[2];
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		conn[i] = sv[0];
		peer[i] = sv[1];
		ino[i] = inode(sv[0]);
		holder_add(fs, sv[0]);
		/* Accept rounds of 64, as the listeners do. */
		if (i % 64 == 63)
			cr_assert_eq(holder_flush(fs), 0);
	}
	cr_assert_eq(holder_flush(fs), 0);
	holder_free(fs);
	for (int i = 0; i < n; i++)
		close(conn[i]);
	free(conn);
	manager_sync();
}

/* The next start takes back each of them once. */
void all_come_back(const ino_t *ino, int n) {
	struct got g = got_new(n);
	int adopted;
	struct holder *fs = restart(adopt_record, &g, &adopted);

	cr_assert_eq(adopted, n, "%d of %d connections came back", adopted, n);
	for (int i = 0; i < n; i++)
		cr_assert_geq(find_ino(&g, ino[i]), 0, "connection %d lost", i);
	holder_free(fs);
	got_close(&g);
}
