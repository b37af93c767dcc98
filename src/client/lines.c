/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lines.h"

/* Big reads are what makes piping a build log cheap; a slow producer still
 * gets each line out at once, since read() returns what is there. */
#define LINES_BUF_SIZE (256 * 1024)

int lines_init(struct lines *r, int fd, bool level_prefix) {
	*r = (struct lines){.fd = fd, .size = LINES_BUF_SIZE};
	r->frame = (struct frame_state){.priority = -1, .no_prefix = !level_prefix};
	r->buf = malloc(r->size);
	return r->buf ? 0 : -ENOMEM;
}

void lines_done(struct lines *r) {
	free(r->buf);
	r->buf = NULL;
}

bool lines_next(struct lines *r, struct line_piece *p) {
	bool first = !r->frame.mid_line;
	struct frame f;

	if (!frame_next(r->buf + r->start, r->end - r->start, LINES_PIECE_MAX, r->eof, &r->frame,
			&f))
		return false;
	*p = (struct line_piece){
		.text = r->buf + r->start + f.start,
		.len = f.len,
		.priority = f.priority,
		.first = first,
		.last = f.brk != FRAME_BREAK_LINE_MAX,
	};
	r->start += f.consumed;
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
