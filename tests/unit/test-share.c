/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>

#include "share.h"

/* A flow with jobs of a given size, as producers: one with many connections queues many. */
struct flow {
	struct share_flow f;
	struct share_item items[256];
	unsigned next;
	uint64_t served, jobs;
};

static void queue(struct share *s, struct flow *fl, unsigned n) {
	for (unsigned i = 0; i < n; i++)
		share_push(s, &fl->f, &fl->items[fl->next++ % 256]);
}

static struct flow *serve(struct share *s, struct flow *flows, unsigned n, uint64_t cost) {
	struct share_flow *f;

	cr_assert_not_null(share_pop(s, &f));
	share_charge(s, f, cost);
	for (unsigned i = 0; i < n; i++)
		if (&flows[i].f == f) {
			flows[i].served += cost;
			flows[i].jobs++;
			return &flows[i];
		}
	cr_assert_fail("popped from an unknown flow");
	return NULL;
}

Test(share, fifo_within_a_flow) {
	struct share s;
	struct flow a;
	struct share_flow *f;

	share_init(&s, 100);
	share_flow_init(&a.f);
	a.next = 0;
	queue(&s, &a, 3);
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(share_pop(&s, &f), &a.items[i]);
		share_charge(&s, f, 10);
	}
	cr_assert(share_empty(&s));
	cr_assert_null(share_pop(&s, &f));
}

/* A flow with 100 queued jobs and one with 1 job at a time, re-queued after each: equal bytes. */
Test(share, many_connections_gain_nothing) {
	struct share s;
	struct flow fl[2] = {0};

	share_init(&s, 65536);
	share_flow_init(&fl[0].f);
	share_flow_init(&fl[1].f);
	queue(&s, &fl[0], 100);
	queue(&s, &fl[1], 1);
	for (unsigned i = 0; i < 2000; i++) {
		struct flow *who = serve(&s, fl, 2, 65536);
		queue(&s, who, 1); /* its connection is readable again */
	}
	cr_assert_eq(fl[0].jobs, 1000);
	cr_assert_eq(fl[1].jobs, 1000);
}

/* Small jobs against large ones: the turn is by bytes, not by jobs. */
Test(share, shares_by_bytes) {
	struct share s;
	struct flow fl[2] = {0};
	struct share_flow *f;

	share_init(&s, 65536);
	share_flow_init(&fl[0].f);
	share_flow_init(&fl[1].f);
	queue(&s, &fl[0], 200);
	queue(&s, &fl[1], 200);
	for (unsigned i = 0; i < 5000; i++) {
		cr_assert_not_null(share_pop(&s, &f));
		bool big = f == &fl[0].f;
		uint64_t cost = big ? 65536 : 4096;
		share_charge(&s, f, cost);
		struct flow *who = big ? &fl[0] : &fl[1];
		who->served += cost;
		queue(&s, who, 1);
	}
	double ratio = (double)fl[0].served / (double)fl[1].served;
	cr_assert(ratio > 0.9 && ratio < 1.1, "bytes served: %llu vs %llu",
		  (unsigned long long)fl[0].served, (unsigned long long)fl[1].served);
}

/* A flow that comes with one job waits for at most one job of each other flow. */
Test(share, a_quiet_flow_waits_one_round) {
	struct share s;
	struct flow fl[3] = {0};
	struct share_flow *f;

	share_init(&s, 65536);
	for (unsigned i = 0; i < 3; i++)
		share_flow_init(&fl[i].f);
	queue(&s, &fl[0], 200);
	queue(&s, &fl[1], 200);
	for (unsigned i = 0; i < 101; i++)
		serve(&s, fl, 3, 65536);
	queue(&s, &fl[2], 1);
	unsigned before = 0;
	while (share_pop(&s, &f) && f != &fl[2].f) {
		share_charge(&s, f, 65536);
		before++;
	}
	cr_assert_eq(f, &fl[2].f);
	cr_assert_leq(before, 2, "%u jobs of others ran first", before);
}

/* Going dry between jobs does not let a flow save up credit for a larger turn later. */
Test(share, no_saving_up) {
	struct share s;
	struct flow fl[2] = {0};
	struct share_flow *f;

	share_init(&s, 65536);
	share_flow_init(&fl[0].f);
	share_flow_init(&fl[1].f);
	queue(&s, &fl[0], 1);
	cr_assert_not_null(share_pop(&s, &f));
	share_charge(&s, f, 10); /* a tiny job, then dry: its remaining credit must go */
	cr_assert_eq(fl[0].f.deficit, 0);
	queue(&s, &fl[0], 100);
	queue(&s, &fl[1], 100);
	cr_assert_not_null(share_pop(&s, &f));
	share_charge(&s, f, 65536);
	cr_assert_not_null(share_pop(&s, &f));
	cr_assert_eq(f, &fl[1].f, "the other flow's turn after one quantum");
}

/*
 * A job that gives up its slice and comes straight back (share_requeue())
 * keeps its flow's turn: one connection that yields every 20 KB gets the bytes
 * of 100 connections that do the same.
 */
Test(share, a_requeued_job_keeps_its_turn) {
	struct share s;
	struct flow fl[2] = {0};
	struct share_flow *f;

	share_init(&s, 65536);
	share_flow_init(&fl[0].f);
	share_flow_init(&fl[1].f);
	queue(&s, &fl[0], 100);
	queue(&s, &fl[1], 1);
	for (unsigned i = 0; i < 3000; i++) {
		struct share_item *it = share_pop(&s, &f);
		cr_assert_not_null(it);
		struct flow *who = f == &fl[0].f ? &fl[0] : &fl[1];
		share_requeue(&s, f, it);
		share_charge(&s, f, 20000);
		who->served += 20000;
	}
	double ratio = (double)fl[0].served / (double)fl[1].served;
	cr_assert(ratio > 0.9 && ratio < 1.1, "bytes served: %llu vs %llu",
		  (unsigned long long)fl[0].served, (unsigned long long)fl[1].served);
}
