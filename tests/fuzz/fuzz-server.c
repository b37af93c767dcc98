/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the server end to end, without journald: the producer's bytes go
 * through a real socket pair into the real reading code (peek, frame, write,
 * consume, carry), and the journal writer is replaced (ld --wrap) by one that
 * records each entry and fails now and then, as journald does when it is
 * restarted. Checks that the entries are exactly what the framing makes of
 * the bytes written: none lost, none doubled by a retry, none changed.
 *
 * Input: byte 0 the mode (stream ending in EOF, stream ending in a drain as
 * at SIGTERM, datagrams, records), byte 1 line_max, byte 2 seeds the chunk
 * sizes, bytes 3-6 which journal writes fail; the rest is the producer's.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "fuzz.h"
#include "journal.h"
#include "log.h"
#include "loop.h"
#include "priority.h"
#include "record.h"
#include "server.h"

#define DEFAULT_PRIORITY 6

struct seen {
	char *text;
	size_t len;
	int priority;
	const char *brk;
	size_t n_extra;
};

/* What the replaced journal writer saw; the fuzzer's only global state. */
static struct {
	struct seen *e;
	size_t n, cap;
	uint32_t fail; /* bit i: the i-th write (mod 32) fails */
	unsigned calls;
} J;

int __wrap_journal_write(const struct origin *o, const struct journal_msg *m);
int __wrap_journal_available(void);
int __wrap_log_msg(int priority, int error, const char *fmt, ...) _printf_(3, 4);

int __wrap_journal_write(const struct origin *o, const struct journal_msg *m) {
	(void)o;
	/* The real writer uses the headroom: so must this one, for ASan to see it. */
	memcpy(m->text - JOURNAL_HEADROOM, "MESSAGE=", JOURNAL_HEADROOM);
	if (J.fail & (1u << (J.calls++ % 32)))
		return -EAGAIN;
	if (J.n == J.cap) {
		J.cap = J.cap ? J.cap * 2 : 64;
		J.e = realloc(J.e, J.cap * sizeof(*J.e));
		CHECK(J.e);
	}
	struct seen *s = &J.e[J.n++];
	s->text = malloc(m->len + 1);
	CHECK(s->text);
	memcpy(s->text, m->text, m->len);
	s->len = m->len;
	s->priority = m->priority;
	s->brk = m->line_break;
	s->n_extra = m->n_extra;
	return 0;
}

int __wrap_journal_available(void) {
	return 0;
}

/* The server's diagnostics are formatted (so ASan checks them) but not printed. */
int __wrap_log_msg(int priority, int error, const char *fmt, ...) {
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return error < 0 ? error : -error;
}

static void expect(size_t i, const char *text, size_t len, int priority, const char *brk) {
	CHECK(i < J.n);
	CHECK(J.e[i].len == len && memcmp(J.e[i].text, text, len) == 0);
	CHECK(J.e[i].priority == priority);
	CHECK((brk == NULL) == (J.e[i].brk == NULL));
	CHECK(brk == NULL || strcmp(brk, J.e[i].brk) == 0);
}

/* Runs the loop until nothing is left to do, resuming after failed writes. */
static void settle(struct loop *loop, struct server *s) {
	for (int i = 0;; i++) {
		CHECK(i < 100000); /* a spinning server is a bug too */
		if (server_stats(s)->journal_held) {
			server_tick(s, now_usec());
			CHECK(!server_stats(s)->journal_held);
		}
		if (loop_dispatch(loop, 0) <= 0 && !server_stats(s)->journal_held)
			return;
	}
}

/* The entries a stream of in[0..len) must give, as framed in one go. */
static size_t check_stream(const uint8_t *in, size_t len, size_t line_max, const char *eof_name) {
	static const char *const names[] = {NULL, "line-max", NULL};
	struct frame_state st = {.priority = -1};
	struct frame f;
	size_t pos = 0, i = 0;

	while (frame_next((const char *)in + pos, len - pos, line_max, true, &st, &f)) {
		int prio = f.priority >= 0 ? f.priority : DEFAULT_PRIORITY;
		const char *brk = f.brk == FRAME_BREAK_EOF ? eof_name : names[f.brk];
		expect(i++, (const char *)in + pos + f.start, f.len, prio, brk);
		pos += f.consumed;
	}
	CHECK(pos == len);
	return i;
}

