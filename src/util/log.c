/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_prefix; /* set once by main before anything logs */
static int log_plain = -1;     /* -1 unknown; 1 when stderr is a terminal */

void log_set_prefix(const char *name) {
	log_prefix = name;
}

int log_msg(int priority, int error, const char *fmt, ...) {
	int saved = errno;
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	if (log_plain < 0)
		log_plain = isatty(STDERR_FILENO);
	if (!log_plain)
		fprintf(stderr, "<%d>", priority);
	else if (log_prefix)
		fprintf(stderr, "%s: ", log_prefix);
	if (error != 0)
		fprintf(stderr, "%s: %s\n", text, strerror(error < 0 ? -error : error));
	else
		fprintf(stderr, "%s\n", text);

	errno = saved;
	return error < 0 ? error : -error;
}

int ratelimit_test(struct ratelimit *rl, uint64_t now, unsigned *suppressed) {
	if (rl->begin == 0 || now - rl->begin >= rl->interval_usec) {
		*suppressed = rl->suppressed;
		rl->begin = now;
		rl->passed = 0;
		rl->suppressed = 0;
	} else {
		*suppressed = 0;
	}
	if (rl->passed < rl->burst) {
		rl->passed++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}

uint64_t now_usec(void) {
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
