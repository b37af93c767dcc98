/* SPDX-License-Identifier: MIT */
/*
 * The ledger's account of one connection, and what recovery makes of each
 * point a kill -9 can cut it at. A crash is staged by leaving the record
 * and the socket as the writer leaves them at that point.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger.h"

static int sv[2];
static struct ledger *L;
static struct ledger_conn lc;

static void setup(void) {
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(ledger_new(&L), 0);
	cr_assert_eq(ledger_conn_init(&lc, L, sv[1]), 0);
	/* Three lines of 4 bytes each. */
	cr_assert_eq(write(sv[0], "one\ntwo\nsix\n", 12), 12);
}

static void teardown(void) {
	ledger_free(L);
	close(sv[0]);
	close(sv[1]);
}

static int peek_off(int fd) {
	int off = 0;
	socklen_t len = sizeof(off);
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &len), 0);
	return off;
}

/* What is still in the socket. */
static void assert_left(const char *want) {
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
static int lookup(const char *tag, void *data) {
	(void)data;
	snprintf(asked, sizeof(asked), "%s", tag);
	return answer;
}

TestSuite(ledger, .init = setup, .fini = teardown);

Test(ledger, take_leaves_no_peek_offset) {
	char buf[8];
	ledger_begin(L, &lc);
	cr_assert_eq(ledger_take(L, sv[1], buf, 4), 4);
	cr_assert_eq(peek_off(sv[1]), -1, "a peek offset left set moves later MSG_PEEK reads");
	cr_assert_eq(ledger_record(L)->take, (uint64_t)4 << 32);
	ledger_end(L);
	assert_left("two\nsix\n");
}

Test(ledger, tags_alternate_per_entry_and_name_the_connection) {
	struct stat st;
	char want[LEDGER_TAG_MAX];
	cr_assert_eq(fstat(sv[1], &st), 0);
	ledger_begin(L, &lc);
	for (int i = 0; i < 3; i++) {
		ledger_sending(L, &lc, 4 * (uint64_t)(i + 1));
		snprintf(want, sizeof(want), "MPSR_LEDGER=1.%lu.%d", (unsigned long)st.st_ino,
			 i & 1);
		cr_assert_str_eq(lc.tag, want);
		cr_assert_str_eq(ledger_record(L)->tag, want);
		cr_assert_eq(lc.tag_iov.iov_len, strlen(want));
		cr_assert_eq(ledger_record(L)->writing, 4 * (uint64_t)(i + 1) + 1);
		ledger_sent(L, &lc, true);
		cr_assert_eq(ledger_record(L)->confirmed, 4 * (uint64_t)(i + 1));
	}
	/* A refused entry keeps its parity: it is the same entry when it is sent again. */
	ledger_sending(L, &lc, 16);
	ledger_sent(L, &lc, false);
	cr_assert_eq(ledger_record(L)->confirmed, 12);
	ledger_sending(L, &lc, 16);
	cr_assert_eq(lc.tag[lc.tag_iov.iov_len - 1], '1');
}

Test(ledger, no_job_under_way_nothing_to_do) {
	cr_assert_eq(ledger_recover(L, sv[1], lookup, NULL), 0);
	assert_left("one\ntwo\nsix\n");
}

/* Two lines in the journal, not yet taken: they are taken now, not written again. */
Test(ledger, sent_not_taken) {
	ledger_begin(L, &lc);
	ledger_sending(L, &lc, 4);
	ledger_sent(L, &lc, true);
	ledger_sending(L, &lc, 8);
	ledger_sent(L, &lc, true);
	cr_assert_eq(ledger_recover(L, sv[1], lookup, NULL), 8);
	assert_left("six\n");
	cr_assert_eq(ledger_record(L)->ino, 0);
}

/* Killed inside the take, before recv(): the peek offset is still what was set. */
Test(ledger, killed_before_the_take) {
	ledger_begin(L, &lc);
	ledger_sending(L, &lc, 8);
	ledger_sent(L, &lc, true);
	ledger_record(L)->take = 8;
	int off = 8;
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)), 0);
	cr_assert_eq(ledger_recover(L, sv[1], lookup, NULL), 8);
	assert_left("six\n");
	cr_assert_eq(peek_off(sv[1]), -1);
}

/* Killed after recv() took the bytes, before the record said so: the kernel counted them. */
Test(ledger, killed_after_the_take) {
	char buf[8];
	ledger_begin(L, &lc);
	ledger_sending(L, &lc, 8);
	ledger_sent(L, &lc, true);
	ledger_record(L)->take = 8;
	int off = 8;
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)), 0);
	cr_assert_eq(recv(sv[1], buf, 8, 0), 8);
	cr_assert_eq(ledger_recover(L, sv[1], lookup, NULL), 0, "taking them again loses a line");
	assert_left("six\n");
	cr_assert_eq(peek_off(sv[1]), -1);
}

/* Killed while an entry was being sent, which journald did get: asked, found, taken. */
Test(ledger, killed_sending_entry_there) {
	char buf[8];
	ledger_begin(L, &lc);
	ledger_sending(L, &lc, 4);
	ledger_sent(L, &lc, true);
	cr_assert_eq(ledger_take(L, sv[1], buf, 4), 4);
	ledger_sending(L, &lc, 8);
	answer = 1;
	cr_assert_eq(ledger_recover(L, sv[1], lookup, NULL), 4);
	cr_assert_str_eq(asked, lc.tag);
	assert_left("six\n");
}

/* The same, but journald did not get it: it stays in the socket, to be sent again. */
Test(ledger, killed_sending_entry_not_there) {
	ledger_begin(L, &lc);
	ledger_sending(L, &lc, 4);
	answer = 0;
	cr_assert_eq(ledger_recover(L, sv[1], lookup, NULL), 0);
	assert_left("one\ntwo\nsix\n");
}

/* journald cannot be asked: sending again may repeat a line, but never loses one. */
Test(ledger, journal_unreadable_sends_again) {
	ledger_begin(L, &lc);
	ledger_sending(L, &lc, 4);
	ledger_sent(L, &lc, true);
	ledger_sending(L, &lc, 8);
	answer = -EACCES;
	cr_assert_eq(ledger_recover(L, sv[1], lookup, NULL), 4);
	assert_left("two\nsix\n");
}

/* The connection did not come back: the record is cleared, nothing else happens. */
Test(ledger, connection_gone) {
	ledger_begin(L, &lc);
	ledger_sending(L, &lc, 4);
	answer = 1;
	asked[0] = 0;
	cr_assert_eq(ledger_recover(L, -1, lookup, NULL), 0);
	cr_assert_eq(ledger_record(L)->ino, 0);
	cr_assert_str_eq(asked, "");
}

Test(ledger, adopt_counts_generations_and_refuses_strangers) {
	struct ledger *again;
	int fd = dup(ledger_fd(L));
	cr_assert_eq(ledger_adopt(fd, &again), 0);
	cr_assert_eq(ledger_record(again)->gen, 2);
	struct ledger_conn lc2;
	cr_assert_eq(ledger_conn_init(&lc2, again, sv[1]), 0);
	cr_assert(strncmp(lc2.tag, "MPSR_LEDGER=2.", 14) == 0, "%s", lc2.tag);
	ledger_free(again);

	int other[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
	close(other[1]);
	cr_assert_lt(ledger_adopt(other[0], &again), 0);
}
