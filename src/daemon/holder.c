/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdstore.h"
#include "holder.h"
#include "log.h"

/*
 * Dead entries are dropped once they outnumber the live ones and are this
 * many: each compaction costs a send of every live fd, so few dead ones are
 * not worth one.
 */
#define COMPACT_MIN 512
/*
 * A restore peeks at the old holder's messages through SO_PEEK_OFF, and the
 * kernel walks the queue from its head for each: the cost grows with the
 * square of their number. A compaction packs them 253 to a message once
 * there are this many, and four times as many as packing needs.
 */
#define MSGS_MAX 512
enum fd_state {
	FD_NONE,    /* not a connection of ours */
	FD_PENDING, /* accepted; goes into the holder at the next flush */
	FD_HELD,    /* in the holder */
	FD_UNKEPT,  /* the holder refused it; the next compaction tries again */
};

struct holder {
	bool keep;
	bool refused;          /* the manager did not keep a holder: nothing is kept any more */
	unsigned peak, steady; /* fds in flight at most: at a compaction, and between them */
	struct pair cur;
	struct retired retired; /* dropped holders the manager has not closed yet */
	unsigned next_gen;
	uint8_t *state; /* enum fd_state, by fd number */
	size_t n_state;
	unsigned live, held, held_live, unkept; /* held: fds in the holder, dead ones too */
	unsigned msgs;                          /* messages in the holder */
	int pending[HOLDER_MSG_FDS];
	unsigned n_pending;
	unsigned compactions;
	struct ratelimit warn;
};

int holder_new(bool keep, unsigned peak, unsigned steady, struct holder **ret) {
	struct holder *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->keep = keep;
	h->peak = peak ? peak : UINT32_MAX;
	h->steady = steady ? steady : UINT32_MAX;
	h->cur = PAIR_NONE;
	h->warn = (struct ratelimit){.interval_usec = 10000000, .burst = 10};
	*ret = h;
	return 0;
}

void holder_free(struct holder *h) {
	if (!h)
		return;
	pair_close(&h->cur);
	retired_close(&h->retired);
	free(h->state);
	free(h);
}

void holder_after_gen(struct holder *h, unsigned gen) {
	if (gen >= h->next_gen)
		h->next_gen = gen + 1;
}

/* --- Bookkeeping by fd number ------------------------------------------- */

static int set_state(struct holder *h, int fd, enum fd_state st) {
	if ((size_t)fd >= h->n_state) {
		size_t n = h->n_state ? h->n_state : 1024;
		while (n <= (size_t)fd)
			n *= 2;
		uint8_t *p = realloc(h->state, n);
		if (!p)
			return -ENOMEM;
		memset(p + h->n_state, FD_NONE, n - h->n_state);
		h->state = p;
		h->n_state = n;
	}
	h->state[fd] = st;
	return 0;
}

static enum fd_state get_state(const struct holder *h, int fd) {
	return fd >= 0 && (size_t)fd < h->n_state ? h->state[fd] : FD_NONE;
}

/* The manager closed the holder's far end: say so once, and keep nothing more. */
static void refused(struct holder *h) {
	if (h->refused)
		return;
	h->refused = true;
	log_error("the service manager does not keep mpsrd's holder (FileDescriptorStoreMax= "
		  "too low, or its fd store full): connections and unfinished lines are not "
		  "kept across restarts, and a restart is a stop");
}

/*
 * A new holder with the live connections only, packed; then the old one
 * goes, and with it the dead ones. In this order, every live connection is
 * in a holder of the fd store at every moment. Costs `live` more fds in
 * flight for the time of the call.
 */
static int compact(struct holder *h) {
	struct pair next;
	int batch[HOLDER_MSG_FDS];
	unsigned n = 0, sent = 0;
	int r = pair_open(h->next_gen, false, &next);

	if (r < 0)
		return r;
	h->next_gen++;
	for (size_t fd = 0; fd < h->n_state; fd++) {
		if (h->state[fd] == FD_NONE)
			continue;
		batch[n++] = (int)fd;
		if (n == HOLDER_MSG_FDS) {
			if ((r = pair_send(next.tx, batch, n)) < 0)
				goto fail;
			sent += n;
			n = 0;
		}
	}
	if (n > 0 && (r = pair_send(next.tx, batch, n)) < 0)
		goto fail;
	h->msgs = (h->live + HOLDER_MSG_FDS - 1) / HOLDER_MSG_FDS;
	for (size_t fd = 0; fd < h->n_state; fd++)
		if (h->state[fd] != FD_NONE)
			h->state[fd] = FD_HELD;
	retired_add(&h->retired, &h->cur, h->held);
	h->cur = next;
	h->held = h->held_live = h->live;
	h->n_pending = h->unkept = 0;
	h->compactions++;
	return 0;
fail:
	retired_add(&h->retired, &next, sent);
	if (r == -ECONNREFUSED)
		refused(h);
	return r;
}

/* Whether held + extra fds in flight would leave the limits: steady, or the next compaction's peak.
 */
static bool over(const struct holder *h, unsigned extra, unsigned retired) {
	uint64_t held = (uint64_t)h->held + extra + retired;

	return held > h->steady || held + h->live > h->peak;
}

