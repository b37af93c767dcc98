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

/* Which of the n flows f is. */
static struct flow *owner(struct flow *flows, unsigned n, const struct share_flow *f) {
	for (unsigned i = 0; i < n; i++)
		if (&flows[i].f == f)
			return &flows[i];
	cr_assert_fail("popped from an unknown flow");
	return NULL;
}

static struct flow *serve(struct share *s, struct flow *flows, unsigned n, uint64_t cost) {
	struct share_flow *f;

	cr_assert_not_null(share_pop(s, &f));
	share_charge(s, f, cost);
	struct flow *who = owner(flows, n, f);
	who->served += cost;
	who->jobs++;
	return who;
}

/*
 * n turns of the writer: a job popped, its flow charged cost[flow] bytes, and
 * the job back in the queue after it: its connection readable again (a new
 * job queued once it is charged), or the same job giving up its slice
 * (share_requeue(), before the charge, as the worker does).
 */
static void turns(struct share *s, struct flow *flows, unsigned nflows, unsigned n,
		  const uint64_t *cost, bool requeue) {
	for (unsigned i = 0; i < n; i++) {
		struct share_flow *f;
		struct share_item *it = share_pop(s, &f);
		cr_assert_not_null(it);
		struct flow *who = owner(flows, nflows, f);
		if (requeue)
			share_requeue(s, f, it);
		share_charge(s, f, cost[who - flows]);
		who->served += cost[who - flows];
		who->jobs++;
		if (!requeue)
			queue(s, who, 1);
	}
}

/* n flows of a writer with a quantum of 64 KiB, flow i with queued[i] jobs waiting. */
static void start(struct share *s, struct flow *flows, unsigned n, const unsigned *queued) {
	share_init(s, 65536);
	for (unsigned i = 0; i < n; i++) {
		share_flow_init(&flows[i].f);
		queue(s, &flows[i], queued[i]);
	}
}

/* Two flows with queued[i] jobs, n turns() later: served the same bytes, within 10 %. */
static void assert_even_after(const unsigned queued[2], unsigned n, const uint64_t cost[2],
			      bool requeue) {
	struct share s;
	struct flow fl[2] = {0};

	start(&s, fl, 2, queued);
	turns(&s, fl, 2, n, cost, requeue);
	double ratio = (double)fl[0].served / (double)fl[1].served;
	cr_assert(ratio > 0.9 && ratio < 1.1, "bytes served: %llu vs %llu",
		  (unsigned long long)fl[0].served, (unsigned long long)fl[1].served);
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

	start(&s, fl, 2, (const unsigned[]){100, 1});
	turns(&s, fl, 2, 2000, (const uint64_t[]){65536, 65536}, false);
	cr_assert_eq(fl[0].jobs, 1000);
	cr_assert_eq(fl[1].jobs, 1000);
}

/* Small jobs against large ones: the turn is by bytes, not by jobs. */
Test(share, shares_by_bytes) {
	assert_even_after((const unsigned[]){200, 200}, 5000, (const uint64_t[]){65536, 4096},
			  false);
}

/* A flow that comes with one job waits for at most one job of each other flow. */
Test(share, a_quiet_flow_waits_one_round) {
	struct share s;
	struct flow fl[3] = {0};
	struct share_flow *f;

	start(&s, fl, 3, (const unsigned[]){200, 200, 0});
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

	start(&s, fl, 2, (const unsigned[]){1, 0});
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
	assert_even_after((const unsigned[]){100, 1}, 3000, (const uint64_t[]){20000, 20000}, true);
}
