/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "packet.h"

#define ACCEPT_BATCH      64 /* most connections accepted per wake-up */
#define ACCEPT_RETRY_USEC 1000000
#define REPORT_USEC       250000 /* while drops wait to be reported, the queue is read this often */

struct listener {
	struct listeners *set;
	struct loop_source *src;
	struct job job;           /* datagram sockets: reading the queue */
	struct line_gate gate;    /* datagram sockets: each sender's limit */
	struct loop_source *tick; /* datagram sockets: a timer while drops wait to be reported */
	int tick_fd;
	int fd;
	int type;              /* SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM */
	bool busy;             /* its job is with the worker */
	unsigned max;          /* datagrams the job reads at most; set before it is submitted */
	bool draining;         /* stop: no more reading once the last read is done */
	bool drained;          /* the last read is submitted */
	struct listener *next; /* listeners.head */

	uint64_t ino;            /* its inode: recovery finds a datagram socket by it */
	struct packet_ledger pl; /* datagram sockets: the account in the ledger, or none */
};

struct listeners {
	struct listeners_config cfg;
	struct listener *head;
	bool paused;
	uint64_t retry_at; /* after EMFILE; 0 while paused by `full` */
	struct ratelimit warn;
	struct ledger *ledger; /* datagram sockets keep account here (listeners_use_ledger()) */
};

int listeners_new(const struct listeners_config *cfg, struct listeners **ret) {
	struct listeners *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return -ENOMEM;
	ls->cfg = *cfg;
	ls->warn = (struct ratelimit){.interval_usec = 10000000, .burst = 10};
	*ret = ls;
	return 0;
}

void listeners_free(struct listeners *ls) {
	if (!ls)
		return;
	while (ls->head) {
		struct listener *l = ls->head;
		ls->head = l->next;
		loop_remove(l->src);
		loop_remove(l->tick);
		if (l->tick_fd >= 0)
			close(l->tick_fd);
		free(l);
	}
	free(ls);
}

static void pause_accepting(struct listeners *ls, bool pause, uint64_t retry_at) {
	ls->paused = pause;
	ls->retry_at = retry_at;
	for (struct listener *l = ls->head; l; l = l->next)
		if (l->type != SOCK_DGRAM && !l->draining)
			loop_set_events(l->src, pause ? 0 : POLLIN);
}

void listeners_resume(struct listeners *ls) {
	if (ls->paused && ls->retry_at == 0)
		pause_accepting(ls, false, 0);
}

void listeners_tick(struct listeners *ls, uint64_t now) {
	if (ls->paused && ls->retry_at != 0 && now >= ls->retry_at)
		pause_accepting(ls, false, 0);
}

/* On the worker: a datagram over its sender's limit is counted for the report, and dropped. */
static bool datagram_admit(struct line_gate *g, int priority, const struct ucred *sender) {
	struct listener *l = (struct listener *)((char *)g - offsetof(struct listener, gate));
	struct tenants *ts = l->set->cfg.tenants;
	uint64_t now = now_usec();
	struct tenant *t = tenants_for_sender(ts, sender, now);

	if (!t || tenant_admit(ts, t, priority, now))
		return true;
	tenant_dropped(ts, t, now);
	return false;
}

static int datagram_run(struct job *j, struct relay *r) {
	struct listener *l = (struct listener *)((char *)j - offsetof(struct listener, job));
	struct tenants *ts = l->set->cfg.tenants;

	/* At stop, what is queued is written whatever the limits. */
	r->gate = ts && !l->draining ? &l->gate : NULL;
	int k = packet_read_datagrams(l->fd, &l->pl, r, l->max);
	/* At stop, every drop is reported now: there is no later. */
	if (k == READ_MORE && ts &&
	    tenants_report_dropped(ts, l->draining ? UINT64_MAX : now_usec()))
		return READ_LIMITED;
	return k;
}

/* Drops wait to be reported: the queue is read again soon, even if no datagram comes. */
static void datagram_later(struct listener *l) {
	struct itimerspec its = {.it_value = {.tv_nsec = REPORT_USEC * 1000}};

	if (l->tick_fd >= 0)
		timerfd_settime(l->tick_fd, 0, &its, NULL);
}

static void datagram_submit(struct listener *l, unsigned max) {
	loop_set_events(l->src, 0);
	l->busy = true;
	l->max = max;
	worker_submit(l->set->cfg.worker, &l->job);
}

/* At stop, one last read of what is queued. */
static void datagram_drain(struct listener *l) {
	l->drained = true;
	datagram_submit(l, DRAIN_PACKETS);
}

static void datagram_done(struct job *j, int result) {
	struct listener *l = (struct listener *)((char *)j - offsetof(struct listener, job));

	l->busy = false;
	if (result == READ_LIMITED)
		datagram_later(l);
	if (!l->draining)
		loop_set_events(l->src, POLLIN);
	else if (!l->drained)
		datagram_drain(l);
}

