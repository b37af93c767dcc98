/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the stream framing the way the server drives it: bytes arrive in
 * chunks, the server sees at most a window of them (what it peeks), the state
 * is kept only after an entry was written, and the end of the stream comes
 * last. Checks that no byte is lost, added or changed, that every entry obeys
 * line_max and the "<N>" rules, that a full window always yields an entry (or
 * the server would stop reading a producer), and that how the bytes were cut
 * into chunks never changes the entries. In syslog mode also that NUL,
 * "\r\n" and octet counting frame as documented, that a whole line with a
 * header loses its trailing blanks and nothing else does, and that each
 * entry's header is what syslog_parse() reads from it.
 *
 * Input: byte 0 picks the mode (its top bit: syslog) and line_max, byte 1
 * seeds the chunk sizes, the rest is what the producer wrote.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"
#include "syslog-header.h"

struct entry {
	size_t at;  /* offset of the entry's first byte in the input */
	size_t len; /* text length */
	size_t consumed;
	size_t start;
	int priority, facility;
	enum frame_break brk;
	char ident[FRAME_IDENT_MAX + 1], pid[17]; /* copied: they may point into the state */
	size_t ident_len, pid_len;
};

struct run {
	struct entry *e;
	size_t n, cap;
};

static void add(struct run *r, size_t at, const struct frame *f) {
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->e = realloc(r->e, r->cap * sizeof(*r->e));
		CHECK(r->e);
	}
	struct entry *e = &r->e[r->n++];
	*e = (struct entry){.at = at,
			    .len = f->len,
			    .consumed = f->consumed,
			    .start = f->start,
			    .priority = f->priority,
			    .facility = f->facility,
			    .brk = f->brk};
	/* Longer identifiers than the copy holds are compared by the entries' offsets. */
	if (f->fields.ident.len <= FRAME_IDENT_MAX && f->fields.pid.len <= 16) {
		e->ident_len = f->fields.ident.len;
		e->pid_len = f->fields.pid.len;
		if (e->ident_len)
			memcpy(e->ident, f->fields.ident.p, e->ident_len);
		if (e->pid_len)
			memcpy(e->pid, f->fields.pid.p, e->pid_len);
	} else {
		e->ident_len = e->pid_len = SIZE_MAX;
	}
}

static bool within(struct span s, const char *from, const char *to) {
	return s.len == 0 || (s.p >= from && s.p + s.len <= to);
}

/*
 * syslog mode: where the message starts in the entry, after the second byte of
 * a terminator pair and an octet count; sets *counted when it had one.
 */
static size_t message_start(const uint8_t *e, size_t n, const struct frame_state *before,
			    bool *counted) {
	size_t m = 0;

	if (n > 0 && ((before->ended == 1 && e[0] == 0) || (before->ended == 2 && e[0] == '\n')))
		m = 1;
	*counted = false;
	if (m < n && e[m] >= '1' && e[m] <= '9') {
		size_t d = m;
		while (d < n && d - m < 10 && e[d] >= '0' && e[d] <= '9')
			d++;
		if (d - m <= 9 && d + 1 < n && e[d] == ' ' && e[d + 1] == '<') {
			int pri;
			size_t pl = syslog_pri((const char *)e + d + 1, n - d - 1, &pri);
			size_t v = strtoul((const char *)e + m, NULL, 10);
			if (pl > 0 && v >= pl) {
				*counted = true;
				m = d + 1;
			}
		}
	}
	return m;
}

