/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "fdstore.h"
#include "pair.h"

/*
 * Room for many messages (each costs the holder's send buffer about 768
 * bytes, whatever the number of fds it carries). The kernel caps it at
 * twice net.core.wmem_max.
 */
#define PAIR_SNDBUF (64 << 20)

void pair_close(struct pair *p) {
	if (p->tx >= 0)
		close(p->tx);
	if (p->rx >= 0)
		close(p->rx);
	*p = PAIR_NONE;
}

/* Out of the fd store: the manager closes its ends. */
static void pair_unstore(const struct pair *p) {
	char name[64];

	fdstore_holder_name(name, sizeof(name), p->gen, "tx");
	fdstore_drop(name);
	fdstore_holder_name(name, sizeof(name), p->gen, "rx");
	fdstore_drop(name);
}

int pair_put(struct pair *p) {
	char name[64];

	fdstore_holder_name(name, sizeof(name), p->gen, "tx");
	int r = fdstore_put(p->tx, name);
	if (r >= 0) {
		fdstore_holder_name(name, sizeof(name), p->gen, "rx");
		r = fdstore_put(p->rx, name);
	}
	if (r > 0) {
		close(p->rx);
		p->rx = -1;
	}
	return r;
}

int pair_open(unsigned gen, bool keep_rx, struct pair *ret) {
	int sv[2], size = PAIR_SNDBUF;
	char name[64];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -errno;
	struct pair p = {.tx = sv[0], .rx = sv[1], .gen = gen};
	/* Best effort: with the default buffer, about 278 messages fit. */
	(void)setsockopt(p.tx, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	int r;
	if (keep_rx) {
		fdstore_holder_name(name, sizeof(name), gen, "tx");
		r = fdstore_put(p.tx, name);
		fdstore_holder_name(name, sizeof(name), gen, "rx");
		r = r < 0 ? r : fdstore_put(p.rx, name);
	} else {
		r = pair_put(&p);
	}
	if (r < 0) {
		pair_unstore(&p);
		pair_close(&p);
		return r;
	}
	*ret = p;
	return 0;
}

int pair_send(int tx, const int *fds, unsigned n) {
	char byte = 0;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(PAIR_MSG_FDS * sizeof(int))];
	} control;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = n ? control.buf : NULL,
		.msg_controllen = n ? CMSG_SPACE(n * sizeof(int)) : 0,
	};

	if (n) {
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(cmsg), fds, n * sizeof(int));
	}
	while (sendmsg(tx, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int pair_peek_begin(int sock) {
	int off = 0;

	return setsockopt(sock, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0 ? -errno : 0;
}

static void close_all(const int *fds, int n) {
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

int pair_peek(int sock, int fds[PAIR_MSG_FDS]) {
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(PAIR_MSG_FDS * sizeof(int))];
	} control;
	int n = 0;

	for (;;) {
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control.buf,
			.msg_controllen = sizeof(control.buf),
		};
		if (recvmsg(sock, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			unsigned k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (unsigned i = 0; i < k && n < PAIR_MSG_FDS; i++)
				memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		}
		/*
		 * Out of fds: the kernel installed what fit. Those are copies, and
		 * the message keeps them all: give the copies back, stop here.
		 */
		if (msg.msg_flags & MSG_CTRUNC) {
			close_all(fds, n);
			return -EMFILE;
		}
		/* A message without fds is not ours (or a probe); the next one may be. */
		if (n > 0)
			return n;
	}
}

/* --- Retired pairs ------------------------------------------------------ */

static void retired_forget(struct retired *r, unsigned i) {
	close(r->tx[i]);
	r->total -= r->held[i];
	r->n--;
	r->tx[i] = r->tx[r->n];
	r->held[i] = r->held[r->n];
}

unsigned retired_reap(struct retired *r, bool wait) {
	if (r->n == 0)
		return 0;
	if (wait)
		(void)sd_notify_barrier(0, 1000000);
	for (unsigned i = 0; i < r->n;) {
		int k = pair_send(r->tx[i], NULL, 0);
		if (k == -ECONNREFUSED || k == -ENOTCONN)
			retired_forget(r, i);
		else
			i++;
	}
	return r->total;
}

void retired_add(struct retired *r, struct pair *p, unsigned held) {
	if (p->tx < 0)
		return;
	pair_unstore(p);
	/* rx ours (no manager): closing it frees the queue now. */
	if (p->rx >= 0 || held == 0) {
		pair_close(p);
		return;
	}
	if (r->n == RETIRED_MAX && retired_reap(r, true) && r->n == RETIRED_MAX)
		retired_forget(r, 0); /* the manager is that slow: count it no longer */
	r->tx[r->n] = p->tx;
	r->held[r->n++] = held;
	r->total += held;
	*p = PAIR_NONE;
}

void retired_close(struct retired *r) {
	while (r->n > 0)
		retired_forget(r, 0);
}
