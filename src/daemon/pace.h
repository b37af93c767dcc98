/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * How much of journald's queue is ours. journald's native socket is one FIFO
 * for every sender, up to net.unix.max_dgram_qlen datagrams (512 on a systemd
 * host), and sd_journal_sendv() waits only once it is full. A writer faster
 * than journald keeps it full: every entry then waits behind 512 others (some
 * 20 ms of journald's time on 2 cores), however soon the fair share let it go,
 * and so does every other program's entry.
 *
 * A pace keeps it short. After every `every` entries the writer sends an empty
 * datagram of its own (journald takes it and ignores it) through a socket of
 * the smallest send buffer, which holds a few of them (six on Linux 6.x: 768
 * bytes each of 4,608). The kernel holds the next one back until journald has
 * taken an earlier one, and with it every entry sent before it: at most about
 * seven times `every` entries of ours wait in journald's queue.
 *
 * Nothing depends on it: without journald's socket, or on any error, it does
 * nothing and tries again at the next mark. One per writing thread.
 */

#define PACE_ENTRIES 16 /* mpsrd's `every`: about 110 entries queued, 4 ms of journald's time */

struct pace {
	const char *path; /* journald's native socket */
	unsigned every;   /* entries between marks; 0: no pace */
	unsigned count;   /* entries since the last mark */
	int fd;           /* connected to path, or -1 */
};

void pace_init(struct pace *p, const char *path, unsigned every);
void pace_done(struct pace *p);

/*
 * Counts an entry written to journald; every `every` entries, sends a mark,
 * which waits while journald has not taken the marks before it.
 */
void pace_entry(struct pace *p);
