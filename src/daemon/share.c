/* SPDX-License-Identifier: MIT */
#include "share.h"

void share_init(struct share *s, int64_t quantum) {
	*s = (struct share){.quantum = quantum > 0 ? quantum : 1};
}

void share_flow_init(struct share_flow *f) {
	*f = (struct share_flow){.tail = &f->head};
}

static void ring_append(struct share *s, struct share_flow *f) {
	f->next = NULL;
	if (s->last)
		s->last->next = f;
	else
		s->first = f;
	s->last = f;
}

static struct share_flow *ring_shift(struct share *s) {
	struct share_flow *f = s->first;

	s->first = f->next;
	if (!s->first)
		s->last = NULL;
	f->next = NULL;
	return f;
}

void share_push(struct share *s, struct share_flow *f, struct share_item *it) {
	it->next = NULL;
	*f->tail = it;
	f->tail = &it->next;
	if (!f->active) {
		f->active = true;
		ring_append(s, f);
	}
}

struct share_item *share_pop(struct share *s, struct share_flow **flow) {
	/* A flow's turn begins with a quantum; one in debt may pass a few turns, then it is served.
	 */
	while (s->first) {
		struct share_flow *f = s->first;
		if (!f->in_turn) {
			f->deficit += s->quantum;
			f->in_turn = true;
		}
		if (f->deficit <= 0) {
			f->in_turn = false;
			ring_append(s, ring_shift(s));
			continue;
		}
		struct share_item *it = f->head;
		f->head = it->next;
		if (!f->head) {
			/* Out of the ring; its turn goes on if the item comes back
			 * (share_requeue()). */
			f->tail = &f->head;
			f->active = false;
			ring_shift(s);
		}
		*flow = f;
		return it;
	}
	*flow = NULL;
	return NULL;
}

void share_requeue(struct share *s, struct share_flow *f, struct share_item *it) {
	it->next = NULL;
	*f->tail = it;
	f->tail = &it->next;
	if (f->active)
		return;
	/* It was served last, so it was first: it is first again, its turn not over. */
	f->active = true;
	f->next = s->first;
	s->first = f;
	if (!s->last)
		s->last = f;
}

void share_charge(struct share *s, struct share_flow *f, uint64_t cost) {
	(void)s;
	/* One job reads a bounded amount; the clamp only keeps the arithmetic sane. */
	f->deficit -= cost > INT32_MAX ? INT32_MAX : (int64_t)cost;
	/* A flow that ran dry keeps its debt, not its credit: no saving up for later. */
	if (!f->active) {
		f->in_turn = false;
		if (f->deficit > 0)
			f->deficit = 0;
	}
}

bool share_empty(const struct share *s) {
	return s->first == NULL;
}
