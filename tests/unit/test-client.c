/* SPDX-License-Identifier: MIT */
/* mpsr-send's parts: priorities, line cutting, and the bytes it puts on the wire. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame.h"
#include "lines.h"
#include "priority.h"
#include "record.h"
#include "sender.h"

static void prio(const char *s, int level, int facility) {
	int l = -2, f = -2;

	cr_assert_eq(priority_parse(s, &l, &f), 0, "%s", s);
	cr_assert_eq(l, level, "%s: level %d", s, l);
	cr_assert_eq(f, facility, "%s: facility %d", s, f);
}

Test(priority, names_numbers_and_facilities) {
	prio("emerg", 0, -1);
	prio("panic", 0, -1);
	prio("err", 3, -1);
	prio("ERROR", 3, -1);
	prio("warn", 4, -1);
	prio("debug", 7, -1);
	prio("0", 0, -1);
	prio("7", 7, -1);
	prio("user.err", 3, 1);
	prio("local3.warning", 4, 19);
	prio("daemon.5", 5, 3);
}

Test(priority, refuses_what_is_not_one) {
	const char *bad[] = {"", "8", "-1", "10", "errr", "user.", ".err", "nope.err", "user.8"};
	int l = -2, f = -2;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert_eq(priority_parse(bad[i], &l, &f), -EINVAL, "%s", bad[i]);
	cr_assert_eq(l, -2, "a refused priority must not change the result");
	cr_assert_str_eq(priority_level_name(3), "err");
	cr_assert_null(priority_level_name(8));
}

/* ---- lines ---- */

/* A reader over a file holding exactly `data`. */
static void reader_of(struct lines *r, const char *data, size_t len) {
	FILE *f = tmpfile();

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fflush(f);
	rewind(f);
	cr_assert_eq(lines_init(r, dup(fileno(f)), true), 0);
	fclose(f);
}

/* Reads everything; returns the pieces in order. */
static size_t all_pieces(struct lines *r, struct line_piece *out, char **copies, size_t max) {
	size_t n = 0;

	for (;;) {
		struct line_piece p;
		while (lines_next(r, &p)) {
			cr_assert_lt(n, max);
			copies[n] = strndup(p.text, p.len); /* the text moves on the next fill */
			out[n++] = p;
		}
		if (r->eof)
			return n;
		cr_assert_geq(lines_fill(r), 0);
	}
}

Test(lines, lines_empty_lines_and_an_unterminated_last_one) {
	struct lines r;
	struct line_piece p[8];
	char *c[8];

	reader_of(&r, "one\n\nthree\nfour", 15);
	size_t n = all_pieces(&r, p, c, 8);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(c[0], "one");
	cr_assert_str_eq(c[1], "");
	cr_assert_str_eq(c[2], "three");
	cr_assert_str_eq(c[3], "four");
	for (size_t i = 0; i < n; i++) {
		cr_assert(p[i].first && p[i].last);
		free(c[i]);
	}
	close(r.fd);
	lines_done(&r);
}

Test(lines, long_line_is_cut_into_pieces_of_the_line_max) {
	size_t len = 2 * LINES_PIECE_MAX + 10;
	char *data = malloc(len + 5);
	struct lines r;
	struct line_piece p[8];
	char *c[8];

	memset(data, 'a', len);
	memcpy(data + len, "\nend\n", 5);
	reader_of(&r, data, len + 5);
	size_t n = all_pieces(&r, p, c, 8);
	cr_assert_eq(n, 4);
	cr_assert(p[0].first && !p[0].last);
	cr_assert_eq(p[0].len, LINES_PIECE_MAX);
	cr_assert(!p[1].first && !p[1].last);
	cr_assert_eq(p[1].len, LINES_PIECE_MAX);
	cr_assert(!p[2].first && p[2].last);
	cr_assert_eq(p[2].len, 10);
	cr_assert_str_eq(c[3], "end");
	for (size_t i = 0; i < n; i++)
		free(c[i]);
	close(r.fd);
	lines_done(&r);
	free(data);
}

