/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "holder.h"
#include "journal.h"
#include "log.h"
#include "origin.h"
#include "packet.h"
#include "peer.h"
#include "stream.h"

struct conn {
	struct conns *set;
	struct loop_source *src;
	struct job job;
	int fd;
	int type;              /* SOCK_STREAM or SOCK_SEQPACKET */
	uint64_t ino;          /* its socket's inode, for finding it at start; 0 if unknown */
	bool busy;             /* its job is with the worker */
	_Atomic bool draining; /* stop: no more reading once the last read is done */
	bool drain_job;        /* the job in hand is the last read; set before submitting */
	bool parked; /* over its tenant's limit: waits for the window, not for the socket */
	struct origin origin;
	struct tenant *tenant;     /* whose share and limit it takes */
	struct tenant_waiter wait; /* while parked */
	struct line_gate gate;     /* the tenant's limit, asked by the reader */
	size_t staged;             /* the worker's: bytes of its unfinished line in the ledger */
	struct stream_in in;
	struct packet_ledger records; /* seqpacket: its account in the ledger, or none */
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
	struct ratelimit refused;    /* connections over a uid's share */
	struct peer_cache *peers;
};

int conns_new(const struct conns_config *cfg, struct conns **ret) {
	struct conns *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return -ENOMEM;
	cs->cfg = *cfg;
	cs->carried.max = cfg->unfinished_max;
	cs->warn = (struct ratelimit){.interval_usec = 10000000, .burst = 10};
	cs->refused = (struct ratelimit){.interval_usec = 10000000, .burst = 5};
	if (peer_cache_new(&cs->peers) < 0) {
		free(cs);
		return -ENOMEM;
	}
	*ret = cs;
	return 0;
}

