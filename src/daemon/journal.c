/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
/* Producers' entries must not carry this file's CODE_FILE= and CODE_LINE=. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <linux/sockios.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "macro.h"
#include "protocol.h"

#define SYNC_POLL_USEC  2000
#define MPSR_BREAK_NAME "MPSR_LINE_BREAK="

static const char *const priority_fields[8] = {
	FIELD_PRIORITY "0", FIELD_PRIORITY "1", FIELD_PRIORITY "2", FIELD_PRIORITY "3",
	FIELD_PRIORITY "4", FIELD_PRIORITY "5", FIELD_PRIORITY "6", FIELD_PRIORITY "7",
};

/*
 * One entry through sd_journal_sendv(): the identity fields are prepared
 * iovecs, the text is not copied (its "MESSAGE=" goes into the headroom), and
 * libsystemd handles what needs handling (binary fields, entries too large for
 * a datagram). It blocks while journald's queue is full: the backpressure.
 */
/* "NAME=value" for each field a syslog header gave, copied into buf (or *heap). */
struct syslog_copy {
	char buf[1024];
	char *heap;
	struct iovec iov[8];
	size_t n;
	int ident, pid; /* index in iov, or -1 */
};

static void syslog_copy_add(struct syslog_copy *c, char **at, const char *name,
			    const struct span *v, int *index) {
	size_t k = strlen(name);

	if (!v->len)
		return;
	memcpy(*at, name, k);
	memcpy(*at + k, v->p, v->len);
	if (index)
		*index = (int)c->n;
	c->iov[c->n++] = (struct iovec){*at, k + v->len};
	*at += k + v->len;
}

static int syslog_copy(struct syslog_copy *c, const struct journal_msg *m) {
	static const char *const names[] = {FIELD_SYSLOG_IDENTIFIER,   FIELD_SYSLOG_PID,
					    FIELD_SYSLOG_TIMESTAMP,    FIELD_SYSLOG_HOSTNAME,
					    FIELD_SYSLOG_MSGID,        FIELD_SYSLOG_STRUCTURED_DATA,
					    FIELD_SYSLOG_FACILITY "%d"};
	const struct syslog_fields *f = m->syslog;
	size_t need = 64;

	c->heap = NULL;
	c->n = 0;
	c->ident = c->pid = -1;
	if (!f && m->facility < 0)
		return 0;
	if (f)
		need += f->ident.len + f->pid.len + f->timestamp.len + f->hostname.len +
			f->msgid.len + f->sd.len + 160;
	char *at = c->buf;
	if (need > sizeof(c->buf)) {
		at = c->heap = malloc(need);
		if (!at)
			return -ENOMEM;
	}
	if (f) {
		syslog_copy_add(c, &at, names[0], &f->ident, &c->ident);
		syslog_copy_add(c, &at, names[1], &f->pid, &c->pid);
		syslog_copy_add(c, &at, names[2], &f->timestamp, NULL);
		syslog_copy_add(c, &at, names[3], &f->hostname, NULL);
		syslog_copy_add(c, &at, names[4], &f->msgid, NULL);
		syslog_copy_add(c, &at, names[5], &f->sd, NULL);
	}
	if (m->facility >= 0) {
		int k = sprintf(at, FIELD_SYSLOG_FACILITY "%d", m->facility);
		c->iov[c->n++] = (struct iovec){at, (size_t)k};
	}
	return 0;
}

