/* SPDX-License-Identifier: MIT */
/*
 * The take protocol (ledger.h, steps 1 to 6): a job's record, and bytes taken
 * out of a socket under an SO_PEEK_OFF mark.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "journal.h"
#include "ledger-int.h"
#include "log.h"
#include "macro.h"

int ledger_peek_off(int fd, int off) {
	return setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0 ? -errno : 0;
}

/*
 * recv() of n bytes into buf, with *word = (BASE << 32 | n) while it runs and
 * (BASE + taken) << 32 after: SO_PEEK_OFF, set to n, counts down in the same
 * step as each recv(), so after a crash the socket says how far it got.
 */
ssize_t ledger_take_marked(int fd, char *buf, size_t n, uint64_t *word) {
	uint64_t base = LEN(*word);
	size_t got = 0;
	int r;

	if (n == 0)
		return 0;
	publish(*word, base << 32 | (uint32_t)n);
	if ((r = ledger_peek_off(fd, (int)n)) < 0)
		goto out;
	while (got < n) {
		ssize_t k = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)k;
	}
out:
	publish(*word, (base + got) << 32);
	/* A peek offset left set would move every later MSG_PEEK read. */
	(void)ledger_peek_off(fd, -1);
	return got > 0 || r == 0 ? (ssize_t)got : r;
}

/* After a crash: how many of a marked take's bytes left the socket. */
uint64_t ledger_taken_marked(int fd, uint64_t word) {
	int off = -1;
	socklen_t len = sizeof(off);
	uint64_t n = TAKING(word);

	if (n == 0 || fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &len) < 0 ||
	    off < 0 || (uint64_t)off > n)
		return 0;
	return n - (uint64_t)off;
}

ssize_t ledger_take(struct ledger *l, int fd, void *buf, size_t n) {
	return ledger_take_marked(fd, buf, n, &l->rec->take);
}

void ledger_begin(struct ledger *l, struct ledger_conn *lc, struct frame_state *fs) {
	struct ledger_record *rec = l->rec;

	/* One writer: no job is under way, and no packet (ledger-packet.c) is in doubt. */
	assert(rec->ino == 0 && rec->packet.ino == 0);
	/* A kept connection goes on with the framing state the last process left. */
	if (!lc->resumed && lc->slot >= 0 && fs)
		ledger_frame_load(&l->slots[lc->slot].frame, fs);
	lc->resumed = true;
	/* A slot for the state this job ends in: every account finds one (ledger_conn_init()). */
	bool slot = ledger_slot_claim(l, lc);
	assert(slot);
	(void)slot;
	publish(rec->writing, 0);
	publish(rec->confirmed, 0);
	publish(rec->last, 0);
	publish(rec->take, 0);
	publish(rec->carried, ledger_staged_len(l, lc));
	ledger_frame_save(&rec->frame_begin, fs);
	publish(rec->ino, lc->ino);
}

/* The job's staged bytes are in the journal: they go (at the job's end, or in recovery). */
bool ledger_carried_stored(const struct ledger_record *rec) {
	return rec->carried > 0 && rec->confirmed >= rec->carried;
}

void ledger_end(struct ledger *l, struct ledger_conn *lc, const struct frame_state *fs) {
	struct ledger_slot *slot = lc->slot >= 0 ? &l->slots[lc->slot] : NULL;

	assert(l->rec->ino == lc->ino && l->rec->writing == 0);
	if (slot && ledger_carried_stored(l->rec))
		ledger_slot_empty(l, (uint32_t)lc->slot);
	/* A kill while this is copied: recovery copies the record's again. */
	if (slot)
		ledger_frame_save(&slot->frame, fs);
	publish(l->rec->ino, 0);
	/* The slot waits only while it holds an unfinished line or a state to go on from. */
	if (slot && slot->state == 0 && !slot->frame.set) {
		ledger_slot_release(l, (uint32_t)lc->slot);
		lc->slot = -1;
	}
}

void ledger_sending(struct ledger *l, struct ledger_conn *lc, uint64_t end,
		    const struct frame_state *after) {
	struct ledger_record *rec = l->rec;
	unsigned parity = lc->entries & 1;

	assert(rec->ino == lc->ino && rec->writing == 0 && end > rec->confirmed);
	/* The other parity's state is the last confirmed one's: it stays whole. */
	ledger_frame_save(&rec->frame[parity], after);
	/* The parity is the last character: 0 and 1 alternate along a connection's entries. */
	lc->tag[lc->tag_iov.iov_len - 1] = (char)('0' + parity);
	memcpy(rec->tag, lc->tag, lc->tag_iov.iov_len + 1);
	rec->uid = l->uid;
	publish(rec->writing, end + 1);
}

void ledger_sent(struct ledger *l, struct ledger_conn *lc, bool sent) {
	struct ledger_record *rec = l->rec;

	assert(rec->writing != 0);
	if (sent) {
		publish(rec->confirmed, rec->writing - 1);
		publish(rec->last, (uint64_t)(lc->entries & 1) + 1);
		lc->entries++;
	}
	/* Until this store, recovery decides by the tag: confirmed and last need not agree. */
	publish(rec->writing, 0);
}
