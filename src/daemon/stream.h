/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "frame.h"
#include "ledger.h"
#include "relay.h"
#include "sink.h"

/*
 * Reading a stream producer (SOCK_STREAM) without losing a byte: what it
 * wrote is read without taking it from the socket (MSG_PEEK), every complete
 * line goes to a line sink, and only then are those bytes taken out. So a
 * line is in the kernel or in the journal, never only in this process: a
 * crash or restart loses nothing. Only an unfinished line that is all the
 * socket holds is taken out early (into carry), since poll() would report it
 * readable for ever otherwise.
 */

/* A stream producer's reading state, kept between reads. */
struct stream_in {
	int fd;
	struct frame_state fs;
	char *carry; /* bytes of an unfinished line already taken from the socket */
	size_t carry_len;
	/* Where what is sent, taken and staged is kept across a crash (ledger.h), or NULL. */
	struct ledger *ledger;
	struct ledger_conn lc;
	size_t stage; /* bytes of an unfinished line to stage once the job's account is closed */
};

/*
 * syslog: read what syslog clients write (NUL ends a message too, octet
 * counting, headers; see frame.h), else plain lines with "<N>" prefixes.
 */
void stream_in_init(struct stream_in *in, int fd, bool syslog);
void stream_in_done(struct stream_in *in);

/*
 * Keeps account of this producer in l, so that a crash neither loses nor
 * repeats its lines; every entry then carries in->lc.tag_iov, which the
 * sink must add. Returns 0 or a negative errno (then there is no account).
 */
int stream_in_ledger(struct stream_in *in, struct ledger *l);

/* Reads once (at most READ_CHUNK new bytes). Returns STREAM_*, or a negative errno from the socket.
 */
int stream_read(struct stream_in *in, struct relay *r, struct line_sink *sink);

/*
 * Before exit: reads what the producer has written so far (not what it keeps
 * writing), then writes the unfinished line already taken from the socket,
 * marked MPSR_LINE_BREAK=stop; with a ledger and keep_unfinished, that line
 * stays staged instead, for the next mpsrd. Returns like stream_read().
 */
int stream_drain(struct stream_in *in, struct relay *r, struct line_sink *sink,
		 bool keep_unfinished);
