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
	int fac[16];
	char ident[16][80]; /* copied at once: a later call may change what it points to */
	char pid[16][16];
	int n;
};

/* Chunks are strings; in syslog mode a "\0" in them is written as '~'. */
static void feed_st(const char *const *chunks, size_t n_chunks, size_t line_max,
		    struct frame_state st, struct out *o) {
	char buf[4096];
	size_t have = 0;
	struct frame f;

	memset(o, 0, sizeof(*o));
	for (size_t c = 0; c <= n_chunks; c++) {
		bool eof = c == n_chunks;
		if (!eof) {
			size_t l = strlen(chunks[c]);
			memcpy(buf + have, chunks[c], l);
			for (size_t i = 0; st.syslog && i < l; i++)
				if (buf[have + i] == '~')
					buf[have + i] = '\0';
			have += l;
		}
		size_t pos = 0;
		while (frame_next(buf + pos, have - pos, line_max, eof, &st, &f)) {
			cr_assert_lt(o->n, 16);
			cr_assert_gt(f.consumed, 0);
			memcpy(o->text[o->n], buf + pos + f.start, f.len);
			o->len[o->n] = f.len;
			o->prio[o->n] = f.priority;
			o->brk[o->n] = f.brk;
			o->fac[o->n] = f.facility;
			memcpy(o->ident[o->n], f.fields.ident.p ? f.fields.ident.p : "",
			       f.fields.ident.len);
			memcpy(o->pid[o->n], f.fields.pid.p ? f.fields.pid.p : "",
			       f.fields.pid.len);
			o->n++;
			pos += f.consumed;
		}
		memmove(buf, buf + pos, have - pos);
		have -= pos;
	}
	/* Only the second byte of a "\n\0" pair may be left, and it ends nothing. */
	cr_assert(have == 0 || (st.syslog && have == 1 && (buf[0] == '\0' || buf[0] == '\n')),
		  "bytes left over at EOF");
}

static void feed(const char *const *chunks, size_t n_chunks, size_t line_max, struct out *o) {
	feed_st(chunks, n_chunks, line_max, (struct frame_state){.priority = -1}, o);
}

#define FEED(o, max, ...)                                                                          \
	do {                                                                                       \
		const char *ch[] = {__VA_ARGS__};                                                  \
		feed(ch, sizeof(ch) / sizeof(*ch), max, o);                                        \
	} while (0)

