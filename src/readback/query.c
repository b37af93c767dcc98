/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "query.h"

#define FIELD_LEN (sizeof(READBACK_FIELD) - 1)

bool readback_tag_valid(const char *tag) {
	size_t n = strnlen(tag, READBACK_TAG_MAX + 1);

	if (n <= FIELD_LEN || n > READBACK_TAG_MAX || strncmp(tag, READBACK_FIELD, FIELD_LEN) != 0)
		return false;
	for (size_t i = FIELD_LEN; i < n; i++) {
		char c = tag[i];
		if (!(c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z')))
			return false;
	}
	return tag[n - 1] == '0' || tag[n - 1] == '1';
}

int readback_question_format(char *buf, size_t size, uid_t uid, const char *tag) {
	if (!readback_tag_valid(tag))
		return -EINVAL;
	int n = snprintf(buf, size, "%" PRIu32 " %s", (uint32_t)uid, tag);
	return n > 0 && (size_t)n < size ? n : -EINVAL;
}

/* A decimal number of [p, end) up to max, with nothing else around it. */
static int parse_number(const char *p, const char *end, uint64_t max, uint64_t *ret) {
	uint64_t v = 0;

	if (p == end || (*p == '0' && end - p > 1))
		return -EINVAL;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || v > (max - (uint64_t)(*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*ret = v;
	return 0;
}

int readback_question_parse(char *buf, size_t len, uid_t *uid, const char **tag) {
	uint64_t v;

	buf[len] = '\0';
	char *sp = memchr(buf, ' ', len);
	/* (uid_t)-1 is "no uid" for the kernel: nobody writes as it. */
	if (!sp || strlen(buf) != len || parse_number(buf, sp, UINT32_MAX - 1, &v) < 0 ||
	    !readback_tag_valid(sp + 1))
		return -EINVAL;
	*uid = (uid_t)v;
	*tag = sp + 1;
	return 0;
}

int readback_answer_parse(const char *buf, size_t len) {
	uint64_t v;

	if (len == 1 && (buf[0] == '0' || buf[0] == '1'))
		return buf[0] - '0';
	if (len >= 2 && buf[0] == '-' && parse_number(buf + 1, buf + len, 4095, &v) == 0 && v > 0)
		return -(int)v;
	return -EBADMSG;
}
