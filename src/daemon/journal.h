/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * The journal writer: one journal entry per message, through sd_journal_sendv().
 *
 * Everything that is the same for every message of a producer (its identity)
 * is formatted once into a struct origin; a message then costs one iovec
 * array and one sendmsg().
 */

/* Bytes the caller must leave writable in front of a message's text. */
#define JOURNAL_HEADROOM 8 /* strlen("MESSAGE=") */

enum origin_transport { ORIGIN_STREAM, ORIGIN_DATAGRAM, ORIGIN_RECORD };

/* Who sent a message, as the kernel vouched for it. */
struct origin {
	struct iovec
		iov[7]; /* SYSLOG_IDENTIFIER, SYSLOG_PID, MPSR_PID/UID/GID/COMM, MPSR_TRANSPORT */
	char text[224]; /* what iov points into */
};

/* Formats the identity fields; comm may be NULL when it cannot be read. */
void origin_init(struct origin *o, pid_t pid, uid_t uid, gid_t gid, const char *comm,
		 enum origin_transport transport);

/* Reads /proc/PID/comm into buf; returns 0 or a negative errno. */
int origin_read_comm(pid_t pid, char *buf, size_t size);

struct journal_msg {
	char *text; /* JOURNAL_HEADROOM writable bytes must precede it */
	size_t len;
	int priority;              /* 0..7 */
	const char *line_break;    /* "line-max", "eof", "stop", or NULL */
	const struct iovec *extra; /* further FIELD=value iovecs, or NULL */
	size_t n_extra;
	const char *identifier_field; /* "SYSLOG_IDENTIFIER=..." replacing the origin's, or NULL */
};

/*
 * Writes one entry. Clobbers the JOURNAL_HEADROOM bytes before m->text.
 * Returns 0 or a negative errno from sd_journal_sendv(); blocks while journald
 * is not reading, which is how backpressure reaches the producers.
 */
int journal_write(const struct origin *o, const struct journal_msg *m);

/*
 * sd_journal_sendv() reports success when journald's socket does not exist at
 * all; this tells the caller whether it does, so that nothing is sent into the void.
 */
int journal_available(void);
