/* SPDX-License-Identifier: MIT */
/*
 * The ledger's account of one connection, and what recovery makes of each
 * point a kill -9 can cut it at. A crash is staged by leaving the record
 * and the socket as the writer leaves them at that point.
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

static void setup(void) {
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(ledger_new(4, 100, BUDGET, &L), 0);
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

/* The stand-in for the kept connections: only ours, and only when it is there. */
static bool gone;
static int find(uint64_t ino, void *data) {
	(void)data;
	return !gone && ino == lc.ino ? sv[1] : -1;
}

/* An entry ending at end was sent, and journald has it. */
static void sent_up_to(uint64_t end) {
	ledger_sending(L, &lc, end, NULL);
	ledger_sent(L, &lc, true);
}

/* A take of n bytes from the job's socket, as far as its mark: then the crash. */
static void take_marked_then_killed(int n) {
	ledger_record(L)->take = (uint64_t)n;
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &n, sizeof(n)), 0);
}

TestSuite(ledger, .init = setup, .fini = teardown);

Test(ledger, take_leaves_no_peek_offset) {
	char buf[8];
	ledger_begin(L, &lc, NULL);
	cr_assert_eq(ledger_take(L, sv[1], buf, 4), 4);
	cr_assert_eq(peek_off(sv[1]), -1, "a peek offset left set moves later MSG_PEEK reads");
	cr_assert_eq(ledger_record(L)->take, (uint64_t)4 << 32);
	ledger_end(L, &lc, NULL);
	assert_left("two\nsix\n");
}

Test(ledger, tags_alternate_per_entry_and_name_the_connection) {
	struct stat st;
	char want[LEDGER_TAG_MAX];
	cr_assert_eq(fstat(sv[1], &st), 0);
	ledger_begin(L, &lc, NULL);
	for (int i = 0; i < 3; i++) {
		ledger_sending(L, &lc, 4 * (uint64_t)(i + 1), NULL);
		snprintf(want, sizeof(want), "MPSR_LEDGER=%016llx.1.%lu.1.%d",
			 (unsigned long long)ledger_record(L)->id, (unsigned long)st.st_ino, i & 1);
		cr_assert_str_eq(lc.tag, want);
		cr_assert_str_eq(ledger_record(L)->tag, want);
		cr_assert_eq(lc.tag_iov.iov_len, strlen(want));
		cr_assert_eq(ledger_record(L)->writing, 4 * (uint64_t)(i + 1) + 1);
		ledger_sent(L, &lc, true);
		cr_assert_eq(ledger_record(L)->confirmed, 4 * (uint64_t)(i + 1));
	}
	/* A refused entry keeps its parity: it is the same entry when it is sent again. */
	ledger_sending(L, &lc, 16, NULL);
	ledger_sent(L, &lc, false);
	cr_assert_eq(ledger_record(L)->confirmed, 12);
	ledger_sending(L, &lc, 16, NULL);
	cr_assert_eq(lc.tag[lc.tag_iov.iov_len - 1], '1');
}

Test(ledger, no_job_under_way_nothing_to_do) {
	cr_assert_eq(ledger_recover(L, find, lookup, NULL), 0);
	assert_left("one\ntwo\nsix\n");
}

/* Two lines in the journal, not yet taken: they are taken now, not written again. */
Test(ledger, sent_not_taken) {
	ledger_begin(L, &lc, NULL);
	sent_up_to(4);
	sent_up_to(8);
	cr_assert_eq(ledger_recover(L, find, lookup, NULL), 8);
	assert_left("six\n");
	cr_assert_eq(ledger_record(L)->ino, 0);
}

/* Killed inside the take, before recv(): the peek offset is still what was set. */
Test(ledger, killed_before_the_take) {
	ledger_begin(L, &lc, NULL);
	sent_up_to(8);
	take_marked_then_killed(8);
	cr_assert_eq(ledger_recover(L, find, lookup, NULL), 8);
	assert_left("six\n");
	cr_assert_eq(peek_off(sv[1]), -1);
}

/* Killed after recv() took the bytes, before the record said so: the kernel counted them. */
Test(ledger, killed_after_the_take) {
	char buf[8];
	ledger_begin(L, &lc, NULL);
	sent_up_to(8);
	take_marked_then_killed(8);
	cr_assert_eq(recv(sv[1], buf, 8, 0), 8);
	cr_assert_eq(ledger_recover(L, find, lookup, NULL), 0, "taking them again loses a line");
	assert_left("six\n");
	cr_assert_eq(peek_off(sv[1]), -1);
}

