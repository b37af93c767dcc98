/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "server.h"

/*
 * What mpsrd tells the service manager while it runs: STATUS= with the
 * server's counts, once a second, and WATCHDOG=1 while the writer is not
 * stuck (a writer waiting for journald is not).
 */
struct status {
	uint64_t watchdog_usec; /* ping period, 0 when no watchdog is set */
	uint64_t next_ping;
	uint64_t next_report;
};

/* Starts with the watchdog period the service manager set, if any. */
void status_init(struct status *st);

/* Sends WATCHDOG=1 if a ping is due and the server is alive. */
void status_watchdog(struct status *st, struct server *s, uint64_t now);

/* Whether a second has passed since the last report; if so, the next one starts now. */
bool status_due(struct status *st, uint64_t now);

/* Sends STATUS= with the server's counts, after `state` ("" while serving). */
void status_report(struct server *s, const char *state);

/* When status_watchdog() or status_due() next has something to do. */
uint64_t status_next(const struct status *st);
