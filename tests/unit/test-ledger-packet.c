/* SPDX-License-Identifier: MIT */
/*
 * The ledger's account of a packet (ledger.h, P1 to P3) on a record
 * (seqpacket) and a datagram socket, and what recovery makes of each point a
 * kill -9 can cut it at. A crash is staged by leaving the record and the
 * socket as the writer leaves them at that point; the next process maps the
 * same memfd.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "packet-fixture.h"

static struct ledger_source src;

static void setup_type(int type) {
	open_pair(type);
	cr_assert_eq(ledger_source_init(&src, L, sv[0]), 0);
	cr_assert_eq(send(sv[1], "one", 3, 0), 3);
	cr_assert_eq(send(sv[1], "two!", 4, 0), 4);
}

static int answer; /* what the stand-in for journald says */
static char asked[LEDGER_TAG_MAX];
static int lookup(const char *tag, void *data) {
	(void)data;
	snprintf(asked, sizeof(asked), "%s", tag);
	return answer;
}

static bool gone;
static int find(uint64_t ino, void *data) {
	(void)data;
	return !gone && ino == src.ino ? sv[0] : -1;
}

static int peek_off(void) {
	int off = 0;
	socklen_t len = sizeof(off);
	cr_assert_eq(getsockopt(sv[0], SOL_SOCKET, SO_PEEK_OFF, &off, &len), 0);
	return off;
}

/* The packet at the head of the socket, or "" when it is empty. */
static const char *head(void) {
	static char buf[16];
	ssize_t n = recv(sv[0], buf, sizeof(buf) - 1, MSG_PEEK | MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* A restart: the next process maps the same memfd, and settles the packet in doubt. */
static int restart_and_recover(void) {
	struct ledger *again = remap();
	int r = ledger_recover_packet(again, find, lookup, NULL);
	cr_assert_eq(ledger_record(again)->packet.ino, 0, "recovery leaves nothing in doubt");
	cr_assert_eq(peek_off(), -1, "a peek offset left set moves later MSG_PEEK reads");
	ledger_free(again);
	return r;
}

/* The writer's P3 as far as its mark, then the kill. */
static void take_marked_then_killed(int len) {
	ledger_record(L)->packet.state = LEDGER_PACKET_TAKING;
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_PEEK_OFF, &(int){len + 1}, sizeof(int)), 0);
}

TestSuite(ledger_records, .init = records, .fini = close_pair);
TestSuite(ledger_datagrams, .init = datagrams, .fini = close_pair);

/* Each case on a record connection and on a datagram socket. */
#define BOTH(name) BOTH_IN(ledger_records, ledger_datagrams, name)

BOTH(a_written_packet_leaves_its_socket_and_no_mark) {
	ledger_packet_sending(L, &src, 3);
	cr_assert_eq(ledger_record(L)->packet.ino, src.ino);
	cr_assert_eq(ledger_packet_take(L, &src, sv[0]), 0);
	cr_assert_eq(ledger_record(L)->packet.ino, 0);
	cr_assert_eq(ledger_record(L)->packet.state, LEDGER_PACKET_TAKEN);
	cr_assert_eq(peek_off(), -1);
	cr_assert_str_eq(head(), "two!");
}

BOTH(tags_name_the_socket_and_alternate_per_entry) {
	char want[LEDGER_TAG_MAX];
	for (int i = 0; i < 2; i++) {
		ledger_packet_sending(L, &src, 3 + (size_t)i);
		snprintf(want, sizeof(want), "MPSR_LEDGER=%016llx.1.%llu.1.%d",
			 (unsigned long long)ledger_record(L)->id, (unsigned long long)src.ino, i);
		cr_assert_str_eq(src.tag, want);
		cr_assert_str_eq(ledger_record(L)->packet.tag, want);
		cr_assert_eq(src.tag_iov.iov_len, strlen(want));
		cr_assert_eq(ledger_record(L)->packet.uid, (uint32_t)geteuid());
		cr_assert_eq(ledger_packet_take(L, &src, sv[0]), 0);
	}
}

/* Refused: nothing in doubt, and the same packet is sent again with the same parity. */
BOTH(a_refused_packet_stays_with_its_parity) {
	ledger_packet_sending(L, &src, 3);
	ledger_packet_refused(L, &src);
	cr_assert_eq(ledger_record(L)->packet.ino, 0);
	cr_assert_str_eq(head(), "one");
	ledger_packet_sending(L, &src, 3);
	cr_assert_eq(src.tag[src.tag_iov.iov_len - 1], '0');
}

/* Killed while sending, and journald got it: asked, found, taken out. */
BOTH(killed_sending_packet_there) {
	ledger_packet_sending(L, &src, 3);
	answer = 1;
	cr_assert_eq(restart_and_recover(), 1);
	cr_assert_str_eq(asked, src.tag);
	cr_assert_str_eq(head(), "two!");
}

/* Killed while sending, and journald did not get it: it stays, to be written. */
BOTH(killed_sending_packet_not_there) {
	ledger_packet_sending(L, &src, 3);
	answer = 0;
	cr_assert_eq(restart_and_recover(), 0);
	cr_assert_str_eq(asked, src.tag);
	cr_assert_str_eq(head(), "one");
}

/* journald cannot be asked: written again (twice at worst), never lost. */
BOTH(journal_unreadable_packet_stays) {
	ledger_packet_sending(L, &src, 3);
	answer = -ETIMEDOUT;
	cr_assert_eq(restart_and_recover(), 0);
	cr_assert_str_eq(head(), "one");
}

