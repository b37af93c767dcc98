/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "relay.h"
#include "share.h"

/*
 * The thread that writes to the journal. sd_journal_sendv() blocks while
 * journald does not read (a slow disk, a rotation, a stopped journald): that
 * wait happens here, so the event loop goes on answering the watchdog,
 * signals and new producers meanwhile. The loop hands over jobs (read a
 * producer and write what it sent); a job's socket is the worker's until the
 * job is done, and the loop hears of that through an eventfd. Jobs run one
 * at a time; the flows they belong to (one per tenant) share the writer by
 * bytes (share.h), and a flow's jobs run in the order given.
 */

struct job {
	/*
	 * Runs on the worker thread. Returns READ_RETRY when journald took nothing
	 * (the job runs again after a wait), else its result for done().
	 */
	int (*run)(struct job *j, struct relay *r);
	/* Runs on the loop's thread, after run(). */
	void (*done)(struct job *j, int result);
	int result;
	/* Whose turn it takes (share.h): the producer's tenant; NULL for the worker's own. */
	struct share_flow *flow;
	struct share_item item; /* in the worker's fair queue */
	struct job *next;       /* finished, waiting for done() */
};

struct worker;

/* Starts the thread; the loop hears of finished jobs. Returns 0 or a negative errno. */
int worker_new(struct loop *loop, const struct relay_config *cfg, struct worker **ret);

/*
 * Stops the thread and frees it; returns true. Or, if the thread is stuck in
 * a write to journald, leaves it and what it holds to the process's exit;
 * returns false.
 */
bool worker_free(struct worker *w);

void worker_submit(struct worker *w, struct job *j);

/* Jobs submitted whose done() has not run yet. */
unsigned worker_pending(const struct worker *w);

/* From now on, a job that journald refuses ends with READ_RETRY instead of waiting. */
void worker_abort(struct worker *w);

/* The counters, as of the last finished job. */
void worker_stats(struct worker *w, struct relay_stats *out);

/* Since when (usec) journald has kept the worker waiting, or 0. */
uint64_t worker_waiting_since(struct worker *w);

/*
 * Whether the worker is not stuck: it is idle, waiting for journald, or in a
 * job that began less than limit_usec ago.
 */
bool worker_alive(struct worker *w, uint64_t now, uint64_t limit_usec);
