/* SPDX-License-Identifier: MIT */
/* What mpsrd accepts, from the limits it has at start (inflight.h). */
#include <criterion/criterion.h>

#include "holder.h"
#include "inflight.h"

/* In flight with n live connections and a quarter as many dead, a message's worth more. */
static unsigned long steady(unsigned n) {
	return n + n / 4 + HOLDER_MSG_FDS;
}

/* The same at a compaction, which sends the live ones once more. */
static unsigned long peak(unsigned n) {
	return steady(n) + n;
}

static void assert_room(const struct inflight_plan *p) {
	cr_assert_geq(p->steady, steady(p->max_connections), "steady %u for %u", p->steady,
		      p->max_connections);
	cr_assert_geq(p->peak, peak(p->max_connections), "peak %u for %u", p->peak,
		      p->max_connections);
}

Test(inflight, collector_by_kernel) {
	cr_assert(inflight_old_collector("6.1.0-37-amd64",
					 "#1 SMP PREEMPT_DYNAMIC Debian 6.1.140-1 (2025-05-22)"));
	cr_assert_not(inflight_old_collector(
		"6.1.0-38-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.147-1 (2025-08-02)"));
	cr_assert_not(inflight_old_collector("6.1.141", "#1 SMP"));
	cr_assert(inflight_old_collector("6.1.140", "#1 SMP"));
	cr_assert(inflight_old_collector("6.6.30", "#1 SMP"));
	cr_assert(inflight_old_collector("5.10.0-30-amd64", "#1 SMP Debian 5.10.218-1"));
	cr_assert_not(inflight_old_collector("6.9.0", "#1"));
	cr_assert_not(inflight_old_collector("6.18.44-fc-v1147", "#1 SMP"));
	cr_assert_not(inflight_old_collector("7.0.1", "#1"));
}

/* The default stays below the kernel's trigger (16,000 on the host) with room for others. */
Test(inflight, default_below_the_trigger) {
	struct inflight_plan p;

	inflight_plan(0, true, 65536, false, &p);
	cr_assert_eq(p.max_connections, INFLIGHT_DEFAULT_CONNECTIONS);
	cr_assert_leq(p.steady, 16000 - 2000);
	assert_room(&p);
	/* On the old collector: far below. */
	inflight_plan(0, true, 65536, true, &p);
	cr_assert_leq(p.steady, 4000);
	assert_room(&p);
	cr_assert_lt(p.max_connections, INFLIGHT_DEFAULT_CONNECTIONS);
	/* Asking for more on the old collector does not lift it. */
	inflight_plan(16384, true, 65536, true, &p);
	cr_assert_leq(p.steady, 4000);
}

/* The kernel refuses a sender more fds in flight than its RLIMIT_NOFILE. */
Test(inflight, within_nofile) {
	struct inflight_plan p;

	for (unsigned long nofile = 1024; nofile <= 200000; nofile = nofile * 3 / 2) {
		inflight_plan(1u << 20, true, nofile, false, &p);
		cr_assert_lt(p.peak, nofile, "peak %u, nofile %lu", p.peak, nofile);
		assert_room(&p);
		cr_assert_lt(p.max_connections, nofile);
		cr_assert_gt(p.max_connections, 0);
	}
	/* The numbers: LimitNOFILE=20000, 16,384 asked. */
	inflight_plan(16384, true, 20000, false, &p);
	cr_assert_lt(p.max_connections, 16384);
	cr_assert_gt(p.max_connections, 8192);
	cr_assert_str_eq(p.limit, "LimitNOFILE=");
	/* The operator's explicit choice above the default is kept when the limits allow it. */
	inflight_plan(16000, true, 65536, false, &p);
	cr_assert_eq(p.max_connections, 16000);
	assert_room(&p);
}

/* Without --fd-store nothing is in flight: only the fd table counts. */
Test(inflight, without_fd_store) {
	struct inflight_plan p;

	inflight_plan(0, false, 65536, true, &p);
	cr_assert_eq(p.peak, 0);
	cr_assert_eq(p.max_connections, 16384);
	inflight_plan(0, false, 1024, false, &p);
	cr_assert_lt(p.max_connections, 1024);
}
