/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * What the ledger's tests share: a ledger, one connection on a socket pair
 * with three lines queued, stand-ins for journald and for the kept
 * connections, and a restart (the same memfd mapped again).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger.h"

#define BUDGET 16

static int sv[2];
static struct ledger *L;
static struct ledger_conn lc;

static inline void setup(void) {
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(ledger_new(4, 100, BUDGET, &L), 0);
	cr_assert_eq(ledger_conn_init(&lc, L, sv[1]), 0);
	/* Three lines of 4 bytes each. */
	cr_assert_eq(write(sv[0], "one\ntwo\nsix\n", 12), 12);
}

static inline void teardown(void) {
	ledger_free(L);
	close(sv[0]);
	close(sv[1]);
}

/* The three queued lines are read: the socket then holds only what the test writes next. */
static inline void read_the_queued_lines(void) {
	char buf[16];
	cr_assert_eq(recv(sv[1], buf, 12, 0), 12);
}

/* The producer writes text. */
static inline void produce(const char *text) {
	cr_assert_eq(write(sv[0], text, strlen(text)), (ssize_t)strlen(text));
}

/* The producer writes an unfinished line, and all of it goes into the slot. */
static inline void stage(const char *text) {
	produce(text);
	cr_assert_eq(ledger_stage(L, &lc, sv[1], strlen(text)), (ssize_t)strlen(text));
}

static inline int peek_off(int fd) {
	int off = 0;
	socklen_t len = sizeof(off);
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &len), 0);
	return off;
}

/* What is still in the socket. */
static inline void assert_left(const char *want) {
	char buf[64];
	ssize_t n = recv(sv[1], buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (!*want) {
		cr_assert(n < 0, "the socket should be empty");
		return;
	}
	cr_assert_eq(n, (ssize_t)strlen(want));
	cr_assert_arr_eq(buf, want, (size_t)n);
}

static int answer; /* what the stand-in for journald says */
static char asked[LEDGER_TAG_MAX];
static inline int lookup(const char *tag, void *data) {
	(void)data;
	snprintf(asked, sizeof(asked), "%s", tag);
	return answer;
}

/* The stand-in for the kept connections: only ours, and only when it is there. */
static bool gone;
static inline int find(uint64_t ino, void *data) {
	(void)data;
	return !gone && ino == lc.ino ? sv[1] : -1;
}

/* An entry ending at end was sent, and journald has it. */
static inline void sent_up_to(uint64_t end) {
	ledger_sending(L, &lc, end, NULL);
	ledger_sent(L, &lc, true);
}

/* A take of n bytes from the job's socket, as far as its mark: then the crash. */
static inline void take_marked_then_killed(int n) {
	ledger_record(L)->take = (uint64_t)n;
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &n, sizeof(n)), 0);
}

/* The next process maps the same memfd. */
static inline struct ledger *remap(void) {
	struct ledger *again;
	cr_assert_eq(ledger_adopt(dup(ledger_fd(L)), BUDGET, &again), 0);
	return again;
}

/* A restart: the next process maps the same memfd, and the connection comes back. */
static inline struct ledger *restart(struct ledger_conn *back) {
	struct ledger *again = remap();
	cr_assert_eq(ledger_conn_init(back, again, sv[1]), 0);
	return again;
}

static inline void assert_staged(struct ledger *l, struct ledger_conn *c, const char *want) {
	char *data = NULL;
	size_t n = ledger_staged(l, c, &data);
	cr_assert_eq(n, strlen(want), "staged %zu bytes, want %zu", n, strlen(want));
	if (n)
		cr_assert_arr_eq(data, want, n);
}
