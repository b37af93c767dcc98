/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ratelimit.h"

/*
 * journald's rate-limit window for one unit, made lossless: where journald
 * drops an entry, window_take() says when it will fit instead.
 *
 * journald (journald-rate-limit.c, the same from 252 to today) keeps, per
 * unit, one pool for each of five priority groups, and each pool has its own
 * window: a pool's window begins with the first entry charged to it, holds
 * up to burst entries until begin + interval (inclusive), and the next window
 * begins with the first entry after that, not at the old window's end.
 *
 * Refined from the first sketch of this interface: begin is kept per group
 * (journald's pools do not share a window start), and a group with nothing
 * charged (used 0) has no window yet, so no time value is taken to mean
 * "never". A zeroed struct rate_window is a unit that has written nothing.
 */

enum { WINDOW_GROUPS = 5 }; /* EMERG–CRIT, ERR, WARNING, NOTICE–INFO, DEBUG, as journald */

struct rate_window {
	uint64_t begin[WINDOW_GROUPS]; /* when each group's window began (usec, CLOCK_MONOTONIC) */
	unsigned used[WINDOW_GROUPS];  /* entries charged in it; 0: no window yet */
};

/* The group of a syslog priority (its low three bits, as journald masks it): 0..4. */
int window_group(int priority);

/*
 * Whether one more entry of this priority fits in the window at now. If so it
 * is charged and true is returned. If not, nothing changes, *open_at (may be
 * NULL) is the first time at which it will fit (the current window's end plus
 * one microsecond: journald starts a new window only once begin + interval
 * has passed), and false is returned. burst is the already-modulated burst
 * (limits_modulate_burst()); an interval or burst of 0 means no limit: it
 * always fits and nothing is charged, as in journald.
 */
bool window_take(struct rate_window *w, const struct rate_limit *l, unsigned burst, int priority,
		 uint64_t now, uint64_t *open_at);

/*
 * When the group of this priority could take an entry again: now if it can
 * at now, else its window's end plus one. Changes nothing.
 */
uint64_t window_open_at(const struct rate_window *w, const struct rate_limit *l, unsigned burst,
			int priority, uint64_t now);
