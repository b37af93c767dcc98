/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <string.h>

#include "frame.h"

/* Runs the framer over chunks as a socket would deliver them, keeping what is
 * not consumed for the next chunk, and records every entry. */
struct out {
	char text[16][256];
	size_t len[16];
	int prio[16];
	enum frame_break brk[16];
	int n;
};

static void feed(const char *const *chunks, size_t n_chunks, size_t line_max, struct out *o) {
	char buf[4096];
	size_t have = 0;
	struct frame_state st = {.priority = -1};
	struct frame f;

	memset(o, 0, sizeof(*o));
	for (size_t c = 0; c <= n_chunks; c++) {
		bool eof = c == n_chunks;
		if (!eof) {
			size_t l = strlen(chunks[c]);
			memcpy(buf + have, chunks[c], l);
			have += l;
		}
		size_t pos = 0;
		while (frame_next(buf + pos, have - pos, line_max, eof, &st, &f)) {
			cr_assert_lt(o->n, 16);
			memcpy(o->text[o->n], buf + pos + f.start, f.len);
			o->len[o->n] = f.len;
			o->prio[o->n] = f.priority;
			o->brk[o->n] = f.brk;
			o->n++;
			pos += f.consumed;
		}
		memmove(buf, buf + pos, have - pos);
		have -= pos;
	}
	cr_assert_eq(have, 0, "bytes left over at EOF");
}

#define FEED(o, max, ...)                                                                          \
	do {                                                                                       \
		const char *ch[] = {__VA_ARGS__};                                                  \
		feed(ch, sizeof(ch) / sizeof(*ch), max, o);                                        \
	} while (0)

static void expect(const struct out *o, int i, const char *text, int prio, enum frame_break brk) {
	cr_assert_eq(o->len[i], strlen(text), "entry %d: length %zu, want %zu", i, o->len[i],
		     strlen(text));
	cr_assert_arr_eq(o->text[i], text, strlen(text), "entry %d text", i);
	cr_assert_eq(o->prio[i], prio, "entry %d priority %d, want %d", i, o->prio[i], prio);
	cr_assert_eq(o->brk[i], brk, "entry %d break", i);
}

Test(frame, one_line_per_newline) {
	struct out o;
	FEED(&o, 100, "a\nbb\n\nccc\n");
	cr_assert_eq(o.n, 4);
	expect(&o, 0, "a", -1, FRAME_BREAK_NONE);
	expect(&o, 1, "bb", -1, FRAME_BREAK_NONE);
	expect(&o, 2, "", -1, FRAME_BREAK_NONE);
	expect(&o, 3, "ccc", -1, FRAME_BREAK_NONE);
}

Test(frame, line_split_over_many_writes_is_one_entry) {
	struct out o;
	FEED(&o, 100, "h", "e", "ll", "o wor", "ld", "\n");
	cr_assert_eq(o.n, 1);
	expect(&o, 0, "hello world", -1, FRAME_BREAK_NONE);
}

Test(frame, unterminated_last_line_is_an_entry_at_eof) {
	struct out o;
	FEED(&o, 100, "first\nlast");
	cr_assert_eq(o.n, 2);
	expect(&o, 1, "last", -1, FRAME_BREAK_EOF);
}

Test(frame, nothing_at_eof_after_newline) {
	struct out o;
	FEED(&o, 100, "x\n");
	cr_assert_eq(o.n, 1);
}

Test(frame, long_line_split_at_line_max_without_loss) {
	struct out o;
	FEED(&o, 4, "abcdefghij\n");
	cr_assert_eq(o.n, 3);
	expect(&o, 0, "abcd", -1, FRAME_BREAK_LINE_MAX);
	expect(&o, 1, "efgh", -1, FRAME_BREAK_LINE_MAX);
	expect(&o, 2, "ij", -1, FRAME_BREAK_NONE);
}

