/* SPDX-License-Identifier: MIT */
/*
 * Taking kept connections back at start (restore.h): every one once, none
 * lost out of fds or to a kill -9 inside; against a stand-in for the service
 * manager's fd store (standin.h).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fdstore.h"
#include "holder.h"
#include "restore.h"
#include "standin.h"

TestSuite(restore, .init = manager_start, .fini = manager_stop, .timeout = 120);

#define N_MANY 5000

/* 5,000 connections through a restart: each one once, its bytes intact. */
Test(restore, round_trip_many) {
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
Test(restore, dedupe_by_inode) {
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
 * Out of fds while taking connections back (MSG_CTRUNC): the kernel closes
 * what did not fit of a message it takes. mpsrd stops there and leaves the
 * old holder whole: no producer is hung up, and the next start (with more
 * fds) takes every one back.
 */
Test(restore, out_of_fds_keeps_the_holder) {
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
Test(restore, kill_while_restoring) {
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
