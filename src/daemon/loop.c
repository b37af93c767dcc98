/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "loop.h"

struct loop_source {
	struct loop *loop;
	int fd;
	unsigned idx; /* position in loop->fds and loop->srcs */
	bool dead;
	loop_cb cb;
	void *data;
};

struct loop {
	struct pollfd *fds; /* what poll() sees; parallel to srcs */
	struct loop_source **srcs;
	unsigned n, cap;
	unsigned live;
	bool sweep; /* some source was removed since the last sweep */
};

int loop_new(struct loop **ret) {
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return -ENOMEM;
	*ret = loop;
	return 0;
}

void loop_free(struct loop *loop) {
	if (!loop)
		return;
	for (unsigned i = 0; i < loop->n; i++)
		free(loop->srcs[i]);
	free(loop->fds);
	free(loop->srcs);
	free(loop);
}

static int loop_grow(struct loop *loop) {
	unsigned cap = loop->cap ? loop->cap * 2 : 16;
	struct pollfd *fds = realloc(loop->fds, cap * sizeof(*fds));

	if (!fds)
		return -ENOMEM;
	loop->fds = fds;
	struct loop_source **srcs = realloc(loop->srcs, cap * sizeof(*srcs));
	if (!srcs)
		return -ENOMEM;
	loop->srcs = srcs;
	loop->cap = cap;
	return 0;
}

struct loop_source *loop_add(struct loop *loop, int fd, short events, loop_cb cb, void *data) {
	if (loop->n == loop->cap && loop_grow(loop) < 0)
		return NULL;

	struct loop_source *src = calloc(1, sizeof(*src));
	if (!src)
		return NULL;
	*src = (struct loop_source){.loop = loop, .fd = fd, .idx = loop->n, .cb = cb, .data = data};
	loop->fds[loop->n] = (struct pollfd){.fd = events ? fd : -1, .events = events};
	loop->srcs[loop->n] = src;
	loop->n++;
	loop->live++;
	return src;
}

void loop_set_events(struct loop_source *src, short events) {
	struct pollfd *p = &src->loop->fds[src->idx];

	if (src->dead)
		return;
	/* A paused fd is hidden from poll() whole: a hang-up must not wake us either. */
	p->fd = events ? src->fd : -1;
	p->events = events;
}

void loop_remove(struct loop_source *src) {
	if (!src || src->dead)
		return;
	src->dead = true;
	/* A negative fd makes poll() skip the slot until the sweep reuses it. */
	src->loop->fds[src->idx].fd = -1;
	src->loop->live--;
	src->loop->sweep = true;
}

unsigned loop_count(const struct loop *loop) {
	return loop->live;
}

/* Moves the last slot into each dead one: O(removed), order does not matter. */
static void loop_sweep(struct loop *loop) {
	unsigned i = 0;

	while (i < loop->n) {
		struct loop_source *src = loop->srcs[i];
		if (!src->dead) {
			i++;
			continue;
		}
		free(src);
		loop->n--;
		if (i != loop->n) {
			loop->fds[i] = loop->fds[loop->n];
			loop->srcs[i] = loop->srcs[loop->n];
			loop->srcs[i]->idx = i;
		}
	}
	loop->sweep = false;
}

int loop_dispatch(struct loop *loop, int timeout_ms) {
	int ready = poll(loop->fds, loop->n, timeout_ms);
	int ran = 0;

	if (ready < 0)
		return errno == EINTR ? 0 : -errno;

	/* Sources added by callbacks land past `n` and wait for the next round. */
	unsigned n = loop->n;
	for (unsigned i = 0; i < n && ready > 0; i++) {
		short revents = loop->fds[i].revents;
		if (revents == 0)
			continue;
		ready--;
		loop->fds[i].revents = 0;
		struct loop_source *src = loop->srcs[i];
		/* Removed or paused by a callback earlier in this round. */
		if (src->dead || loop->fds[i].fd < 0)
			continue;
		int r = src->cb(src->fd, revents, src->data);
		ran++;
		if (r < 0) {
			if (loop->sweep)
				loop_sweep(loop);
			return r;
		}
	}
	if (loop->sweep)
		loop_sweep(loop);
	return ran;
}
