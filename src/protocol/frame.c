/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "frame.h"
#include "priority.h"

enum { ENDED_OTHER, ENDED_NEWLINE, ENDED_NUL };

/* What follows the buffer: more bytes, the end of the stream, or a cut (frame_cut()). */
enum frame_end { FRAME_MORE, FRAME_EOF, FRAME_CUT };

/* The break of an entry that runs to the end of the buffer. */
static enum frame_break end_break(enum frame_end end) {
	return end == FRAME_CUT ? FRAME_BREAK_CUT : FRAME_BREAK_EOF;
}

/* Whether the next entry continues this one's message. */
static bool continued(enum frame_break brk) {
	return brk == FRAME_BREAK_LINE_MAX || brk == FRAME_BREAK_CUT;
}

/* Lines mode: '\n' ends a line, "<N>" may start it. */
static bool frame_lines(const char *buf, size_t len, size_t line_max, enum frame_end eof,
			struct frame_state *st, struct frame *f) {
	size_t skip = 0;

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

	f->start = skip;
	f->priority = st->priority;
	f->facility = -1;
	f->fields.ident = f->fields.pid = f->fields.timestamp = (struct span){0};
	f->fields.hostname = f->fields.msgid = f->fields.sd = (struct span){0};
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
	f->brk = end_break(eof);
	st->mid_line = continued(f->brk);
	return true;
}

/* ---- syslog mode ---- */

