/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "confparse.h"
#include "confvalue.h"
#include "ratelimit.h"
#include "tenant.h"

/* A temporary root holding etc/, run/, usr/ and var/ as journald would see them. */
static char root[] = "/tmp/mpsr-limits-XXXXXX";

static void make_root(void) {
	cr_assert_not_null(mkdtemp(root));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void remove_root(void) {
	nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(limits, .init = make_root, .fini = remove_root);

/* mkdir -p of the directory part of path (relative to root). */
static void make_parents(const char *rel) {
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
}

static void put(const char *rel, const char *text) {
	char path[PATH_MAX];

	make_parents(rel);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void link_to(const char *rel, const char *target) {
	char path[PATH_MAX];

	make_parents(rel);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(symlink(target, path), 0, "%s: %s", path, strerror(errno));
}

static struct rate_limit conf(void) {
	struct rate_limit rl = {1, 1};
	cr_assert_eq(limits_journald_conf(root, &rl), 0);
	return rl;
}

/* Puts each file (a path under root, then its text; NULL ends them); returns conf()'s burst. */
__attribute__((sentinel)) static unsigned burst_with(const char *rel, ...) {
	va_list ap;

	va_start(ap, rel);
	for (; rel; rel = va_arg(ap, const char *))
		put(rel, va_arg(ap, const char *));
	va_end(ap);
	return conf().burst;
}

static void assert_limit(struct rate_limit rl, uint64_t interval_usec, unsigned burst) {
	cr_assert(rl.interval_usec == interval_usec && rl.burst == burst,
		  "%llu usec, burst %u; want %llu usec, burst %u",
		  (unsigned long long)rl.interval_usec, rl.burst, (unsigned long long)interval_usec,
		  burst);
}

#define ETC  "etc/systemd/journald.conf.d/"
#define RUN  "run/systemd/journald.conf.d/"
#define ULIB "usr/lib/systemd/journald.conf.d/"
#define LLIB "usr/local/lib/systemd/journald.conf.d/"

Test(limits, defaults_without_any_file) {
	assert_limit(conf(), 30000000, 10000);
}

Test(limits, main_file_and_old_key_name) {
	put("etc/systemd/journald.conf", "[Journal]\n#RateLimitBurst=5\nRateLimitInterval=1min\n"
					 "RateLimitBurst = 77 \n");
	assert_limit(conf(), 60000000, 77);
}

Test(limits, main_file_first_found_from_etc) {
	put("usr/lib/systemd/journald.conf", "[Journal]\nRateLimitBurst=1\n");
	cr_assert_eq(conf().burst, 1);
	put("etc/systemd/journald.conf", "[Journal]\nRateLimitIntervalSec=5s\n");
	struct rate_limit rl = conf();
	cr_assert_eq(rl.burst, 10000, "/usr/lib's main file is not read when /etc has one");
	cr_assert_eq(rl.interval_usec, 5000000);
}

Test(limits, dropins_override_main_in_lexical_order_across_dirs) {
	put("etc/systemd/journald.conf",
	    "[Journal]\nRateLimitBurst=10\nRateLimitIntervalSec=10s\n");
	put(ULIB "10-vendor.conf", "[Journal]\nRateLimitBurst=100\n");
	put(ETC "20-admin.conf", "[Journal]\nRateLimitBurst=200\nRateLimitIntervalSec=20s\n");
	put(RUN "30-runtime.conf", "[Journal]\nRateLimitBurst=300\n");
	put(LLIB "05-local.conf", "[Journal]\nRateLimitIntervalSec=99s\n");
	/* 30-runtime.conf is read last though /run ranks below /etc: order is by name. */
	assert_limit(conf(), 20000000, 300);
}

Test(limits, same_name_in_earlier_dir_hides_later) {
	cr_assert_eq(burst_with(ULIB "50-x.conf", "[Journal]\nRateLimitBurst=500\n",
				RUN "50-x.conf", "[Journal]\nRateLimitBurst=600\n", NULL),
		     600);
	cr_assert_eq(burst_with(ETC "50-x.conf", "", NULL), 10000,
		     "an empty file in /etc masks the others");
}

Test(limits, dev_null_link_masks) {
	put(ULIB "60-y.conf", "[Journal]\nRateLimitBurst=600\n");
	link_to(ETC "60-y.conf", "/dev/null");
	cr_assert_eq(conf().burst, 10000);
}

Test(limits, only_conf_files_count) {
	cr_assert_eq(burst_with(ETC "70-z.conf.bak", "[Journal]\nRateLimitBurst=1\n", ETC "README",
				"[Journal]\nRateLimitBurst=2\n", NULL),
		     10000);
}

Test(limits, zero_interval_or_burst_turns_both_off) {
	put(ETC "a.conf", "[Journal]\nRateLimitIntervalSec=0\n");
	assert_limit(conf(), 0, 0);
	put(ETC "a.conf", "[Journal]\nRateLimitBurst=0\n");
	assert_limit(conf(), 0, 0);
}

Test(limits, invalid_values_leave_the_earlier_one) {
	put("etc/systemd/journald.conf", "[Journal]\nRateLimitBurst=42\nRateLimitIntervalSec=2s\n");
	put(ETC "b.conf", "[Journal]\nRateLimitBurst=-1\nRateLimitBurst=12x\nRateLimitBurst=\n"
			  "RateLimitIntervalSec=soon\nRateLimitIntervalSec=-1s\n");
	assert_limit(conf(), 2000000, 42);
}

Test(limits, other_sections_and_stray_lines_ignored) {
	put(ETC "c.conf", "RateLimitBurst=1\n[Other]\nRateLimitBurst=2\n[Journal]\nno equals\n"
			  "=3\n; RateLimitBurst=5\n  # RateLimitBurst=6\n[Journal "
			  "]\nRateLimitBurst=4\n[Journal]\nRateLimitBurst=\\\n"
			  "55\n");
	cr_assert_eq(conf().burst, 55, "a backslash continues the line");
}

Test(limits, comments_as_systemd) {
	/* A comment ending in a backslash continues nothing. */
	cr_assert_eq(burst_with(ETC "f1.conf", "[Journal]\n; note \\\nRateLimitBurst=7\n", NULL),
		     7);
	/* A comment inside a continuation is left out of it. */
	cr_assert_eq(
		burst_with(ETC "f2.conf", "[Journal]\nRateLimitBurst=\\\n# between\n8\n", NULL), 8);
}

Test(limits, section_is_per_file) {
	cr_assert_eq(
		burst_with(ETC "d1.conf", "[Journal]\n", ETC "d2.conf", "RateLimitBurst=9\n", NULL),
		10000);
}

Test(limits, malformed_header_stops_reading) {
	put(ETC "e1.conf", "[Journal]\nRateLimitBurst=11\n[Journal\nRateLimitBurst=12\n");
	put(ETC "e2.conf", "[Journal]\nRateLimitBurst=13\n");
	struct rate_limit rl = {0};
	cr_assert_eq(limits_journald_conf(root, &rl), -EBADMSG);
	cr_assert_eq(rl.burst, 11);
}

Test(limits, timespans_as_systemd) {
	static const struct {
		const char *s;
		uint64_t usec;
	} ok[] = {
		{"30s", 30000000},
		{"1min", 60000000},
		{"500ms", 500000},
		{"0", 0},
		{"15", 15000000},
		{" 2 s ", 2000000},
		{"1min 30s", 90000000},
		{"1min30s", 90000000},
		{"1.5s", 1500000},
		{".5s", 500000},
		{"1.5", 1500000},
		{"2h", 7200000000},
		{"1d", 86400000000},
		{"1w", 604800000000},
		{"3us", 3},
		{"3\xc2\xb5s", 3},
		{"4msec", 4000},
		{"1 2", 3000000},
		{"5m", 300000000},
		{"1M", 2629800000000},
		{"infinity", UINT64_MAX},
		{"1y", 31557600000000},
	};
	static const char *const bad[] = {"",         " ",          "-1s",        "-0",
					  "1s-",      "soon",       "1.s",        "3.",
					  "12.34.56", "infinity s", "1 fortnight"};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(conf_parse_timespan(ok[i].s, &v), 0, "%s", ok[i].s);
		cr_assert_eq(v, ok[i].usec, "%s: %llu", ok[i].s, (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_lt(conf_parse_timespan(bad[i], &v), 0, "%s", bad[i]);
}

Test(limits, sizes_and_numbers_as_systemd) {
	uint64_t v;
	unsigned u;

	cr_assert_eq(conf_parse_size("4G", &v), 0);
	cr_assert_eq(v, 4ULL << 30);
	cr_assert_eq(conf_parse_size("1G 512M", &v), 0);
	cr_assert_eq(v, (1ULL << 30) + (512ULL << 20));
	cr_assert_eq(conf_parse_size("1.5K", &v), 0);
	cr_assert_eq(v, 1536);
	cr_assert_eq(conf_parse_size("100", &v), 0);
	cr_assert_eq(v, 100);
	cr_assert_lt(conf_parse_size("1M 1G", &v), 0, "suffixes only in decreasing order");
	cr_assert_lt(conf_parse_size("-1", &v), 0);
	cr_assert_lt(conf_parse_size("1X", &v), 0);
	cr_assert_eq(conf_parse_unsigned("0x10", &u), 0);
	cr_assert_eq(u, 16);
	cr_assert_eq(conf_parse_unsigned("010", &u), 0);
	cr_assert_eq(u, 8, "safe_atou() takes C's octal");
	cr_assert_eq(conf_parse_unsigned("0b11", &u), 0);
	cr_assert_eq(u, 3);
	cr_assert_lt(conf_parse_unsigned("4294967296", &u), 0);
	cr_assert_lt(conf_parse_unsigned("-3", &u), 0);
	cr_assert_lt(conf_parse_unsigned("3 ", &u), 0);
}

#define UNITS "run/systemd/units/"

static const struct rate_limit dflt = {30000000, 10000};

/* What PID 1 publishes for unit, over the defaults above. */
static struct rate_limit unit_limit(const char *unit) {
	struct rate_limit rl;

	cr_assert_eq(limits_for_unit(root, unit, &dflt, &rl), 0, "%s", unit);
	return rl;
}

Test(limits, unit_values_as_pid1_publishes_them) {
	link_to(UNITS "log-rate-limit-interval:rl.service", "2000000");
	link_to(UNITS "log-rate-limit-burst:rl.service", "77");
	assert_limit(unit_limit("rl.service"), 2000000, 77);
}

Test(limits, unit_values_fall_back_one_by_one) {
	link_to(UNITS "log-rate-limit-burst:b.service", "5");
	link_to(UNITS "log-rate-limit-interval:i.service", "1000");
	assert_limit(unit_limit("b.service"), 30000000, 5);
	assert_limit(unit_limit("i.service"), 1000, 10000);
	assert_limit(unit_limit("none.service"), 30000000, 10000);
}

Test(limits, unit_garbage_and_bad_names) {
	link_to(UNITS "log-rate-limit-burst:g.service", "lots");
	struct rate_limit rl = unit_limit("g.service");
	cr_assert_eq(rl.burst, 10000);
	cr_assert_eq(limits_for_unit(root, "../x", &dflt, &rl), -EINVAL);
	cr_assert_eq(limits_for_unit(root, "", &dflt, &rl), -EINVAL);
	cr_assert_eq(limits_for_unit(root, NULL, &dflt, &rl), -EINVAL);
	cr_assert_eq(rl.burst, 10000);
}

Test(limits, burst_modulation_as_journald) {
	cr_assert_eq(limits_modulate_burst(1000, 0), 1000);
	cr_assert_eq(limits_modulate_burst(1000, 1ULL << 20), 1000);
	cr_assert_eq(limits_modulate_burst(1000, (2ULL << 20) - 1), 1000);
	cr_assert_eq(limits_modulate_burst(1000, 2ULL << 20), 1250);
	cr_assert_eq(limits_modulate_burst(1000, 16ULL << 20), 2000);
	cr_assert_eq(limits_modulate_burst(1000, 256ULL << 20), 3000);
	cr_assert_eq(limits_modulate_burst(1000, (4ULL << 30) - 1), 3750);
	cr_assert_eq(limits_modulate_burst(1000, 4ULL << 30), 4000);
	cr_assert_eq(limits_modulate_burst(1000, 64ULL << 30), 5000);
	cr_assert_eq(limits_modulate_burst(10000, 1ULL << 40), 60000);
	cr_assert_eq(limits_modulate_burst(7, 3ULL << 30), 26, "rounded down: 7 * 15 / 4");
	cr_assert_eq(limits_modulate_burst(UINT_MAX, 1ULL << 63), UINT_MAX);
	cr_assert_eq(limits_modulate_burst(0, 1ULL << 40), 0);
}

#define MID "0123456789abcdef0123456789abcdef"

/* A journal file of n MiB with real blocks (journald counts st_blocks). */
static void journal_file(const char *dir, const char *name, unsigned mib) {
	char rel[PATH_MAX], path[PATH_MAX + 64];

	snprintf(rel, sizeof(rel), "%s/%s", dir, name);
	put(rel, "");
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	int fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(posix_fallocate(fd, 0, (off_t)mib << 20), 0);
	close(fd);
}

static uint64_t fs_size_of_root(void) {
	struct statvfs sv;
	cr_assert_eq(statvfs(root, &sv), 0);
	return (uint64_t)sv.f_frsize * sv.f_blocks;
}

Test(limits, available_is_max_use_less_used) {
	put("etc/machine-id", MID "\n");
	put("etc/systemd/journald.conf", "[Journal]\nSystemMaxUse=64M\nSystemKeepFree=1M\n");
	journal_file("var/log/journal/" MID, "system.journal", 4);
	journal_file("var/log/journal/" MID, "old.journal~", 2);
	journal_file("var/log/journal/" MID, "other.txt", 8);
	struct statvfs sv;
	cr_assert_eq(statvfs(root, &sv), 0);
	if ((uint64_t)sv.f_bsize * sv.f_bavail < (80ULL << 20))
		cr_skip_test("not enough free space here");
	cr_assert_eq(limits_journal_available(root), (64ULL - 6) << 20);
}

Test(limits, available_held_to_keep_free_but_not_below_min_use) {
	put("etc/machine-id", MID "\n");
	put("etc/systemd/journald.conf", "[Journal]\nSystemMaxUse=1G\nSystemKeepFree=1E\n");
	journal_file("var/log/journal/" MID, "system.journal", 2);
	uint64_t fs = fs_size_of_root(), min_use = fs / 50;
	/* journald's min_use: 2% of the file system within 1-16 MiB */
	min_use = min_use > (16ULL << 20)  ? 16ULL << 20
		  : min_use < (1ULL << 20) ? 1ULL << 20
					   : min_use;
	uint64_t want = min_use > (2ULL << 20) ? min_use - (2ULL << 20) : 0;
	uint64_t got = limits_journal_available(root);
	/* page alignment of min_use may add up to a page */
	cr_assert(got >= want && got <= want + 65536, "got %llu want %llu", (unsigned long long)got,
		  (unsigned long long)want);
}

Test(limits, available_from_runtime_journal_when_volatile_or_no_var) {
	put("etc/machine-id", MID "\n");
	put("etc/systemd/journald.conf", "[Journal]\nRuntimeMaxUse=32M\nSystemMaxUse=64M\n"
					 "RuntimeKeepFree=0\nSystemKeepFree=0\n");
	journal_file("run/log/journal/" MID, "system.journal", 1);
	cr_assert_eq(limits_journal_available(root), 31ULL << 20);
	journal_file("var/log/journal/" MID, "system.journal", 1);
	cr_assert_eq(limits_journal_available(root), 63ULL << 20);
	put(ETC "v.conf", "[Journal]\nStorage=volatile\n");
	cr_assert_eq(limits_journal_available(root), 31ULL << 20);
}

Test(limits, available_zero_without_journal_dir) {
	put("etc/machine-id", MID "\n");
	cr_assert_eq(limits_journal_available(root), 0);
}

Test(limits, overlong_root_is_an_error_not_another_file) {
	static char long_root[PATH_MAX + 16];
	struct rate_limit rl = {0};

	memset(long_root, 'x', sizeof(long_root) - 1);
	long_root[0] = '/';
	cr_assert_eq(limits_journald_conf(long_root, &rl), -ENAMETOOLONG);
	cr_assert_eq(rl.burst, 10000, "the defaults stand");
	cr_assert_eq(limits_journal_available(long_root), 0);
}

/* How many entries of a unit with journald.conf's 1 h / 10 its tenant admits in a row. */
static unsigned admitted(bool scaled) {
	struct tenants_config cfg = {.root = root, .limits = true, .scaled = scaled};
	struct tenants *ts;
	unsigned n = 0;

	put("etc/machine-id", MID "\n");
	put("etc/systemd/journald.conf",
	    "[Journal]\nRateLimitIntervalSec=1h\nRateLimitBurst=10\nSystemMaxUse=64M\n");
	make_parents("var/log/journal/" MID "/x");
	cr_assert_eq(tenants_new(&cfg, &ts), 0);
	struct tenant *t = tenants_get(ts, "flood.service", 1000);
	cr_assert_not_null(t);
	while (n < 1000 && tenant_admit(ts, t, 6, 1000000))
		n++;
	tenants_put(ts, t);
	tenants_free(ts);
	return n;
}

/* By default a unit is held to the burst as set; journald's free-space factor is not granted. */
Test(limits, a_unit_is_held_to_its_burst_as_set) {
	cr_assert_eq(admitted(false), 10);
}

/* --rate-limits=journald: the burst scaled as journald scales it (64 MiB of room: x2.5). */
Test(limits, journald_mode_scales_the_burst_by_free_space) {
	struct statvfs sv;
	cr_assert_eq(statvfs(root, &sv), 0);
	if ((uint64_t)sv.f_bsize * sv.f_bavail < (80ULL << 20))
		cr_skip_test("not enough free space here");
	cr_assert_eq(admitted(true), 25);
}
