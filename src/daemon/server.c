/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "frame.h"
#include "journal.h"
#include "jstream.h"
#include "log.h"
#include "priority.h"
#include "record.h"
#include "server.h"

#define READ_CHUNK         (64 * 1024) /* most bytes read from one producer per wake-up */
#define ACCEPT_BATCH       64          /* most connections accepted per wake-up */
#define PACKET_BATCH       64          /* most datagrams or records taken per wake-up */
#define PACKET_BUF_MIN     (64 * 1024)
#define JOURNAL_CHECK_USEC 1000 /* how stale the "journald is there" answer may be */
#define ACCEPT_RETRY_USEC  1000000
#define ORIGIN_CACHE       64
/*
 * Stream lines written to the journal before the bytes are taken out of the
 * socket in one recv(): a crash in between stores up to this many lines twice
 * after the restart (never loses one), and a line costs 1/CONSUME_LINES of a
 * system call instead of one. Kept small: duplicates are no loss, but still
 * something a reader of the journal has to notice.
 */
#define CONSUME_LINES 8

struct listener {
	struct server *server;
	struct loop_source *src;
	int fd;
	int type;              /* SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM */
	struct listener *next; /* server.listeners */
};

struct conn {
	struct server *server;
	struct loop_source *src;
	int fd;
	int type; /* SOCK_STREAM or SOCK_SEQPACKET */
	struct origin origin;
	struct frame_state fs;
	struct jstream *js; /* --transport=stream: journald's stream for this producer, or NULL */
	char *carry;        /* bytes of an unfinished line already taken from the socket */
	size_t carry_len;
	char name[32];            /* FDNAME in the fd store, or "" */
	struct conn *prev, *next; /* server.conns */
};

/* Identity of datagram senders, so /proc is not read for every datagram. */
struct origin_slot {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint64_t at;
	struct origin origin;
};

struct server {
	struct loop *loop;
	struct server_config cfg;
	struct server_stats stats;
	struct listener *listeners;
	struct conn *conns;
	struct jstreams *jstreams; /* NULL unless cfg.stream_transport */
	struct jstream_batch batch;
	char *buf; /* stream reads; JOURNAL_HEADROOM bytes in front */
	size_t buf_size;
	char *pkt; /* datagrams and records; grows to the largest seen */
	size_t pkt_size;
	uint64_t journal_checked;
	bool accept_paused;
	uint64_t accept_retry_at; /* after EMFILE; 0 when paused for max_connections */
	struct ratelimit warn;
	struct origin_slot origins[ORIGIN_CACHE];
};

static const char *const break_names[] = {
	[FRAME_BREAK_NONE] = NULL,
	[FRAME_BREAK_LINE_MAX] = "line-max",
	[FRAME_BREAK_EOF] = "eof",
};

/* Diagnostics about producers are rate-limited: a flood must not become one. */
static void server_warn(struct server *s, int error, const char *fmt, ...) _printf_(3, 4);
static void server_warn(struct server *s, int error, const char *fmt, ...) {
	unsigned suppressed;
	char text[512];
	va_list ap;

	if (!ratelimit_test(&s->warn, now_usec(), &suppressed))
		return;
	if (suppressed)
		log_warning("%u warnings suppressed by rate limit", suppressed);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_msg(LOG_WARNING, error, "%s", text);
}

int server_new(struct loop *loop, const struct server_config *cfg, struct server **ret) {
	struct server *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->cfg = *cfg;
	s->warn = (struct ratelimit){.interval_usec = 10000000, .burst = 10};
	/* Room for an unfinished line, its prefix, and a full read behind it. */
	s->buf_size = JOURNAL_HEADROOM + cfg->line_max + 3 + READ_CHUNK;
	s->buf = malloc(s->buf_size);
	if (!s->buf) {
		free(s);
		return -ENOMEM;
	}
	if (cfg->stream_transport) {
		int r = jstreams_new(cfg->default_priority, &s->jstreams);
		if (r < 0) {
			free(s->buf);
			free(s);
			return r;
		}
	}
	*ret = s;
	return 0;
}

/* Closes our side of a connection and frees what mpsrd held for it. */
static void conn_release(struct conn *c) {
	loop_remove(c->src);
	close(c->fd);
	jstream_unref(c->js);
	free(c->carry);
	free(c);
}

