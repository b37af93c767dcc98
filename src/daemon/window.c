/* SPDX-License-Identifier: MIT */
#include "window.h"

/* journald's priority_map: EMERG, ALERT, CRIT share a pool; NOTICE and INFO too. */
static const unsigned char group_of[8] = {0, 0, 0, 1, 2, 3, 3, 4};

int window_group(int priority) {
	return group_of[priority & 7];
}

static bool unlimited(const struct rate_limit *l, unsigned burst) {
	return l->interval_usec == 0 || l->burst == 0 || burst == 0;
}

/* Whether group g's window has ended at now: journald's "begin + interval < now". */
static bool window_over(const struct rate_window *w, const struct rate_limit *l, int g,
			uint64_t now) {
	if (w->used[g] == 0)
		return true;
	/* Saturating: an interval of years must not wrap into the past. */
	uint64_t end = w->begin[g] + l->interval_usec;
	if (end < w->begin[g])
		end = UINT64_MAX;
	return end < now;
}

uint64_t window_open_at(const struct rate_window *w, const struct rate_limit *l, unsigned burst,
			int priority, uint64_t now) {
	int g = window_group(priority);

	if (unlimited(l, burst) || window_over(w, l, g, now) || w->used[g] < burst)
		return now;
	uint64_t end = w->begin[g] + l->interval_usec;
	if (end < w->begin[g] || end == UINT64_MAX)
		return UINT64_MAX;
	return end + 1;
}

bool window_take(struct rate_window *w, const struct rate_limit *l, unsigned burst, int priority,
		 uint64_t now, uint64_t *open_at) {
	int g = window_group(priority);

	if (unlimited(l, burst))
		return true;
	if (window_over(w, l, g, now)) {
		w->begin[g] = now;
		w->used[g] = 1;
		return true;
	}
	if (w->used[g] < burst) {
		w->used[g]++;
		return true;
	}
	if (open_at)
		*open_at = window_open_at(w, l, burst, priority, now);
	return false;
}
