/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
/* Producers' entries must not carry this file's CODE_FILE= and CODE_LINE=. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "journal.h"
#include "macro.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static const char *const transport_names[] = {
	[ORIGIN_STREAM] = "stream",
	[ORIGIN_DATAGRAM] = "datagram",
	[ORIGIN_RECORD] = "record",
};

/* Appends one "FIELD=value" to o->text and points the next iovec at it. */
static void origin_add(struct origin *o, size_t *used, size_t *n, const char *fmt, ...)
	_printf_(4, 5);

static void origin_add(struct origin *o, size_t *used, size_t *n, const char *fmt, ...) {
	va_list ap;
	size_t room = sizeof(o->text) - *used;

	va_start(ap, fmt);
	int k = vsnprintf(o->text + *used, room, fmt, ap);
	va_end(ap);
	if (k < 0)
		k = 0;
	if ((size_t)k >= room)
		k = (int)room - 1; /* truncated; comm is at most 15 bytes, so this never happens */
	o->iov[*n] = (struct iovec){.iov_base = o->text + *used, .iov_len = (size_t)k};
	/* Fields end in '\n', so that all but the first are one block of the native protocol. */
	o->text[*used + (size_t)k] = '\n';
	*used += (size_t)k + 1;
	(*n)++;
}

void origin_init(struct origin *o, pid_t pid, uid_t uid, gid_t gid, const char *comm,
		 enum origin_transport transport) {
	size_t used = 0, n = 0;
	const char *ident = comm && *comm ? comm : "unknown";

	origin_add(o, &used, &n, "SYSLOG_IDENTIFIER=%s", ident);
	origin_add(o, &used, &n, "SYSLOG_PID=%d", (int)pid);
	origin_add(o, &used, &n, "MPSR_PID=%d", (int)pid);
	origin_add(o, &used, &n, "MPSR_UID=%u", (unsigned)uid);
	origin_add(o, &used, &n, "MPSR_GID=%u", (unsigned)gid);
	origin_add(o, &used, &n, "MPSR_COMM=%s", ident);
	origin_add(o, &used, &n, "MPSR_TRANSPORT=%s", transport_names[transport]);
}

int origin_read_comm(pid_t pid, char *buf, size_t size) {
	char path[32];
	_cleanup_(closep) int fd = -1;

	if (pid <= 0 || size < 2)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size - 1);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	if (buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	/* A comm is the producer's own choice: keep it to printable bytes. */
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '_';
	return 0;
}

static const char *const priority_fields[8] = {
	"PRIORITY=0", "PRIORITY=1", "PRIORITY=2", "PRIORITY=3",
	"PRIORITY=4", "PRIORITY=5", "PRIORITY=6", "PRIORITY=7",
};

/* Through libsystemd: for entries too large for one datagram (it uses a memfd). */
static int journal_write_sendv(const struct origin *o, const struct journal_msg *m) {
	struct iovec iov[16 + 64];
	size_t n = 0;
	char brk[32];

	memcpy(m->text - JOURNAL_HEADROOM, "MESSAGE=", JOURNAL_HEADROOM);
	iov[n++] = (struct iovec){m->text - JOURNAL_HEADROOM, m->len + JOURNAL_HEADROOM};
	iov[n++] = (struct iovec){(char *)priority_fields[m->priority & 7], 10};
	for (size_t i = 0; i < ARRAY_SIZE(o->iov); i++)
		iov[n++] = o->iov[i];
	if (m->identifier_field) {
		/* Replaces the origin's first field, SYSLOG_IDENTIFIER. */
		iov[2] = (struct iovec){(char *)m->identifier_field, strlen(m->identifier_field)};
	}
	if (m->line_break) {
		int k = snprintf(brk, sizeof(brk), "MPSR_LINE_BREAK=%s", m->line_break);
		iov[n++] = (struct iovec){brk, (size_t)k};
	}
	for (size_t i = 0; i < m->n_extra && n < ARRAY_SIZE(iov); i++)
		iov[n++] = m->extra[i];

	return sd_journal_sendv(iov, (int)n);
}

/*
 * The native protocol spoken directly. sd_journal_sendv() addresses every
 * datagram to journald's socket by path, which costs the kernel a path lookup
 * per entry, and re-checks every field; here one socket stays connected
 * (journald's socket belongs to systemd-journald.socket and outlives journald
 * restarts) and the fields go out as prepared blocks. Like the socket libsystemd
 * caches for sd_journal_sendv(), the fd is process-wide state.
 */
