/* SPDX-License-Identifier: MIT */
/*
 * The shared record's format: the memfd's layout (record page, slot table,
 * slots' bytes), made new or adopted and checked against the memfd's size.
 */
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

size_t ledger_round_page(size_t n) {
	return (n + PAGE - 1) / PAGE * PAGE;
}

size_t ledger_table_size(uint32_t n_slots) {
	return ledger_round_page((size_t)n_slots * sizeof(struct ledger_slot));
}

/*
 * Whether the record describes a ledger that fd can hold: a memfd passed back
 * by the fd store is trusted no further than its size (a mapping past its end
 * would SIGBUS). Sets *size to the bytes to map.
 */
static int check_head(int fd, const struct ledger_record *head, size_t *size) {
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (head->magic != LEDGER_MAGIC || head->n_slots == 0 ||
	    head->n_slots > LEDGER_SLOTS_LIMIT || head->slot_size == 0 ||
	    head->slot_size % PAGE != 0 || head->slot_size > LEDGER_SLOT_SIZE_LIMIT)
		return -EBADMSG;
	/* Within the limits above, this cannot overflow 64 bits. */
	uint64_t need =
		PAGE + ledger_table_size(head->n_slots) + (uint64_t)head->n_slots * head->slot_size;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < need || need > SIZE_MAX)
		return -EBADMSG;
	*size = (size_t)need;
	return 0;
}

/* Every slot's length and take within its size: recovery and the reader trust them. */
static int check_slots(const struct ledger *l) {
	for (uint32_t i = 0; i < l->rec->n_slots; i++) {
		uint64_t state = l->slots[i].state;
		if (LEN(state) + TAKING(state) > l->rec->slot_size)
			return -EBADMSG;
	}
	return 0;
}

