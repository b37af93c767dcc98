/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "frame.h"
#include "journal.h"
#include "protocol.h"
#include "relay.h"

#define JOURNAL_CHECK_USEC 1000 /* how stale the "journald is there" answer may be */

int relay_init(struct relay *r, const struct relay_config *cfg) {
	*r = (struct relay){.cfg = *cfg};
	r->warn = (struct ratelimit){.interval_usec = 10000000, .burst = 10};
	pace_init(&r->pace, JOURNAL_SOCKET, cfg->pace);
	/* Room for an unfinished line, its header, and a full read behind it. */
	r->buf_size = JOURNAL_HEADROOM + cfg->line_max + FRAME_SLACK + READ_CHUNK;
	r->buf = malloc(r->buf_size);
	return r->buf ? 0 : -ENOMEM;
}

void relay_done(struct relay *r) {
	pace_done(&r->pace);
	free(r->buf);
	free(r->pkt);
	r->buf = r->pkt = NULL;
}

bool relay_journal_ok(struct relay *r) {
	uint64_t now = now_usec();

	if (now < r->journal_checked + JOURNAL_CHECK_USEC)
		return true;
	if (journal_available() < 0)
		return false;
	r->journal_checked = now;
	return true;
}

bool relay_yield(struct relay *r) {
	return atomic_load_explicit(&r->contended, memory_order_relaxed) && r->yield_at &&
	       now_usec() >= r->yield_at;
}

void relay_journal_enter(struct relay *r) {
	atomic_store_explicit(&r->journal_since, now_usec(), memory_order_relaxed);
}

void relay_journal_leave(struct relay *r) {
	atomic_store_explicit(&r->journal_since, 0, memory_order_relaxed);
}
