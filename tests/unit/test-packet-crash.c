/* SPDX-License-Identifier: MIT */
/*
 * Records and datagrams exactly once across a kill -9: the packet reader,
 * with a ledger, is killed for real (a child process that dies with _exit(),
 * its memory gone, the memfd and the socket kept) at each point between
 * peeking a packet and taking it out, and the next process (this one)
 * recovers and reads on. journal_write() and recv() are replaced (ld --wrap):
 * the stand-in for journald records each entry with its MPSR_LEDGER= tag in
 * memory the two processes share, and dies where it is told to.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "journal.h"
#include "packet-fixture.h"
#include "packet.h"
#include "relay.h"

enum kill_point {
	KILL_NONE,
	KILL_BEFORE_SEND, /* in journal_write(), before journald has the entry */
	KILL_AFTER_SEND,  /* in journal_write(), after */
	KILL_BEFORE_TAKE, /* in the recv() that takes the packet out, before it */
	KILL_AFTER_TAKE,  /* in it, after */
};

/* The stand-in for journald, shared with the child that is killed. */
static struct journal {
	char text[16][32];
	char tag[16][LEDGER_TAG_MAX];
	unsigned n;
	enum kill_point kill;
	unsigned kill_at; /* at the entry with this number (from 0) */
	unsigned calls;
} * J;

int __wrap_journal_write(const struct origin *o, const struct journal_msg *m);
int __wrap_journal_write(const struct origin *o, const struct journal_msg *m) {
	(void)o;
	bool here = J->calls++ == J->kill_at;
	if (here && J->kill == KILL_BEFORE_SEND)
		_exit(0);
	cr_assert_lt(J->n, 16);
	snprintf(J->text[J->n], sizeof(J->text[0]), "%.*s", (int)m->len, m->text);
	snprintf(J->tag[J->n], sizeof(J->tag[0]), "%.*s", m->tag ? (int)m->tag->iov_len : 0,
		 m->tag ? (char *)m->tag->iov_base : "");
	J->n++;
	if (here && J->kill == KILL_AFTER_SEND)
		_exit(0);
	return 0;
}

/* The recv() that takes a packet out: of 0 bytes, without MSG_PEEK. */
ssize_t __real_recv(int fd, void *buf, size_t n, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags) {
	bool take = n == 0 && !(flags & MSG_PEEK);
	bool here = take && J->calls == J->kill_at + 1;
	if (here && J->kill == KILL_BEFORE_TAKE)
		_exit(0);
	ssize_t k = __real_recv(fd, buf, n, flags);
	if (here && J->kill == KILL_AFTER_TAKE)
		_exit(0);
	return k;
}

static int type;

static void setup_type(int t) {
	type = t;
	J = mmap(NULL, sizeof(*J), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(J, MAP_FAILED);
	open_pair(type);
	if (type == SOCK_DGRAM)
		cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)), 0);
	const char *packets[] = {"one", "two", "six"};
	for (int i = 0; i < 3; i++)
		cr_assert_eq(send(sv[1], packets[i], 3, 0), 3);
}

static void teardown(void) {
	close_pair();
	munmap(J, sizeof(*J));
}

/* One process's reading: a new ledger mapping of the memfd (l), a new account, a new relay. */
static void read_all(struct ledger *l) {
	struct relay_config cfg = {.line_max = 1024, .default_priority = 6, .retry_usec = 1};
	struct packet_ledger pl;
	struct relay r;

	cr_assert_eq(relay_init(&r, &cfg), 0);
	r.journal_checked = now_usec() + 3600000000ull; /* journald is there for this test */
	cr_assert_eq(packet_ledger_init(&pl, l, sv[0]), 0);
	int k = type == SOCK_DGRAM ? packet_read_datagrams(sv[0], &pl, &r, 64)
				   : packet_read_records(sv[0], NULL, &pl, &r, 64);
	cr_assert_eq(k, READ_MORE);
	relay_done(&r);
}

/* The process that reads is killed at entry `at` (0, 1, 2), at point p. */
static void killed(enum kill_point p, unsigned at) {
	J->kill = p;
	J->kill_at = at;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		read_all(L);
		_exit(1); /* not killed: the test is wrong */
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the reader was not killed");
	J->kill = KILL_NONE;
}

static int answer; /* 1: what the recorded journal says; else this */
static char asked[LEDGER_TAG_MAX];

/* As mpsr-readback: is the last recorded entry of tag's socket (either parity) tag? */
static int lookup(const char *tag, void *data) {
	(void)data;
	snprintf(asked, sizeof(asked), "%s", tag);
	if (answer != 1)
		return answer;
	size_t n = strlen(tag);
	for (unsigned i = J->n; i-- > 0;)
		if (strlen(J->tag[i]) == n && memcmp(J->tag[i], tag, n - 1) == 0)
			return J->tag[i][n - 1] == tag[n - 1];
	return 0;
}

