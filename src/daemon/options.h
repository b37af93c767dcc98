/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --rate-limits: journald's per-unit limits as configured, scaled as journald scales them, none. */
enum rate_limits { RATE_LIMITS_AS_SET, RATE_LIMITS_JOURNALD, RATE_LIMITS_OFF };

/* mpsrd's command line, as parsed; see mpsrd(8) and options_help(). */
struct options {
	const char *listen_path[8]; /* --listen, bound when not socket-activated */
	unsigned n_listen;
	size_t line_max;
	int priority;
	unsigned max_connections; /* 0: derived at start (inflight.h) */
	unsigned max_per_user;    /* UINT_MAX: a quarter of max_connections */
	enum rate_limits rate_limits;
	unsigned exit_idle;
	uint64_t stop_timeout_usec;
	bool fd_store;
	bool stream_transport;
	size_t unfinished_max;
};

/* Fills o with the defaults, before options_parse(). */
void options_init(struct options *o);

/* Prints the --help text on stdout. */
void options_help(void);

/*
 * Parses argv into o (which options_init() filled), logging what is wrong.
 * --help and --version print and return 0. Returns <0 on a bad command line,
 * 0 to exit successfully, >0 to run. Resets getopt, so it may run again.
 */
int options_parse(int argc, char *argv[], struct options *o);
