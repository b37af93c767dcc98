/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "origin.h"
#include "pace.h"
#include "sink.h"
#include "syslog-header.h"

/*
 * The journal writer: one journal entry per message, through sd_journal_sendv().
 * A message costs one iovec array and one sendmsg(): the producer's identity
 * is a prepared struct origin, and the text is not copied.
 */

#define JOURNAL_SOCKET "/run/systemd/journal/socket" /* journald's native socket */

/* Bytes the caller must leave writable in front of a message's text. */
#define JOURNAL_HEADROOM 8 /* strlen("MESSAGE=") */

struct journal_msg {
	char *text; /* JOURNAL_HEADROOM writable bytes must precede it */
	size_t len;
	int priority;              /* 0..7 */
	const char *line_break;    /* "line-max", "eof", "stop", or NULL */
	const struct iovec *extra; /* further FIELD=value iovecs, or NULL */
	size_t n_extra;
	const char *identifier_field; /* "SYSLOG_IDENTIFIER=..." replacing the origin's, or NULL */
	int facility;                 /* 0..23 from a syslog header, or -1 */
	const struct syslog_fields *syslog; /* what a syslog header said, or NULL */
	const struct iovec *tag;            /* the ledger's tag field (ledger.h), or NULL */
};

/*
 * Writes one entry. A syslog header's identifier and pid replace the
 * origin's SYSLOG_IDENTIFIER and SYSLOG_PID (MPSR_PID stays the kernel's);
 * its other fields are added. Clobbers the JOURNAL_HEADROOM bytes before
 * m->text, after copying what m->syslog points to.
 * Returns 0 or a negative errno from sd_journal_sendv(); blocks while journald
 * is not reading, which is how backpressure reaches the producers.
 */
int journal_write(const struct origin *o, const struct journal_msg *m);

/*
 * sd_journal_sendv() reports success when journald's socket does not exist at
 * all; this tells the caller whether it does, so that nothing is sent into the void.
 */
int journal_available(void);

/*
 * Waits until journald has taken every entry sent to it so far, by anyone in
 * this process, or until `until` (CLOCK_MONOTONIC, usec) passes. journald
 * attributes an entry to its sender's unit when it processes it: an entry it
 * processes after mpsrd exited would be lost to `journalctl -u mpsr`.
 * Returns 0, -ETIMEDOUT, or another negative errno.
 */
int journal_sync(uint64_t until);

/* The line sink that writes each line as an entry of its own with o's fields. */
struct journal_sink {
	struct line_sink sink;
	const struct origin *origin;
	int default_priority;
	const struct iovec *tag; /* a field every entry carries (the ledger's tag), or NULL */
	struct pace *pace;       /* counts each entry written (pace.h), or NULL */
};

struct line_sink *journal_sink_init(struct journal_sink *js, const struct origin *o,
				    int default_priority);