/* Killed while an entry was being sent, which journald did get: asked, found, taken. */
Test(ledger, killed_sending_entry_there) {
	char buf[8];
	ledger_begin(L, &lc, NULL);
	sent_up_to(4);
	cr_assert_eq(ledger_take(L, sv[1], buf, 4), 4);
	ledger_sending(L, &lc, 8, NULL);
	answer = 1;
	cr_assert_eq(ledger_recover(L, find, lookup, NULL), 4);
	cr_assert_str_eq(asked, lc.tag);
	assert_left("six\n");
}

/* The same, but journald did not get it: it stays in the socket, to be sent again. */
Test(ledger, killed_sending_entry_not_there) {
	ledger_begin(L, &lc, NULL);
	ledger_sending(L, &lc, 4, NULL);
	answer = 0;
	cr_assert_eq(ledger_recover(L, find, lookup, NULL), 0);
	assert_left("one\ntwo\nsix\n");
}

/* journald cannot be asked: sending again may repeat a line, but never loses one. */
Test(ledger, journal_unreadable_sends_again) {
	ledger_begin(L, &lc, NULL);
	sent_up_to(4);
	ledger_sending(L, &lc, 8, NULL);
	answer = -EACCES;
	cr_assert_eq(ledger_recover(L, find, lookup, NULL), 4);
	assert_left("two\nsix\n");
}

/* The connection did not come back: the record is cleared, nothing else happens. */
Test(ledger, connection_gone) {
	ledger_begin(L, &lc, NULL);
	ledger_sending(L, &lc, 4, NULL);
	answer = 1;
	asked[0] = 0;
	gone = true;
	cr_assert_eq(ledger_recover(L, find, lookup, NULL), 0);
	cr_assert_eq(ledger_record(L)->ino, 0);
	cr_assert_str_eq(asked, "");
}

Test(ledger, adopt_counts_generations_and_refuses_strangers) {
	struct ledger *again;
	int fd = dup(ledger_fd(L));
	cr_assert_eq(ledger_adopt(fd, BUDGET, &again), 0);
	cr_assert_eq(ledger_record(again)->gen, 2);
	struct ledger_conn lc2;
	cr_assert_eq(ledger_conn_init(&lc2, again, sv[1]), 0);
	char want[LEDGER_TAG_MAX];
	snprintf(want, sizeof(want), "MPSR_LEDGER=%016llx.2.",
		 (unsigned long long)ledger_record(L)->id);
	cr_assert(strncmp(lc2.tag, want, strlen(want)) == 0, "%s", lc2.tag);
	cr_assert_eq(ledger_record(again)->id, ledger_record(L)->id,
		     "the id stays with the ledger");
	ledger_free(again);

	int other[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
	close(other[1]);
	cr_assert_lt(ledger_adopt(other[0], BUDGET, &again), 0);
	/* A refused fd stays the caller's, who closes it: closed here too, it would be twice. */
	cr_assert_geq(fcntl(other[0], F_GETFD), 0, "ledger_adopt() closed an fd it refused");
	close(other[0]);
}

/* A memfd with a valid record: the first page of L's, then whatever size is asked for. */
static int copy_of_record(off_t size) {
	int fd = memfd_create("test", MFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, size), 0);
	cr_assert_eq(pwrite(fd, ledger_record(L), 4096, 0), 4096);
	return fd;
}

/* A record that claims more than its memfd holds would SIGBUS on the first slot read. */
Test(ledger, adopt_refuses_a_memfd_shorter_than_its_record_says) {
	struct ledger *again;
	int fd = copy_of_record(4096);
	cr_assert_eq(ledger_adopt(fd, BUDGET, &again), -EBADMSG);
	close(fd);

	fd = copy_of_record(4096);
	ledger_record(L)->n_slots = LEDGER_SLOTS_LIMIT + 1;
	cr_assert_eq(pwrite(fd, ledger_record(L), 4096, 0), 4096);
	ledger_record(L)->n_slots = 4;
	cr_assert_eq(ftruncate(fd, 1 << 30), 0);
	cr_assert_eq(ledger_adopt(fd, BUDGET, &again), -EBADMSG);
	close(fd);
}