/* Maps what fd holds and sets up the in-memory side. */
static int map(int fd, size_t budget, struct ledger **ret) {
	struct ledger_record head;
	struct ledger *l;
	size_t size = 0;
	int r;

	if (pread(fd, &head, sizeof(head), 0) != sizeof(head))
		return -EBADMSG;
	if ((r = check_head(fd, &head, &size)) < 0)
		return r;
	if (!(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	l->map_size = size;
	l->uid = (uint32_t)geteuid();
	l->rec = mmap(NULL, l->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	l->free = calloc(head.n_slots + 1, sizeof(*l->free));
	l->claimed = calloc(head.n_slots + 1, 1);
	if (l->rec == MAP_FAILED || !l->free || !l->claimed) {
		r = l->rec == MAP_FAILED ? -errno : -ENOMEM;
		if (l->rec != MAP_FAILED)
			munmap(l->rec, l->map_size);
		free(l->free);
		free(l->claimed);
		free(l);
		return r;
	}
	l->slots = (struct ledger_slot *)((char *)l->rec + PAGE);
	l->data = (char *)l->slots + ledger_table_size(head.n_slots);
	l->fd = fd;
	l->budget = budget;
	if ((r = check_slots(l)) < 0) {
		l->fd = -1; /* the caller's still */
		ledger_free(l);
		return r;
	}
	/* Slots are taken from the top of the stack: low numbers first. */
	for (uint32_t i = head.n_slots; i-- > 0;) {
		if (l->slots[i].ino == 0)
			l->free[l->n_free++] = i;
		l->staged += LEN(l->slots[i].state);
	}
	if ((r = ledger_index_slots(l)) < 0) {
		l->fd = -1; /* the caller's still */
		ledger_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

int ledger_create(unsigned n_slots, size_t slot_size, int *ret_fd) {
	_cleanup_(closep) int fd = memfd_create("mpsr-ledger", MFD_CLOEXEC);
	struct ledger_record head = {
		.magic = LEDGER_MAGIC,
		.gen = 1,
		.uid = (uint32_t)geteuid(),
		.n_slots = n_slots,
		.slot_size = (uint32_t)ledger_round_page(slot_size),
	};

	if (fd < 0)
		return -errno;
	if (getrandom(&head.id, sizeof(head.id), 0) != sizeof(head.id))
		return -EIO;
	if (n_slots == 0 || n_slots > LEDGER_SLOTS_LIMIT || head.slot_size == 0 ||
	    head.slot_size > LEDGER_SLOT_SIZE_LIMIT)
		return -EINVAL;
	/* Sparse: a page costs memory only once a line is staged in it. */
	if (ftruncate(fd, (off_t)(PAGE + ledger_table_size(n_slots) +
				  (size_t)n_slots * head.slot_size)) < 0)
		return -errno;
	if (pwrite(fd, &head, sizeof(head), 0) != sizeof(head))
		return -EIO;
	*ret_fd = take_fd(&fd);
	return 0;
}

int ledger_new(unsigned n_slots, size_t slot_size, size_t budget, struct ledger **ret) {
	_cleanup_(closep) int fd = -1;
	int r;

	if ((r = ledger_create(n_slots, slot_size, &fd)) < 0 || (r = map(fd, budget, ret)) < 0)
		return r;
	take_fd(&fd);
	return 0;
}

int ledger_adopt(int fd, size_t budget, struct ledger **ret) {
	uint32_t magic = 0;
	int r;

	if (pread(fd, &magic, sizeof(magic), 0) != sizeof(magic))
		magic = 0;
	/* A ledger of an older layout: "mpsm" moves to a new memfd, "mps2" is upgraded in place. */
	if (magic == LEDGER_MAGIC_V1) {
		_cleanup_(closep) int fd2 = -1;
		if ((r = ledger_upgrade(fd, &fd2)) < 0 || (r = map(fd2, budget, ret)) < 0)
			return r;
		take_fd(&fd2);
		close(fd);
	} else if ((magic == LEDGER_MAGIC_V2 && (r = ledger_upgrade_v2(fd)) < 0) ||
		   (r = map(fd, budget, ret)) < 0) {
		return r; /* fd stays the caller's */
	}
	/* The record's uid stays the sender's of the entry in doubt until this one sends. */
	(*ret)->rec->gen++;
	return 0;
}

void ledger_free(struct ledger *l) {
	if (!l)
		return;
	munmap(l->rec, l->map_size);
	if (l->fd >= 0)
		close(l->fd);
	free(l->free);
	free(l->claimed);
	free(l->index);
	free(l);
}

int ledger_fd(const struct ledger *l) {
	return l->fd;
}

struct ledger_record *ledger_record(struct ledger *l) {
	return l->rec;
}

uint64_t ledger_staged_total(const struct ledger *l) {
	return l->staged;
}

size_t ledger_slot_size(size_t line_max) {
	return line_max + FRAME_SLACK;
}

void ledger_frame_save(struct ledger_frame *to, const struct frame_state *fs) {
	struct ledger_frame f = {0};

	if (fs && (fs->mid_line || fs->ended || fs->counted)) {
		f = (struct ledger_frame){
			.set = 1,
			.mid_line = fs->mid_line,
			.ended = fs->ended,
			.ident_len = fs->ident_len,
			.pid_len = fs->pid_len,
			.priority = (int8_t)fs->priority,
			.facility = (int8_t)fs->facility,
			.counted = fs->counted,
		};
		memcpy(f.ident, fs->ident, sizeof(f.ident));
		memcpy(f.pid, fs->pid, sizeof(f.pid));
	}
	/* Only the writer reads it before a crash; recovery reads it after: no order within. */
	memcpy(to, &f, sizeof(f));
}

void ledger_frame_load(const struct ledger_frame *from, struct frame_state *fs) {
	if (!from->set)
		return;
	fs->mid_line = from->mid_line;
	fs->ended = from->ended;
	fs->priority = from->priority;
	fs->facility = from->facility;
	fs->counted = (size_t)from->counted;
	fs->ident_len = from->ident_len <= sizeof(fs->ident) ? from->ident_len : 0;
	fs->pid_len = from->pid_len <= sizeof(fs->pid) ? from->pid_len : 0;
	memcpy(fs->ident, from->ident, sizeof(fs->ident));
	memcpy(fs->pid, from->pid, sizeof(fs->pid));
}
