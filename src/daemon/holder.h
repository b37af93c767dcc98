/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "pair.h"

/*
 * Keeping producers' connections across restarts and crashes of mpsrd,
 * without costing the service manager a thing per producer.
 *
 * An fd sent with SCM_RIGHTS stays open while it sits unread in a Unix
 * socket's queue ("in flight"). mpsrd keeps a holder, a datagram socket pair
 * whose two ends alone go to the service manager's fd store (fdstore.h);
 * every accepted connection is sent into it, up to 253 to a message. A
 * closed connection stays in the holder until a compaction moves the live
 * ones into a new holder and drops the old one. The next start takes them
 * back (restore.h).
 *
 * The receiving end is the manager's only (pair.h): should the manager refuse
 * it (its store disabled or full), the next send into the holder says so.
 * From then on nothing is kept, and holder_check() says so.
 *
 * Fds in flight cost: the kernel refuses more than the sender's
 * RLIMIT_NOFILE (ETOOMANYREFS), and above 16,000 on the host every AF_UNIX
 * send pays (inflight.h). The holder keeps its own count, the live
 * connections, the dead ones awaiting compaction, a compaction's copies and
 * dropped holders the manager has not closed yet, within a budget.
 */

#define HOLDER_MSG_FDS PAIR_MSG_FDS

struct holder;

/*
 * keep: whether to keep connections at all (--fd-store). peak: the most fds
 * the holders may have in flight at any moment (the kernel's limit); steady:
 * the most between compactions (the host's share); 0: no limit. A compaction
 * comes early enough to stay within both, which needs peak >= 2 * live + 253
 * and steady >= live + 253, and room for dead ones (inflight.h).
 */
int holder_new(bool keep, unsigned peak, unsigned steady, struct holder **ret);

/* Closes mpsrd's copies; the holder stays with the service manager. */
void holder_free(struct holder *h);

/* The holder's first generation is above gen: a name still in the fd store. */
void holder_after_gen(struct holder *h, unsigned gen);

/*
 * Opens the first holder and puts it in the fd store (before anything goes
 * in). offer_later: the store may be full of connections kept one by one, to
 * be dropped once the holder has them; mpsrd keeps rx until holder_offer().
 */
int holder_start(struct holder *h, bool offer_later);

/* Offers the holder to the fd store again (the manager ignores an fd it keeps already). */
void holder_offer(struct holder *h);

/* A new connection: kept at the next holder_flush(), which must come before it is read. */
void holder_add(struct holder *h, int fd);

/* Keeps the connections added since the last flush. Returns 0 or a negative errno. */
int holder_flush(struct holder *h);

/* A connection ends: mpsrd's fd is about to be closed; its producer sees the end now. */
void holder_remove(struct holder *h, int fd);

/* A connection mpsrd never served (it closed the fd already): forgotten, not shut down. */
void holder_forget(struct holder *h, int fd);

/*
 * Whether the service manager keeps the current holder, so that a restart
 * keeps the connections: 0, or a negative errno (-ECONNREFUSED: it refused
 * it; -ENOTCONN: no holder, or no manager). Sends a message without fds.
 */
int holder_check(struct holder *h);

struct holder_stats {
	unsigned live;        /* connections kept or to keep */
	unsigned held;        /* fds in the holder, live or not */
	unsigned retired;     /* fds in dropped holders the manager has not closed yet */
	unsigned unkept;      /* connections the holder refused (kept at the next compaction) */
	unsigned generation;  /* of the holder; each compaction makes a new one */
	unsigned compactions; /* since start */
};

void holder_stats(const struct holder *h, struct holder_stats *out);
