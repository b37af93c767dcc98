/* SPDX-License-Identifier: MIT */
#pragma once

/* Inside the stream reader (stream.c): the unfinished line it took out of the socket. */

#include <stdbool.h>
#include <sys/types.h>

#include "relay.h"
#include "stream.h"

/*
 * Room in r->buf for have carried bytes and a full read behind them. Returns
 * the bytes there are room for behind them, or a negative errno.
 */
ssize_t stream_buf_fit(struct relay *r, size_t have);

/* The unfinished line already out of the socket: its length, its bytes in *data. */
size_t stream_carry_get(struct stream_in *in, char **data);

/* Keeps from[0..n), already out of the socket, as in's carry (without a ledger). */
int stream_carry_set(struct stream_in *in, const char *from, size_t n);

/* Whether a carry of n bytes fits in the budget, in place of in's carry now. */
bool stream_carry_fits(const struct stream_in *in, size_t n);
