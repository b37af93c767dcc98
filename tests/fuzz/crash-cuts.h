/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* For fuzz-crash.c: where a simulated kill -9 may land (crash-cuts.c). */

/*
 * While armed, every wrapped call of the relay is two cut points; at the
 * scheduled one, die() is called (it must not return) and cutting is
 * disarmed. die: NULL keeps the last one.
 */
void cuts_arm(bool on, void (*die)(void));
/* A kill at the n-th cut from now; 0: none. */
void cuts_schedule(unsigned n);

/* A cut point: the kill lands here if it is the scheduled one. */
void cut_point(const char *where);
/*
 * How many times the relay set SO_PEEK_OFF (or was cut trying): only that
 * changes a socket's peek offset from -1 (recv() moves it only when set).
 */
unsigned long cuts_peek_sets(void);
/* Where the kills of this input landed, for the report of a failure. */
const char *cuts_kills(void);
void cuts_reset(void);
