/* SPDX-License-Identifier: MIT */
/*
 * The stream reader over a real socket pair, with sinks that record what they
 * are given and refuse when told: what is stored is taken out of the socket,
 * what is not stays there or in the carry, and nothing is written twice.
 */
#include "stream-fixture.h"

TestSuite(stream, .init = setup, .fini = teardown);

Test(stream, stored_lines_are_taken_out_of_the_socket) {
	struct test_sink t = sink(false, -1);

	produce("one\n<3>two\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[0], "one");
	cr_assert_str_eq(t.got[1], "two");
	cr_assert_eq(t.prio[1], 3);
	cr_assert_eq(queued(), -1, "stored lines must be taken out");
	cr_assert_eq(r.stats.messages, 2);
	cr_assert_eq(r.stats.bytes, 11);
}

Test(stream, refused_lines_stay_in_the_socket_and_come_once) {
	struct test_sink t = sink(false, 1);

	produce("a\nb\nc\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_RETRY);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(queued(), 4, "b and c must stay in the socket");
	t.refuse_after = -1;
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 3);
	cr_assert_str_eq(t.got[1], "b");
	cr_assert_str_eq(t.got[2], "c");
	cr_assert_eq(r.stats.journal_errors, 1);
}

Test(stream, a_refused_batch_is_written_again_whole) {
	struct test_sink t = sink(true, 1);

	/* Batches of two: the first is stored, the second refused. */
	produce("a\nb\nc\nd\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_RETRY);
	cr_assert_eq(t.n, 2);
	cr_assert_eq(queued(), 4, "c and d must stay in the socket");
	t.refuse_after = -1;
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 4);
	cr_assert_str_eq(t.got[2], "c");
	cr_assert_str_eq(t.got[3], "d");
}

Test(stream, an_unfinished_line_waits_and_becomes_one_entry) {
	struct test_sink t = sink(false, -1);

	produce("<4>hal");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(queued(), -1,
		     "an unfinished line alone must leave the socket (poll would spin)");
	cr_assert_eq(in.carry_len, 6);
	produce("f a line\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "half a line");
	cr_assert_eq(t.prio[0], 4);
	cr_assert_eq(in.carry_len, 0);
}

Test(stream, end_of_stream_writes_the_last_line_marked_eof) {
	struct test_sink t = sink(false, -1);

	produce("done\nno newline");
	shutdown(sv[1], SHUT_WR);
	/* The first read may see the bytes without the end; the next sees the end. */
	int k = READ_MORE;
	for (int i = 0; i < 3 && k == READ_MORE; i++)
		k = stream_read(&in, &r, &t.sink);
	cr_assert_eq(k, READ_END);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[1], "no newline");
	cr_assert_str_eq(t.brk[1], "eof");
	cr_assert_eq(r.stats.unterminated, 1);
}

Test(stream, long_lines_are_split_and_counted) {
	struct test_sink t = sink(false, -1);

	produce("0123456789abcdefXYZ\n"); /* line_max is 16 */
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[0], "0123456789abcdef");
	cr_assert_str_eq(t.brk[0], "line-max");
	cr_assert_str_eq(t.got[1], "XYZ");
	cr_assert_eq(r.stats.split, 1);
}

Test(stream, drain_writes_what_is_queued_and_the_unfinished_line) {
	struct test_sink t = sink(false, -1);

	produce("x\npart");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	produce("ial\ny\n");
	cr_assert_eq(stream_drain(&in, &r, &t.sink, false), READ_MORE);
	cr_assert_eq(t.n, 3);
	cr_assert_str_eq(t.got[1], "partial");
	cr_assert_str_eq(t.got[2], "y");
	produce("late");
	cr_assert_eq(stream_drain(&in, &r, &t.sink, false), READ_MORE);
	cr_assert_eq(t.n, 4);
	cr_assert_str_eq(t.got[3], "late");
	cr_assert_str_eq(t.brk[3], "stop");
}

