/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "fdstore.h"
#include "log.h"

#define CONN_PREFIX   "c-" /* one connection each: how connections were kept before */
#define HOLDER_PREFIX "holder-"
#define MSG_FDS       253 /* SCM_MAX_FD: the most fds one message carries */
/*
 * Dead entries are dropped once they outnumber the live ones and are this
 * many: each compaction costs a send of every live fd, so few dead ones are
 * not worth one.
 */
#define COMPACT_MIN 512
/*
 * Room for many messages (each costs the holder's send buffer about 768
 * bytes, whatever the number of fds it carries). The kernel caps it at
 * twice net.core.wmem_max.
 */
#define HOLDER_SNDBUF (64 << 20)

enum fd_state {
	FD_NONE,    /* not a connection of ours */
	FD_PENDING, /* accepted; goes into the holder at the next flush */
	FD_HELD,    /* in the holder */
	FD_UNKEPT,  /* the holder refused it; the next compaction tries again */
};

struct holder {
	int tx, rx; /* -1 when there is none */
	unsigned gen;
};

/* An fd passed at start under one of our names. */
struct passed {
	int fd;
	char *name;
	bool holder;
};

struct fdstore {
	bool keep;
	struct holder cur;
	unsigned next_gen;
	uint8_t *state; /* enum fd_state, by fd number */
	size_t n_state;
	unsigned live, held, held_live; /* held: fds in the holder, dead ones too */
	int pending[MSG_FDS];
	unsigned n_pending;
	unsigned compactions;
	struct passed *passed;
	size_t n_passed;
	struct ratelimit warn;
};

int fdstore_new(bool keep, struct fdstore **ret) {
	struct fdstore *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return -ENOMEM;
	fs->keep = keep;
	fs->cur = (struct holder){.tx = -1, .rx = -1};
	fs->warn = (struct ratelimit){.interval_usec = 10000000, .burst = 10};
	*ret = fs;
	return 0;
}

static void close_passed(struct fdstore *fs) {
	for (size_t i = 0; i < fs->n_passed; i++) {
		if (fs->passed[i].fd >= 0)
			close(fs->passed[i].fd);
		free(fs->passed[i].name);
	}
	free(fs->passed);
	fs->passed = NULL;
	fs->n_passed = 0;
}

void fdstore_free(struct fdstore *fs) {
	if (!fs)
		return;
	if (fs->cur.tx >= 0) {
		close(fs->cur.tx);
		close(fs->cur.rx);
	}
	close_passed(fs);
	free(fs->state);
	free(fs);
}

/* --- The service manager's fd store ------------------------------------ */

/*
 * FDPOLL=0: the manager must keep the fd whatever happens to it. Without a
 * manager (NOTIFY_SOCKET unset) nothing is kept, and that is no error.
 */
static int store(int fd, const char *name) {
	char msg[320];

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	int r = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
	return r < 0 ? r : 0;
}

static void unstore(const char *name) {
	sd_notifyf(0, "FDSTOREREMOVE=1\nFDNAME=%s", name);
}

static void holder_name(char *buf, size_t size, unsigned gen, const char *end) {
	snprintf(buf, size, HOLDER_PREFIX "%u-%s", gen, end);
}

/* --- Holders ------------------------------------------------------------ */

static void holder_close(struct holder *h) {
	if (h->tx < 0)
		return;
	close(h->tx);
	close(h->rx);
	*h = (struct holder){.tx = -1, .rx = -1};
}

/* Out of the fd store, and closed: its queue, dead connections included, goes. */
static void holder_drop(struct holder *h) {
	char name[64];

	if (h->tx < 0)
		return;
	holder_name(name, sizeof(name), h->gen, "tx");
	unstore(name);
	holder_name(name, sizeof(name), h->gen, "rx");
	unstore(name);
	holder_close(h);
}

