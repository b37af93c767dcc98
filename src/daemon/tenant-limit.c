/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <systemd/sd-journal.h>

#include "tenant-table.h"

/* journald's own report of what it dropped (SD_MESSAGE_JOURNAL_DROPPED). */
#define MESSAGE_DROPPED "a596d6fe7bfa4994828e72309e95d61e"

/* The unit's limit as journald would give it now; re-read every minute. */
static void refresh(struct tenants *ts, struct tenant *t, uint64_t now) {
	struct rate_limit dflt = tenants_default_limit(ts);

	t->limit_at = now;
	/* As journald: a sender without a unit is not limited (its uid still has its share). */
	if (!t->unit[0])
		t->limit = (struct rate_limit){0, 0};
	else if (limits_for_unit(ts->cfg.root, t->unit, &dflt, &t->limit) < 0)
		t->limit = dflt;
	/*
	 * journald multiplies the burst by up to 5 when its journal has room;
	 * by default mpsr holds a unit to the burst as set, which is never more.
	 */
	t->burst = ts->cfg.scaled
			   ? limits_modulate_burst(t->limit.burst, atomic_load(&ts->available))
			   : t->limit.burst;
	atomic_store(&t->interval, t->limit.interval_usec);
	atomic_store(&t->shown_burst, t->burst);
}

bool tenant_admit(struct tenants *ts, struct tenant *t, int priority, uint64_t now) {
	uint64_t open_at = 0;

	if (!ts->cfg.limits)
		return true;
	if (t->limit_at == 0 || now - t->limit_at >= LIMITS_REREAD_USEC)
		refresh(ts, t, now);
	if (priority < 0)
		priority = ts->cfg.default_priority;
	if (window_take(&t->window, &t->limit, t->burst, priority, now, &open_at))
		return true;
	atomic_store(&t->open_at, open_at > now ? open_at : now + 1);
	atomic_store(&t->refused_at, now);
	return false;
}

void tenant_dropped(struct tenants *ts, struct tenant *t, uint64_t now) {
	if (t->dropped++ == 0)
		t->dropped_since = now;
	if (!t->reporting) {
		t->reporting = true;
		t->reports = ts->reports;
		ts->reports = t;
	}
}

static void report(struct tenant *t) {
	char name[64];
	const char *unit = tenant_name(t, name, sizeof(name));

	/* As journald words its own, with the unit and uid as mpsr's fields. */
	sd_journal_send("MESSAGE=Suppressed %" PRIu64 " messages from %s", t->dropped, unit,
			"MESSAGE_ID=" MESSAGE_DROPPED, "PRIORITY=4", "N_DROPPED=%" PRIu64,
			t->dropped, "MPSR_UNIT=%s", t->unit[0] ? t->unit : "", "MPSR_UID=%u",
			(unsigned)t->uid, "MPSR_TRANSPORT=datagram", NULL);
}

bool tenants_report_dropped(struct tenants *ts, uint64_t now) {
	for (struct tenant **p = &ts->reports; *p;) {
		struct tenant *t = *p;
		/* One report per window, as journald: the drops of one window in one entry. */
		uint64_t window = t->limit.interval_usec ? t->limit.interval_usec : 1000000;
		if (now - t->dropped_since < window) {
			p = &t->reports;
			continue;
		}
		report(t);
		t->dropped = 0;
		t->reporting = false;
		*p = t->reports;
	}
	return ts->reports != NULL;
}

unsigned tenant_tick_slowed(struct tenants *ts, struct tenant *t, uint64_t now) {
	uint64_t refused = atomic_load(&t->refused_at), interval = atomic_load(&t->interval);
	char name[64];

	if (refused && !t->slowed_since) {
		t->slowed_since = refused;
		log_limited(&ts->slowed_log, LOG_NOTICE, 0,
			    "%s (uid %u) is over its limit of %u lines per %" PRIu64
			    " ms: read more slowly until its window opens",
			    tenant_name(t, name, sizeof(name)), (unsigned)t->uid,
			    atomic_load(&t->shown_burst), interval / 1000);
	} else if (t->slowed_since && now > refused + interval + 1000000) {
		/* A whole window went by without waiting: no longer slowed. */
		log_limited(&ts->slowed_log, LOG_NOTICE, 0,
			    "%s (uid %u) is within its limit of %u lines per %" PRIu64
			    " ms again, after %" PRIu64 " s slowed",
			    tenant_name(t, name, sizeof(name)), (unsigned)t->uid,
			    atomic_load(&t->shown_burst), interval / 1000,
			    (refused - t->slowed_since) / 1000000 + 1);
		t->slowed_since = 0;
		/* Unless the worker has just refused it again. */
		atomic_compare_exchange_strong(&t->refused_at, &refused, 0);
	}
	return t->slowed_since != 0;
}
