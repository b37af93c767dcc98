/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <syslog.h>

#include "window.h"

static const struct rate_limit ten_per_second = {.interval_usec = 1000000, .burst = 10};

Test(window, groups_follow_journald_priority_map) {
	int want[8] = {0, 0, 0, 1, 2, 3, 3, 4};
	for (int p = 0; p < 8; p++)
		cr_assert_eq(window_group(p), want[p], "priority %d", p);
	/* journald masks the facility off: LOG_DAEMON|LOG_ERR is ERR's group. */
	cr_assert_eq(window_group(LOG_DAEMON | LOG_ERR), 1);
}

Test(window, takes_burst_then_says_when) {
	struct rate_window w = {0};
	uint64_t open_at = 0, t0 = 5000000;

	for (unsigned i = 0; i < 10; i++)
		cr_assert(window_take(&w, &ten_per_second, 10, LOG_INFO, t0 + i, &open_at));
	cr_assert_not(window_take(&w, &ten_per_second, 10, LOG_INFO, t0 + 10, &open_at));
	/* journald starts a new window once begin + interval < now */
	cr_assert_eq(open_at, t0 + 1000000 + 1);
	cr_assert_eq(w.used[window_group(LOG_INFO)], 10, "a refusal charges nothing");
}

Test(window, window_ends_only_after_interval) {
	struct rate_window w = {0};
	uint64_t open_at, t0 = 1000;

	for (unsigned i = 0; i < 10; i++)
		cr_assert(window_take(&w, &ten_per_second, 10, LOG_INFO, t0, &open_at));
	/* begin + interval is still inside the window */
	cr_assert_not(window_take(&w, &ten_per_second, 10, LOG_INFO, t0 + 1000000, &open_at));
	cr_assert(window_take(&w, &ten_per_second, 10, LOG_INFO, open_at, &open_at));
}

Test(window, next_window_begins_at_first_entry_after_end) {
	struct rate_window w = {0};
	uint64_t open_at, t0 = 1000, late = t0 + 3500000;
	int g = window_group(LOG_INFO);

	for (unsigned i = 0; i < 10; i++)
		cr_assert(window_take(&w, &ten_per_second, 10, LOG_INFO, t0, &open_at));
	/* Nothing written for 3.5 s: the next window starts then, not at t0 + 3 s. */
	cr_assert(window_take(&w, &ten_per_second, 10, LOG_INFO, late, &open_at));
	cr_assert_eq(w.begin[g], late);
	cr_assert_eq(w.used[g], 1);
	for (unsigned i = 1; i < 10; i++)
		cr_assert(window_take(&w, &ten_per_second, 10, LOG_INFO, late + 999999, &open_at));
	cr_assert_not(window_take(&w, &ten_per_second, 10, LOG_INFO, late + 999999, &open_at));
	cr_assert_eq(open_at, late + 1000001);
}

Test(window, each_group_has_its_own_window) {
	struct rate_window w = {0};
	uint64_t open_at;

	for (unsigned i = 0; i < 10; i++)
		cr_assert(window_take(&w, &ten_per_second, 10, LOG_INFO, 100, &open_at));
	cr_assert_not(window_take(&w, &ten_per_second, 10, LOG_NOTICE, 200, &open_at));
	/* ERR is another pool: its window begins with its own first entry. */
	for (unsigned i = 0; i < 10; i++)
		cr_assert(window_take(&w, &ten_per_second, 10, LOG_ERR, 500000, &open_at));
	cr_assert_not(window_take(&w, &ten_per_second, 10, LOG_ERR, 500001, &open_at));
	cr_assert_eq(open_at, 500000 + 1000000 + 1);
	cr_assert(window_take(&w, &ten_per_second, 10, LOG_DEBUG, 500001, &open_at));
	/* INFO's window opens at its own end, earlier than ERR's. */
	cr_assert(window_take(&w, &ten_per_second, 10, LOG_INFO, 1000101, &open_at));
}

Test(window, zero_interval_or_burst_is_no_limit) {
	struct rate_window w = {0};
	struct rate_limit no_interval = {.interval_usec = 0, .burst = 10};
	struct rate_limit no_burst = {.interval_usec = 1000000, .burst = 0};

	for (unsigned i = 0; i < 1000; i++) {
		cr_assert(window_take(&w, &no_interval, 10, LOG_INFO, 1, NULL));
		cr_assert(window_take(&w, &no_burst, 0, LOG_INFO, 1, NULL));
	}
	cr_assert_eq(w.used[window_group(LOG_INFO)], 0, "nothing charged without a limit");
}

Test(window, modulated_burst_is_what_counts) {
	struct rate_window w = {0};
	unsigned taken = 0;

	/* l->burst is the configured one; the caller passes it scaled by free space. */
	while (window_take(&w, &ten_per_second, 40, LOG_INFO, 7, NULL))
		taken++;
	cr_assert_eq(taken, 40);
}

Test(window, open_at_is_now_when_it_fits) {
	struct rate_window w = {0};

	cr_assert_eq(window_open_at(&w, &ten_per_second, 10, LOG_INFO, 42), 42);
	for (unsigned i = 0; i < 10; i++)
		cr_assert(window_take(&w, &ten_per_second, 10, LOG_INFO, 42, NULL));
	cr_assert_eq(window_open_at(&w, &ten_per_second, 10, LOG_INFO, 43), 42 + 1000000 + 1);
	cr_assert_eq(window_open_at(&w, &ten_per_second, 10, LOG_WARNING, 43), 43);
}

Test(window, huge_interval_does_not_wrap) {
	struct rate_window w = {0};
	struct rate_limit forever = {.interval_usec = UINT64_MAX, .burst = 1};
	uint64_t open_at = 0;

	cr_assert(window_take(&w, &forever, 1, LOG_INFO, 10, &open_at));
	cr_assert_not(window_take(&w, &forever, 1, LOG_INFO, UINT64_MAX - 1, &open_at));
	cr_assert_eq(open_at, UINT64_MAX);
}
