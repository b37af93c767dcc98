/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "status.h"

#define REPORT_USEC      1000000 /* STATUS= and housekeeping, once a second */
#define WAIT_REPORT_USEC 1000000 /* journald kept us waiting this long: say so in STATUS= */

void status_init(struct status *st) {
	*st = (struct status){0};
	if (sd_watchdog_enabled(0, &st->watchdog_usec) <= 0)
		st->watchdog_usec = 0;
}

void status_watchdog(struct status *st, struct server *s, uint64_t now) {
	if (!st->watchdog_usec || now < st->next_ping)
		return;
	if (!server_alive(s, now, st->watchdog_usec / 2))
		return;
	sd_notify(0, "WATCHDOG=1");
	st->next_ping = now + st->watchdog_usec / 2;
}

bool status_due(struct status *st, uint64_t now) {
	if (now < st->next_report)
		return false;
	st->next_report = now + REPORT_USEC;
	return true;
}

void status_report(struct server *s, const char *state) {
	struct server_stats st;
	char wait[128] = "";

	server_stats(s, now_usec(), &st);
	if (st.journal_wait_usec >= WAIT_REPORT_USEC)
		snprintf(wait, sizeof(wait), "waiting for journald for %" PRIu64 " s; ",
			 st.journal_wait_usec / 1000000);
	char kept[96] = "";
	if (st.slowed > 0)
		snprintf(wait + strlen(wait), sizeof(wait) - strlen(wait),
			 st.slowed == 1 ? "%u unit over its limit, read more slowly; "
					: "%u units over their limit, read more slowly; ",
			 st.slowed);
	if (st.unfinished > 0)
		snprintf(kept, sizeof(kept), "; %" PRIu64 " bytes of unfinished lines kept",
			 st.unfinished);
	const struct relay_stats *rs = &st.relay;
	sd_notifyf(0,
		   "STATUS=%s%s%u producers; %" PRIu64 " messages, %" PRIu64
		   " bytes relayed; %" PRIu64 " split, %" PRIu64 " unterminated, %" PRIu64
		   " fields refused, %" PRIu64 " journal retries, %" PRIu64 " dropped, %" PRIu64
		   " datagrams over their unit's limit%s",
		   state, wait, st.connections, rs->messages, rs->bytes, rs->split,
		   rs->unterminated, rs->refused_fields, rs->journal_errors, rs->dropped,
		   rs->over_limit, kept);
}

uint64_t status_next(const struct status *st) {
	if (st->watchdog_usec && st->next_ping < st->next_report)
		return st->next_ping;
	return st->next_report;
}