/* A slot that claims more bytes than it holds would be read past its end. */
Test(ledger, adopt_refuses_a_slot_longer_than_its_size) {
	struct ledger *again;
	struct ledger_slot *slot = (struct ledger_slot *)((char *)ledger_record(L) + 4096);
	slot[1].ino = 42;
	slot[1].state = (uint64_t)(ledger_record(L)->slot_size + 1) << 32;
	int fd = dup(ledger_fd(L));
	cr_assert_eq(ledger_adopt(fd, BUDGET, &again), -EBADMSG);
	close(fd);
	slot[1].state = (uint64_t)ledger_record(L)->slot_size << 32;
	fd = dup(ledger_fd(L));
	cr_assert_eq(ledger_adopt(fd, BUDGET, &again), 0);
	ledger_free(again);
}

/* A restart: the next process maps the same memfd, and the connection comes back. */
static struct ledger *restart(struct ledger_conn *back) {
	struct ledger *again;
	cr_assert_eq(ledger_adopt(dup(ledger_fd(L)), BUDGET, &again), 0);
	cr_assert_eq(ledger_conn_init(back, again, sv[1]), 0);
	return again;
}

static void assert_staged(struct ledger *l, struct ledger_conn *c, const char *want) {
	char *data = NULL;
	size_t n = ledger_staged(l, c, &data);
	cr_assert_eq(n, strlen(want), "staged %zu bytes, want %zu", n, strlen(want));
	if (n)
		cr_assert_arr_eq(data, want, n);
}

/* An unfinished line leaves the socket into the slot, and the next process finds it there. */
Test(ledger, staged_line_outlives_the_process) {
	char buf[16];
	cr_assert_eq(recv(sv[1], buf, 12, 0), 12);
	cr_assert_eq(write(sv[0], "unfin", 5), 5);
	cr_assert_eq(ledger_stage(L, &lc, sv[1], 5), 5);
	cr_assert_eq(write(sv[0], "ished", 5), 5);
	cr_assert_eq(ledger_stage(L, &lc, sv[1], 5), 5);
	assert_staged(L, &lc, "unfinished");
	assert_left("");
	cr_assert_eq(peek_off(sv[1]), -1);

	struct ledger_conn back;
	struct ledger *again = restart(&back);
	cr_assert_eq(ledger_recover(again, find, lookup, NULL), 0);
	assert_staged(again, &back, "unfinished");
	cr_assert_eq(ledger_staged_total(again), 10);
	ledger_free(again);
}

/* Killed inside a take into the slot, after recv(): the slot's length counts the bytes. */
Test(ledger, killed_staging_after_the_take) {
	char buf[16];
	cr_assert_eq(recv(sv[1], buf, 12, 0), 12);
	cr_assert_eq(write(sv[0], "abc", 3), 3);
	cr_assert_eq(ledger_stage(L, &lc, sv[1], 1), 1);
	/* The next take of 2, as far as recv(): */
	struct ledger_slot *slot = (struct ledger_slot *)((char *)ledger_record(L) + 4096);
	cr_assert_eq(slot[lc.slot].ino, lc.ino);
	slot[lc.slot].state = (uint64_t)1 << 32 | 2;
	int off = 2;
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)), 0);
	char *data;
	ledger_staged(L, &lc, &data);
	cr_assert_eq(recv(sv[1], data + 1, 2, 0), 2);

	struct ledger_conn back;
	struct ledger *again = restart(&back);
	cr_assert_eq(ledger_recover(again, find, lookup, NULL), 0);
	assert_staged(again, &back, "abc");
	cr_assert_eq(peek_off(sv[1]), -1);
	ledger_free(again);
}

/* The staged line's end came, and the entry made of it was sent: the slot is emptied, once. */
Test(ledger, staged_line_stored_is_dropped) {
	char buf[16];
	cr_assert_eq(recv(sv[1], buf, 12, 0), 12);
	cr_assert_eq(write(sv[0], "abc", 3), 3);
	cr_assert_eq(ledger_stage(L, &lc, sv[1], 3), 3);
	cr_assert_eq(write(sv[0], "d\nnext", 6), 6);
	ledger_begin(L, &lc, NULL);
	cr_assert_eq(ledger_record(L)->carried, 3);
	sent_up_to(5); /* "abc" + "d\n" */
	/* Killed before "d\n" was taken: the new process takes it and drops "abc". */
	struct ledger_conn back;
	struct ledger *again = restart(&back);
	cr_assert_eq(ledger_recover(again, find, lookup, NULL), 2);
	assert_staged(again, &back, "");
	assert_left("next");
	cr_assert_eq(ledger_staged_total(again), 0);
	ledger_free(again);
}

