/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "record.h"

/*
 * Fields a producer may not set: journald's trusted fields cannot even be
 * spelled (they start with '_'); these are the ones that would let a producer
 * pose as someone else or as mpsr itself.
 */
static const char *const reserved_prefixes[] = {"MPSR_", "OBJECT_", "COREDUMP_"};
static const char *const reserved_names[] = {"MESSAGE", "SYSLOG_PID"};

static bool name_is(const char *name, size_t n, const char *word) {
	return strlen(word) == n && memcmp(name, word, n) == 0;
}

/* Whether a header line is spelled like a field at all: NAME=value. */
static const char *field_syntax(const char *line, size_t len, size_t *name_len) {
	const char *eq = memchr(line, '=', len);

	if (!eq)
		return "no '='";
	size_t n = (size_t)(eq - line);
	if (n == 0 || n > RECORD_NAME_MAX)
		return "bad name length";
	if (line[0] < 'A' || line[0] > 'Z')
		return "name must start with A-Z";
	for (size_t i = 0; i < n; i++) {
		char c = line[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return "name may hold only A-Z, 0-9 and _";
	}
	*name_len = n;
	return NULL;
}

const char *record_field_refusal(const char *line, size_t len) {
	size_t n;
	const char *why = field_syntax(line, len, &n);

	if (why)
		return why;
	for (size_t i = 0; i < ARRAY_SIZE(reserved_prefixes); i++) {
		size_t k = strlen(reserved_prefixes[i]);
		if (n >= k && memcmp(line, reserved_prefixes[i], k) == 0)
			return "reserved field";
	}
	for (size_t i = 0; i < ARRAY_SIZE(reserved_names); i++)
		if (name_is(line, n, reserved_names[i]))
			return "reserved field";
	if (name_is(line, n, "PRIORITY") &&
	    (len != n + 2 || line[n + 1] < '0' || line[n + 1] > '7'))
		return "PRIORITY must be 0-7";
	/* Else it would be passed on as a second, empty SYSLOG_IDENTIFIER. */
	if (name_is(line, n, "SYSLOG_IDENTIFIER") && len == n + 1)
		return "SYSLOG_IDENTIFIER must not be empty";
	return NULL;
}

static void record_take_field(const char *line, size_t len, struct record *r) {
	if (record_field_refusal(line, len)) {
		r->refused++;
		return;
	}
	if (len == STRLEN(FIELD_PRIORITY) + 1 &&
	    memcmp(line, FIELD_PRIORITY, STRLEN(FIELD_PRIORITY)) == 0) {
		r->priority = line[STRLEN(FIELD_PRIORITY)] - '0';
		return;
	}
	if (len > STRLEN(FIELD_SYSLOG_IDENTIFIER) &&
	    memcmp(line, FIELD_SYSLOG_IDENTIFIER, STRLEN(FIELD_SYSLOG_IDENTIFIER)) == 0) {
		r->identifier = (struct iovec){(void *)line, len};
		return;
	}
	if (r->n_fields == RECORD_FIELDS_MAX) {
		r->refused++;
		return;
	}
	r->fields[r->n_fields++] = (struct iovec){(void *)line, len};
}

void record_parse(const char *buf, size_t len, struct record *r) {
	*r = (struct record){.priority = -1};

	/*
	 * A header is there only when the packet has an empty line and every line
	 * before it is spelled FIELD=value; otherwise (a stack trace with a blank
	 * line, say) the whole packet is text and nothing of it is lost.
	 */
	size_t end = 0, n;
	int has_header = 0;
	while (end < len) {
		const char *nl = memchr(buf + end, '\n', len - end);
		if (!nl)
			break;
		if (nl == buf + end) {
			has_header = 1;
			break;
		}
		if (field_syntax(buf + end, (size_t)(nl - (buf + end)), &n))
			break;
		end = (size_t)(nl - buf) + 1;
	}
	if (!has_header) {
		r->text = 0;
		r->text_len = len;
		return;
	}

	size_t pos = 0;
	while (pos < end) {
		const char *nl = memchr(buf + pos, '\n', end - pos);
		size_t l = (size_t)(nl - (buf + pos));
		record_take_field(buf + pos, l, r);
		pos += l + 1;
	}
	r->text = end + 1;
	r->text_len = len - r->text;
}

int record_header_format(const char *ident, int facility, char *const *fields, size_t n_fields,
			 char **ret, size_t *ret_len) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	if (ident)
		fprintf(f, FIELD_SYSLOG_IDENTIFIER "%s\n", ident);
	if (facility >= 0)
		fprintf(f, FIELD_SYSLOG_FACILITY "%d\n", facility);
	for (size_t i = 0; i < n_fields; i++)
		fprintf(f, "%s\n", fields[i]);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

const char *record_priority_line(int level) {
	static const char lines[8][RECORD_PRIORITY_LEN + 1] = {
		FIELD_PRIORITY "0\n\n", FIELD_PRIORITY "1\n\n", FIELD_PRIORITY "2\n\n",
		FIELD_PRIORITY "3\n\n", FIELD_PRIORITY "4\n\n", FIELD_PRIORITY "5\n\n",
		FIELD_PRIORITY "6\n\n", FIELD_PRIORITY "7\n\n",
	};

	return lines[level & 7];
}
