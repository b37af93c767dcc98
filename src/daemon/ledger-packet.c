/* SPDX-License-Identifier: MIT */
/*
 * Packets (ledger.h, P1 to P3): a record or a datagram being sent, in the
 * record's packet area, and what recovery makes of it after a crash.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger-int.h"
#include "log.h"

int ledger_source_init(struct ledger_source *src, struct ledger *l, int fd) {
	struct stat st;

	*src = (struct ledger_source){0};
	if (fstat(fd, &st) < 0)
		return -errno;
	src->ino = (uint64_t)st.st_ino;
	/* Numbered with the stream connections: an inode reused in a generation gets another tag.
	 */
	int n = snprintf(src->tag, sizeof(src->tag), LEDGER_TAG_FORMAT, l->rec->id, l->rec->gen,
			 src->ino, ++l->n_conns);
	src->tag_iov = (struct iovec){src->tag, (size_t)n};
	return 0;
}

void ledger_packet_sending(struct ledger *l, struct ledger_source *src, size_t len) {
	struct ledger_packet *p = &l->rec->packet;

	/* One writer: no stream job is under way, and the last packet is settled. */
	assert(l->rec->ino == 0 && p->ino == 0 && src->ino != 0);
	src->tag[src->tag_iov.iov_len - 1] = (char)('0' + (src->entries & 1));
	memcpy(p->tag, src->tag, src->tag_iov.iov_len + 1);
	p->uid = l->uid;
	p->len = len;
	publish(p->state, LEDGER_PACKET_SENDING);
	publish(p->ino, src->ino);
}

void ledger_packet_refused(struct ledger *l, struct ledger_source *src) {
	assert(l->rec->packet.ino == src->ino && l->rec->packet.state == LEDGER_PACKET_SENDING);
	publish(l->rec->packet.ino, 0);
}

/* The packet at fd's head leaves it under the peek mark (P3), from TAKING to ino = 0. */
static int take_marked(struct ledger_packet *p, int fd) {
	char byte;
	int r = 0;

	assert(p->ino != 0 && p->state == LEDGER_PACKET_TAKING);
	/*
	 * Without a mark (an empty packet does not move it; a socket may refuse
	 * SO_PEEK_OFF), a kill during the take could not be told from one
	 * before it: the record says TAKEN first, so that the packet is written
	 * twice at worst, and no other is taken for it.
	 */
	if (p->len == 0 || ledger_peek_off(fd, (int)p->len + 1) < 0)
		publish(p->state, LEDGER_PACKET_TAKEN);
	if (recv(fd, &byte, 0, MSG_DONTWAIT | MSG_TRUNC) < 0)
		r = -errno;
	else
		publish(p->state, LEDGER_PACKET_TAKEN);
	/* A peek offset left set would move every later MSG_PEEK read. */
	(void)ledger_peek_off(fd, -1);
	publish(p->ino, 0);
	return r;
}

int ledger_packet_take(struct ledger *l, struct ledger_source *src, int fd) {
	struct ledger_packet *p = &l->rec->packet;

	assert(p->ino == src->ino && p->state == LEDGER_PACKET_SENDING);
	src->entries++;
	publish(p->state, LEDGER_PACKET_TAKING);
	return take_marked(p, fd);
}

/* After a crash in TAKING: whether the packet left fd (its peek offset went down). */
static bool left_socket(const struct ledger_packet *p, int fd) {
	int off = -1;
	socklen_t len = sizeof(off);

	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &len) < 0 || off < 0)
		return false; /* the mark was not set yet: nothing was taken */
	return (uint64_t)off < p->len + 1;
}

/* The length of the packet at fd's head, or a negative errno. */
static ssize_t head_len(int fd) {
	char byte;
	ssize_t n = recv(fd, &byte, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

	return n < 0 ? -errno : n;
}

/* SENDING: journald is asked; the packet is taken if it has it. */
static int settle_sending(struct ledger_packet *p, int fd, ledger_lookup_fn lookup, void *data) {
	int r = lookup(p->tag, data);

	if (r < 0)
		log_warning_errno(r,
				  "cannot tell whether journald got the packet being sent at the "
				  "crash; it is sent again and may be there twice");
	else
		log_info("after a crash: the packet being sent then is %sin the journal",
			 r > 0 ? "" : "not ");
	if (r <= 0)
		return 0;
	ssize_t n = head_len(fd);
	if (n < 0 || (uint64_t)n != p->len) {
		log_warning("after a crash: the packet in the journal is not at its socket's head "
			    "(%zd bytes there, %" PRIu64 " sent); it stays",
			    n, p->len);
		return 0;
	}
	publish(p->state, LEDGER_PACKET_TAKING);
	return 1;
}

int ledger_recover_packet(struct ledger *l, ledger_find_fn find, ledger_lookup_fn lookup,
			  void *data) {
	struct ledger_packet *p = &l->rec->packet;
	int fd = p->ino != 0 ? find(p->ino, data) : -1;
	int r = 0;

	if (fd < 0) {
		/* Nothing was sent, or its socket is gone with what it held. */
		publish(p->ino, 0);
		return 0;
	}
	switch (p->state) {
	case LEDGER_PACKET_SENDING: r = settle_sending(p, fd, lookup, data); break;
	case LEDGER_PACKET_TAKING: r = !left_socket(p, fd); break;
	default: r = 0; break;
	}
	if (r > 0)
		return (r = take_marked(p, fd)) < 0 ? r : 1;
	(void)ledger_peek_off(fd, -1);
	publish(p->ino, 0);
	return 0;
}