void server_free(struct server *s) {
	if (!s)
		return;
	while (s->conns) {
		struct conn *c = s->conns;
		s->conns = c->next;
		/* Still in the fd store, if it is used: the next start takes it. */
		conn_release(c);
	}
	while (s->listeners) {
		struct listener *l = s->listeners;
		s->listeners = l->next;
		loop_remove(l->src);
		free(l);
	}
	jstreams_free(s->jstreams);
	free(s->buf);
	free(s->pkt);
	free(s);
}

const struct server_stats *server_stats(const struct server *s) {
	return &s->stats;
}

/* Pauses or resumes reading from every producer: journald is not taking entries. */
static void server_hold(struct server *s, bool hold) {
	short ev = hold ? 0 : POLLIN;

	if (s->stats.journal_held == hold)
		return;
	s->stats.journal_held = hold;
	for (struct conn *c = s->conns; c; c = c->next)
		loop_set_events(c->src, ev);
	for (struct listener *l = s->listeners; l; l = l->next)
		if (l->type == SOCK_DGRAM)
			loop_set_events(l->src, ev);
	if (hold)
		log_warning("journald is not taking entries; producers wait until it does");
	else
		log_notice("journald takes entries again; reading resumes");
}

static bool journal_ok(struct server *s) {
	uint64_t now = now_usec();

	if (now - s->journal_checked < JOURNAL_CHECK_USEC)
		return true;
	s->journal_checked = now;
	if (journal_available() < 0) {
		server_hold(s, true);
		return false;
	}
	return true;
}

/* A failed write is never dropped: the bytes stay unconsumed and are retried. */
static int server_write(struct server *s, const struct origin *o, const struct journal_msg *m) {
	int r = journal_write(o, m);

	if (r < 0) {
		s->stats.journal_errors++;
		server_warn(s, r, "writing to the journal failed; will retry");
		server_hold(s, true);
		return r;
	}
	s->stats.messages++;
	return 0;
}

/* ---- the fd store: connections outlive a restart of the service ---- */

static void fdstore_add(struct conn *c) {
	struct stat st;
	char msg[96];

	if (!c->server->cfg.fd_store || fstat(c->fd, &st) < 0)
		return;
	/* The inode names the socket uniquely while it is open. */
	snprintf(c->name, sizeof(c->name), "c-%lu", (unsigned long)st.st_ino);
	/* FDPOLL=0: the manager must keep the fd even after the producer hung up. */
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", c->name);
	int r = sd_pid_notify_with_fds(0, 0, msg, &c->fd, 1);
	if (r <= 0) {
		server_warn(c->server, r, "cannot keep connection %s in the fd store", c->name);
		c->name[0] = '\0';
	}
}

static void fdstore_remove(struct conn *c) {
	if (c->name[0])
		sd_notifyf(0, "FDSTOREREMOVE=1\nFDNAME=%s", c->name);
}

/* ---- producers ---- */

static int conn_event(int fd, short revents, void *data);

static int conn_new(struct server *s, int fd, int type, const char *stored_name) {
	struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	socklen_t len = sizeof(cred);
	char comm[64] = "";
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	*c = (struct conn){.server = s, .fd = fd, .type = type, .fs = {.priority = -1}};
	/* Taken once: the kernel's word on who connected, not the producer's. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		server_warn(s, -errno, "SO_PEERCRED");
	origin_read_comm(cred.pid, comm, sizeof(comm));
	origin_init(&c->origin, cred.pid, cred.uid, cred.gid, comm,
		    type == SOCK_SEQPACKET ? ORIGIN_RECORD : ORIGIN_STREAM);
	if (s->jstreams && type == SOCK_STREAM) {
		/* Chosen once: switching transports could reorder a producer's lines. */
		int r = jstream_get(s->jstreams, comm[0] ? comm : "unknown", &c->js);
		if (r < 0)
			server_warn(s, r, "a producer (%s) uses the native transport", comm);
	}

	c->src = loop_add(s->loop, fd, s->stats.journal_held ? 0 : POLLIN, conn_event, c);
	if (!c->src) {
		jstream_unref(c->js);
		free(c);
		return -ENOMEM;
	}
	if (stored_name)
		snprintf(c->name, sizeof(c->name), "%s", stored_name);
	else
		fdstore_add(c);

	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->stats.connections++;
	return 0;
}

