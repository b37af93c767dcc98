/* SPDX-License-Identifier: MIT */
/*
 * The packet reader over real socket pairs, with the journal writer replaced
 * (ld --wrap): a packet leaves the socket only once written, an empty record
 * is skipped whether running or stopping, and a closed producer is seen.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "journal.h"
#include "packet.h"
#include "relay.h"

static struct {
	char text[8][64];
	unsigned n;
	bool refuse;
} W;

int __wrap_journal_write(const struct origin *o, const struct journal_msg *m);
int __wrap_journal_write(const struct origin *o, const struct journal_msg *m) {
	(void)o;
	if (W.refuse)
		return -EAGAIN;
	cr_assert_lt(W.n, 8);
	snprintf(W.text[W.n++], sizeof(W.text[0]), "%.*s", (int)m->len, m->text);
	return 0;
}

static struct relay r;
static int sv[2];

static void setup_type(int type) {
	struct relay_config cfg = {.line_max = 1024, .default_priority = 6, .retry_usec = 1};

	memset(&W, 0, sizeof(W));
	cr_assert_eq(relay_init(&r, &cfg), 0);
	r.journal_checked = now_usec() + 3600000000ull; /* journald is there for this test */
	cr_assert_eq(socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0, sv), 0);
}

static void teardown(void) {
	relay_done(&r);
	close(sv[0]);
	close(sv[1]);
}

static void send_packet(const char *s) {
	cr_assert_eq(send(sv[1], s, strlen(s), 0), (ssize_t)strlen(s));
}

static int queued(void) {
	char buf[256];

	return (int)recv(sv[0], buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
}

static void dgram_setup(void) {
	setup_type(SOCK_DGRAM);
	int one = 1;
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
}

static void records_setup(void) {
	setup_type(SOCK_SEQPACKET);
}

Test(datagrams, each_is_an_entry_taken_out_once_written, .init = dgram_setup, .fini = teardown) {
	send_packet("<3>one\n");
	send_packet("two");
	cr_assert_eq(packet_read_datagrams(sv[0], NULL, &r, 64), READ_MORE);
	cr_assert_eq(W.n, 2);
	cr_assert_str_eq(W.text[0], "one");
	cr_assert_str_eq(W.text[1], "two");
	cr_assert_eq(queued(), -1);
	cr_assert_eq(r.stats.messages, 2);
}

Test(datagrams, a_refused_one_stays_queued, .init = dgram_setup, .fini = teardown) {
	send_packet("kept");
	W.refuse = true;
	cr_assert_eq(packet_read_datagrams(sv[0], NULL, &r, 64), READ_RETRY);
	cr_assert_eq(queued(), 4, "the datagram must stay until it is written");
	W.refuse = false;
	cr_assert_eq(packet_read_datagrams(sv[0], NULL, &r, 64), READ_MORE);
	cr_assert_eq(W.n, 1);
	cr_assert_str_eq(W.text[0], "kept");
}

Test(datagrams, at_most_max_per_call, .init = dgram_setup, .fini = teardown) {
	send_packet("a");
	send_packet("b");
	cr_assert_eq(packet_read_datagrams(sv[0], NULL, &r, 1), READ_MORE);
	cr_assert_eq(W.n, 1);
	cr_assert_eq(queued(), 1);
}

Test(records, an_empty_record_is_skipped_not_the_end, .init = records_setup, .fini = teardown) {
	cr_assert_eq(send(sv[1], "", 0, 0), 0);
	send_packet("PRIORITY=3\n\nafter the empty one");
	cr_assert_eq(packet_read_records(sv[0], NULL, NULL, &r, 64), READ_MORE);
	cr_assert_eq(W.n, 1);
	cr_assert_str_eq(W.text[0], "after the empty one");
}

Test(records, the_same_when_stopping, .init = records_setup, .fini = teardown) {
	/* At stop the same code reads, with a larger limit: the empty record must not end it. */
	cr_assert_eq(send(sv[1], "", 0, 0), 0);
	send_packet("queued before stop");
	shutdown(sv[1], SHUT_WR);
	cr_assert_eq(packet_read_records(sv[0], NULL, NULL, &r, 1024), READ_END);
	cr_assert_eq(W.n, 1);
	cr_assert_str_eq(W.text[0], "queued before stop");
}

Test(records, a_refused_record_stays_queued, .init = records_setup, .fini = teardown) {
	send_packet("x");
	W.refuse = true;
	cr_assert_eq(packet_read_records(sv[0], NULL, NULL, &r, 64), READ_RETRY);
	cr_assert_eq(queued(), 1);
	cr_assert_eq(r.stats.journal_errors, 1);
}

Test(datagrams, crlf_and_trailing_blanks_of_a_syslog_message_go, .init = dgram_setup,
     .fini = teardown) {
	send_packet("<2>Oct 11 22:14:15 myhostname sshd[1234]: message 0\r\n");
	send_packet("<5>Trailing spaces \t \n");
	send_packet("plain  \r\n");
	send_packet("<13>app: x\r\n");
	cr_assert_eq(packet_read_datagrams(sv[0], NULL, &r, 64), READ_MORE);
	cr_assert_eq(W.n, 4);
	cr_assert_str_eq(W.text[0], "message 0");
	cr_assert_str_eq(W.text[1], "Trailing spaces");
	/* Text without a header keeps its blanks; only the line ending goes. */
	cr_assert_str_eq(W.text[2], "plain  ");
	cr_assert_str_eq(W.text[3], "x");
}