/*
 * Whether adding extra fds would leave no room for the compaction that
 * follows. Dropped holders count until the manager closed them; when they
 * are what fills the budget, mpsrd waits for it.
 */
static bool over_budget(struct holder *h, unsigned extra) {
	if (!over(h, extra, h->retired.total))
		return false;
	return over(h, extra, retired_reap(&h->retired, !over(h, extra, 0)));
}

static bool too_many_msgs(const struct holder *h) {
	return h->msgs >= MSGS_MAX && h->msgs >= 4 * (h->live / HOLDER_MSG_FDS + 1);
}

static void maybe_compact(struct holder *h) {
	unsigned dead = h->held - h->held_live;

	if (h->refused)
		return;
	if ((dead <= h->live || dead < COMPACT_MIN) && !(dead && over_budget(h, HOLDER_MSG_FDS)) &&
	    !too_many_msgs(h))
		return;
	int r = compact(h);
	if (r < 0)
		log_limited(&h->warn, LOG_WARNING, r,
			    "cannot drop closed connections from the holder");
}

/* --- Connections -------------------------------------------------------- */

void holder_add(struct holder *h, int fd) {
	if (!h || !h->keep || h->refused)
		return;
	if (set_state(h, fd, FD_PENDING) < 0) {
		log_limited(&h->warn, LOG_WARNING, -ENOMEM, "a connection is not kept");
		return;
	}
	h->live++;
	h->pending[h->n_pending++] = fd;
	if (h->n_pending == HOLDER_MSG_FDS)
		(void)holder_flush(h);
}

static int try_send_pending(struct holder *h) {
	if (h->cur.tx < 0)
		return -ENOTCONN;
	/* Dead ones in the holder: a compaction makes room, and keeps the pending ones too. */
	if (over_budget(h, h->n_pending) && h->held > h->held_live)
		return -ETOOMANYREFS;
	int r = pair_send(h->cur.tx, h->pending, h->n_pending);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < h->n_pending; i++)
		h->state[h->pending[i]] = FD_HELD;
	h->held += h->n_pending;
	h->held_live += h->n_pending;
	h->msgs++;
	h->n_pending = 0;
	return 0;
}

int holder_flush(struct holder *h) {
	if (!h || h->n_pending == 0)
		return 0;
	int r = try_send_pending(h);
	if (r == 0) {
		maybe_compact(h);
		return 0;
	}
	/*
	 * EAGAIN: the holder's queue is full; ETOOMANYREFS: too many fds in
	 * flight. Either way a holder of the live ones only has room.
	 */
	if (r == -ECONNREFUSED)
		refused(h);
	else
		r = compact(h);
	if (r < 0) {
		if (!h->refused)
			log_limited(&h->warn, LOG_WARNING, r,
				    "%u connections are not kept across restarts", h->n_pending);
		for (unsigned i = 0; i < h->n_pending; i++)
			h->state[h->pending[i]] = FD_UNKEPT;
		h->unkept += h->n_pending;
		h->n_pending = 0;
	}
	return r;
}

/* Out of the books; returns what it was. */
static enum fd_state unbook(struct holder *h, int fd) {
	enum fd_state st = get_state(h, fd);

	if (st == FD_NONE)
		return st;
	h->state[fd] = FD_NONE;
	h->live--;
	if (st == FD_HELD)
		h->held_live--;
	else if (st == FD_UNKEPT)
		h->unkept--;
	else
		for (unsigned i = 0; i < h->n_pending; i++)
			if (h->pending[i] == fd) {
				h->pending[i] = h->pending[--h->n_pending];
				break;
			}
	return st;
}

void holder_remove(struct holder *h, int fd) {
	if (!h)
		return;
	enum fd_state st = unbook(h, fd);
	if (st == FD_NONE)
		return;
	/*
	 * A holder keeps the socket open after mpsrd closes it (this one, or an
	 * old one a restore left whole): the producer must see the end now.
	 */
	shutdown(fd, SHUT_RDWR);
	if (st == FD_HELD)
		maybe_compact(h);
}

void holder_forget(struct holder *h, int fd) {
	if (h)
		(void)unbook(h, fd);
}

int holder_start(struct holder *h, bool offer_later) {
	if (!h->keep)
		return 0;
	int r = pair_open(h->next_gen, offer_later, &h->cur);
	if (r < 0)
		return r;
	h->next_gen++;
	return 0;
}

void holder_offer(struct holder *h) {
	if (h->cur.tx >= 0 && h->cur.rx >= 0)
		(void)pair_put(&h->cur);
}

int holder_check(struct holder *h) {
	if (h->refused)
		return -ECONNREFUSED;
	/* rx is ours when there is no manager: nothing outlives mpsrd then. */
	if (h->cur.tx < 0 || h->cur.rx >= 0)
		return -ENOTCONN;
	int r = pair_send(h->cur.tx, NULL, 0);
	if (r == -ECONNREFUSED)
		refused(h);
	return r == -EAGAIN ? 0 : r;
}

void holder_stats(const struct holder *h, struct holder_stats *out) {
	*out = (struct holder_stats){
		.live = h->live,
		.held = h->held,
		.retired = h->retired.total,
		.unkept = h->unkept,
		.generation = h->cur.gen,
		.compactions = h->compactions,
	};
}
