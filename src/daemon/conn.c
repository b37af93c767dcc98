/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "holder.h"
#include "journal.h"
#include "log.h"
#include "origin.h"
#include "packet.h"
#include "stream.h"

struct conn {
	struct conns *set;
	struct loop_source *src;
	struct job job;
	int fd;
	int type;       /* SOCK_STREAM or SOCK_SEQPACKET */
	bool busy;      /* its job is with the worker */
	bool draining;  /* stop: no more reading once the last read is done */
	bool drain_job; /* the job in hand is the last read; set before submitting */
	struct origin origin;
	struct stream_in in;
	struct jstream *js;       /* --transport=stream: journald's stream for its lines, or NULL */
	struct conn *prev, *next; /* conns.head */
};

struct conns {
	struct conns_config cfg;
	struct conn *head;
	unsigned count;
	struct ratelimit warn;
	bool keep_unfinished;        /* at stop: staged unfinished lines stay staged */
	struct carry_budget carried; /* unfinished lines in memory, without a ledger */
};

int conns_new(const struct conns_config *cfg, struct conns **ret) {
	struct conns *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return -ENOMEM;
	cs->cfg = *cfg;
	cs->carried.max = cfg->unfinished_max;
	cs->warn = (struct ratelimit){.interval_usec = 10000000, .burst = 10};
	*ret = cs;
	return 0;
}

/* Closes mpsrd's side and frees what it held; the fd store is not told. */
static void conn_release(struct conn *c) {
	loop_remove(c->src);
	close(c->fd);
	jstream_unref(c->js);
	stream_in_done(&c->in);
	free(c);
}

void conns_free(struct conns *cs) {
	if (!cs)
		return;
	while (cs->head) {
		struct conn *c = cs->head;
		cs->head = c->next;
		conn_release(c);
	}
	free(cs);
}

unsigned conns_count(const struct conns *cs) {
	return cs->count;
}

/* The one teardown of a connection that ended. */
static void conn_close(struct conn *c, int error) {
	struct conns *cs = c->set;

	if (error < 0 && error != -ECONNRESET)
		log_limited(&cs->warn, LOG_WARNING, error, "closing a producer's connection");
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	cs->count--;
	holder_remove(cs->cfg.holder, c->fd);
	conn_release(c);
	cs->cfg.closed(cs->cfg.data);
}

/* On the worker thread. */
static int conn_run(struct job *j, struct relay *r) {
	struct conn *c = (struct conn *)((char *)j - offsetof(struct conn, job));
	int prio = c->set->cfg.default_priority;

	/* The units are read here, off the accept path: a burst of producers waits for no one. */
	origin_add_units(&c->origin);
	if (c->type == SOCK_SEQPACKET)
		return packet_read_records(c->fd, &c->origin, r,
					   c->drain_job ? DRAIN_PACKETS : PACKET_BATCH);
	struct journal_sink native;
	struct jstream_sink stream;
	struct line_sink *sink = c->js ? jstream_sink_init(&stream, c->js, &r->batch, prio)
				       : journal_sink_init(&native, &c->origin, prio);
	if (c->in.ledger)
		native.tag = &c->in.lc.tag_iov;
	return c->drain_job ? stream_drain(&c->in, r, sink, c->set->keep_unfinished)
			    : stream_read(&c->in, r, sink);
}

static void conn_submit(struct conn *c, bool drain) {
	loop_set_events(c->src, 0);
	c->busy = true;
	c->drain_job = drain;
	worker_submit(c->set->cfg.worker, &c->job);
}

static void conn_done(struct job *j, int result) {
	struct conn *c = (struct conn *)((char *)j - offsetof(struct conn, job));

	c->busy = false;
	if (result == READ_END || result < 0)
		conn_close(c, result);
	else if (!c->draining)
		loop_set_events(c->src, POLLIN);
	else if (!c->drain_job)
		conn_submit(c, true);
}

static int conn_event(int fd, short revents, void *data) {
	struct conn *c = data;
	(void)fd;
	(void)revents;

	/* The socket is the worker's until the job is done. */
	if (!c->busy)
		conn_submit(c, false);
	return 0;
}

int conns_add(struct conns *cs, int fd, int type, bool kept) {
	struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	socklen_t len = sizeof(cred);
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	*c = (struct conn){.set = cs, .fd = fd, .type = type};
	c->job = (struct job){.run = conn_run, .done = conn_done};
	stream_in_init(&c->in, fd, true);
	c->in.budget = &cs->carried;
	/* Taken once: the kernel's word on who connected, not the producer's. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		log_limited(&cs->warn, LOG_WARNING, -errno, "SO_PEERCRED");
	origin_from_cred(&c->origin, &cred, type == SOCK_SEQPACKET ? ORIGIN_RECORD : ORIGIN_STREAM);
	if (cs->cfg.jstreams && type == SOCK_STREAM) {
		/* Chosen once: switching transports could reorder a producer's lines. */
		int nl;
		const char *name = origin_name(&c->origin, &nl);
		char ident[64];
		snprintf(ident, sizeof(ident), "%.*s", nl, name);
		int r = jstream_get(cs->cfg.jstreams, ident, &c->js);
		if (r < 0)
			log_limited(&cs->warn, LOG_WARNING, r,
				    "a producer (%s) uses the native transport", ident);
	}
	/* journald's stdout stream has no fields for what syslog headers say. */
	c->in.fs.syslog = !c->js;
	/* Nor for the ledger's tag: lines on it may be repeated after a crash, as before. */
	if (cs->cfg.ledger && type == SOCK_STREAM && !c->js) {
		int r = stream_in_ledger(&c->in, cs->cfg.ledger);
		if (r < 0)
			log_limited(&cs->warn, LOG_WARNING, r, "a producer goes without a ledger");
	}
	c->src = loop_add(cs->cfg.loop, fd, POLLIN, conn_event, c);
	if (!c->src) {
		jstream_unref(c->js);
		close(fd);
		free(c);
		return -ENOMEM;
	}
	if (!kept)
		holder_add(cs->cfg.holder, fd);
	c->next = cs->head;
	if (cs->head)
		cs->head->prev = c;
	cs->head = c;
	cs->count++;
	return 0;
}

static struct conn *find_stream(const struct conns *cs, uint64_t ino) {
	struct stat st;

	for (struct conn *c = cs->head; c; c = c->next)
		if (c->type == SOCK_STREAM && fstat(c->fd, &st) == 0 && (uint64_t)st.st_ino == ino)
			return c;
	return NULL;
}

int conns_find(const struct conns *cs, uint64_t ino) {
	struct conn *c = find_stream(cs, ino);

	return c ? c->fd : -1;
}

int conns_carry(struct conns *cs, uint64_t ino, const char *bytes, size_t n) {
	struct conn *c = find_stream(cs, ino);

	return c ? stream_in_carry(&c->in, bytes, n) : -ENOENT;
}

void conns_use_ledger(struct conns *cs, struct ledger *l) {
	cs->cfg.ledger = l;
}

void conns_drain(struct conns *cs, bool keep_unfinished, bool closing) {
	cs->keep_unfinished = keep_unfinished;
	for (struct conn *c = cs->head; c; c = c->next) {
		c->draining = true;
		/*
		 * A stop that is not a restart: what producers write from now on
		 * would be read by no one. Their writes fail (EPIPE) instead of
		 * vanishing, and what is queued now is all there is to read.
		 */
		if (closing && c->type == SOCK_STREAM)
			(void)shutdown(c->fd, SHUT_RD);
		if (!c->busy)
			conn_submit(c, true);
	}
}