static void listeners_pause(struct server *s, bool pause, uint64_t retry_at) {
	s->accept_paused = pause;
	s->accept_retry_at = retry_at;
	for (struct listener *l = s->listeners; l; l = l->next)
		if (l->type != SOCK_DGRAM)
			loop_set_events(l->src, pause ? 0 : POLLIN);
}

static void conn_free(struct conn *c) {
	struct server *s = c->server;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->stats.connections--;
	fdstore_remove(c);
	conn_release(c);
	if (s->accept_paused && s->accept_retry_at == 0)
		listeners_pause(s, false, 0);
}

/* Takes n bytes, already read with MSG_PEEK into dst, out of the socket. */
static int conn_consume(struct conn *c, char *dst, size_t n) {
	while (n > 0) {
		ssize_t k = recv(c->fd, dst, n, MSG_DONTWAIT);
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		c->server->stats.bytes += (uint64_t)k;
		dst += k;
		n -= (size_t)k;
	}
	return 0;
}

static int conn_keep(struct conn *c, const char *from, size_t n) {
	if (n == 0) {
		free(c->carry);
		c->carry = NULL;
		c->carry_len = 0;
		return 0;
	}
	if (from != c->carry) {
		char *p = realloc(c->carry, n);
		if (!p)
			return -ENOMEM;
		memcpy(p, from, n);
		c->carry = p;
	}
	c->carry_len = n;
	return 0;
}

static int stream_entry(struct conn *c, char *text, const struct frame *f) {
	struct server *s = c->server;
	struct journal_msg m = {
		.text = text,
		.len = f->len,
		.priority = f->priority >= 0 ? f->priority : s->cfg.default_priority,
		.line_break = break_names[f->brk],
	};
	char saved[JOURNAL_HEADROOM];

	/*
	 * The writer puts "MESSAGE=" over the bytes before the text, which may be
	 * this line's "<N>" prefix. If the write fails, the line is kept for a
	 * retry (in c->carry, perhaps): it must be kept as the producer wrote it.
	 */
	memcpy(saved, text - JOURNAL_HEADROOM, JOURNAL_HEADROOM);
	int r = server_write(s, &c->origin, &m);
	if (r < 0)
		memcpy(text - JOURNAL_HEADROOM, saved, JOURNAL_HEADROOM);

	if (r == 0 && f->brk == FRAME_BREAK_LINE_MAX)
		s->stats.split++;
	if (r == 0 && f->brk == FRAME_BREAK_EOF)
		s->stats.unterminated++;
	return r;
}

/* Writes the lines collected for c's journald stream. */
static int stream_send_batch(struct conn *c) {
	struct server *s = c->server;
	unsigned lines = s->batch.lines;
	int r = jstream_write(c->js, &s->batch);

	if (r < 0) {
		s->stats.journal_errors++;
		server_warn(s, r, "writing to journald's stream failed; will retry");
		server_hold(s, true);
		return r;
	}
	s->stats.messages += lines;
	return 0;
}

/*
 * Reads what a stream producer wrote, without taking it from the socket
 * (MSG_PEEK), writes every complete line, and only then takes those bytes out.
 * So a line is in the kernel or in the journal, never only in this process:
 * a crash or restart loses nothing. Only an unfinished line that is all the
 * socket holds is taken out early (into c->carry), since poll() would report
 * it readable for ever otherwise.
 *
 * Returns 1 at end of stream, 0 to wait for more, a negative errno on a socket error.
 */
