/* SPDX-License-Identifier: MIT */
/*
 * frame-speed: how many lines per second frame_next() splits and reads, for
 * plain lines and for lines with syslog headers, in both modes. A check that
 * parsing costs what it must and no more; no journald involved.
 *
 *     BUILD/bench/frame-speed
 *
 * Each row frames one million 100-byte lines from memory, seven times, and
 * reports the fastest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"

#define LINES    1000000
#define LINE_LEN 100

static double now(void) {
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* LINES lines of LINE_LEN bytes: head, then letters, then '\n'. */
static char *make_lines(const char *head) {
	size_t hl = strlen(head);
	char *b = malloc((size_t)LINES * LINE_LEN);

	if (!b || hl >= LINE_LEN) {
		perror("frame-speed");
		exit(1);
	}
	for (size_t i = 0; i < LINES; i++) {
		char *p = b + i * LINE_LEN;
		memcpy(p, head, hl);
		for (size_t k = hl; k < LINE_LEN - 1; k++)
			p[k] = (char)('a' + (k + i) % 26);
		p[LINE_LEN - 1] = '\n';
	}
	return b;
}

static void row(const char *name, const char *head, bool syslog) {
	char *buf = make_lines(head);
	size_t len = (size_t)LINES * LINE_LEN, sink = 0;
	double best = 1e9;

	for (int r = 0; r < 7; r++) {
		struct frame_state st = {.priority = -1, .syslog = syslog};
		struct frame f;
		size_t pos = 0, n = 0;
		double t0 = now();
		while (frame_next(buf + pos, len - pos, 48 * 1024, false, &st, &f)) {
			sink += f.len + f.fields.ident.len; /* the results are used */
			pos += f.consumed;
			n++;
		}
		double t = now() - t0;
		if (n != LINES) {
			fprintf(stderr, "%s: %zu lines, want %d\n", name, n, LINES);
			exit(1);
		}
		if (t < best)
			best = t;
	}
	printf("%-34s %7.1f M lines/s %7.0f MB/s%s\n", name, LINES / best / 1e6,
	       (double)len / best / 1e6, sink == 0 ? " (nothing read?)" : "");
	free(buf);
}

int main(void) {
	row("lines mode, plain", "", false);
	row("lines mode, RFC 3164 (as text)", "<13>Nov 25 19:17:04 app[123]: ", false);
	row("syslog mode, plain", "", true);
	row("syslog mode, <4> prefix", "<4>disk: ", true);
	row("syslog mode, RFC 3164", "<13>Nov 25 19:17:04 app[123]: ", true);
	row("syslog mode, RFC 3164 + hostname", "<13>Nov 25 19:17:04 web1 app[123]: ", true);
	row("syslog mode, RFC 5424",
	    "<13>1 2026-11-25T19:17:04.65+00:00 host app 123 MID [x@1 a=\"1\"] ", true);
	return 0;
}
