/* SPDX-License-Identifier: MIT */
/*
 * The ledgers of the layouts before this one, as an upgrade passes them from
 * the fd store, made ledgers of this layout, so that an upgrade loses no
 * staged line and settles the entry in doubt:
 *
 * - "mpsm" (no id, no framing state, 16-byte slots): its job, its slots and
 *   their bytes are copied into a new memfd (ledger_upgrade());
 * - "mps2" (no packet area): the same memfd, where the packet area is what
 *   follows its record in the record's page, which it never wrote
 *   (ledger_upgrade_v2()).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger-int.h"
#include "log.h"
#include "macro.h"

struct record_v1 {
	uint32_t magic;
	uint32_t gen;
	uint32_t n_slots;
	uint32_t slot_size;
	uint64_t ino;
	uint64_t carried;
	uint64_t take;
	uint64_t confirmed;
	uint64_t writing;
	char tag[64];
};

struct slot_v1 {
	uint64_t ino;
	uint64_t state;
};

static size_t size_v1(const struct record_v1 *h) {
	return PAGE + ledger_round_page((size_t)h->n_slots * sizeof(struct slot_v1)) +
	       (size_t)h->n_slots * h->slot_size;
}

/* The old record's job into the new one: the entry in doubt keeps its old tag. */
static void copy_record(struct ledger_record *to, const struct record_v1 *from) {
	to->gen = from->gen;
	to->ino = from->ino;
	to->carried = from->carried;
	to->take = from->take;
	to->confirmed = from->confirmed;
	to->writing = from->writing;
	/* The old layout kept no framing state: a line starts, after any entry. */
	to->last = from->confirmed > 0 ? 1 : 0;
	memcpy(to->tag, from->tag, sizeof(from->tag));
	to->tag[sizeof(from->tag) - 1] = '\0';
}

/* Writes the new memfd's record, slot table and slots' bytes from the old mapping. */
static int copy(int to, const struct record_v1 *old) {
	const struct slot_v1 *slots = (const struct slot_v1 *)((const char *)old + PAGE);
	const char *data = (const char *)slots +
			   ledger_round_page((size_t)old->n_slots * sizeof(struct slot_v1));
	struct ledger_record rec;
	size_t table = PAGE, bytes = PAGE + ledger_table_size(old->n_slots);

	if (pread(to, &rec, sizeof(rec), 0) != sizeof(rec))
		return -EIO;
	copy_record(&rec, old);
	if (pwrite(to, &rec, sizeof(rec), 0) != sizeof(rec))
		return -EIO;
	for (uint32_t i = 0; i < old->n_slots; i++) {
		size_t len = (size_t)(LEN(slots[i].state) + TAKING(slots[i].state));
		if (slots[i].ino == 0)
			continue;
		if (len > old->slot_size)
			return -EBADMSG;
		struct ledger_slot s = {.ino = slots[i].ino, .state = slots[i].state};
		off_t at = (off_t)(table + i * sizeof(s));
		if (pwrite(to, &s, sizeof(s), at) != sizeof(s))
			return -EIO;
		at = (off_t)(bytes + (size_t)i * old->slot_size);
		if (len > 0 &&
		    pwrite(to, data + (size_t)i * old->slot_size, len, at) != (ssize_t)len)
			return -EIO;
	}
	return 0;
}

int ledger_upgrade(int fd, int *ret_fd) {
	_cleanup_(closep) int to = -1;
	struct record_v1 head;
	struct stat st;
	int r;

	if (pread(fd, &head, sizeof(head), 0) != sizeof(head) || fstat(fd, &st) < 0)
		return -EBADMSG;
	if (head.magic != LEDGER_MAGIC_V1 || head.n_slots == 0 ||
	    head.n_slots > LEDGER_SLOTS_LIMIT || head.slot_size == 0 ||
	    head.slot_size % PAGE != 0 || head.slot_size > LEDGER_SLOT_SIZE_LIMIT ||
	    (uint64_t)st.st_size < size_v1(&head))
		return -EBADMSG;
	if ((r = ledger_create(head.n_slots, head.slot_size, &to)) < 0)
		return r;
	const struct record_v1 *old = mmap(NULL, size_v1(&head), PROT_READ, MAP_SHARED, fd, 0);
	if (old == MAP_FAILED)
		return -errno;
	r = copy(to, old);
	munmap((void *)old, size_v1(&head));
	if (r < 0)
		return r;
	log_info("the ledger of the previous layout is carried over");
	*ret_fd = take_fd(&to);
	return 0;
}

int ledger_upgrade_v2(int fd) {
	static const struct ledger_packet none = {0};
	uint32_t magic = LEDGER_MAGIC;
	struct stat st;

	/* Not a byte written past the end of a memfd that is too short to be a ledger. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)PAGE)
		return -EBADMSG;
	/* Zeroed first, then named: a kill in between leaves an "mps2" ledger to upgrade again. */
	if (pwrite(fd, &none, sizeof(none), offsetof(struct ledger_record, packet)) != sizeof(none))
		return -EIO;
	if (pwrite(fd, &magic, sizeof(magic), offsetof(struct ledger_record, magic)) !=
	    sizeof(magic))
		return -EIO;
	log_info("the ledger of the previous layout is carried over");
	return 0;
}
