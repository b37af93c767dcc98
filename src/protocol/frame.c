/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "frame.h"
#include "priority.h"

bool frame_next(const char *buf, size_t len, size_t line_max, bool eof, struct frame_state *st,
		struct frame *f) {
	size_t skip = 0;

	if (len == 0)
		return false;

	if (!st->mid_line)
		st->priority = -1;
	if (!st->mid_line && !st->no_prefix) {
		/* A prefix split over two writes must not become text: wait for it. */
		if (len < 3 && buf[0] == '<' && !eof && memchr(buf, '\n', len) == NULL)
			return false;
		skip = priority_prefix(buf, len, &st->priority);
	}

	size_t avail = len - skip;
	/* A line of exactly line_max bytes still ends at its '\n'. */
	size_t scan = avail <= line_max ? avail : line_max + 1;
	const char *nl = memchr(buf + skip, '\n', scan);

	*f = (struct frame){.start = skip, .priority = st->priority};
	if (nl != NULL) {
		f->len = (size_t)(nl - (buf + skip));
		f->consumed = skip + f->len + 1;
		f->brk = FRAME_BREAK_NONE;
		st->mid_line = false;
		return true;
	}
	if (avail > line_max) {
		f->len = line_max;
		f->consumed = skip + line_max;
		f->brk = FRAME_BREAK_LINE_MAX;
		st->mid_line = true;
		return true;
	}
	if (!eof) {
		/* Nothing consumed: the prefix is parsed again with the rest of the line. */
		if (!st->mid_line)
			st->priority = -1;
		return false;
	}
	f->len = avail;
	f->consumed = len;
	f->brk = FRAME_BREAK_EOF;
	st->mid_line = false;
	return true;
}
