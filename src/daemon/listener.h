/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ledger.h"
#include "loop.h"
#include "tenant.h"
#include "worker.h"

/*
 * The listening sockets: stream and seqpacket ones, whose producers are
 * accepted and handed on, and the datagram one, whose datagrams are read
 * here (by worker jobs). Accepting pauses when told the producers are too
 * many, and for a second when the process is out of fds, instead of spinning.
 */

struct listeners_config {
	struct loop *loop;
	struct worker *worker;
	/* A producer connected (type SOCK_STREAM or SOCK_SEQPACKET); it owns fd now. */
	void (*accepted)(int fd, int type, void *data);
	/*
	 * After a round of accepts, before any producer accepted in it is read;
	 * may be NULL.
	 */
	void (*accepted_all)(void *data);
	/* Datagram senders' limits (a datagram over its unit's limit is dropped and reported). */
	struct tenants *tenants;
	/* Whether accepting must wait until listeners_resume(). */
	bool (*full)(void *data);
	void *data;
};

struct listeners;

int listeners_new(const struct listeners_config *cfg, struct listeners **ret);
void listeners_free(struct listeners *ls);

/* Serves a listening stream or seqpacket socket, or a bound datagram socket. */
int listeners_add(struct listeners *ls, int fd);

/* Accepting goes on after `full` said stop. */
void listeners_resume(struct listeners *ls);

/* Periodic: resumes accepting a while after running out of fds. */
void listeners_tick(struct listeners *ls, uint64_t now);

/* Stop: no more accepting; the datagram queues are read one last time. */
void listeners_drain(struct listeners *ls);

/*
 * Datagram sockets, those served now and those added later, keep account of
 * the datagram being written in l (ledger.h, P1 to P3).
 */
void listeners_use_ledger(struct listeners *ls, struct ledger *l);

/* The fd of the datagram socket with this inode, or -1 (for recovery). */
int listeners_find_datagrams(const struct listeners *ls, uint64_t ino);

/*
 * Resets every datagram socket's peek offset: a kill -9 inside a take (P3)
 * leaves it set, and without the ledger that names it nothing else would.
 */
void listeners_clear_marks(struct listeners *ls);

/* SO_TYPE and SO_ACCEPTCONN of a socket. Returns 0 or a negative errno. */
int socket_kind(int fd, int *type, bool *listening);
