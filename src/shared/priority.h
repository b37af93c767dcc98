/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Syslog priorities as people write them: "err", "3", or logger(1)'s
 * "facility.level" such as "user.err" or "local3.warning".
 */

/*
 * Parses s. Sets *level to 0..7 and *facility to the facility number (0..23),
 * or to -1 when s names no facility. Returns 0, or -EINVAL when s is not a
 * priority.
 */
int priority_parse(const char *s, int *level, int *facility);

/* The name of a level 0..7 ("emerg" .. "debug"), or NULL. */
const char *priority_level_name(int level);
