/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "jstream.h"
#include "ledger.h"
#include "loop.h"
#include "tenant.h"
#include "worker.h"

/*
 * The producers' connections: each one's identity (taken once, from the
 * kernel, at accept), its reading state, its place in the fd store, and its
 * one teardown. Reading is a worker job; while it runs, the connection's
 * socket is the worker's and the loop leaves it alone.
 */

struct conns_config {
	struct loop *loop;
	struct worker *worker;
	struct holder *holder;     /* keeps connections across restarts (holder.h), or NULL */
	struct jstreams *jstreams; /* --transport=stream, else NULL */
	struct ledger *ledger;     /* exactly once across crashes (ledger.h), or NULL; see
				      conns_use_ledger() */
	int default_priority;
	size_t unfinished_max;   /* bytes of unfinished lines held in memory, all connections */
	struct tenants *tenants; /* who is writing: shares and limits (tenant.h) */
	/* New connections of one uid (but root's) beyond this many are closed at once; 0: no limit.
	 */
	unsigned max_per_user;
	/* A tenant's share of the ledger's budget for unfinished lines (but root's); 0: none. */
	size_t stage_share;
	/* After a connection closed. */
	void (*closed)(void *data);
	void *data;
};

struct conns;

int conns_new(const struct conns_config *cfg, struct conns **ret);

/* Closes mpsrd's side of every connection; the fd store keeps them for the next start. */
void conns_free(struct conns *cs);

/*
 * Serves a producer connected to a stream or seqpacket socket; takes fd.
 * kept: it is kept across restarts already (adopted at start); otherwise it
 * is kept at the next holder_flush(). Returns 0 or a negative errno.
 */
int conns_add(struct conns *cs, int fd, int type, bool kept);

unsigned conns_count(const struct conns *cs);

/* The fd of the stream connection whose socket has this inode, or -1. */
int conns_find(const struct conns *cs, uint64_t ino);

/* The fd of the record (seqpacket) connection whose socket has this inode, or -1. */
int conns_find_records(const struct conns *cs, uint64_t ino);

/*
 * The stream connection whose socket has this inode keeps bytes of its
 * unfinished line that are out of its socket already (stream_in_carry()).
 * Returns 0, -ENOENT, or another negative errno.
 */
int conns_carry(struct conns *cs, uint64_t ino, const char *bytes, size_t n);

/* Connections added from now on keep account in l (ledger.h). */
void conns_use_ledger(struct conns *cs, struct ledger *l);

/*
 * Stop: every connection is read one last time (what is queued now), its
 * unfinished line written (unless keep_unfinished and it is staged in the
 * ledger, for the next mpsrd), and then no more. closing (a stop, not a
 * restart): stream producers' later writes fail (shutdown(SHUT_RD)). The
 * worker's queue shows when that is done.
 */
void conns_drain(struct conns *cs, bool keep_unfinished, bool closing);
