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

/* The connections a budget allows: live ones, a third as many dead, and a compaction's copies. */
static unsigned conns_for(unsigned budget) {
	return budget > HOLDER_MSG_FDS ? (unsigned)((budget - HOLDER_MSG_FDS) * 2ull / 3) : 1;
}

/* The budget that lets n connections be held: the inverse of conns_for(). */
static unsigned budget_for(unsigned n) {
	return (unsigned)((n * 3ull + 1) / 2 + HOLDER_MSG_FDS);
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
	unsigned host = old_collector ? OLD_HOST_BUDGET : HOST_BUDGET;
	/* Beyond the host's share only when the operator asks for it (and not on the old
	 * collector). */
	if (asked && !old_collector && budget_for(asked) > host)
		host = budget_for(asked);
	out->budget = min_u(host, fds);
	out->max_connections = min_u(want, conns_for(out->budget));
	if (out->max_connections < want)
		out->limit = out->budget < host ? "LimitNOFILE="
			     : old_collector    ? "the kernel's old collector"
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
	if (!p->budget) {
		log_info("serving up to %u producers (LimitNOFILE=%lu)", p->max_connections,
			 nofile);
		return;
	}
	log_info("serving and keeping up to %u producers: at most %u fds in flight (the kernel "
		 "triggers its collector for the whole host above %u), set by %s; "
		 "LimitNOFILE=%lu",
		 p->max_connections, p->budget, TRIGGER, p->limit, nofile);
	if (asked && p->max_connections < asked)
		log_warning("--max-connections=%u lowered to %u by %s", asked, p->max_connections,
			    p->limit);
}
