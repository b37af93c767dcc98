/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/*
 * Keeping producers' connections across restarts and crashes of mpsrd,
 * without costing the service manager a thing per producer.
 *
 * An fd sent with SCM_RIGHTS stays open while it sits unread in a Unix
 * socket's queue. mpsrd keeps a holder, a datagram socket pair whose two
 * ends alone go to the service manager's fd store (FDSTORE=1); every
 * accepted connection is sent into the holder, up to 253 to a message. A
 * closed connection stays in the holder until a compaction moves the live
 * ones into a new holder and drops the old one. On the next start the
 * holders come back with the listening sockets, and their connections are
 * taken out, moved into a new holder and served again.
 */

struct fdstore;

/*
 * keep: whether to keep connections at all (--fd-store); without it, kept
 * ones passed at start are still served, and dropped from the fd store.
 */
int fdstore_new(bool keep, struct fdstore **ret);

/* Closes mpsrd's copies; the holder stays with the service manager. */
void fdstore_free(struct fdstore *fs);

/* Whether an fd passed at start under this name is ours: a holder or a kept connection. */
bool fdstore_is_kept(const char *name);

/* Takes an fd passed at start under a name fdstore_is_kept() accepts. */
int fdstore_take(struct fdstore *fs, int fd, const char *name);

/*
 * At start, after every passed fd is taken: moves every kept connection
 * into a new holder and hands it to adopt, which owns it from then on and
 * returns 0, or a negative errno if it does not serve it. Returns how many
 * were adopted, or a negative errno.
 */
int fdstore_restore(struct fdstore *fs, int (*adopt)(int fd, void *data), void *data);

/* A new connection: kept at the next fdstore_flush(), which must come before it is read. */
void fdstore_add(struct fdstore *fs, int fd);

/* Keeps the connections added since the last flush. Returns 0 or a negative errno. */
int fdstore_flush(struct fdstore *fs);

/* A connection ends: mpsrd's fd is about to be closed. */
void fdstore_remove(struct fdstore *fs, int fd);

struct fdstore_stats {
	unsigned live;        /* connections kept */
	unsigned held;        /* fds in the holder, live or not */
	unsigned generation;  /* of the holder; each compaction makes a new one */
	unsigned compactions; /* since start */
};

void fdstore_stats(const struct fdstore *fs, struct fdstore_stats *out);
