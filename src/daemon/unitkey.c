/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "macro.h"
#include "unitkey.h"

/* The unit types a cgroup can be named after (systemd gives cgroups to these). */
static const char *const unit_suffixes[] = {".service", ".scope", ".slice", ".socket",
					    ".mount",   ".swap",  ".device"};

static bool has_suffix(const char *s, size_t n, const char *suffix) {
	size_t k = strlen(suffix);

	return n > k && memcmp(s + n - k, suffix, k) == 0;
}

static bool is_unit(const char *s, size_t n) {
	if (n == 0 || s[0] == '.')
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(unit_suffixes); i++)
		if (has_suffix(s, n, unit_suffixes[i]))
			return true;
	return false;
}

/* Copies component [s, s+n) into out, unescaping systemd's leading '_' on names that clash. */
static void put(char *out, const char *s, size_t n) {
	if (n > 0 && s[0] == '_') {
		s++;
		n--;
	}
	if (n >= UNIT_NAME_MAX)
		n = UNIT_NAME_MAX - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* The next component of *p; false at the end. */
static bool next(const char **p, const char **s, size_t *n) {
	while (**p == '/')
		(*p)++;
	if (!**p)
		return false;
	*s = *p;
	*n = strcspn(*p, "/");
	*p += *n;
	return true;
}

/* Skips the slices at *p, remembering the innermost in slice (if not NULL); returns the unit. */
static bool unit_after_slices(const char **p, char *slice, const char **s, size_t *n) {
	while (next(p, s, n)) {
		const char *c = *s[0] == '_' ? *s + 1 : *s;
		size_t cn = *s[0] == '_' ? *n - 1 : *n;
		if (!has_suffix(c, cn, ".slice"))
			return is_unit(c, cn);
		if (slice)
			put(slice, *s, *n);
	}
	return false;
}

int unit_key_from_path(const char *path, struct unit_key *k) {
	const char *p = path, *s;
	size_t n;

	memset(k, 0, sizeof(*k));
	if (!unit_after_slices(&p, k->slice, &s, &n))
		return -ENOENT;
	put(k->unit, s, n);
	if (strncmp(k->unit, "user@", 5) == 0 && has_suffix(k->unit, strlen(k->unit), ".service") &&
	    unit_after_slices(&p, NULL, &s, &n))
		put(k->user_unit, s, n);
	if (!k->slice[0])
		strcpy(k->slice, "-.slice");
	return 0;
}

int unit_key_from_proc(const char *text, size_t len, struct unit_key *k) {
	char path[4096];

	/* cgroup v2 is the "0::PATH" line; v1 hierarchies (other lines) are not looked at. */
	for (size_t i = 0; i < len;) {
		const char *line = text + i;
		const char *end = memchr(line, '\n', len - i);
		size_t n = end ? (size_t)(end - line) : len - i;
		i += n + 1;
		if (n < 3 || memcmp(line, "0::", 3) != 0)
			continue;
		if (n - 3 >= sizeof(path))
			return -EINVAL;
		memcpy(path, line + 3, n - 3);
		path[n - 3] = '\0';
		return unit_key_from_path(path, k);
	}
	memset(k, 0, sizeof(*k));
	return -EINVAL;
}

void unit_key_name(const struct unit_key *k, char *buf, size_t size) {
	const char *unit = k->user_unit[0] ? k->user_unit : k->unit;
	static const char suffix[] = ".service";
	size_t n = strlen(unit), s = sizeof(suffix) - 1;

	buf[0] = '\0';
	if (size == 0 || n <= s || strcmp(unit + n - s, suffix) != 0 ||
	    strncmp(unit, "user@", 5) == 0)
		return;
	n -= s;
	/* A template's instance is the program's argument, not its name: "getty@tty1" is getty. */
	const char *at = memchr(unit, '@', n);
	if (at)
		n = (size_t)(at - unit);
	if (n >= size)
		n = size - 1;
	memcpy(buf, unit, n);
	buf[n] = '\0';
}
