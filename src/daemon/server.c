/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "conn.h"
#include "fdstore.h"
#include "frame.h"
#include "holder.h"
#include "journal.h"
#include "jstream.h"
#include "ledger.h"
#include "listener.h"
#include "log.h"
#include "readback.h"
#include "restore.h"
#include "server.h"
#include "worker.h"

#define SYNC_TRY_USEC    200000
#define LEDGER_SLOTS_MAX 65536 /* one try; the worker tries again until server_abort() */

struct server {
	struct server_config cfg;
	struct worker *worker;
	struct jstreams *jstreams; /* NULL unless cfg.stream_transport */
	struct conns *conns;
	struct holder *holder;   /* keeps the connections across restarts */
	struct restore *restore; /* what the last mpsrd kept, until server_restore() */
	struct ledger *ledger;   /* what a crash must not repeat, with the fd store; or NULL */
	bool ledger_kept;        /* adopted from the last process: its recovery resets peek marks */
	struct listeners *listeners;
	struct tenants *tenants;
	unsigned slowed; /* as of the last tick */
	uint64_t accepted;
	struct job sync;
	int *sync_result;
};

static void on_accepted(int fd, int type, void *data) {
	struct server *s = data;
	int r = conns_add(s->conns, fd, type, NULL);

	if (r < 0)
		log_warning_errno(r, "cannot serve a new producer");
	else
		s->accepted++;
}

/* Kept before they are read: a restart then loses nothing they sent. */
static void on_accepted_all(void *data) {
	struct server *s = data;

	(void)holder_flush(s->holder);
}

static bool too_many(void *data) {
	struct server *s = data;

	return conns_count(s->conns) >= s->cfg.max_connections;
}

static void on_closed(void *data) {
	struct server *s = data;

	listeners_resume(s->listeners);
}

int server_new(struct loop *loop, const struct server_config *cfg, struct server **ret) {
	struct server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	struct tenants_config tc = {
		.loop = loop,
		.root = cfg->limits_root ? cfg->limits_root : "",
		.limits = cfg->limits,
		.scaled = cfg->limits_scaled,
		.default_priority = cfg->relay.default_priority,
	};
	if ((r = tenants_new(&tc, &s->tenants)) < 0)
		goto fail;
	if ((r = worker_new(loop, &cfg->relay, &s->worker)) < 0)
		goto fail;
	if ((r = holder_new(cfg->fd_store, cfg->inflight_peak, cfg->inflight_steady, &s->holder)) <
		    0 ||
	    (r = restore_new(&s->restore)) < 0)
		goto fail;
	if (cfg->stream_transport &&
	    (r = jstreams_new(cfg->relay.default_priority, &s->jstreams)) < 0)
		goto fail;
	struct conns_config cc = {
		.loop = loop,
		.worker = s->worker,
		.holder = s->holder,
		.jstreams = s->jstreams,
		.default_priority = cfg->relay.default_priority,
		.unfinished_max = cfg->unfinished_max,
		.tenants = s->tenants,
		.max_per_user = cfg->max_per_user,
		/* The same part of the unfinished-line budget as of the connections. */
		.stage_share = cfg->max_per_user && cfg->max_connections
				       ? (size_t)((double)cfg->unfinished_max * cfg->max_per_user /
						  cfg->max_connections)
				       : 0,
		.closed = on_closed,
		.data = s,
	};
	if ((r = conns_new(&cc, &s->conns)) < 0)
		goto fail;
	struct listeners_config lc = {
		.loop = loop,
		.worker = s->worker,
		.accepted = on_accepted,
		.accepted_all = on_accepted_all,
		.tenants = s->tenants,
		.full = too_many,
		.data = s,
	};
	if ((r = listeners_new(&lc, &s->listeners)) < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	server_free(s);
	return r;
}

void server_free(struct server *s) {
	if (!s)
		return;
	/* The worker first: nothing it holds may be freed under it. */
	if (!worker_free(s->worker))
		return; /* it is stuck in journald and goes with the process */
	conns_free(s->conns);
	restore_free(s->restore);
	holder_free(s->holder);
	listeners_free(s->listeners);
	jstreams_free(s->jstreams);
	ledger_free(s->ledger);
	tenants_free(s->tenants);
	free(s);
}

int server_add_listener(struct server *s, int fd) {
	return listeners_add(s->listeners, fd);
}

int server_adopt(struct server *s, int fd, const char *name) {
	int type = 0;
	bool listening = false;
	int r = socket_kind(fd, &type, &listening);

	if (r >= 0 && (listening || (type != SOCK_STREAM && type != SOCK_SEQPACKET)))
		r = -EINVAL;
	if (r < 0) {
		log_warning_errno(r, "dropping a kept connection (%s)", name ? name : "holder");
		close(fd);
		return r;
	}
	/*
	 * A kill inside a marked take may have left a peek offset set: it would
	 * skip bytes. With a kept ledger, recovery reads it first (it tells
	 * whether the take happened) and resets it then.
	 */
	if (!s->ledger_kept)
		(void)setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &(int){-1}, sizeof(int));
	return conns_add(s->conns, fd, type, true);
}

