/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "protocol.h"

#define JOURNALD_LINE_MAX (48 * 1024)
#define STOP_TIMEOUT_USEC (60ull * 1000000)
#define UNFINISHED_MAX    (64u << 20) /* bytes of unfinished lines kept, for all producers */

void options_init(struct options *o) {
	*o = (struct options){
		.line_max = MPSR_LINE_MAX_DEFAULT,
		.priority = MPSR_PRIORITY_DEFAULT,
		.max_connections = 0, /* derived at start: inflight.h */
		.max_per_user = UINT_MAX,
		.stop_timeout_usec = STOP_TIMEOUT_USEC,
		.unfinished_max = UNFINISHED_MAX,
	};
}

void options_help(void) {
	printf("Usage: mpsrd [OPTIONS]\n\n"
	       "Relays lines written to its sockets into the systemd journal.\n\n"
	       "  -h --help                 Show this help\n"
	       "     --version              Show the version\n"
	       "  -l --listen=PATH          Bind a stream socket at PATH when not "
	       "socket-activated\n"
	       "     --line-max=BYTES       Split longer lines (default 49152)\n"
	       "  -p --priority=N           Priority of lines without <N> prefix (default 6)\n"
	       "     --max-connections=N    Pause accepting at N producers (default 8192 with\n"
	       "                            --fd-store, 16384 without; lowered to what\n"
	       "                            LimitNOFILE= and the kernel allow, see mpsrd(8))\n"
	       "     --max-connections-per-user=N\n"
	       "                            Close a uid's new connections beyond N; root has\n"
	       "                            no share (default: a quarter of --max-connections;\n"
	       "                            0: no share)\n"
	       "     --rate-limits=as-set|journald|off\n"
	       "                            Hold each unit to its journald rate limit, by\n"
	       "                            reading it more slowly: as set (the default), or\n"
	       "                            with the burst scaled by free space as journald\n"
	       "                            scales it\n"
	       "     --exit-idle=SECONDS    Exit after SECONDS without producers (default 0: "
	       "never)\n"
	       "     --stop-timeout=SECONDS At stop, wait this long at most for journald to\n"
	       "                            take what producers sent (default 60)\n"
	       "     --fd-store             Keep connections in systemd's fd store across "
	       "restarts\n"
	       "     --unfinished-max=BYTES With --fd-store: unfinished lines kept across\n"
	       "                            restarts and crashes, for all producers; beyond,\n"
	       "                            one is written as it stands (default 67108864)\n"
	       "     --transport=native|stream\n"
	       "                            How stream producers' lines reach journald: one\n"
	       "                            entry with the producer's fields each (native, the\n"
	       "                            default), or journald's stdout stream (faster;\n"
	       "                            identifier and priority only, see mpsrd(8))\n"
	       "\nSee mpsrd(8).\n");
}

/* A decimal number in [min, max]: digits only (no sign, no blanks, no 0x), nothing after. */
static int parse_uint(const char *s, unsigned long long min, unsigned long long max,
		      unsigned long long *ret) {
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || !isdigit((unsigned char)s[0]) || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

enum {
	ARG_VERSION = 0x100,
	ARG_LINE_MAX,
	ARG_MAX_CONN,
	ARG_EXIT_IDLE,
	ARG_STOP_TIMEOUT,
	ARG_FD_STORE,
	ARG_TRANSPORT,
	ARG_UNFINISHED_MAX,
	ARG_MAX_PER_USER,
	ARG_RATE_LIMITS
};

static const struct option long_options[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, ARG_VERSION},
	{"listen", required_argument, NULL, 'l'},
	{"line-max", required_argument, NULL, ARG_LINE_MAX},
	{"priority", required_argument, NULL, 'p'},
	{"max-connections", required_argument, NULL, ARG_MAX_CONN},
	{"exit-idle", required_argument, NULL, ARG_EXIT_IDLE},
	{"stop-timeout", required_argument, NULL, ARG_STOP_TIMEOUT},
	{"fd-store", no_argument, NULL, ARG_FD_STORE},
	{"transport", required_argument, NULL, ARG_TRANSPORT},
	{"unfinished-max", required_argument, NULL, ARG_UNFINISHED_MAX},
	{"max-connections-per-user", required_argument, NULL, ARG_MAX_PER_USER},
	{"rate-limits", required_argument, NULL, ARG_RATE_LIMITS},
	{0},
};

