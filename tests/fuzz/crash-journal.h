/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * For fuzz-crash.c: the journal the relay writes to, recorded, with what the
 * entries of one producer must be.
 */

#define DEFAULT_PRIORITY 6

void journal_reset(void);
/* journald refuses the next n entries. */
void journal_refuse(unsigned n);
size_t journal_count(void);
unsigned journal_refused(void); /* entries refused so far */

/* A ledger_lookup_fn: whether the recorded journal's last entry of tag's connection is tag. */
int journal_lookup(const char *tag, void *data);

/* What one producer wrote, and what the relay ran with. */
struct expect_stream {
	const uint8_t *bytes;
	size_t len;
	bool syslog;
	uint64_t ino;                    /* its connection, as its entries' MPSR_LEDGER names it */
	size_t line_max_min, budget_min; /* the least used; budget_min 0: any =budget */
	/*
	 * The ledger's slot size: after --line-max was raised, an unfinished
	 * line longer than a slot is written as it stands, =budget (mpsrd(8)).
	 */
	size_t slot_size;
	const size_t *line_maxes; /* every line_max a start used */
	size_t n_line_maxes;
	const size_t *ends; /* where each of its writes ended: a cut at the budget falls on one */
	size_t n_ends;
};

/* Checks the producer's entries (see fuzz-crash.c); aborts when they are wrong. */
void journal_expect(const struct expect_stream *w);
/* Every entry recorded belongs to a producer checked so far. */
void journal_check_all_claimed(void);
