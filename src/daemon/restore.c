/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "fdstore.h"
#include "log.h"
#include "restore.h"

/* An fd passed at start under one of our names. */
struct passed {
	int fd;
	char *name;
	bool holder;
};

/* The sockets seen at start, by inode: two holders may keep the same one. */
struct inodes {
	uint64_t *slot; /* 0: empty; sockets' inodes are never 0 */
	size_t size, used;
};

struct restore {
	struct passed *passed;
	size_t n_passed;
	struct inodes seen;
	int (*adopt)(int fd, void *data);
	void *data;
	int adopted;
	bool whole; /* every connection is in the new holder */
};

int restore_new(struct restore **ret) {
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void restore_free(struct restore *rs) {
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_passed; i++) {
		if (rs->passed[i].fd >= 0)
			close(rs->passed[i].fd);
		free(rs->passed[i].name);
	}
	free(rs->passed);
	free(rs->seen.slot);
	free(rs);
}

int restore_take(struct restore *rs, struct holder *h, int fd, const char *name) {
	unsigned gen = 0;
	bool holder = fdstore_is_holder(name, &gen);

	if (!fdstore_is_kept(name))
		return -EINVAL;
	struct passed *p = realloc(rs->passed, (rs->n_passed + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	rs->passed = p;
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	rs->passed[rs->n_passed++] = (struct passed){.fd = fd, .name = copy, .holder = holder};
	/* Our holder's name must differ from every one still in the fd store. */
	if (holder)
		holder_after_gen(h, gen);
	return 0;
}

/* Whether ino was seen before; records it. Returns 1, 0, or a negative errno. */
static int inodes_seen(struct inodes *set, uint64_t ino) {
	if ((set->used + 1) * 2 > set->size) {
		struct inodes bigger = {.size = set->size ? set->size * 2 : 4096};
		bigger.slot = calloc(bigger.size, sizeof(uint64_t));
		if (!bigger.slot)
			return -ENOMEM;
		for (size_t i = 0; i < set->size; i++)
			if (set->slot[i])
				(void)inodes_seen(&bigger, set->slot[i]);
		free(set->slot);
		*set = bigger;
	}
	size_t i = (size_t)(ino * 0x9e3779b97f4a7c15ULL) & (set->size - 1);
	for (; set->slot[i]; i = (i + 1) & (set->size - 1))
		if (set->slot[i] == ino)
			return 1;
	set->slot[i] = ino;
	set->used++;
	return 0;
}

/* Keeps every fd of the batch but duplicates; returns how many are left. */
static unsigned dedupe(struct inodes *seen, int *fds, unsigned n) {
	unsigned m = 0;

	for (unsigned i = 0; i < n; i++) {
		struct stat st;
		if (fstat(fds[i], &st) < 0 || inodes_seen(seen, st.st_ino) != 0) {
			close(fds[i]);
			continue;
		}
		fds[m++] = fds[i];
	}
	return m;
}

/* A batch of kept connections: into the new holder, then served. */
static void take_batch(struct restore *rs, struct holder *h, int *fds, unsigned n) {
	struct holder_stats st;

	n = dedupe(&rs->seen, fds, n);
	for (unsigned i = 0; i < n; i++)
		holder_add(h, fds[i]);
	(void)holder_flush(h);
	holder_stats(h, &st);
	if (st.unkept > 0)
		rs->whole = false;
	for (unsigned i = 0; i < n; i++) {
		if (rs->adopt(fds[i], rs->data) < 0) {
			/* By number only: adopt closed the fd. */
			holder_forget(h, fds[i]);
			continue;
		}
		rs->adopted++;
	}
}

/*
 * Every connection of an old holder, as copies: the holder keeps its own.
 * Messages of one fd each (accepted one by one) are gathered into full
 * batches: with the old holder's fds still in flight, the new holder's may
 * cross the kernel's collector trigger, and then every send waits for a
 * collection; a send per connection made a restart of 8,000 take a minute.
 */
static void take_holder(struct restore *rs, struct holder *h, int sock) {
	int batch[HOLDER_MSG_FDS], fds[HOLDER_MSG_FDS], n;
	unsigned have = 0;

	if ((n = pair_peek_begin(sock)) == 0)
		while ((n = pair_peek(sock, fds)) > 0) {
			if (have + (unsigned)n > HOLDER_MSG_FDS) {
				take_batch(rs, h, batch, have);
				have = 0;
			}
			memcpy(batch + have, fds, (size_t)n * sizeof(int));
			have += (unsigned)n;
		}
	if (have > 0)
		take_batch(rs, h, batch, have);
	if (n == -EMFILE) {
		log_error("out of fds taking kept connections back (LimitNOFILE= too low): the "
			  "rest stay in the fd store for the next start");
		rs->whole = false;
	} else if (n < 0) {
		log_warning_errno(n, "cannot take connections out of a holder");
		rs->whole = false;
	}
}

/* Connections kept one by one (c-*): into the holder; out of the fd store once it has them. */
static void take_singles(struct restore *rs, struct holder *h) {
	int fds[HOLDER_MSG_FDS];
	size_t idx[HOLDER_MSG_FDS];
	unsigned n = 0;

	for (size_t i = 0; i < rs->n_passed; i++) {
		if (!rs->passed[i].holder) {
			idx[n] = i;
			fds[n++] = rs->passed[i].fd;
			rs->passed[i].fd = -1;
		}
		if (n == 0 || (n < HOLDER_MSG_FDS && i + 1 < rs->n_passed))
			continue;
		take_batch(rs, h, fds, n);
		for (unsigned k = 0; k < n && rs->whole; k++)
			fdstore_drop(rs->passed[idx[k]].name);
		n = 0;
	}
}

int restore_run(struct restore *rs, struct holder *h, int (*adopt)(int fd, void *data),
		void *data) {
	bool singles = false;

	for (size_t i = 0; i < rs->n_passed; i++)
		singles |= !rs->passed[i].holder;
	int r = holder_start(h, singles);

	/* Failing to start is better: the old holders still keep everything. */
	if (r < 0)
		return r;
	rs->adopt = adopt;
	rs->data = data;
	rs->whole = true;
	for (size_t i = 0; i < rs->n_passed && rs->whole; i++)
		if (rs->passed[i].holder)
			take_holder(rs, h, rs->passed[i].fd);
	if (singles && rs->whole)
		take_singles(rs, h);
	if (!rs->whole)
		return rs->adopted;
	/*
	 * The new holder has them all: only now may the old ones go. What they
	 * hold stays in flight until the manager closed them: wait for that
	 * before serving, for the holder's budget (holder.h).
	 */
	bool dropped = false;
	for (size_t i = 0; i < rs->n_passed; i++)
		if (rs->passed[i].holder) {
			fdstore_drop(rs->passed[i].name);
			dropped = true;
		}
	if (dropped)
		(void)sd_notify_barrier(0, 5000000);
	/*
	 * After an upgrade the fd store may have been full of single connections
	 * when the holder was offered: offer it again now that they are gone.
	 */
	if (singles)
		holder_offer(h);
	return rs->adopted;
}
