/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

/*
 * Which rate limit journald would give a unit, read the way journald 252 reads
 * it. Pure lookups: no state, nothing cached; the caller decides how often.
 *
 * This is the interface first sketched as "limits.h": the file is named
 * ratelimit.h because a daemon header called limits.h would shadow the C
 * library's <limits.h> for every file built with the daemon's include path.
 * The functions keep their limits_ names.
 *
 * root is a directory every path is read under ("" or NULL for /); tests pass
 * a temporary directory holding etc/, run/ and var/.
 */

struct rate_limit {
	uint64_t interval_usec; /* 0: no limit */
	unsigned burst;         /* 0: no limit */
};

/* journald's defaults: RateLimitIntervalSec=30s, RateLimitBurst=10000. */
#define LIMITS_DEFAULT_INTERVAL_USEC (30ULL * 1000000ULL)
#define LIMITS_DEFAULT_BURST         10000U

/*
 * journald.conf's RateLimitIntervalSec= (or the older RateLimitInterval=) and
 * RateLimitBurst= in [Journal], with its drop-ins, journald's defaults where
 * unset. As journald: if either ends up 0, both are 0 (no limit). Returns 0,
 * or a negative errno when a file exists but cannot be read (*ret then holds
 * what was read before it).
 */
int limits_journald_conf(const char *root, struct rate_limit *ret);

/*
 * The unit's own LogRateLimitIntervalSec=/LogRateLimitBurst= as PID 1
 * publishes them for journald (symlinks /run/systemd/units/
 * log-rate-limit-interval:UNIT -> usec, log-rate-limit-burst:UNIT -> count),
 * each falling back to dflt's value on its own where unpublished. PID 1
 * publishes neither for a value of 0, so a unit's 0 means "as journald.conf".
 * Returns 0, or -EINVAL for a name that is not a unit name (then *ret = *dflt).
 * journald limits only senders that have a unit; one without is the caller's
 * decision.
 */
int limits_for_unit(const char *root, const char *unit, const struct rate_limit *dflt,
		    struct rate_limit *ret);

/*
 * journald's burst_modulate(): burst unchanged up to 2^21 bytes available,
 * else burst * (floor(log2(available)) - 16) / 4, rounded down: 16 MiB x2,
 * 256 MiB x3, 4 GiB x4 (x3.75 just below), 64 GiB x5. Saturates where
 * journald's unsigned arithmetic would wrap.
 */
unsigned limits_modulate_burst(unsigned burst, uint64_t available_bytes);

/*
 * The "available" journald passes to burst_modulate(): for the journal it
 * writes now (/var/log/journal/MACHINE-ID when persistent storage is in use,
 * else /run/log/journal/MACHINE-ID), min(max_use, max(min_use, used + free -
 * keep_free)) - used, where used is the size of its *.journal files, free the
 * file system's available bytes and max_use/keep_free/min_use journald.conf's
 * System*= or Runtime*= values or journald's defaults (10% of the file system
 * capped at 4 GiB, 5% capped at 4 GiB, 2% within 1–16 MiB). 0 when the
 * directory cannot be read, as journald. journald recomputes it at most every
 * 30 s; callers should cache it as long. Not mirrored: journald raises its
 * min_use to what the journal used when journald started, which matters only
 * when the free space is below SystemKeepFree= (journald may then see up to
 * that start-time use less the current one; mpsr sees the default min_use's).
 * Checked against journald (t-limits-direct): SystemMaxUse=64M with 8 MiB
 * used gives 56 MiB, as journald's own "max 64.0M, 56.0M free".
 */
uint64_t limits_journal_available(const char *root);
