/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger.h"
#include "log.h"
#include "macro.h"

#define LEDGER_MAGIC 0x6d70736dU /* "mpsm": the layout below */
#define PAGE         4096U

struct ledger {
	int fd;
	struct ledger_record *rec; /* the memfd, shared: record page, slot table, slots' bytes */
	struct ledger_slot *slots;
	char *data;
	size_t map_size;
	size_t budget;
	/* Bytes in all slots; the writer changes it, the loop may read it. */
	_Atomic uint64_t staged;
	uint32_t *free; /* free slots, a stack */
	unsigned n_free;
	uint8_t *claimed; /* by a connection (ledger_conn_init), by slot */
	/* At start: the slots in use, by inode, for the connections kept from before. */
	struct index_entry {
		uint64_t ino;
		uint32_t slot;
	} * index;
	size_t n_index;
};

/*
 * The record and the slots are read back after a kill -9, which leaves the
 * stores made before it in the order they were made: the compiler must keep
 * that order.
 */
#define put(field, value) __atomic_store_n(&(field), (value), __ATOMIC_RELEASE)
#define LEN(state)        ((state) >> 32)
#define TAKING(state)     ((state)&0xffffffffU)

static size_t round_page(size_t n) {
	return (n + PAGE - 1) / PAGE * PAGE;
}

static size_t table_size(uint32_t n_slots) {
	return round_page(n_slots * sizeof(struct ledger_slot));
}

