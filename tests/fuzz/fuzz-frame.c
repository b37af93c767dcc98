/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the stream framing the way the server drives it: bytes arrive in
 * chunks, the server sees at most a window of them (what it peeks), the state
 * is kept only after an entry was written, and the end of the stream comes
 * last. Checks that no byte is lost, added or changed, that every entry obeys
 * line_max and the "<N>" rules, that a full window always yields an entry (or
 * the server would stop reading a producer), and that how the bytes were cut
 * into chunks never changes the entries.
 *
 * Input: byte 0 picks line_max, byte 1 seeds the chunk sizes, the rest is
 * what the producer wrote.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"

struct entry {
	size_t at;  /* offset of the entry's first byte in the input */
	size_t len; /* text length */
	size_t consumed;
	int priority;
	enum frame_break brk;
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
	r->e[r->n++] = (struct entry){at, f->len, f->consumed, f->priority, f->brk};
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
static void drive(const uint8_t *in, size_t len, size_t line_max, uint32_t seed, size_t chunk,
		  struct run *out) {
	size_t cap = line_max + 3 + (chunk ? chunk : len + 1);
	char *win = malloc(cap + 1);
	struct frame_state saved = {.priority = -1};
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
			check_entry(in, done + pos, &f, line_max, mid);
			add(out, done + pos, &f);
			saved = st;
			mid = st.mid_line;
			pos += f.consumed;
		}
		/* A window as large as the server's always holds an entry. */
		CHECK(have - pos <= line_max + 3);
		done += pos;
		if (eof) {
			CHECK(done == len);
			break;
		}
	}
	free(win);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if (size < 2)
		return 0;
	size_t line_max = 1 + data[0] % 96;
	uint32_t seed = data[1];
	const uint8_t *in = data + 2;
	size_t len = size - 2;
	struct run whole = {0}, cut = {0};

	drive(in, len, line_max, seed, 0, &whole);
	drive(in, len, line_max, seed, 1 + seed % 17, &cut);

	/* Entries tile the input: nothing lost, nothing added. */
	size_t at = 0;
	for (size_t i = 0; i < whole.n; i++) {
		CHECK(whole.e[i].at == at);
		at += whole.e[i].consumed;
	}
	CHECK(at == len);

	/* Chunk boundaries are invisible in the result. */
	CHECK(cut.n == whole.n);
	for (size_t i = 0; i < whole.n; i++) {
		const struct entry *a = &whole.e[i], *b = &cut.e[i];
		CHECK(a->at == b->at && a->len == b->len && a->consumed == b->consumed);
		CHECK(a->priority == b->priority && a->brk == b->brk);
	}

	free(whole.e);
	free(cut.e);
	return 0;
}
