/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the "<N>" priority prefix as a datagram is read: one packet is one
 * message, an optional prefix sets the priority, and one trailing '\n' is
 * dropped. Prefix, text and newline must add up to the packet exactly.
 */
#include <string.h>

#include "fuzz.h"
#include "priority.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	const char *buf = (const char *)data;
	int prio = 6;
	size_t skip = priority_prefix(buf, size, &prio);

	CHECK(skip == 0 || skip == 3);
	if (skip == 3) {
		CHECK(buf[0] == '<' && buf[2] == '>' && buf[1] >= '0' && buf[1] <= '7');
		CHECK(prio == buf[1] - '0');
	} else {
		CHECK(prio == 6);
		CHECK(!(size >= 3 && buf[0] == '<' && buf[1] >= '0' && buf[1] <= '7' &&
			buf[2] == '>'));
	}
	/* What the datagram reader makes of the rest. */
	size_t len = size - skip;
	size_t nl = len > 0 && buf[skip + len - 1] == '\n';
	len -= nl;
	CHECK(skip + len + nl == size);
	CHECK(len == 0 || memcmp(buf + skip, data + skip, len) == 0);
	return 0;
}
