/* SPDX-License-Identifier: MIT */
/*
 * The holder against a stand-in for the service manager's fd store: a
 * datagram socket at NOTIFY_SOCKET that keeps what FDSTORE=1 gives it and
 * drops what FDSTOREREMOVE=1 names, as systemd does. A "restart" frees one
 * fdstore and gives a new one copies of what the stand-in keeps.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdstore.h"
#include "holder.h"
#include "restore.h"

#define MAX_STORED 64
#define MSG_FDS    253

struct stored {
	char name[256];
	int fd;
};

static struct manager {
	int sock;
	char path[108];
	pthread_t thread;
	pthread_mutex_t lock;
	bool stop;
	struct stored fd[MAX_STORED];
	unsigned n;
	unsigned max;     /* FileDescriptorStoreMax= (at most MAX_STORED) */
	unsigned refused; /* FDSTORE=1 beyond max */
} M = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool same_fd(int a, int b) {
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static void keep(const char *name, int fd) {
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
static void manager_sync(void) {
	pthread_mutex_lock(&M.lock);
	while (handle_one())
		;
	pthread_mutex_unlock(&M.lock);
}

static void manager_start(void) {
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

static void manager_stop(void) {
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

TestSuite(fdstore, .init = manager_start, .fini = manager_stop, .timeout = 120);

static int stored_fd(const char *suffix) {
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
static struct holder *restart(int (*adopt)(int fd, void *data), void *data, int *adopted) {
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

/* The connections a restart served, by inode. */
struct got {
	int *fd;
	ino_t *ino;
	unsigned n, max;
};

static int adopt_record(int fd, void *data) {
	struct got *g = data;
	struct stat st;

	cr_assert_lt(g->n, g->max);
	cr_assert_eq(fstat(fd, &st), 0);
	g->fd[g->n] = fd;
	g->ino[g->n++] = st.st_ino;
	return 0;
}

static struct got got_new(unsigned max) {
	struct got g = {
		.fd = calloc(max, sizeof(int)), .ino = calloc(max, sizeof(ino_t)), .max = max};
	cr_assert(g.fd && g.ino);
	return g;
}

static void got_close(struct got *g) {
	for (unsigned i = 0; i < g->n; i++)
		close(g->fd[i]);
	free(g->fd);
	free(g->ino);
}

static ino_t inode(int fd) {
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

static int find_ino(const struct got *g, ino_t ino) {
	int found = -1;
	for (unsigned i = 0; i < g->n; i++)
		if (g->ino[i] == ino) {
			cr_assert_eq(found, -1, "inode %lu adopted twice", (unsigned long)ino);
			found = (int)i;
		}
	return found;
}

static void send_fds(int sock, const int *fds, unsigned n) {
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

static int adopt_none(int fd, void *data) {
	(void)fd;
	(void)data;
	cr_assert_fail("nothing to adopt");
	return -1;
}

#define N_MANY 5000

/* 5,000 connections through a restart: each one once, its bytes intact. */
Test(fdstore, round_trip_many) {
	static int conn[N_MANY], peer[N_MANY];
	struct holder *fs;
	int adopted;

	fs = restart(adopt_none, NULL, &adopted);
	cr_assert_eq(adopted, 0);
	cr_assert_eq(M.n, 2, "a new holder, both ends: %u stored", M.n);
	for (int i = 0; i < N_MANY; i++) {
		int sv[2];
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		conn[i] = sv[0];
		peer[i] = sv[1];
		holder_add(fs, conn[i]);
		/* Accept rounds of 64, as the listeners do. */
		if (i % 64 == 63)
			cr_assert_eq(holder_flush(fs), 0);
	}
	cr_assert_eq(holder_flush(fs), 0);
	manager_sync();
	cr_assert_eq(M.n, 2, "the manager keeps %u fds for %d connections", M.n, N_MANY);
	struct holder_stats st;
	holder_stats(fs, &st);
	cr_assert_eq(st.live, N_MANY);
	cr_assert_eq(st.held, N_MANY);
	for (int i = 0; i < N_MANY; i++) {
		char line[16];
		int len = snprintf(line, sizeof(line), "%d\n", i);
		cr_assert_eq(write(peer[i], line, len), len);
	}

	/* mpsrd goes away: its fds close, the holder keeps the connections. */
	holder_free(fs);
	for (int i = 0; i < N_MANY; i++)
		close(conn[i]);

	struct got g = got_new(N_MANY);
	fs = restart(adopt_record, &g, &adopted);
	cr_assert_eq(adopted, N_MANY);
	cr_assert_eq(M.n, 2, "the old holder is gone from the store: %u stored", M.n);
	cr_assert_null(strstr(M.fd[0].name, "holder-0-"), "a new generation: %s", M.fd[0].name);
	static bool seen[N_MANY];
	for (unsigned k = 0; k < g.n; k++) {
		char line[16] = "";
		int i = -1;
		cr_assert_gt(read(g.fd[k], line, sizeof(line) - 1), 0);
		cr_assert_eq(sscanf(line, "%d", &i), 1);
		cr_assert(i >= 0 && i < N_MANY && !seen[i], "connection %d twice or unknown", i);
		seen[i] = true;
	}
	holder_free(fs);
	got_close(&g);
	for (int i = 0; i < N_MANY; i++)
		close(peer[i]);
}

/*
 * A compaction cut short by a crash leaves two holders that share
 * connections, and an upgrade leaves connections kept one by one (c-*):
 * each one is served once, and only the new holder stays in the store.
 */
Test(fdstore, dedupe_by_inode) {
	int conn[300], peer[300], old[2], newer[2];

	for (int i = 0; i < 300; i++) {
		int sv[2];
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		conn[i] = sv[0];
		peer[i] = sv[1];
	}
	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, old), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, newer), 0);
	/* Old: 0..299 in two messages; newer: 0..199, half moved. */
	send_fds(old[0], conn, 253);
	send_fds(old[0], conn + 253, 47);
	send_fds(newer[0], conn, 200);
	pthread_mutex_lock(&M.lock);
	keep("holder-7-tx", old[0]);
	keep("holder-7-rx", old[1]);
	keep("holder-8-tx", newer[0]);
	keep("holder-8-rx", newer[1]);
	/* An upgrade: connection 5 kept on its own too, and one only that way. */
	keep("c-5", fcntl(conn[5], F_DUPFD_CLOEXEC, 3));
	int single[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, single), 0);
	keep("c-single", single[0]);
	pthread_mutex_unlock(&M.lock);
	ino_t single_ino = inode(single[0]);
	ino_t ino[300];
	for (int i = 0; i < 300; i++) {
		ino[i] = inode(conn[i]);
		close(conn[i]);
	}

	struct got g = got_new(400);
	int adopted;
	struct holder *fs = restart(adopt_record, &g, &adopted);
	cr_assert_eq(adopted, 301);
	cr_assert_eq(g.n, 301);
	for (int i = 0; i < 300; i++)
		cr_assert_geq(find_ino(&g, ino[i]), 0, "connection %d not adopted", i);
	cr_assert_geq(find_ino(&g, single_ino), 0, "the single connection not adopted");
	cr_assert_eq(M.n, 2, "%u stored, want the new holder only", M.n);
	for (unsigned i = 0; i < M.n; i++)
		cr_assert(strncmp(M.fd[i].name, "holder-9-", 9) == 0, "stored: %s", M.fd[i].name);

	/* And they are all in the new holder: one more restart finds them again. */
	holder_free(fs);
	struct got g2 = got_new(400);
	got_close(&g);
	fs = restart(adopt_record, &g2, &adopted);
	cr_assert_eq(adopted, 301);
	holder_free(fs);
	got_close(&g2);
	for (int i = 0; i < 300; i++)
		close(peer[i]);
	close(single[1]);
}

/*
 * Closed connections are dropped once they outnumber the live ones (and are
 * 512): then the holder has exactly the live ones, and the closed ones'
 * producers see the end at once, not at the compaction.
 */
Test(fdstore, compaction_keeps_the_live) {
	enum { N = 1000, CLOSE = 512 };
	static int conn[N], peer[N];
	struct holder_stats st;
	int adopted;
	struct holder *fs = restart(adopt_none, NULL, &adopted);

	for (int i = 0; i < N; i++) {
		int sv[2];
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv),
			     0);
		conn[i] = sv[0];
		peer[i] = sv[1];
		holder_add(fs, conn[i]);
	}
	cr_assert_eq(holder_flush(fs), 0);
	/* Every other one first, then odd ones. */
	bool dead[N] = {false};
	for (int closed = 0; closed < CLOSE; closed++) {
		int i = closed < N / 2 ? 2 * closed : 2 * (closed - N / 2) + 1;
		holder_stats(fs, &st);
		cr_assert_eq(st.compactions, 0, "compacted with %d closed of %d", closed, N);
		holder_remove(fs, conn[i]);
		close(conn[i]);
		dead[i] = true;
		char c;
		cr_assert_eq(read(peer[i], &c, 1), 0, "producer %d does not see the end", i);
	}
	holder_stats(fs, &st);
	cr_assert_eq(st.compactions, 1);
	cr_assert_eq(st.live, N - CLOSE);
	cr_assert_eq(st.held, N - CLOSE);
	manager_sync();
	cr_assert_eq(M.n, 2);

	holder_free(fs);
	ino_t ino[N];
	for (int i = 0; i < N; i++)
		if (!dead[i]) {
			ino[i] = inode(conn[i]);
			close(conn[i]);
		}
	struct got g = got_new(N);
	fs = restart(adopt_record, &g, &adopted);
	cr_assert_eq(adopted, N - CLOSE);
	for (int i = 0; i < N; i++)
		if (!dead[i])
			cr_assert_geq(find_ino(&g, ino[i]), 0, "live connection %d lost", i);
	holder_free(fs);
	got_close(&g);
	for (int i = 0; i < N; i++)
		close(peer[i]);
}

/* A full holder (its queue; the kernel says EAGAIN) is compacted, not given up. */
Test(fdstore, full_holder_compacts) {
	enum { N = 2000 };
	static int conn[N];
	struct holder_stats st;
	int adopted, size = 4096;
	struct holder *fs = restart(adopt_none, NULL, &adopted);

	/* Room for a few dozen messages only. */
	int tx = stored_fd("-tx");
	cr_assert_geq(tx, 0);
	cr_assert_eq(setsockopt(tx, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
	for (int i = 0; i < N; i++) {
		conn[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_geq(conn[i], 0);
		holder_add(fs, conn[i]);
		/* One accept each: one message each. */
		cr_assert_eq(holder_flush(fs), 0, "connection %d", i);
	}
	holder_stats(fs, &st);
	cr_assert_geq(st.compactions, 1, "%u compactions", st.compactions);
	cr_assert_eq(st.live, N);
	cr_assert_eq(st.held, N);
	manager_sync();
	cr_assert_eq(M.n, 2);

	holder_free(fs);
	ino_t ino[N];
	for (int i = 0; i < N; i++) {
		ino[i] = inode(conn[i]);
		close(conn[i]);
	}
	struct got g = got_new(N);
	fs = restart(adopt_record, &g, &adopted);
	cr_assert_eq(adopted, N);
	for (int i = 0; i < N; i++)
		cr_assert_geq(find_ino(&g, ino[i]), 0, "connection %d lost", i);
	holder_free(fs);
	got_close(&g);
}

/* Without a service manager the holder still works; nothing else is kept. */
Test(fdstore, without_manager) {
	struct holder *fs;
	int sv[2];

	unsetenv("NOTIFY_SOCKET");
	struct restore *rs;

	cr_assert_eq(holder_new(true, 0, 0, &fs), 0);
	cr_assert_eq(restore_new(&rs), 0);
	cr_assert_eq(restore_run(rs, fs, adopt_none, NULL), 0);
	restore_free(rs);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	holder_add(fs, sv[0]);
	cr_assert_eq(holder_flush(fs), 0);
	struct holder_stats st;
	holder_stats(fs, &st);
	cr_assert_eq(st.held, 1);
	holder_remove(fs, sv[0]);
	holder_free(fs);
	close(sv[0]);
	close(sv[1]);
	manager_sync();
	cr_assert_eq(M.n, 0);
}

/* Every producer still connected: none sees the end (its peer is kept somewhere). */
static void assert_connected(const int *peer, int n) {
	for (int i = 0; i < n; i++) {
		char c;
		errno = 0;
		cr_assert_eq(recv(peer[i], &c, 1, MSG_DONTWAIT), -1, "producer %d sees the end", i);
		cr_assert_eq(errno, EAGAIN);
	}
}

/* n connections kept by an mpsrd that is gone now: in a holder of the manager, nowhere else. */
static void kept_by_a_gone_mpsrd(int *peer, ino_t *ino, int n) {
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
static void all_come_back(const ino_t *ino, int n) {
	struct got g = got_new(n);
	int adopted;
	struct holder *fs = restart(adopt_record, &g, &adopted);

	cr_assert_eq(adopted, n, "%d of %d connections came back", adopted, n);
	for (int i = 0; i < n; i++)
		cr_assert_geq(find_ino(&g, ino[i]), 0, "connection %d lost", i);
	holder_free(fs);
	got_close(&g);
}

/*
 * Out of fds while taking connections back (MSG_CTRUNC): the kernel closes
 * what did not fit of a message it takes. mpsrd stops there and leaves the
 * old holder whole: no producer is hung up, and the next start (with more
 * fds) takes every one back.
 */
Test(fdstore, out_of_fds_keeps_the_holder) {
	enum { N = 100, FREE = 25 };
	int peer[N];
	ino_t ino[N];
	struct rlimit saved, low;

	kept_by_a_gone_mpsrd(peer, ino, N);
	/* FREE fds free: every one below the highest open fd is taken (the holes by /dev/null). */
	int top = 0, filler[N], n_filler = 0;
	for (int fd = 3; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			top = fd;
	for (int fd; n_filler < N && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < top;)
		filler[n_filler++] = fd;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)top + 1 + FREE;
	struct got g = got_new(N);
	int adopted;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	struct holder *fs = restart(adopt_record, &g, &adopted);
	holder_free(fs);
	got_close(&g);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	for (int i = 0; i < n_filler; i++)
		close(filler[i]);
	cr_assert_lt(adopted, N, "all %d adopted with %d free fds: the case proves nothing", N,
		     FREE);
	assert_connected(peer, N);

	all_come_back(ino, N);
	for (int i = 0; i < N; i++)
		close(peer[i]);
}

/* The pipe's read end: a byte from the child, or -1 after ms. */
static int read_byte(int fd, int ms) {
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&p, 1, ms) <= 0 || read(fd, &c, 1) != 1)
		return -1;
	return c;
}

static int adopt_keep(int fd, void *data) {
	(void)fd;
	(void)data;
	return 0;
}

/*
 * An mpsrd in a child process takes the kept connections back from copies of
 * what the manager keeps; it says 'b' before and 'e' after. Returns its pid.
 */
static pid_t restore_in_child(int *pipe_rd) {
	int p[2], n = (int)M.n, fds[MAX_STORED];
	char names[MAX_STORED][256];

	manager_sync();
	pthread_mutex_lock(&M.lock);
	for (int i = 0; i < n; i++) {
		fds[i] = fcntl(M.fd[i].fd, F_DUPFD_CLOEXEC, 3);
		snprintf(names[i], sizeof(names[i]), "%s", M.fd[i].name);
	}
	pthread_mutex_unlock(&M.lock);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct holder *h;
		struct restore *rs;
		if (holder_new(true, 0, 0, &h) < 0 || restore_new(&rs) < 0)
			_exit(1);
		for (int i = 0; i < n; i++)
			if (restore_take(rs, h, fds[i], names[i]) < 0)
				_exit(1);
		(void)!write(p[1], "b", 1);
		restore_run(rs, h, adopt_keep, NULL);
		(void)!write(p[1], "e", 1);
		pause();
		_exit(0);
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(p[1]);
	*pipe_rd = p[0];
	return pid;
}

/*
 * kill -9 at any moment of taking connections back: every connection is in
 * a holder of the fd store at every moment, and the next start takes each
 * back once. Kills land at random moments of the restore; the case goes on
 * until enough landed inside one (or time is up).
 */
Test(fdstore, kill_while_restoring) {
	enum { N = 3000, WANT_INSIDE = 30 };
	static int peer[N];
	static ino_t ino[N];
	struct timespec t0, t1, start;
	int rd, inside = 0, rounds = 0;

	kept_by_a_gone_mpsrd(peer, ino, N);
	/* How long a restore takes here, now. */
	pid_t pid = restore_in_child(&rd);
	cr_assert_eq(read_byte(rd, 10000), 'b');
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(read_byte(rd, 10000), 'e');
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long span_us = (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000 + 1;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(rd);
	all_come_back(ino, N);
	srand((unsigned)getpid());
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (inside >= WANT_INSIDE || t1.tv_sec - start.tv_sec >= 20)
			break;
		pid = restore_in_child(&rd);
		cr_assert_eq(read_byte(rd, 10000), 'b');
		usleep((useconds_t)(rand() % span_us));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		inside += read_byte(rd, 0) != 'e';
		close(rd);
		rounds++;
		assert_connected(peer, N);
		all_come_back(ino, N);
	}
	cr_log_info("restore of %d took %ld us; %d kills, %d inside a restore", N, span_us, rounds,
		    inside);
	cr_assert_geq(inside, 5, "only %d of %d kills landed inside a restore", inside, rounds);
	for (int i = 0; i < N; i++)
		close(peer[i]);
}

/*
 * A manager that does not keep the holder (FileDescriptorStoreMax=0, or its
 * store full): mpsrd notices (its next send into the holder is refused) and
 * says so; holder_check() tells a restart it is a stop.
 */
Test(fdstore, refused_store_is_noticed) {
	int adopted, sv[2];
	struct holder *fs = restart(adopt_none, NULL, &adopted);

	cr_assert_eq(holder_check(fs), 0, "a manager that keeps the holder");
	holder_free(fs);
	manager_sync();
	M.max = 0; /* FileDescriptorStoreMax=0 */
	fs = restart(adopt_none, NULL, &adopted);
	cr_assert_eq(M.n, 0);
	cr_assert_gt(M.refused, 0);
	cr_assert_eq(holder_check(fs), -ECONNREFUSED);
	/* Connections are served still, only not kept. */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	holder_add(fs, sv[0]);
	cr_assert_eq(holder_flush(fs), 0);
	holder_remove(fs, sv[0]);
	holder_free(fs);
	close(sv[0]);
	close(sv[1]);
	/* A store with room for one more fd only: the new holder's receiving end is refused. */
	int old[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, old), 0);
	M.max = 2;
	pthread_mutex_lock(&M.lock);
	keep("holder-0-tx", old[0]);
	pthread_mutex_unlock(&M.lock);
	fs = restart(adopt_none, NULL, &adopted);
	cr_assert_eq(holder_check(fs), -ECONNREFUSED, "the store was full");
	holder_free(fs);
	close(old[1]);
}

/*
 * The holder within its limits (holder_new()): with as many connections as
 * inflight.h lets it accept, producers leaving and others coming all the
 * time, what it has in flight (held, and retired holders the manager has not
 * closed yet) never passes the peak, nor what it holds the steady limit; and
 * every compaction succeeds.
 */
Test(fdstore, within_its_limits) {
	enum { PEAK = 4000, STEADY = 2000 };
	/* As inflight.c accepts: min((PEAK - 253) * 4/9, (STEADY - 253) * 4/5). */
	enum { N = (STEADY - 253) * 4 / 5 };
	static int conn[N];
	struct holder_stats st;
	struct holder *fs;
	struct restore *rs;

	cr_assert_eq(holder_new(true, PEAK, STEADY, &fs), 0);
	cr_assert_eq(restore_new(&rs), 0);
	cr_assert_eq(restore_run(rs, fs, adopt_none, NULL), 0);
	restore_free(rs);
	unsigned most = 0;
	for (int k = 0; k < 4 * N; k++) {
		int i = k % N;
		if (k >= N) {
			holder_remove(fs, conn[i]);
			close(conn[i]);
		}
		conn[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_geq(conn[i], 0);
		holder_add(fs, conn[i]);
		if (k % 16 == 15)
			cr_assert_eq(holder_flush(fs), 0);
		holder_stats(fs, &st);
		unsigned now = st.held + st.retired;
		cr_assert_leq(now, PEAK, "%u in flight at step %d", now, k);
		cr_assert_leq(st.held, STEADY, "%u held at step %d", st.held, k);
		cr_assert_eq(st.unkept, 0);
		most = now > most ? now : most;
	}
	holder_stats(fs, &st);
	cr_assert_gt(st.compactions, 0);
	cr_log_info("%d connections, %u compactions, at most %u in flight", N, st.compactions,
		    most);
	holder_free(fs);
	for (int i = 0; i < N; i++)
		close(conn[i]);
}