/* Next chunk size: 1..4096 bytes, or for packets 0..4095 (an empty packet is one too). */
static size_t next_chunk(uint32_t *seed, size_t left, bool packets) {
	*seed = *seed * 1103515245u + 12345u;
	size_t k = (*seed >> 16) % 4096 + !packets;
	return k < left ? k : left;
}

/* Sends one chunk whole, letting the server read whenever the socket is full. */
static void send_all(struct loop *loop, struct server *s, int fd, const uint8_t *p, size_t n) {
	do {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			CHECK(errno == EAGAIN);
			settle(loop, s);
			continue;
		}
		p += k;
		n -= (size_t)k;
	} while (n > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if (size < 7)
		return 0;
	unsigned mode = data[0] % 4;
	struct server_config cfg = {
		.line_max = 64 + data[1] % 128,
		.default_priority = DEFAULT_PRIORITY,
		.max_connections = 16,
	};
	uint32_t seed = data[2];
	const uint8_t *in = data + 7;
	size_t len = size - 7;
	static const int types[] = {SOCK_STREAM, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
	struct loop *loop;
	struct server *s;
	int sv[2];

	J.n = 0;
	J.calls = 0;
	/* Never two failures in a row, so every entry gets through in the end. */
	J.fail = ((uint32_t)data[3] | (uint32_t)data[4] << 8 | (uint32_t)data[5] << 16 |
		  (uint32_t)data[6] << 24) &
		 0x55555555u;

	CHECK(loop_new(&loop) == 0);
	CHECK(server_new(loop, &cfg, &s) == 0);
	CHECK(socketpair(AF_UNIX, types[mode] | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	if (types[mode] == SOCK_DGRAM)
		CHECK(server_add_listener(s, sv[0]) == 0);
	else
		CHECK(server_adopt(s, sv[0], "c-fuzz") == 0);

	/* Packets are cut where the chunks end; a stream does not know. */
	size_t sent = 0, packets = 0;
	size_t *ends = malloc((2 * len + 1) * sizeof(*ends));
	CHECK(ends);
	while (sent < len) {
		size_t k = next_chunk(&seed, len - sent, mode >= 2);
		if (k == 0 && packets >= len)
			k = 1;
		send_all(loop, s, sv[1], in + sent, k);
		sent += k;
		ends[packets++] = sent;
		/* Sometimes several chunks queue up before the server looks. */
		if (seed & 0x10000)
			settle(loop, s);
	}
	if (mode != 1)
		shutdown(sv[1], SHUT_WR);
	settle(loop, s);

	if (mode == 0) {
		CHECK(server_stats(s)->connections == 0);
		CHECK(check_stream(in, len, cfg.line_max, "eof") == J.n);
	} else if (mode == 1) {
		/*
		 * As at SIGTERM: what was sent is written; what is left stays in the
		 * socket. journald is taken to be there: an unfinished line already
		 * taken from the socket cannot wait for it and would count as dropped.
		 */
		J.fail = 0;
		server_drain(s);
		char *rest = malloc(len + 1);
		CHECK(rest);
		ssize_t k = recv(sv[0], rest, len + 1, MSG_DONTWAIT);
		size_t left = k > 0 ? (size_t)k : 0;
		CHECK(left <= len && memcmp(rest, in + len - left, left) == 0);
		CHECK(check_stream(in, len - left, cfg.line_max, "stop") == J.n);
		free(rest);
	} else {
		size_t i = 0, start = 0;
		for (size_t p = 0; p < packets; start = ends[p++]) {
			const char *t = (const char *)in + start;
			size_t n = ends[p] - start;
			if (mode == 2) {
				int prio = DEFAULT_PRIORITY;
				size_t skip = priority_prefix(t, n, &prio);
				size_t nl = n > skip && t[n - 1] == '\n';
				expect(i++, t + skip, n - skip - nl, prio, NULL);
			} else if (n > 0) { /* an empty record is nothing to write */
				struct record r;
				record_parse(t, n, &r);
				int prio = r.priority >= 0 ? r.priority : DEFAULT_PRIORITY;
				expect(i, t + r.text, r.text_len, prio, NULL);
				CHECK(J.e[i++].n_extra == r.n_fields);
			}
		}
		CHECK(i == J.n);
	}
	CHECK(server_stats(s)->dropped == 0);

	free(ends);
	server_free(s); /* closes the producer's connection, not a listener */
	loop_free(loop);
	if (types[mode] == SOCK_DGRAM)
		close(sv[0]);
	close(sv[1]);
	for (size_t i = 0; i < J.n; i++)
		free(J.e[i].text);
	return 0;
}
