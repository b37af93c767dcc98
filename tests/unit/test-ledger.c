/* SPDX-License-Identifier: MIT */
/*
 * The ledger's account of one connection, and what recovery makes of each
 * point a kill -9 can cut it at. A crash is staged by leaving the record
 * and the socket as the writer leaves them at that point.
 */
#include "ledger-fixture.h"

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

/* Killed after the job began, before its first entry: the tag is still empty. */
Test(ledger, killed_before_the_first_entry) {
	ledger_begin(L, &lc, NULL);
	cr_assert_eq(ledger_record(L)->tag[0], '\0');
	cr_assert_eq(ledger_recover(L, find, lookup, NULL), 0);
	assert_left("one\ntwo\nsix\n");
	cr_assert_eq(ledger_record(L)->ino, 0);
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

/*
 * The first entry of a job, in doubt and found: recovery confirms it as a
 * send does, last too, so that a recovery killed later finds a whole record.
 */
Test(ledger, entry_found_in_recovery_is_the_last_confirmed) {
	ledger_begin(L, &lc, NULL);
	ledger_sending(L, &lc, 4, NULL);
	answer = 1;
	cr_assert_eq(ledger_recover(L, find, lookup, NULL), 4);
	cr_assert_eq(ledger_record(L)->confirmed, 4);
	cr_assert_eq(ledger_record(L)->last, 1, "the parity of the entry found");
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

/*
 * The entry in doubt is looked up under its sender's uid: a restart, even
 * one killed in its recovery, leaves the record's uid as the sender's, and
 * the next send records its own.
 */
Test(ledger, the_record_keeps_the_uid_that_sent_the_entry_in_doubt) {
	struct ledger_conn back;
	uint32_t me = (uint32_t)geteuid();

	ledger_begin(L, &lc, NULL);
	ledger_sending(L, &lc, 5, NULL);
	cr_assert_eq(ledger_record(L)->uid, me);
	ledger_record(L)->uid = me + 4242; /* as if another uid had sent it */
	struct ledger *again = restart(&back);
	cr_assert_eq(ledger_record(again)->uid, me + 4242, "a restart took the entry for its own");
	ledger_free(again);
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

/* A syslog job: "a\n" then two NULs queued, "a" in the journal; the first NUL ends nothing. */
static void a_sent_then_nuls(void) {
	struct frame_state after_a = {.priority = 6, .facility = -1, .syslog = true, .ended = 1};

	read_the_queued_lines();
	cr_assert_eq(write(sv[0], "a\n\0\0", 4), 4);
	ledger_begin(L, &lc, NULL);
	ledger_sending(L, &lc, 2, &after_a);
	ledger_sent(L, &lc, true);
}

/*
 * The NUL after "a\n" (the second byte of a "\n\0", which framing drops) is
 * taken with it, then the kill, before the job's end. The next byte starts
 * a message: the second NUL is an empty one, not the rest of a terminator.
 */
Test(ledger, a_dropped_terminator_half_taken_before_the_kill_is_not_pending) {
	char buf[4];

	a_sent_then_nuls();
	cr_assert_eq(ledger_take(L, sv[1], buf, 3), 3);
	struct frame_state fs = state_after_restart();
	cr_assert_eq(fs.ended, 0, "the next NUL would end nothing: an empty message lost");
	cr_assert_eq(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), 1, "the second NUL is left");
}

/* Not taken at the kill: it is still in the socket, and still the terminator's. */
Test(ledger, a_dropped_terminator_half_not_taken_stays_pending) {
	char buf[4];

	a_sent_then_nuls();
	cr_assert_eq(ledger_take(L, sv[1], buf, 2), 2);
	struct frame_state fs = state_after_restart();
	cr_assert_eq(fs.ended, 1);
	cr_assert_eq(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), 2, "both NULs are left");
}