int journal_write(const struct origin *o, const struct journal_msg *m) {
	struct iovec iov[4 + ORIGIN_FIELDS_MAX + 64 + 8 + 1];
	struct syslog_copy sc;
	size_t n = 0;
	char brk[32];

	/* The header's bytes may be the headroom: copy them before "MESSAGE=" goes there. */
	int r = syslog_copy(&sc, m);
	if (r < 0)
		return r;
	memcpy(m->text - JOURNAL_HEADROOM, FIELD_MESSAGE, JOURNAL_HEADROOM);
	iov[n++] = (struct iovec){m->text - JOURNAL_HEADROOM, m->len + JOURNAL_HEADROOM};
	iov[n++] = (struct iovec){(char *)priority_fields[m->priority & 7],
				  STRLEN(FIELD_PRIORITY) + 1};
	for (size_t i = 0; i < o->n; i++)
		iov[n++] = o->iov[i];
	/* The origin's first two fields are SYSLOG_IDENTIFIER and SYSLOG_PID: what a message claims
	 * replaces them. */
	if (m->identifier_field)
		iov[2] = (struct iovec){(char *)m->identifier_field, strlen(m->identifier_field)};
	for (size_t i = 0; i < sc.n; i++) {
		if ((int)i == sc.ident)
			iov[2] = sc.iov[i];
		else if ((int)i == sc.pid)
			iov[3] = sc.iov[i];
		else
			iov[n++] = sc.iov[i];
	}
	if (m->line_break) {
		int k = snprintf(brk, sizeof(brk), MPSR_BREAK_NAME "%s", m->line_break);
		iov[n++] = (struct iovec){brk, (size_t)k};
	}
	/* Before the producer's fields: it is never left out for want of room. */
	if (m->tag)
		iov[n++] = *m->tag;
	for (size_t i = 0; i < m->n_extra && n < ARRAY_SIZE(iov); i++)
		iov[n++] = m->extra[i];

	r = sd_journal_sendv(iov, (int)n);
	free(sc.heap);
	return r;
}

int journal_available(void) {
	struct stat st;

	if (stat(JOURNAL_SOCKET, &st) < 0)
		return -errno;
	return S_ISSOCK(st.st_mode) ? 0 : -ENOTSOCK;
}

/*
 * journald's native socket is one queue for all its senders, and journald
 * processes each datagram as it takes it. So an empty datagram of our own
 * (which journald takes and ignores) sent after our last entry shows, once
 * the kernel says it was taken (SIOCOUTQ: nothing left unread), that every
 * entry before it was processed.
 */
int journal_sync(uint64_t until) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET};
	_cleanup_(closep) int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	/* No journald socket, or nobody behind it: no queue that could hold our entries. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == ENOENT || errno == ECONNREFUSED ? 0 : -errno;
	for (;;) {
		if (send(fd, "", 0, MSG_NOSIGNAL) == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (now_usec() >= until)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		poll(&p, 1, SYNC_POLL_USEC / 1000);
	}
	for (;;) {
		int queued = 0;
		if (ioctl(fd, SIOCOUTQ, &queued) < 0)
			return -errno;
		if (queued == 0)
			return 0;
		if (now_usec() >= until)
			return -ETIMEDOUT;
		usleep(SYNC_POLL_USEC);
	}
}

static int journal_sink_put(struct line_sink *s, char *raw, const struct frame *f,
			    const char *brk) {
	struct journal_sink *js = (struct journal_sink *)s;
	char *text = raw + f->start;
	struct journal_msg m = {
		.text = text,
		.len = f->len,
		.priority = f->priority >= 0 ? f->priority : js->default_priority,
		.line_break = brk,
		.facility = f->facility,
		.syslog = &f->fields,
		.extra = js->tag,
		.n_extra = js->tag ? 1 : 0,
	};
	char saved[JOURNAL_HEADROOM];

	/*
	 * The writer puts "MESSAGE=" over the bytes before the text, which may be
	 * this line's "<N>" prefix. If the write fails, the line is read again
	 * later: it must stay as the producer wrote it.
	 */
	memcpy(saved, text - JOURNAL_HEADROOM, JOURNAL_HEADROOM);
	int r = journal_write(js->origin, &m);
	memcpy(text - JOURNAL_HEADROOM, saved, JOURNAL_HEADROOM);
	if (r < 0)
		return r;
	if (js->pace)
		pace_entry(js->pace);
	return 1;
}

static bool journal_sink_full(const struct line_sink *s) {
	(void)s;
	return false;
}

static int journal_sink_commit(struct line_sink *s) {
	(void)s;
	return 0;
}

struct line_sink *journal_sink_init(struct journal_sink *js, const struct origin *o,
				    int default_priority) {
	*js = (struct journal_sink){
		.sink = {journal_sink_put, journal_sink_full, journal_sink_commit},
		.origin = o,
		.default_priority = default_priority,
	};
	return &js->sink;
}
