/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/*
 * Keeping producers' connections across restarts and crashes of mpsrd: each
 * one is handed to the service manager's fd store (FDSTORE=1) under a name
 * of its own, and comes back with the listening sockets on the next start.
 */

#define FDSTORE_NAME_MAX 32

/* Keeps fd; writes the name it is kept under to name. Returns 0 or a negative errno. */
int fdstore_add(int fd, char name[FDSTORE_NAME_MAX]);

/* Forgets the fd kept under name (a closed connection). */
void fdstore_remove(const char *name);

/* Whether an fd passed at start under this name is a kept connection. */
bool fdstore_is_conn(const char *name);
