/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pace.h"

void pace_init(struct pace *p, const char *path, unsigned every) {
	*p = (struct pace){.path = path, .every = every, .fd = -1};
}

void pace_done(struct pace *p) {
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* A blocking socket to journald whose send buffer holds only a few marks. */
static int pace_open(struct pace *p) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), zero = 0;

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->path);
	/* The kernel raises 0 to its smallest buffer. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &zero, sizeof(zero)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	p->fd = fd;
	return 0;
}

void pace_entry(struct pace *p) {
	if (p->every == 0 || ++p->count < p->every)
		return;
	p->count = 0;
	if (p->fd < 0 && pace_open(p) < 0)
		return;
	/* Blocks while journald has not taken the earlier marks: that is the pace. */
	while (send(p->fd, "", 0, MSG_NOSIGNAL) < 0)
		if (errno != EINTR) {
			/* journald's socket made anew (ECONNREFUSED), or gone: connect again later.
			 */
			pace_done(p);
			return;
		}
}
