/* SPDX-License-Identifier: MIT */
/*
 * A start after a kill -9, as server_restore() runs it: the ledger passed
 * back, the kept connections and the datagram socket served again, then
 * recovery. A kill right after a take's recv() leaves the socket's peek
 * offset as the kernel lowered it, the only witness that the bytes left:
 * nothing on the way from the fd store to recovery may reset it first.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ledger.h"
#include "loop.h"
#include "server.h"

static struct ledger *L;
static int sv[2];
static struct loop *loop;
static struct server *S;

static void setup_type(int type, const char *const *packets, int n) {
	cr_assert_eq(ledger_new(4, 4096, 1 << 16, &L), 0);
	cr_assert_eq(socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	for (int i = 0; i < n; i++)
		cr_assert_eq(send(sv[1], packets[i], strlen(packets[i]), 0),
			     (ssize_t)strlen(packets[i]));
}

static void teardown(void) {
	server_free(S);
	loop_free(loop);
	ledger_free(L);
	close(sv[1]);
}

/* The next mpsrd: the ledger from the fd store, then sock (kept, or a listener), then recovery. */
static void restart(int sock, bool listener) {
	struct server_config cfg = {
		.relay = {.line_max = 1024, .default_priority = 6, .retry_usec = 1},
		.max_connections = 16,
		.fd_store = true,
		.unfinished_max = 1 << 16,
	};
	cr_assert_eq(loop_new(&loop), 0);
	cr_assert_eq(server_new(loop, &cfg, &S), 0);
	cr_assert_eq(server_take_kept(S, dup(ledger_fd(L)), LEDGER_NAME), 0);
	if (listener)
		cr_assert_eq(server_add_listener(S, sock), 0);
	else
		cr_assert_eq(server_adopt(S, sock, NULL), 0);
	cr_assert_geq(server_restore(S), 0);
}

static int peek_off(int fd) {
	int off = 0;
	socklen_t len = sizeof(off);
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &len), 0);
	return off;
}

static void assert_head(int fd, const char *want) {
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	cr_assert_eq(n, (ssize_t)strlen(want), "%zd bytes at the head, want \"%s\"", n, want);
	cr_assert_arr_eq(buf, want, (size_t)n);
	cr_assert_eq(peek_off(fd), -1, "no peek offset may stay set");
}

/*
 * A stream job: two lines in the journal, the take of their 8 bytes done
 * by recv(), then the kill. Recovery must not take them again: that would
 * take the third line, which journald never got.
 */
Test(server_crash, a_stream_take_done_before_the_kill_is_not_repeated, .fini = teardown) {
	const char *lines[] = {"one\ntwo\nsix\n"};
	struct ledger_conn lc;
	char buf[8];

	setup_type(SOCK_STREAM, lines, 1);
	cr_assert_eq(ledger_conn_init(&lc, L, sv[0]), 0);
	ledger_begin(L, &lc, NULL);
	ledger_sending(L, &lc, 8, NULL);
	ledger_sent(L, &lc, true);
	ledger_record(L)->take = 8; /* the take's mark, then recv(): the kill */
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_PEEK_OFF, &(int){8}, sizeof(int)), 0);
	cr_assert_eq(recv(sv[0], buf, 8, 0), 8);
	restart(sv[0], false);
	assert_head(sv[0], "six\n");
}

/* The packet area's P3 as far as the recv(): then the kill. */
static void packet_taken_then_killed(int fd) {
	struct ledger_source src;
	char byte;

	cr_assert_eq(ledger_source_init(&src, L, fd), 0);
	ledger_packet_sending(L, &src, 3);
	ledger_record(L)->packet.state = LEDGER_PACKET_TAKING;
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &(int){4}, sizeof(int)), 0);
	cr_assert_eq(recv(fd, &byte, 0, MSG_TRUNC), 3);
}

Test(server_crash, a_record_taken_before_the_kill_is_not_taken_again, .fini = teardown) {
	const char *packets[] = {"one", "two"};

	setup_type(SOCK_SEQPACKET, packets, 2);
	packet_taken_then_killed(sv[0]);
	restart(sv[0], false);
	assert_head(sv[0], "two");
}

Test(server_crash, a_datagram_taken_before_the_kill_is_not_taken_again, .fini = teardown) {
	const char *packets[] = {"one", "two"};

	setup_type(SOCK_DGRAM, packets, 2);
	packet_taken_then_killed(sv[0]);
	restart(sv[0], true);
	assert_head(sv[0], "two");
}

/* Not yet taken at the kill: it is, now, and the next one stays. */
Test(server_crash, a_record_marked_but_not_taken_is_taken_now, .fini = teardown) {
	const char *packets[] = {"one", "two"};
	struct ledger_source src;

	setup_type(SOCK_SEQPACKET, packets, 2);
	cr_assert_eq(ledger_source_init(&src, L, sv[0]), 0);
	ledger_packet_sending(L, &src, 3);
	ledger_record(L)->packet.state = LEDGER_PACKET_TAKING;
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_PEEK_OFF, &(int){4}, sizeof(int)), 0);
	restart(sv[0], false);
	assert_head(sv[0], "two");
}
