/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "frame.h"
#include "priority.h"

enum { ENDED_OTHER, ENDED_NEWLINE, ENDED_NUL };

/* Lines mode: '\n' ends a line, "<N>" may start it. */
static bool frame_lines(const char *buf, size_t len, size_t line_max, bool eof,
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

	*f = (struct frame){.start = skip, .priority = st->priority, .facility = -1};
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
static int octet_count(const char *buf, size_t n, bool eof, size_t *prefix, size_t *mlen) {
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

/* Reads the header of the message piece at buf[at..at+n) into *f. */
static void read_header(const char *buf, size_t at, size_t n, const struct frame_state *st,
			struct frame *f) {
	struct syslog_header h = {.priority = -1, .facility = -1};

	if (!st->no_prefix)
		syslog_parse(buf + at, n, &h);
	f->start = at + h.text;
	f->len = n - h.text;
	f->priority = h.priority;
	f->facility = h.facility;
	f->fields = h.fields;
}

/*
 * Where the message at buf[0..len) ends, for a line (not octet-counted):
 * sets *n (its bytes) and f->brk and f->consumed. Returns false when more
 * bytes are needed.
 */
static bool line_end(const char *buf, size_t len, size_t line_max, bool eof, size_t *n,
		     struct frame *f, struct frame_state *st) {
	/* A line of exactly line_max bytes still ends at its terminator. */
	size_t scan = len <= line_max ? len : line_max + 1;
	const char *end = find_end(buf, scan);

	st->ended = ENDED_OTHER;
	if (end != NULL) {
		*n = (size_t)(end - buf);
		f->consumed = *n + 1;
		f->brk = *end == '\n' ? FRAME_BREAK_NONE : FRAME_BREAK_NUL;
		st->ended = *end == '\n' ? ENDED_NEWLINE : ENDED_NUL;
	} else if (len > line_max) {
		*n = line_max;
		f->consumed = line_max;
		f->brk = FRAME_BREAK_LINE_MAX;
	} else if (eof) {
		*n = len;
		f->consumed = len;
		f->brk = FRAME_BREAK_EOF;
	} else {
		return false;
	}
	return true;
}

/* A later piece of a split message: no header, what the first piece had. */
static bool frame_rest(const char *buf, size_t len, size_t line_max, bool eof,
		       struct frame_state *st, struct frame *f) {
	struct frame_state next = *st;
	size_t n;

	*f = (struct frame){0};
	if (st->counted > 0) {
		n = st->counted < line_max ? st->counted : line_max;
		if (len < n && !eof)
			return false;
		if (len < n) {
			n = len;
			f->brk = FRAME_BREAK_EOF;
			next.counted = 0;
		} else {
			next.counted -= n;
			f->brk = next.counted > 0 ? FRAME_BREAK_LINE_MAX : FRAME_BREAK_NONE;
		}
		f->consumed = n;
		next.ended = ENDED_OTHER;
	} else if (!line_end(buf, len, line_max, eof, &n, f, &next)) {
		return false;
	}
	f->len = n;
	next.mid_line = f->brk == FRAME_BREAK_LINE_MAX;
	*st = next;
	carried_header(st, f);
	return true;
}

static bool frame_syslog(const char *buf, size_t len, size_t line_max, bool eof,
			 struct frame_state *st, struct frame *f) {
	struct frame_state next = *st;
	size_t at = 0, n, prefix, mlen;

	if (st->mid_line)
		return frame_rest(buf, len, line_max, eof, st, f);

	/* The second byte of a "\n\0" or "\0\n" ends nothing more. */
	if ((st->ended == ENDED_NEWLINE && buf[0] == '\0') ||
	    (st->ended == ENDED_NUL && buf[0] == '\n'))
		at = 1;
	if (at == len)
		return false;

	*f = (struct frame){0};
	int counted = octet_count(buf + at, len - at, eof, &prefix, &mlen);
	if (counted < 0)
		return false;
	if (counted > 0) {
		at += prefix;
		n = mlen <= line_max ? mlen : line_max;
		if (len - at < n && !eof)
			return false;
		if (len - at < n) {
			n = len - at;
			f->brk = FRAME_BREAK_EOF;
		} else {
			f->brk = mlen > n ? FRAME_BREAK_LINE_MAX : FRAME_BREAK_NONE;
			next.counted = mlen - n;
		}
		f->consumed = at + n;
		next.ended = ENDED_OTHER;
	} else if (line_end(buf + at, len - at, line_max, eof, &n, f, &next)) {
		f->consumed += at;
	} else {
		return false;
	}

	read_header(buf, at, n, st, f);
	next.mid_line = f->brk == FRAME_BREAK_LINE_MAX;
	*st = next;
	if (st->mid_line)
		carry_header(st, f);
	return true;
}

bool frame_next(const char *buf, size_t len, size_t line_max, bool eof, struct frame_state *st,
		struct frame *f) {
	if (len == 0)
		return false;
	if (st->syslog)
		return frame_syslog(buf, len, line_max, eof, st, f);
	return frame_lines(buf, len, line_max, eof, st, f);
}
