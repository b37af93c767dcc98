/* SPDX-License-Identifier: MIT */
/*
 * The stream reader with a ledger: unfinished lines staged in the memfd, the
 * budget, restarts (a new ledger mapping and stream_in on the same socket)
 * and crashes (the record and the socket left as a kill -9 leaves them).
 */
#include "stream-fixture.h"

/*
 * Every test here reads the fixture's connection into a sink that takes all
 * it is given, stages in a ledger l, and most map it again, as the next
 * process does, into again. The fixture frees both.
 */
static struct test_sink t;
static struct ledger *l, *again;

static void setup_sink(void) {
	setup();
	t = sink(false, -1);
}

static void teardown_ledgers(void) {
	ledger_free(again);
	ledger_free(l);
	teardown();
}

TestSuite(stream_ledger, .init = setup_sink, .fini = teardown_ledgers);

Test(stream_ledger, ledger_keeps_an_unfinished_line_whole_across_a_restart) {
	l = with_ledger(1024);

	produce("one\nunfin");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(queued(), -1, "the unfinished line is out of the socket");
	cr_assert_null(in.carry, "it is staged, not in memory");
	cr_assert_eq(ledger_staged_total(l), 5);
	/* A restart: what is staged is kept (keep_unfinished), the next process maps it again. */
	cr_assert_eq(stream_drain(&in, &r, &t.sink, true), READ_MORE);
	cr_assert_eq(t.n, 1, "nothing written at the stop");
	struct stream_in in2;
	again = remap(l, 1024, &in2, sv[0], false);
	produce("ished\n");
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[1], "unfinished");
	cr_assert_null(t.brk[1]);
	cr_assert_eq(ledger_staged_total(again), 0);
	cr_assert_eq(queued(), -1);
}

Test(stream_ledger, ledger_budget_exceeded_writes_the_line_as_it_stands) {
	l = with_ledger(4);

	produce("one\nunfin");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[1], "unfin");
	cr_assert_str_eq(t.brk[1], "budget");
	cr_assert_eq(queued(), -1);
	cr_assert_eq(ledger_staged_total(l), 0);
	produce("ished\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_str_eq(t.got[2], "ished");
}

/* A stop that is not a restart: the staged line is written, marked stop, and its slot emptied. */
Test(stream_ledger, ledger_stop_writes_the_staged_line) {
	l = with_ledger(1024);

	produce("unfin");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(stream_drain(&in, &r, &t.sink, false), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "unfin");
	cr_assert_str_eq(t.brk[0], "stop");
	cr_assert_eq(ledger_staged_total(l), 0);
}

/* A staged line grows over several reads, and a refused write loses none of it. */
Test(stream_ledger, ledger_staged_line_grows_and_survives_a_refusal) {
	l = with_ledger(1024);

	produce("ab");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	produce("cd");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(ledger_staged_total(l), 4);
	produce("e\nf");
	t.refuse_after = 0;
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_RETRY);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(ledger_staged_total(l), 4);
	t.refuse_after = -1;
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "abcde");
	cr_assert_eq(ledger_staged_total(l), 1, "'f' is staged now");
}

/*
 * --line-max lowered across a restart: a line staged under the old one is
 * longer than the new process's read buffer. It is written whole, as the
 * first entry (split where the old process staged it), without overflow.
 */
Test(stream_ledger, ledger_staged_line_longer_than_a_lowered_line_max) {
	enum { LONG = 150000, OLD_LINE_MAX = 200000 };
	struct relay big = relay_with(OLD_LINE_MAX);
	static char line[LONG];
	int sndbuf = 4 * LONG;

	l = with_ledger_of(4, OLD_LINE_MAX, 1 << 20);
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	memset(line, 'x', sizeof(line));
	size_t sent = 0;
	while (sent < LONG) {
		ssize_t k = write(sv[1], line + sent, LONG - sent);
		if (k > 0)
			sent += (size_t)k;
		cr_assert_eq(stream_read(&in, &big, &t.sink), READ_MORE);
	}
	while (queued() > 0)
		cr_assert_eq(stream_read(&in, &big, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(ledger_staged_total(l), LONG);
	cr_assert_eq(stream_drain(&in, &big, &t.sink, true), READ_MORE);
	relay_done(&big);

	/* The next process: --line-max is 16 now (r), its buffer about 64 KiB. */
	struct stream_in in2;
	again = remap(l, 1 << 20, &in2, sv[0], false);
	produce("tail\nnext line\n");
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 3);
	cr_assert_eq(t.len[0], LONG);
	cr_assert_str_eq(t.brk[0], "line-max");
	cr_assert_str_eq(t.got[1], "tail");
	cr_assert_str_eq(t.got[2], "next line");
	cr_assert_eq(ledger_staged_total(again), 0);
	cr_assert_eq(queued(), -1);
}

/*
 * Killed inside a take into the slot, after its new length was recorded and
 * before the peek offset was reset: the offset (0 here, all taken) stays set,
 * and every MSG_PEEK read would move it. Recovery resets it.
 */
Test(stream_ledger, ledger_recovery_resets_a_peek_offset_left_by_a_kill) {
	l = with_ledger(1024);

	produce("unfin");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(ledger_staged_total(l), 5);
	int off = 0;
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)), 0);

	struct stream_in in2;
	again = remap(l, 1024, &in2, sv[0], false);
	cr_assert_geq(ledger_recover(again, find_sv0, lookup_none, NULL), 0);
	produce("ished\nA\n");
	t.refuse_after = 0;
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_RETRY);
	t.refuse_after = -1;
	produce("B\n");
	for (int i = 0; i < 4 && queued() > 0; i++)
		cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 3);
	cr_assert_str_eq(t.got[0], "unfinished");
	cr_assert_str_eq(t.got[1], "A");
	cr_assert_str_eq(t.got[2], "B");
}