Test(ledger, job_end_drops_a_stored_staged_line_and_frees_the_slot) {
	char buf[16];
	cr_assert_eq(recv(sv[1], buf, 12, 0), 12);
	cr_assert_eq(write(sv[0], "abcd\n", 5), 5);
	cr_assert_eq(ledger_stage(L, &lc, sv[1], 3), 3);
	ledger_begin(L, &lc, NULL);
	sent_up_to(5);
	cr_assert_eq(ledger_take(L, sv[1], buf, 2), 2);
	ledger_end(L, &lc, NULL);
	cr_assert_eq(lc.slot, -1);
	cr_assert_eq(ledger_staged_total(L), 0);
	assert_left("");
}

Test(ledger, budget_and_slot_size_bound_what_is_staged) {
	char buf[16];
	cr_assert_eq(recv(sv[1], buf, 12, 0), 12);
	cr_assert_eq(write(sv[0], "0123456789abcdefXYZ", 19), 19);
	cr_assert(ledger_can_stage(L, &lc, 0, BUDGET));
	cr_assert_not(ledger_can_stage(L, &lc, 0, BUDGET + 1));
	cr_assert_eq(ledger_stage(L, &lc, sv[1], BUDGET + 1), -ENOSPC);
	assert_left("0123456789abcdefXYZ"); /* nothing was taken */
	cr_assert_eq(ledger_stage(L, &lc, sv[1], 10), 10);
	cr_assert_not(ledger_can_stage(L, &lc, 10, 7));
	cr_assert_eq(ledger_staged_total(L), 10);
}

/* A slot whose connection did not come back is freed at recovery. */
Test(ledger, slots_of_vanished_connections_are_freed) {
	char buf[16];
	cr_assert_eq(recv(sv[1], buf, 12, 0), 12);
	cr_assert_eq(write(sv[0], "abc", 3), 3);
	cr_assert_eq(ledger_stage(L, &lc, sv[1], 3), 3);
	struct ledger *again;
	cr_assert_eq(ledger_adopt(dup(ledger_fd(L)), BUDGET, &again), 0);
	cr_assert_eq(ledger_staged_total(again), 3);
	gone = true;
	cr_assert_eq(ledger_recover(again, find, lookup, NULL), 0);
	cr_assert_eq(ledger_staged_total(again), 0);
	ledger_free(again);
}

static char handed[64];
static int hand_over(uint64_t ino, const char *bytes, size_t len, void *data) {
	(void)data;
	cr_assert_eq(ino, lc.ino);
	snprintf(handed, sizeof(handed), "%.*s", (int)len, bytes);
	return 0;
}

/*
 * A connection that comes back without an account (another transport, no
 * --fd-store, a failed fstat()): its staged bytes are out of the socket, so
 * recovery hands them over before it frees the slot.
 */
Test(ledger, staged_bytes_of_a_connection_without_account_are_handed_over) {
	char buf[16];
	cr_assert_eq(recv(sv[1], buf, 12, 0), 12);
	cr_assert_eq(write(sv[0], "abc", 3), 3);
	cr_assert_eq(ledger_stage(L, &lc, sv[1], 3), 3);
	struct ledger *again;
	cr_assert_eq(ledger_adopt(dup(ledger_fd(L)), BUDGET, &again), 0);
	struct ledger_hooks h = {.find = find, .lookup = lookup, .hand_over = hand_over};
	cr_assert_eq(ledger_recover_with(again, &h), 0);
	cr_assert_str_eq(handed, "abc");
	cr_assert_eq(ledger_staged_total(again), 0);
	ledger_free(again);
}

