/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "frame.h"
#include "protocol.h"

/*
 * Cuts what is read from an fd (stdin, a command's output) into lines, and
 * lines longer than LINES_PIECE_MAX into pieces of that size, so that a
 * producer that never writes a newline cannot make us buffer without bound.
 */

#define LINES_PIECE_MAX MPSR_LINE_MAX_DEFAULT

struct line_piece {
	const char *text; /* into the reader's buffer; valid until the next fill */
	size_t len;       /* without the '\n' (and "<N>" prefix) */
	int priority;     /* 0..7 from a "<N>" prefix of the line, or -1 */
	bool first;       /* starts a line */
	bool last;        /* ends a line: a '\n' followed, or the input ended */
};

struct lines {
	int fd;
	char *buf;
	size_t size, start, end; /* unread bytes are buf[start..end) */
	bool eof;
	struct frame_state frame; /* the stream framing, as mpsrd's */
};

/* Sets up a reader of fd, reading "<N>" prefixes when level_prefix; returns 0 or -ENOMEM. */
int lines_init(struct lines *r, int fd, bool level_prefix);
void lines_done(struct lines *r);

/*
 * Takes the next piece out of what was read already. Returns false when
 * there is none until lines_fill() has read more (or, at the end of input, none at all).
 */
bool lines_next(struct lines *r, struct line_piece *p);

/* Reads once (blocking). Returns the bytes read, 0 at the end of input, or a negative errno. */
ssize_t lines_fill(struct lines *r);
