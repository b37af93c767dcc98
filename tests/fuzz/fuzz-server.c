/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the server end to end, without journald: the producer's bytes go
 * through a real socket pair into the real reading code (peek, frame, write,
 * consume, carry) on the real writer thread. libsystemd's journal calls are
 * replaced (ld --wrap): sd_journal_sendv() records each entry and fails now
 * and then, as when journald is restarted; sd_journal_stream_fd() hands out
 * a socket pair whose other end the fuzzer reads (--transport=stream).
 * Checks that the entries are exactly what the framing makes of the bytes
 * written: none lost, none doubled by a retry, none changed.
 *
 * Input: byte 0 the mode (stream, native or journald's stream transport,
 * ending in EOF or in a drain as at SIGTERM; datagrams; records ending in
 * EOF or in a drain), byte 1 line_max, byte 2 seeds the chunk sizes, bytes
 * 3-6 which journal writes fail; the rest is the producer's.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "frame.h"
#include "fuzz.h"
#include "journal.h"
#include "log.h"
#include "loop.h"
#include "priority.h"
#include "record.h"
#include "server.h"
#include "syslog-header.h"

#define DEFAULT_PRIORITY 6

struct seen {
	char *text;
	size_t len;
	int priority;
	const char *brk;
	size_t n_extra; /* a record's fields */
};

/* What the replaced journal calls saw; the fuzzer's only global state. */
static struct {
	struct seen *e;
	size_t n, cap;
	uint32_t fail; /* bit i: the i-th call (mod 32) fails */
	unsigned calls;
	int stream_rd; /* the fuzzer's end of the --transport=stream socket, or -1 */
	char *stream;  /* what came through it */
	size_t stream_len, stream_cap;
} J = {.stream_rd = -1};

int __wrap_sd_journal_sendv(const struct iovec *iov, int n);
int __wrap_sd_journal_stream_fd(const char *identifier, int priority, int level_prefix);
int __wrap_journal_available(void);
int __wrap_log_msg(int priority, int error, const char *fmt, ...) _printf_(3, 4);
void __wrap_log_limited(struct ratelimit *rl, int priority, int error, const char *fmt, ...)
	_printf_(4, 5);

static bool fails(void) {
	return J.fail & (1u << (J.calls++ % 32));
}

static bool field(const struct iovec *v, const char *name, const char **value, size_t *len) {
	size_t k = strlen(name);

	if (v->iov_len < k || memcmp(v->iov_base, name, k) != 0)
		return false;
	*value = (const char *)v->iov_base + k;
	*len = v->iov_len - k;
	return true;
}

/* The entry is taken apart as journald would: MESSAGE, PRIORITY, MPSR_LINE_BREAK, the rest. */
int __wrap_sd_journal_sendv(const struct iovec *iov, int n) {
	static const char *const breaks[] = {"line-max", "eof", "stop", "nul"};
	const char *v = NULL;
	size_t len = 0;

	if (fails())
		return -EAGAIN;
	if (J.n == J.cap) {
		J.cap = J.cap ? J.cap * 2 : 64;
		J.e = realloc(J.e, J.cap * sizeof(*J.e));
		CHECK(J.e);
	}
	struct seen *s = &J.e[J.n++];
	*s = (struct seen){.priority = -1};
	for (int i = 0; i < n; i++) {
		if (field(&iov[i], "MESSAGE=", &v, &len)) {
			s->text = malloc(len + 1);
			CHECK(s->text);
			memcpy(s->text, v, len);
			s->len = len;
		} else if (field(&iov[i], "PRIORITY=", &v, &len)) {
			CHECK(len == 1 && v[0] >= '0' && v[0] <= '7');
			s->priority = v[0] - '0';
		} else if (field(&iov[i], "MPSR_LINE_BREAK=", &v, &len)) {
			for (size_t b = 0; b < 4; b++)
				if (strlen(breaks[b]) == len && memcmp(breaks[b], v, len) == 0)
					s->brk = breaks[b];
			CHECK(s->brk);
		} else if (!field(&iov[i], "MPSR_", &v, &len) &&
			   !field(&iov[i], "SYSLOG_IDENTIFIER=", &v, &len) &&
			   !field(&iov[i], "SYSLOG_PID=", &v, &len)) {
			s->n_extra++; /* a record's own field: those names are refused there */
		}
	}
	CHECK(s->text && s->priority >= 0);
	return 0;
}

int __wrap_sd_journal_stream_fd(const char *identifier, int priority, int level_prefix) {
	int sv[2];
	(void)identifier;
	(void)priority;
	CHECK(level_prefix);

	if (fails())
		return -ECONNREFUSED;
	CHECK(J.stream_rd < 0); /* one producer, one stream */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	J.stream_rd = sv[0];
	return sv[1];
}

