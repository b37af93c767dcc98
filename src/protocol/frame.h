/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Stream framing: turns the bytes a producer wrote into journal entries.
 *
 * A pure function over a buffer, so that it can be unit-tested and fuzzed
 * without sockets. The caller owns the buffer and the state that must carry
 * over between calls (whether the next byte starts a line, and the priority
 * of a line that was split).
 */

enum frame_break {
	FRAME_BREAK_NONE,     /* the entry ended with '\n' */
	FRAME_BREAK_LINE_MAX, /* the line was longer than line_max; more follows */
	FRAME_BREAK_EOF,      /* the producer closed without a final '\n' */
};

struct frame_state {
	bool mid_line;  /* the next byte continues a split line */
	int priority;   /* priority of the line in progress, -1 if none given */
	bool no_prefix; /* set by the caller: "<N>" is text, not a priority */
};

struct frame {
	size_t start;         /* offset of the message text in the buffer */
	size_t len;           /* length of the message text */
	size_t consumed;      /* bytes of the buffer this entry used up */
	int priority;         /* 0..7 from a "<N>" prefix, or -1 */
	enum frame_break brk; /* why the entry ended */
};

/*
 * Finds the next entry in buf[0..len). Returns true and fills *f when one is
 * complete: ended by '\n', by reaching line_max bytes of text, or (with eof)
 * by the end of the buffer. Returns false when more bytes are needed (or, with
 * eof, when the buffer is empty). Updates *st for the call that follows.
 */
bool frame_next(const char *buf, size_t len, size_t line_max, bool eof, struct frame_state *st,
		struct frame *f);
