/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * Exactly once across a crash, and unfinished lines kept whole: what the
 * writer has sent to journald, what it has taken from each producer's
 * socket, and the unfinished lines it took out, kept in a memfd that the
 * service manager's fd store holds, so that they outlive a kill -9.
 *
 * A stream producer's bytes leave its socket only after journald has the
 * entries made of them (stream.c), or into this memfd. Two steps can be cut
 * by a crash:
 *
 *  - Taking bytes out. Before recv(n), the socket's SO_PEEK_OFF is set to n;
 *    the kernel lowers it by what each recv() takes, in the same step. So
 *    after a crash the socket itself says how much of the n left it.
 *  - Sending an entry. Whether journald got a datagram that was being sent
 *    when the process died cannot be told from this side. Every entry
 *    carries MPSR_LEDGER=GEN.INODE.PARITY (the start's generation, the
 *    connection's socket inode, and the parity of its count of entries).
 *    After a crash mpsrd waits until journald has processed all it was
 *    sent, then reads the connection's last entry of that generation back:
 *    if its parity is the one in doubt, the entry is there.
 *
 * An unfinished line that is all a producer has written is taken out of its
 * socket into a slot of the memfd (staged), up to a budget of bytes for all
 * producers; the next job reads it in front of what the socket holds.
 *
 * One writer thread uses it, one job (one connection) at a time; the rest
 * runs at start, before that thread gets any job.
 */

#define LEDGER_NAME    "ledger"       /* its FDNAME= in the fd store */
#define LEDGER_FIELD   "MPSR_LEDGER=" /* the tag's field */
#define LEDGER_TAG_MAX 64

/* The record as it lies in shared memory: written by the writer, read at recovery. */
struct ledger_record {
	uint32_t magic;
	uint32_t gen; /* of the process using it; one more at each start */
	uint32_t n_slots;
	uint32_t slot_size; /* bytes of an unfinished line a slot holds */
	/* The connection whose job is under way (its socket's inode), or 0. */
	uint64_t ino;
	uint64_t carried; /* its staged bytes when the job started: positions count them first */
	/*
	 * Bytes taken from its socket in this job (high 32 bits), and a take of
	 * this many bytes under way (low 32 bits), in one word: a crash sees both
	 * or neither change.
	 */
	uint64_t take;
	uint64_t confirmed; /* journald has the entries made of the first this many bytes */
	uint64_t writing;   /* an entry is being sent: the position it ends at, plus one; or 0 */
	char tag[LEDGER_TAG_MAX]; /* the entry being sent: LEDGER_FIELD "GEN.INODE.PARITY" */
};

/* A slot: whose unfinished line it holds, and how long it is (high 32 bits) with a take under way.
 */
struct ledger_slot {
	uint64_t ino;
	uint64_t state;
};

struct ledger;

/*
 * A ledger of its own (a new memfd) with n_slots slots of slot_size bytes,
 * or one kept from before (fd, taken; its slots stay as they were, and the
 * generation goes up). budget: the most bytes staged in all slots at once.
 */
int ledger_new(unsigned n_slots, size_t slot_size, size_t budget, struct ledger **ret);
int ledger_adopt(int fd, size_t budget, struct ledger **ret);
void ledger_free(struct ledger *l);

/* The memfd, to keep in the fd store. */
int ledger_fd(const struct ledger *l);
struct ledger_record *ledger_record(struct ledger *l);
uint64_t ledger_staged_total(const struct ledger *l);

/* A connection's side: its inode, its count of entries, its tag, its slot. */
struct ledger_conn {
	uint64_t ino;
	uint64_t entries;
	int slot; /* -1: nothing staged */
	char tag[LEDGER_TAG_MAX];
	struct iovec tag_iov; /* the next entry's tag field */
};

/*
 * Returns 0, or a negative errno when fd cannot be told apart (then it goes
 * without a ledger). A connection kept from before gets back its slot.
 */
int ledger_conn_init(struct ledger_conn *lc, struct ledger *l, int fd);

/* The connection is over: its slot is free again. */
void ledger_conn_done(struct ledger *l, struct ledger_conn *lc);

/* The unfinished line staged for lc: its length, and its bytes in *data. */
size_t ledger_staged(struct ledger *l, const struct ledger_conn *lc, char **data);

/* Whether n more bytes fit, after `keep` bytes of what lc has staged now. */
bool ledger_can_stage(const struct ledger *l, const struct ledger_conn *lc, size_t keep, size_t n);

/*
 * Takes the next n bytes out of fd and appends them to lc's staged line
 * (fd's bytes go there directly). Returns the bytes staged, -ENOSPC when the
 * budget or the slot has no room for them (nothing was taken), or another
 * negative errno.
 */
ssize_t ledger_stage(struct ledger *l, struct ledger_conn *lc, int fd, size_t n);

/* A job on lc's connection starts; positions count its staged bytes, then its socket's. */
void ledger_begin(struct ledger *l, struct ledger_conn *lc);
/* The job is over, all it stored taken out: a staged line now in the journal is dropped. */
void ledger_end(struct ledger *l, struct ledger_conn *lc);

/* An entry made of the job's bytes up to position end is about to be sent. */
void ledger_sending(struct ledger *l, struct ledger_conn *lc, uint64_t end);
/* It was sent (sent: journald has it) or refused. */
void ledger_sent(struct ledger *l, struct ledger_conn *lc, bool sent);

/*
 * Takes n bytes out of fd, into buf, marked so that a crash midway shows how
 * many left. Returns the bytes taken, or a negative errno.
 */
ssize_t ledger_take(struct ledger *l, int fd, void *buf, size_t n);

/* Whether journald has an entry tagged tag: 1, 0, or a negative errno when it cannot be told. */
typedef int (*ledger_lookup_fn)(const char *tag, void *data);

/* Finds a kept stream connection by its socket's inode: its fd, or -1. */
typedef int (*ledger_find_fn)(uint64_t ino, void *data);

/*
 * At start, once the kept connections are back and before any is read:
 * finishes what a crash cut short (the job under way, a take into a slot),
 * and frees the slots of connections that did not come back. Returns the
 * bytes taken out of the job's socket because journald had them already,
 * or a negative errno.
 */
ssize_t ledger_recover(struct ledger *l, ledger_find_fn find, ledger_lookup_fn lookup, void *data);
