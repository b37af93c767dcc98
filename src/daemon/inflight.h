/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/*
 * What holding connections in flight (holder.h) may cost, decided once at
 * start from the limits mpsrd really has.
 *
 * - The kernel refuses a sender more fds in flight than its RLIMIT_NOFILE
 *   (ETOOMANYREFS). The holders' peak is the live connections, the dead ones
 *   awaiting compaction and a compaction's copies of the live ones.
 * - In-flight Unix sockets are counted for the whole host. Above 16,000 every
 *   AF_UNIX send on the host pays for the kernel's garbage collector. Before
 *   its 2024 rework (Linux 6.9; Debian 12's 6.1 from 6.1.141), every AF_UNIX
 *   close on the host runs a collection whenever anything at all is in
 *   flight, and sends above the trigger wait for a full one.
 *
 * So mpsrd keeps its own count below the trigger with room for others, far
 * below on the old collector, and accepts no more connections than that
 * count allows (with room for dead ones and a compaction).
 */

#define INFLIGHT_DEFAULT_CONNECTIONS 8192 /* with --fd-store */

struct inflight_plan {
	unsigned max_connections; /* accepting pauses at this many */
	unsigned budget;          /* fds in flight at most (holder_new()), 0 for none */
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
 * its cost to the host is accepted, within what nofile allows.
 */
void inflight_plan(unsigned asked, bool fd_store, unsigned long nofile, bool old_collector,
		   struct inflight_plan *out);

/* Logs the plan once, at start: how many, and why. */
void inflight_log(const struct inflight_plan *p, unsigned asked, unsigned long nofile,
		  bool old_collector, const char *release);