static int datagram_tick(int fd, short revents, void *data) {
	struct listener *l = data;
	uint64_t n;
	(void)revents;

	(void)!read(fd, &n, sizeof(n));
	if (!l->busy && !l->draining)
		datagram_submit(l, PACKET_BATCH);
	return 0;
}

static void accept_round(struct listener *l) {
	struct listeners *ls = l->set;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		if (ls->cfg.full(ls->cfg.data)) {
			log_limited(&ls->warn, LOG_WARNING, 0,
				    "too many producers connected; new ones wait");
			pause_accepting(ls, true, 0);
			return;
		}
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ECONNABORTED)
				continue;
			/* Out of fds: pause instead of spinning on a listener that stays readable.
			 */
			log_limited(&ls->warn, LOG_WARNING, -errno,
				    "cannot accept producers; pausing for a second");
			pause_accepting(ls, true, now_usec() + ACCEPT_RETRY_USEC);
			return;
		}
		ls->cfg.accepted(fd, l->type, ls->cfg.data);
	}
}

static void accept_some(struct listener *l) {
	struct listeners *ls = l->set;

	accept_round(l);
	if (ls->cfg.accepted_all)
		ls->cfg.accepted_all(ls->cfg.data);
}

static int listener_event(int fd, short revents, void *data) {
	struct listener *l = data;
	(void)fd;
	(void)revents;

	if (l->type != SOCK_DGRAM) {
		accept_some(l);
		return 0;
	}
	/* The queue is the worker's until the job is done. */
	datagram_submit(l, PACKET_BATCH);
	return 0;
}

int socket_kind(int fd, int *type, bool *listening) {
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0)
		return -errno;
	*type = v;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0)
		return -errno;
	*listening = v != 0;
	return 0;
}

static void use_ledger(struct listener *l, struct ledger *ledger) {
	int r = packet_ledger_init(&l->pl, ledger, l->fd);

	if (r < 0)
		log_warning_errno(r, "datagrams go without a ledger: a crash may write one twice");
}

int listeners_add(struct listeners *ls, int fd) {
	int type = 0, one = 1;
	bool listening = false;
	int r = socket_kind(fd, &type, &listening);

	if (r < 0)
		return r;
	/* Passed sockets are blocking; one wake-up takes what is queued and no more. */
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	if (type == SOCK_DGRAM) {
		/* The sender's credentials come with every datagram. */
		if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
			return -errno;
	} else if (!listening || (type != SOCK_STREAM && type != SOCK_SEQPACKET)) {
		return -EINVAL;
	}

	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	*l = (struct listener){.set = ls, .fd = fd, .type = type, .next = ls->head, .tick_fd = -1};
	struct stat st;
	if (fstat(fd, &st) == 0)
		l->ino = (uint64_t)st.st_ino;
	if (type == SOCK_DGRAM && ls->ledger)
		use_ledger(l, ls->ledger);
	l->job = (struct job){.run = datagram_run, .done = datagram_done};
	l->gate.admit = datagram_admit;
	if (type == SOCK_DGRAM && ls->cfg.tenants) {
		l->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (l->tick_fd >= 0)
			l->tick = loop_add(ls->cfg.loop, l->tick_fd, POLLIN, datagram_tick, l);
	}
	l->src = loop_add(ls->cfg.loop, fd, ls->paused && type != SOCK_DGRAM ? 0 : POLLIN,
			  listener_event, l);
	if (!l->src) {
		loop_remove(l->tick);
		if (l->tick_fd >= 0)
			close(l->tick_fd);
		free(l);
		return -ENOMEM;
	}
	ls->head = l;
	return 0;
}

void listeners_drain(struct listeners *ls) {
	for (struct listener *l = ls->head; l; l = l->next) {
		loop_set_events(l->src, 0);
		l->draining = true;
		if (l->type == SOCK_DGRAM && !l->busy)
			datagram_drain(l);
	}
}

void listeners_use_ledger(struct listeners *ls, struct ledger *l) {
	ls->ledger = l;
	for (struct listener *x = ls->head; x; x = x->next)
		if (x->type == SOCK_DGRAM)
			use_ledger(x, l);
}

int listeners_find_datagrams(const struct listeners *ls, uint64_t ino) {
	for (const struct listener *l = ls->head; l; l = l->next)
		if (l->type == SOCK_DGRAM && l->ino != 0 && l->ino == ino)
			return l->fd;
	return -1;
}

void listeners_clear_marks(struct listeners *ls) {
	for (struct listener *l = ls->head; l; l = l->next)
		if (l->type == SOCK_DGRAM)
			(void)setsockopt(l->fd, SOL_SOCKET, SO_PEEK_OFF, &(int){-1}, sizeof(int));
}
