/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "journal.h"
#include "ledger.h"
#include "log.h"
#include "macro.h"

#define LEDGER_MAGIC 0x6d70736cu /* "mpsl" */
#define LEDGER_SIZE  4096
/* How long recovery waits for journald to process what it was sent before reading back. */
#define SYNC_USEC (30ull * 1000000)

struct ledger {
	int fd;
	struct ledger_record *rec; /* LEDGER_SIZE bytes of the memfd, shared */
};

/*
 * The record is read back after a kill -9, which leaves the stores made
 * before it in the order they were made: the compiler must keep that order.
 */
#define put(field, value) __atomic_store_n(&(field), (value), __ATOMIC_RELEASE)

static int map(int fd, struct ledger **ret) {
	struct ledger *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->rec = mmap(NULL, LEDGER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (l->rec == MAP_FAILED) {
		int r = -errno;
		free(l);
		return r;
	}
	l->fd = fd;
	*ret = l;
	return 0;
}

int ledger_new(struct ledger **ret) {
	_cleanup_(closep) int fd = memfd_create("mpsr-ledger", MFD_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, LEDGER_SIZE) < 0)
		return -errno;
	if ((r = map(fd, ret)) < 0)
		return r;
	(*ret)->rec->magic = LEDGER_MAGIC;
	(*ret)->rec->gen = 1;
	take_fd(&fd);
	return 0;
}

int ledger_adopt(int fd, struct ledger **ret) {
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0 || st.st_size < LEDGER_SIZE) {
		r = fstat(fd, &st) < 0 ? -errno : -EBADMSG;
		close(fd);
		return r;
	}
	if ((r = map(fd, ret)) < 0) {
		close(fd);
		return r;
	}
	if ((*ret)->rec->magic != LEDGER_MAGIC) {
		ledger_free(*ret);
		return -EBADMSG;
	}
	(*ret)->rec->gen++;
	return 0;
}

void ledger_free(struct ledger *l) {
	if (!l)
		return;
	munmap(l->rec, LEDGER_SIZE);
	close(l->fd);
	free(l);
}

int ledger_fd(const struct ledger *l) {
	return l->fd;
}

struct ledger_record *ledger_record(struct ledger *l) {
	return l->rec;
}

int ledger_conn_init(struct ledger_conn *lc, const struct ledger *l, int fd) {
	struct stat st;

	*lc = (struct ledger_conn){0};
	if (fstat(fd, &st) < 0)
		return -errno;
	lc->ino = (uint64_t)st.st_ino;
	int n = snprintf(lc->tag, sizeof(lc->tag), LEDGER_FIELD "%" PRIu32 ".%" PRIu64 ".0",
			 l->rec->gen, lc->ino);
	lc->tag_iov = (struct iovec){lc->tag, (size_t)n};
	return 0;
}

void ledger_begin(struct ledger *l, struct ledger_conn *lc) {
	put(l->rec->writing, 0);
	put(l->rec->confirmed, 0);
	put(l->rec->take, 0);
	put(l->rec->ino, lc->ino);
}

void ledger_end(struct ledger *l) {
	put(l->rec->ino, 0);
}

void ledger_sending(struct ledger *l, struct ledger_conn *lc, uint64_t end) {
	/* The parity is the last character: 0 and 1 alternate along a connection's entries. */
	lc->tag[lc->tag_iov.iov_len - 1] = (char)('0' + (lc->entries & 1));
	memcpy(l->rec->tag, lc->tag, lc->tag_iov.iov_len + 1);
	put(l->rec->writing, end + 1);
}

void ledger_sent(struct ledger *l, struct ledger_conn *lc, bool sent) {
	if (sent) {
		put(l->rec->confirmed, l->rec->writing - 1);
		lc->entries++;
	}
	put(l->rec->writing, 0);
}

static int peek_off(int fd, int off) {
	return setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0 ? -errno : 0;
}

ssize_t ledger_take(struct ledger *l, int fd, void *buf, size_t n) {
	uint64_t taken = l->rec->take >> 32;
	size_t got = 0;
	int r;

	if (n == 0)
		return 0;
	put(l->rec->take, taken << 32 | (uint32_t)n);
	if ((r = peek_off(fd, (int)n)) < 0)
		goto out;
	while (got < n) {
		ssize_t k = recv(fd, (char *)buf + got, n - got, MSG_DONTWAIT);
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)k;
	}
out:
	put(l->rec->take, (taken + got) << 32);
	/* A peek offset left set would move every later MSG_PEEK read. */
	(void)peek_off(fd, -1);
	return got > 0 || r == 0 ? (ssize_t)got : r;
}

int ledger_lookup_journal(const char *tag, void *data) {
	_cleanup_(sd_journal_closep) sd_journal *j = NULL;
	char other[LEDGER_TAG_MAX];
	size_t n = strlen(tag);
	const void *d;
	size_t len;
	int r;
	(void)data;

	/* Everything sent before the crash is processed before journald takes this. */
	if ((r = journal_sync(now_usec() + SYNC_USEC)) < 0)
		return r;
	if ((r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)) < 0)
		return r;
	if (sd_journal_has_runtime_files(j) <= 0 && sd_journal_has_persistent_files(j) <= 0)
		return -EACCES; /* nothing readable: not in group systemd-journal */
	/* The connection's entries of that generation, of either parity: the last one decides. */
	memcpy(other, tag, n + 1);
	other[n - 1] = other[n - 1] == '0' ? '1' : '0';
	if ((r = sd_journal_add_match(j, tag, n)) < 0 ||
	    (r = sd_journal_add_match(j, other, n)) < 0)
		return r;
	if ((r = sd_journal_seek_tail(j)) < 0 || (r = sd_journal_previous(j)) <= 0)
		return r;
	if ((r = sd_journal_get_data(j, "MPSR_LEDGER", &d, &len)) < 0)
		return r;
	return len == n && memcmp(d, tag, n) == 0;
}

ssize_t ledger_recover(struct ledger *l, int fd, ledger_lookup_fn lookup, void *data) {
	struct ledger_record *rec = l->rec;
	uint64_t taken = rec->take >> 32, taking = rec->take & 0xffffffffu;
	uint64_t confirmed = rec->confirmed;
	ssize_t k = 0, total = 0;
	int off = -1;
	socklen_t len = sizeof(off);

	if (rec->ino == 0)
		return 0;
	if (fd < 0)
		goto done;
	/* A take cut short: the peek offset counts down what is still in the socket. */
	if (taking > 0 && getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &len) == 0 && off >= 0 &&
	    (uint64_t)off <= taking)
		taken += taking - (uint64_t)off;
	put(rec->take, taken << 32);
	(void)peek_off(fd, -1);
	if (rec->writing) {
		int r = lookup(rec->tag, data);
		if (r < 0)
			log_warning_errno(
				r, "cannot tell whether journald got the entry being sent at "
				   "the crash; it is sent again and may be there twice");
		else
			log_info("after a crash: the entry being sent then is %sin the journal",
				 r > 0 ? "" : "not ");
		if (r > 0)
			confirmed = rec->writing - 1;
		put(rec->confirmed, confirmed);
		put(rec->writing, 0);
	}
	if (confirmed > taken) {
		char buf[4096];
		uint64_t left = confirmed - taken;
		while (left > 0) {
			k = ledger_take(l, fd, buf, left < sizeof(buf) ? left : sizeof(buf));
			if (k <= 0)
				break;
			left -= (uint64_t)k;
			total += k;
		}
		if (k < 0)
			return k;
	}
done:
	ledger_end(l);
	return total;
}