/* A new holder, in the fd store before anything goes into it. */
static int holder_open(unsigned gen, struct holder *ret) {
	int sv[2], size = HOLDER_SNDBUF;
	char name[64];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -errno;
	struct holder h = {.tx = sv[0], .rx = sv[1], .gen = gen};
	/* Best effort: with the default buffer, about 278 messages fit. */
	(void)setsockopt(h.tx, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	holder_name(name, sizeof(name), gen, "tx");
	int r = store(h.tx, name);
	if (r >= 0) {
		holder_name(name, sizeof(name), gen, "rx");
		r = store(h.rx, name);
	}
	if (r < 0) {
		holder_drop(&h);
		return r;
	}
	*ret = h;
	return 0;
}

static int send_fds(int sock, const int *fds, unsigned n) {
	char byte = 0;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(MSG_FDS * sizeof(int))];
	} control;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cmsg), fds, n * sizeof(int));
	while (sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* One message's fds, or 0 when the queue is empty. */
static int recv_fds(int sock, int fds[MSG_FDS], struct ratelimit *warn) {
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(MSG_FDS * sizeof(int))];
	} control;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	int n = 0;

	for (;;) {
		if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) >= 0)
			break;
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
	/* The kernel closed what did not fit (out of fds): those are lost. */
	if (msg.msg_flags & MSG_CTRUNC)
		log_limited(warn, LOG_WARNING, 0, "kept connections lost taking them back");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (unsigned i = 0; i < k && n < MSG_FDS; i++)
			memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	/* A message without fds is not ours; the next one may be. */
	return n > 0 ? n : recv_fds(sock, fds, warn);
}

/* --- Bookkeeping by fd number ------------------------------------------- */

static int set_state(struct fdstore *fs, int fd, enum fd_state st) {
	if ((size_t)fd >= fs->n_state) {
		size_t n = fs->n_state ? fs->n_state : 1024;
		while (n <= (size_t)fd)
			n *= 2;
		uint8_t *p = realloc(fs->state, n);
		if (!p)
			return -ENOMEM;
		memset(p + fs->n_state, FD_NONE, n - fs->n_state);
		fs->state = p;
		fs->n_state = n;
	}
	fs->state[fd] = st;
	return 0;
}

static enum fd_state get_state(const struct fdstore *fs, int fd) {
	return fd >= 0 && (size_t)fd < fs->n_state ? fs->state[fd] : FD_NONE;
}

/*
 * A new holder with the live connections only, packed; then the old one
 * goes, and with it the dead ones. In this order, every live connection is
 * in a holder of the fd store at every moment.
 */
static int compact(struct fdstore *fs) {
	struct holder next;
	int batch[MSG_FDS];
	unsigned n = 0;
	int r = holder_open(fs->next_gen, &next);

	if (r < 0)
		return r;
	fs->next_gen++;
	for (size_t fd = 0; fd < fs->n_state; fd++) {
		if (fs->state[fd] == FD_NONE)
			continue;
		batch[n++] = (int)fd;
		if (n == MSG_FDS) {
			if ((r = send_fds(next.tx, batch, n)) < 0)
				goto fail;
			n = 0;
		}
	}
	if (n > 0 && (r = send_fds(next.tx, batch, n)) < 0)
		goto fail;
	for (size_t fd = 0; fd < fs->n_state; fd++)
		if (fs->state[fd] != FD_NONE)
			fs->state[fd] = FD_HELD;
	holder_drop(&fs->cur);
	fs->cur = next;
	fs->held = fs->held_live = fs->live;
	fs->n_pending = 0;
	fs->compactions++;
	return 0;
fail:
	holder_drop(&next);
	return r;
}

static void maybe_compact(struct fdstore *fs) {
	unsigned dead = fs->held - fs->held_live;

	if (dead <= fs->live || dead < COMPACT_MIN)
		return;
	int r = compact(fs);
	if (r < 0)
		log_limited(&fs->warn, LOG_WARNING, r,
			    "cannot drop closed connections from the holder");
}

/* --- Connections -------------------------------------------------------- */

void fdstore_add(struct fdstore *fs, int fd) {
	if (!fs || !fs->keep)
		return;
	if (set_state(fs, fd, FD_PENDING) < 0) {
		log_limited(&fs->warn, LOG_WARNING, -ENOMEM, "a connection is not kept");
		return;
	}
	fs->live++;
	fs->pending[fs->n_pending++] = fd;
	if (fs->n_pending == MSG_FDS)
		(void)fdstore_flush(fs);
}

