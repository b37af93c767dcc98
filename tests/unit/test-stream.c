/* SPDX-License-Identifier: MIT */
/*
 * The stream reader over a real socket pair, with sinks that record what they
 * are given and refuse when told: what is stored is taken out of the socket,
 * what is not stays there or in the carry, and nothing is written twice.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "journal.h"
#include "ledger.h"
#include "relay.h"
#include "stream.h"

#define MAX_LINES 64

/* A sink that writes each line at once (like the journal) or gathers them (like jstream). */
struct test_sink {
	struct line_sink sink;
	bool gather;      /* put() gathers; commit() stores */
	int refuse_after; /* calls that succeed before every call fails; -1: never */
	char got[MAX_LINES][256];
	const char *brk[MAX_LINES];
	int prio[MAX_LINES];
	size_t len[MAX_LINES];
	char ident[MAX_LINES][16];
	unsigned n, pending;
};

static bool refuse(struct test_sink *t) {
	if (t->refuse_after < 0)
		return false;
	if (t->refuse_after == 0)
		return true;
	t->refuse_after--;
	return false;
}

static void record(struct test_sink *t, const char *text, const struct frame *f, const char *brk) {
	cr_assert_lt(t->n, MAX_LINES);
	snprintf(t->got[t->n], sizeof(t->got[0]), "%.*s", (int)f->len, text);
	snprintf(t->ident[t->n], sizeof(t->ident[0]), "%.*s", (int)f->fields.ident.len,
		 f->fields.ident.p ? f->fields.ident.p : "");
	t->len[t->n] = f->len;
	t->prio[t->n] = f->priority;
	t->brk[t->n++] = brk;
}

static int t_put(struct line_sink *s, char *raw, const struct frame *f, const char *brk) {
	struct test_sink *t = (struct test_sink *)s;

	if (!t->gather && refuse(t))
		return -EAGAIN;
	record(t, raw + f->start, f, brk);
	if (t->gather) {
		t->pending++;
		return 0;
	}
	return 1;
}

static bool t_full(const struct line_sink *s) {
	const struct test_sink *t = (const struct test_sink *)s;

	return t->gather && t->pending == 2; /* tiny batches, so commits come often */
}

static int t_commit(struct line_sink *s) {
	struct test_sink *t = (struct test_sink *)s;
	unsigned k = t->pending;

	t->pending = 0;
	if (t->gather && refuse(t)) {
		t->n -= k; /* a refused batch stores nothing */
		return -EAGAIN;
	}
	return (int)k;
}

static struct test_sink sink(bool gather, int refuse_after) {
	return (struct test_sink){
		.sink = {t_put, t_full, t_commit},
		.gather = gather,
		.refuse_after = refuse_after,
	};
}

static struct relay r;
static int sv[2];
static struct stream_in in;

static void setup(void) {
	struct relay_config cfg = {.line_max = 16, .default_priority = 6, .retry_usec = 1};

	cr_assert_eq(relay_init(&r, &cfg), 0);
	r.journal_checked = now_usec() + 3600000000ull; /* journald is there for this test */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	stream_in_init(&in, sv[0], false);
}

static void teardown(void) {
	stream_in_done(&in);
	relay_done(&r);
	close(sv[0]);
	close(sv[1]);
}

static void produce(const char *s) {
	cr_assert_eq(write(sv[1], s, strlen(s)), (ssize_t)strlen(s));
}