bool server_is_kept(const char *name) {
	return fdstore_is_kept(name) || strcmp(name, LEDGER_NAME) == 0;
}

int server_take_kept(struct server *s, int fd, const char *name) {
	if (strcmp(name, LEDGER_NAME) != 0)
		return s->restore ? restore_take(s->restore, s->holder, fd, name) : -EALREADY;
	if (s->ledger)
		return -EEXIST;
	int r = ledger_adopt(fd, s->cfg.unfinished_max, &s->ledger);
	if (r < 0)
		return r;
	s->ledger_kept = true;
	/*
	 * Carried over from the layout before into a new memfd (fd is closed):
	 * the fd store gets it in place of the old one. A kill between the two
	 * leaves no ledger (staged lines lost), never two.
	 */
	if (ledger_fd(s->ledger) != fd) {
		int nfd = ledger_fd(s->ledger);
		(void)sd_notify(0, "FDSTOREREMOVE=1\nFDNAME=" LEDGER_NAME);
		r = sd_pid_notify_with_fds(0, 0, "FDSTORE=1\nFDNAME=" LEDGER_NAME, &nfd, 1);
		if (r <= 0)
			log_warning_errno(
				r < 0 ? r : -ENOTCONN,
				"the carried-over ledger is not kept: a crash may repeat lines");
	}
	/* Its slots keep their size: a change of --line-max applies fully after a stop. */
	uint32_t slot = ledger_record(s->ledger)->slot_size;
	if (slot < ledger_slot_size(s->cfg.relay.line_max))
		log_notice("unfinished lines longer than %" PRIu32
			   " bytes are written as they stand until mpsrd is stopped",
			   slot);
	return 0;
}

static int adopt_kept(int fd, void *data) {
	return server_adopt(data, fd, NULL);
}

/* A new ledger, kept in the fd store: from now on, a crash repeats no line. */
static int ledger_start(struct server *s) {
	/* A slot per producer, as far as it is sensible: serve_within_slots() serves no more. */
	unsigned slots = s->cfg.max_connections < LEDGER_SLOTS_MAX ? s->cfg.max_connections
								   : LEDGER_SLOTS_MAX;
	size_t slot = ledger_slot_size(s->cfg.relay.line_max);
	int r = ledger_new(slots, slot, s->cfg.unfinished_max, &s->ledger), fd;

	if (r < 0)
		return r;
	fd = ledger_fd(s->ledger);
	r = sd_pid_notify_with_fds(0, 0, "FDSTORE=1\nFDNAME=" LEDGER_NAME, &fd, 1);
	if (r <= 0) {
		ledger_free(s->ledger);
		s->ledger = NULL;
		return r < 0 ? r : -ENOTCONN;
	}
	return 0;
}

static int find_conn(uint64_t ino, void *data) {
	struct server *s = data;

	return conns_find(s->conns, ino);
}

/* A staged line of a connection that came back without an account: kept in its memory. */
static int hand_over(uint64_t ino, const char *bytes, size_t len, void *data) {
	struct server *s = data;

	return conns_carry(s->conns, ino, bytes, len);
}

/*
 * Whether journald has the entry in doubt, asked of mpsr-readback: an entry
 * of the uid that sent it, as the record says (DynamicUser= may give a
 * restarted unit another uid).
 */
static int lookup_in_doubt(const char *tag, void *data) {
	struct server *s = data;

	return readback_lookup(tag, ledger_record(s->ledger)->uid);
}

/* A record connection or a datagram socket, by its inode. */
static int find_packets(uint64_t ino, void *data) {
	struct server *s = data;
	int fd = conns_find_records(s->conns, ino);

	return fd >= 0 ? fd : listeners_find_datagrams(s->listeners, ino);
}

/* The same question about the packet in doubt, of the uid that sent it. */
static int lookup_packet(const char *tag, void *data) {
	struct server *s = data;

	return readback_lookup(tag, ledger_record(s->ledger)->packet.uid);
}

/* What the last process was doing when it died: finished now, before anything is read. */
static void ledger_finish(struct server *s) {
	struct ledger_hooks h = {
		.find = find_conn,
		.lookup = lookup_in_doubt,
		.hand_over = hand_over,
		.data = s,
	};
	/* At most one entry was in doubt: a packet's, or the stream job's. */
	int p = ledger_recover_packet(s->ledger, find_packets, lookup_packet, s);
	if (p < 0)
		log_warning_errno(p, "cannot finish the packet being sent at a crash");
	else if (p > 0)
		log_info("after a crash: a packet in the journal already was taken out");
	ssize_t k = ledger_recover_with(s->ledger, &h);

	if (k < 0)
		log_warning_errno((int)k, "cannot finish a producer's account after a crash");
	else if (k > 0)
		log_info("after a crash: %zd bytes a producer sent were in the journal already", k);
	uint64_t staged = ledger_staged_total(s->ledger);
	if (staged > 0)
		log_info("unfinished lines kept from before: %" PRIu64 " bytes", staged);
}

