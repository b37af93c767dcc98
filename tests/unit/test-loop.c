/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "loop.h"

struct hit {
	int calls;
	struct loop_source *self;
	struct loop_source *other; /* removed from inside the callback when set */
};

static int on_ready(int fd, short revents, void *data) {
	struct hit *h = data;
	char c;

	h->calls++;
	(void)!read(fd, &c, 1);
	if (h->other)
		loop_remove(h->other);
	return 0;
}

/* A new loop, and two pipes, a and b, whose read ends the test adds to it. */
static struct loop *loop_and_two_pipes(int a[2], int b[2]) {
	struct loop *loop;

	cr_assert_eq(loop_new(&loop), 0);
	cr_assert_eq(pipe(a), 0);
	cr_assert_eq(pipe(b), 0);
	return loop;
}

Test(loop, dispatches_only_ready_fds) {
	int a[2], b[2];
	struct loop *loop = loop_and_two_pipes(a, b);
	struct hit ha = {0}, hb = {0};

	cr_assert_not_null(loop_add(loop, a[0], POLLIN, on_ready, &ha));
	cr_assert_not_null(loop_add(loop, b[0], POLLIN, on_ready, &hb));
	cr_assert_eq(write(a[1], "x", 1), 1);
	cr_assert_eq(loop_dispatch(loop, 100), 1);
	cr_assert_eq(ha.calls, 1);
	cr_assert_eq(hb.calls, 0);
	loop_free(loop);
}

Test(loop, removal_inside_callback_and_paused_sources) {
	int a[2], b[2];
	struct loop *loop = loop_and_two_pipes(a, b);
	struct hit ha = {0}, hb = {0};

	struct loop_source *sa = loop_add(loop, a[0], POLLIN, on_ready, &ha);
	struct loop_source *sb = loop_add(loop, b[0], POLLIN, on_ready, &hb);
	ha.other = sb;
	cr_assert_eq(write(a[1], "x", 1), 1);
	cr_assert_eq(write(b[1], "x", 1), 1);
	loop_dispatch(loop, 100);
	cr_assert_eq(ha.calls, 1);
	cr_assert_eq(hb.calls, 0, "a removed source must not be called");
	cr_assert_eq(loop_count(loop), 1);

	ha.other = NULL;
	loop_set_events(sa, 0);
	cr_assert_eq(write(a[1], "x", 1), 1);
	cr_assert_eq(loop_dispatch(loop, 10), 0, "a paused source must not be called");
	loop_set_events(sa, POLLIN);
	cr_assert_eq(loop_dispatch(loop, 100), 1);
	loop_free(loop);
}

/*
 * Producers come and go for as long as mpsrd runs: removed sources must give
 * their slots back. poll() refuses more entries than RLIMIT_NOFILE allows
 * (EINVAL), so with the limit at 64, a loop that kept dead slots would fail
 * long before 10,000 sources have come and gone, 10 at a time.
 */
Test(loop, many_sources_stay_compact) {
	struct loop *loop;
	int p[2];
	struct loop_source *src[10];
	struct hit h = {0}, stay = {0};
	struct rlimit rl;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = 64;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(loop_new(&loop), 0);
	cr_assert_eq(pipe(p), 0);
	cr_assert_not_null(loop_add(loop, p[0], POLLIN, on_ready, &stay));
	for (int round = 0; round < 1000; round++) {
		for (int i = 0; i < 10; i++)
			cr_assert_not_null(src[i] = loop_add(loop, p[0], POLLIN, on_ready, &h));
		for (int i = 0; i < 10; i += 2)
			loop_remove(src[i]);
		cr_assert_eq(loop_dispatch(loop, 0), 0, "round %d", round);
		cr_assert_eq(loop_count(loop), 6);
		for (int i = 1; i < 10; i += 2)
			loop_remove(src[i]);
		cr_assert_eq(loop_dispatch(loop, 0), 0, "round %d", round);
		cr_assert_eq(loop_count(loop), 1);
	}
	/* The one source that stayed throughout is still served. */
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(loop_dispatch(loop, 100), 1);
	cr_assert_eq(stay.calls, 1);
	cr_assert_eq(h.calls, 0);
	loop_free(loop);
}
