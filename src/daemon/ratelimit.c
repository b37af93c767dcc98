/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "confparse.h"
#include "confvalue.h"
#include "ratelimit.h"

/* What of journald.conf decides a unit's limit and the space journald sees. */
struct journald_conf {
	struct rate_limit rl;
	bool volatile_storage; /* Storage=volatile or none: only /run/log/journal */
	uint64_t max_use[2], keep_free[2], max_file_size[2]; /* [0] System, [1] Runtime; */
							     /* UINT64_MAX: unset */
};

static void set_size(uint64_t *v, const char *value) {
	uint64_t b;
	if (conf_parse_size(value, &b) == 0)
		*v = b;
}

/* As journald's config_parse_sec/unsigned: an invalid value is ignored, the earlier one stays. */
static void journald_assign(const char *key, const char *value, void *data) {
	struct journald_conf *c = data;
	uint64_t usec;

	if (strcmp(key, "RateLimitIntervalSec") == 0 || strcmp(key, "RateLimitInterval") == 0) {
		if (conf_parse_timespan(value, &usec) == 0)
			c->rl.interval_usec = usec;
	} else if (strcmp(key, "RateLimitBurst") == 0)
		(void)conf_parse_unsigned(value, &c->rl.burst);
	else if (strcmp(key, "Storage") == 0)
		c->volatile_storage = strcmp(value, "volatile") == 0 || strcmp(value, "none") == 0;
	else {
		static const char *const names[][2] = {
			{"SystemMaxUse", "RuntimeMaxUse"},
			{"SystemKeepFree", "RuntimeKeepFree"},
			{"SystemMaxFileSize", "RuntimeMaxFileSize"},
		};
		uint64_t *fields[] = {c->max_use, c->keep_free, c->max_file_size};
		for (int i = 0; i < 3; i++)
			for (int s = 0; s < 2; s++)
				if (strcmp(key, names[i][s]) == 0)
					set_size(&fields[i][s], value);
	}
}

static int journald_conf_read(const char *root, struct journald_conf *c) {
	*c = (struct journald_conf){
		.rl = {LIMITS_DEFAULT_INTERVAL_USEC, LIMITS_DEFAULT_BURST},
		.max_use = {UINT64_MAX, UINT64_MAX},
		.keep_free = {UINT64_MAX, UINT64_MAX},
		.max_file_size = {UINT64_MAX, UINT64_MAX},
	};
	int r = conf_read(root, "journald.conf", "Journal", journald_assign, c);
	/* journald: "one set to 0 and the other not" turns both off. */
	if (c->rl.interval_usec == 0 || c->rl.burst == 0)
		c->rl = (struct rate_limit){0, 0};
	return r;
}

int limits_journald_conf(const char *root, struct rate_limit *ret) {
	struct journald_conf c;
	int r = journald_conf_read(root, &c);

	*ret = c.rl;
	return r;
}

/* A unit name as it can appear in a symlink's name: no path, no dot files. */
static bool unit_name_ok(const char *unit) {
	size_t n = unit ? strlen(unit) : 0;
	return n > 0 && n < 256 && unit[0] != '.' && !strchr(unit, '/');
}

/* The target of /run/systemd/units/PREFIX:UNIT as a number, as journald's safe_atou64(). */
static int read_published(const char *root, const char *prefix, const char *unit, uint64_t *ret) {
	char path[PATH_MAX], target[64];

	int r = conf_path(path, sizeof(path), root, "/run/systemd/units/%s:%s", prefix, unit);
	if (r < 0)
		return r;
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	return conf_parse_u64(target, ret);
}

int limits_for_unit(const char *root, const char *unit, const struct rate_limit *dflt,
		    struct rate_limit *ret) {
	uint64_t v;

	*ret = *dflt;
	if (!unit_name_ok(unit))
		return -EINVAL;
	if (read_published(root, "log-rate-limit-interval", unit, &v) == 0)
		ret->interval_usec = v;
	if (read_published(root, "log-rate-limit-burst", unit, &v) == 0 && v <= UINT_MAX)
		ret->burst = (unsigned)v;
	return 0;
}

static unsigned log2_floor(uint64_t x) {
	return x ? 63 - (unsigned)__builtin_clzll(x) : 0;
}

unsigned limits_modulate_burst(unsigned burst, uint64_t available_bytes) {
	unsigned k = log2_floor(available_bytes);

	if (k <= 20)
		return burst;
	uint64_t b = (uint64_t)burst * (k - 16) / 4;
	return b > UINT_MAX ? UINT_MAX : (unsigned)b;
}

