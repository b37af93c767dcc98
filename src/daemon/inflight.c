/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "holder.h"
#include "inflight.h"
#include "log.h"

#define OWN_FDS          256   /* mpsrd's own fds: listeners, journal, ledger, restore's copies */
#define NO_STORE_DEFAULT 16384 /* without --fd-store nothing is in flight */
#define TRIGGER          16000 /* the kernel's UNIX_INFLIGHT_TRIGGER_GC */
/* Room under the trigger for the rest of the host. */
#define HOST_BUDGET 12800
/* The old collector: each AF_UNIX close on the host walks what is in flight. */
#define OLD_HOST_BUDGET 2048

bool inflight_old_collector(const char *release, const char *version) {
	unsigned major = 0, minor = 0, patch = 0;

	if (sscanf(release, "%u.%u.%u", &major, &minor, &patch) < 2)
		return false; /* unknown: assume the newer */
	if (major != 6)
		return major < 6;
	if (minor >= 9)
		return false;
	if (minor != 1)
		return true;
	/* Debian: "6.1.0-37-amd64", and "... Debian 6.1.140-1 (...)" in the version. */
	const char *p = version ? strstr(version, " 6.1.") : NULL;
	unsigned deb = 0;
	if (p && sscanf(p + 5, "%u", &deb) == 1 && deb > patch)
		patch = deb;
	return patch < 141;
}

/* Connections within a peak: each twice at a compaction, and a quarter as many dead. */
static unsigned conns_for_peak(unsigned peak) {
	return peak > HOLDER_MSG_FDS ? (unsigned)((peak - HOLDER_MSG_FDS) * 4ull / 9) : 1;
}

/* Connections within a steady count: each once, and a quarter as many dead. */
static unsigned conns_for_steady(unsigned steady) {
	return steady > HOLDER_MSG_FDS ? (unsigned)((steady - HOLDER_MSG_FDS) * 4ull / 5) : 1;
}

/* The steady count that lets n connections be held: the inverse of conns_for_steady(). */
static unsigned steady_for(unsigned n) {
	return (unsigned)((n * 5ull + 3) / 4 + HOLDER_MSG_FDS);
}

static unsigned min_u(unsigned a, unsigned b) {
	return a < b ? a : b;
}

void inflight_plan(unsigned asked, bool fd_store, unsigned long nofile, bool old_collector,
		   struct inflight_plan *out) {
	unsigned fds = nofile > OWN_FDS + 1 ? (unsigned)min_u(nofile - OWN_FDS, 1u << 30) : 1;

	*out = (struct inflight_plan){.limit = "--max-connections"};
	if (!fd_store) {
		out->max_connections = asked ? asked : NO_STORE_DEFAULT;
		if (fds < out->max_connections)
			*out = (struct inflight_plan){.max_connections = fds,
						      .limit = "LimitNOFILE="};
		return;
	}
	unsigned want = asked ? asked : INFLIGHT_DEFAULT_CONNECTIONS;
	unsigned share = old_collector ? OLD_HOST_BUDGET : HOST_BUDGET;
	/* Beyond the host's share only when the operator asks for it (and not on the old
	 * collector). */
	if (asked && !old_collector && steady_for(asked) > share)
		share = steady_for(asked);
	out->peak = fds;
	out->steady = min_u(share, fds);
	unsigned by_peak = conns_for_peak(out->peak), by_steady = conns_for_steady(out->steady);
	out->max_connections = min_u(want, min_u(by_peak, by_steady));
	if (out->max_connections < want)
		out->limit = by_peak <= by_steady ? "LimitNOFILE="
			     : old_collector      ? "the kernel's old collector"
						  : "the host's share of fds in flight";
}

void inflight_log(const struct inflight_plan *p, unsigned asked, unsigned long nofile,
		  bool old_collector, const char *release) {
	if (old_collector)
		log_warning(
			"kernel %s has the old collector of in-flight Unix sockets (before Linux "
			"6.9, or Debian 6.1.141): every AF_UNIX close on the host scans what "
			"is in flight, so mpsrd keeps at most %u in flight",
			release, OLD_HOST_BUDGET);
	if (!p->peak) {
		log_info("serving up to %u producers (LimitNOFILE=%lu)", p->max_connections,
			 nofile);
		return;
	}
	log_info("serving and keeping up to %u producers, set by %s: at most %u fds in flight "
		 "between compactions (the kernel runs its collector for the whole host above "
		 "%u), %u at a compaction (LimitNOFILE=%lu)",
		 p->max_connections, p->limit, p->steady, TRIGGER, p->peak, nofile);
	if (asked && p->max_connections < asked)
		log_warning("--max-connections=%u lowered to %u by %s", asked, p->max_connections,
			    p->limit);
}