static int queued(void) {
	char buf[4096];

	return (int)recv(sv[0], buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
}

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

/*
 * With a ledger: an unfinished line goes into the producer's slot, not the
 * process's memory, and a new process (a new ledger mapping and stream_in on
 * the same socket, as after a restart) completes it as one line.
 */
static struct ledger *with_ledger(size_t budget) {
	struct ledger *l;
	cr_assert_eq(ledger_new(4, 16, budget, &l), 0);
	cr_assert_eq(stream_in_ledger(&in, l), 0);
	return l;
}

Test(stream, ledger_keeps_an_unfinished_line_whole_across_a_restart) {
	struct test_sink t = sink(false, -1);
	struct ledger *l = with_ledger(1024);

	produce("one\nunfin");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(queued(), -1, "the unfinished line is out of the socket");
	cr_assert_null(in.carry, "it is staged, not in memory");
	cr_assert_eq(ledger_staged_total(l), 5);
	/* A restart: what is staged is kept (keep_unfinished), the next process maps it again. */
	cr_assert_eq(stream_drain(&in, &r, &t.sink, true), READ_MORE);
	cr_assert_eq(t.n, 1, "nothing written at the stop");
	struct ledger *again;
	cr_assert_eq(ledger_adopt(dup(ledger_fd(l)), 1024, &again), 0);
	struct stream_in in2;
	stream_in_init(&in2, sv[0], false);
	cr_assert_eq(stream_in_ledger(&in2, again), 0);
	produce("ished\n");
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[1], "unfinished");
	cr_assert_null(t.brk[1]);
	cr_assert_eq(ledger_staged_total(again), 0);
	cr_assert_eq(queued(), -1);
	ledger_free(again);
	ledger_free(l);
}

Test(stream, ledger_budget_exceeded_writes_the_line_as_it_stands) {
	struct test_sink t = sink(false, -1);
	struct ledger *l = with_ledger(4);

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
	ledger_free(l);
}

/* A stop that is not a restart: the staged line is written, marked stop, and its slot emptied. */
Test(stream, ledger_stop_writes_the_staged_line) {
	struct test_sink t = sink(false, -1);
	struct ledger *l = with_ledger(1024);

	produce("unfin");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(stream_drain(&in, &r, &t.sink, false), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "unfin");
	cr_assert_str_eq(t.brk[0], "stop");
	cr_assert_eq(ledger_staged_total(l), 0);
	ledger_free(l);
}

/* A staged line grows over several reads, and a refused write loses none of it. */
Test(stream, ledger_staged_line_grows_and_survives_a_refusal) {
	struct test_sink t = sink(false, -1);
	struct ledger *l = with_ledger(1024);

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
	ledger_free(l);
}

/*
 * --line-max lowered across a restart: a line staged under the old one is
 * longer than the new process's read buffer. It is written whole, as the
 * first entry (split where the old process staged it), without overflow.
 */
Test(stream, ledger_staged_line_longer_than_a_lowered_line_max) {
	enum { LONG = 150000 };
	struct relay_config big_cfg = {.line_max = 200000, .default_priority = 6, .retry_usec = 1};
	struct relay big;
	struct test_sink t = sink(false, -1);
	struct ledger *l;
	static char line[LONG];
	int sndbuf = 4 * LONG;

	cr_assert_eq(relay_init(&big, &big_cfg), 0);
	big.journal_checked = r.journal_checked;
	cr_assert_eq(ledger_new(4, big_cfg.line_max, 1 << 20, &l), 0);
	cr_assert_eq(stream_in_ledger(&in, l), 0);
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
	struct ledger *again;
	cr_assert_eq(ledger_adopt(dup(ledger_fd(l)), 1 << 20, &again), 0);
	struct stream_in in2;
	stream_in_init(&in2, sv[0], false);
	cr_assert_eq(stream_in_ledger(&in2, again), 0);
	produce("tail\nnext line\n");
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 3);
	cr_assert_eq(t.len[0], LONG);
	cr_assert_str_eq(t.brk[0], "line-max");
	cr_assert_str_eq(t.got[1], "tail");
	cr_assert_str_eq(t.got[2], "next line");
	cr_assert_eq(ledger_staged_total(again), 0);
	cr_assert_eq(queued(), -1);
	ledger_free(again);
	ledger_free(l);
}

static int find_sv0(uint64_t ino, void *data) {
	(void)ino;
	(void)data;
	return sv[0];
}

