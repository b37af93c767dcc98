/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/*
 * Syslog priorities as people write them: "err", "3", or logger(1)'s
 * "facility.level" such as "user.err" or "local3.warning"; and as producers
 * put them in front of a line: "<3>".
 */

/*
 * Parses s. Sets *level to 0..7 and *facility to the facility number (0..23),
 * or to -1 when s names no facility. Returns 0, or -EINVAL when s is not a
 * priority.
 */
int priority_parse(const char *s, int *level, int *facility);

/* The name of a level 0..7 ("emerg" .. "debug"), or NULL. */
const char *priority_level_name(int level);

/*
 * Length of a "<N>" prefix (N 0..7, the sd-daemon convention) at buf: 3, or
 * 0 when there is none. Sets *level only when there is one.
 */
size_t priority_prefix(const char *buf, size_t len, int *level);
