/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the service manager is about to do with mpsrd, asked over the system
 * bus (org.freedesktop.systemd1, which lets any user read this).
 *
 * At stop, the unfinished lines mpsrd keeps (ledger.h) outlive it only if
 * the fd store does: across a restart, but not across a stop, after which
 * systemd closes what it keeps, producers' connections included.
 */

/*
 * Whether mpsrd's unit is stopping to start again (its job is a restart):
 * 1, 0, or a negative errno when it cannot be told (no bus, say).
 */
int manager_restarting(void);