static int lookup_none(const char *tag, void *data) {
	(void)tag;
	(void)data;
	return 0;
}

/*
 * Killed inside a take into the slot, after its new length was recorded and
 * before the peek offset was reset: the offset (0 here, all taken) stays set,
 * and every MSG_PEEK read would move it. Recovery resets it.
 */
Test(stream, ledger_recovery_resets_a_peek_offset_left_by_a_kill) {
	struct test_sink t = sink(false, -1);
	struct ledger *l = with_ledger(1024);

	produce("unfin");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(ledger_staged_total(l), 5);
	int off = 0;
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)), 0);

	struct ledger *again;
	cr_assert_eq(ledger_adopt(dup(ledger_fd(l)), 1024, &again), 0);
	struct stream_in in2;
	stream_in_init(&in2, sv[0], false);
	cr_assert_eq(stream_in_ledger(&in2, again), 0);
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
	ledger_free(again);
	ledger_free(l);
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

/* A relay of its own, for tests that need another --line-max. */
static struct relay relay_with(size_t line_max) {
	struct relay_config cfg = {.line_max = line_max, .default_priority = 6, .retry_usec = 1};
	struct relay rr;
	cr_assert_eq(relay_init(&rr, &cfg), 0);
	rr.journal_checked = r.journal_checked;
	return rr;
}

/*
 * Over the budget, an octet-counted message is cut where the budget cut it;
 * its rest keeps its priority, identifier and count, and the next message
 * is an entry of its own.
 */