/* The options that take a number: its range, and what is said of a value out of it. */
static const struct {
	int c;
	unsigned long long min, max;
	const char *error;
} numbers[] = {
	{ARG_LINE_MAX, 64, 16u << 20, "--line-max takes 64 to 16777216 bytes"},
	{'p', 0, 7, "--priority takes 0 to 7"},
	{ARG_MAX_CONN, 1, 1u << 20, "bad --max-connections"},
	{ARG_MAX_PER_USER, 0, 1u << 20, "bad --max-connections-per-user"},
	{ARG_EXIT_IDLE, 0, UINT_MAX, "bad --exit-idle"},
	{ARG_STOP_TIMEOUT, 0, 86400, "--stop-timeout takes 0 to 86400 seconds"},
	{ARG_UNFINISHED_MAX, 0, 1ULL << 40, "--unfinished-max takes 0 to 2^40 bytes"},
};

/* Option c's number, if it takes one: 1 (in *ret), 0 if it takes none, -EINVAL (logged). */
static int parse_number(int c, const char *arg, unsigned long long *ret) {
	for (size_t i = 0; i < ARRAY_SIZE(numbers); i++)
		if (numbers[i].c == c) {
			if (parse_uint(arg, numbers[i].min, numbers[i].max, ret) < 0)
				return log_error("%s: %s", numbers[i].error, arg), -EINVAL;
			return 1;
		}
	return 0;
}

/* One option that takes a value; returns 0 or -EINVAL (logged). */
static int parse_value(int c, const char *arg, struct options *o) {
	unsigned long long v = 0;

	if (parse_number(c, arg, &v) < 0)
		return -EINVAL;
	switch (c) {
	case 'l':
		if (o->n_listen == ARRAY_SIZE(o->listen_path))
			return log_error("too many --listen options"), -EINVAL;
		o->listen_path[o->n_listen++] = arg;
		return 0;
	case ARG_LINE_MAX: o->line_max = (size_t)v; return 0;
	case 'p': o->priority = (int)v; return 0;
	case ARG_MAX_CONN: o->max_connections = (unsigned)v; return 0;
	case ARG_MAX_PER_USER: o->max_per_user = (unsigned)v; return 0;
	case ARG_EXIT_IDLE: o->exit_idle = (unsigned)v; return 0;
	case ARG_STOP_TIMEOUT: o->stop_timeout_usec = v * 1000000; return 0;
	case ARG_UNFINISHED_MAX: o->unfinished_max = (size_t)v; return 0;
	case ARG_RATE_LIMITS:
		if (strcmp(arg, "as-set") == 0)
			o->rate_limits = RATE_LIMITS_AS_SET;
		else if (strcmp(arg, "journald") == 0)
			o->rate_limits = RATE_LIMITS_JOURNALD;
		else if (strcmp(arg, "off") == 0)
			o->rate_limits = RATE_LIMITS_OFF;
		else
			return log_error("--rate-limits takes as-set, journald or off: %s", arg),
			       -EINVAL;
		return 0;
	case ARG_TRANSPORT:
		if (strcmp(arg, "native") == 0)
			o->stream_transport = false;
		else if (strcmp(arg, "stream") == 0)
			o->stream_transport = true;
		else
			return log_error("--transport takes native or stream: %s", arg), -EINVAL;
		return 0;
	default: return log_error("Try 'mpsrd --help' for more information."), -EINVAL;
	}
}

int options_parse(int argc, char *argv[], struct options *o) {
	int c;

	optind = 0; /* glibc: start over, so that a second parse (a test's) sees all of argv */
	while ((c = getopt_long(argc, argv, "hl:p:", long_options, NULL)) >= 0) {
		switch (c) {
		case 'h': options_help(); return 0;
		case ARG_VERSION: printf("mpsrd %s\n", MPSR_VERSION); return 0;
		case ARG_FD_STORE: o->fd_store = true; break;
		default:
			if (parse_value(c, optarg, o) < 0)
				return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error("unexpected argument: %s (try 'mpsrd --help')", argv[optind]),
		       -EINVAL;
	/*
	 * journald cuts a stream line at its LineMax (48 KiB by default), "<N>"
	 * and '\n' included: our pieces must stay below that, or a 3-byte rest of
	 * each would become an entry of its own.
	 */
	if (o->stream_transport && o->line_max > JOURNALD_LINE_MAX - 4)
		o->line_max = JOURNALD_LINE_MAX - 4;
	return 1;
}