/* Could buf[0..n), n < SYSLOG_PRI_MAX, still grow into a valid "<PRI>"? */
static bool pri_may_follow(const char *buf, size_t n) {
	if (n > 0 && buf[0] != '<')
		return false;
	for (size_t i = 1; i < n; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return false;
	return n < 3 || buf[1] != '0';
}

/*
 * RFC 6587 octet counting at buf[0..n): "LEN SP" with LEN 1..9 digits, no
 * leading zero, and then a message that starts with a valid "<PRI>" and holds
 * it. Only this shape counts, so that a line starting with a number stays a
 * line. Returns 1 and sets *prefix (the bytes of "LEN SP") and *mlen; 0 if
 * this is no octet count; -1 if the bytes so far cannot tell yet.
 */
static int octet_count(const char *buf, size_t n, enum frame_end eof, size_t *prefix,
		       size_t *mlen) {
	size_t i = 0, v = 0;
	int pri;

	if (buf[0] < '1' || buf[0] > '9')
		return 0;
	while (i < n && i < 10 && buf[i] >= '0' && buf[i] <= '9')
		v = v * 10 + (size_t)(buf[i++] - '0');
	if (i > 9)
		return 0;
	if (i == n)
		return eof ? 0 : -1;
	if (buf[i++] != ' ')
		return 0;

	size_t pl = syslog_pri(buf + i, n - i, &pri);
	if (pl == 0)
		return !eof && n - i < SYSLOG_PRI_MAX && pri_may_follow(buf + i, n - i) ? -1 : 0;
	if (v < pl)
		return 0;
	*prefix = i;
	*mlen = v;
	return 1;
}

/* The first NUL or '\n' in buf[0..n), or NULL. */
static const char *find_end(const char *buf, size_t n) {
	const char *nl = memchr(buf, '\n', n);
	const char *nul = memchr(buf, '\0', nl ? (size_t)(nl - buf) : n);

	return nul ? nul : nl;
}

/* Keeps what the later pieces of a split line repeat. */
static void carry_header(struct frame_state *st, const struct frame *f) {
	st->priority = f->priority;
	st->facility = f->facility;
	st->ident_len = 0;
	st->pid_len = 0;
	if (f->fields.ident.len <= sizeof(st->ident)) {
		memcpy(st->ident, f->fields.ident.p ? f->fields.ident.p : "", f->fields.ident.len);
		st->ident_len = (unsigned char)f->fields.ident.len;
	}
	if (st->ident_len > 0 && f->fields.pid.len <= sizeof(st->pid)) {
		memcpy(st->pid, f->fields.pid.p ? f->fields.pid.p : "", f->fields.pid.len);
		st->pid_len = (unsigned char)f->fields.pid.len;
	}
}

static void carried_header(const struct frame_state *st, struct frame *f) {
	f->priority = st->priority;
	f->facility = st->facility;
	if (st->ident_len > 0)
		f->fields.ident = (struct span){st->ident, st->ident_len};
	if (st->pid_len > 0)
		f->fields.pid = (struct span){st->pid, st->pid_len};
}

/*
 * Reads the header of the message piece at buf[at..at+n) into *f; the
 * trailing blanks of a whole syslog message go, as journald drops them.
 */
static void read_header(const char *buf, size_t at, size_t n, bool whole,
			const struct frame_state *st, struct frame *f) {
	struct syslog_header h;

	if (st->no_prefix || n == 0 || buf[at] != '<') {
		/* Most lines: no header, and no need to copy an empty one. */
		f->start = at;
		f->len = n;
		f->priority = f->facility = -1;
		f->fields.ident = f->fields.pid = f->fields.timestamp = (struct span){0};
		f->fields.hostname = f->fields.msgid = f->fields.sd = (struct span){0};
		return;
	}
	if (whole)
		n = syslog_parse_message(buf + at, n, &h);
	else
		syslog_parse(buf + at, n, &h);
	f->start = at + h.text;
	f->len = n - h.text;
	f->priority = h.priority;
	f->facility = h.facility;
	f->fields = h.fields;
}

/*
 * Where the message at buf[0..len) ends, for a line (not octet-counted):
 * sets *n (its bytes), f->brk, f->consumed and *ended. Returns false when
 * more bytes are needed.
 */
static bool line_end(const char *buf, size_t len, size_t line_max, enum frame_end eof, size_t *n,
		     struct frame *f, unsigned char *ended) {
	/* A line of exactly line_max bytes still ends at its terminator. */
	size_t scan = len <= line_max ? len : line_max + 1;
	const char *end = find_end(buf, scan);

	*ended = ENDED_OTHER;
	if (end != NULL) {
		size_t k = (size_t)(end - buf);
		f->consumed = k + 1;
		/* "\r\n" ends a line as '\n' does: the CR is no text. */
		*n = k > 0 && buf[k - 1] == '\r' && *end == '\n' ? k - 1 : k;
		f->brk = *end == '\n' ? FRAME_BREAK_NONE : FRAME_BREAK_NUL;
		*ended = *end == '\n' ? ENDED_NEWLINE : ENDED_NUL;
	} else if (len > line_max) {
		*n = line_max;
		f->consumed = line_max;
		f->brk = FRAME_BREAK_LINE_MAX;
	} else if (eof) {
		*n = len;
		f->consumed = len;
		f->brk = end_break(eof);
	} else {
		return false;
	}
	return true;
}

/*
 * The end of an octet-counted message of which want bytes are still to come
 * and have are there: sets *n, f->brk and f->consumed (the count's own bytes
 * excluded) and *left. Returns false when more bytes are needed.
 */
static bool counted_end(size_t want, size_t have, size_t line_max, enum frame_end eof, size_t *n,
			struct frame *f, size_t *left) {
	*n = want < line_max ? want : line_max;
	if (have < *n) {
		if (!eof)
			return false;
		*n = have;
		/* A cut message goes on: the rest of its count follows. */
		*left = eof == FRAME_CUT ? want - have : 0;
		f->brk = end_break(eof);
	} else {
		*left = want - *n;
		f->brk = *left > 0 ? FRAME_BREAK_LINE_MAX : FRAME_BREAK_NONE;
	}
	f->consumed = *n;
	return true;
}

/* A later piece of a split message: no header, what the first piece had. */
static bool frame_rest(const char *buf, size_t len, size_t line_max, enum frame_end eof,
		       struct frame_state *st, struct frame *f) {
	unsigned char ended = ENDED_OTHER;
	size_t n, left = 0;

	if (st->counted > 0 ? !counted_end(st->counted, len, line_max, eof, &n, f, &left)
			    : !line_end(buf, len, line_max, eof, &n, f, &ended))
		return false;
	/* A message's trailing blanks go at its end; a piece that it goes on after keeps them. */
	if (st->counted == 0 && !continued(f->brk) && st->priority >= 0)
		n = syslog_trim(buf, 0, n);
	f->start = 0;
	f->len = n;
	f->fields.ident = f->fields.pid = f->fields.timestamp = (struct span){0};
	f->fields.hostname = f->fields.msgid = f->fields.sd = (struct span){0};
	st->counted = left;
	st->ended = ended;
	st->mid_line = continued(f->brk);
	carried_header(st, f);
	return true;
}

static bool frame_syslog(const char *buf, size_t len, size_t line_max, enum frame_end eof,
			 struct frame_state *st, struct frame *f) {
	unsigned char ended = ENDED_OTHER;
	size_t at = 0, n, prefix, mlen, left = 0;

	if (st->mid_line)
		return frame_rest(buf, len, line_max, eof, st, f);

	/* The second byte of a "\n\0" or "\0\n" ends nothing more. */
	if ((st->ended == ENDED_NEWLINE && buf[0] == '\0') ||
	    (st->ended == ENDED_NUL && buf[0] == '\n'))
		at = 1;
	if (at == len)
		return false;

	int counted = octet_count(buf + at, len - at, eof, &prefix, &mlen);
	if (counted < 0)
		return false;
	if (counted > 0) {
		at += prefix;
		if (!counted_end(mlen, len - at, line_max, eof, &n, f, &left))
			return false;
	} else if (!line_end(buf + at, len - at, line_max, eof, &n, f, &ended)) {
		return false;
	}
	f->consumed += at;

	/*
	 * An octet-counted message is exactly the bytes its count says; a piece
	 * split at line_max or cut is not the message's end: its blanks are text.
	 */
	read_header(buf, at, n, counted == 0 && !continued(f->brk), st, f);
	st->counted = left;
	st->ended = ended;
	st->mid_line = continued(f->brk);
	if (st->mid_line)
		carry_header(st, f);
	return true;
}

static bool frame(const char *buf, size_t len, size_t line_max, enum frame_end end,
		  struct frame_state *st, struct frame *f) {
	if (len == 0)
		return false;
	if (st->syslog)
		return frame_syslog(buf, len, line_max, end, st, f);
	return frame_lines(buf, len, line_max, end, st, f);
}

bool frame_next(const char *buf, size_t len, size_t line_max, bool eof, struct frame_state *st,
		struct frame *f) {
	return frame(buf, len, line_max, eof ? FRAME_EOF : FRAME_MORE, st, f);
}

bool frame_cut(const char *buf, size_t len, size_t line_max, struct frame_state *st,
	       struct frame *f) {
	return frame(buf, len, line_max, FRAME_CUT, st, f);
}

bool frame_undecided(const char *buf, size_t len, const struct frame_state *st) {
	size_t at = 0, prefix, mlen;
	int pri;

	if (len == 0 || st->mid_line || st->no_prefix)
		return false;
	/* As frame_lines() waits: "<" or "<N", N 0..7. */
	if (!st->syslog)
		return len == 1 ? buf[0] == '<'
				: len == 2 && buf[0] == '<' && buf[1] >= '0' && buf[1] <= '7';
	if ((st->ended == ENDED_NEWLINE && buf[0] == '\0') ||
	    (st->ended == ENDED_NUL && buf[0] == '\n'))
		at = 1;
	if (at == len)
		return false;
	if (octet_count(buf + at, len - at, FRAME_MORE, &prefix, &mlen) < 0)
		return true;
	/* A "<PRI>" half written, with nothing after it. */
	return len - at < SYSLOG_PRI_MAX && syslog_pri(buf + at, len - at, &pri) == 0 &&
	       pri_may_follow(buf + at, len - at);
}
