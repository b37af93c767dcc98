/* SPDX-License-Identifier: MIT */
/*
 * The slot allocator: which connection's unfinished line each slot holds, a
 * stack of free slots, and, at start, the kept connections' slots by inode.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "journal.h"
#include "ledger-int.h"
#include "log.h"
#include "macro.h"

static int cmp_index(const void *a, const void *b) {
	const struct index_entry *x = a, *y = b;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int ledger_index_slots(struct ledger *l) {
	size_t used = l->rec->n_slots - l->n_free;

	if (used == 0)
		return 0;
	if (!(l->index = calloc(used, sizeof(*l->index))))
		return -ENOMEM;
	for (uint32_t i = 0; i < l->rec->n_slots; i++)
		if (l->slots[i].ino != 0)
			l->index[l->n_index++] = (struct index_entry){l->slots[i].ino, i};
	qsort(l->index, l->n_index, sizeof(*l->index), cmp_index);
	return 0;
}

/* A connection kept from before finds its slot by its inode (once per connection, at start). */
static int find_slot(const struct ledger *l, uint64_t ino) {
	struct index_entry key = {.ino = ino};
	const struct index_entry *e =
		l->index ? bsearch(&key, l->index, l->n_index, sizeof(key), cmp_index) : NULL;

	return e && !l->claimed[e->slot] ? (int)e->slot : -1;
}

int ledger_conn_init(struct ledger_conn *lc, struct ledger *l, int fd) {
	struct stat st;

	*lc = (struct ledger_conn){.slot = -1};
	if (fstat(fd, &st) < 0)
		return -errno;
	/*
	 * No more accounts than slots: a job's end must find a slot for the
	 * framing state it leaves (ledger.h, step 5), or a restart would forget
	 * the priority, header or octet count of the message it cut. Only this
	 * thread adds, so a count checked is not exceeded before the add.
	 */
	if (atomic_load(&l->accounts) >= l->rec->n_slots)
		return -ENOSPC;
	atomic_fetch_add(&l->accounts, 1);
	lc->account = true;
	lc->ino = (uint64_t)st.st_ino;
	if ((lc->slot = find_slot(l, lc->ino)) >= 0)
		l->claimed[lc->slot] = 1;
	/*
	 * Socket inodes are 32-bit and reused once a socket is closed: the
	 * connection's number in this generation tells a new connection from
	 * a closed one that had its inode, whose last entry must not answer
	 * for the new one's first.
	 */
	int n = snprintf(lc->tag, sizeof(lc->tag), LEDGER_TAG_FORMAT, l->rec->id, l->rec->gen,
			 lc->ino, ++l->n_conns);
	lc->tag_iov = (struct iovec){lc->tag, (size_t)n};
	return 0;
}

/* Empties slot i and gives its memory back. */
void ledger_slot_empty(struct ledger *l, uint32_t i) {
	size_t size = l->rec->slot_size;

	l->staged -= LEN(l->slots[i].state);
	publish(l->slots[i].state, 0);
	(void)fallocate(l->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			(off_t)(l->data - (char *)l->rec) + (off_t)(i * size), (off_t)size);
}

void ledger_slot_release(struct ledger *l, uint32_t i) {
	if (l->slots[i].state)
		ledger_slot_empty(l, i);
	if (l->slots[i].frame.set)
		ledger_frame_save(&l->slots[i].frame, NULL);
	publish(l->slots[i].ino, 0);
	l->claimed[i] = 0;
	l->free[l->n_free++] = i;
}

void ledger_conn_done(struct ledger *l, struct ledger_conn *lc) {
	if (lc->slot >= 0)
		ledger_slot_release(l, (uint32_t)lc->slot);
	lc->slot = -1;
	if (lc->account)
		atomic_fetch_sub(&l->accounts, 1);
	lc->account = false;
}

uint64_t ledger_staged_len(const struct ledger *l, const struct ledger_conn *lc) {
	return lc->slot >= 0 ? LEN(l->slots[lc->slot].state) : 0;
}

size_t ledger_staged(struct ledger *l, const struct ledger_conn *lc, char **data) {
	if (lc->slot >= 0)
		*data = l->data + (size_t)lc->slot * l->rec->slot_size;
	return ledger_staged_len(l, lc);
}

/* Whether lc's slot, or a free one, has room for n more bytes after `keep`. */
static bool slot_room(const struct ledger *l, const struct ledger_conn *lc, size_t keep, size_t n) {
	return keep + n <= l->rec->slot_size && (lc->slot >= 0 || l->n_free > 0);
}

bool ledger_can_stage(const struct ledger *l, const struct ledger_conn *lc, size_t keep, size_t n) {
	/* What lc has staged and does not keep is dropped at the job's end: it counts no more. */
	uint64_t others = l->staged - ledger_staged_len(l, lc);

	return others + keep + n <= l->budget && slot_room(l, lc, keep, n);
}

bool ledger_slot_claim(struct ledger *l, struct ledger_conn *lc) {
	if (lc->slot >= 0)
		return true;
	if (l->n_free == 0)
		return false;
	lc->slot = (int)l->free[--l->n_free];
	l->claimed[lc->slot] = 1;
	/* Released empty, with no state: the connection is named last. */
	publish(l->slots[lc->slot].ino, lc->ino);
	return true;
}

static ssize_t stage(struct ledger *l, struct ledger_conn *lc, int fd, size_t n, bool budget) {
	uint64_t have = ledger_staged_len(l, lc);

	if (budget ? !ledger_can_stage(l, lc, have, n) : !slot_room(l, lc, have, n))
		return -ENOSPC;
	assert(l->rec->ino == 0); /* between jobs */
	if (!ledger_slot_claim(l, lc))
		return -ENOSPC;
	char *at = l->data + (size_t)lc->slot * l->rec->slot_size + have;
	ssize_t k = ledger_take_marked(fd, at, n, &l->slots[lc->slot].state);
	if (k > 0)
		l->staged += (uint64_t)k;
	return k;
}

ssize_t ledger_stage(struct ledger *l, struct ledger_conn *lc, int fd, size_t n) {
	return stage(l, lc, fd, n, true);
}

ssize_t ledger_stage_start(struct ledger *l, struct ledger_conn *lc, int fd, size_t n) {
	return stage(l, lc, fd, n, false);
}
