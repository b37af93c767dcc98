/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cgroup.h"
#include "macro.h"

int cgroup_parse(FILE *f, char *buf, size_t size) {
	static const char *const keys[] = {":name=systemd:/", "0::/"};
	_cleanup_(freep) char *line = NULL;
	size_t cap = 0;
	int found = 2, r = -ENOENT;

	for (ssize_t n; found > 0 && (n = getline(&line, &cap, f)) > 0;) {
		/* Only whole lines: the last one may lack its newline. */
		for (int k = 0; k < found; k++) {
			char *at = k == 0 ? strchr(line, ':') : line;
			size_t skip = strlen(keys[k]) - 1;
			if (!at || strncmp(at, keys[k], skip + 1) != 0)
				continue;
			at += skip;
			size_t len = strcspn(at, "\n");
			found = k;
			if (len >= size) {
				r = -ENAMETOOLONG;
				break;
			}
			memcpy(buf, at, len);
			buf[len] = '\0';
			r = 0;
			break;
		}
	}
	return r;
}

int cgroup_beside(const char *own, const char *unit, char *buf, size_t size) {
	const char *end = own + strlen(own);

	if (*own != '/' || strchr(unit, '/') || !*unit)
		return -EINVAL;
	for (int up = 0; up < 2; up++) {
		while (end > own && end[-1] != '/')
			end--;
		if (end <= own + 1) /* at the root: nothing two levels up */
			return -ENOENT;
		end--;
	}
	size_t n = (size_t)(end - own), k = strlen(unit);
	if (n + 1 + k >= size)
		return -ENAMETOOLONG;
	memcpy(buf, own, n);
	buf[n] = '/';
	memcpy(buf + n + 1, unit, k + 1);
	return 0;
}
