/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jstream.h"
#include "log.h"
#include "origin.h"
#include "pace.h"

/*
 * What relaying producers' bytes into the journal needs: scratch buffers,
 * the counters, the datagram senders' identities. It belongs to the thread
 * that writes to the journal (worker.c); the readers (stream.c, packet.c) get
 * it with each job.
 */

struct relay_config {
	size_t line_max;      /* longer lines are split into entries of this size */
	int default_priority; /* for messages that name none */
	uint64_t retry_usec;  /* first wait after journald refused an entry; doubles to 1 s */
	unsigned pace;        /* entries between the marks that keep journald's queue short
				 (pace.h); 0: none */
};

struct relay_stats {
	uint64_t messages;       /* entries written to the journal */
	uint64_t bytes;          /* bytes taken from producers */
	uint64_t split;          /* entries cut at line_max */
	uint64_t unterminated;   /* last lines without '\n' */
	uint64_t refused_fields; /* record fields ignored */
	uint64_t journal_errors; /* refused writes, all retried */
	uint64_t dropped;        /* messages lost; nothing should ever make this non-zero */
	uint64_t over_limit;     /* datagrams over their unit's limit (reported as journald does) */
};

/* Most bytes read from one producer per job; fuzz-crash builds with less, to reach it. */
#ifndef READ_CHUNK
#define READ_CHUNK (64 * 1024)
#endif

/* What reading a producer came to (stream.c, packet.c); else a negative errno from its socket. */
enum read_result {
	READ_MORE = 0,  /* all written that could be: wait for the producer */
	READ_END = 1,   /* the producer closed, and everything it sent is stored */
	READ_RETRY = 2, /* journald took nothing more: nothing lost, try again later */
	/* The producer's limit stopped it (line_gate): read again when its window opens. */
	READ_LIMITED = 3,
	/* More is queued: the worker runs the job again in its flow's next turn. */
	READ_AGAIN = 4,
};

/*
 * Asked before each entry is written: whether the producer's limit lets it
 * through now (tenant.h). sender: a datagram's, else NULL (the connection's).
 */
struct line_gate {
	bool (*admit)(struct line_gate *g, int priority, const struct ucred *sender);
	/*
	 * Whether the producer may keep n bytes of an unfinished line staged (its
	 * share of the ledger's budget); else the line is written as it stands.
	 * NULL: no share.
	 */
	bool (*may_stage)(struct line_gate *g, size_t n);
};

struct relay {
	struct relay_config cfg;
	struct relay_stats stats;
	char *buf; /* stream reads; JOURNAL_HEADROOM bytes in front */
	size_t buf_size;
	char *pkt; /* datagrams and records; grows to the largest seen */
	size_t pkt_size;
	struct origin_cache origins;
	struct jstream_batch batch; /* --transport=stream */
	struct ratelimit warn;
	struct pace pace;       /* entries written to journald's native socket */
	struct line_gate *gate; /* the job's, set before it reads; NULL: no limit */
	/* When the job in hand should give way if others wait (relay_yield()), set by the worker.
	 */
	uint64_t yield_at;
	_Atomic bool contended; /* other jobs are queued */
	uint64_t journal_checked;
	/* Since when a write to journald has been waiting (usec), or 0; read by the loop. */
	_Atomic uint64_t journal_since;
};

int relay_init(struct relay *r, const struct relay_config *cfg);
void relay_done(struct relay *r);

/* A rate-limited warning about a producer. */
#define relay_warn(r, error, ...) log_limited(&(r)->warn, LOG_WARNING, (error), __VA_ARGS__)

/*
 * Whether journald's socket is there (asked at most once a millisecond):
 * sd_journal_sendv() into a missing socket reports success and loses the entry.
 */
bool relay_journal_ok(struct relay *r);

/*
 * Whether the job in hand has had its slice while other jobs wait: a reader
 * then stops between entries and leaves the rest in the socket, so that a
 * producer's line never waits for more than a slice of each other flow's.
 */
bool relay_yield(struct relay *r);

/* Marks the start and the end of a write that may wait for journald. */
void relay_journal_enter(struct relay *r);
void relay_journal_leave(struct relay *r);
