/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "peer.h"
#include "tenant-table.h"

/* A tenant nobody refers to is kept this long after its window closes, and then forgotten. */
#define IDLE_USEC (60 * 1000000ULL)

static unsigned hash(const char *unit, uid_t uid) {
	unsigned h = 2166136261u;

	for (const char *p = unit; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return (h ^ (unsigned)uid) * 16777619u;
}

int tenants_new(const struct tenants_config *cfg, struct tenants **ret) {
	struct tenants *ts = calloc(1, sizeof(*ts));

	if (!ts)
		return -ENOMEM;
	ts->cfg = *cfg;
	pthread_mutex_init(&ts->lock, NULL);
	ts->slowed_log = (struct ratelimit){.interval_usec = 10000000, .burst = 20};
	if (cfg->limits && limits_journald_conf(cfg->root, &ts->dflt) < 0)
		ts->dflt = (struct rate_limit){LIMITS_DEFAULT_INTERVAL_USEC, LIMITS_DEFAULT_BURST};
	if (cfg->limits && cfg->scaled)
		ts->available = limits_journal_available(cfg->root);
	ts->available_at = ts->dflt_at = now_usec();
	*ret = ts;
	return 0;
}

static void tenant_free(struct tenant *t) {
	loop_remove(t->timer);
	if (t->timer_fd >= 0)
		close(t->timer_fd);
	free(t);
}

void tenants_free(struct tenants *ts) {
	if (!ts)
		return;
	for (unsigned i = 0; i < TENANT_BUCKETS; i++)
		while (ts->buckets[i]) {
			struct tenant *t = ts->buckets[i];
			ts->buckets[i] = t->next;
			tenant_free(t);
		}
	for (unsigned i = 0; i < UID_BUCKETS; i++)
		while (ts->uids[i]) {
			struct uid_count *u = ts->uids[i];
			ts->uids[i] = u->next;
			free(u);
		}
	pthread_mutex_destroy(&ts->lock);
	free(ts);
}

struct rate_limit tenants_default_limit(struct tenants *ts) {
	pthread_mutex_lock(&ts->lock);
	struct rate_limit l = ts->dflt;
	pthread_mutex_unlock(&ts->lock);
	return l;
}

struct tenant *tenants_get(struct tenants *ts, const char *unit, uid_t uid) {
	unsigned b = hash(unit, unit[0] ? 0 : uid) % TENANT_BUCKETS;
	struct tenant *t;

	/* A unit is one tenant whatever uid its processes run as; a uid key is its uid. */
	pthread_mutex_lock(&ts->lock);
	for (t = ts->buckets[b]; t; t = t->next)
		if (strcmp(t->unit, unit) == 0 && (unit[0] || t->uid == uid))
			break;
	if (!t && (t = calloc(1, sizeof(*t)))) {
		snprintf(t->unit, sizeof(t->unit), "%s", unit);
		t->uid = uid;
		t->timer_fd = -1;
		share_flow_init(&t->flow);
		t->next = ts->buckets[b];
		ts->buckets[b] = t;
	}
	if (t)
		t->refs++;
	pthread_mutex_unlock(&ts->lock);
	return t;
}

void tenants_put(struct tenants *ts, struct tenant *t) {
	if (!t)
		return;
	pthread_mutex_lock(&ts->lock);
	t->refs--;
	pthread_mutex_unlock(&ts->lock);
}

const char *tenant_name(const struct tenant *t, char *buf, size_t size) {
	if (t->unit[0])
		return t->unit;
	snprintf(buf, size, "uid %u", (unsigned)t->uid);
	return buf;
}

struct tenant *tenants_for_sender(struct tenants *ts, const struct ucred *cred, uint64_t now) {
	unsigned i = (unsigned)cred->pid % SENDER_SLOTS;
	struct unit_key k;

	/* A pid may be reused: an entry is trusted for a second, as the origin cache's. */
	if (ts->senders[i].t && ts->senders[i].cred.pid == cred->pid &&
	    ts->senders[i].cred.uid == cred->uid && now - ts->senders[i].at <= 1000000)
		return ts->senders[i].t;
	if (peer_unit_of_pid(cred, &k) < 0)
		k.unit[0] = '\0';
	struct tenant *t = tenants_get(ts, k.unit, cred->uid);
	if (!t)
		return NULL;
	tenants_put(ts, ts->senders[i].t);
	ts->senders[i].t = t;
	ts->senders[i].cred = *cred;
	ts->senders[i].at = now;
	return t;
}

static void timer_arm(struct tenant *t, uint64_t at) {
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(at / 1000000),
					      .tv_nsec = (long)(at % 1000000) * 1000}};

	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1; /* zero would disarm it */
	timerfd_settime(t->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
	t->timer_at = at;
}

