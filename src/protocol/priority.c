/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "priority.h"

struct name {
	const char *name;
	int value;
};

/* The names of syslog(3) and logger(1), with their traditional aliases. */
static const struct name levels[] = {
	{"emerg", 0},   {"panic", 0}, {"alert", 1},  {"crit", 2}, {"err", 3},   {"error", 3},
	{"warning", 4}, {"warn", 4},  {"notice", 5}, {"info", 6}, {"debug", 7},
};

static const struct name facilities[] = {
	{"kern", 0},     {"user", 1},      {"mail", 2},    {"daemon", 3},  {"auth", 4},
	{"security", 4}, {"syslog", 5},    {"lpr", 6},     {"news", 7},    {"uucp", 8},
	{"cron", 9},     {"authpriv", 10}, {"ftp", 11},    {"local0", 16}, {"local1", 17},
	{"local2", 18},  {"local3", 19},   {"local4", 20}, {"local5", 21}, {"local6", 22},
	{"local7", 23},
};

static int lookup(const struct name *t, size_t n, const char *s, size_t len) {
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].name) == len && strncasecmp(t[i].name, s, len) == 0)
			return t[i].value;
	return -1;
}

static int parse_level(const char *s, size_t len) {
	if (len == 1 && s[0] >= '0' && s[0] <= '7')
		return s[0] - '0';
	return lookup(levels, ARRAY_SIZE(levels), s, len);
}

int priority_parse(const char *s, int *level, int *facility) {
	const char *dot = strchr(s, '.');
	int f = -1, l;

	if (dot) {
		f = lookup(facilities, ARRAY_SIZE(facilities), s, (size_t)(dot - s));
		if (f < 0)
			return -EINVAL;
		s = dot + 1;
	}
	l = parse_level(s, strlen(s));
	if (l < 0)
		return -EINVAL;
	*level = l;
	*facility = f;
	return 0;
}

const char *priority_level_name(int level) {
	static const char *const names[] = {"emerg",   "alert",  "crit", "err",
					    "warning", "notice", "info", "debug"};

	return level >= 0 && level < 8 ? names[level] : NULL;
}

size_t priority_prefix(const char *buf, size_t len, int *level) {
	if (len < 3 || buf[0] != '<' || buf[1] < '0' || buf[1] > '7' || buf[2] != '>')
		return 0;
	*level = buf[1] - '0';
	return 3;
}