Test(lines, line_of_exactly_the_line_max_is_one_piece) {
	char *data = malloc(LINES_PIECE_MAX + 1);
	struct lines r;
	struct line_piece p[4];
	char *c[4];

	memset(data, 'b', LINES_PIECE_MAX);
	data[LINES_PIECE_MAX] = '\n';
	reader_of(&r, data, LINES_PIECE_MAX + 1);
	cr_assert_eq(all_pieces(&r, p, c, 4), 1);
	cr_assert(p[0].first && p[0].last);
	cr_assert_eq(p[0].len, LINES_PIECE_MAX);
	free(c[0]);
	close(r.fd);
	lines_done(&r);
	free(data);
}

/* ---- what goes on the wire ---- */

static void sender_on(struct sender *s, enum sender_kind kind, int *peer) {
	int sv[2];

	cr_assert_eq(
		socketpair(AF_UNIX,
			   (kind == SENDER_STREAM ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0,
			   sv),
		0);
	*s = (struct sender){.fd = sv[0], .kind = kind, .path = "test"};
	if (kind == SENDER_STREAM) {
		s->out_size = 4096;
		s->out = malloc(s->out_size);
	}
	*peer = sv[1];
}

static size_t read_all(int fd, char *buf, size_t size) {
	size_t n = 0;
	ssize_t k;

	while ((k = recv(fd, buf + n, size - n, MSG_DONTWAIT)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	return n;
}

Test(sender, stream_prefixes_every_line_so_text_stays_text) {
	struct sender s;
	int peer;
	char buf[256];

	sender_on(&s, SENDER_STREAM, &peer);
	cr_assert_eq(sender_piece(&s, 3, "<5>not a prefix", 15, true, true), 0);
	cr_assert_eq(sender_piece(&s, 6, "split ", 6, true, false), 0);
	cr_assert_eq(sender_piece(&s, 6, "line", 4, false, true), 0);
	cr_assert_eq(sender_flush(&s), 0);
	read_all(peer, buf, sizeof(buf) - 1);
	cr_assert_str_eq(buf, "<3><5>not a prefix\n<6>split line\n");

	/* What the daemon's framing makes of it. */
	struct frame_state st = {.priority = -1};
	struct frame f;
	cr_assert(frame_next(buf, strlen(buf), MPSR_LINE_MAX_DEFAULT, false, &st, &f));
	cr_assert_eq(f.priority, 3);
	cr_assert_eq(f.len, strlen("<5>not a prefix"));
	sender_close(&s);
	close(peer);
}

Test(sender, stream_finish_waits_for_the_reader_to_close) {
	struct sender s;
	int peer;

	sender_on(&s, SENDER_STREAM, &peer);
	cr_assert_eq(sender_piece(&s, 6, "x", 1, true, true), 0);
	/* A reader that takes everything, then closes: a clean end. */
	pid_t pid = fork();
	if (pid == 0) {
		char b[64];
		while (read(peer, b, sizeof(b)) > 0)
			;
		_exit(0);
	}
	close(peer);
	cr_assert_eq(sender_finish(&s), 0);
	waitpid(pid, NULL, 0);
}

Test(sender, finish_reports_a_reader_that_closed_with_bytes_unread) {
	struct sender s;
	int peer;

	sender_on(&s, SENDER_STREAM, &peer);
	cr_assert_eq(sender_piece(&s, 6, "never read", 10, true, true), 0);
	cr_assert_eq(sender_flush(&s), 0);
	close(peer); /* as mpsrd would if it went away with the line unread */
	int r = sender_finish(&s);
	cr_assert(r == -ECONNRESET || r == -EPIPE, "got %d", r);
}

Test(sender, record_is_what_the_daemon_parses) {
	char *fields[] = {"REQUEST_ID=42", "USER_NAME=ann"};
	const char *text = "A=b\n\nTraceback:\n  at x\n\n  at y"; /* looks like a header */
	struct sender s;
	char *h;
	size_t hlen;
	int peer;
	char buf[512];

	sender_on(&s, SENDER_RECORD, &peer);
	cr_assert_eq(record_header_format("app", 19, fields, 2, &h, &hlen), 0);
	sender_set_header(&s, h, hlen);
	cr_assert_eq(sender_message(&s, 2, text, strlen(text)), 0);
	ssize_t n = recv(peer, buf, sizeof(buf), 0);
	cr_assert_gt(n, 0);

	struct record r;
	record_parse(buf, (size_t)n, &r);
	cr_assert_eq(r.refused, 0);
	cr_assert_eq(r.priority, 2);
	cr_assert_eq(r.identifier.iov_len, strlen("SYSLOG_IDENTIFIER=app"));
	cr_assert_eq(memcmp(r.identifier.iov_base, "SYSLOG_IDENTIFIER=app", 21), 0);
	cr_assert_eq(r.n_fields, 3);
	cr_assert_eq(memcmp(r.fields[0].iov_base, "SYSLOG_FACILITY=19", 18), 0);
	cr_assert_eq(memcmp(r.fields[1].iov_base, "REQUEST_ID=42", 13), 0);
	cr_assert_eq(memcmp(r.fields[2].iov_base, "USER_NAME=ann", 13), 0);
	cr_assert_eq(r.text_len, strlen(text));
	cr_assert_eq(memcmp(buf + r.text, text, r.text_len), 0);
	sender_close(&s);
	close(peer);
}

Test(sender, record_without_tag_or_fields_still_keeps_text_whole) {
	const char *text = "KEY=value\n\nbody";
	struct sender s;
	char *h;
	size_t hlen;
	int peer;
	char buf[128];

	sender_on(&s, SENDER_RECORD, &peer);
	cr_assert_eq(record_header_format(NULL, -1, NULL, 0, &h, &hlen), 0);
	cr_assert_eq(hlen, 0);
	sender_set_header(&s, h, hlen);
	cr_assert_eq(sender_message(&s, 6, text, strlen(text)), 0);
	ssize_t n = recv(peer, buf, sizeof(buf), 0);
	struct record r;
	record_parse(buf, (size_t)n, &r);
	cr_assert_eq(r.n_fields, 0);
	cr_assert_eq(r.identifier.iov_len, 0);
	cr_assert_eq(r.priority, 6);
	cr_assert_eq(r.text_len, strlen(text));
	cr_assert_eq(memcmp(buf + r.text, text, r.text_len), 0);
	sender_close(&s);
	close(peer);
}

Test(sender, record_larger_than_the_socket_takes_is_an_error) {
	size_t len = 64u << 20; /* above any default wmem_max */
	char *big = malloc(len);
	struct sender s;
	int peer;

	memset(big, 'z', len);
	sender_on(&s, SENDER_RECORD, &peer);
	cr_assert_eq(sender_message(&s, 6, big, len), -EMSGSIZE);
	sender_close(&s);
	close(peer);
	free(big);
}

/* The daemon's side of the contract: an empty identifier is refused, not doubled. */
Test(sender, empty_identifier_is_refused_not_stored_twice) {
	const char *p = "SYSLOG_IDENTIFIER=\nPRIORITY=3\n\ntext";
	struct record r;

	record_parse(p, strlen(p), &r);
	cr_assert_eq(r.refused, 1);
	cr_assert_eq(r.identifier.iov_len, 0);
	cr_assert_eq(r.n_fields, 0);
	cr_assert_eq(r.priority, 3);
	cr_assert_not_null(record_field_refusal("SYSLOG_IDENTIFIER=", 18));
	cr_assert_null(record_field_refusal("SYSLOG_IDENTIFIER=x", 19));
}
