/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <string.h>

#include "frame.h"
#include "jstream.h"

static unsigned iovecs; /* how many iovecs to_stream()'s last bytes took */

/*
 * Frames `in` as the server does and returns the bytes the stream transport
 * would write to journald for it (all of them, as one string).
 */
static const char *to_stream(const char *in, size_t line_max, bool eof) {
	static char buf[4096], out[256];
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
		cr_assert_lt(used + b.iov[i].iov_len, sizeof(out));
		memcpy(out + used, b.iov[i].iov_base, b.iov[i].iov_len);
		used += b.iov[i].iov_len;
	}
	out[used] = '\0';
	cr_assert_eq(used, b.bytes);
	iovecs = b.n;
	return out;
}

Test(jstream, plain_lines_go_verbatim_in_one_piece) {
	cr_assert_str_eq(to_stream("one\ntwo\n<3>three\n", 1024, false), "one\ntwo\n<3>three\n");
	cr_assert_eq(iovecs, 1, "consecutive verbatim lines must share one iovec, got %u", iovecs);
}

Test(jstream, text_starting_with_angle_bracket_gets_the_default_prefix) {
	/* journald would read <07> and <12> as priorities of its own; mpsr reads them as text. */
	cr_assert_str_eq(to_stream("<07>a\n<x\n<12>b\n<8>c\n", 1024, false),
			 "<6><07>a\n<6><x\n<6><12>b\n<6><8>c\n");
}

Test(jstream, split_line_continuation_keeps_its_priority) {
	cr_assert_str_eq(to_stream("<3>abcdefg\nxy\n", 4, false), "<3>abcd\n<3>efg\nxy\n");
}

Test(jstream, split_line_without_prefix_is_not_read_as_one) {
	/* The continuation "<5>z" is text: journald must not take it as a priority. */
	cr_assert_str_eq(to_stream("abcd<5>z\n", 4, false), "<6>abcd\n<6><5>z\n");
}

Test(jstream, unterminated_last_line_is_ended) {
	cr_assert_str_eq(to_stream("a\n<2>tail", 1024, true), "a\n<2>tail\n");
}

Test(jstream, unfinished_line_is_not_written_before_eof) {
	cr_assert_str_eq(to_stream("a\npartial", 1024, false), "a\n");
}