static int stream_read(struct conn *c) {
	struct server *s = c->server;
	char *buf = s->buf + JOURNAL_HEADROOM;
	size_t cap = s->buf_size - JOURNAL_HEADROOM;
	size_t have = c->carry_len;

	if (have > 0) /* carry is NULL when empty, and memcpy() must not see NULL */
		memcpy(buf, c->carry, have);
	ssize_t n = recv(c->fd, buf + have, cap - have, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;

	bool eof = n == 0;
	size_t len = have + (size_t)n, pos = 0, taken = have;
	struct frame_state st = c->fs, fs_sent = c->fs;
	struct frame f;
	int r = 0;

	bool stalled = false; /* journald did not take an entry: keep the rest for later */
	unsigned lines = 0;
	size_t sent = 0; /* --transport=stream: how far the batches written reach */
	while (frame_next(buf + pos, len - pos, s->cfg.line_max, eof, &st, &f)) {
		if (c->js) {
			if (!jstream_batch_room(&s->batch)) {
				if (stream_send_batch(c) < 0) {
					stalled = true;
					break;
				}
				sent = pos;
				fs_sent = c->fs;
			}
			jstream_batch_add(&s->batch, buf + pos, &f, s->cfg.default_priority);
		} else if (stream_entry(c, buf + pos + f.start, &f) < 0) {
			stalled = true;
			break;
		}
		c->fs = st;
		pos += f.consumed;
		if (++lines % CONSUME_LINES == 0 && !c->js) {
			r = conn_consume(c, buf + taken, pos - taken);
			if (r < 0)
				return r;
			taken = pos;
		}
	}
	if (c->js && !stalled && s->batch.n > 0 && stream_send_batch(c) < 0)
		stalled = true;
	if (c->js && stalled) {
		/* Only the batches written are stored: the rest goes again, later. */
		jstream_batch_reset(&s->batch);
		pos = sent;
		c->fs = fs_sent;
	}
	if (pos > taken) {
		r = conn_consume(c, buf + taken, pos - taken);
		if (r < 0)
			return r;
		taken = pos;
	}
	if (!stalled && eof) {
		conn_keep(c, NULL, 0);
		return 1;
	}

	bool drained = (size_t)n < cap - have;
	if (!stalled && drained && len > pos) {
		r = conn_consume(c, buf + taken, len - taken);
		if (r < 0)
			return r;
		taken = len;
	}
	r = conn_keep(c, buf + pos, taken > pos ? taken - pos : 0);
	return r < 0 ? r : 0;
}

/* Writes an unfinished line that was already taken from the socket. */
static void stream_flush(struct conn *c, const char *why) {
	struct server *s = c->server;
	char *buf = s->buf + JOURNAL_HEADROOM;

	if (c->carry_len == 0)
		return;
	memcpy(buf, c->carry, c->carry_len);
	struct frame_state st = c->fs;
	struct frame f;
	size_t pos = 0;
	while (frame_next(buf + pos, c->carry_len - pos, s->cfg.line_max, true, &st, &f)) {
		if (c->js) {
			/* The stream has no field for `why`: the line just ends here. */
			if (!jstream_batch_room(&s->batch) && stream_send_batch(c) < 0)
				break;
			jstream_batch_add(&s->batch, buf + pos, &f, s->cfg.default_priority);
			pos += f.consumed;
			continue;
		}
		struct journal_msg m = {
			.text = buf + pos + f.start,
			.len = f.len,
			.priority = f.priority >= 0 ? f.priority : s->cfg.default_priority,
			.line_break = f.brk == FRAME_BREAK_EOF ? why : break_names[f.brk],
		};
		if (journal_write(&c->origin, &m) < 0)
			s->stats.dropped++;
		else
			s->stats.messages++;
		pos += f.consumed;
	}
	if (c->js) {
		unsigned lines = s->batch.lines;
		if (jstream_write(c->js, &s->batch) < 0)
			s->stats.dropped += lines;
		else
			s->stats.messages += lines;
	}
	conn_keep(c, NULL, 0);
	c->fs = (struct frame_state){.priority = -1};
}

/* ---- datagrams and records: one packet, one entry ---- */

static int pkt_reserve(struct server *s, size_t n) {
	size_t want = JOURNAL_HEADROOM + (n < PACKET_BUF_MIN ? PACKET_BUF_MIN : n) + 1;

	if (want <= s->pkt_size)
		return 0;
	char *p = realloc(s->pkt, want);
	if (!p)
		return -ENOMEM;
	s->pkt = p;
	s->pkt_size = want;
	return 0;
}

/*
 * Peeks at the next packet whole, growing the buffer if it is larger than any
 * before. Returns its length, or a negative errno (-EAGAIN: none queued).
 */
static ssize_t pkt_peek(struct server *s, int fd, struct ucred *cred) {
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;

	for (;;) {
		int r = pkt_reserve(s, 0);
		if (r < 0)
			return r;
		struct iovec iov = {s->pkt + JOURNAL_HEADROOM, s->pkt_size - JOURNAL_HEADROOM - 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (cred) {
			mh.msg_control = &ctl;
			mh.msg_controllen = sizeof(ctl);
		}
		ssize_t n =
			recvmsg(fd, &mh, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0)
			return -errno;
		if ((size_t)n > iov.iov_len) {
			r = pkt_reserve(s, (size_t)n);
			if (r < 0)
				return r;
			continue;
		}
		if (cred) {
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			*cred = (struct ucred){0, (uid_t)-1, (gid_t)-1};
			if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS)
				memcpy(cred, CMSG_DATA(cm), sizeof(*cred));
		}
		return n;
	}
}

static const struct origin *datagram_origin(struct server *s, const struct ucred *cred) {
	struct origin_slot *o = &s->origins[(unsigned)cred->pid % ORIGIN_CACHE];
	uint64_t now = now_usec();

	/* Refreshed every second: a pid may be reused by another program. */
	if (o->pid != cred->pid || o->uid != cred->uid || o->gid != cred->gid ||
	    now - o->at > 1000000) {
		char comm[64] = "";
		origin_read_comm(cred->pid, comm, sizeof(comm));
		origin_init(&o->origin, cred->pid, cred->uid, cred->gid, comm, ORIGIN_DATAGRAM);
		o->pid = cred->pid;
		o->uid = cred->uid;
		o->gid = cred->gid;
		o->at = now;
	}
	return &o->origin;
}

/* A datagram is one message: an optional "<N>" prefix, one trailing '\n' dropped. */
static int datagram_entry(struct server *s, const struct origin *o, char *text, size_t len) {
	int prio = s->cfg.default_priority;
	size_t skip = priority_prefix(text, len, &prio);

	text += skip;
	len -= skip;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	struct journal_msg m = {.text = text, .len = len, .priority = prio};
	return server_write(s, o, &m);
}

static int record_entry(struct server *s, const struct origin *o, char *buf, size_t len) {
	struct record rec;

	record_parse(buf, len, &rec);
	if (rec.refused) {
		s->stats.refused_fields += rec.refused;
		server_warn(s, 0, "a record from %.*s had %u field(s) refused",
			    (int)o->iov[0].iov_len - 18, (const char *)o->iov[0].iov_base + 18,
			    rec.refused);
	}
	/*
	 * "MESSAGE=" goes over the 8 bytes in front of the text, which are the end
	 * of the header: move the header's fields out of the way first.
	 */
	char *hdr = NULL;
	if (rec.text > 0) {
		hdr = malloc(rec.text);
		if (!hdr)
			return -ENOMEM;
		memcpy(hdr, buf, rec.text);
		for (size_t i = 0; i < rec.n_fields; i++)
			rec.fields[i].iov_base = hdr + ((char *)rec.fields[i].iov_base - buf);
	}
	char *idf = NULL;
	if (rec.identifier.iov_len) {
		idf = strndup(rec.identifier.iov_base, rec.identifier.iov_len);
		if (!idf) {
			free(hdr);
			return -ENOMEM;
		}
	}
	struct journal_msg m = {
		.text = buf + rec.text,
		.len = rec.text_len,
		.priority = rec.priority >= 0 ? rec.priority : s->cfg.default_priority,
		.extra = rec.fields,
		.n_extra = rec.n_fields,
		.identifier_field = idf,
	};
	int r = server_write(s, o, &m);
	free(idf);
	free(hdr);
	return r;
}

/* Peeks, writes, and only then takes the packet out: no loss on a crash. */
static int packet_read(struct server *s, int fd, const struct origin *conn_origin) {
	struct ucred cred;
	ssize_t n = pkt_peek(s, fd, conn_origin ? NULL : &cred);

	if (n < 0)
		return (int)n;
	if (n == 0 && conn_origin)
		return 0; /* the end of a seqpacket stream, or an empty record */
	char *text = s->pkt + JOURNAL_HEADROOM;
	int r = conn_origin ? record_entry(s, conn_origin, text, (size_t)n)
			    : datagram_entry(s, datagram_origin(s, &cred), text, (size_t)n);
	if (r < 0)
		return r;
	if (recv(fd, s->pkt, 0, MSG_DONTWAIT | MSG_TRUNC) < 0)
		return -errno;
	s->stats.bytes += (uint64_t)n;
	return 1;
}

static void conn_close(struct conn *c, int error) {
	if (error < 0 && error != -ECONNRESET)
		server_warn(c->server, error, "closing producer connection");
	stream_flush(c, "eof");
	conn_free(c);
}

/*
 * A zero-length read on a seqpacket connection is an empty record or the end
 * of the producer's stream. A shutdown(SHUT_WR) shows only as POLLRDHUP, which
 * the loop does not ask for; and the end counts only when no record with text
 * is still queued behind an empty one.
 */
static bool seqpacket_ended(int fd) {
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};
	int queued = 0;

	if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLRDHUP | POLLHUP)))
		return false;
	return ioctl(fd, FIONREAD, &queued) < 0 || queued == 0;
}

