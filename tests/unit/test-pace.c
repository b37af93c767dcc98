/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pace.h"

/* A stand-in for journald's native socket: it takes nothing until the test reads. */
static int bind_at(const char *path) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	cr_assert_geq(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static unsigned take_all(int fd) {
	char c;
	unsigned n = 0;

	while (recv(fd, &c, sizeof(c), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

/* The stand-in for journald's socket, once a test binds it, and where it is (or would be). */
static char path[108];
static int journald = -1;

static void setup(void) {
	snprintf(path, sizeof(path), "/tmp/mpsr-test-pace.%d", (int)getpid());
}

static void teardown(void) {
	if (journald >= 0)
		close(journald);
	unlink(path);
}

TestSuite(pace, .init = setup, .fini = teardown);

static void msleep(unsigned ms) {
	struct timespec ts = {0, (long)ms * 1000000};
	nanosleep(&ts, NULL);
}

/* A writer that counts entries as fast as the pace lets it, until told to stop. */
struct writer {
	struct pace pace;
	pthread_t thread;
	_Atomic unsigned long entries;
	_Atomic bool stop, done;
};

static void *write_entries(void *data) {
	struct writer *w = data;

	while (!atomic_load(&w->stop)) {
		pace_entry(&w->pace);
		atomic_fetch_add(&w->entries, 1);
	}
	atomic_store(&w->done, true);
	return NULL;
}

/*
 * The writer's count once it has gone past after and then stopped moving for
 * 300 ms (at most 10 s each): on a busy machine its thread may not have run
 * at all yet, or not since the marks were taken.
 */
static unsigned long settled(struct writer *w, unsigned long after) {
	for (unsigned i = 0; atomic_load(&w->entries) <= after && i < 1000; i++)
		msleep(10);
	unsigned long last = atomic_load(&w->entries);
	for (unsigned still = 0, i = 0; still < 30 && i < 1000; i++) {
		msleep(10);
		unsigned long now = atomic_load(&w->entries);
		still = now == last ? still + 1 : 0;
		last = now;
	}
	return last;
}

static void stop_writer(struct writer *w, int sink) {
	atomic_store(&w->stop, true);
	while (!atomic_load(&w->done)) { /* it may wait in a mark: take them */
		take_all(sink);
		msleep(1);
	}
	pthread_join(w->thread, NULL);
	pace_done(&w->pace);
}

/*
 * While journald takes nothing, the writer stops after a few marks' worth of
 * entries instead of filling journald's whole queue; when journald takes the
 * marks, it goes on.
 */
Test(pace, journalds_queue_stays_short) {
	struct writer w = {0};

	journald = bind_at(path);
	pace_init(&w.pace, path, 4);
	cr_assert_eq(pthread_create(&w.thread, NULL, write_entries, &w), 0);

	unsigned long held = settled(&w, 0);
	cr_log_info("held after %lu entries\n", held);
	cr_assert_geq(held, 4, "not even one mark sent: %lu", held);
	/* Six marks fit on Linux 6.x; far fewer than journald's 512-entry queue either way. */
	cr_assert_leq(held, 16 * 4, "%lu entries written while journald took nothing", held);

	/*
	 * Told to stop first, so that the marks counted are those it was held by
	 * (and the one it then finishes), not new ones sent while they are taken.
	 */
	atomic_store(&w.stop, true);
	unsigned marks = take_all(journald);
	cr_assert_geq(marks, 1);
	cr_assert_leq(marks, 16);
	cr_assert_gt(settled(&w, held), held,
		     "the writer did not go on once journald took the marks");

	stop_writer(&w, journald);
}

/* Without journald's socket there is nothing to pace: no wait, no error. */
Test(pace, no_journald_no_wait) {
	struct pace p;

	unlink(path);
	pace_init(&p, path, 1);
	for (unsigned i = 0; i < 1000; i++)
		pace_entry(&p);
	cr_assert_eq(p.fd, -1);
	pace_done(&p);
}

Test(pace, every_zero_is_off) {
	struct pace p;

	journald = bind_at(path);
	pace_init(&p, path, 0);
	for (unsigned i = 0; i < 1000; i++)
		pace_entry(&p);
	cr_assert_eq(p.fd, -1);
	cr_assert_eq(take_all(journald), 0);
	pace_done(&p);
}

/* journald's socket made anew (journald.socket restarted): the pace finds the new one. */
Test(pace, reconnects_to_a_new_socket) {
	struct pace p;

	journald = bind_at(path);
	pace_init(&p, path, 1);
	pace_entry(&p);
	cr_assert_eq(take_all(journald), 1);
	close(journald);
	journald = bind_at(path);
	pace_entry(&p); /* refused by the old socket's end: dropped */
	pace_entry(&p);
	cr_assert_eq(take_all(journald), 1);
	pace_done(&p);
}