Test(frame, line_of_exactly_line_max_is_one_entry) {
	struct out o;
	FEED(&o, 4, "abcd\nefgh", "\n");
	cr_assert_eq(o.n, 2);
	expect(&o, 0, "abcd", -1, FRAME_BREAK_NONE);
	expect(&o, 1, "efgh", -1, FRAME_BREAK_NONE);
}

Test(frame, priority_prefix_sets_priority_and_is_removed) {
	struct out o;
	FEED(&o, 100, "<3>disk failed\n<7>debug\nplain\n");
	cr_assert_eq(o.n, 3);
	expect(&o, 0, "disk failed", 3, FRAME_BREAK_NONE);
	expect(&o, 1, "debug", 7, FRAME_BREAK_NONE);
	expect(&o, 2, "plain", -1, FRAME_BREAK_NONE);
}

Test(frame, prefix_split_across_writes_still_counts) {
	struct out o;
	FEED(&o, 100, "<", "2", ">crit\n");
	cr_assert_eq(o.n, 1);
	expect(&o, 0, "crit", 2, FRAME_BREAK_NONE);
}

Test(frame, invalid_prefixes_are_text) {
	struct out o;
	FEED(&o, 100, "<8>x\n<a>y\n<3z\n<\n");
	cr_assert_eq(o.n, 4);
	expect(&o, 0, "<8>x", -1, FRAME_BREAK_NONE);
	expect(&o, 1, "<a>y", -1, FRAME_BREAK_NONE);
	expect(&o, 2, "<3z", -1, FRAME_BREAK_NONE);
	expect(&o, 3, "<", -1, FRAME_BREAK_NONE);
}

Test(frame, prefix_only_at_line_start_and_kept_across_split) {
	struct out o;
	FEED(&o, 4, "<4>abcdef<3>\n");
	cr_assert_eq(o.n, 3);
	expect(&o, 0, "abcd", 4, FRAME_BREAK_LINE_MAX);
	expect(&o, 1, "ef<3", 4, FRAME_BREAK_LINE_MAX);
	expect(&o, 2, ">", 4, FRAME_BREAK_NONE);
}

Test(frame, nul_and_invalid_utf8_pass_through) {
	char buf[] = {'a', '\0', 'b', (char)0xff, (char)0xc3, '\n'};
	struct frame_state st = {.priority = -1};
	struct frame f;

	cr_assert(frame_next(buf, sizeof(buf), 100, false, &st, &f));
	cr_assert_eq(f.len, 5);
	cr_assert_eq(f.consumed, 6);
	cr_assert_arr_eq(buf + f.start, buf, 5);
}

Test(frame, partial_line_needs_more_and_consumes_nothing) {
	struct frame_state st = {.priority = -1};
	struct frame f;

	cr_assert_not(frame_next("<5>abc", 6, 100, false, &st, &f));
	cr_assert_not(st.mid_line);
	cr_assert(frame_next("<5>abc\n", 7, 100, false, &st, &f));
	cr_assert_eq(f.priority, 5);
	cr_assert_eq(f.len, 3);
}

Test(frame, empty_buffer_at_eof_gives_nothing) {
	struct frame_state st = {.priority = -1};
	struct frame f;

	cr_assert_not(frame_next("", 0, 100, true, &st, &f));
}

Test(frame, huge_line_bytes_add_up) {
	static char big[200 * 1024 + 1];
	struct frame_state st = {.priority = -1};
	struct frame f;
	size_t pos = 0, text = 0;
	int entries = 0;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\n';
	while (frame_next(big + pos, sizeof(big) - pos, 48 * 1024, false, &st, &f)) {
		text += f.len;
		pos += f.consumed;
		entries++;
	}
	cr_assert_eq(pos, sizeof(big));
	cr_assert_eq(text, 200 * 1024);
	cr_assert_eq(entries, 5); /* 4 x 48 KiB + 8 KiB */
}
