/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
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

#define JOURNAL_SOCKET  "/run/systemd/journal/socket"
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
int journal_write(const struct origin *o, const struct journal_msg *m) {
	struct iovec iov[4 + ORIGIN_FIELDS_MAX + 64];
	size_t n = 0;
	char brk[32];

	memcpy(m->text - JOURNAL_HEADROOM, FIELD_MESSAGE, JOURNAL_HEADROOM);
	iov[n++] = (struct iovec){m->text - JOURNAL_HEADROOM, m->len + JOURNAL_HEADROOM};
	iov[n++] = (struct iovec){(char *)priority_fields[m->priority & 7],
				  STRLEN(FIELD_PRIORITY) + 1};
	for (size_t i = 0; i < o->n; i++)
		iov[n++] = o->iov[i];
	if (m->identifier_field) {
		/* Replaces the origin's first field, SYSLOG_IDENTIFIER. */
		iov[2] = (struct iovec){(char *)m->identifier_field, strlen(m->identifier_field)};
	}
	if (m->line_break) {
		int k = snprintf(brk, sizeof(brk), MPSR_BREAK_NAME "%s", m->line_break);
		iov[n++] = (struct iovec){brk, (size_t)k};
	}
	for (size_t i = 0; i < m->n_extra && n < ARRAY_SIZE(iov); i++)
		iov[n++] = m->extra[i];

	return sd_journal_sendv(iov, (int)n);
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
	return r < 0 ? r : 1;
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