/* Killed in the take, before its recv(): journald has it, so it goes now, unasked. */
BOTH(killed_before_the_take) {
	ledger_packet_sending(L, &src, 3);
	take_marked_then_killed(3);
	asked[0] = '\0';
	cr_assert_eq(restart_and_recover(), 1);
	cr_assert_str_eq(asked, "", "journald is not asked what the record says");
	cr_assert_str_eq(head(), "two!");
}

/* The same, killed before the mark was set: the record says TAKING, the socket nothing. */
BOTH(killed_before_the_mark) {
	ledger_packet_sending(L, &src, 3);
	ledger_record(L)->packet.state = LEDGER_PACKET_TAKING;
	cr_assert_eq(restart_and_recover(), 1);
	cr_assert_str_eq(head(), "two!");
}

/* Killed after recv() took it, before the record said so: the kernel's mark says it. */
BOTH(killed_after_the_take) {
	char byte;
	ledger_packet_sending(L, &src, 3);
	take_marked_then_killed(3);
	cr_assert_eq(recv(sv[0], &byte, 0, MSG_TRUNC), 3);
	cr_assert_eq(restart_and_recover(), 0, "taking another packet loses it");
	cr_assert_str_eq(head(), "two!");
}

/* Killed after the take was recorded, before the record was cleared. */
BOTH(killed_after_the_take_was_recorded) {
	char byte;
	ledger_packet_sending(L, &src, 3);
	take_marked_then_killed(3);
	cr_assert_eq(recv(sv[0], &byte, 0, MSG_TRUNC), 3);
	ledger_record(L)->packet.state = LEDGER_PACKET_TAKEN;
	cr_assert_eq(restart_and_recover(), 0);
	cr_assert_str_eq(head(), "two!");
}

/* Its socket did not come back: the record is cleared, nothing asked. */
BOTH(socket_gone) {
	ledger_packet_sending(L, &src, 3);
	gone = true;
	asked[0] = '\0';
	cr_assert_eq(ledger_recover_packet(L, find, lookup, NULL), 0);
	cr_assert_eq(ledger_record(L)->packet.ino, 0);
	cr_assert_str_eq(asked, "");
}

/* What the record says does not fit the socket's head: nothing is taken on a guess. */
BOTH(a_head_of_another_length_stays) {
	ledger_packet_sending(L, &src, 5);
	answer = 1;
	cr_assert_eq(restart_and_recover(), 0);
	cr_assert_str_eq(head(), "one");
}

#ifndef NDEBUG
/* At most one entry in doubt: a packet is never sent inside a stream job (an assert says so). */
Test(ledger_records, a_packet_is_not_sent_inside_a_stream_job, .signal = SIGABRT) {
	struct ledger_conn lc;
	int other[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
	cr_assert_eq(ledger_conn_init(&lc, L, other[0]), 0);
	ledger_begin(L, &lc, NULL);
	ledger_packet_sending(L, &src, 3);
}
#endif

/*
 * An upgrade passes the ledger of the layout before ("mps2": no packet
 * area): it is made this layout where it lies, its entry in doubt kept.
 */
Test(ledger_records, the_layout_before_is_upgraded_in_place) {
	struct ledger_conn lc;
	int other[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
	cr_assert_eq(ledger_conn_init(&lc, L, other[0]), 0);
	ledger_begin(L, &lc, NULL);
	ledger_sending(L, &lc, 4, NULL);
	uint32_t gen = ledger_record(L)->gen;
	int fd = dup(ledger_fd(L));
	/* As the last mpsrd left it: the old magic, nothing after its record. */
	cr_assert_eq(pwrite(fd, "2spm", 4, 0), 4);
	cr_assert_eq(pwrite(fd, "junk", 4, offsetof(struct ledger_record, packet)), 4);

	struct ledger *again;
	cr_assert_eq(ledger_adopt(fd, BUDGET, &again), 0);
	cr_assert_eq(ledger_fd(again), fd, "the same memfd");
	cr_assert_eq(ledger_record(again)->magic, 0x6d707333U);
	cr_assert_eq(ledger_record(again)->gen, gen + 1);
	cr_assert_eq(ledger_record(again)->packet.ino, 0, "an empty packet area");
	cr_assert_str_eq(ledger_record(again)->tag, lc.tag, "the stream entry in doubt is kept");
	ledger_free(again);
	close(other[0]);
	close(other[1]);
}

/*
 * An empty datagram does not move the peek offset: its take is recorded
 * before its recv(), so a kill in between leaves it to be written again,
 * and never takes the datagram after it in its place.
 */
Test(ledger_datagrams, an_empty_datagram_is_recorded_taken_before_its_take) {
	char byte;
	cr_assert_eq(recv(sv[0], &byte, 0, MSG_TRUNC), 3);
	cr_assert_eq(recv(sv[0], &byte, 0, MSG_TRUNC), 4);
	cr_assert_eq(send(sv[1], "", 0, 0), 0);
	cr_assert_eq(send(sv[1], "two!", 4, 0), 4);

	ledger_packet_sending(L, &src, 0);
	cr_assert_eq(ledger_packet_take(L, &src, sv[0]), 0);
	cr_assert_str_eq(head(), "two!");

	/* Killed after the recv(): the record said TAKEN before it. */
	ledger_packet_sending(L, &src, 4);
	ledger_record(L)->packet.len = 0;
	ledger_record(L)->packet.state = LEDGER_PACKET_TAKEN;
	cr_assert_eq(restart_and_recover(), 0);
	cr_assert_str_eq(head(), "two!");
}
