/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * The service manager's fd store (FDSTORE=1), as mpsrd uses it: the two ends
 * of each holder (holder.h) and, from older versions, single connections.
 * Without a manager (NOTIFY_SOCKET unset) nothing is kept, and that is no error.
 */

#define FDSTORE_HOLDER_PREFIX "holder-"
#define FDSTORE_CONN_PREFIX   "c-" /* one connection each: how connections were kept before */

/*
 * Hands fd to the manager under name, with FDPOLL=0: it keeps the fd whatever
 * happens to it. Returns 1 when sent, 0 without a manager, or a negative
 * errno. Sent is not kept: a manager whose store is disabled or full closes it.
 */
int fdstore_put(int fd, const char *name);

/* Asks the manager to close what it keeps under name. */
void fdstore_drop(const char *name);

/* "holder-GEN-END": the name of one end of holder generation gen. */
void fdstore_holder_name(char *buf, size_t size, unsigned gen, const char *end);

/* Whether an fd passed at start under this name is ours: a holder's end or a single connection. */
bool fdstore_is_kept(const char *name);

/* Whether name is a holder's end; *gen: its generation. */
bool fdstore_is_holder(const char *name, unsigned *gen);

/*
 * How many fds the manager keeps for mpsrd ($FDSTORE, which systemd 254 and
 * later set to FileDescriptorStoreMax= when it is not 0), or -1 when unknown.
 */
int fdstore_capacity(void);