static int conn_event(int fd, short revents, void *data) {
	struct conn *c = data;
	struct server *s = c->server;
	(void)fd;

	if (!journal_ok(s))
		return 0;
	if (c->type == SOCK_STREAM) {
		int r = stream_read(c);
		if (r != 0)
			conn_close(c, r < 0 ? r : 0);
		return 0;
	}
	for (int i = 0; i < PACKET_BATCH; i++) {
		int r = packet_read(s, c->fd, &c->origin);
		if (r == 1)
			continue;
		if (r == -EAGAIN || s->stats.journal_held)
			return 0;
		if (r == 0 && !seqpacket_ended(c->fd)) {
			recv(c->fd, s->pkt, 0,
			     MSG_DONTWAIT); /* an empty record: nothing to write */
			continue;
		}
		conn_close(c, r);
		return 0;
	}
	return 0;
}

static int listener_event(int fd, short revents, void *data) {
	struct listener *l = data;
	struct server *s = l->server;
	(void)revents;

	if (l->type == SOCK_DGRAM) {
		if (!journal_ok(s))
			return 0;
		for (int i = 0; i < PACKET_BATCH; i++)
			if (packet_read(s, fd, NULL) < 0)
				break;
		return 0;
	}
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		if (s->stats.connections >= s->cfg.max_connections) {
			server_warn(s, 0, "%u producers connected, the most allowed; new ones wait",
				    s->stats.connections);
			listeners_pause(s, true, 0);
			return 0;
		}
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			if (errno == ECONNABORTED)
				continue;
			/* Out of fds: pause instead of spinning on a listener that stays readable.
			 */
			server_warn(s, -errno, "cannot accept producers; pausing for a second");
			listeners_pause(s, true, now_usec() + ACCEPT_RETRY_USEC);
			return 0;
		}
		s->stats.accepted++;
		int r = conn_new(s, cfd, l->type, NULL);
		if (r < 0) {
			server_warn(s, r, "cannot serve a new producer");
			close(cfd);
		}
	}
	return 0;
}