static void check_syslog_entry(const uint8_t *in, size_t in_len, size_t at, const char *framed,
			       const struct frame *f, size_t line_max,
			       const struct frame_state *before, const struct frame_state *after) {
	const uint8_t *e = in + at;
	const char *text = (const char *)e + f->start;
	bool counted = before->mid_line && before->counted > 0;

	CHECK(f->start + f->len <= f->consumed);
	CHECK(f->len <= line_max);
	CHECK(f->priority >= -1 && f->priority <= 7);
	CHECK(f->facility >= -1 && f->facility <= 23);
	CHECK(f->brk <= FRAME_BREAK_NUL);
	if (before->mid_line) {
		/* A later piece: no header, the first piece's priority and identifier. */
		CHECK(f->start == 0);
		CHECK(f->priority == before->priority && f->facility == before->facility);
		CHECK(f->fields.ident.len == before->ident_len);
		CHECK(f->fields.timestamp.len == 0 && f->fields.sd.len == 0);
	} else {
		/* What follows the entry decides an octet count, as it did for frame_next(). */
		size_t m = message_start(e, in_len - at, before, &counted);
		size_t view = f->start + f->len - m;
		struct syslog_header h;
		CHECK(m <= f->start);
		syslog_parse((const char *)e + m, view, &h);
		if (before->no_prefix)
			CHECK(f->start == m && f->priority == -1 && f->fields.ident.len == 0);
		else
			CHECK(h.text == f->start - m && h.priority == f->priority &&
			      h.facility == f->facility &&
			      h.fields.ident.len == f->fields.ident.len);
		/* The fields point into the bytes given to frame_next(), before the text. */
		const char *lo = framed + m, *hi = framed + f->start;
		CHECK(within(f->fields.ident, lo, hi) && within(f->fields.pid, lo, hi));
		CHECK(within(f->fields.timestamp, lo, hi) && within(f->fields.hostname, lo, hi));
		CHECK(within(f->fields.msgid, lo, hi) && within(f->fields.sd, lo, hi));
	}
	if (!counted) {
		/* A line: no terminator inside, and the one it ended with is the right one. */
		CHECK(memchr(text, '\n', f->len) == NULL && memchr(text, 0, f->len) == NULL);
		size_t end =
			f->consumed - (f->brk == FRAME_BREAK_NONE || f->brk == FRAME_BREAK_NUL);
		if (f->brk == FRAME_BREAK_NONE)
			CHECK(e[end] == '\n');
		if (f->brk == FRAME_BREAK_NUL)
			CHECK(e[end] == 0);
		if (f->brk == FRAME_BREAK_LINE_MAX)
			CHECK(f->start + f->len == end);
		/*
		 * Between the text and its end: nothing, a CR before a '\n', or (a
		 * whole line with a header) the trailing blanks, and all of them.
		 */
		const uint8_t *gap = e + f->start + f->len;
		size_t gn = end - f->start - f->len;
		if (f->priority >= 0 && f->brk != FRAME_BREAK_LINE_MAX) {
			for (size_t i = 0; i < gn; i++)
				CHECK(gap[i] == ' ' || gap[i] == '\t' || gap[i] == '\r');
			CHECK(f->len == 0 ||
			      !(text[f->len - 1] == ' ' || text[f->len - 1] == '\t' ||
				text[f->len - 1] == '\r'));
		} else {
			CHECK(gn == 0 || (gn == 1 && gap[0] == '\r' && f->brk == FRAME_BREAK_NONE));
		}
	} else {
		CHECK(f->brk != FRAME_BREAK_NUL);
		CHECK(f->start + f->len == f->consumed);
	}
	if (f->brk != FRAME_BREAK_EOF && f->brk != FRAME_BREAK_LINE_MAX)
		CHECK(!after->mid_line);
	if (f->brk == FRAME_BREAK_LINE_MAX)
		CHECK(after->mid_line);
}

/* What must hold for every entry, whatever came before it. */
static void check_entry(const uint8_t *in, size_t at, const struct frame *f, size_t line_max,
			bool was_mid_line) {
	CHECK(f->start == 0 || f->start == 3);
	CHECK(f->len <= line_max);
	CHECK(f->priority >= -1 && f->priority <= 7);
	CHECK(f->consumed == f->start + f->len + (f->brk == FRAME_BREAK_NONE));
	CHECK(memchr(in + at + f->start, '\n', f->len) == NULL);
	if (f->brk == FRAME_BREAK_NONE)
		CHECK(in[at + f->start + f->len] == '\n');
	if (f->brk == FRAME_BREAK_LINE_MAX)
		CHECK(f->len == line_max);
	if (f->start == 3) {
		CHECK(!was_mid_line);
		CHECK(in[at] == '<' && in[at + 2] == '>');
		CHECK(f->priority == in[at + 1] - '0');
	}
}