static int find(uint64_t ino, void *data) {
	(void)ino;
	(void)data;
	return sv[0];
}

/* The next process: recovery first, then it reads on. */
static void restart(void) {
	struct ledger *again = remap();
	cr_assert_geq(ledger_recover_packet(again, find, lookup, NULL), 0);
	read_all(again);
	ledger_free(again);
}

/* What journald holds, in order: "one two six" is each once. */
static void assert_journal(const char *want) {
	char got[128] = "";
	for (unsigned i = 0; i < J->n; i++) {
		strcat(got, i ? " " : "");
		strcat(got, J->text[i]);
		cr_assert_eq(strncmp(J->tag[i], LEDGER_FIELD, strlen(LEDGER_FIELD)), 0,
			     "entry %u carries no tag", i);
	}
	cr_assert_str_eq(got, want);
}

TestSuite(record_crash, .init = records, .fini = teardown);
TestSuite(datagram_crash, .init = datagrams, .fini = teardown);

/* Each case on a record connection and on a datagram socket. */
#define BOTH(name) BOTH_IN(record_crash, datagram_crash, name)

/* The kill between the send and the take: journald has it, says so; it is not written again. */
BOTH(killed_between_send_and_take_journald_has_it) {
	answer = 1;
	killed(KILL_AFTER_SEND, 1);
	restart();
	cr_assert_str_eq(asked, J->tag[1], "the entry in doubt was looked up by its tag");
	assert_journal("one two six");
}

/* The kill before journald had it: it says no, the packet is written now. */
BOTH(killed_before_the_send_journald_has_not) {
	answer = 1;
	killed(KILL_BEFORE_SEND, 1);
	restart();
	assert_journal("one two six");
}

/* The stand-in says no: the packet is written again (it says so only when it is not there). */
BOTH(lookup_says_no) {
	answer = 0;
	killed(KILL_BEFORE_SEND, 0);
	restart();
	assert_journal("one two six");
}

/* journald cannot be asked: written again, so twice, but never lost. */
BOTH(lookup_unknown_writes_again) {
	answer = -ETIMEDOUT;
	killed(KILL_AFTER_SEND, 1);
	restart();
	assert_journal("one two two six");
}

/* Killed in the take, before its recv(): journald has it; it is taken, unasked. */
BOTH(killed_before_the_take) {
	answer = -ETIMEDOUT; /* would write it again, were it asked */
	killed(KILL_BEFORE_TAKE, 1);
	restart();
	assert_journal("one two six");
}

/* Killed right after the recv() took it: the next packet must not be taken for it. */
BOTH(killed_after_the_take) {
	answer = -ETIMEDOUT;
	killed(KILL_AFTER_TAKE, 1);
	restart();
	assert_journal("one two six");
}

/* The last packet, then a restart with nothing queued: recovery finds it gone, takes nothing. */
BOTH(killed_after_the_last_take) {
	answer = -ETIMEDOUT;
	killed(KILL_AFTER_TAKE, 2);
	restart();
	assert_journal("one two six");
}

/* Two kills in a row, the second in the recovering process's first send. */
BOTH(killed_twice) {
	answer = 1;
	killed(KILL_AFTER_SEND, 0);
	struct ledger *again = remap();
	cr_assert_eq(ledger_recover_packet(again, find, lookup, NULL), 1);
	ledger_free(again);
	killed(KILL_AFTER_SEND, 2);
	restart();
	assert_journal("one two six");
}

/* An empty datagram between two others: it does not move the peek offset. */
static void empty_between(void) {
	char byte;
	datagrams();
	for (int i = 0; i < 3; i++)
		cr_assert_geq(recv(sv[0], &byte, 0, MSG_TRUNC), 0);
	cr_assert_eq(send(sv[1], "one", 3, 0), 3);
	cr_assert_eq(send(sv[1], "", 0, 0), 0);
	cr_assert_eq(send(sv[1], "six", 3, 0), 3);
}

/* Killed after its take: the datagram after it is not taken in its place. */
Test(empty_datagram, killed_after_its_take, .init = empty_between, .fini = teardown) {
	answer = -ETIMEDOUT;
	killed(KILL_AFTER_TAKE, 1);
	restart();
	assert_journal("one  six");
}

/* Killed before its take: recorded as taken, it is written again (twice, none lost). */
Test(empty_datagram, killed_before_its_take, .init = empty_between, .fini = teardown) {
	answer = -ETIMEDOUT;
	killed(KILL_BEFORE_TAKE, 1);
	restart();
	assert_journal("one   six");
}