int fdstore_flush(struct fdstore *fs) {
	int r;

	if (!fs || fs->n_pending == 0)
		return 0;
	r = fs->cur.tx < 0 ? -ENOTCONN : send_fds(fs->cur.tx, fs->pending, fs->n_pending);
	if (r == 0) {
		for (unsigned i = 0; i < fs->n_pending; i++)
			fs->state[fs->pending[i]] = FD_HELD;
		fs->held += fs->n_pending;
		fs->held_live += fs->n_pending;
		fs->n_pending = 0;
		maybe_compact(fs);
		return 0;
	}
	/*
	 * EAGAIN: the holder's queue is full; ETOOMANYREFS: the user has too
	 * many fds in flight. Either way a holder of the live ones only has room.
	 */
	r = compact(fs);
	if (r < 0) {
		log_limited(&fs->warn, LOG_WARNING, r,
			    "%u connections are not kept across restarts", fs->n_pending);
		for (unsigned i = 0; i < fs->n_pending; i++)
			fs->state[fs->pending[i]] = FD_UNKEPT;
		fs->n_pending = 0;
	}
	return r;
}

void fdstore_remove(struct fdstore *fs, int fd) {
	if (!fs)
		return;
	enum fd_state st = get_state(fs, fd);
	if (st == FD_NONE)
		return;
	fs->state[fd] = FD_NONE;
	fs->live--;
	if (st == FD_PENDING) {
		for (unsigned i = 0; i < fs->n_pending; i++)
			if (fs->pending[i] == fd) {
				fs->pending[i] = fs->pending[--fs->n_pending];
				break;
			}
		return;
	}
	if (st != FD_HELD)
		return;
	/*
	 * The holder keeps the socket open after mpsrd closes it: the producer
	 * must see the end now, not at the next compaction.
	 */
	shutdown(fd, SHUT_RDWR);
	fs->held_live--;
	maybe_compact(fs);
}

void fdstore_stats(const struct fdstore *fs, struct fdstore_stats *out) {
	*out = (struct fdstore_stats){
		.live = fs->live,
		.held = fs->held,
		.generation = fs->cur.gen,
		.compactions = fs->compactions,
	};
}

/* --- Start -------------------------------------------------------------- */

bool fdstore_is_kept(const char *name) {
	return strncmp(name, CONN_PREFIX, strlen(CONN_PREFIX)) == 0 ||
	       strncmp(name, HOLDER_PREFIX, strlen(HOLDER_PREFIX)) == 0;
}