/*
 * Frames in[0..len) as the server does; chunk == 0 means everything at once.
 * The window is as large as the server's read buffer relative to line_max.
 */
static void drive(const uint8_t *in, size_t len, size_t line_max, bool syslog, uint32_t seed,
		  size_t chunk, struct run *out) {
	size_t slack = syslog ? FRAME_SLACK : 3;
	size_t cap = line_max + slack + (chunk ? chunk : len + 1);
	char *win = malloc(cap + 1);
	struct frame_state saved = {.priority = -1, .syslog = syslog, .no_prefix = seed % 13 == 0};
	size_t done = 0, arrived = 0;

	CHECK(win);
	for (;;) {
		if (chunk == 0) {
			arrived = len;
		} else if (arrived < len) {
			seed = seed * 1103515245u + 12345u;
			size_t k = 1 + (seed >> 16) % chunk;
			arrived = arrived + k < len ? arrived + k : len;
		}
		size_t have = arrived - done < cap ? arrived - done : cap;
		bool eof = arrived == len && have == arrived - done;
		memcpy(win, in + done, have);

		struct frame_state st = saved;
		struct frame f;
		size_t pos = 0;
		bool mid = st.mid_line;
		while (frame_next(win + pos, have - pos, line_max, eof, &st, &f)) {
			CHECK(f.consumed > 0 && f.consumed <= have - pos);
			/* The bytes framed are the producer's, unchanged. */
			CHECK(memcmp(win + pos, in + done + pos, f.consumed) == 0);
			if (syslog)
				check_syslog_entry(in, len, done + pos, win + pos, &f, line_max,
						   &saved, &st);
			else
				check_entry(in, done + pos, &f, line_max, mid);
			add(out, done + pos, &f);
			saved = st;
			mid = st.mid_line;
			pos += f.consumed;
		}
		/* A window as large as the server's always holds an entry. */
		CHECK(have - pos < line_max + slack + !syslog);
		done += pos;
		if (eof) {
			/* All is framed, but the second byte of a "\n\0" pair. */
			CHECK(done == len || (syslog && done + 1 == len && !saved.mid_line &&
					      ((saved.ended == 1 && in[done] == 0) ||
					       (saved.ended == 2 && in[done] == '\n'))));
			break;
		}
	}
	free(win);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if (size < 2)
		return 0;
	size_t line_max = 1 + (data[0] & 0x7f) % 96;
	bool syslog = data[0] & 0x80;
	uint32_t seed = data[1];
	const uint8_t *in = data + 2;
	size_t len = size - 2;
	struct run whole = {0}, cut = {0};

	drive(in, len, line_max, syslog, seed, 0, &whole);
	drive(in, len, line_max, syslog, seed, 1 + seed % 17, &cut);

	/* Entries tile the input: nothing lost, nothing added (but a pair's second byte at the
	 * end). */
	size_t at = 0;
	for (size_t i = 0; i < whole.n; i++) {
		CHECK(whole.e[i].at == at);
		at += whole.e[i].consumed;
	}
	CHECK(at == len || (syslog && at + 1 == len && (in[at] == 0 || in[at] == '\n')));

	/* Chunk boundaries are invisible in the result. */
	CHECK(cut.n == whole.n);
	for (size_t i = 0; i < whole.n; i++) {
		const struct entry *a = &whole.e[i], *b = &cut.e[i];
		CHECK(a->at == b->at && a->len == b->len && a->consumed == b->consumed);
		CHECK(a->priority == b->priority && a->brk == b->brk);
		CHECK(a->start == b->start && a->facility == b->facility);
		CHECK(a->ident_len == b->ident_len && a->pid_len == b->pid_len);
		if (a->ident_len != SIZE_MAX)
			CHECK(memcmp(a->ident, b->ident, a->ident_len) == 0 &&
			      memcmp(a->pid, b->pid, a->pid_len) == 0);
	}

	free(whole.e);
	free(cut.e);
	return 0;
}
