/* SPDX-License-Identifier: MIT */
#pragma once

#include "origin.h"
#include "relay.h"

#define PACKET_BATCH  64                  /* most packets written per job */
#define DRAIN_PACKETS (PACKET_BATCH * 16) /* most packets written by the last job at stop */

/*
 * Reading datagrams and records: one packet, one entry. Each packet is read
 * without taking it from the socket (MSG_PEEK), written, and only then taken
 * out: a crash loses none. The same code reads while running and at stop.
 */

/* Datagrams from a bound socket, each with its sender's identity. Returns PACKET_*. */
int packet_read_datagrams(int fd, struct relay *r, unsigned max);

/* Records from a connected seqpacket socket with origin o. Returns PACKET_*, or a negative errno.
 */
int packet_read_records(int fd, const struct origin *o, struct relay *r, unsigned max);
