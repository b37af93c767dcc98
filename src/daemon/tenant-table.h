/* SPDX-License-Identifier: MIT */
#pragma once

/* The table's insides, shared by tenant.c (the table) and tenant-limit.c (the limits). */

#include "log.h"
#include "tenant.h"

#define TENANT_BUCKETS     1024
#define UID_BUCKETS        256
#define SENDER_SLOTS       64
#define LIMITS_REREAD_USEC (60 * 1000000ULL)
#define SPACE_REREAD_USEC  (30 * 1000000ULL) /* as journald */

struct uid_count {
	uid_t uid;
	unsigned n;
	struct uid_count *next;
};

struct tenants {
	struct tenants_config cfg;
	pthread_mutex_t lock; /* the buckets and refs */
	struct tenant *buckets[TENANT_BUCKETS];
	struct uid_count *uids[UID_BUCKETS]; /* the loop's */
	struct {
		struct ucred cred;
		uint64_t at;
		struct tenant *t;
	} senders[SENDER_SLOTS];     /* the worker's */
	struct rate_limit dflt;      /* journald.conf's, under lock */
	uint64_t dflt_at;            /* the loop's */
	_Atomic uint64_t available;  /* the journal's free bytes for the burst, as journald's */
	uint64_t available_at;       /* the loop's */
	struct tenant *reports;      /* the worker's: tenants with drops to report */
	struct ratelimit slowed_log; /* the loop's */
};

/* journald.conf's limit as of now (under the lock). */
struct rate_limit tenants_default_limit(struct tenants *ts);

/* The loop's half of tenants_tick(): the slowed entries. Returns how many are slowed. */
unsigned tenant_tick_slowed(struct tenants *ts, struct tenant *t, uint64_t now);
