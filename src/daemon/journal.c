/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

/*
 * One entry through sd_journal_sendv(): the identity fields are prepared
 * iovecs, the text is not copied (its "MESSAGE=" goes into the headroom), and
 * libsystemd handles what needs handling (binary fields, entries too large for
 * a datagram). It blocks while journald's queue is full: the backpressure.
 */
int journal_write(const struct origin *o, const struct journal_msg *m) {
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

int journal_available(void) {
	struct stat st;

	if (stat(JOURNAL_SOCKET, &st) < 0)
		return -errno;
	return S_ISSOCK(st.st_mode) ? 0 : -ENOTSOCK;
}