/* Two ledgers (two boots, two hosts) never tag alike: each has an id of its own. */
Test(ledger, tags_name_their_ledger_and_the_record_its_writer) {
	struct ledger *other;
	struct ledger_conn lc2;
	cr_assert_eq(ledger_new(4, 100, BUDGET, &other), 0);
	cr_assert_eq(ledger_conn_init(&lc2, other, sv[1]), 0);
	cr_assert_neq(ledger_record(other)->id, ledger_record(L)->id);
	cr_assert_str_neq(lc2.tag, lc.tag, "same generation and inode, another ledger");
	cr_assert_eq(ledger_record(other)->uid, (uint32_t)geteuid());
	ledger_free(other);
}

/* The framing state after an entry: a split line of priority prio. */
static struct frame_state split_at(int prio) {
	return (struct frame_state){.mid_line = true, .priority = prio, .facility = -1};
}

static struct frame_state state_after_restart(void) {
	struct ledger_conn back;
	struct frame_state fs = {.priority = -1};
	struct ledger *again = restart(&back);
	cr_assert_geq(ledger_recover(again, find, lookup, NULL), 0);
	ledger_begin(again, &back, &fs);
	ledger_free(again);
	return fs;
}

/*
 * Killed in a job after two entries: the state the next process goes on
 * from is the one after the last entry journald has.
 */
Test(ledger, killed_mid_job_resumes_the_last_confirmed_state) {
	struct frame_state a = split_at(3), b = split_at(4);
	ledger_begin(L, &lc, NULL);
	ledger_sending(L, &lc, 4, &a);
	ledger_sent(L, &lc, true);
	ledger_sending(L, &lc, 8, &b);
	ledger_sent(L, &lc, true);
	struct frame_state fs = state_after_restart();
	cr_assert(fs.mid_line);
	cr_assert_eq(fs.priority, 4);
}

/* An entry in doubt: its state if journald has it, the one before if not. */
Test(ledger, killed_sending_resumes_the_state_journald_decides) {
	struct frame_state a = split_at(3), b = split_at(4);
	for (int there = 0; there < 2; there++) {
		ledger_begin(L, &lc, NULL);
		ledger_sending(L, &lc, 4, &a);
		ledger_sent(L, &lc, true);
		ledger_sending(L, &lc, 8, &b);
		answer = there;
		struct frame_state fs = state_after_restart();
		cr_assert(fs.mid_line);
		cr_assert_eq(fs.priority, there ? 4 : 3);
		ledger_record(L)->ino = 0; /* the next round's job */
		ledger_record(L)->writing = 0;
	}
}

/* The first entry in doubt and not there: the state the job started from. */
Test(ledger, killed_sending_the_first_entry_resumes_the_job_start) {
	struct frame_state start = split_at(2), a = split_at(3);
	ledger_begin(L, &lc, &start);
	ledger_sending(L, &lc, 4, &a);
	answer = 0;
	struct frame_state fs = state_after_restart();
	cr_assert(fs.mid_line);
	cr_assert_eq(fs.priority, 2);
}

/*
 * Socket inodes are 32-bit and reused: a new connection with a closed one's
 * inode, in the same generation, must not share its tags (the closed one's
 * last entry would answer for the new one's first after a crash).
 */
Test(ledger, a_reused_inode_gets_tags_of_its_own) {
	struct ledger_conn again;
	cr_assert_eq(ledger_conn_init(&again, L, sv[1]), 0); /* the same inode, as if reused */
	cr_assert_eq(again.ino, lc.ino);
	cr_assert_str_neq(again.tag, lc.tag);
}

/* A slot is found by inode only for connections kept from before, and only until recovery. */
Test(ledger, a_reused_inode_never_claims_a_vanished_connections_slot) {
	char buf[16];
	cr_assert_eq(recv(sv[1], buf, 12, 0), 12);
	cr_assert_eq(write(sv[0], "abc", 3), 3);
	cr_assert_eq(ledger_stage(L, &lc, sv[1], 3), 3);
	struct ledger *again;
	cr_assert_eq(ledger_adopt(dup(ledger_fd(L)), BUDGET, &again), 0);
	gone = true;
	cr_assert_eq(ledger_recover(again, find, lookup, NULL), 0);
	struct ledger_conn fresh;
	cr_assert_eq(ledger_conn_init(&fresh, again, sv[1]), 0);
	cr_assert_eq(fresh.slot, -1);
	char *data;
	cr_assert_eq(ledger_staged(again, &fresh, &data), 0);
	ledger_free(again);
}
