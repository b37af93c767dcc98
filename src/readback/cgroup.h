/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* Who may ask the reader: the cgroup of a process, read as /proc shows it. */

#define CGROUP_MAX 4096

/*
 * The path in /proc/PID/cgroup's text f: the service manager's own hierarchy
 * (the "ID:name=systemd:" line) where there is one (legacy and hybrid
 * layouts), else the unified one ("0::"). Whole lines only, and the first of
 * each kind: a cgroup's name may hold a newline, and with it what looks like
 * a line of its own. 0, -ENOENT (none), or -ENAMETOOLONG (not in size bytes).
 */
int cgroup_parse(FILE *f, char *buf, size_t size);

/*
 * The cgroup of unit in the slice that holds the slice of own, a template
 * instance's cgroup (.../system.slice/system-mpsr\x2dreadback.slice/
 * mpsr-readback@N.service gives .../system.slice/UNIT). Derived rather than
 * written down, so that it holds inside a container's cgroup namespace and
 * out of it. 0, or a negative errno.
 */
int cgroup_beside(const char *own, const char *unit, char *buf, size_t size);
