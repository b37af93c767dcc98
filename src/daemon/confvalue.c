/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "confvalue.h"

#define WHITESPACE " \t\n\r"

struct suffix {
	const char *name;
	uint64_t factor;
};

/* parse_time()'s units; the longest matching name wins, as systemd's ordering makes it. */
static const struct suffix time_units[] = {
	{"seconds", 1000000ULL},
	{"second", 1000000ULL},
	{"sec", 1000000ULL},
	{"s", 1000000ULL},
	{"minutes", 60000000ULL},
	{"minute", 60000000ULL},
	{"min", 60000000ULL},
	{"m", 60000000ULL},
	{"months", 2629800000000ULL},
	{"month", 2629800000000ULL},
	{"M", 2629800000000ULL},
	{"msec", 1000ULL},
	{"ms", 1000ULL},
	{"hours", 3600000000ULL},
	{"hour", 3600000000ULL},
	{"hr", 3600000000ULL},
	{"h", 3600000000ULL},
	{"days", 86400000000ULL},
	{"day", 86400000000ULL},
	{"d", 86400000000ULL},
	{"weeks", 604800000000ULL},
	{"week", 604800000000ULL},
	{"w", 604800000000ULL},
	{"years", 31557600000000ULL},
	{"year", 31557600000000ULL},
	{"y", 31557600000000ULL},
	{"usec", 1ULL},
	{"us", 1ULL},
	{"\xce\xbcs", 1ULL}, /* GREEK SMALL LETTER MU */
	{"\xc2\xb5s", 1ULL}, /* MICRO SIGN */
};

/* The unit name p starts with (the longest), or NULL. */
static const struct suffix *time_unit(const char *p) {
	const struct suffix *best = NULL;

	for (size_t i = 0; i < sizeof(time_units) / sizeof(time_units[0]); i++) {
		size_t k = strlen(time_units[i].name);
		if (strncmp(p, time_units[i].name, k) == 0 && (!best || k > strlen(best->name)))
			best = &time_units[i];
	}
	return best;
}

static int add_checked(uint64_t *r, uint64_t k) {
	if (k >= UINT64_MAX - *r)
		return -ERANGE;
	*r += k;
	return 0;
}

/* One "NUMBER[.DIGITS][ ]UNIT" component at *pp; adds it to *r and advances *pp. */
static int timespan_component(const char **pp, uint64_t *r) {
	const char *p = *pp, *frac = NULL;
	uint64_t factor = 1000000ULL; /* bare numbers are seconds */
	char *e;

	if (*p == '-')
		return -ERANGE;
	errno = 0;
	long long l = strtoll(p, &e, 10);
	if (errno > 0)
		return -errno;
	if (l < 0)
		return -ERANGE;
	if (*e == '.') {
		frac = e + 1;
		p = frac + strspn(frac, "0123456789");
	} else if (e == p)
		return -EINVAL;
	else
		p = e;
	const char *u = p + strspn(p, WHITESPACE);
	const struct suffix *unit = time_unit(u);
	if (unit) {
		factor = unit->factor;
		p = u + strlen(unit->name);
	} else if (u == p && *p != '\0')
		return -EINVAL; /* "12.34.56": a number glued to something that is no unit */
	else
		p = u;
	if ((uint64_t)l >= UINT64_MAX / factor || add_checked(r, (uint64_t)l * factor) < 0)
		return -ERANGE;
	if (frac) {
		const char *b = frac;
		for (uint64_t m = factor / 10; *b >= '0' && *b <= '9'; b++, m /= 10)
			if (add_checked(r, (uint64_t)(*b - '0') * m) < 0)
				return -ERANGE;
		if (b == frac)
			return -EINVAL; /* "3." or "3.s" */
	}
	*pp = p;
	return 0;
}

int conf_parse_timespan(const char *s, uint64_t *ret_usec) {
	const char *p = s + strspn(s, WHITESPACE);
	uint64_t r = 0;
	bool something = false;

	if (strncmp(p, "infinity", 8) == 0) {
		p += 8;
		if (p[strspn(p, WHITESPACE)] != '\0')
			return -EINVAL;
		*ret_usec = UINT64_MAX;
		return 0;
	}
	for (;;) {
		p += strspn(p, WHITESPACE);
		if (*p == '\0')
			break;
		int k = timespan_component(&p, &r);
		if (k < 0)
			return k;
		something = true;
	}
	if (!something)
		return -EINVAL;
	*ret_usec = r;
	return 0;
}

/* parse_size()'s IEC suffixes, each usable once and in this order ("1G 512M"). */
static const struct suffix size_units[] = {
	{"E", 1ULL << 60}, {"P", 1ULL << 50}, {"T", 1ULL << 40}, {"G", 1ULL << 30},
	{"M", 1ULL << 20}, {"K", 1ULL << 10}, {"B", 1},          {"", 1},
};

int conf_parse_size(const char *s, uint64_t *ret_bytes) {
	const size_t n_units = sizeof(size_units) / sizeof(size_units[0]);
	const char *p = s;
	uint64_t r = 0;
	size_t start = 0;

	do {
		double frac = 0;
		char *e;
		size_t i;

		p += strspn(p, WHITESPACE);
		errno = 0;
		unsigned long long l = strtoull(p, &e, 10);
		if (errno > 0)
			return -errno;
		if (e == p)
			return -EINVAL;
		if (*p == '-')
			return -ERANGE;
		if (*e == '.' && isdigit((unsigned char)e[1])) {
			char *e2;
			frac = (double)strtoull(e + 1, &e2, 10);
			for (e++; e < e2; e++)
				frac /= 10;
		} else if (*e == '.')
			e++;
		e += strspn(e, WHITESPACE);
		for (i = start; i < n_units; i++)
			if (strncmp(e, size_units[i].name, strlen(size_units[i].name)) == 0)
				break;
		if (i == n_units)
			return -EINVAL;
		uint64_t factor = size_units[i].factor;
		if (l + (frac > 0) > UINT64_MAX / factor)
			return -ERANGE;
		uint64_t k = l * factor + (uint64_t)(frac * (double)factor);
		if (k > UINT64_MAX - r)
			return -ERANGE;
		r += k;
		p = e + strlen(size_units[i].name);
		start = i + 1;
	} while (*p);
	*ret_bytes = r;
	return 0;
}

int conf_parse_u64(const char *s, uint64_t *ret) {
	int base = 0;
	char *x;

	s += strspn(s, WHITESPACE);
	if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		base = 2, s += 2;
	else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		base = 8, s += 2;
	errno = 0;
	unsigned long long l = strtoull(s, &x, base);
	if (errno > 0)
		return -errno;
	if (x == s || *x != '\0')
		return -EINVAL;
	if (l != 0 && s[0] == '-')
		return -ERANGE;
	*ret = l;
	return 0;
}

int conf_parse_unsigned(const char *s, unsigned *ret) {
	uint64_t v;
	int r = conf_parse_u64(s, &v);

	if (r < 0)
		return r;
	if (v > UINT_MAX)
		return -ERANGE;
	*ret = (unsigned)v;
	return 0;
}
