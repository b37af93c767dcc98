/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "match.h"
#include "query.h"

static int add_match(sd_journal *j, const char *m) {
	return sd_journal_add_match(j, m, strlen(m));
}

int readback_last_is(sd_journal *j, const char *tag, uid_t uid, sd_id128_t boot) {
	char other[READBACK_TAG_MAX + 1], by[32], in[64], id[SD_ID128_STRING_MAX];
	size_t n = strlen(tag);
	const void *d;
	size_t len;
	int r;

	if (!readback_tag_valid(tag))
		return -EINVAL;
	memcpy(other, tag, n + 1);
	other[n - 1] = other[n - 1] == '0' ? '1' : '0';
	snprintf(by, sizeof(by), "_UID=%" PRIu32, (uint32_t)uid);
	snprintf(in, sizeof(in), "_BOOT_ID=%s", sd_id128_to_string(boot, id));
	/* Values of one field are ORed, different fields ANDed: (tag OR other) AND uid AND boot. */
	sd_journal_flush_matches(j);
	if ((r = add_match(j, tag)) < 0 || (r = add_match(j, other)) < 0 ||
	    (r = add_match(j, by)) < 0 || (r = add_match(j, in)) < 0)
		return r;
	if ((r = sd_journal_seek_tail(j)) < 0 || (r = sd_journal_previous(j)) <= 0)
		return r;
	r = sd_journal_get_data(j, "MPSR_LEDGER", &d, &len);
	if (r < 0)
		return r;
	return len == n && memcmp(d, tag, n) == 0;
}

int readback_current_boot(sd_journal *j, sd_id128_t *boot) {
	int r;

	sd_journal_flush_matches(j);
	if ((r = sd_journal_seek_tail(j)) < 0 || (r = sd_journal_previous(j)) < 0)
		return r;
	if (r == 0)
		return -ENODATA;
	return sd_journal_get_monotonic_usec(j, NULL, boot);
}
