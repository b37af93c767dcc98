/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Inside the ledger: the in-memory side of a mapped ledger, and what its
 * parts (ledger-record.c, ledger-slots.c, ledger-take.c, ledger-recover.c)
 * share. Not for callers: they use ledger.h.
 */

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "ledger.h"

#define LEDGER_MAGIC 0x6d707333U /* "mps3": the layout of ledger.h */
#define PAGE         4096U

/* The record is the memfd's first page; the slot table follows it. */
_Static_assert(sizeof(struct ledger_record) <= PAGE, "the record outgrew its page");

struct ledger {
	int fd;
	struct ledger_record *rec; /* the memfd, shared: record page, slot table, slots' bytes */
	struct ledger_slot *slots;
	char *data;
	size_t map_size;
	size_t budget;
	uint32_t uid; /* this process's effective uid, recorded with each entry it sends */
	/* Bytes in all slots; the writer changes it, the loop may read it. */
	_Atomic uint64_t staged;
	uint32_t *free; /* free slots, a stack */
	unsigned n_free;
	uint8_t *claimed; /* by a connection (ledger_conn_init), by slot */
	/* At start: the slots in use, by inode, for the connections kept from before. */
	struct index_entry {
		uint64_t ino;
		uint32_t slot;
	} * index;
	size_t n_index;
	/* Connections given an account in this generation (ledger_conn_init(), the loop's thread).
	 */
	uint64_t n_conns;
	/*
	 * Accounts open now (ledger_conn_init() to ledger_conn_done()), at most
	 * n_slots: so every account finds a slot for its framing state. Given on
	 * the loop's thread only, given back on the writer's.
	 */
	_Atomic uint32_t accounts;
};

/*
 * A store into the record or a slot, which a kill -9 leaves in the order
 * the stores were made in: the compiler must keep that order, and a 64-bit
 * word is seen whole or not at all.
 */
#define publish(field, value) __atomic_store_n(&(field), (value), __ATOMIC_RELEASE)
/* A slot's state and the record's take: a length (high 32 bits) and a take under way (low). */
#define LEN(word)    ((word) >> 32)
#define TAKING(word) ((word)&0xffffffffU)

/* ledger-record.c: a new memfd holding an empty ledger of this layout. */
int ledger_create(unsigned n_slots, size_t slot_size, int *ret_fd);
size_t ledger_round_page(size_t n);
size_t ledger_table_size(uint32_t n_slots);

/*
 * ledger-upgrade.c: the ledger of the layout before (LEDGER_MAGIC_V1) in fd,
 * copied into a new memfd of this one. Returns 0 or a negative errno.
 */
#define LEDGER_MAGIC_V1 0x6d70736dU /* "mpsm" */
int ledger_upgrade(int fd, int *ret_fd);
/*
 * ledger-upgrade.c: the ledger of the layout just before (LEDGER_MAGIC_V2: no
 * packet area) in fd made one of this layout where it lies: the packet area
 * is what follows its record in the same page, which it never wrote.
 * Returns 0 or a negative errno.
 */
#define LEDGER_MAGIC_V2 0x6d707332U /* "mps2" */
int ledger_upgrade_v2(int fd);

/* The tag of a connection's or a packet socket's entries, parity 0 (ledger.h). */
#define LEDGER_TAG_FORMAT LEDGER_FIELD "%016" PRIx64 ".%" PRIu32 ".%" PRIu64 ".%" PRIu64 ".0"

/* ledger-record.c: a framing state into the ledger's form (NULL: a line starts), and back. */
void ledger_frame_save(struct ledger_frame *to, const struct frame_state *fs);
void ledger_frame_load(const struct ledger_frame *from, struct frame_state *fs);

/* ledger-slots.c */
bool ledger_slot_claim(struct ledger *l, struct ledger_conn *lc);
int ledger_index_slots(struct ledger *l);
void ledger_slot_empty(struct ledger *l, uint32_t i);
void ledger_slot_release(struct ledger *l, uint32_t i);
uint64_t ledger_staged_len(const struct ledger *l, const struct ledger_conn *lc);

/* ledger-take.c */
int ledger_peek_off(int fd, int off);
ssize_t ledger_take_marked(int fd, char *buf, size_t n, uint64_t *word);
uint64_t ledger_taken_marked(int fd, uint64_t word);
bool ledger_carried_stored(const struct ledger_record *rec);