/*
 * A producer's account in the ledger needs a slot of its own (ledger.h): no
 * more are served than the ledger has, or the next would go without one.
 */
static void serve_within_slots(struct server *s) {
	uint32_t slots = ledger_record(s->ledger)->n_slots;

	if (slots >= s->cfg.max_connections)
		return;
	log_notice("serving up to %" PRIu32 " producers, one per slot of the ledger (a ledger "
		   "kept across restarts keeps its slots until mpsrd is stopped)",
		   slots);
	s->cfg.max_connections = slots;
}

int server_restore(struct server *s) {
	bool kept = s->ledger != NULL; /* passed at start: a last process may have left work */
	int r;

	if (s->cfg.fd_store && !s->ledger && (r = ledger_start(s)) < 0)
		log_warning_errno(r, "no ledger: a crash may store up to 8 lines twice");
	if (s->ledger && s->cfg.fd_store) {
		conns_use_ledger(s->conns, s->ledger);
		serve_within_slots(s);
		listeners_use_ledger(s->listeners, s->ledger);
	}
	int n = restore_run(s->restore, s->holder, adopt_kept, s);
	restore_free(s->restore);
	s->restore = NULL;
	if (n < 0)
		return n; /* the next start recovers: the marks stay for it */
	if (kept)
		ledger_finish(s);
	/* Recovery has read the datagram socket's mark, if any; none may stay set. */
	listeners_clear_marks(s->listeners);
	if (!kept)
		return n;
	if (!s->cfg.fd_store) {
		(void)sd_notify(0, "FDSTOREREMOVE=1\nFDNAME=" LEDGER_NAME);
		ledger_free(s->ledger);
		s->ledger = NULL;
	}
	return n;
}

void server_tick(struct server *s, uint64_t now) {
	listeners_tick(s->listeners, now);
	s->slowed = tenants_tick(s->tenants, now);
}

/*
 * Whether the fd store will outlive this process with every connection:
 * once the manager has processed all mpsrd sent it, its holder must still
 * be there.
 */
static bool store_usable(struct server *s) {
	if (!s->cfg.fd_store)
		return false;
	int r = sd_notify_barrier(0, 5000000);
	if (r < 0 && r != -ENOTCONN)
		log_warning_errno(r, "the service manager did not answer");
	r = holder_check(s->holder);
	if (r < 0)
		log_error("the connections are not in the fd store (%s): this restart is a stop; "
			  "unfinished lines are written as they stand",
			  strerror(-r));
	return r >= 0;
}

void server_drain(struct server *s, bool restarting) {
	listeners_drain(s->listeners);
	if (restarting && !store_usable(s))
		restarting = false;
	/* Unfinished lines stay in the ledger only if the fd store outlives this process. */
	conns_drain(s->conns, restarting && s->ledger, !restarting);
}

static int sync_run(struct job *j, struct relay *r) {
	(void)j;
	(void)r;
	int k = journal_sync(now_usec() + SYNC_TRY_USEC);
	return k == -ETIMEDOUT ? READ_RETRY : k;
}

static void sync_done(struct job *j, int result) {
	struct server *s = (struct server *)((char *)j - offsetof(struct server, sync));

	*s->sync_result = result == READ_RETRY ? -ETIMEDOUT : result;
}

void server_sync(struct server *s, int *result) {
	s->sync = (struct job){.run = sync_run, .done = sync_done};
	s->sync_result = result;
	*result = -EINPROGRESS;
	worker_submit(s->worker, &s->sync);
}

bool server_busy(const struct server *s) {
	return worker_pending(s->worker) > 0;
}

void server_abort(struct server *s) {
	worker_abort(s->worker);
}

bool server_alive(struct server *s, uint64_t now, uint64_t limit_usec) {
	return worker_alive(s->worker, now, limit_usec);
}

void server_stats(struct server *s, uint64_t now, struct server_stats *out) {
	uint64_t since = worker_waiting_since(s->worker);

	*out = (struct server_stats){
		.accepted = s->accepted,
		.connections = conns_count(s->conns),
		.journal_wait_usec = since && now > since ? now - since : 0,
		.unfinished = s->ledger ? ledger_staged_total(s->ledger) : 0,
		.slowed = s->slowed,
	};
	worker_stats(s->worker, &out->relay);
}
