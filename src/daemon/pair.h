/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/*
 * One holder (holder.h) on the wire: a datagram socket pair whose two ends
 * are in the service manager's fd store. mpsrd sends connections into tx;
 * they queue at rx, which is the manager's alone once it was sent there: if
 * the manager refuses it, rx closes, and the next send into tx says so
 * (ECONNREFUSED).
 */

#define PAIR_MSG_FDS 253 /* SCM_MAX_FD: the most fds one message carries */

struct pair {
	int tx, rx; /* tx: -1 when there is none; rx: -1 when the manager's alone */
	unsigned gen;
};

#define PAIR_NONE ((struct pair){.tx = -1, .rx = -1})

/*
 * A new pair of generation gen, in the fd store before anything goes in.
 * keep_rx: mpsrd keeps rx too, until pair_put() offers it again.
 */
int pair_open(unsigned gen, bool keep_rx, struct pair *ret);

/* Offers both ends to the manager; then gives rx up. Returns fdstore_put()'s answer. */
int pair_put(struct pair *p);

/* Closes mpsrd's ends; the manager's stay. */
void pair_close(struct pair *p);

/* Sends n fds (0: a probe, a message without fds). Returns 0 or a negative errno. */
int pair_send(int tx, const int *fds, unsigned n);

/* Makes pair_peek() start at the head of sock's queue. Returns 0 or a negative errno. */
int pair_peek_begin(int sock);

/*
 * The fds of the next message in sock's queue, taken as copies: the message
 * stays (MSG_PEEK; SO_PEEK_OFF moves on to the next one). Returns how many,
 * 0 when the queue has no more, -EMFILE when they did not all fit in this
 * process (none is kept then), or a negative errno.
 */
int pair_peek(int sock, int fds[PAIR_MSG_FDS]);

/*
 * Pairs dropped from the fd store whose queue the manager has not closed
 * yet: what they hold is still in flight, and counts against the kernel's
 * limit. mpsrd keeps their tx to tell when the manager closed rx.
 */
#define RETIRED_MAX 8

struct retired {
	int tx[RETIRED_MAX];
	unsigned held[RETIRED_MAX];
	unsigned n;
	unsigned total; /* fds still in flight in them */
};

/* Drops p from the fd store; held: the fds in its queue. Takes p. */
void retired_add(struct retired *r, struct pair *p, unsigned held);

/*
 * Forgets those the manager has closed. wait: first waits (up to a second)
 * until it has processed everything mpsrd sent it. Returns r->total.
 */
unsigned retired_reap(struct retired *r, bool wait);

void retired_close(struct retired *r);
