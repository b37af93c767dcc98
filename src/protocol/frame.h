/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "syslog-header.h"

/*
 * Stream framing: turns the bytes a producer wrote into journal entries.
 *
 * A pure function over a buffer, so that it can be unit-tested and fuzzed
 * without sockets. The caller owns the buffer and the state that must carry
 * over between calls (whether the next byte starts a line, and the priority
 * of a line that was split).
 *
 * Two modes, chosen by the caller in the state:
 * - lines (the default): a message ends at '\n' and may start with an
 *   sd-daemon "<N>" prefix (N 0..7) that gives its priority;
 * - syslog (st->syslog): what syslog clients write on a stream socket. A
 *   message ends at '\n' or at a NUL, and a NUL right after a '\n' (or a '\n'
 *   right after a NUL) is part of the same terminator, not an empty message;
 *   RFC 6587 octet counting, "LEN SP <PRI>..." with LEN 1..9 digits and no
 *   leading zero, is recognised in exactly that shape; each message's header
 *   is read by syslog_parse(). line_max counts the message as written
 *   (header included, octet count excluded).
 */

enum frame_break {
	FRAME_BREAK_NONE,     /* the entry is complete: ended by '\n' (or by its octet count) */
	FRAME_BREAK_LINE_MAX, /* the line was longer than line_max; more follows */
	FRAME_BREAK_EOF,      /* the producer closed without a final '\n' */
	FRAME_BREAK_NUL,      /* syslog mode: the entry ended with a NUL */
	FRAME_BREAK_CUT,      /* frame_cut(): cut where the buffer ends; more follows */
};

/*
 * A window of line_max + FRAME_SLACK bytes (line_max + 3 in lines mode) always
 * yields an entry: a reader whose buffer is that large never stalls.
 */
#define FRAME_SLACK 16

/*
 * Identifiers up to this long (and then their pid) are repeated on the later
 * pieces of a split line; a longer one only on its first piece.
 */
#define FRAME_IDENT_MAX 64

struct frame_state {
	bool mid_line;  /* the next byte continues a split line */
	int priority;   /* priority of the line in progress, -1 if none given */
	bool no_prefix; /* set by the caller: "<N>" (any header) is text, not a priority */
	bool syslog;    /* set by the caller: syslog mode (see above) */

	/* syslog mode only; all zero at the start of a stream */
	int facility;            /* of the line in progress, -1 if none */
	unsigned char ended;     /* the last message ended with: 1 '\n', 2 NUL, 0 anything else */
	size_t counted;          /* octet counting: bytes of the split message still to come */
	unsigned char ident_len; /* the split line's identifier and pid, copied */
	unsigned char pid_len;   /* for its later pieces */
	char ident[FRAME_IDENT_MAX];
	char pid[16];
};

struct frame {
	size_t start;         /* offset of the message text in the buffer */
	size_t len;           /* length of the message text */
	size_t consumed;      /* bytes of the buffer this entry used up */
	int priority;         /* 0..7 from a "<N>" prefix or syslog header, or -1 */
	enum frame_break brk; /* why the entry ended */
	int facility;         /* 0..23 from a syslog header, or -1 */
	/*
	 * syslog mode: the header's fields. They point into the buffer, except
	 * for the later pieces of a split line, which carry only priority,
	 * facility, identifier and pid, the last two pointing into *st (valid
	 * until st changes). The bytes before start are the header: a caller may
	 * overwrite them once it has copied these fields.
	 */
	struct syslog_fields fields;
};

/*
 * Finds the next entry in buf[0..len). Returns true and fills *f when one is
 * complete: ended by '\n' (syslog mode: or NUL, or its octet count), by
 * reaching line_max bytes of text, or (with eof) by the end of the buffer.
 * Returns false when more bytes are needed, or, with eof, when nothing is
 * left but (syslog mode) the second byte of a "\n\0" or "\0\n" terminator,
 * which the caller may drop. Updates *st for the call that follows.
 */
bool frame_next(const char *buf, size_t len, size_t line_max, bool eof, struct frame_state *st,
		struct frame *f);

/*
 * As frame_next() with eof, except that an entry running to the end of the
 * buffer is cut there (FRAME_BREAK_CUT) as line_max would cut it: the next
 * entry continues its message, with its priority, facility, identifier and
 * what is left of its octet count. For a reader that cannot keep the rest of
 * a line. Returns false when nothing is left but the second byte of a "\n\0"
 * or "\0\n" terminator.
 */
bool frame_cut(const char *buf, size_t len, size_t line_max, struct frame_state *st,
	       struct frame *f);

/*
 * Whether buf[0..len), the start of a message from st on, is still too short
 * to tell its "<N>" prefix, octet count or "<PRI>" from text: frame_next()
 * waits for more, frame_cut() would take it for text (a count's message then
 * runs on into the next ones). At most FRAME_SLACK bytes are.
 */
bool frame_undecided(const char *buf, size_t len, const struct frame_state *st);