/* Closes mpsrd's side and frees what it held; the fd store is not told. */
static void conn_release(struct conn *c) {
	struct tenants *ts = c->set->cfg.tenants;

	if (c->tenant) {
		atomic_fetch_sub(&c->tenant->staged, (int64_t)c->staged);
		tenant_unpark(c->tenant, &c->wait);
		tenants_uid_conns(ts, c->tenant->uid, -1);
		tenants_put(ts, c->tenant);
	}
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
	peer_cache_free(cs->peers);
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

/*
 * After a read that left more in the socket (a full read, or a slice given
 * up): the job goes straight back to its flow (READ_AGAIN). Not at stop, nor
 * when a read made no progress (the worker checks that).
 */
static int again(struct conn *c, int k) {
	int queued = 0;

	if (k != READ_MORE || atomic_load(&c->draining) || ioctl(c->fd, FIONREAD, &queued) < 0)
		return k;
	return queued > 0 ? READ_AGAIN : k;
}

/* Keeps the tenant's count of staged bytes up to date after a read. On the worker. */
static int account_staged(struct conn *c, int k) {
	char *data;
	size_t now = c->in.ledger ? ledger_staged(c->in.ledger, &c->in.lc, &data) : 0;

	atomic_fetch_add(&c->tenant->staged, (int64_t)now - (int64_t)c->staged);
	c->staged = now;
	return k;
}

/* On the worker: whether the tenant may keep n bytes staged for this connection. */
static bool conn_may_stage(struct line_gate *g, size_t n) {
	struct conn *c = (struct conn *)((char *)g - offsetof(struct conn, gate));
	size_t share = c->set->cfg.stage_share;

	if (share == 0 || c->tenant->uid == 0)
		return true;
	int64_t others = atomic_load(&c->tenant->staged) - (int64_t)c->staged;
	return others + (int64_t)n <= (int64_t)share;
}

/* On the worker thread. */
static int conn_run(struct job *j, struct relay *r) {
	struct conn *c = (struct conn *)((char *)j - offsetof(struct conn, job));
	int prio = c->set->cfg.default_priority;

	/* At stop, what is queued is read whatever the limit: nothing may stay behind. */
	r->gate = c->drain_job ? NULL : &c->gate;
	if (c->type == SOCK_SEQPACKET)
		return again(c, packet_read_records(c->fd, &c->origin, &c->records, r,
						    c->drain_job ? DRAIN_PACKETS : PACKET_BATCH));
	struct journal_sink native;
	struct jstream_sink stream;
	struct line_sink *sink = c->js ? jstream_sink_init(&stream, c->js, &r->batch, prio)
				       : journal_sink_init(&native, &c->origin, prio);
	if (!c->js)
		native.pace = &r->pace;
	if (c->in.ledger)
		native.tag = &c->in.lc.tag_iov;
	return account_staged(c, c->drain_job
					 ? stream_drain(&c->in, r, sink, c->set->keep_unfinished)
					 : again(c, stream_read(&c->in, r, sink)));
}

static void conn_submit(struct conn *c, bool drain) {
	if (c->parked) {
		tenant_unpark(c->tenant, &c->wait);
		c->parked = false;
	}
	loop_set_events(c->src, 0);
	c->busy = true;
	c->drain_job = drain;
	worker_submit(c->set->cfg.worker, &c->job);
}

/* The tenant's window opened: read again. */
static void conn_wake(struct tenant_waiter *w) {
	struct conn *c = (struct conn *)((char *)w - offsetof(struct conn, wait));

	c->parked = false;
	if (!c->busy)
		conn_submit(c, c->draining);
}

/* Over its limit: not read (not even polled) until the window opens. */
static void conn_park(struct conn *c) {
	int r = tenant_park(c->set->cfg.tenants, c->tenant, &c->wait);

	if (r < 0) {
		/* No timer: poll the socket as before, which reads again at once. */
		log_limited(&c->set->warn, LOG_WARNING, r, "cannot hold back a producer");
		loop_set_events(c->src, POLLIN);
		return;
	}
	c->parked = true;
}

/* On the worker: the tenant's window, asked line by line. */
static bool conn_admit(struct line_gate *g, int priority, const struct ucred *sender) {
	struct conn *c = (struct conn *)((char *)g - offsetof(struct conn, gate));
	(void)sender;

	return tenant_admit(c->set->cfg.tenants, c->tenant, priority, now_usec());
}

static void conn_done(struct job *j, int result) {
	struct conn *c = (struct conn *)((char *)j - offsetof(struct conn, job));

	c->busy = false;
	if (result == READ_END || result < 0)
		conn_close(c, result);
	else if (result == READ_LIMITED && !c->draining)
		conn_park(c);
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

/*
 * Whether the uid has its share of connections already (root has no share:
 * it can take the machine anyway). Such a connection is accepted and closed
 * at once, so that the listen backlog never fills with one uid's.
 */
static bool over_share(struct conns *cs, const struct ucred *cred, const struct unit_key *k) {
	if (cs->cfg.max_per_user == 0 || cred->uid == 0 ||
	    tenants_uid_conns(cs->cfg.tenants, cred->uid, 0) < cs->cfg.max_per_user)
		return false;
	log_limited(&cs->refused, LOG_WARNING, 0,
		    "uid %u (%s) has %u connections, its share (--max-connections-per-user); "
		    "closing its new ones",
		    (unsigned)cred->uid, k->unit[0] ? k->unit : "no unit", cs->cfg.max_per_user);
	return true;
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
	/* Once: recovery looks connections up by inode (a slot's, the packet in doubt's). */
	struct stat st;
	if (fstat(fd, &st) == 0)
		c->ino = (uint64_t)st.st_ino;
	stream_in_init(&c->in, fd, true);
	c->in.budget = &cs->carried;
	/* Taken once: the kernel's word on who connected, not the producer's. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		log_limited(&cs->warn, LOG_WARNING, -errno, "SO_PEERCRED");
	/* Read now, while the process that connected is known for sure (peer.h). */
	struct unit_key k;
	char comm[64], unit_name[UNIT_NAME_MAX];
	if (peer_unit_of_socket(cs->peers, fd, &cred, &k, comm, sizeof(comm)) < 0)
		memset(&k, 0, sizeof(k));
	/* A producer gone before its accept still has a name for journalctl -t: its service's. */
	unit_key_name(&k, unit_name, sizeof(unit_name));
	origin_init_named(&c->origin, cred.pid, cred.uid, cred.gid, comm, unit_name,
			  type == SOCK_SEQPACKET ? ORIGIN_RECORD : ORIGIN_STREAM);
	origin_set_units(&c->origin, &k);
	if (!kept && over_share(cs, &cred, &k)) {
		close(fd);
		free(c);
		return 0;
	}
	c->tenant = tenants_get(cs->cfg.tenants, k.unit, cred.uid);
	if (!c->tenant) {
		close(fd);
		free(c);
		return -ENOMEM;
	}
	tenants_uid_conns(cs->cfg.tenants, cred.uid, 1);
	c->job.flow = &c->tenant->flow;
	c->gate.admit = conn_admit;
	c->gate.may_stage = conn_may_stage;
	c->wait.wake = conn_wake;
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
	if (cs->cfg.ledger && !c->js) {
		int r = type == SOCK_STREAM ? stream_in_ledger(&c->in, cs->cfg.ledger)
					    : packet_ledger_init(&c->records, cs->cfg.ledger, fd);
		if (r < 0)
			log_limited(&cs->warn, LOG_WARNING, r, "a producer goes without a ledger");
	}
	c->src = loop_add(cs->cfg.loop, fd, POLLIN, conn_event, c);
	if (!c->src) {
		conn_release(c);
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

static struct conn *find_type(const struct conns *cs, int type, uint64_t ino) {
	for (struct conn *c = cs->head; c; c = c->next)
		if (c->type == type && c->ino != 0 && c->ino == ino)
			return c;
	return NULL;
}

int conns_find(const struct conns *cs, uint64_t ino) {
	struct conn *c = find_type(cs, SOCK_STREAM, ino);

	return c ? c->fd : -1;
}

int conns_find_records(const struct conns *cs, uint64_t ino) {
	struct conn *c = find_type(cs, SOCK_SEQPACKET, ino);

	return c ? c->fd : -1;
}

int conns_carry(struct conns *cs, uint64_t ino, const char *bytes, size_t n) {
	struct conn *c = find_type(cs, SOCK_STREAM, ino);

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
