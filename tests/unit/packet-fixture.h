/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * What the tests of packets with a ledger share: a socket pair of either
 * type with a ledger, the next process's mapping of it, and two suites that
 * run each case on a record (seqpacket) connection and on a datagram socket.
 *
 * The file that includes this defines setup_type(type), which opens the
 * pair (open_pair()) and queues its packets; its suites' fini calls
 * close_pair().
 */
#include <criterion/criterion.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ledger.h"

#define BUDGET 16

static int sv[2]; /* sv[0]: mpsrd's end, sv[1]: the producer's */
static struct ledger *L;

/* A socket pair of this type (SOCK_SEQPACKET or SOCK_DGRAM), and a ledger of 4 slots. */
static inline void open_pair(int type) {
	cr_assert_eq(socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0, sv), 0);
	cr_assert_eq(ledger_new(4, 100, BUDGET, &L), 0);
}

static inline void close_pair(void) {
	ledger_free(L);
	close(sv[0]);
	close(sv[1]);
}

/* The next process maps the same memfd. */
static inline struct ledger *remap(void) {
	struct ledger *again;
	cr_assert_eq(ledger_adopt(dup(ledger_fd(L)), BUDGET, &again), 0);
	return again;
}

static void setup_type(int type);

static inline void records(void) {
	setup_type(SOCK_SEQPACKET);
}

static inline void datagrams(void) {
	setup_type(SOCK_DGRAM);
}

/*
 * A case, name, run in the suite of records and in the suite of datagrams
 * (their set-ups: records() and datagrams()); its body follows.
 */
#define BOTH_IN(records_suite, datagrams_suite, name)                                              \
	static void name(void);                                                                    \
	Test(records_suite, name) {                                                                \
		name();                                                                            \
	}                                                                                          \
	Test(datagrams_suite, name) {                                                              \
		name();                                                                            \
	}                                                                                          \
	static void name(void)