Test(stream, a_reset_connection_still_writes_what_was_taken) {
	struct test_sink t = sink(false, -1);
	int pair[2];

	/* A producer that vanishes with bytes unread by it: our recv() sees ECONNRESET. */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
	struct stream_in in2;
	stream_in_init(&in2, pair[0], false);
	cr_assert_eq(write(pair[1], "unfinished", 10), 10);
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(write(pair[0], "x", 1), 1); /* unread by the producer: close resets */
	close(pair[1]);
	int k = stream_read(&in2, &r, &t.sink);
	cr_assert(k == READ_END || k == -ECONNRESET, "got %d", k);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "unfinished");
	cr_assert_str_eq(t.brk[0], "eof");
	stream_in_done(&in2);
	close(pair[0]);
}

/* A peek offset past the data, however it came: the drain neither spins nor loses a line. */
Test(stream, drain_does_not_spin_on_a_peek_offset_past_the_data, .timeout = 10) {
	struct test_sink t = sink(false, -1);

	produce("A\nB\n");
	int off = 100;
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)), 0);
	cr_assert_eq(stream_drain(&in, &r, &t.sink, false), READ_MORE);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[0], "A");
	cr_assert_str_eq(t.got[1], "B");
}

/* Without a ledger, unfinished lines in memory share one budget across connections. */
Test(stream, carry_is_bounded_by_the_budget_across_connections) {
	struct test_sink t = sink(false, -1);
	struct carry_budget b = {.max = 10};
	int pair[2];
	struct stream_in in2;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
	stream_in_init(&in2, pair[0], false);
	in.budget = in2.budget = &b;
	produce("<2>unfin");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(b.used, 8);
	cr_assert_eq(write(pair[1], "second", 6), 6);
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1, "over the budget: written as it stands");
	cr_assert_str_eq(t.got[0], "second");
	cr_assert_str_eq(t.brk[0], "budget");
	cr_assert_eq(b.used, 8);
	cr_assert_eq(write(pair[1], " half\n", 6), 6);
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_str_eq(t.got[1], " half");
	produce("ished\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_str_eq(t.got[2], "unfinished");
	cr_assert_eq(t.prio[2], 2);
	cr_assert_eq(b.used, 0);
	stream_in_done(&in2);
	close(pair[0]);
	close(pair[1]);
}

/* Without a ledger too, half an octet count is kept over the budget, not cut into text. */
Test(stream, carry_budget_never_cuts_an_octet_count_in_two) {
	struct test_sink t = sink(false, -1);
	struct carry_budget b = {.max = 0};

	in.fs.syslog = true;
	in.budget = &b;
	produce("8 <1");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(b.used, 4);
	produce("3>xyzwok\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[0], "xyzw");
	cr_assert_eq(t.prio[0], 5);
	cr_assert_str_eq(t.got[1], "ok");
	cr_assert_eq(b.used, 0);
}

/* A connection's end gives its carry's share of the budget back. */
Test(stream, carry_budget_is_given_back_at_the_end) {
	struct test_sink t = sink(false, -1);
	struct carry_budget b = {.max = 100};

	in.budget = &b;
	produce("abc");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(b.used, 3);
	stream_in_done(&in);
	cr_assert_eq(b.used, 0);
}

/* A staged line handed over from a ledger the connection has no account in. */
Test(stream, handed_over_bytes_come_first) {
	struct test_sink t = sink(false, -1);

	cr_assert_eq(stream_in_carry(&in, "unfin", 5), 0);
	produce("ished\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "unfinished");
}

/*
 * A stop that is not a restart shuts the connection for reading first
 * (conns_drain()): the drain still reads all that was queued, and a
 * producer's later write fails instead of vanishing.
 */
Test(stream, drain_after_shut_rd_reads_all_and_refuses_more) {
	struct test_sink t = sink(false, -1);

	produce("A\nB\nunfin");
	cr_assert_eq(shutdown(sv[0], SHUT_RD), 0);
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(write(sv[1], "late\n", 5), -1);
	cr_assert_eq(errno, EPIPE);
	int k = stream_drain(&in, &r, &t.sink, false);
	cr_assert(k == READ_MORE || k == READ_END, "got %d", k);
	cr_assert_eq(t.n, 3);
	cr_assert_str_eq(t.got[2], "unfin");
}
