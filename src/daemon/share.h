/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The writer's fair queue: deficit round robin by bytes over flows, one flow
 * per tenant (the producer's unit, see tenant.h). A flow's jobs run in the
 * order given; the flows with work take turns, each turn worth `quantum`
 * bytes, so a unit with 100 connections gets the writer's time of a unit with
 * one, and a unit that writes little waits for at most one job of each other
 * unit. Nothing is dropped: a flow over its share is only served later.
 *
 * A job's cost is known only once it ran (what it read), so it is charged
 * after the fact: a flow may overdraw its turn by one job, and the debt is
 * carried into its next turn, even across a moment with nothing queued.
 * Not thread-safe: the worker calls it under its lock.
 */

struct share_item {
	struct share_item *next;
};

struct share_flow {
	struct share_item *head, **tail; /* its queued items, oldest first */
	int64_t deficit;                 /* bytes it may still take in this turn */
	bool active;                     /* in the ring of flows with work */
	bool in_turn;                    /* its quantum for this turn is given */
	struct share_flow *next;         /* the ring */
};

struct share {
	struct share_flow *first, *last; /* flows with work; first is served */
	int64_t quantum;
};

void share_init(struct share *s, int64_t quantum);
void share_flow_init(struct share_flow *f);

/* Queues it behind f's other items; f joins the ring at its end if it had none. */
void share_push(struct share *s, struct share_flow *f, struct share_item *it);

/* The next item to serve and its flow (*flow), or NULL when nothing is queued. */
struct share_item *share_pop(struct share *s, struct share_flow **flow);

/*
 * Puts the item just popped from f back (it has more to do), before
 * share_charge(): f's turn goes on while it has credit, as if it had never
 * run dry.
 */
void share_requeue(struct share *s, struct share_flow *f, struct share_item *it);

/* What the item popped from f cost, in bytes. */
void share_charge(struct share *s, struct share_flow *f, uint64_t cost);

/* Whether anything is queued. */
bool share_empty(const struct share *s);