/* Takes what the --transport=stream writer wrote, so that it never blocks for long. */
static void stream_take(void) {
	for (;;) {
		if (J.stream_rd < 0)
			return;
		if (J.stream_cap - J.stream_len < 4096) {
			J.stream_cap = J.stream_cap * 2 + 65536;
			J.stream = realloc(J.stream, J.stream_cap);
			CHECK(J.stream);
		}
		ssize_t k = recv(J.stream_rd, J.stream + J.stream_len, J.stream_cap - J.stream_len,
				 MSG_DONTWAIT);
		if (k <= 0) {
			CHECK(k == 0 || errno == EAGAIN);
			if (k == 0) {
				close(J.stream_rd);
				J.stream_rd = -1;
			}
			return;
		}
		J.stream_len += (size_t)k;
	}
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

void __wrap_log_limited(struct ratelimit *rl, int priority, int error, const char *fmt, ...) {
	char text[1024];
	va_list ap;
	(void)rl;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
}

static bool no_breaks; /* --transport=stream: journald's stream has no MPSR_LINE_BREAK */

static void expect(size_t i, const char *text, size_t len, int priority, const char *brk) {
	CHECK(i < J.n);
	CHECK(J.e[i].len == len && memcmp(J.e[i].text, text, len) == 0);
	CHECK(J.e[i].priority == priority);
	if (no_breaks)
		return;
	CHECK((brk == NULL) == (J.e[i].brk == NULL));
	CHECK(brk == NULL || strcmp(brk, J.e[i].brk) == 0);
}

/* Runs the loop until nothing is left to do; the writer retries what failed. */
static void settle(struct loop *loop, struct server *s) {
	for (int i = 0;; i++) {
		CHECK(i < 100000); /* a spinning server is a bug too */
		stream_take();
		int k = loop_dispatch(loop, server_busy(s) ? 1 : 0);
		CHECK(k >= 0);
		if (k == 0 && !server_busy(s)) {
			stream_take();
			return;
		}
	}
}

/*
 * The --transport=stream writer's output as journald reads it: a line ends
 * at '\n', and "<N>" in front is its priority.
 */
static void stream_entries(void) {
	size_t pos = 0;

	while (pos < J.stream_len) {
		const char *line = J.stream + pos;
		const char *nl = memchr(line, '\n', J.stream_len - pos);
		CHECK(nl); /* lines only ever go out whole */
		size_t n = (size_t)(nl - line);
		int prio = DEFAULT_PRIORITY;
		size_t skip = priority_prefix(line, n, &prio);
		if (J.n == J.cap) {
			J.cap = J.cap ? J.cap * 2 : 64;
			J.e = realloc(J.e, J.cap * sizeof(*J.e));
			CHECK(J.e);
		}
		struct seen *e = &J.e[J.n++];
		*e = (struct seen){.len = n - skip, .priority = prio};
		e->text = malloc(e->len + 1);
		CHECK(e->text);
		memcpy(e->text, line + skip, e->len);
		pos += n + 1;
	}
}

/* The entries a stream of in[0..len) must give, as framed in one go. */
static size_t check_stream(const uint8_t *in, size_t len, size_t line_max, const char *eof_name,
			   bool syslog) {
	static const char *const names[] = {NULL, "line-max", NULL, "nul"};
	struct frame_state st = {.priority = -1, .syslog = syslog};
	struct frame f;
	size_t pos = 0, i = 0;

	while (frame_next((const char *)in + pos, len - pos, line_max, true, &st, &f)) {
		int prio = f.priority >= 0 ? f.priority : DEFAULT_PRIORITY;
		const char *brk = f.brk == FRAME_BREAK_EOF ? eof_name : names[f.brk];
		expect(i++, (const char *)in + pos + f.start, f.len, prio, brk);
		pos += f.consumed;
	}
	/* What framing may leave: the second byte of a "\n\0" or "\0\n" terminator. */
	CHECK(pos == len || (syslog && pos + 1 == len && (in[pos] == 0 || in[pos] == '\n')));
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

enum mode {
	STREAM_EOF,
	STREAM_STOP,
	JSTREAM_EOF,
	JSTREAM_STOP,
	DATAGRAMS,
	RECORDS_EOF,
	RECORDS_STOP,
	MODES
};

/* Checks what a drain (as at SIGTERM) left: only what was not written stays in the socket. */
static size_t stream_left(int fd, const uint8_t *in, size_t len) {
	char *rest = malloc(len + 1);
	CHECK(rest);
	ssize_t k = recv(fd, rest, len + 1, MSG_DONTWAIT);
	size_t left = k > 0 ? (size_t)k : 0;
	CHECK(left <= len && memcmp(rest, in + len - left, left) == 0);
	free(rest);
	return left;
}

/* The entries packets must give: datagrams, or records up to packet `upto`. */
static void check_packets(enum mode mode, const uint8_t *in, const size_t *ends, size_t upto) {
	size_t i = 0, start = 0;

	for (size_t p = 0; p < upto; start = ends[p++]) {
		const char *t = (const char *)in + start;
		size_t n = ends[p] - start;
		if (mode == DATAGRAMS) {
			struct syslog_header h;
			n -= n > 0 && t[n - 1] == '\0';
			n -= n > 0 && t[n - 1] == '\n';
			n -= n > 0 && t[n - 1] == '\r';
			n = syslog_parse_message(t, n, &h);
			int prio = h.priority >= 0 ? h.priority : DEFAULT_PRIORITY;
			expect(i++, t + h.text, n - h.text, prio, NULL);
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

/* How many records are still queued in fd (a drain leaves what is past its limit). */
static size_t records_left(int fd) {
	char buf[1];
	size_t left = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		left++;
	return left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if (size < 7)
		return 0;
	enum mode mode = data[0] % MODES;
	bool stop = mode == STREAM_STOP || mode == JSTREAM_STOP || mode == RECORDS_STOP;
	bool packets_mode = mode >= DATAGRAMS;
	struct server_config cfg = {
		.relay =
			{
				.line_max = 64 + data[1] % 128,
				.default_priority = DEFAULT_PRIORITY,
				.retry_usec = 1,
			},
		.max_connections = 16,
		.unfinished_max = 1 << 20, /* unfinished lines wait in memory, as mpsrd's default */
		.stream_transport = mode == JSTREAM_EOF || mode == JSTREAM_STOP,
	};
	uint32_t seed = data[2];
	const uint8_t *in = data + 7;
	size_t len = size - 7;
	int type = mode == DATAGRAMS ? SOCK_DGRAM : packets_mode ? SOCK_SEQPACKET : SOCK_STREAM;
	struct server_stats st;
	struct loop *loop;
	struct server *s;
	int sv[2];

	J.n = 0;
	J.calls = 0;
	J.stream_len = 0;
	no_breaks = cfg.stream_transport;
	/* Never two failures in a row, so every entry gets through in the end. */
	J.fail = ((uint32_t)data[3] | (uint32_t)data[4] << 8 | (uint32_t)data[5] << 16 |
		  (uint32_t)data[6] << 24) &
		 0x55555555u;

	CHECK(loop_new(&loop) == 0);
	CHECK(server_new(loop, &cfg, &s) == 0);
	CHECK(socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	if (type == SOCK_DGRAM)
		CHECK(server_add_listener(s, sv[0]) == 0);
	else
		CHECK(server_adopt(s, sv[0], "c-fuzz") == 0);

	/* Packets are cut where the chunks end; a stream does not know. */
	size_t sent = 0, packets = 0;
	size_t *ends = malloc((2 * len + 1) * sizeof(*ends));
	CHECK(ends);
	while (sent < len) {
		size_t k = next_chunk(&seed, len - sent, packets_mode);
		if (k == 0 && packets >= len)
			k = 1;
		send_all(loop, s, sv[1], in + sent, k);
		sent += k;
		ends[packets++] = sent;
		/* Sometimes several chunks queue up before the server looks. */
		if (seed & 0x10000)
			settle(loop, s);
	}
	if (!stop)
		shutdown(sv[1], SHUT_WR);
	settle(loop, s);
	if (stop) {
		/*
		 * As at SIGTERM: what was sent is written; what is left stays in the
		 * socket. journald is taken to be there: an unfinished line already
		 * taken from the socket cannot wait for it and would count as dropped.
		 */
		J.fail = 0;
		server_drain(s, false);
		settle(loop, s);
	}
	server_stats(s, now_usec(), &st);
	CHECK(st.relay.dropped == 0);
	if (mode == STREAM_EOF || mode == JSTREAM_EOF || mode == RECORDS_EOF)
		CHECK(st.connections == 0);
	/* What a drain left in the socket is read before server_free() closes it. */
	size_t left = 0;
	if (mode == STREAM_STOP || mode == JSTREAM_STOP)
		left = stream_left(sv[0], in, len);
	else if (mode == RECORDS_STOP)
		left = records_left(sv[0]);
	stream_take();
	if (cfg.stream_transport)
		stream_entries();

	if (!packets_mode)
		CHECK(check_stream(in, len - left, cfg.relay.line_max, stop ? "stop" : "eof",
				   !cfg.stream_transport) == J.n);
	else
		check_packets(mode, in, ends, packets - left);

	server_free(s); /* closes the producer's connection, not a listener */
	loop_free(loop);
	free(ends);
	if (type == SOCK_DGRAM)
		close(sv[0]);
	close(sv[1]);
	if (J.stream_rd >= 0)
		close(J.stream_rd);
	J.stream_rd = -1;
	for (size_t i = 0; i < J.n; i++)
		free(J.e[i].text);
	return 0;
}
