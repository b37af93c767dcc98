/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * Bytes of unfinished lines held in memory (in carry, without a ledger), all
 * producers together, and the most there may be (--unfinished-max): beyond
 * it a line is written as it stands, marked MPSR_LINE_BREAK=budget. Changed
 * by the writer thread and by the loop's thread (a connection's end).
 */
struct carry_budget {
	_Atomic uint64_t used;
	uint64_t max;
};

/* A stream producer's reading state, kept between reads. */
struct stream_in {
	int fd;
	struct frame_state fs;
	char *carry; /* bytes of an unfinished line already taken from the socket */
	size_t carry_len;
	struct carry_budget *budget; /* what carry counts against, or NULL: no bound */
	/* Where what is sent, taken and staged is kept across a crash (ledger.h), or NULL. */
	struct ledger *ledger;
	struct ledger_conn lc;
	size_t stage; /* bytes of an unfinished line to stage once the job's account is closed */
	bool stage_start; /* they start a message that cannot be told from text yet */
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

/*
 * Bytes of an unfinished line out of the socket already (a kept connection's
 * staged line, handed over by a ledger it has no account in) become carry:
 * the next read puts them in front of what follows. Returns 0 or -errno.
 */
int stream_in_carry(struct stream_in *in, const char *bytes, size_t n);

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
