/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <string.h>

#include "frame.h"
#include "jstream.h"

/*
 * Frames `in` as the server does and returns the bytes the stream transport
 * would write to journald for it (all of them, as one string), and the number
 * of iovecs they took.
 */
static unsigned to_stream(const char *in, size_t line_max, bool eof, char *out, size_t size) {
	static char buf[4096];
	static struct jstream_batch b;
	struct frame_state st = {.priority = -1};
	struct frame f;
	size_t len = strlen(in), pos = 0, used = 0;

	memcpy(buf, in, len);
	jstream_batch_reset(&b);
	while (frame_next(buf + pos, len - pos, line_max, eof, &st, &f)) {
		cr_assert(jstream_batch_room(&b));
		jstream_batch_add(&b, buf + pos, &f, 6);
		pos += f.consumed;
	}
	for (unsigned i = 0; i < b.n; i++) {
		cr_assert_lt(used + b.iov[i].iov_len, size);
		memcpy(out + used, b.iov[i].iov_base, b.iov[i].iov_len);
		used += b.iov[i].iov_len;
	}
	out[used] = '\0';
	cr_assert_eq(used, b.bytes);
	return b.n;
}

Test(jstream, plain_lines_go_verbatim_in_one_piece) {
	char out[256];
	unsigned n = to_stream("one\ntwo\n<3>three\n", 1024, false, out, sizeof(out));
	cr_assert_str_eq(out, "one\ntwo\n<3>three\n");
	cr_assert_eq(n, 1, "consecutive verbatim lines must share one iovec, got %u", n);
}

Test(jstream, text_starting_with_angle_bracket_gets_the_default_prefix) {
	char out[256];
	/* journald would read <07> and <12> as priorities of its own; mpsr reads them as text. */
	to_stream("<07>a\n<x\n<12>b\n<8>c\n", 1024, false, out, sizeof(out));
	cr_assert_str_eq(out, "<6><07>a\n<6><x\n<6><12>b\n<6><8>c\n");
}

Test(jstream, split_line_continuation_keeps_its_priority) {
	char out[256];
	to_stream("<3>abcdefg\nxy\n", 4, false, out, sizeof(out));
	cr_assert_str_eq(out, "<3>abcd\n<3>efg\nxy\n");
}

Test(jstream, split_line_without_prefix_is_not_read_as_one) {
	char out[256];
	/* The continuation "<5>z" is text: journald must not take it as a priority. */
	to_stream("abcd<5>z\n", 4, false, out, sizeof(out));
	cr_assert_str_eq(out, "<6>abcd\n<6><5>z\n");
}

Test(jstream, unterminated_last_line_is_ended) {
	char out[256];
	to_stream("a\n<2>tail", 1024, true, out, sizeof(out));
	cr_assert_str_eq(out, "a\n<2>tail\n");
}

Test(jstream, unfinished_line_is_not_written_before_eof) {
	char out[256];
	to_stream("a\npartial", 1024, false, out, sizeof(out));
	cr_assert_str_eq(out, "a\n");
}