int fdstore_take(struct fdstore *fs, int fd, const char *name) {
	bool holder = strncmp(name, HOLDER_PREFIX, strlen(HOLDER_PREFIX)) == 0;

	if (!holder && strncmp(name, CONN_PREFIX, strlen(CONN_PREFIX)) != 0)
		return -EINVAL;
	struct passed *p = realloc(fs->passed, (fs->n_passed + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	fs->passed = p;
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	fs->passed[fs->n_passed++] = (struct passed){.fd = fd, .name = copy, .holder = holder};
	/* Our holder's name must differ from every one still in the fd store. */
	unsigned gen = (unsigned)strtoul(name + strlen(HOLDER_PREFIX), NULL, 10);
	if (holder && gen >= fs->next_gen)
		fs->next_gen = gen + 1;
	return 0;
}

/* The sockets seen at start, by inode: two holders may keep the same one. */
struct inodes {
	uint64_t *slot; /* 0: empty; sockets' inodes are never 0 */
	size_t size, used;
};

/* Whether ino was seen before; records it. Returns 1, 0, or a negative errno. */
static int inodes_seen(struct inodes *set, uint64_t ino) {
	if ((set->used + 1) * 2 > set->size) {
		struct inodes bigger = {.size = set->size ? set->size * 2 : 4096};
		bigger.slot = calloc(bigger.size, sizeof(uint64_t));
		if (!bigger.slot)
			return -ENOMEM;
		for (size_t i = 0; i < set->size; i++)
			if (set->slot[i])
				(void)inodes_seen(&bigger, set->slot[i]);
		free(set->slot);
		*set = bigger;
	}
	size_t i = (size_t)(ino * 0x9e3779b97f4a7c15ULL) & (set->size - 1);
	for (; set->slot[i]; i = (i + 1) & (set->size - 1))
		if (set->slot[i] == ino)
			return 1;
	set->slot[i] = ino;
	set->used++;
	return 0;
}

/* Keeps every fd of the batch but duplicates; returns how many are left. */
static unsigned dedupe(struct inodes *seen, int *fds, unsigned n) {
	unsigned m = 0;

	for (unsigned i = 0; i < n; i++) {
		struct stat st;
		if (fstat(fds[i], &st) < 0 || inodes_seen(seen, st.st_ino) != 0) {
			close(fds[i]);
			continue;
		}
		fds[m++] = fds[i];
	}
	return m;
}

/*
 * A batch taken from an old holder: into the new one straight away, so
 * that it is out of every holder only for the time of this call; then served.
 */
static int take_batch(struct fdstore *fs, struct inodes *seen, int *fds, unsigned n,
		      int (*adopt)(int fd, void *data), void *data) {
	int adopted = 0;

	n = dedupe(seen, fds, n);
	for (unsigned i = 0; i < n; i++)
		fdstore_add(fs, fds[i]);
	(void)fdstore_flush(fs);
	for (unsigned i = 0; i < n; i++) {
		/* By number only: adopt closed the fd when it failed. */
		if (adopt(fds[i], data) < 0) {
			enum fd_state st = get_state(fs, fds[i]);
			if (st != FD_NONE) {
				fs->state[fds[i]] = FD_NONE;
				fs->live--;
				if (st == FD_HELD)
					fs->held_live--;
			}
			continue;
		}
		adopted++;
	}
	return adopted;
}

static int drain_holder(struct fdstore *fs, struct inodes *seen, int sock,
			int (*adopt)(int fd, void *data), void *data) {
	int fds[MSG_FDS], n, adopted = 0;

	while ((n = recv_fds(sock, fds, &fs->warn)) > 0)
		adopted += take_batch(fs, seen, fds, (unsigned)n, adopt, data);
	if (n < 0)
		log_warning_errno(n, "cannot take connections out of a holder");
	return adopted;
}

/* Connections kept one by one (c-*): into the holder, then out of the fd store. */
static int take_singles(struct fdstore *fs, struct inodes *seen, int (*adopt)(int fd, void *data),
			void *data) {
	int fds[MSG_FDS], adopted = 0;
	size_t idx[MSG_FDS];
	unsigned n = 0;

	for (size_t i = 0; i < fs->n_passed; i++) {
		if (fs->passed[i].holder)
			continue;
		idx[n] = i;
		fds[n++] = fs->passed[i].fd;
		fs->passed[i].fd = -1;
		if (n < MSG_FDS && i + 1 < fs->n_passed)
			continue;
		adopted += take_batch(fs, seen, fds, n, adopt, data);
		for (unsigned k = 0; k < n; k++)
			unstore(fs->passed[idx[k]].name);
		n = 0;
	}
	if (n > 0) {
		adopted += take_batch(fs, seen, fds, n, adopt, data);
		for (unsigned k = 0; k < n; k++)
			unstore(fs->passed[idx[k]].name);
	}
	return adopted;
}

int fdstore_restore(struct fdstore *fs, int (*adopt)(int fd, void *data), void *data) {
	struct inodes seen = {0};
	int adopted = 0;
	bool singles = false;

	if (fs->keep) {
		int r = holder_open(fs->next_gen, &fs->cur);
		/* Failing to start is better: the old holders still keep everything. */
		if (r < 0)
			return r;
		fs->next_gen++;
	}
	for (size_t i = 0; i < fs->n_passed; i++)
		if (fs->passed[i].holder)
			adopted += drain_holder(fs, &seen, fs->passed[i].fd, adopt, data);
		else
			singles = true;
	if (singles)
		adopted += take_singles(fs, &seen, adopt, data);
	for (size_t i = 0; i < fs->n_passed; i++)
		if (fs->passed[i].holder)
			unstore(fs->passed[i].name);
	close_passed(fs);
	free(seen.slot);
	/*
	 * After an upgrade the fd store may have been full of single connections
	 * when the holder was offered: offer it again now that they are gone.
	 * The manager ignores an fd it keeps already.
	 */
	if (singles && fs->cur.tx >= 0) {
		char name[64];
		holder_name(name, sizeof(name), fs->cur.gen, "tx");
		(void)store(fs->cur.tx, name);
		holder_name(name, sizeof(name), fs->cur.gen, "rx");
		(void)store(fs->cur.rx, name);
	}
	return adopted;
}
