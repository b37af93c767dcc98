/* SPDX-License-Identifier: MIT */
#pragma once

#include "ledger.h"
#include "origin.h"
#include "relay.h"

#define PACKET_BATCH  64                  /* most packets written per job */
#define DRAIN_PACKETS (PACKET_BATCH * 16) /* most packets written by the last job at stop */

/*
 * Reading datagrams and records: one packet, one entry. Each packet is read
 * without taking it from the socket (MSG_PEEK), written, and only then taken
 * out: a crash loses none. With an account in the ledger, a crash writes none
 * twice either (ledger.h, P1 to P3): the entry carries the ledger's tag, and
 * the packet leaves its socket under a peek mark. The same code reads while
 * running and at stop.
 */

/* A packet socket's account in the ledger; ledger NULL: none (a crash may repeat a packet). */
struct packet_ledger {
	struct ledger *ledger;
	struct ledger_source src;
};

/* Gives fd's packets an account in l. Returns 0, or a negative errno: then it goes without. */
int packet_ledger_init(struct packet_ledger *pl, struct ledger *l, int fd);

/*
 * Datagrams from a bound socket, each with its sender's identity; pl: its
 * account, or NULL. Returns READ_*.
 */
int packet_read_datagrams(int fd, struct packet_ledger *pl, struct relay *r, unsigned max);

/*
 * Records from a connected seqpacket socket with origin o; pl: its account,
 * or NULL. Returns READ_*, or a negative errno.
 */
int packet_read_records(int fd, const struct origin *o, struct packet_ledger *pl, struct relay *r,
			unsigned max);
