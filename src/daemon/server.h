/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

/*
 * The server: listening sockets and the producers connected to them. It reads
 * what producers write, frames it and hands each message to the journal writer.
 */

struct server_config {
	size_t line_max;          /* longer lines are split into entries of this size */
	int default_priority;     /* for lines without a "<N>" prefix */
	unsigned max_connections; /* accepting pauses at this many */
	bool fd_store;            /* keep connections in the service manager's fd store */
	bool stream_transport;    /* stream producers' lines go over journald's stdout stream */
};

struct server_stats {
	uint64_t messages;       /* entries written to the journal */
	uint64_t bytes;          /* bytes received from producers */
	uint64_t split;          /* entries cut at line_max */
	uint64_t unterminated;   /* last lines without '\n' */
	uint64_t refused_fields; /* record fields ignored */
	uint64_t journal_errors; /* failed writes, all retried */
	uint64_t dropped;        /* messages lost; nothing should ever make this non-zero */
	uint64_t accepted;       /* connections accepted since start */
	unsigned connections;    /* producers connected now */
	bool journal_held;       /* reading is paused until journald takes entries again */
};

struct server;

int server_new(struct loop *loop, const struct server_config *cfg, struct server **ret);
void server_free(struct server *s);

/* Serves a listening stream or seqpacket socket, or a bound datagram socket. */
int server_add_listener(struct server *s, int fd);

/* Takes back a producer connection kept in the fd store across a restart. */
int server_adopt(struct server *s, int fd, const char *name);

/* Periodic work: resumes paused reading or accepting, reports held-back warnings. */
void server_tick(struct server *s, uint64_t now);

/*
 * Before exit: reads what producers have already written and writes it, and
 * flushes unfinished lines. Connections stay open (and, with the fd store,
 * stay with the service manager for the next start).
 */
void server_drain(struct server *s);

const struct server_stats *server_stats(const struct server *s);
