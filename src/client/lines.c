/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lines.h"

/* Big reads are what makes piping a build log cheap; a slow producer still
 * gets each line out at once, since read() returns what is there. */
#define LINES_BUF_SIZE (256 * 1024)

int lines_init(struct lines *r, int fd) {
	*r = (struct lines){.fd = fd, .size = LINES_BUF_SIZE};
	r->buf = malloc(r->size);
	return r->buf ? 0 : -ENOMEM;
}

void lines_done(struct lines *r) {
	free(r->buf);
	r->buf = NULL;
}

bool lines_next(struct lines *r, struct line_piece *p) {
	size_t avail = r->end - r->start;
	const char *s = r->buf + r->start;

	if (avail == 0)
		return false;
	/* A line of exactly LINES_PIECE_MAX bytes still ends at its '\n'. */
	size_t scan = avail <= LINES_PIECE_MAX ? avail : LINES_PIECE_MAX + 1;
	const char *nl = memchr(s, '\n', scan);

	*p = (struct line_piece){.text = s, .first = !r->mid_line};
	if (nl) {
		p->len = (size_t)(nl - s);
		p->last = true;
		r->start += p->len + 1;
	} else if (avail > LINES_PIECE_MAX) {
		p->len = LINES_PIECE_MAX;
		r->start += p->len;
	} else if (r->eof) {
		p->len = avail; /* the input ended without a final '\n' */
		p->last = true;
		r->start = r->end;
	} else {
		return false;
	}
	r->mid_line = !p->last;
	return true;
}

ssize_t lines_fill(struct lines *r) {
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	for (;;) {
		ssize_t n = read(r->fd, r->buf + r->end, r->size - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			r->eof = true;
		r->end += (size_t)n;
		return n;
	}
}
