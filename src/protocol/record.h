/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/uio.h>

#include "protocol.h"

/*
 * The record format, both ways, for the seqpacket socket: one packet is one
 * entry that may hold newlines, with fields of the producer's choosing (see
 * mpsr(7)). mpsrd parses it; mpsr-send writes it.
 *
 *   FIELD=value\n        zero or more header lines
 *   \n                   an empty line ends the header
 *   message text         the rest of the packet, verbatim
 *
 * A packet without the empty line is all message text. A pure function over
 * bytes, like the stream framing.
 */

#define RECORD_FIELDS_MAX 32
#define RECORD_NAME_MAX   64

struct record {
	int priority;                           /* 0..7 from PRIORITY=, or -1 */
	struct iovec identifier;                /* the "SYSLOG_IDENTIFIER=..." line, or iov_len 0 */
	struct iovec fields[RECORD_FIELDS_MAX]; /* accepted "FIELD=value" lines */
	size_t n_fields;
	unsigned refused; /* header lines ignored: bad names, reserved fields, too many */
	size_t text;      /* offset of the message text */
	size_t text_len;
};

/* Why a header line may not pass; NULL when it may. */
const char *record_field_refusal(const char *line, size_t len);

/* Parses buf[0..len); fills *r with pointers into buf. Never fails: what is
 * not a valid field is counted in r->refused and left out. */
void record_parse(const char *buf, size_t len, struct record *r);

/*
 * Formats the header that every record of a producer repeats:
 * SYSLOG_IDENTIFIER (when ident is not NULL), SYSLOG_FACILITY (when
 * facility >= 0), then the fields, each "NAME=value". The result, without
 * PRIORITY and without the empty line, goes to *ret (malloc'ed).
 * Returns 0 or -ENOMEM.
 */
int record_header_format(const char *ident, int facility, char *const *fields, size_t n_fields,
			 char **ret, size_t *ret_len);

/* The header's last line for a level 0..7 and the empty line that ends it: "PRIORITY=N\n\n". */
#define RECORD_PRIORITY_LEN (STRLEN(FIELD_PRIORITY) + 3)
const char *record_priority_line(int level);
