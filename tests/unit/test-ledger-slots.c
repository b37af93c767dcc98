/* SPDX-License-Identifier: MIT */
/*
 * The ledger's memfd and its slots: what an adopted one must add up to,
 * unfinished lines staged and dropped, the budget, and the slots of
 * connections that came back without an account or did not come back.
 */
#include "ledger-fixture.h"

TestSuite(ledger_slots, .init = setup, .fini = teardown);

Test(ledger_slots, adopt_counts_generations_and_refuses_strangers) {
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
Test(ledger_slots, adopt_refuses_a_memfd_shorter_than_its_record_says) {
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
Test(ledger_slots, adopt_refuses_a_slot_longer_than_its_size) {
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

/* An unfinished line leaves the socket into the slot, and the next process finds it there. */
Test(ledger_slots, staged_line_outlives_the_process) {
	read_the_queued_lines();
	stage("unfin");
	stage("ished");
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
Test(ledger_slots, killed_staging_after_the_take) {
	read_the_queued_lines();
	produce("abc");
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
Test(ledger_slots, staged_line_stored_is_dropped) {
	read_the_queued_lines();
	stage("abc");
	produce("d\nnext");
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

Test(ledger_slots, job_end_drops_a_stored_staged_line_and_frees_the_slot) {
	char buf[16];
	read_the_queued_lines();
	produce("abcd\n");
	cr_assert_eq(ledger_stage(L, &lc, sv[1], 3), 3);
	ledger_begin(L, &lc, NULL);
	sent_up_to(5);
	cr_assert_eq(ledger_take(L, sv[1], buf, 2), 2);
	ledger_end(L, &lc, NULL);
	cr_assert_eq(lc.slot, -1);
	cr_assert_eq(ledger_staged_total(L), 0);
	assert_left("");
}

Test(ledger_slots, budget_and_slot_size_bound_what_is_staged) {
	read_the_queued_lines();
	produce("0123456789abcdefXYZ");
	cr_assert(ledger_can_stage(L, &lc, 0, BUDGET));
	cr_assert_not(ledger_can_stage(L, &lc, 0, BUDGET + 1));
	cr_assert_eq(ledger_stage(L, &lc, sv[1], BUDGET + 1), -ENOSPC);
	assert_left("0123456789abcdefXYZ"); /* nothing was taken */
	cr_assert_eq(ledger_stage(L, &lc, sv[1], 10), 10);
	cr_assert_not(ledger_can_stage(L, &lc, 10, 7));
	cr_assert_eq(ledger_staged_total(L), 10);
}

/*
 * A job's end keeps the connection's framing state in its slot: a connection
 * with an account and no slot to be had would lose it at a restart (the rest
 * of a split line read as a message of its own, an octet count's rest as a
 * new message). So there are no more accounts than slots, and a connection's
 * end gives its account back.
 */
Test(ledger_slots, no_more_accounts_than_slots) {
	struct ledger_conn more[4];

	for (int i = 0; i < 3; i++) /* lc holds the first of L's 4 */
		cr_assert_eq(ledger_conn_init(&more[i], L, sv[1]), 0);
	cr_assert_eq(ledger_conn_init(&more[3], L, sv[1]), -ENOSPC,
		     "a fifth account in a ledger of 4 slots");
	ledger_conn_done(L, &lc);
	cr_assert_eq(ledger_conn_init(&more[3], L, sv[1]), 0);
	/* A restart counts the accounts of its own connections. */
	struct ledger *again = remap();
	for (int i = 0; i < 4; i++)
		cr_assert_eq(ledger_conn_init(&more[i], again, sv[1]), 0);
	ledger_free(again);
}

/* A slot whose connection did not come back is freed at recovery. */
Test(ledger_slots, slots_of_vanished_connections_are_freed) {
	read_the_queued_lines();
	stage("abc");
	struct ledger *again = remap();
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
Test(ledger_slots, staged_bytes_of_a_connection_without_account_are_handed_over) {
	read_the_queued_lines();
	stage("abc");
	struct ledger *again = remap();
	struct ledger_hooks h = {.find = find, .lookup = lookup, .hand_over = hand_over};
	cr_assert_eq(ledger_recover_with(again, &h), 0);
	cr_assert_str_eq(handed, "abc");
	cr_assert_eq(ledger_staged_total(again), 0);
	ledger_free(again);
}

/* A slot is found by inode only for connections kept from before, and only until recovery. */
Test(ledger_slots, a_reused_inode_never_claims_a_vanished_connections_slot) {
	read_the_queued_lines();
	stage("abc");
	struct ledger *again = remap();
	gone = true;
	cr_assert_eq(ledger_recover(again, find, lookup, NULL), 0);
	struct ledger_conn fresh;
	cr_assert_eq(ledger_conn_init(&fresh, again, sv[1]), 0);
	cr_assert_eq(fresh.slot, -1);
	char *data;
	cr_assert_eq(ledger_staged(again, &fresh, &data), 0);
	ledger_free(again);
}

/*
 * An upgrade passes the ledger of the layout before ("mpsm": no id, no
 * framing state, 16-byte slots): its staged line and its entry in doubt are
 * carried over into a ledger of this layout, not dropped.
 */
Test(ledger_slots, the_previous_layout_is_carried_over) {
	struct {
		uint32_t magic, gen, n_slots, slot_size;
		uint64_t ino, carried, take, confirmed, writing;
		char tag[64];
	} old = {.magic = 0x6d70736dU,
		 .gen = 3,
		 .n_slots = 4,
		 .slot_size = 4096,
		 .ino = lc.ino,
		 .writing = 5};
	uint64_t slot[2] = {lc.ino, (uint64_t)3 << 32};
	int fd = memfd_create("old", MFD_CLOEXEC);

	snprintf(old.tag, sizeof(old.tag), "MPSR_LEDGER=3.%llu.0", (unsigned long long)lc.ino);
	cr_assert_eq(ftruncate(fd, 4096 * 6), 0);
	cr_assert_eq(pwrite(fd, &old, sizeof(old), 0), (ssize_t)sizeof(old));
	cr_assert_eq(pwrite(fd, slot, sizeof(slot), 4096 + 16), (ssize_t)sizeof(slot));
	cr_assert_eq(pwrite(fd, "abc", 3, 2 * 4096 + 4096), 3);

	struct ledger *again;
	cr_assert_eq(ledger_adopt(fd, BUDGET, &again), 0);
	cr_assert_neq(ledger_fd(again), fd, "a new memfd, of this layout");
	cr_assert_eq(ledger_record(again)->gen, 4);
	struct ledger_conn back;
	cr_assert_eq(ledger_conn_init(&back, again, sv[1]), 0);
	answer = 1;
	cr_assert_eq(ledger_recover(again, find, lookup, NULL), 4, "the entry in doubt was there");
	cr_assert_str_eq(asked, old.tag);
	assert_left("two\nsix\n");
	char *data = NULL;
	cr_assert_eq(ledger_staged(again, &back, &data), 3);
	cr_assert_arr_eq(data, "abc", 3);
	ledger_free(again);
}
