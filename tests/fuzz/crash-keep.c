/* SPDX-License-Identifier: MIT */
/*
 * What fuzz-crash keeps across starts and inputs. A fresh large buffer under
 * ASan is a new mapping, poisoned, a page fault on every page, and poisoned
 * again into the quarantine when freed: a fresh 1.1 MB relay read buffer at
 * each start (--line-max 1 MiB) cost 0.25 ms, a fresh buffer for a run of up
 * to 4 MiB of one byte more than most inputs' relay work, and a malloc() per
 * recorded entry more than the relay's work for it. The relay cannot tell a
 * kept buffer from a fresh one: it reads only what it wrote there, and keeps
 * no pointer into it across a start.
 *
 * Kept buffers also keep an input's mallocs and frees equal: libFuzzer runs
 * an input that leaves more mallocs than frees again, to look for a leak.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crash-keep.h"
#include "fuzz.h"

#define RELAYS 8 /* config() in fuzz-crash.c has 8 values of line_max */

/* Relays as relay_init() made them, one for each configuration used. */
static struct relay made[RELAYS];

static bool same_config(const struct relay_config *a, const struct relay_config *b) {
	return a->line_max == b->line_max && a->default_priority == b->default_priority &&
	       a->retry_usec == b->retry_usec;
}

static struct relay *made_for(const struct relay_config *cfg) {
	for (struct relay *r = made; r < made + RELAYS; r++)
		if (r->buf && same_config(&r->cfg, cfg))
			return r;
	return NULL;
}

void keep_relay_start(struct relay *r, const struct relay_config *cfg) {
	struct relay *m = made_for(cfg);

	if (!m) {
		for (m = made; m->buf; m++)
			CHECK(m + 1 < made + RELAYS);
		CHECK(relay_init(m, cfg) == 0);
	}
	*r = *m;
}

void keep_relay_stop(struct relay *r) {
	struct relay *m = made_for(&r->cfg);

	CHECK(m);
	if (r->buf == m->buf && r->buf_size == m->buf_size) {
		r->buf = NULL;
	} else {
		/* The relay grew the buffer: the kept one is gone, made anew (mallocs = frees). */
		struct relay_config cfg = m->cfg;
		CHECK(relay_init(m, &cfg) == 0);
	}
	relay_done(r);
}

const uint8_t *keep_run(uint8_t c, size_t n, size_t max) {
	static uint8_t *run;

	CHECK(n <= max);
	if (!run)
		CHECK((run = malloc(max)));
	memset(run, c, n);
	return run;
}

uint8_t *keep_written(unsigned i, size_t size) {
	static uint8_t *buf[2];

	CHECK(i < 2);
	if (!buf[i])
		CHECK((buf[i] = malloc(size)));
	return buf[i];
}

/* Texts in blocks that never move (an entry points into one). */
#define TEXT_BLOCK (1u << 20)
struct text_block {
	size_t used, size;
	char data[];
};

static struct {
	struct text_block **b;
	size_t n, at; /* blocks, and the one being filled */
} T;

/* The harness's bookkeeping, not the relay's: without coverage. */
__attribute__((no_sanitize("coverage"))) char *keep_text(const char *v, size_t len) {
	struct text_block *b;

	/* The block in hand, the next kept one, or a new one. */
	for (;; T.at++) {
		if (T.at == T.n) {
			size_t size = len + 1 > TEXT_BLOCK ? len + 1 : TEXT_BLOCK;
			CHECK((T.b = realloc(T.b, (T.n + 1) * sizeof(*T.b))));
			CHECK((b = malloc(sizeof(*b) + size)));
			*b = (struct text_block){.size = size};
			T.b[T.n++] = b;
		}
		b = T.b[T.at];
		if (b->size - b->used >= len + 1)
			break;
	}
	char *t = b->data + b->used;
	memcpy(t, v, len);
	t[len] = 0;
	b->used += len + 1;
	return t;
}

void keep_texts_reset(void) {
	for (size_t i = 0; i < T.n; i++)
		T.b[i]->used = 0;
	T.at = 0;
}
