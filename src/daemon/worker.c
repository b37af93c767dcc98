/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

#define RETRY_MAX_USEC 1000000
#define SLICE_USEC     2000 /* a job gives way after this long if others wait (relay_yield()) */
/*
 * A flow's turn, in bytes: small, so that a turn is one slice and a quiet
 * flow waits for one slice of each busy one, not for a whole READ_CHUNK of
 * each (64 ms at 1 MB/s); a job that overdraws it pays in the turns it passes.
 */
#define QUANTUM 4096

struct worker {
	struct loop_source *src;
	int efd; /* the worker counts finished jobs here; the loop reads it */
	pthread_t thread;
	bool started;
	unsigned pending; /* the loop's: submitted, done() not yet run */

	pthread_mutex_t lock;
	pthread_cond_t cond;     /* work to do, quit or abort */
	struct share todo;       /* under lock: the jobs to run, by flow */
	struct share_flow loose; /* jobs of no tenant's */
	struct job *finished;    /* under lock, oldest first */
	struct job **finished_tail;
	bool quit, abort;         /* under lock */
	struct relay_stats stats; /* under lock: the relay's, after the last job */

	_Atomic uint64_t job_since;   /* when the job in hand began, or 0 */
	_Atomic uint64_t retry_since; /* when the job in hand was first refused, or 0 */
	struct relay relay;           /* the thread's */
};

static void push(struct job ***tail, struct job *j) {
	j->next = NULL;
	**tail = j;
	*tail = &j->next;
}

/* Waits usec, or until abort; returns false when aborted. Called with the lock held. */
static bool wait_retry(struct worker *w, uint64_t usec) {
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(usec / 1000000);
	ts.tv_nsec += (long)(usec % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (!w->abort && pthread_cond_timedwait(&w->cond, &w->lock, &ts) == 0)
		;
	return !w->abort;
}

/* Runs j until journald takes what it writes, or until abort. */
static int run_job(struct worker *w, struct job *j) {
	uint64_t wait = w->relay.cfg.retry_usec;

	for (;;) {
		int r = j->run(j, &w->relay);
		if (r != READ_RETRY)
			return r;
		if (atomic_load(&w->retry_since) == 0)
			atomic_store(&w->retry_since, now_usec());
		pthread_mutex_lock(&w->lock);
		bool go_on = wait_retry(w, wait);
		pthread_mutex_unlock(&w->lock);
		if (!go_on)
			return r;
		wait = wait * 2 < RETRY_MAX_USEC ? wait * 2 : RETRY_MAX_USEC;
	}
}

static void *worker_main(void *data) {
	struct worker *w = data;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (share_empty(&w->todo) && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		struct share_flow *flow;
		struct share_item *it = share_pop(&w->todo, &flow);
		if (!it)
			break;
		struct job *j = (struct job *)((char *)it - offsetof(struct job, item));
		atomic_store(&w->relay.contended, !share_empty(&w->todo));
		pthread_mutex_unlock(&w->lock);

		uint64_t bytes = w->relay.stats.bytes, now = now_usec();
		atomic_store(&w->job_since, now);
		w->relay.yield_at = now + SLICE_USEC;
		j->result = run_job(w, j);
		atomic_store(&w->retry_since, 0);
		atomic_store(&w->job_since, 0);

		pthread_mutex_lock(&w->lock);
		/* More queued in its socket: straight back into its flow, no round trip to the
		 * loop. */
		bool again = j->result == READ_AGAIN && w->relay.stats.bytes > bytes && !w->abort;
		if (again)
			share_requeue(&w->todo, flow, &j->item);
		/* Charged what it read; a job that read nothing still took a turn. */
		share_charge(&w->todo, flow, w->relay.stats.bytes - bytes + 1);
		w->stats = w->relay.stats;
		if (again)
			continue;
		if (j->result == READ_AGAIN)
			j->result = READ_MORE;
		push(&w->finished_tail, j);
		uint64_t one = 1;
		(void)!write(w->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* On the loop's thread: runs done() of every finished job. */
static int worker_event(int fd, short revents, void *data) {
	struct worker *w = data;
	uint64_t n;
	(void)revents;

	(void)!read(fd, &n, sizeof(n));
	pthread_mutex_lock(&w->lock);
	struct job *j = w->finished;
	w->finished = NULL;
	w->finished_tail = &w->finished;
	pthread_mutex_unlock(&w->lock);
	while (j) {
		struct job *next = j->next; /* done() may submit j again */
		w->pending--;
		j->done(j, j->result);
		j = next;
	}
	return 0;
}

int worker_new(struct loop *loop, const struct relay_config *cfg, struct worker **ret) {
	struct worker *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	if (!w)
		return -ENOMEM;
	share_init(&w->todo, QUANTUM);
	share_flow_init(&w->loose);
	w->finished_tail = &w->finished;
	w->efd = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = relay_init(&w->relay, cfg)) < 0)
		goto fail;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		r = -errno;
		goto fail;
	}
	w->src = loop_add(loop, w->efd, POLLIN, worker_event, w);
	if (!w->src) {
		r = -ENOMEM;
		goto fail;
	}
	/* Signals are the loop's (signalfd): the thread must not take any. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto fail;
	w->started = true;
	*ret = w;
	return 0;
fail:
	worker_free(w);
	return r;
}

bool worker_free(struct worker *w) {
	if (!w)
		return true;
	loop_remove(w->src);
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		w->quit = w->abort = true;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		/*
		 * A thread with work in hand may be stuck in sd_journal_sendv(), or
		 * get stuck in the next job: it would never be joined. Exit takes it.
		 */
		if (w->pending > 0 || atomic_load(&w->job_since) != 0) {
			pthread_detach(w->thread);
			return false;
		}
		pthread_join(w->thread, NULL);
	}
	if (w->efd >= 0)
		close(w->efd);
	relay_done(&w->relay);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return true;
}

void worker_submit(struct worker *w, struct job *j) {
	w->pending++;
	pthread_mutex_lock(&w->lock);
	share_push(&w->todo, j->flow ? j->flow : &w->loose, &j->item);
	atomic_store(&w->relay.contended, true);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

unsigned worker_pending(const struct worker *w) {
	return w->pending;
}

void worker_abort(struct worker *w) {
	pthread_mutex_lock(&w->lock);
	w->abort = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void worker_stats(struct worker *w, struct relay_stats *out) {
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	pthread_mutex_unlock(&w->lock);
}

uint64_t worker_waiting_since(struct worker *w) {
	uint64_t a = atomic_load(&w->retry_since);
	uint64_t b = atomic_load_explicit(&w->relay.journal_since, memory_order_relaxed);

	if (a == 0 || (b != 0 && b < a))
		return b;
	return a;
}

bool worker_alive(struct worker *w, uint64_t now, uint64_t limit_usec) {
	uint64_t since = atomic_load(&w->job_since);

	return since == 0 || now - since < limit_usec || worker_waiting_since(w) != 0;
}