/* The window opened: every connection parked on it is read again. */
static int timer_event(int fd, short revents, void *data) {
	struct tenant *t = data;
	uint64_t n;
	(void)revents;

	(void)!read(fd, &n, sizeof(n));
	t->timer_at = 0;
	struct tenant_waiter *w = t->waiters;
	t->waiters = NULL;
	while (w) {
		struct tenant_waiter *next = w->next;
		w->prev = w->next = NULL;
		w->wake(w); /* may park it again */
		w = next;
	}
	return 0;
}

int tenant_park(struct tenants *ts, struct tenant *t, struct tenant_waiter *w) {
	uint64_t at = atomic_load(&t->open_at);

	if (t->timer_fd < 0) {
		t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (t->timer_fd < 0)
			return -errno;
		t->timer = loop_add(ts->cfg.loop, t->timer_fd, POLLIN, timer_event, t);
		if (!t->timer) {
			close(t->timer_fd);
			t->timer_fd = -1;
			return -ENOMEM;
		}
	}
	w->prev = NULL;
	w->next = t->waiters;
	if (t->waiters)
		t->waiters->prev = w;
	t->waiters = w;
	if (t->timer_at == 0 || at < t->timer_at)
		timer_arm(t, at);
	return 0;
}

void tenant_unpark(struct tenant *t, struct tenant_waiter *w) {
	if (w->prev)
		w->prev->next = w->next;
	else if (t->waiters == w)
		t->waiters = w->next;
	else
		return; /* not parked */
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

/* Frees a tenant nobody refers to, once its window has no say any more. Under the lock. */
static bool sweep(struct tenant *t, uint64_t now) {
	if (t->refs > 0 || t->waiters || t->reporting) {
		t->idle_since = 0;
		return false;
	}
	if (t->idle_since == 0)
		t->idle_since = now;
	uint64_t keep = atomic_load(&t->interval);
	return now - t->idle_since > (keep > IDLE_USEC ? keep : IDLE_USEC);
}

unsigned tenants_tick(struct tenants *ts, uint64_t now) {
	unsigned slowed = 0;

	if (ts->cfg.limits && now - ts->dflt_at >= LIMITS_REREAD_USEC) {
		struct rate_limit l;
		ts->dflt_at = now;
		if (limits_journald_conf(ts->cfg.root, &l) >= 0) {
			pthread_mutex_lock(&ts->lock);
			ts->dflt = l;
			pthread_mutex_unlock(&ts->lock);
		}
	}
	if (ts->cfg.scaled && now - ts->available_at >= SPACE_REREAD_USEC) {
		ts->available_at = now;
		atomic_store(&ts->available, limits_journal_available(ts->cfg.root));
	}
	pthread_mutex_lock(&ts->lock);
	for (unsigned i = 0; i < TENANT_BUCKETS; i++)
		for (struct tenant **p = &ts->buckets[i]; *p;) {
			struct tenant *t = *p;
			slowed += tenant_tick_slowed(ts, t, now);
			if (!sweep(t, now)) {
				p = &t->next;
				continue;
			}
			*p = t->next;
			tenant_free(t);
		}
	pthread_mutex_unlock(&ts->lock);
	return slowed;
}

unsigned tenants_uid_conns(struct tenants *ts, uid_t uid, int delta) {
	struct uid_count **p = &ts->uids[(unsigned)uid % UID_BUCKETS];

	while (*p && (*p)->uid != uid)
		p = &(*p)->next;
	if (!*p) {
		if (delta <= 0 || !(*p = calloc(1, sizeof(**p))))
			return 0;
		(*p)->uid = uid;
	}
	struct uid_count *u = *p;
	u->n = delta < 0 && u->n < (unsigned)-delta ? 0 : u->n + (unsigned)delta;
	unsigned n = u->n;
	if (n == 0) {
		*p = u->next;
		free(u);
	}
	return n;
}
