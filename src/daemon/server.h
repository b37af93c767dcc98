/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "relay.h"

/*
 * The server ties mpsrd together: the listening sockets (listener.c), the
 * producers' connections (conn.c), the thread that writes to the journal
 * (worker.c) and, with it, the readers (stream.c, packet.c).
 */

struct server_config {
	struct relay_config relay;
	unsigned max_connections; /* accepting pauses at this many */
	unsigned max_per_user;    /* a uid's share of them (root has none); 0: no share */
	bool limits;              /* journald's rate limits, per unit (tenant.h) */
	bool limits_scaled;       /* their burst scaled by free space, as journald's */
	const char *limits_root;  /* where journald.conf and /run/systemd are: "" for / */
	bool fd_store;            /* keep connections in the service manager's fd store */
	unsigned inflight_peak;   /* fds the holder may have in flight (inflight.h), 0: no limit */
	unsigned inflight_steady; /* the same between compactions */
	bool stream_transport;    /* stream producers' lines go over journald's stdout stream */
	size_t unfinished_max; /* bytes of unfinished lines kept across restarts, for all (ledger.h)
				*/
};

struct server_stats {
	struct relay_stats relay;
	uint64_t accepted;          /* connections accepted since start */
	unsigned connections;       /* producers connected now */
	uint64_t journal_wait_usec; /* how long journald has kept the writer waiting, or 0 */
	uint64_t unfinished;        /* bytes of unfinished lines staged in the ledger */
	unsigned slowed;            /* units over their limit, read more slowly now */
};

struct server;

int server_new(struct loop *loop, const struct server_config *cfg, struct server **ret);
void server_free(struct server *s);

/* Serves a listening stream or seqpacket socket, or a bound datagram socket. */
int server_add_listener(struct server *s, int fd);

/*
 * Serves a producer connection kept across a restart; takes fd (closes it
 * on failure). name: what it was passed under, or NULL if it came out of a
 * holder. Returns 0 or a negative errno.
 */
int server_adopt(struct server *s, int fd, const char *name);

/* Whether an fd passed at start under this name is one server_take_kept() wants. */
bool server_is_kept(const char *name);

/* At start: takes an fd passed under a name server_is_kept() accepts. */
int server_take_kept(struct server *s, int fd, const char *name);

/*
 * At start, once every passed fd is taken: serves every kept connection.
 * Returns how many, or a negative errno.
 */
int server_restore(struct server *s);

/* Periodic work: resumes accepting after a lack of fds. */
void server_tick(struct server *s, uint64_t now);

/*
 * Stop, step 1: no more accepting; what producers have already sent is read
 * and written, unfinished lines too, unless restarting and they are staged
 * in the ledger, for the next start to finish. Connections stay open (and,
 * with the fd store, with the service manager for the next start). Done when
 * server_busy() says no.
 */
void server_drain(struct server *s, bool restarting);

/*
 * Stop, step 2: waits (in the writer) until journald has processed every
 * entry written, so that none is stored without mpsr's unit. Done when
 * server_busy() says no; *result then holds journal_sync()'s answer.
 */
void server_sync(struct server *s, int *result);

/* Whether the writer still has work in hand. */
bool server_busy(const struct server *s);

/* Gives up on journald: work in hand that it refuses ends now. */
void server_abort(struct server *s);

/* Whether the writer is not stuck (see worker_alive()). */
bool server_alive(struct server *s, uint64_t now, uint64_t limit_usec);

void server_stats(struct server *s, uint64_t now, struct server_stats *out);
