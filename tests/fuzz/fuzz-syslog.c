/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes syslog_parse() on one message of any bytes. Checks that it reads
 * nothing outside the message (ASan), that every span lies in the header,
 * before the text and in order, that the values are in range, that "<PRI>"
 * is read exactly as a plain reading of RFC 5424's rule reads it, that the
 * meanings of today stay (no '<': all text; "<N>" alone: priority only), that
 * an RFC 3164 hostname sits between a date and a tag, that syslog_trim()
 * drops blanks only, and that the result depends on the bytes alone.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "syslog-header.h"

static bool inside(struct span s, const char *lo, const char *hi) {
	return s.len == 0 || (s.p != NULL && s.p >= lo && s.p + s.len <= hi);
}

static bool digits(struct span s) {
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return true;
}

/* "<" 1*3DIGIT ">", no leading zero but "0", value 0..191: the PRI or -1. */
static int pri_reference(const uint8_t *d, size_t n, size_t *len) {
	size_t k = 1;
	int v = 0;

	if (n < 3 || d[0] != '<')
		return -1;
	while (k < n && k <= 4 && d[k] >= '0' && d[k] <= '9')
		v = v * 10 + d[k++] - '0';
	if (k == 1 || k > 4 || k >= n || d[k] != '>' || (d[1] == '0' && k > 2) || v > 191)
		return -1;
	*len = k + 1;
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	const char *buf = (const char *)data;
	struct syslog_header h, again;
	size_t pl = 0;
	int pri = pri_reference(data, size, &pl);

	syslog_parse(buf, size, &h);
	CHECK(h.text <= size);
	CHECK(h.priority >= -1 && h.priority <= 7);
	CHECK(h.facility >= -1 && h.facility <= 23);

	const struct syslog_fields *f = &h.fields;
	const char *lo = buf + (pl ? pl : 0), *hi = buf + h.text;
	CHECK(inside(f->ident, lo, hi) && inside(f->pid, lo, hi));
	CHECK(inside(f->timestamp, lo, hi) && inside(f->hostname, lo, hi));
	CHECK(inside(f->msgid, lo, hi) && inside(f->sd, lo, hi));
	CHECK(digits(f->pid) && f->pid.len <= 10);
	/* The order of the header. */
	CHECK(f->timestamp.len == 0 || f->ident.len == 0 || f->timestamp.p < f->ident.p);
	CHECK(f->sd.len == 0 || (f->sd.p[0] == '[' && f->sd.p[f->sd.len - 1] == ']'));

	if (pri < 0) {
		/* No valid "<PRI>": all of it is text, untouched. */
		CHECK(h.priority == -1 && h.facility == -1 && h.text == 0);
		CHECK(f->ident.len == 0 && f->timestamp.len == 0 && f->sd.len == 0);
	} else {
		CHECK(h.priority == (pri & 7));
		CHECK(h.text >= pl);
		if (h.facility == -1) {
			/* The sd-daemon "<N>": nothing but the priority. */
			CHECK(pri < 8 && h.text == 3);
			CHECK(f->ident.len == 0 && f->timestamp.len == 0 && f->hostname.len == 0);
		} else {
			CHECK(h.facility == pri >> 3);
		}
		bool v5424 = size > pl + 1 && buf[pl] == '1' && buf[pl + 1] == ' ';
		if (f->msgid.len > 0 || f->sd.len > 0)
			CHECK(v5424);
		/* An RFC 3164 hostname: between a date and a tag, never a tag itself. */
		if (f->hostname.len > 0 && !v5424) {
			CHECK(f->timestamp.len > 0 && f->ident.len > 0);
			CHECK(f->timestamp.p < f->hostname.p && f->hostname.p < f->ident.p);
			CHECK(memchr(f->hostname.p, '[', f->hostname.len) == NULL);
			CHECK(memchr(f->hostname.p, ' ', f->hostname.len) == NULL);
			CHECK(f->hostname.p[f->hostname.len - 1] != ':');
		}
	}

	/* A whole message: trimmed if it has a header, then read as that many bytes. */
	struct syslog_header t, t2;
	size_t n = syslog_parse_message(buf, size, &t);
	CHECK(n <= size && (t.priority >= 0 || n == size));
	CHECK(t.priority == h.priority && t.text <= n);
	syslog_parse(buf, n, &t2);
	CHECK(memcmp(&t, &t2, sizeof(t)) == 0);
	for (size_t i = n; i < size; i++)
		CHECK(buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r');

	/* Trimming keeps the text's start and drops only blanks. */
	size_t end = syslog_trim(buf, h.text, size);
	CHECK(end >= h.text && end <= size);
	for (size_t i = end; i < size; i++)
		CHECK(buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r');
	CHECK(end == h.text || !(buf[end - 1] == ' ' || buf[end - 1] == '\t' ||
				 buf[end - 1] == '\n' || buf[end - 1] == '\r'));

	/* The same bytes, the same answer. */
	syslog_parse(buf, size, &again);
	CHECK(memcmp(&h, &again, sizeof(h)) == 0);
	return 0;
}
