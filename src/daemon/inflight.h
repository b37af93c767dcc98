/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/*
 * What holding connections in flight (holder.h) may cost, decided once at
 * start from the limits mpsrd really has.
 *
 * - The kernel refuses a sender more fds in flight than its RLIMIT_NOFILE
 *   (ETOOMANYREFS): a hard limit on the holder's peak, which is a
 *   compaction's: the live connections twice (in the old holder and in the
 *   new one) and the dead ones awaiting it.
 * - In-flight Unix sockets are counted for the whole host. Above 16,000 every
 *   AF_UNIX send on the host pays for the kernel's garbage collector. Before
 *   its 2024 rework (Linux 6.9; Debian 12's 6.1 from 6.1.141), every AF_UNIX
 *   close on the host runs a collection whenever anything at all is in
 *   flight, and sends above the trigger wait for a full one. A soft limit on
 *   what the holder keeps between compactions: below the trigger with room
 *   for others, far below on the old collector.
 *
 * Dead connections may reach a quarter of the live ones before a compaction
 * is forced; mpsrd accepts no more connections than both limits allow so.
 */

#define INFLIGHT_DEFAULT_CONNECTIONS 8192 /* with --fd-store */

struct inflight_plan {
	unsigned max_connections; /* accepting pauses at this many */
	unsigned peak;            /* fds in flight at most, at any moment (0: none at all) */
	unsigned steady;          /* fds in flight at most between compactions */
	const char *limit;        /* what set max_connections */
};

/*
 * Whether this kernel has the collector before the 2024 rework. release,
 * version: uname -r and -v (Debian names its 6.1 kernels 6.1.0-ABI and says
 * the version in -v).
 */
bool inflight_old_collector(const char *release, const char *version);

/*
 * asked: --max-connections, 0 when not given. nofile: RLIMIT_NOFILE (soft,
 * after raising it). More than the default, asked is the operator's choice:
 * its cost to the host is accepted, within what nofile allows (not on the old
 * collector).
 */
void inflight_plan(unsigned asked, bool fd_store, unsigned long nofile, bool old_collector,
		   struct inflight_plan *out);

/* Logs the plan once, at start: how many, and why. */
void inflight_log(const struct inflight_plan *p, unsigned asked, unsigned long nofile,
		  bool old_collector, const char *release);