Test(stream, ledger_budget_cut_keeps_message_boundaries) {
	struct test_sink t = sink(false, -1);
	struct relay rr = relay_with(64);
	struct ledger *l;

	in.fs.syslog = true;
	cr_assert_eq(ledger_new(4, ledger_slot_size(64), 4, &l), 0);
	cr_assert_eq(stream_in_ledger(&in, l), 0);
	produce("30 <13>app: aaaaaaaaaaa"); /* 20 of the message's 30 bytes */
	cr_assert_eq(stream_read(&in, &rr, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "aaaaaaaaaaa");
	cr_assert_str_eq(t.brk[0], "budget");
	cr_assert_eq(queued(), -1);
	produce("bbbbbbbbbb8 <13>xyzwok\n");
	cr_assert_eq(stream_read(&in, &rr, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 4);
	cr_assert_str_eq(t.got[1], "bbbbbbbbbb");
	cr_assert_eq(t.prio[1], 5);
	cr_assert_str_eq(t.ident[1], "app");
	cr_assert_null(t.brk[1]);
	cr_assert_str_eq(t.got[2], "xyzw");
	cr_assert_eq(t.prio[2], 5);
	cr_assert_str_eq(t.got[3], "ok");
	ledger_free(l);
	relay_done(&rr);
}

/* The same in lines mode: the rest of a "<N>" line keeps its priority. */
Test(stream, ledger_budget_cut_keeps_the_priority) {
	struct test_sink t = sink(false, -1);
	struct ledger *l = with_ledger(4);

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
	ledger_free(l);
}

/*
 * An octet-counted message of line_max bytes in two pieces: the first,
 * with its count's prefix, is staged (the slot has room for it), not cut.
 */
Test(stream, ledger_slot_holds_a_line_max_message_with_its_count) {
	enum { MAX = 4096 };
	struct test_sink t = sink(false, -1);
	struct relay rr = relay_with(MAX);
	struct ledger *l;
	static char msg[MAX + 16];

	in.fs.syslog = true;
	cr_assert_eq(ledger_new(4, ledger_slot_size(MAX), 1 << 20, &l), 0);
	cr_assert_eq(stream_in_ledger(&in, l), 0);
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
	ledger_free(l);
	relay_done(&rr);
}

/* The budget counts what a connection keeps staged, not what is dropped at the job's end. */
Test(stream, ledger_budget_does_not_count_bytes_about_to_be_freed) {
	struct test_sink t = sink(false, -1);
	struct ledger *l = with_ledger(8);

	produce("abcdef");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(ledger_staged_total(l), 6);
	produce("\nghijkl");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "abcdef");
	cr_assert_eq(ledger_staged_total(l), 6, "ghijkl is staged, not cut");
	ledger_free(l);
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

/* A restart: the next process maps the same ledger, and the connection comes back. */
static struct ledger *restart_on(struct ledger *l, struct stream_in *in2, bool syslog) {
	struct ledger *again;
	cr_assert_eq(ledger_adopt(dup(ledger_fd(l)), 1 << 20, &again), 0);
	stream_in_init(in2, sv[0], syslog);
	cr_assert_eq(stream_in_ledger(in2, again), 0);
	cr_assert_geq(ledger_recover(again, find_sv0, lookup_none, NULL), 0);
	return again;
}

/* A line split at line-max goes on after a restart with its priority and identifier. */
Test(stream, ledger_split_line_keeps_its_header_across_a_restart) {
	struct test_sink t = sink(false, -1);
	struct ledger *l;
	struct stream_in in2;

	in.fs.syslog = true;
	cr_assert_eq(ledger_new(4, ledger_slot_size(16), 1 << 20, &l), 0);
	cr_assert_eq(stream_in_ledger(&in, l), 0);
	produce("<13>app: 0123456789"); /* 16 bytes (header included), 3 staged */
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(t.got[0], "0123456");
	cr_assert_eq(stream_drain(&in, &r, &t.sink, true), READ_MORE);
	struct ledger *again = restart_on(l, &in2, true);
	produce("ABC\n<14>x\n");
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 3);
	cr_assert_str_eq(t.got[1], "789ABC");
	cr_assert_eq(t.prio[1], 5);
	cr_assert_str_eq(t.ident[1], "app");
	cr_assert_str_eq(t.got[2], "x");
	cr_assert_eq(t.prio[2], 6);
	ledger_free(again);
	ledger_free(l);
}

/* What is left of an octet count is counted after a restart, not read as a new message. */
Test(stream, ledger_octet_count_rest_survives_a_restart) {
	struct test_sink t = sink(false, -1);
	struct ledger *l;
	struct stream_in in2;

	in.fs.syslog = true;
	cr_assert_eq(ledger_new(4, ledger_slot_size(16), 1 << 20, &l), 0);
	cr_assert_eq(stream_in_ledger(&in, l), 0);
	produce("30 <13>app: aaaaaaaaaaa"); /* 20 of 30: a piece of 16, 4 staged */
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(stream_drain(&in, &r, &t.sink, true), READ_MORE);
	struct ledger *again = restart_on(l, &in2, true);
	produce("bbbbbbbbbb8 <13>xyzw");
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 3);
	cr_assert_str_eq(t.got[1], "aaaabbbbbbbbbb");
	cr_assert_eq(t.prio[1], 5);
	cr_assert_str_eq(t.got[2], "xyzw");
	ledger_free(again);
	ledger_free(l);
}

/* The NUL of a "\n\0" terminator that arrives after a restart is no empty message. */
Test(stream, ledger_terminator_half_survives_a_restart) {
	struct test_sink t = sink(false, -1);
	struct ledger *l;
	struct stream_in in2;

	in.fs.syslog = true;
	cr_assert_eq(ledger_new(4, ledger_slot_size(16), 1 << 20, &l), 0);
	cr_assert_eq(stream_in_ledger(&in, l), 0);
	produce("a\n");
	cr_assert_eq(stream_read(&in, &r, &t.sink), READ_MORE);
	cr_assert_eq(stream_drain(&in, &r, &t.sink, true), READ_MORE);
	struct ledger *again = restart_on(l, &in2, true);
	cr_assert_eq(write(sv[1], "\0b\n", 3), 3);
	cr_assert_eq(stream_read(&in2, &r, &t.sink), READ_MORE);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.got[1], "b");
	ledger_free(again);
	ledger_free(l);
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
