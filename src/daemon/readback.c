/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "journal.h"
#include "log.h" /* now_usec() */
#include "macro.h"
#include "query.h"
#include "readback.h"

#define SYNC_USEC     (30 * 1000000ULL) /* journald must take what the last process sent */
#define READBACK_USEC (10 * 1000000ULL) /* the reader reads a journal: seconds at worst */

int readback_ask(const char *path, const char *tag, uid_t uid, uint64_t timeout_usec) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = (time_t)(timeout_usec / 1000000),
			     .tv_usec = (suseconds_t)(timeout_usec % 1000000)};
	char q[READBACK_QUESTION_MAX], a[16];
	int n = readback_question_format(q, sizeof(q), uid, tag);

	if (n < 0)
		return n;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	_cleanup_(closep) int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, q, (size_t)n, MSG_NOSIGNAL) < 0)
		return -errno;
	ssize_t k = recv(fd, a, sizeof(a), MSG_TRUNC);
	if (k < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (k == 0) /* the reader hung up without an answer */
		return -ECONNRESET;
	return (size_t)k > sizeof(a) ? -EBADMSG : readback_answer_parse(a, (size_t)k);
}

int readback_lookup(const char *tag, uid_t uid) {
	int r;

	/* Everything sent before the crash is processed before journald takes this. */
	if ((r = journal_sync(now_usec() + SYNC_USEC)) < 0)
		return r;
	/* The caller logs what it decides on an error (the entry is sent again). */
	return readback_ask(READBACK_SOCKET, tag, uid, READBACK_USEC);
}
