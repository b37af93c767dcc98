/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdarg.h>

#include "options.h"
#include "protocol.h"

#define MAX_ARGS 16

/* Parses "mpsrd" followed by the given arguments (NULL-terminated) into *o. */
static int parse(struct options *o, ...) {
	char *argv[MAX_ARGS] = {"mpsrd"};
	int argc = 1;
	va_list ap;

	options_init(o);
	va_start(ap, o);
	for (char *a; (a = va_arg(ap, char *)) && argc < MAX_ARGS - 1;)
		argv[argc++] = a;
	va_end(ap);
	return options_parse(argc, argv, o);
}

static void quiet(void) {
	cr_redirect_stdout();
	cr_redirect_stderr();
}

Test(options, defaults_without_arguments) {
	struct options o;

	cr_assert_gt(parse(&o, NULL), 0);
	cr_assert_eq(o.line_max, MPSR_LINE_MAX_DEFAULT);
	cr_assert_eq(o.priority, MPSR_PRIORITY_DEFAULT);
	cr_assert_eq(o.max_connections, 0); /* derived at start from the limits (inflight.h) */
	cr_assert_eq(o.stop_timeout_usec, 60ull * 1000000);
	cr_assert_eq(o.unfinished_max, 64u << 20);
	cr_assert_eq(o.exit_idle, 0);
	cr_assert_eq(o.n_listen, 0);
	cr_assert(!o.fd_store && !o.stream_transport);
}

Test(options, every_option_takes_its_value) {
	struct options o;

	cr_assert_gt(parse(&o, "--line-max=1000", "-p", "3", "--max-connections=7", "--exit-idle=5",
			   "--stop-timeout=2", "--fd-store", "--unfinished-max=0", "-l", "/a",
			   "--listen=/b", NULL),
		     0);
	cr_assert_eq(o.line_max, 1000);
	cr_assert_eq(o.priority, 3);
	cr_assert_eq(o.max_connections, 7);
	cr_assert_eq(o.exit_idle, 5);
	cr_assert_eq(o.stop_timeout_usec, 2000000);
	cr_assert(o.fd_store);
	cr_assert_eq(o.unfinished_max, 0);
	cr_assert_eq(o.n_listen, 2);
	cr_assert_str_eq(o.listen_path[0], "/a");
	cr_assert_str_eq(o.listen_path[1], "/b");
}

/* Each option at its limits: the bounds are taken, one past them is refused. */
Test(options, limits_are_inclusive, .init = quiet) {
	static const struct {
		const char *ok, *bad;
	} cases[] = {
		{"--line-max=64", "--line-max=63"},
		{"--line-max=16777216", "--line-max=16777217"},
		{"--priority=0", "--priority=8"},
		{"--priority=7", "--priority=-1"},
		{"--max-connections=1", "--max-connections=0"},
		{"--max-connections=1048576", "--max-connections=1048577"},
		{"--exit-idle=4294967295", "--exit-idle=4294967296"},
		{"--stop-timeout=86400", "--stop-timeout=86401"},
		{"--unfinished-max=1099511627776", "--unfinished-max=1099511627777"},
	};
	struct options o;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_gt(parse(&o, cases[i].ok, NULL), 0, "%s", cases[i].ok);
		cr_expect_eq(parse(&o, cases[i].bad, NULL), -EINVAL, "%s", cases[i].bad);
	}
	cr_assert_gt(parse(&o, "--line-max=16777216", NULL), 0);
	cr_assert_eq(o.line_max, 16u << 20);
}

Test(options, malformed_numbers_are_refused, .init = quiet) {
	static const char *const bad[] = {
		"",   "abc", "12abc", "0x10", " 5",
		"+5", "-0",  "5 ",    "1e3",  "99999999999999999999999",
	};
	struct options o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(parse(&o, "--line-max", bad[i], NULL), -EINVAL, "'%s'", bad[i]);
		cr_expect_eq(parse(&o, "--stop-timeout", bad[i], NULL), -EINVAL, "'%s'", bad[i]);
	}
}

Test(options, bad_command_lines_are_refused, .init = quiet) {
	struct options o;

	cr_assert_eq(parse(&o, "--no-such-option", NULL), -EINVAL);
	cr_assert_eq(parse(&o, "stray", NULL), -EINVAL);
	cr_assert_eq(parse(&o, "--transport=udp", NULL), -EINVAL);
	cr_assert_eq(parse(&o, "--line-max", NULL), -EINVAL);
	cr_assert_eq(parse(&o, "--fd-store=yes", NULL), -EINVAL);
}

Test(options, at_most_eight_listen_paths, .init = quiet) {
	struct options o;

	cr_assert_gt(parse(&o, "-l1", "-l2", "-l3", "-l4", "-l5", "-l6", "-l7", "-l8", NULL), 0);
	cr_assert_eq(o.n_listen, 8);
	cr_assert_eq(parse(&o, "-l1", "-l2", "-l3", "-l4", "-l5", "-l6", "-l7", "-l8", "-l9", NULL),
		     -EINVAL);
}

/* journald's stdout stream cuts at 48 KiB, "<N>" and '\n' included. */
Test(options, stream_transport_caps_line_max) {
	struct options o;

	cr_assert_gt(parse(&o, "--transport=stream", "--line-max=1000000", NULL), 0);
	cr_assert(o.stream_transport);
	cr_assert_eq(o.line_max, 48 * 1024 - 4);
	cr_assert_gt(parse(&o, "--transport=stream", "--line-max=1000", NULL), 0);
	cr_assert_eq(o.line_max, 1000);
	cr_assert_gt(parse(&o, "--transport=native", "--line-max=1000000", NULL), 0);
	cr_assert_eq(o.line_max, 1000000);
}

Test(options, help_and_version_exit_successfully, .init = quiet) {
	struct options o;

	cr_assert_eq(parse(&o, "--help", NULL), 0);
	cr_assert_eq(parse(&o, "--version", "--line-max=1", NULL), 0);
	fflush(stdout);
	cr_assert_stdout_neq_str("");
}

/* A second parse starts over (getopt keeps its place in globals). */
Test(options, parses_twice) {
	struct options o;

	cr_assert_gt(parse(&o, "-p", "2", NULL), 0);
	cr_assert_gt(parse(&o, "-p", "5", NULL), 0);
	cr_assert_eq(o.priority, 5);
}

Test(options, rate_limits_as_set_by_default, .init = quiet) {
	struct options o;

	cr_assert_gt(parse(&o, NULL), 0);
	cr_assert_eq(o.rate_limits, RATE_LIMITS_AS_SET);
	cr_assert_gt(parse(&o, "--rate-limits=journald", NULL), 0);
	cr_assert_eq(o.rate_limits, RATE_LIMITS_JOURNALD);
	cr_assert_gt(parse(&o, "--rate-limits=as-set", NULL), 0);
	cr_assert_eq(o.rate_limits, RATE_LIMITS_AS_SET);
	cr_assert_gt(parse(&o, "--rate-limits=off", NULL), 0);
	cr_assert_eq(o.rate_limits, RATE_LIMITS_OFF);
	cr_assert_eq(parse(&o, "--rate-limits=scaled", NULL), -EINVAL);
}
