/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * Exactly once across a crash: what the writer has sent to journald and
 * what it has taken from the producer's socket, kept in a memfd that the
 * service manager's fd store holds, so that it outlives a kill -9.
 *
 * A stream producer's bytes leave its socket only after journald has the
 * entries made of them (stream.c). Two steps can be cut by a crash:
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
 * One writer thread uses it, one job (one connection) at a time.
 */

#define LEDGER_NAME    "ledger"       /* its FDNAME= in the fd store */
#define LEDGER_FIELD   "MPSR_LEDGER=" /* the tag's field */
#define LEDGER_TAG_MAX 64

/* The record as it lies in shared memory: written by the writer, read at recovery. */
struct ledger_record {
	uint32_t magic;
	uint32_t gen; /* of the process using it; one more at each start */
	/* The connection whose job is under way (its socket's inode), or 0. */
	uint64_t ino;
	/*
	 * Bytes taken from its socket in this job (high 32 bits), and a take of
	 * this many bytes under way (low 32 bits), in one word: a crash sees both
	 * or neither change.
	 */
	uint64_t take;
	uint64_t confirmed;       /* journald has the entries made of the first this many bytes */
	uint64_t writing;         /* an entry is being sent: the bytes it ends at, plus one; or 0 */
	char tag[LEDGER_TAG_MAX]; /* the entry being sent: LEDGER_FIELD "GEN.INODE.PARITY" */
};

struct ledger;

/* A ledger of its own (a new memfd), or one kept from before (fd, taken); the generation goes up.
 */
int ledger_new(struct ledger **ret);
int ledger_adopt(int fd, struct ledger **ret);
void ledger_free(struct ledger *l);

/* The memfd, to keep in the fd store. */
int ledger_fd(const struct ledger *l);
struct ledger_record *ledger_record(struct ledger *l);

/* A connection's side: its inode, its count of entries, and its tag. */
struct ledger_conn {
	uint64_t ino;
	uint64_t entries;
	char tag[LEDGER_TAG_MAX];
	struct iovec tag_iov; /* the next entry's tag field */
};

/* Returns 0, or a negative errno when fd cannot be told apart (then it goes without a ledger). */
int ledger_conn_init(struct ledger_conn *lc, const struct ledger *l, int fd);

/* A job on lc's connection starts; its socket's head is where counting starts. */
void ledger_begin(struct ledger *l, struct ledger_conn *lc);
/* The job is over: what it took is counted out of the socket. */
void ledger_end(struct ledger *l);

/* An entry made of the job's socket bytes up to end (from the job's start) is about to be sent. */
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
int ledger_lookup_journal(const char *tag, void *data);

/*
 * At start, before any connection is read: finishes what a crash cut short.
 * fd: the connection named in the record (find it by ledger_record()->ino),
 * or -1 if it is gone. lookup: whether journald has an entry (normally
 * ledger_lookup_journal). Returns the bytes taken out of fd (what journald
 * already has), or a negative errno.
 */
ssize_t ledger_recover(struct ledger *l, int fd, ledger_lookup_fn lookup, void *data);
