/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <sys/socket.h>

#include "unitkey.h"

/*
 * Whose unit a producer is, read once, for the process that connected, and
 * never for a later process that took its pid:
 * - with SO_PEERPIDFD (Linux 6.5+): /proc/PID/cgroup is read, and counts only
 *   if the pidfd says the process still lives afterwards (a live process
 *   keeps its pid). If it has exited, PIDFD_GET_INFO (6.13+; after exit,
 *   6.15+) gives its cgroup's id, which names a directory of the cgroup tree
 *   (its inode number) for as long as the unit is there.
 * - without (Debian 12's 6.1): /proc/PID/cgroup counts only if the process
 *   at that pid has SO_PEERCRED's uid and is still there after the read. A
 *   pid reused between connect() and accept() by a process of the same uid
 *   is the one case this cannot tell apart; it takes the whole pid space
 *   cycling while the connection waits in the backlog.
 * Where none of this gives a unit, the producer is keyed by its uid.
 */

struct peer_cache; /* cgroup ids seen, and their units */

int peer_cache_new(struct peer_cache **ret);
void peer_cache_free(struct peer_cache *c);

/*
 * For a connected socket (fd) whose SO_PEERCRED is cred. Returns 0 or -ENOENT
 * (no unit known). Its comm goes to comm, or "" where it cannot be vouched
 * for by the same checks (the process has exited).
 */
int peer_unit_of_socket(struct peer_cache *c, int fd, const struct ucred *cred, struct unit_key *k,
			char *comm, size_t comm_size);

/* For a datagram's sender (SCM_CREDENTIALS): /proc/PID/cgroup with the uid check. */
int peer_unit_of_pid(const struct ucred *cred, struct unit_key *k);

/* The cgroup v2 file system, where cgroup ids are looked up (tests point it elsewhere). */
#define PEER_CGROUP_ROOT "/sys/fs/cgroup"
