/* SPDX-License-Identifier: MIT */
#pragma once

#include "holder.h"

/*
 * At start: the kept connections come back with the listening sockets, in
 * the holders (and, from older versions, one by one) that the last mpsrd
 * left in the fd store. They go into a new holder and are served again.
 *
 * The old holders are only read (MSG_PEEK) and leave the fd store only once
 * the new holder holds every connection: a kill -9 at any moment leaves each
 * one in a holder of the fd store, and the next start takes each once (by
 * inode). When they cannot all be taken (out of fds, the holder refused),
 * the old holders stay where they are, whole, for the next start.
 */

struct restore;

int restore_new(struct restore **ret);

/* Closes every passed fd not taken yet. */
void restore_free(struct restore *rs);

/* Takes an fd passed at start under a name fdstore_is_kept() accepts; h learns its generation. */
int restore_take(struct restore *rs, struct holder *h, int fd, const char *name);

/*
 * After every passed fd is taken: opens h's first holder (unless it keeps
 * nothing), moves every kept connection into it and hands each to adopt,
 * which owns it from then on and returns 0, or a negative errno if it does
 * not serve it (then it has closed it). Returns how many were adopted, or a
 * negative errno when h's holder cannot be opened (nothing is touched then).
 */
int restore_run(struct restore *rs, struct holder *h, int (*adopt)(int fd, void *data), void *data);
