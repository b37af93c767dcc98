/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * Who sent a message, as the kernel vouched for it: the pid, uid and gid of
 * SO_PEERCRED or SCM_CREDENTIALS, and what /proc says of that pid. Formatted
 * once into journal fields, so that a message costs no formatting.
 */

enum origin_transport { ORIGIN_STREAM, ORIGIN_DATAGRAM, ORIGIN_RECORD };

#define ORIGIN_FIELDS_MAX 10

struct origin {
	/*
	 * SYSLOG_IDENTIFIER and SYSLOG_PID first (a message may replace them with
	 * what it claims), then MPSR_PID/UID/GID/COMM/TRANSPORT, and the
	 * producer's MPSR_UNIT, MPSR_USER_UNIT and MPSR_SLICE where it has them.
	 */
	struct iovec iov[ORIGIN_FIELDS_MAX];
	unsigned n;
	pid_t pid;
	bool units;     /* origin_add_units() was called */
	size_t used;    /* of text */
	char text[480]; /* what iov points into */
};

/* Formats the identity fields; comm may be NULL or "" when it cannot be read. */
void origin_init(struct origin *o, pid_t pid, uid_t uid, gid_t gid, const char *comm,
		 enum origin_transport transport);

/*
 * The same, with the SYSLOG_IDENTIFIER= to use when comm is unknown (the
 * producer had exited): name, e.g. its unit's (unit_key_name()), or NULL.
 */
void origin_init_named(struct origin *o, pid_t pid, uid_t uid, gid_t gid, const char *comm,
		       const char *name, enum origin_transport transport);

/* origin_init() with the comm read from /proc now. */
void origin_from_cred(struct origin *o, const struct ucred *cred, enum origin_transport transport);

/*
 * Adds the producer's MPSR_UNIT, MPSR_USER_UNIT and MPSR_SLICE, those it has,
 * read from its cgroup now. Costs a few reads of /proc: done off the accept
 * path, before the producer's first entry.
 */
void origin_add_units(struct origin *o);

struct unit_key;
/* The same fields from a unit already read (peer.h), e.g. at accept; instead of the above. */
void origin_set_units(struct origin *o, const struct unit_key *k);

/* Reads /proc/PID/comm into buf; returns 0 or a negative errno. */
int origin_read_comm(pid_t pid, char *buf, size_t size);

/* The value of the origin's SYSLOG_IDENTIFIER= (for diagnostics), and its length. */
const char *origin_name(const struct origin *o, int *len);

#define ORIGIN_CACHE 64

/*
 * Identities of datagram senders, so that /proc is not read for every
 * datagram. An entry is trusted for a second: a pid may be reused.
 */
struct origin_cache {
	struct origin_slot {
		struct ucred cred;
		uint64_t at;
		struct origin origin;
	} slots[ORIGIN_CACHE];
};

const struct origin *origin_cache_get(struct origin_cache *c, const struct ucred *cred,
				      uint64_t now);
