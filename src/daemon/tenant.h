/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "loop.h"
#include "ratelimit.h"
#include "share.h"
#include "unitkey.h"
#include "window.h"

/*
 * Tenants: who writes through mpsr, keyed as journald keys a sender (its
 * unit, see unitkey.h and peer.h; else its uid). Everything a producer is
 * held to lives here, per tenant and not per connection, so that exiting
 * early, reconnecting or opening more connections gains nothing: its turn at
 * the writer (share.h) and journald's rate limit for its unit (limits.h,
 * window.h), taken line by line. A tenant over its limit is not read until
 * its window opens again (tenant_park()); nothing is dropped but datagrams.
 *
 * The table is shared by the loop (connections come and go) and the worker
 * (datagram senders are looked up there); each tenant's fields say whose
 * they are.
 */

struct tenant_waiter {
	void (*wake)(struct tenant_waiter *w);
	struct tenant_waiter *prev, *next;
};

struct tenant {
	char unit[UNIT_NAME_MAX]; /* the key: the unit, or "" and the uid */
	uid_t uid;
	struct share_flow flow; /* the worker's queue of its jobs (under the worker's lock) */

	/* The worker's. */
	struct rate_limit limit; /* journald's for this unit, re-read every minute */
	unsigned burst;          /* limit.burst, scaled by free space if so configured */
	uint64_t limit_at;       /* when limit was read, or 0 */
	struct rate_window window;
	uint64_t dropped;       /* datagrams over the limit, not yet reported */
	uint64_t dropped_since; /* when the first of them was dropped */
	struct tenant *reports; /* tenants_report_dropped()'s list */
	bool reporting;         /* on that list */

	/* Written by the worker, read by the loop. */
	_Atomic uint64_t refused_at; /* when a line last waited for the window, or 0 */
	_Atomic uint64_t open_at;    /* when the window opens again */
	_Atomic uint64_t interval;   /* limit.interval_usec, for the loop's reports */
	_Atomic unsigned shown_burst;

	/* Bytes of its unfinished lines staged in the ledger (the worker adds, the loop takes). */
	_Atomic int64_t staged;

	/* The loop's. */
	uint64_t slowed_since; /* reported as slowed since then, or 0 */
	uint64_t idle_since;   /* no references since, for the sweep */
	struct tenant_waiter *waiters;
	struct loop_source *timer;
	int timer_fd;
	uint64_t timer_at;

	unsigned refs; /* under the table's lock */
	struct tenant *next;
};

struct tenants_config {
	struct loop *loop;
	const char *root;     /* "" for /; tests pass a directory (limits.h) */
	bool limits;          /* false: no rate limits (the fair share stays) */
	bool scaled;          /* the burst scaled by the journal's free space */
	int default_priority; /* for lines that name none */
};

struct tenants;

int tenants_new(const struct tenants_config *cfg, struct tenants **ret);
void tenants_free(struct tenants *ts);

/* The tenant for this key (created if new), with a reference. unit "" keys by uid. */
struct tenant *tenants_get(struct tenants *ts, const char *unit, uid_t uid);
void tenants_put(struct tenants *ts, struct tenant *t);

/* "UNIT" or "uid N", for diagnostics. */
const char *tenant_name(const struct tenant *t, char *buf, size_t size);

/* On the worker: whether one more entry of this priority fits the tenant's window now. */
bool tenant_admit(struct tenants *ts, struct tenant *t, int priority, uint64_t now);

/* On the worker: counts a datagram dropped over the limit, for the report. */
void tenant_dropped(struct tenants *ts, struct tenant *t, uint64_t now);

/*
 * On the worker: writes journald's report ("Suppressed N messages") for each
 * tenant whose drops are a window old. Returns whether reports remain.
 */
bool tenants_report_dropped(struct tenants *ts, uint64_t now);

/* On the loop: w waits until t's window opens (then w->wake() runs), or tenant_unpark(). */
int tenant_park(struct tenants *ts, struct tenant *t, struct tenant_waiter *w);
void tenant_unpark(struct tenant *t, struct tenant_waiter *w);

/*
 * On the loop, once a second: says which tenants start or stop being slowed,
 * frees those long unused, re-reads journald.conf every minute. Returns how
 * many are slowed now.
 */
unsigned tenants_tick(struct tenants *ts, uint64_t now);

/* The loop's count of connections per uid. */
unsigned tenants_uid_conns(struct tenants *ts, uid_t uid, int delta);

/* On the worker: the tenant of a datagram's sender, remembered for a second per pid. */
struct tenant *tenants_for_sender(struct tenants *ts, const struct ucred *cred, uint64_t now);