/* Syslog mode: NUL written as '~'. */
#define FEED_SYSLOG(o, max, ...)                                                                   \
	do {                                                                                       \
		const char *ch[] = {__VA_ARGS__};                                                  \
		feed_st(ch, sizeof(ch) / sizeof(*ch), max,                                         \
			(struct frame_state){.priority = -1, .syslog = true}, o);                  \
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

/* ---- syslog mode ---- */

static void expect_sl(const struct out *o, int i, const char *text, int prio, int fac,
		      const char *ident, const char *pid, enum frame_break brk) {
	expect(o, i, text, prio, brk);
	cr_assert_eq(o->fac[i], fac, "entry %d facility %d, want %d", i, o->fac[i], fac);
	cr_assert_str_eq(o->ident[i], ident, "entry %d identifier", i);
	cr_assert_str_eq(o->pid[i], pid, "entry %d pid", i);
}

Test(frame_syslog, nul_ends_a_message) {
	struct out o;
	/* Python's SysLogHandler on a stream socket. */
	FEED_SYSLOG(&o, 100, "<12>app: one~<11>app: two~");
	cr_assert_eq(o.n, 2);
	expect_sl(&o, 0, "one", 4, 1, "app", "", FRAME_BREAK_NUL);
	expect_sl(&o, 1, "two", 3, 1, "app", "", FRAME_BREAK_NUL);
}

Test(frame_syslog, newline_then_nul_is_one_terminator) {
	struct out o;
	FEED_SYSLOG(&o, 100,
		    "<134>Nov 25 19:17:04 app[382]: one\n~<134>Nov 25 19:17:05 app[382]: two\n~");
	cr_assert_eq(o.n, 2);
	expect_sl(&o, 0, "one", 6, 16, "app", "382", FRAME_BREAK_NONE);
	expect_sl(&o, 1, "two", 6, 16, "app", "382", FRAME_BREAK_NONE);
}

Test(frame_syslog, nul_then_newline_is_one_terminator) {
	struct out o;
	FEED_SYSLOG(&o, 100, "a~\nb~");
	cr_assert_eq(o.n, 2);
	expect_sl(&o, 0, "a", -1, -1, "", "", FRAME_BREAK_NUL);
	expect_sl(&o, 1, "b", -1, -1, "", "", FRAME_BREAK_NUL);
}

Test(frame_syslog, pair_split_over_reads) {
	struct out o;
	FEED_SYSLOG(&o, 100, "a\n", "~", "b\n", "~");
	cr_assert_eq(o.n, 2);
	expect_sl(&o, 0, "a", -1, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 1, "b", -1, -1, "", "", FRAME_BREAK_NONE);
}

Test(frame_syslog, a_message_is_not_held_back_for_the_pair) {
	struct frame_state st = {.priority = -1, .syslog = true};
	struct frame f;

	cr_assert(frame_next("<13>app: a\n", 11, 100, false, &st, &f));
	cr_assert_eq(f.consumed, 11);
	cr_assert_eq(f.brk, FRAME_BREAK_NONE);
	/* The NUL alone: nothing to give yet, and nothing taken. */
	cr_assert_not(frame_next("\0", 1, 100, false, &st, &f));
	cr_assert_not(frame_next("\0", 1, 100, true, &st, &f));
	/* With the next message, the NUL goes with it. */
	cr_assert(frame_next("\0b\0", 3, 100, false, &st, &f));
	cr_assert_eq(f.consumed, 3);
	cr_assert_eq(f.start, 1);
	cr_assert_eq(f.len, 1);
	cr_assert_eq(f.brk, FRAME_BREAK_NUL);
}

Test(frame_syslog, repeated_terminators_are_empty_messages) {
	struct out o;
	FEED_SYSLOG(&o, 100, "a\n\nb~~c\n~\n");
	cr_assert_eq(o.n, 6);
	expect_sl(&o, 0, "a", -1, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 1, "", -1, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 2, "b", -1, -1, "", "", FRAME_BREAK_NUL);
	expect_sl(&o, 3, "", -1, -1, "", "", FRAME_BREAK_NUL);
	expect_sl(&o, 4, "c", -1, -1, "", "", FRAME_BREAK_NONE);
	/* "\n~" paired; the last '\n' ends an empty message of its own. */
	expect_sl(&o, 5, "", -1, -1, "", "", FRAME_BREAK_NONE);
}

Test(frame_syslog, lines_mode_keeps_nul_in_the_text) {
	struct out o;
	FEED(&o, 100, "<12>a~b\n");
	cr_assert_eq(o.n, 1);
	expect(&o, 0, "<12>a~b", -1, FRAME_BREAK_NONE);
}

Test(frame_syslog, octet_counting) {
	struct out o;
	/* logger --octet-count: no terminator; the count is all that ends a message. */
	FEED_SYSLOG(&o, 100, "30 <13>Nov 25 19:17:04 myapp: msg", "14 <14>app: a\nb~c",
		    "7 <9>x\n\n\n");
	cr_assert_eq(o.n, 3);
	expect_sl(&o, 0, "msg", 5, 1, "myapp", "", FRAME_BREAK_NONE);
	cr_assert_arr_eq(o.text[1], "a\nb\0c", 5);
	expect_sl(&o, 2, "x\n\n\n", 1, 1, "", "", FRAME_BREAK_NONE);
}

Test(frame_syslog, octet_count_split_over_reads) {
	struct out o;
	FEED_SYSLOG(&o, 100, "1", "1 ", "<1", "3>a", "pp: xy", "12 <13>a: bc");
	cr_assert_eq(o.n, 2);
	expect_sl(&o, 0, "xy", 5, 1, "app", "", FRAME_BREAK_NONE);
	expect_sl(&o, 1, "bc", 5, 1, "a", "", FRAME_BREAK_EOF);
}

Test(frame_syslog, numbers_that_are_no_octet_count_stay_text) {
	struct out o;
	FEED_SYSLOG(&o, 100, "12 apples\n", "5 <b>\n", "07 <13>x\n", "1234567890 <13>x\n",
		    "3 <13>x\n", "4 <1000>\n");
	cr_assert_eq(o.n, 6);
	expect_sl(&o, 0, "12 apples", -1, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 1, "5 <b>", -1, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 2, "07 <13>x", -1, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 3, "1234567890 <13>x", -1, -1, "", "", FRAME_BREAK_NONE);
	/* A count too small to hold its own "<PRI>" is no count. */
	expect_sl(&o, 4, "3 <13>x", -1, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 5, "4 <1000>", -1, -1, "", "", FRAME_BREAK_NONE);
}

Test(frame_syslog, octet_count_beyond_line_max_is_split_not_lost) {
	struct out o;
	FEED_SYSLOG(&o, 10, "22 <13>app: 0123456789abc", "x\n");
	cr_assert_eq(o.n, 4);
	expect_sl(&o, 0, "0", 5, 1, "app", "", FRAME_BREAK_LINE_MAX);
	expect_sl(&o, 1, "123456789a", 5, 1, "app", "", FRAME_BREAK_LINE_MAX);
	expect_sl(&o, 2, "bc", 5, 1, "app", "", FRAME_BREAK_NONE);
	expect_sl(&o, 3, "x", -1, -1, "", "", FRAME_BREAK_NONE);
}

Test(frame_syslog, octet_count_cut_short_by_eof) {
	struct out o;
	FEED_SYSLOG(&o, 100, "40 <13>app: ab");
	cr_assert_eq(o.n, 1);
	expect_sl(&o, 0, "ab", 5, 1, "app", "", FRAME_BREAK_EOF);
}

Test(frame_syslog, split_line_carries_priority_facility_and_identifier) {
	struct out o;
	FEED_SYSLOG(&o, 40, "<30>Nov  5 09:07:04 sshd[382]: 0123456789abcdefghijklmnopqrstuvwxyz~");
	cr_assert_eq(o.n, 2);
	/* line_max counts the message as written, header included. */
	expect_sl(&o, 0, "012345678", 6, 3, "sshd", "382", FRAME_BREAK_LINE_MAX);
	expect_sl(&o, 1, "9abcdefghijklmnopqrstuvwxyz", 6, 3, "sshd", "382", FRAME_BREAK_NUL);
}

Test(frame_syslog, sd_daemon_prefix_and_plain_lines) {
	struct out o;
	FEED_SYSLOG(&o, 100, "<4>disk: full\nplain: text\n<9>x\n<999>y\n");
	cr_assert_eq(o.n, 4);
	expect_sl(&o, 0, "disk: full", 4, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 1, "plain: text", -1, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 2, "x", 1, 1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 3, "<999>y", -1, -1, "", "", FRAME_BREAK_NONE);
}

Test(frame_syslog, header_split_over_reads) {
	struct out o;
	FEED_SYSLOG(&o, 100, "<1", "55>Nov 25 19:1", "7:04 myapp: m", "sg\n");
	cr_assert_eq(o.n, 1);
	expect_sl(&o, 0, "msg", 3, 19, "myapp", "", FRAME_BREAK_NONE);
}

Test(frame_syslog, rfc5424_fields_point_into_the_buffer) {
	const char m[] = "<13>1 2026-11-25T19:17:04.65+00:00 host myapp - MID [x@1 a=\"1\"] msg\n";
	struct frame_state st = {.priority = -1, .syslog = true};
	struct frame f;

	cr_assert(frame_next(m, sizeof(m) - 1, 100, false, &st, &f));
	cr_assert_eq(f.consumed, sizeof(m) - 1);
	cr_assert_eq(f.len, 3);
	cr_assert_arr_eq(m + f.start, "msg", 3);
	cr_assert_eq(f.fields.hostname.p, m + 35);
	cr_assert_eq(f.fields.sd.len, strlen("[x@1 a=\"1\"]"));
	cr_assert_eq(f.fields.msgid.len, 3);
}

Test(frame_syslog, no_prefix_reads_no_header) {
	struct out o;
	const char *ch[] = {"<13>app: x~"};
	feed_st(ch, 1, 100, (struct frame_state){.priority = -1, .syslog = true, .no_prefix = true},
		&o);
	cr_assert_eq(o.n, 1);
	expect_sl(&o, 0, "<13>app: x", -1, -1, "", "", FRAME_BREAK_NUL);
}

Test(frame_syslog, crlf_ends_a_line) {
	struct out o;
	FEED_SYSLOG(&o, 100, "<2>Oct 11 22:14:15 myhostname sshd[1234]: message 0\r\n", "plain\r\n",
		    "a\rb\n", "\r\n");
	cr_assert_eq(o.n, 4);
	expect_sl(&o, 0, "message 0", 2, 0, "sshd", "1234", FRAME_BREAK_NONE);
	expect_sl(&o, 1, "plain", -1, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 2, "a\rb", -1, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 3, "", -1, -1, "", "", FRAME_BREAK_NONE);
}

Test(frame_syslog, trailing_blanks_of_a_syslog_line_go) {
	struct out o;
	FEED_SYSLOG(&o, 100, "<5>Trailing spaces \t \n", "<13>app: x  ~", "plain  \n",
		    "12 <13>app: x  ");
	cr_assert_eq(o.n, 4);
	expect_sl(&o, 0, "Trailing spaces", 5, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 1, "x", 5, 1, "app", "", FRAME_BREAK_NUL);
	/* Text without a header is kept as written; a count says exactly which bytes. */
	expect_sl(&o, 2, "plain  ", -1, -1, "", "", FRAME_BREAK_NONE);
	expect_sl(&o, 3, "x  ", 5, 1, "app", "", FRAME_BREAK_NONE);
}

Test(frame_syslog, trailing_blanks_of_a_split_line_go_at_its_end_only) {
	struct out o;
	FEED_SYSLOG(&o, 10, "<13>app: 01234567  9 \n");
	cr_assert_eq(o.n, 3);
	expect_sl(&o, 0, "0", 5, 1, "app", "", FRAME_BREAK_LINE_MAX);
	expect_sl(&o, 1, "1234567  9", 5, 1, "app", "", FRAME_BREAK_LINE_MAX);
	expect_sl(&o, 2, "", 5, 1, "app", "", FRAME_BREAK_NONE);
}

/* frame_cut() of all of buf, with a line_max of 64: a piece cut there, its text `text`. */
static void expect_cut(const char *buf, const char *text, struct frame_state *st, struct frame *f) {
	cr_assert(frame_cut(buf, strlen(buf), 64, st, f), "%s", buf);
	cr_assert_eq(f->brk, FRAME_BREAK_CUT, "%s", buf);
	cr_assert_eq(f->len, strlen(text), "%s", buf);
	cr_assert_eq(memcmp(buf + f->start, text, f->len), 0, "%s", buf);
}

/* frame_cut(): the piece ends where the buffer does, and the next goes on with its message. */
Test(frame, cut_keeps_the_priority_of_a_line) {
	struct frame_state st = {.priority = -1};
	struct frame f;

	expect_cut("<3>abc", "abc", &st, &f);
	cr_assert_eq(f.consumed, 6);
	cr_assert(st.mid_line);
	cr_assert(frame_next("def\n<5>x\n", 9, 64, false, &st, &f));
	cr_assert_eq(f.len, 3);
	cr_assert_eq(f.priority, 3);
	cr_assert_eq(f.brk, FRAME_BREAK_NONE);
	cr_assert(frame_next("<5>x\n", 5, 64, false, &st, &f));
	cr_assert_eq(f.priority, 5);
}

Test(frame, cut_keeps_an_octet_counts_rest_and_header) {
	struct frame_state st = {.priority = -1, .syslog = true};
	struct frame f;
	const char *first = "13 <13>app: ab", *rest = "cd8 <13>xyzw";

	expect_cut(first, "ab", &st, &f);
	cr_assert_eq(st.counted, 2);
	cr_assert(frame_next(rest, strlen(rest), 64, false, &st, &f));
	cr_assert_eq(f.len, 2);
	cr_assert_eq(f.consumed, 2);
	cr_assert_eq(f.priority, 5);
	cr_assert_eq(f.fields.ident.len, 3);
	cr_assert(frame_next(rest + 2, strlen(rest) - 2, 64, false, &st, &f));
	cr_assert_eq(f.len, 4);
	cr_assert_eq(f.brk, FRAME_BREAK_NONE);
}

/*
 * A cut piece is not the message's end: its trailing blanks are text of the
 * message, not the blanks journald drops at its end (they were lost when the
 * budget cut a syslog message after a blank, found by fuzz-crash).
 */
Test(frame, cut_keeps_blanks_before_the_cut) {
	struct frame_state st = {.priority = -1, .syslog = true};
	struct frame f;
	const char *first = "<13>app: hello \r", *rest = "world \n";

	expect_cut(first, "hello \r", &st, &f);
	cr_assert_eq(f.consumed, strlen(first));
	cr_assert(frame_next(rest, strlen(rest), 64, false, &st, &f));
	cr_assert_eq(f.len, 5); /* the message's own trailing blank goes */
	cr_assert_eq(f.priority, 5);

	/* The rest of a message cut before, cut again: its blanks stay too. */
	st = (struct frame_state){.priority = -1, .syslog = true};
	expect_cut("<13>a ", "a ", &st, &f);
	expect_cut("b  ", "b  ", &st, &f);
	cr_assert(frame_next("c \n", 3, 64, false, &st, &f));
	cr_assert_eq(f.len, 1);
}

/* A cut between the CR and LF of "\r\n": the CR is text of the cut piece (mpsr(7)). */
Test(frame, cut_inside_crlf_keeps_the_cr) {
	struct frame_state st = {.priority = -1, .syslog = true};
	struct frame f;

	expect_cut("<13>app: one\r", "one\r", &st, &f);
	cr_assert(frame_next("\n", 1, 64, false, &st, &f));
	cr_assert_eq(f.brk, FRAME_BREAK_NONE);
	cr_assert_eq(f.len, 0);
	cr_assert_eq(f.priority, 5);

	/* Uncut, the CR belongs to the end. */
	st = (struct frame_state){.priority = -1, .syslog = true};
	cr_assert(frame_next("<13>app: one\r\n", 14, 64, false, &st, &f));
	cr_assert_eq(f.len, 3);
}

/* What frame_cut() would take for text though more bytes could make it a prefix or a count. */
Test(frame, undecided_starts) {
	struct frame_state lines = {.priority = -1}, sys = {.priority = -1, .syslog = true};
	const char *yes_lines[] = {"<", "<3"}, *no_lines[] = {"<3>", "<8", "a", "<3>a", "3"};
	const char *yes_sys[] = {"1", "17", "17 ", "17 <", "17 <1", "17 <13", "123456789 <191",
				 "<", "<1", "<13", "<191"};
	const char *no_sys[] = {"17 <13>", "<13>", "17 x", "1234567890", "<13>app",
				"a",       "17\n", "<1\n", "07",         "<01"};

	for (size_t i = 0; i < sizeof(yes_lines) / sizeof(*yes_lines); i++)
		cr_assert(frame_undecided(yes_lines[i], strlen(yes_lines[i]), &lines), "%s",
			  yes_lines[i]);
	for (size_t i = 0; i < sizeof(no_lines) / sizeof(*no_lines); i++)
		cr_assert_not(frame_undecided(no_lines[i], strlen(no_lines[i]), &lines), "%s",
			      no_lines[i]);
	for (size_t i = 0; i < sizeof(yes_sys) / sizeof(*yes_sys); i++) {
		cr_assert(frame_undecided(yes_sys[i], strlen(yes_sys[i]), &sys), "%s", yes_sys[i]);
		cr_assert_leq(strlen(yes_sys[i]), FRAME_SLACK);
	}
	for (size_t i = 0; i < sizeof(no_sys) / sizeof(*no_sys); i++)
		cr_assert_not(frame_undecided(no_sys[i], strlen(no_sys[i]), &sys), "%s", no_sys[i]);
	/* After "\n", a NUL is the terminator's second half; what follows it starts the message. */
	sys.ended = 1;
	cr_assert(frame_undecided("\0"
				  "17 <1",
				  6, &sys));
	/* The rest of a split line is text whatever it looks like. */
	sys = (struct frame_state){.priority = 5, .syslog = true, .mid_line = true};
	cr_assert_not(frame_undecided("17 <1", 5, &sys));
}
