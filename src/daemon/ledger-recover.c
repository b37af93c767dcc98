/* SPDX-License-Identifier: MIT */
/* Recovery (ledger.h, "after a crash"): what a kill -9 cut short, finished at start. */
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

/*
 * The framing state at the job's confirmed position, once the entry in doubt
 * (if any) is settled: after the last confirmed entry, whose parity the tag
 * (an entry in doubt) or rec->last tells; or the job's first one.
 */
static const struct ledger_frame *settled_frame(const struct ledger_record *rec, uint64_t doubt_end,
						unsigned doubt_parity) {
	if (doubt_end > 0 && rec->confirmed == doubt_end)
		return &rec->frame[doubt_parity];
	if (rec->confirmed == 0)
		return &rec->frame_begin;
	if (doubt_end > 0)
		return &rec->frame[!doubt_parity];
	assert(rec->last == 1 || rec->last == 2);
	return &rec->frame[(rec->last - 1) & 1];
}

/* The job the crash cut short: what journald has is taken out of the socket. */
static ssize_t recover_job(struct ledger *l, int fd, ledger_lookup_fn lookup, void *data,
			   struct ledger_frame *frame) {
	struct ledger_record *rec = l->rec;
	uint64_t taken = LEN(rec->take) + ledger_taken_marked(fd, rec->take);
	ssize_t k = 0, total = 0;

	uint64_t doubt_end = rec->writing ? rec->writing - 1 : 0;
	/* A kill before the job's first entry leaves the tag empty: no parity then. */
	size_t tag_len = strnlen(rec->tag, sizeof(rec->tag) - 1);
	unsigned doubt_parity = tag_len > 0 && rec->tag[tag_len - 1] == '1';

	publish(rec->take, taken << 32);
	if (rec->writing) {
		int r = lookup(rec->tag, data);
		if (r < 0)
			log_warning_errno(
				r, "cannot tell whether journald got the entry being sent at "
				   "the crash; it is sent again and may be there twice");
		else
			log_info("after a crash: the entry being sent then is %sin the journal",
				 r > 0 ? "" : "not ");
		/* As a confirm (ledger.h, step 3): a kill in recovery leaves last whole. */
		if (r > 0) {
			publish(rec->confirmed, rec->writing - 1);
			publish(rec->last, (uint64_t)doubt_parity + 1);
		}
		publish(rec->writing, 0);
	}
	*frame = *settled_frame(rec, doubt_end, doubt_parity);
	/* Positions count the staged bytes first, then the socket's. */
	uint64_t carried = rec->carried, confirmed = rec->confirmed;
	uint64_t want = confirmed > carried ? confirmed - carried : 0;
	/*
	 * Past the confirmed bytes, a job takes only the second byte of a "\n\0"
	 * or "\0\n" that framing dropped (ledger.h, step 4). Once it left the
	 * socket, the next byte starts a message: with the state at confirmed, a
	 * NUL or '\n' there would be read as that terminator's second byte, and
	 * the empty message it ends would be lost.
	 */
	if (taken > want && frame->ended)
		*frame = (struct ledger_frame){0};
	while (taken + (uint64_t)total < want) {
		char buf[4096];
		uint64_t left = want - taken - (uint64_t)total;
		k = ledger_take(l, fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (k <= 0)
			break;
		total += k;
	}
	return k < 0 ? k : total;
}

/*
 * Slots whose connection came back without an account (another transport,
 * no --fd-store any more, a failed fstat()), or did not come back: their
 * bytes are out of the socket, so those of a connection that is there are
 * handed to it before the slot is freed.
 */
static void release_unclaimed(struct ledger *l, const struct ledger_hooks *h) {
	for (uint32_t i = 0; i < l->rec->n_slots; i++) {
		struct ledger_slot *s = &l->slots[i];
		if (s->ino == 0 || l->claimed[i])
			continue;
		size_t len = (size_t)LEN(s->state);
		int r = -ENOENT; /* the connection did not come back */
		if (len > 0 && h->hand_over && h->find(s->ino, h->data) >= 0)
			r = h->hand_over(s->ino, l->data + (size_t)i * l->rec->slot_size, len,
					 h->data);
		if (len > 0 && r < 0)
			log_warning_errno(r, "%zu bytes of an unfinished line are lost", len);
		ledger_slot_release(l, i);
	}
}

ssize_t ledger_recover(struct ledger *l, ledger_find_fn find, ledger_lookup_fn lookup, void *data) {
	struct ledger_hooks h = {.find = find, .lookup = lookup, .data = data};

	return ledger_recover_with(l, &h);
}

ssize_t ledger_recover_with(struct ledger *l, const struct ledger_hooks *h) {
	ledger_find_fn find = h->find;
	ledger_lookup_fn lookup = h->lookup;
	void *data = h->data;
	struct ledger_record *rec = l->rec;
	ssize_t k = 0;

	/*
	 * A take into a slot cut short: its length counts what left the socket.
	 * A kill after a take recorded its length leaves the peek offset set
	 * (it is reset last): it is reset here on every connection with a slot.
	 */
	for (uint32_t i = 0; i < rec->n_slots; i++) {
		struct ledger_slot *s = &l->slots[i];
		if (s->ino == 0)
			continue;
		int fd = find(s->ino, data);
		if (TAKING(s->state) != 0) {
			uint64_t got = ledger_taken_marked(fd, s->state);
			l->staged += got;
			publish(s->state, (LEN(s->state) + got) << 32);
		}
		/* The job's connection: its take is read below, then its offset reset. */
		if (fd >= 0 && s->ino != rec->ino)
			(void)ledger_peek_off(fd, -1);
	}
	if (rec->ino != 0) {
		int fd = find(rec->ino, data);
		struct ledger_frame frame = rec->frame_begin;
		if (fd >= 0) {
			k = recover_job(l, fd, lookup, data, &frame);
			(void)ledger_peek_off(fd, -1);
		}
		/* As ledger_end() would have left the slot. */
		for (uint32_t i = 0; i < rec->n_slots; i++) {
			if (l->slots[i].ino != rec->ino)
				continue;
			if (ledger_carried_stored(rec))
				ledger_slot_empty(l, i);
			memcpy(&l->slots[i].frame, &frame, sizeof(frame));
		}
		publish(rec->ino, 0);
	}
	release_unclaimed(l, h);
	free(l->index);
	l->index = NULL;
	l->n_index = 0;
	return k;
}
