/* SPDX-License-Identifier: MIT */
/*
 * What mpsr's reading of journald's limits says for a unit, on the machine it
 * runs on, to compare with what journald itself stores:
 *
 *   limits-probe [UNIT]        "interval_usec=N burst=N available=N modulated=N":
 *                              the unit's limit (journald.conf's without UNIT),
 *                              the space journald would see now, the burst
 *                              scaled by it
 *   limits-probe --modulate N  N scaled by that space
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

int main(int argc, char **argv) {
	struct rate_limit conf, rl;

	if (argc == 3 && strcmp(argv[1], "--modulate") == 0) {
		unsigned long n = strtoul(argv[2], NULL, 10);
		printf("%u\n", limits_modulate_burst((unsigned)n, limits_journal_available("")));
		return 0;
	}
	int r = limits_journald_conf("", &conf);

	if (r < 0)
		fprintf(stderr, "limits-probe: journald.conf: %s\n", strerror(-r));
	rl = conf;
	if (argc > 1 && limits_for_unit("", argv[1], &conf, &rl) < 0) {
		fprintf(stderr, "limits-probe: %s: not a unit name\n", argv[1]);
		return 2;
	}
	uint64_t avail = limits_journal_available("");
	printf("interval_usec=%llu burst=%u available=%llu modulated=%u\n",
	       (unsigned long long)rl.interval_usec, rl.burst, (unsigned long long)avail,
	       limits_modulate_burst(rl.burst, avail));
	return 0;
}
