/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <syslog.h>

#include "macro.h"

/*
 * Diagnostics of mpsr's own programs, on stderr. Under systemd, stderr is a
 * journal stream that reads the "<N>" prefix as the priority (SyslogLevelPrefix=),
 * so the service needs nothing else; a terminal sees the plain text.
 *
 * Each helper keeps errno intact and returns -abs(error) when given one, so a
 * caller can write `return log_errno(r, "...")`.
 */
void log_set_prefix(const char *name);
int log_msg(int priority, int error, const char *fmt, ...) _printf_(3, 4);

#define log_error(...)                log_msg(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...)              log_msg(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...)               log_msg(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...)                 log_msg(LOG_INFO, 0, __VA_ARGS__)
#define log_errno(error, ...)         log_msg(LOG_ERR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_msg(LOG_WARNING, (error), __VA_ARGS__)

/*
 * Lets at most `burst` events through per `interval_usec`, and counts the rest
 * so that the next message can say how many were held back.
 */
struct ratelimit {
	uint64_t interval_usec;
	unsigned burst;
	uint64_t begin;
	unsigned passed;
	unsigned suppressed;
};

/* True if the event may be logged now; *suppressed gets the count held back since. */
int ratelimit_test(struct ratelimit *rl, uint64_t now_usec, unsigned *suppressed);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t now_usec(void);
