/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * What the stream reader's tests share: a real socket pair, sinks that
 * record what they are given and refuse when told, and a stand-in for a
 * restart with a ledger.
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

static inline bool refuse(struct test_sink *t) {
	if (t->refuse_after < 0)
		return false;
	if (t->refuse_after == 0)
		return true;
	t->refuse_after--;
	return false;
}

static inline void record(struct test_sink *t, const char *text, const struct frame *f,
			  const char *brk) {
	cr_assert_lt(t->n, MAX_LINES);
	snprintf(t->got[t->n], sizeof(t->got[0]), "%.*s", (int)f->len, text);
	snprintf(t->ident[t->n], sizeof(t->ident[0]), "%.*s", (int)f->fields.ident.len,
		 f->fields.ident.p ? f->fields.ident.p : "");
	t->len[t->n] = f->len;
	t->prio[t->n] = f->priority;
	t->brk[t->n++] = brk;
}

static inline int t_put(struct line_sink *s, char *raw, const struct frame *f, const char *brk) {
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

static inline bool t_full(const struct line_sink *s) {
	const struct test_sink *t = (const struct test_sink *)s;

	return t->gather && t->pending == 2; /* tiny batches, so commits come often */
}

static inline int t_commit(struct line_sink *s) {
	struct test_sink *t = (struct test_sink *)s;
	unsigned k = t->pending;

	t->pending = 0;
	if (t->gather && refuse(t)) {
		t->n -= k; /* a refused batch stores nothing */
		return -EAGAIN;
	}
	return (int)k;
}

static inline struct test_sink sink(bool gather, int refuse_after) {
	return (struct test_sink){
		.sink = {t_put, t_full, t_commit},
		.gather = gather,
		.refuse_after = refuse_after,
	};
}

static struct relay r;
static int sv[2];
static struct stream_in in;

static inline void setup(void) {
	struct relay_config cfg = {.line_max = 16, .default_priority = 6, .retry_usec = 1};

	cr_assert_eq(relay_init(&r, &cfg), 0);
	r.journal_checked = now_usec() + 3600000000ull; /* journald is there for this test */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	stream_in_init(&in, sv[0], false);
}

static inline void teardown(void) {
	stream_in_done(&in);
	relay_done(&r);
	close(sv[0]);
	close(sv[1]);
}

static inline void produce(const char *s) {
	cr_assert_eq(write(sv[1], s, strlen(s)), (ssize_t)strlen(s));
}

static inline int queued(void) {
	char buf[4096];

	return (int)recv(sv[0], buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
}

/*
 * With a ledger: an unfinished line goes into the producer's slot, not the
 * process's memory, and a new process (a new ledger mapping and stream_in on
 * the same socket, as after a restart) completes it as one line.
 *
 * A ledger of n_slots slots of slot_size bytes, with budget bytes to stage
 * in all, that the fixture's connection stages in.
 */
static inline struct ledger *with_ledger_of(unsigned n_slots, size_t slot_size, size_t budget) {
	struct ledger *l;
	cr_assert_eq(ledger_new(n_slots, slot_size, budget, &l), 0);
	cr_assert_eq(stream_in_ledger(&in, l), 0);
	return l;
}

/* Four slots of 16 bytes, for lines. */
static inline struct ledger *with_ledger(size_t budget) {
	return with_ledger_of(4, 16, budget);
}

/* For syslog framing: slots that hold a message of line_max bytes with its octet count. */
static inline struct ledger *with_syslog_ledger(unsigned n_slots, size_t line_max, size_t budget) {
	in.fs.syslog = true;
	return with_ledger_of(n_slots, ledger_slot_size(line_max), budget);
}

static inline int find_sv0(uint64_t ino, void *data) {
	(void)ino;
	(void)data;
	return sv[0];
}

static inline int lookup_none(const char *tag, void *data) {
	(void)tag;
	(void)data;
	return 0;
}

/* A relay of its own, for tests that need another --line-max. */
static inline struct relay relay_with(size_t line_max) {
	struct relay_config cfg = {.line_max = line_max, .default_priority = 6, .retry_usec = 1};
	struct relay rr;
	cr_assert_eq(relay_init(&rr, &cfg), 0);
	rr.journal_checked = r.journal_checked;
	return rr;
}

/*
 * The next process, after a restart or a kill: it maps the same ledger again
 * (with budget bytes to stage) and reads fd with a new stream_in, in2.
 * Recovery is left to the caller.
 */
static inline struct ledger *remap(struct ledger *l, size_t budget, struct stream_in *in2, int fd,
				   bool syslog) {
	struct ledger *again;
	cr_assert_eq(ledger_adopt(dup(ledger_fd(l)), budget, &again), 0);
	stream_in_init(in2, fd, syslog);
	cr_assert_eq(stream_in_ledger(in2, again), 0);
	return again;
}

/* A restart: the next process maps the same ledger, recovers, and the connection comes back. */
static inline struct ledger *restart_on(struct ledger *l, struct stream_in *in2, bool syslog) {
	struct ledger *again = remap(l, 1 << 20, in2, sv[0], syslog);
	cr_assert_geq(ledger_recover(again, find_sv0, lookup_none, NULL), 0);
	return again;
}
