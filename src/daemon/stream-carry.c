/* SPDX-License-Identifier: MIT */
/*
 * The unfinished line out of a producer's socket already: staged in the
 * ledger, or in memory (carry) within the budget all producers share.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "stream-carry.h"

/*
 * Room in r->buf for have carried bytes and a full read behind them; only
 * such an adopted staged line needs more than relay_init() gave. Returns the
 * bytes there are room for behind the carried ones, or a negative errno.
 */
ssize_t stream_buf_fit(struct relay *r, size_t have) {
	size_t need = JOURNAL_HEADROOM + have + FRAME_SLACK + READ_CHUNK;

	if (need > r->buf_size) {
		char *p = realloc(r->buf, need);
		if (!p)
			return -ENOMEM;
		r->buf = p;
		r->buf_size = need;
	}
	return (ssize_t)(r->buf_size - JOURNAL_HEADROOM - have);
}

void stream_in_done(struct stream_in *in) {
	if (in->budget)
		atomic_fetch_sub(&in->budget->used, in->carry_len);
	free(in->carry);
	in->carry = NULL;
	in->carry_len = 0;
}

/* The unfinished line already out of the socket: staged in the ledger, or in memory. */
size_t stream_carry_get(struct stream_in *in, char **data) {
	if (in->ledger)
		return ledger_staged(in->ledger, &in->lc, data);
	*data = in->carry;
	return in->carry_len;
}

/* Keeps buf[from..to), already out of the socket, for the next read (without a ledger). */
int stream_carry_set(struct stream_in *in, const char *from, size_t n) {
	if (n == 0) {
		stream_in_done(in);
		return 0;
	}
	char *p = malloc(n);
	if (!p)
		return -ENOMEM;
	memcpy(p, from, n);
	stream_in_done(in);
	if (in->budget)
		atomic_fetch_add(&in->budget->used, n);
	in->carry = p;
	in->carry_len = n;
	return 0;
}

/* Whether a carry of n bytes fits in the budget, in place of in's carry now. */
bool stream_carry_fits(const struct stream_in *in, size_t n) {
	return !in->budget || atomic_load(&in->budget->used) - in->carry_len + n <= in->budget->max;
}

int stream_in_carry(struct stream_in *in, const char *bytes, size_t n) {
	return in->ledger ? -EBUSY : stream_carry_set(in, bytes, n);
}
