/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/*
 * A producer's unit, as journald keys it: read from its cgroup v2 path, the
 * first unit below the slices ("/system.slice/foo.service" is foo.service;
 * a user unit's process is keyed as its manager, "user@1000.service"; a
 * login's as "session-3.scope"), with the user unit and the slice that
 * MPSR_USER_UNIT= and MPSR_SLICE= report. Pure: tested without a kernel.
 */

#define UNIT_NAME_MAX 256

struct unit_key {
	char unit[UNIT_NAME_MAX];      /* "" when the cgroup names none */
	char user_unit[UNIT_NAME_MAX]; /* the unit inside user@UID.service, or "" */
	char slice[UNIT_NAME_MAX];     /* the innermost slice around the unit, or "" */
};

/* From a cgroup path such as "/user.slice/user-1000.slice/session-3.scope". Returns 0 or -ENOENT.
 */
int unit_key_from_path(const char *path, struct unit_key *k);

/* From the text of /proc/PID/cgroup (its "0::" line). Returns 0, -ENOENT or -EINVAL. */
int unit_key_from_proc(const char *text, size_t len, struct unit_key *k);

/*
 * A name for the producer from its key: its service's name without
 * ".service" (the user unit's, if it is one), for a SYSLOG_IDENTIFIER= when
 * its comm is gone; "" for scopes, slices and user@UID.service, which name
 * no program.
 */
void unit_key_name(const struct unit_key *k, char *buf, size_t size);