static bool is_journal_file(const char *name) {
	size_t n = strlen(name);
	return (n > 8 && strcmp(name + n - 8, ".journal") == 0) ||
	       (n > 9 && strcmp(name + n - 9, ".journal~") == 0);
}

/* journald's determine_path_usage(): the blocks of dir's journal files, and the free bytes. */
static int path_usage(const char *dir, uint64_t *used, uint64_t *avail, uint64_t *fs_size) {
	DIR *d = opendir(dir);
	struct statvfs sv;
	struct dirent *de;
	struct stat st;

	if (!d)
		return -errno;
	if (fstatvfs(dirfd(d), &sv) < 0) {
		int r = -errno;
		closedir(d);
		return r;
	}
	*avail = (uint64_t)sv.f_bsize * sv.f_bavail;
	*fs_size = (uint64_t)sv.f_frsize * sv.f_blocks;
	*used = 0;
	while ((de = readdir(d)))
		if (is_journal_file(de->d_name) &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			*used += (uint64_t)st.st_blocks * 512;
	closedir(d);
	return 0;
}

static uint64_t page_align(uint64_t x) {
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	return (x + page - 1) / page * page;
}

static uint64_t clamp(uint64_t x, uint64_t lo, uint64_t hi) {
	return x > hi ? hi : x < lo ? lo : x; /* hi wins, as systemd's CLAMP */
}

#define MiB (1024ULL * 1024ULL)

/*
 * journald's journal_default_metrics() for the storage in use (s: 0 system,
 * 1 runtime): max_use 10% of the file system within 1 MiB–4 GiB, min_use 2%
 * within 1–16 MiB, keep_free 5% up to 4 GiB, max_use at least twice the
 * largest file (1/8 of max_use up to 128 MiB, at least 512 KiB).
 */
static void default_metrics(const struct journald_conf *c, int s, uint64_t fs_size,
			    uint64_t *max_use, uint64_t *min_use, uint64_t *keep_free) {
	uint64_t mu = c->max_use[s], size = c->max_file_size[s];

	if (mu == UINT64_MAX)
		mu = fs_size ? clamp(page_align(fs_size / 10), MiB, 4096 * MiB) : MiB;
	else if (mu != 0 && page_align(mu) < MiB)
		mu = MiB;
	else
		mu = page_align(mu);
	*min_use = fs_size ? clamp(page_align(fs_size / 50), MiB, 16 * MiB) : MiB;
	if (size == UINT64_MAX)
		size = page_align(mu / 8) < 128 * MiB ? page_align(mu / 8) : 128 * MiB;
	else
		size = page_align(size);
	if (size != 0) {
		if (size < MiB / 2)
			size = MiB / 2;
		if (mu != 0 && size * 2 > mu)
			mu = size * 2;
	}
	if (*min_use > mu)
		*min_use = mu;
	*max_use = mu;
	*keep_free = c->keep_free[s];
	if (*keep_free == UINT64_MAX)
		*keep_free =
			fs_size ? (page_align(fs_size / 20) < 4096 * MiB ? page_align(fs_size / 20)
									 : 4096 * MiB)
				: MiB;
}

static int machine_id(const char *root, char id[33]) {
	char path[PATH_MAX];
	FILE *f;

	if (conf_path(path, sizeof(path), root, "/etc/machine-id") < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	int ok = fscanf(f, "%32s", id) == 1 && strlen(id) == 32;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

uint64_t limits_journal_available(const char *root) {
	struct journald_conf c;
	uint64_t used = 0, avail = 0, fs_size = 0, max_use, min_use, keep_free;
	char id[33], dir[PATH_MAX];
	int s = 0;

	(void)journald_conf_read(root, &c);
	if (machine_id(root, id) < 0)
		return 0;
	if (conf_path(dir, sizeof(dir), root, "/var/log/journal/%s", id) < 0)
		return 0;
	if (c.volatile_storage || access(dir, F_OK) < 0) {
		s = 1;
		if (conf_path(dir, sizeof(dir), root, "/run/log/journal/%s", id) < 0)
			return 0;
	}
	if (path_usage(dir, &used, &avail, &fs_size) < 0)
		return 0;
	default_metrics(&c, s, fs_size, &max_use, &min_use, &keep_free);
	avail = avail > keep_free ? avail - keep_free : 0;
	uint64_t limit = clamp(used + avail, min_use, max_use);
	return limit > used ? limit - used : 0;
}