static int native_fd = -1;

/* About 1/6 of the time journald needs for a full queue (512 entries, ~10 µs each). */
#define NATIVE_FULL_WAIT_NSEC 1000000

static int native_connect(void) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), size = 8 << 20;

	if (fd < 0)
		return -errno;
	/* Large entries fit in one datagram, as with libsystemd (capped by wmem_max). */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	native_fd = fd;
	return 0;
}

/* "\nPRIORITY=N\n": ends the MESSAGE= line and adds the priority. */
static const char *const priority_lines[8] = {
	"\nPRIORITY=0\n", "\nPRIORITY=1\n", "\nPRIORITY=2\n", "\nPRIORITY=3\n",
	"\nPRIORITY=4\n", "\nPRIORITY=5\n", "\nPRIORITY=6\n", "\nPRIORITY=7\n",
};

int journal_write(const struct origin *o, const struct journal_msg *m) {
	struct iovec iov[16 + 2 * 64];
	size_t n = 0;
	char brk[40];
	uint64_t len_le;

	/* A text with newlines goes in the protocol's binary form: name, size, bytes. */
	if (memchr(m->text, '\n', m->len)) {
		len_le = htole64((uint64_t)m->len);
		iov[n++] = (struct iovec){(char *)"MESSAGE\n", 8};
		iov[n++] = (struct iovec){&len_le, sizeof(len_le)};
		iov[n++] = (struct iovec){m->text, m->len};
	} else {
		memcpy(m->text - JOURNAL_HEADROOM, "MESSAGE=", JOURNAL_HEADROOM);
		iov[n++] = (struct iovec){m->text - JOURNAL_HEADROOM, m->len + JOURNAL_HEADROOM};
	}
	iov[n++] = (struct iovec){(char *)priority_lines[m->priority & 7], 12};
	if (m->identifier_field) {
		iov[n++] = (struct iovec){(char *)m->identifier_field, strlen(m->identifier_field)};
		iov[n++] = (struct iovec){(char *)"\n", 1};
	} else {
		iov[n++] = (struct iovec){o->iov[0].iov_base, o->iov[0].iov_len + 1};
	}
	/* The other identity fields follow the first in o->text, each ending in '\n'. */
	const char *rest = o->iov[1].iov_base;
	const struct iovec *last = &o->iov[ARRAY_SIZE(o->iov) - 1];
	iov[n++] = (struct iovec){
		(char *)rest, (size_t)((const char *)last->iov_base + last->iov_len + 1 - rest)};
	if (m->line_break) {
		int k = snprintf(brk, sizeof(brk), "MPSR_LINE_BREAK=%s\n", m->line_break);
		iov[n++] = (struct iovec){brk, (size_t)k};
	}
	for (size_t i = 0; i < m->n_extra && n + 2 <= ARRAY_SIZE(iov); i++) {
		/* Record fields are header lines: they hold no '\n'. Else: libsystemd's way. */
		if (memchr(m->extra[i].iov_base, '\n', m->extra[i].iov_len))
			return journal_write_sendv(o, m);
		iov[n++] = m->extra[i];
		iov[n++] = (struct iovec){(char *)"\n", 1};
	}

	/* No socket, no write: sd_journal_sendv() would report success and drop the entry. */
	int r;
	if (native_fd < 0 && (r = native_connect()) < 0)
		return r;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n};
	for (int attempt = 0;; attempt++) {
		if (sendmsg(native_fd, &mh, MSG_NOSIGNAL) >= 0)
			return 0;
		r = -errno;
		if (r == -EINTR)
			continue;
		if (r == -EAGAIN) {
			/*
			 * journald's queue is full. A blocking send would be woken
			 * for every entry journald takes, one context switch per
			 * entry; a short sleep lets it take a few dozen first.
			 */
			nanosleep(&(struct timespec){.tv_nsec = NATIVE_FULL_WAIT_NSEC}, NULL);
			attempt--;
			continue;
		}
		if (r == -EMSGSIZE || r == -ENOBUFS)
			return journal_write_sendv(o, m); /* too large for a datagram: a memfd */
		/* The socket went away and came back (journald's socket unit restarted). */
		close(native_fd);
		native_fd = -1;
		if (attempt > 0 || native_connect() < 0)
			return r;
	}
}

int journal_available(void) {
	struct stat st;

	if (stat(JOURNAL_SOCKET, &st) < 0)
		return -errno;
	return S_ISSOCK(st.st_mode) ? 0 : -ENOTSOCK;
}
