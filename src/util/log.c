/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_prefix; /* set once by main before anything logs */
static int log_journal = -1;   /* -1 unknown; 1 when stderr is a journal stream */

void log_set_prefix(const char *name) {
	log_prefix = name;
}

/* systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it connected stderr to. */
static int stderr_is_journal(void) {
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

static void log_vmsg(int priority, int error, const char *fmt, va_list ap) _printf_(3, 0);
static void log_vmsg(int priority, int error, const char *fmt, va_list ap) {
	char text[1024];

	vsnprintf(text, sizeof(text), fmt, ap);
	if (log_journal < 0)
		log_journal = stderr_is_journal();
	if (log_journal)
		fprintf(stderr, "<%d>", priority);
	else if (log_prefix)
		fprintf(stderr, "%s: ", log_prefix);
	if (error != 0)
		fprintf(stderr, "%s: %s\n", text, strerror(error < 0 ? -error : error));
	else
		fprintf(stderr, "%s\n", text);
}

int log_msg(int priority, int error, const char *fmt, ...) {
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(priority, error, fmt, ap);
	va_end(ap);
	errno = saved;
	return error < 0 ? error : -error;
}

void log_limited(struct ratelimit *rl, int priority, int error, const char *fmt, ...) {
	int saved = errno;
	unsigned suppressed;
	va_list ap;

	if (!ratelimit_test(rl, now_usec(), &suppressed))
		return;
	if (suppressed)
		log_msg(LOG_WARNING, 0, "%u messages like the next were suppressed", suppressed);
	va_start(ap, fmt);
	log_vmsg(priority, error, fmt, ap);
	va_end(ap);
	errno = saved;
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
