/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include "macro.h"
#include "origin.h"
#include "protocol.h"
#include "unitkey.h"

#define ORIGIN_TTL_USEC 1000000

static const char *const transport_names[] = {
	[ORIGIN_STREAM] = "stream",
	[ORIGIN_DATAGRAM] = "datagram",
	[ORIGIN_RECORD] = "record",
};

/* Appends one "FIELD=value" to o->text and points the next iovec at it. */
static void origin_add(struct origin *o, size_t *used, const char *fmt, ...) _printf_(3, 4);

static void origin_add(struct origin *o, size_t *used, const char *fmt, ...) {
	va_list ap;
	size_t room = sizeof(o->text) - *used;

	if (o->n == ORIGIN_FIELDS_MAX || room < 2)
		return;
	va_start(ap, fmt);
	int k = vsnprintf(o->text + *used, room, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	if ((size_t)k >= room)
		k = (int)room - 1; /* a unit name longer than any seen: cut, not lost */
	o->iov[o->n++] = (struct iovec){.iov_base = o->text + *used, .iov_len = (size_t)k};
	*used += (size_t)k + 1;
}

void origin_add_units(struct origin *o) {
	static const struct {
		const char *field;
		int (*get)(pid_t, char **);
	} units[] = {
		{"MPSR_UNIT", sd_pid_get_unit},
		{"MPSR_USER_UNIT", sd_pid_get_user_unit},
		{"MPSR_SLICE", sd_pid_get_slice},
	};

	if (o->units)
		return;
	o->units = true;
	if (o->pid <= 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		char *v = NULL;
		if (units[i].get(o->pid, &v) >= 0 && v && *v)
			origin_add(o, &o->used, "%s=%s", units[i].field, v);
		free(v);
	}
}

void origin_set_units(struct origin *o, const struct unit_key *k) {
	if (o->units)
		return;
	o->units = true;
	if (k->unit[0])
		origin_add(o, &o->used, "MPSR_UNIT=%s", k->unit);
	if (k->user_unit[0])
		origin_add(o, &o->used, "MPSR_USER_UNIT=%s", k->user_unit);
	if (k->slice[0])
		origin_add(o, &o->used, "MPSR_SLICE=%s", k->slice);
}

void origin_init(struct origin *o, pid_t pid, uid_t uid, gid_t gid, const char *comm,
		 enum origin_transport transport) {
	origin_init_named(o, pid, uid, gid, comm, NULL, transport);
}

void origin_init_named(struct origin *o, pid_t pid, uid_t uid, gid_t gid, const char *comm,
		       const char *name, enum origin_transport transport) {
	bool known = comm && *comm;
	const char *ident = known ? comm : name && *name ? name : "unknown";

	o->n = 0;
	o->used = 0;
	o->pid = pid;
	o->units = false;
	origin_add(o, &o->used, FIELD_SYSLOG_IDENTIFIER "%s", ident);
	origin_add(o, &o->used, "SYSLOG_PID=%d", (int)pid);
	origin_add(o, &o->used, "MPSR_PID=%d", (int)pid);
	origin_add(o, &o->used, "MPSR_UID=%u", (unsigned)uid);
	origin_add(o, &o->used, "MPSR_GID=%u", (unsigned)gid);
	origin_add(o, &o->used, "MPSR_COMM=%s", known ? comm : "unknown");
	origin_add(o, &o->used, "MPSR_TRANSPORT=%s", transport_names[transport]);
}

void origin_from_cred(struct origin *o, const struct ucred *cred, enum origin_transport transport) {
	char comm[64] = "";

	origin_read_comm(cred->pid, comm, sizeof(comm));
	origin_init(o, cred->pid, cred->uid, cred->gid, comm, transport);
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

const char *origin_name(const struct origin *o, int *len) {
	*len = (int)(o->iov[0].iov_len - STRLEN(FIELD_SYSLOG_IDENTIFIER));
	return (const char *)o->iov[0].iov_base + STRLEN(FIELD_SYSLOG_IDENTIFIER);
}

const struct origin *origin_cache_get(struct origin_cache *c, const struct ucred *cred,
				      uint64_t now) {
	struct origin_slot *s = &c->slots[(unsigned)cred->pid % ORIGIN_CACHE];

	if (s->at == 0 || s->cred.pid != cred->pid || s->cred.uid != cred->uid ||
	    s->cred.gid != cred->gid || now - s->at > ORIGIN_TTL_USEC) {
		origin_from_cred(&s->origin, cred, ORIGIN_DATAGRAM);
		origin_add_units(&s->origin);
		s->cred = *cred;
		s->at = now;
	}
	return &s->origin;
}
