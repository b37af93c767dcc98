/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define RUN_USEC (500 * 1000) /* both threads write for this long, at once */
#define PAD_MAX  97

/* stderr made into a pipe that says it is a journal stream, so that lines start with "<N>". */
struct capture {
	int saved_stderr;
	int read_fd;
};

static void capture_start(struct capture *c) {
	int p[2];
	struct stat st;
	char env[64];

	cr_assert_eq(pipe(p), 0);
	c->saved_stderr = dup(STDERR_FILENO);
	cr_assert_geq(c->saved_stderr, 0);
	cr_assert_geq(dup2(p[1], STDERR_FILENO), 0);
	close(p[1]);
	cr_assert_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	c->read_fd = p[0];
}

/* Ends the capture: the reader sees the end of the pipe. */
static void capture_stop(struct capture *c) {
	dup2(c->saved_stderr, STDERR_FILENO);
	close(c->saved_stderr);
}

struct writer {
	char id;
	pthread_barrier_t *start;
	unsigned lines;
};

/*
 * Writes "<6>ID SEQ PAD" lines, every third one with an error (at <3>) and,
 * from one thread, through the rate-limited variant, until RUN_USEC passed.
 */
static void *write_lines(void *data) {
	struct writer *w = data;
	struct ratelimit rl = {.interval_usec = 1000000000, .burst = UINT_MAX};
	char pad[PAD_MAX + 1];

	pthread_barrier_wait(w->start);
	uint64_t until = now_usec() + RUN_USEC;
	for (unsigned seq = 0; now_usec() < until; seq++) {
		size_t n = seq % PAD_MAX;
		memset(pad, w->id, n);
		pad[n] = '\0';
		if (seq % 3 == 0)
			log_errno(-EIO, "%c %u %s", w->id, seq, pad);
		else if (w->id == 'B')
			log_limited(&rl, LOG_INFO, 0, "%c %u %s", w->id, seq, pad);
		else
			log_info("%c %u %s", w->id, seq, pad);
		w->lines = seq + 1;
	}
	return NULL;
}

/* Whether line (without its '\n') is exactly what a writer wrote as line `seq`. */
static bool line_is(const char *line, char id, unsigned seq) {
	char want[256], pad[PAD_MAX + 1];
	size_t n = seq % PAD_MAX;

	memset(pad, id, n);
	pad[n] = '\0';
	if (seq % 3 == 0)
		snprintf(want, sizeof(want), "<3>%c %u %s: %s", id, seq, pad, strerror(EIO));
	else
		snprintf(want, sizeof(want), "<6>%c %u %s", id, seq, pad);
	return strcmp(line, want) == 0;
}

struct reader {
	int fd;
	unsigned next[2]; /* the sequence number each writer's next line must have */
	unsigned bad, lost;
	char first_bad[256];
};

/* Counts a line that is not whole, and a writer's lines that never came. */
static void check_line(struct reader *r, const char *line) {
	char id = strlen(line) > 3 ? line[3] : '?';
	unsigned *next = id == 'A' ? &r->next[0] : id == 'B' ? &r->next[1] : NULL;
	unsigned seq;

	if (next && sscanf(line + 4, " %u", &seq) == 1 && line_is(line, id, seq)) {
		r->lost += seq - *next;
		*next = seq + 1;
		return;
	}
	if (r->bad++ == 0)
		snprintf(r->first_bad, sizeof(r->first_bad), "%s", line);
}

/* Reads the pipe to its end, checking each line as it comes. */
static void *read_lines(void *data) {
	struct reader *r = data;
	static char buf[1 << 16];
	size_t have = 0;
	ssize_t n;

	while ((n = read(r->fd, buf + have, sizeof(buf) - have - 1)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		char *start = buf, *nl;
		while ((nl = strchr(start, '\n'))) {
			*nl = '\0';
			check_line(r, start);
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
	}
	if (have > 0)
		r->bad++; /* a line without its end */
	return NULL;
}

Test(log, two_threads_write_whole_lines) {
	struct capture c;
	pthread_barrier_t start;
	struct writer w[2] = {{.id = 'A', .start = &start}, {.id = 'B', .start = &start}};
	pthread_t tw[2], tr;

	capture_start(&c);
	struct reader r = {.fd = c.read_fd};
	cr_assert_eq(pthread_create(&tr, NULL, read_lines, &r), 0);
	pthread_barrier_init(&start, NULL, 2);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&tw[i], NULL, write_lines, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(tw[i], NULL);
	capture_stop(&c);
	pthread_join(tr, NULL);
	close(c.read_fd);

	cr_assert_eq(r.bad, 0, "%u lines not whole, the first: '%s'", r.bad, r.first_bad);
	cr_assert_eq(r.lost, 0);
	cr_assert_eq(r.next[0], w[0].lines);
	cr_assert_eq(r.next[1], w[1].lines);
	cr_assert_gt(w[0].lines, 0);
	cr_assert_gt(w[1].lines, 0);
}

Test(log, errno_is_kept) {
	log_set_prefix("test");
	errno = EBADF;
	cr_assert_eq(log_errno(-EIO, "x"), -EIO);
	cr_assert_eq(errno, EBADF);
	cr_assert_eq(log_errno(EIO, "x"), -EIO);
	cr_assert_eq(log_info("x"), 0);
	cr_assert_eq(errno, EBADF);

	/* Even when the write itself fails. */
	int saved = dup(STDERR_FILENO);
	close(STDERR_FILENO);
	errno = ENOENT;
	log_info("nowhere");
	struct ratelimit rl = {.interval_usec = 1000000, .burst = 1};
	log_limited(&rl, LOG_INFO, -EIO, "nowhere");
	log_limited(&rl, LOG_INFO, -EIO, "held back");
	cr_assert_eq(errno, ENOENT);
	dup2(saved, STDERR_FILENO);
	close(saved);
}

/* A message longer than a line is cut, keeping its error text and its end. */
Test(log, long_message_is_one_cut_line) {
	struct capture c;
	static char text[8192], got[16384];

	memset(text, 'x', sizeof(text) - 1);
	capture_start(&c);
	log_errno(-EIO, "%s", text);
	capture_stop(&c);
	ssize_t n = read(c.read_fd, got, sizeof(got) - 1);
	close(c.read_fd);

	cr_assert_gt(n, 0);
	got[n] = '\0';
	cr_assert_leq(n, 2048);
	cr_assert_eq(strchr(got, '\n'), got + n - 1, "one line");
	cr_assert(strncmp(got, "<3>xxx", 6) == 0);
	char tail[64];
	snprintf(tail, sizeof(tail), "x: %s\n", strerror(EIO));
	cr_assert_str_eq(got + n - strlen(tail), tail);
}