/*
 * After "30 <13>app: aaaaaaaaaaa" was cut at the budget (entry 0): the
 * message's last 10 bytes, then "8 <13>xyzw" and "ok", each an entry of its
 * own; the rest keeps the message's priority and identifier.
 */
static void expect_the_rest_after_the_cut(struct relay *rr) {
	produce("bbbbbbbbbb8 <13>xyzwok\n");
	cr_assert_eq(stream_read(&in, rr, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 4);
	cr_assert_str_eq(t.got[1], "bbbbbbbbbb");
	cr_assert_eq(t.prio[1], 5);
	cr_assert_str_eq(t.ident[1], "app");
	cr_assert_null(t.brk[1]);
	cr_assert_str_eq(t.got[2], "xyzw");
	cr_assert_eq(t.prio[2], 5);
	cr_assert_str_eq(t.got[3], "ok");
}

/*
 * Over the budget, an octet-counted message is cut where the budget cut it;
 * its rest keeps its priority, identifier and count, and the next message
 * is an entry of its own.
 */
Test(stream_ledger, ledger_budget_cut_keeps_message_boundaries) {
	struct relay rr = relay_with(64);

	l = with_syslog_ledger(4, 64, 4);
	produce("30 <13>app: aaaaaaaaaaa"); /* 20 of the message's 30 bytes */
	cr_assert_eq(stream_read(&in, &rr, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "aaaaaaaaaaa");
	cr_assert_str_eq(t.brk[0], "budget");
	cr_assert_eq(queued(), -1);
	expect_the_rest_after_the_cut(&rr);
	relay_done(&rr);
}

/* The same in lines mode: the rest of a "<N>" line keeps its priority. */
Test(stream_ledger, ledger_budget_cut_keeps_the_priority) {
	l = with_ledger(4);

	produce("<2>unfin");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	produce("ished\nnext\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 3);
	cr_assert_str_eq(t.got[0], "unfin");
	cr_assert_str_eq(t.brk[0], "budget");
	cr_assert_str_eq(t.got[1], "ished");
	cr_assert_eq(t.prio[1], 2);
	cr_assert_str_eq(t.got[2], "next");
	cr_assert_eq(t.prio[2], -1);
}

/*
 * An octet-counted message of line_max bytes in two pieces: the first,
 * with its count's prefix, is staged (the slot has room for it), not cut.
 */
Test(stream_ledger, ledger_slot_holds_a_line_max_message_with_its_count) {
	enum { MAX = 4096 };
	struct relay rr = relay_with(MAX);
	static char msg[MAX + 16];

	l = with_syslog_ledger(4, MAX, 1 << 20);
	int n = snprintf(msg, sizeof(msg), "%d <13>", MAX);
	memset(msg + n, 'a', sizeof(msg) - (size_t)n);
	size_t whole = (size_t)n - 4 + MAX; /* the count's prefix, and the message */
	cr_assert_eq(write(sv[1], msg, whole - 1), (ssize_t)whole - 1);
	cr_assert_eq(stream_read(&in, &rr, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 0, "the first piece is staged, not written as it stands");
	cr_assert_eq(write(sv[1], msg + whole - 1, 1), 1);
	cr_assert_eq(stream_read(&in, &rr, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(t.len[0], MAX - 4);
	cr_assert_null(t.brk[0]);
	relay_done(&rr);
}

/* The budget counts what a connection keeps staged, not what is dropped at the job's end. */
Test(stream_ledger, ledger_budget_does_not_count_bytes_about_to_be_freed) {
	l = with_ledger(8);

	produce("abcdef");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(ledger_staged_total(l), 6);
	produce("\nghijkl");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "abcdef");
	cr_assert_eq(ledger_staged_total(l), 6, "ghijkl is staged, not cut");
}

/* A line split at line-max goes on after a restart with its priority and identifier. */
Test(stream_ledger, ledger_split_line_keeps_its_header_across_a_restart) {
	struct stream_in in2;

	l = with_syslog_ledger(4, 16, 1 << 20);
	produce("<13>app: 0123456789"); /* 16 bytes (header included), 3 staged */
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "0123456");
	cr_assert_eq(stream_drain(&in, &r, &t.sink, true), READ_MORE);
	again = restart_on(l, &in2, true);
	produce("ABC\n<14>x\n");
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 3);
	cr_assert_str_eq(t.got[1], "789ABC");
	cr_assert_eq(t.prio[1], 5);
	cr_assert_str_eq(t.ident[1], "app");
	cr_assert_str_eq(t.got[2], "x");
	cr_assert_eq(t.prio[2], 6);
}

/* What is left of an octet count is counted after a restart, not read as a new message. */
Test(stream_ledger, ledger_octet_count_rest_survives_a_restart) {
	struct stream_in in2;

	l = with_syslog_ledger(4, 16, 1 << 20);
	produce("30 <13>app: aaaaaaaaaaa"); /* 20 of 30: a piece of 16, 4 staged */
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(stream_drain(&in, &r, &t.sink, true), READ_MORE);
	again = restart_on(l, &in2, true);
	produce("bbbbbbbbbb8 <13>xyzw");
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 3);
	cr_assert_str_eq(t.got[1], "aaaabbbbbbbbbb");
	cr_assert_eq(t.prio[1], 5);
	cr_assert_str_eq(t.got[2], "xyzw");
}

/* The NUL of a "\n\0" terminator that arrives after a restart is no empty message. */
Test(stream_ledger, ledger_terminator_half_survives_a_restart) {
	struct stream_in in2;

	l = with_syslog_ledger(4, 16, 1 << 20);
	produce("a\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(stream_drain(&in, &r, &t.sink, true), READ_MORE);
	again = restart_on(l, &in2, true);
	cr_assert_eq(write(sv[1], "\0b\n", 3), 3);
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[1], "b");
}

static int other[2]; /* a second producer's socket pair */
static int find_both(uint64_t ino, void *data) {
	struct stream_in *b = data;
	return ino == b->lc.ino ? other[0] : sv[0];
}

/*
 * Two producers and one slot: the one that holds it (its "a\n" may be
 * followed by the NUL of a "\n\0") leaves none for the other, whose line
 * split at line-max would go on after a restart without its priority and
 * identifier. So the second goes without an account until the first is over;
 * then it gets one, and its split line keeps its header across a restart.
 */
Test(stream_ledger, ledger_account_always_has_a_slot_for_its_framing_state) {
	struct stream_in b, b2;

	l = with_syslog_ledger(1, 16, 1 << 20);
	produce("a\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, other), 0);
	stream_in_init(&b, other[0], true);
	cr_assert_eq(stream_in_ledger(&b, l), -ENOSPC, "an account without a slot to be had");
	cr_assert_eq(shutdown(sv[1], SHUT_WR), 0);
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_END);
	stream_in_init(&b, other[0], true);
	cr_assert_eq(stream_in_ledger(&b, l), 0, "the account of a connection over is given back");
	cr_assert_eq(write(other[1], "<13>app: 0123456789", 19), 19);
	cr_assert_eq(stream_read(&b, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[1], "0123456");
	cr_assert_eq(stream_drain(&b, &r, &t.sink, true), READ_MORE);
	again = remap(l, 1 << 20, &b2, other[0], true);
	cr_assert_geq(ledger_recover(again, find_both, lookup_none, &b2), 0);
	cr_assert_eq(write(other[1], "ABC\n", 4), 4);
	cr_assert_eq(stream_read(&b2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 3);
	cr_assert_str_eq(t.got[2], "789ABC");
	cr_assert_eq(t.prio[2], 5);
	cr_assert_str_eq(t.ident[2], "app");
	stream_in_done(&b);
	stream_in_done(&b2);
	close(other[0]);
	close(other[1]);
}

/*
 * Over the budget (0: none), a message whose octet count is half written is
 * staged all the same: cut there, "30 <1" would be text and the message would
 * run on into the next one ("aaa...8 <13>xyzwok" as one entry).
 */
Test(stream_ledger, ledger_budget_never_cuts_an_octet_count_in_two) {
	struct relay rr = relay_with(64);

	l = with_syslog_ledger(4, 64, 0);
	produce("30 <1");
	cr_assert_eq(stream_read(&in, &rr, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 0, "half a count is no entry");
	cr_assert_eq(queued(), -1);
	cr_assert_eq(ledger_staged_total(l), 5);
	produce("3>app: aaaaaaaaaaa");
	cr_assert_eq(stream_read(&in, &rr, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "aaaaaaaaaaa");
	cr_assert_str_eq(t.brk[0], "budget");
	cr_assert_eq(t.prio[0], 5);
	cr_assert_eq(ledger_staged_total(l), 0);
	expect_the_rest_after_the_cut(&rr);
	relay_done(&rr);
}

/* Nor a "<N>" prefix: cut after "<2", the line would lose its priority. */
Test(stream_ledger, ledger_budget_never_cuts_a_prefix_in_two) {
	l = with_ledger(0);

	produce("<2");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(ledger_staged_total(l), 2);
	produce(">unfin");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	produce("ished\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[0], "unfin");
	cr_assert_str_eq(t.brk[0], "budget");
	cr_assert_eq(t.prio[0], 2);
	cr_assert_str_eq(t.got[1], "ished");
	cr_assert_eq(t.prio[1], 2);
}
