/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * The producer side of mpsr's sockets (see mpsr(7)).
 *
 * A stream sender writes "<N>text\n" lines to the stream socket, buffered
 * into large writes of whole lines; it cannot carry an identifier or fields.
 * A record sender sends one SOCK_SEQPACKET packet per entry to the record
 * socket: a header of FIELD=value lines, an empty line, then the text.
 *
 * Every call blocks while mpsr is not reading: that is the backpressure.
 * Errors are negative errnos; nothing is dropped without one.
 */

enum sender_kind { SENDER_STREAM, SENDER_RECORD };

struct sender {
	int fd;
	enum sender_kind kind;
	const char *path; /* not owned; kept after close, for messages */
	char *header;     /* record: "SYSLOG_IDENTIFIER=...\nFIELD=...\n", without PRIORITY */
	size_t header_len;
	char *out; /* stream: bytes not yet written */
	size_t out_len, out_size;
};

/*
 * Connects to path with the socket type of kind. Returns 0, or a negative
 * errno: -ENOENT (no socket there), -ECONNREFUSED (nobody listening),
 * -EPROTOTYPE (a socket of the other type), -EACCES, ...
 */
int sender_open(struct sender *s, const char *path, enum sender_kind kind);

/* Closes the socket, without waiting for anything. */
void sender_close(struct sender *s);

/* Takes a header made by record_header_format() (the sender frees it). */
void sender_set_header(struct sender *s, char *header, size_t len);

/*
 * Sends one entry: a record, or on a stream one line (a '\n' in text would
 * start another entry there). -EMSGSIZE when a record is larger than the
 * socket takes even after raising its send buffer.
 */
int sender_message(struct sender *s, int priority, const char *text, size_t len);

/*
 * Sends one piece of a line (see lines.h): on a stream the pieces of a line
 * go out as one line, in large writes; each piece is a record of its own.
 */
int sender_piece(struct sender *s, int priority, const char *text, size_t len, bool first,
		 bool last);

/* Writes out what a stream sender has buffered. */
int sender_flush(struct sender *s);

/*
 * Ends the conversation and makes sure mpsr took everything: flushes, shuts
 * down our side and waits until mpsrd closes the connection, which it does
 * only after writing everything it received to the journal. -ECONNRESET if
 * mpsrd went away with something unread. Closes the socket in any case.
 */
int sender_finish(struct sender *s);
