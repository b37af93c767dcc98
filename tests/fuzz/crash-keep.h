/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "relay.h"

/*
 * For fuzz-crash.c: buffers the simulated process would have fresh at each
 * start or input, kept instead (crash-keep.c).
 */

/* *r as relay_init(r, cfg) makes it, its read buffer kept from an earlier start. */
void keep_relay_start(struct relay *r, const struct relay_config *cfg);
/* relay_done(r), the read buffer kept unless the relay grew it (and so freed it). */
void keep_relay_stop(struct relay *r);

/* n copies of c, n at most max (the same at every call); valid until the next call. */
const uint8_t *keep_run(uint8_t c, size_t n, size_t max);
/* Producer i's buffer of size bytes (the same at every call). */
uint8_t *keep_written(unsigned i, size_t size);

/* A copy of v[0..len) and a NUL, valid until keep_texts_reset(). */
char *keep_text(const char *v, size_t len);
void keep_texts_reset(void);
