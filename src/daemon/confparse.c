/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confparse.h"

#define WHITESPACE " \t\n\r"

/* Where systemd looks for NAME and NAME.d, most important first. */
static const char *const conf_dirs[] = {
	"/etc/systemd",     "/run/systemd", "/usr/local/lib/systemd",
	"/usr/lib/systemd", "/lib/systemd",
};
enum { MAIN_DIRS = 4 }; /* the main file is not looked for under /lib */

struct dropins {
	char **paths; /* sorted by file name once collected */
	size_t n, cap;
};

static const char *file_name(const char *path) {
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static bool dropins_has(const struct dropins *d, const char *name) {
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(file_name(d->paths[i]), name) == 0)
			return true;
	return false;
}

static int dropins_add(struct dropins *d, const char *dir, const char *name) {
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 8;
		char **p = realloc(d->paths, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->paths = p;
		d->cap = cap;
	}
	if (asprintf(&d->paths[d->n], "%s/%s", dir, name) < 0)
		return -ENOMEM;
	d->n++;
	return 0;
}

static void dropins_free(struct dropins *d) {
	for (size_t i = 0; i < d->n; i++)
		free(d->paths[i]);
	free(d->paths);
}

static bool ends_with(const char *s, const char *suffix) {
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Adds dir's *.conf whose names no earlier directory had: systemd's override by name. */
static int dropins_scan(struct dropins *d, const char *dir) {
	DIR *dp = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!dp)
		return 0; /* as systemd: a directory that cannot be opened adds nothing */
	while (r == 0 && (de = readdir(dp)))
		if (de->d_name[0] != '.' && ends_with(de->d_name, ".conf") &&
		    !dropins_has(d, de->d_name))
			r = dropins_add(d, dir, de->d_name);
	closedir(dp);
	return r;
}

static int by_file_name(const void *a, const void *b) {
	return strcmp(file_name(*(char *const *)a), file_name(*(char *const *)b));
}

static char *strip(char *s) {
	s += strspn(s, WHITESPACE);
	size_t n = strlen(s);
	while (n > 0 && strchr(WHITESPACE, s[n - 1]))
		s[--n] = '\0';
	return s;
}

struct parse_state {
	const char *section; /* the wanted one */
	bool in_section;
	conf_assign_fn fn;
	void *data;
};

/* One logical line; -EBADMSG for a malformed section header, which ends the reading. */
static int parse_line(struct parse_state *st, char *l) {
	l = strip(l);
	if (*l == '\0')
		return 0;
	if (*l == '[') {
		size_t n = strlen(l);
		if (l[n - 1] != ']')
			return -EBADMSG;
		l[n - 1] = '\0';
		st->in_section = strcmp(l + 1, st->section) == 0;
		return 0;
	}
	char *eq = strchr(l, '=');
	if (!st->in_section || !eq || eq == l)
		return 0; /* systemd warns and goes on */
	*eq = '\0';
	st->fn(strip(l), strip(eq + 1), st->data);
	return 0;
}

/* Whether the line ends in an unescaped backslash; if so it is replaced by a blank. */
static bool continues(char *l) {
	bool escaped = false;
	char *e;

	for (e = l; *e; e++)
		escaped = !escaped && *e == '\\';
	if (escaped)
		e[-1] = ' ';
	return escaped;
}

static int append(char **cont, size_t *len, const char *l) {
	size_t k = strlen(l);
	char *p = realloc(*cont, *len + k + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p + *len, l, k + 1);
	*cont = p;
	*len += k;
	return 0;
}

/* One file, as systemd's config_parse(): 0 read or absent, or a negative errno. */
static int parse_file(struct parse_state *st, const char *path) {
	FILE *f = fopen(path, "re");
	char *buf = NULL, *cont = NULL;
	size_t size = 0, len = 0;
	int r = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	st->in_section = false;
	while (r == 0 && getline(&buf, &size, f) >= 0) {
		char *l = buf + strspn(buf, WHITESPACE);
		if (*l == '#' || *l == ';')
			continue; /* even inside a continuation, as systemd */
		buf[strcspn(buf, "\n")] = '\0';
		r = append(&cont, &len, buf);
		if (r == 0 && !continues(cont)) {
			r = parse_line(st, cont);
			len = 0;
			cont[0] = '\0';
		}
	}
	if (r == 0 && ferror(f))
		r = -EIO;
	if (r == 0 && len > 0)
		r = parse_line(st, cont);
	free(cont);
	free(buf);
	fclose(f);
	return r;
}

int conf_path(char *buf, size_t size, const char *root, const char *fmt, ...) {
	va_list ap;
	int n = snprintf(buf, size, "%s", root ? root : "");

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	int k = vsnprintf(buf + n, size - (size_t)n, fmt, ap);
	va_end(ap);
	return k < 0 || (size_t)k >= size - (size_t)n ? -ENAMETOOLONG : 0;
}

int conf_read(const char *root, const char *name, const char *section, conf_assign_fn fn,
	      void *data) {
	struct parse_state st = {.section = section, .fn = fn, .data = data};
	struct dropins d = {0};
	char path[PATH_MAX], dname[NAME_MAX + 1];
	int r = 0;

	for (size_t i = 0; r == 0 && i < MAIN_DIRS; i++) {
		r = conf_path(path, sizeof(path), root, "%s/%s", conf_dirs[i], name);
		if (r == 0 && access(path, F_OK) == 0) {
			r = parse_file(&st, path);
			break;
		}
	}
	if (snprintf(dname, sizeof(dname), "%s.d", name) >= (int)sizeof(dname))
		return -ENAMETOOLONG;
	for (size_t i = 0; r >= 0 && i < sizeof(conf_dirs) / sizeof(conf_dirs[0]); i++) {
		r = conf_path(path, sizeof(path), root, "%s/%s", conf_dirs[i], dname);
		if (r == 0)
			r = dropins_scan(&d, path);
	}
	if (r >= 0 && d.n > 0)
		qsort(d.paths, d.n, sizeof(*d.paths), by_file_name);
	for (size_t i = 0; r >= 0 && i < d.n; i++)
		r = parse_file(&st, d.paths[i]);
	dropins_free(&d);
	return r < 0 ? r : 0;
}
