/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the record parser (the seqpacket mode) against a second, simpler
 * reading of mpsr(7): the text is exactly what follows the header, every
 * header line is accounted for (a field, the priority, the identifier, or
 * refused), and no field that could pose as mpsr or as another process passes.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "record.h"

static bool starts(const char *p, size_t n, const char *word) {
	size_t k = strlen(word);
	return n >= k && memcmp(p, word, k) == 0;
}

/* NAME=value with NAME of 1..RECORD_NAME_MAX bytes, [A-Z][A-Z0-9_]*. */
static bool spelled_as_field(const char *p, size_t n) {
	size_t i = 0;

	while (i < n && p[i] != '=')
		i++;
	if (i == n || i == 0 || i > RECORD_NAME_MAX || !(p[0] >= 'A' && p[0] <= 'Z'))
		return false;
	for (size_t k = 1; k < i; k++)
		if (!((p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= '0' && p[k] <= '9') || p[k] == '_'))
			return false;
	return true;
}

/* Where the text starts by the spec: after the first empty line, if every line before it is a
 * field; otherwise 0. */
static size_t expected_text(const char *buf, size_t len) {
	size_t line = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i == line)
			return i + 1;
		if (!spelled_as_field(buf + line, i - line))
			return 0;
		line = i + 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	const char *buf = (const char *)data;
	struct record r;

	record_parse(buf, size, &r);
	CHECK(r.text <= size && r.text + r.text_len == size);
	CHECK(r.text == expected_text(buf, size));
	CHECK(r.n_fields <= RECORD_FIELDS_MAX);

	unsigned lines = 0, special = 0;
	int priority = -1;
	const char *ident = NULL;
	for (size_t pos = 0; r.text > 0 && pos < r.text - 1;) {
		const char *nl = memchr(buf + pos, '\n', r.text - 1 - pos);
		CHECK(nl);
		size_t n = (size_t)(nl - (buf + pos));
		const char *l = buf + pos;
		lines++;
		if (n == 10 && starts(l, n, "PRIORITY=") && l[9] >= '0' && l[9] <= '7') {
			priority = l[9] - '0';
			special++;
		} else if (n > 18 && starts(l, n, "SYSLOG_IDENTIFIER=")) {
			ident = l;
			special++;
		}
		pos += n + 1;
	}
	CHECK(r.n_fields + r.refused + special == lines);
	CHECK(r.priority == priority);
	CHECK(ident ? r.identifier.iov_base == ident : r.identifier.iov_len == 0);

	for (size_t i = 0; i < r.n_fields; i++) {
		const char *p = r.fields[i].iov_base;
		size_t n = r.fields[i].iov_len;
		CHECK(p >= buf && p + n < buf + r.text);
		CHECK(p[n] == '\n' && memchr(p, '\n', n) == NULL);
		CHECK(spelled_as_field(p, n));
		CHECK(record_field_refusal(p, n) == NULL);
		/* Nothing that would pose as mpsr, the kernel's word or another process. */
		CHECK(!starts(p, n, "MPSR_") && !starts(p, n, "OBJECT_") &&
		      !starts(p, n, "COREDUMP_") && !starts(p, n, "MESSAGE=") &&
		      !starts(p, n, "SYSLOG_PID=") && !starts(p, n, "PRIORITY=") && p[0] != '_');
	}
	return 0;
}
