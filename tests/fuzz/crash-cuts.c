/* SPDX-License-Identifier: MIT */
/*
 * fuzz-crash.c's cut points in the system calls the relay makes: recv(),
 * setsockopt() and fallocate() replaced (ld --wrap), a cut point before the
 * real call and one after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "crash-cuts.h"
#include "crash-journal.h"

static struct {
	bool armed;
	void (*die)(void);
	unsigned long cuts, kill_at;
	unsigned long peek_sets; /* setsockopt(SO_PEEK_OFF) calls, made or cut */
	char kills[512];         /* where the kills landed, for the report of a failure */
} C;

void cuts_arm(bool on, void (*die)(void)) {
	C.armed = on;
	if (die)
		C.die = die;
}

void cuts_schedule(unsigned n) {
	C.kill_at = n ? C.cuts + n : 0;
}

void cut_point(const char *where) {
	if (!C.armed || ++C.cuts != C.kill_at)
		return;
	size_t n = strlen(C.kills);
	snprintf(C.kills + n, sizeof(C.kills) - n, " %s (journal: %zu entries)", where,
		 journal_count());
	C.kill_at = 0;
	C.armed = false;
	C.die();
}

ssize_t __real_recv(int fd, void *buf, size_t n, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags);
int __real_setsockopt(int fd, int level, int name, const void *v, socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *v, socklen_t len);
int __real_fallocate64(int fd, int mode, off_t off, off_t len);
int __wrap_fallocate64(int fd, int mode, off_t off, off_t len);

/* A kill after the call: the kernel did it, the process never learned it. */
#define CUT_AROUND(name, call)                                                                     \
	do {                                                                                       \
		cut_point("before " name);                                                         \
		__typeof__(call) r_ = call;                                                        \
		int e_ = errno;                                                                    \
		cut_point("after " name);                                                          \
		errno = e_;                                                                        \
		return r_;                                                                         \
	} while (0)

ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags) {
	CUT_AROUND("recv", __real_recv(fd, buf, n, flags));
}

int __wrap_setsockopt(int fd, int level, int name, const void *v, socklen_t len) {
	C.peek_sets += level == SOL_SOCKET && name == SO_PEEK_OFF;
	CUT_AROUND("setsockopt", __real_setsockopt(fd, level, name, v, len));
}

int __wrap_fallocate64(int fd, int mode, off_t off, off_t len) {
	CUT_AROUND("fallocate", __real_fallocate64(fd, mode, off, len));
}

unsigned long cuts_peek_sets(void) {
	return C.peek_sets;
}

const char *cuts_kills(void) {
	return C.kills[0] ? C.kills : " never";
}

void cuts_reset(void) {
	C.kill_at = 0;
	C.armed = false;
	C.kills[0] = 0;
}
