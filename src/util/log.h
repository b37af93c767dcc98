/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <syslog.h>

#include "macro.h"

/*
 * Diagnostics of mpsr's own programs, on stderr. When stderr is a journal
 * stream (systemd says so in $JOURNAL_STREAM), each line starts with "<N>",
 * which journald reads as its priority (SyslogLevelPrefix=); anywhere else (a
 * terminal, a file) the line is plain text with the program's name in front.
 * Each line is written whole, with one write(2), so lines that threads log at
 * once never interleave; a line is at most 2 KiB (a longer message is cut).
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

/*
 * log_msg() for what others can cause (a flood must not become one): logs only
 * when rl lets it through, first saying how many were held back.
 */
void log_limited(struct ratelimit *rl, int priority, int error, const char *fmt, ...)
	_printf_(4, 5);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t now_usec(void);