static int socket_type(int fd, int *type, bool *listening) {
	int v;
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

int server_add_listener(struct server *s, int fd) {
	int type, one = 1;
	bool listening;
	int r = socket_type(fd, &type, &listening);

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
	*l = (struct listener){.server = s, .fd = fd, .type = type};
	l->src = loop_add(s->loop, fd, POLLIN, listener_event, l);
	if (!l->src) {
		free(l);
		return -ENOMEM;
	}
	l->next = s->listeners;
	s->listeners = l;
	return 0;
}

int server_adopt(struct server *s, int fd, const char *name) {
	int type;
	bool listening;
	int r = socket_type(fd, &type, &listening);

	if (r < 0)
		return r;
	if (listening || (type != SOCK_STREAM && type != SOCK_SEQPACKET))
		return -EINVAL;
	return conn_new(s, fd, type, name);
}

void server_tick(struct server *s, uint64_t now) {
	if (s->stats.journal_held && journal_available() == 0)
		server_hold(s, false);
	if (s->accept_paused && s->accept_retry_at != 0 && now >= s->accept_retry_at)
		listeners_pause(s, false, 0);
}

void server_drain(struct server *s) {
	for (struct conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (c->type == SOCK_STREAM) {
			/* What is queued now, at most: a producer that keeps writing must not stall
			 * the exit. */
			int queued = 0;
			if (ioctl(c->fd, FIONREAD, &queued) < 0)
				queued = 0;
			uint64_t until = s->stats.bytes + (uint64_t)queued;
			int r = 0;
			while (r == 0 && s->stats.bytes < until && !s->stats.journal_held)
				r = stream_read(c);
			if (r != 0) {
				conn_close(c, r < 0 ? r : 0);
				continue;
			}
			/* What was taken out of the socket must reach the journal now. */
			stream_flush(c, "stop");
		} else {
			for (int i = 0; i < PACKET_BATCH * 16; i++)
				if (packet_read(s, c->fd, &c->origin) < 0)
					break;
		}
	}
}