static int cmp_index(const void *a, const void *b) {
	const struct index_entry *x = a, *y = b;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int index_slots(struct ledger *l) {
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

/* Maps what fd holds and sets up the in-memory side; the record must be valid. */
static int map(int fd, size_t budget, struct ledger **ret) {
	struct ledger_record head;
	struct ledger *l;
	int r;

	if (pread(fd, &head, sizeof(head), 0) != sizeof(head))
		return -EBADMSG;
	if (head.magic != LEDGER_MAGIC || head.slot_size % PAGE != 0)
		return -EBADMSG;
	if (!(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	l->map_size = PAGE + table_size(head.n_slots) + (size_t)head.n_slots * head.slot_size;
	l->rec = mmap(NULL, l->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	l->free = calloc(head.n_slots + 1, sizeof(*l->free));
	l->claimed = calloc(head.n_slots + 1, 1);
	if (l->rec == MAP_FAILED || !l->free || !l->claimed) {
		r = l->rec == MAP_FAILED ? -errno : -ENOMEM;
		if (l->rec != MAP_FAILED)
			munmap(l->rec, l->map_size);
		free(l->free);
		free(l->claimed);
		free(l);
		return r;
	}
	l->slots = (struct ledger_slot *)((char *)l->rec + PAGE);
	l->data = (char *)l->slots + table_size(head.n_slots);
	l->fd = fd;
	l->budget = budget;
	/* Slots are taken from the top of the stack: low numbers first. */
	for (uint32_t i = head.n_slots; i-- > 0;) {
		if (l->slots[i].ino == 0)
			l->free[l->n_free++] = i;
		l->staged += LEN(l->slots[i].state);
	}
	if ((r = index_slots(l)) < 0) {
		l->fd = -1; /* the caller's still */
		ledger_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

int ledger_new(unsigned n_slots, size_t slot_size, size_t budget, struct ledger **ret) {
	_cleanup_(closep) int fd = memfd_create("mpsr-ledger", MFD_CLOEXEC);
	struct ledger_record head = {
		.magic = LEDGER_MAGIC,
		.gen = 1,
		.n_slots = n_slots,
		.slot_size = (uint32_t)round_page(slot_size),
	};
	int r;

	if (fd < 0)
		return -errno;
	/* Sparse: a page costs memory only once a line is staged in it. */
	if (ftruncate(fd, (off_t)(PAGE + table_size(n_slots) + (size_t)n_slots * head.slot_size)) <
	    0)
		return -errno;
	if (pwrite(fd, &head, sizeof(head), 0) != sizeof(head))
		return -EIO;
	if ((r = map(fd, budget, ret)) < 0)
		return r;
	take_fd(&fd);
	return 0;
}

int ledger_adopt(int fd, size_t budget, struct ledger **ret) {
	int r = map(fd, budget, ret);

	if (r < 0) {
		close(fd);
		return r;
	}
	(*ret)->rec->gen++;
	return 0;
}

void ledger_free(struct ledger *l) {
	if (!l)
		return;
	munmap(l->rec, l->map_size);
	if (l->fd >= 0)
		close(l->fd);
	free(l->free);
	free(l->claimed);
	free(l->index);
	free(l);
}

int ledger_fd(const struct ledger *l) {
	return l->fd;
}

struct ledger_record *ledger_record(struct ledger *l) {
	return l->rec;
}

uint64_t ledger_staged_total(const struct ledger *l) {
	return l->staged;
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
	lc->ino = (uint64_t)st.st_ino;
	if ((lc->slot = find_slot(l, lc->ino)) >= 0)
		l->claimed[lc->slot] = 1;
	int n = snprintf(lc->tag, sizeof(lc->tag), LEDGER_FIELD "%" PRIu32 ".%" PRIu64 ".0",
			 l->rec->gen, lc->ino);
	lc->tag_iov = (struct iovec){lc->tag, (size_t)n};
	return 0;
}

/* Empties slot i and gives its memory back. */
static void slot_empty(struct ledger *l, uint32_t i) {
	size_t size = l->rec->slot_size;

	l->staged -= LEN(l->slots[i].state);
	put(l->slots[i].state, 0);
	(void)fallocate(l->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			(off_t)(l->data - (char *)l->rec) + (off_t)(i * size), (off_t)size);
}

static void slot_release(struct ledger *l, uint32_t i) {
	if (l->slots[i].state)
		slot_empty(l, i);
	put(l->slots[i].ino, 0);
	l->claimed[i] = 0;
	l->free[l->n_free++] = i;
}

void ledger_conn_done(struct ledger *l, struct ledger_conn *lc) {
	if (lc->slot >= 0)
		slot_release(l, (uint32_t)lc->slot);
	lc->slot = -1;
}

static uint64_t staged_len(const struct ledger *l, const struct ledger_conn *lc) {
	return lc->slot >= 0 ? LEN(l->slots[lc->slot].state) : 0;
}

size_t ledger_staged(struct ledger *l, const struct ledger_conn *lc, char **data) {
	if (lc->slot >= 0)
		*data = l->data + (size_t)lc->slot * l->rec->slot_size;
	return staged_len(l, lc);
}

static int peek_off(int fd, int off) {
	return setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0 ? -errno : 0;
}

/*
 * recv() of n bytes into buf, with *word = (BASE << 32 | n) while it runs and
 * (BASE + taken) << 32 after: SO_PEEK_OFF, set to n, counts down in the same
 * step as each recv(), so after a crash the socket says how far it got.
 */
static ssize_t take_marked(int fd, char *buf, size_t n, uint64_t *word) {
	uint64_t base = LEN(*word);
	size_t got = 0;
	int r;

	if (n == 0)
		return 0;
	put(*word, base << 32 | (uint32_t)n);
	if ((r = peek_off(fd, (int)n)) < 0)
		goto out;
	while (got < n) {
		ssize_t k = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)k;
	}
out:
	put(*word, (base + got) << 32);
	/* A peek offset left set would move every later MSG_PEEK read. */
	(void)peek_off(fd, -1);
	return got > 0 || r == 0 ? (ssize_t)got : r;
}

/* After a crash: how many of a marked take's bytes left the socket. */
static uint64_t taken_marked(int fd, uint64_t word) {
	int off = -1;
	socklen_t len = sizeof(off);
	uint64_t n = TAKING(word);

	if (n == 0 || fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &len) < 0 ||
	    off < 0 || (uint64_t)off > n)
		return 0;
	return n - (uint64_t)off;
}

bool ledger_can_stage(const struct ledger *l, const struct ledger_conn *lc, size_t keep, size_t n) {
	return l->staged + n <= l->budget && keep + n <= l->rec->slot_size &&
	       (lc->slot >= 0 || l->n_free > 0);
}

ssize_t ledger_stage(struct ledger *l, struct ledger_conn *lc, int fd, size_t n) {
	uint64_t have = staged_len(l, lc);

	if (!ledger_can_stage(l, lc, have, n))
		return -ENOSPC;
	if (lc->slot < 0) {
		lc->slot = (int)l->free[--l->n_free];
		l->claimed[lc->slot] = 1;
		put(l->slots[lc->slot].ino, lc->ino);
	}
	char *at = l->data + (size_t)lc->slot * l->rec->slot_size + have;
	ssize_t k = take_marked(fd, at, n, &l->slots[lc->slot].state);
	if (k > 0)
		l->staged += (uint64_t)k;
	return k;
}

ssize_t ledger_take(struct ledger *l, int fd, void *buf, size_t n) {
	return take_marked(fd, buf, n, &l->rec->take);
}

void ledger_begin(struct ledger *l, struct ledger_conn *lc) {
	put(l->rec->writing, 0);
	put(l->rec->confirmed, 0);
	put(l->rec->take, 0);
	put(l->rec->carried, staged_len(l, lc));
	put(l->rec->ino, lc->ino);
}

/* The job's staged bytes are in the journal: they go (at the job's end, or in recovery). */
static bool carried_stored(const struct ledger_record *rec) {
	return rec->carried > 0 && rec->confirmed >= rec->carried;
}

void ledger_end(struct ledger *l, struct ledger_conn *lc) {
	if (lc->slot >= 0 && carried_stored(l->rec))
		slot_empty(l, (uint32_t)lc->slot);
	put(l->rec->ino, 0);
	/* The slot waits for the connection's next unfinished line only while it holds one. */
	if (lc->slot >= 0 && l->slots[lc->slot].state == 0)
		ledger_conn_done(l, lc);
}

void ledger_sending(struct ledger *l, struct ledger_conn *lc, uint64_t end) {
	/* The parity is the last character: 0 and 1 alternate along a connection's entries. */
	lc->tag[lc->tag_iov.iov_len - 1] = (char)('0' + (lc->entries & 1));
	memcpy(l->rec->tag, lc->tag, lc->tag_iov.iov_len + 1);
	put(l->rec->writing, end + 1);
}

void ledger_sent(struct ledger *l, struct ledger_conn *lc, bool sent) {
	if (sent) {
		put(l->rec->confirmed, l->rec->writing - 1);
		lc->entries++;
	}
	put(l->rec->writing, 0);
}

/* The job the crash cut short: what journald has is taken out of the socket. */
static ssize_t recover_job(struct ledger *l, int fd, ledger_lookup_fn lookup, void *data) {
	struct ledger_record *rec = l->rec;
	uint64_t taken = LEN(rec->take) + taken_marked(fd, rec->take);
	ssize_t k = 0, total = 0;

	put(rec->take, taken << 32);
	if (rec->writing) {
		int r = lookup(rec->tag, data);
		if (r < 0)
			log_warning_errno(
				r, "cannot tell whether journald got the entry being sent at "
				   "the crash; it is sent again and may be there twice");
		else
			log_info("after a crash: the entry being sent then is %sin the journal",
				 r > 0 ? "" : "not ");
		if (r > 0)
			put(rec->confirmed, rec->writing - 1);
		put(rec->writing, 0);
	}
	/* Positions count the staged bytes first, then the socket's. */
	uint64_t carried = rec->carried, confirmed = rec->confirmed;
	uint64_t want = confirmed > carried ? confirmed - carried : 0;
	while (taken + (uint64_t)total < want) {
		char buf[4096];
		uint64_t left = want - taken - (uint64_t)total;
		k = ledger_take(l, fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (k <= 0)
			break;
		total += k;
	}
	return k < 0 ? k : total;
}

ssize_t ledger_recover(struct ledger *l, ledger_find_fn find, ledger_lookup_fn lookup, void *data) {
	struct ledger_record *rec = l->rec;
	ssize_t k = 0;

	/* A take into a slot cut short: its length counts what left the socket. */
	for (uint32_t i = 0; i < rec->n_slots; i++) {
		struct ledger_slot *s = &l->slots[i];
		if (s->ino == 0 || TAKING(s->state) == 0)
			continue;
		int fd = find(s->ino, data);
		uint64_t got = taken_marked(fd, s->state);
		l->staged += got;
		put(s->state, (LEN(s->state) + got) << 32);
		if (fd >= 0)
			(void)peek_off(fd, -1);
	}
	if (rec->ino != 0) {
		int fd = find(rec->ino, data);
		if (fd >= 0) {
			k = recover_job(l, fd, lookup, data);
			(void)peek_off(fd, -1);
		}
		for (uint32_t i = 0; carried_stored(rec) && i < rec->n_slots; i++)
			if (l->slots[i].ino == rec->ino)
				slot_empty(l, i);
		put(rec->ino, 0);
	}
	/* Slots of connections that did not come back. */
	for (uint32_t i = 0; i < rec->n_slots; i++)
		if (l->slots[i].ino != 0 && !l->claimed[i])
			slot_release(l, i);
	free(l->index);
	l->index = NULL;
	l->n_index = 0;
	return k;
}
