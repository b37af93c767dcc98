/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/*
 * A line, "<N>" or prefix and '\n' included, is at most this long (longer
 * text is cut). Within PIPE_BUF, so that even on a pipe one write(2) is atomic.
 */
#define LOG_LINE_MAX 2048

static const char *log_prefix; /* set once by main before anything logs */
/* -1 unknown; 1 when stderr is a journal stream. Read by both of mpsrd's threads. */
static atomic_int log_journal = -1;

/* systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it connected stderr to. */
static int stderr_is_journal(void) {
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void log_set_prefix(const char *name) {
	log_prefix = name;
}

/* Appends to line[*len..size), cutting what does not fit; *len stays below size. */
static void append(char *line, size_t size, size_t *len, const char *fmt, ...) _printf_(4, 5);
static void append(char *line, size_t size, size_t *len, const char *fmt, ...) {
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n < size - *len ? (size_t)n : size - *len - 1;
}

/*
 * The whole line is formatted first and written with one write(2): lines
 * from mpsrd's two threads never interleave, and "<N>" stays with its text.
 */
static void log_vmsg(int priority, int error, const char *fmt, va_list ap) _printf_(3, 0);
static void log_vmsg(int priority, int error, const char *fmt, va_list ap) {
	char line[LOG_LINE_MAX], ebuf[128];
	size_t len = 0, size = sizeof(line) - 1; /* room kept for the '\n' */
	/* The error's text goes after the message; a cut shortens the message, not it. */
	const char *etext = error ? strerror_r(error < 0 ? -error : error, ebuf, sizeof(ebuf)) : "";
	size_t elen = error ? strlen(etext) + 2 : 0;

	int journal = atomic_load(&log_journal);
	if (journal < 0) {
		journal = stderr_is_journal();
		atomic_store(&log_journal, journal);
	}
	if (journal)
		append(line, size, &len, "<%d>", priority);
	else if (log_prefix)
		append(line, size, &len, "%s: ", log_prefix);
	size_t room = size - len > elen ? size - len - elen : 1;
	int n = vsnprintf(line + len, room, fmt, ap);
	if (n > 0)
		len += (size_t)n < room ? (size_t)n : room - 1;
	if (error)
		append(line, size, &len, ": %s", etext);
	line[len++] = '\n';
	while (write(STDERR_FILENO, line, len) < 0 && errno == EINTR)
		;
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
