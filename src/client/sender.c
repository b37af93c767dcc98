/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "record.h"
#include "sender.h"

#define STREAM_OUT_SIZE (256 * 1024) /* bytes gathered into one write() */

int sender_open(struct sender *s, const char *path, enum sender_kind kind) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int type = kind == SENDER_STREAM ? SOCK_STREAM : SOCK_SEQPACKET;

	*s = (struct sender){.fd = -1, .kind = kind, .path = path};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);

	_cleanup_(closep) int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (kind == SENDER_STREAM) {
		s->out_size = STREAM_OUT_SIZE;
		s->out = malloc(s->out_size);
		if (!s->out)
			return -ENOMEM;
	}
	s->fd = take_fd(&fd);
	return 0;
}

void sender_close(struct sender *s) {
	closep(&s->fd);
	s->fd = -1;
	free(s->out);
	free(s->header);
	s->out = s->header = NULL;
}

void sender_set_header(struct sender *s, char *header, size_t len) {
	free(s->header);
	s->header = header;
	s->header_len = len;
}

static int write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int sender_flush(struct sender *s) {
	int r = write_all(s->fd, s->out, s->out_len);

	s->out_len = 0;
	return r;
}

static int stream_append(struct sender *s, const char *p, size_t n) {
	if (s->out_len + n > s->out_size) {
		int r = sender_flush(s);
		if (r < 0)
			return r;
	}
	if (n > s->out_size) /* larger than the buffer: straight out */
		return write_all(s->fd, p, n);
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
	return 0;
}

/* A record can be as large as the socket's send buffer; ask for more once. */
static int record_grow_sndbuf(struct sender *s, size_t need) {
	int want = need > (size_t)(64 << 20) ? 64 << 20 : (int)need * 2;
	int have = 0;
	socklen_t sl = sizeof(have);

	if (getsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &have, &sl) < 0 || have >= want)
		return -EMSGSIZE;
	if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)) < 0)
		return -EMSGSIZE;
	return 0;
}

static int record_send(struct sender *s, int priority, const char *text, size_t len) {
	struct iovec iov[] = {
		{s->header, s->header_len},
		{(char *)record_priority_line(priority), RECORD_PRIORITY_LEN},
		{(char *)text, len},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = ARRAY_SIZE(iov)};
	bool grown = false;

	for (;;) {
		/* A packet is sent whole or not at all: no partial sends to resume. */
		if (sendmsg(s->fd, &mh, MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EMSGSIZE && !grown) {
			grown = true;
			if (record_grow_sndbuf(s, s->header_len + RECORD_PRIORITY_LEN + len + 64) ==
			    0)
				continue;
			errno = EMSGSIZE;
		}
		return -errno;
	}
}

int sender_message(struct sender *s, int priority, const char *text, size_t len) {
	return sender_piece(s, priority, text, len, true, true);
}

int sender_piece(struct sender *s, int priority, const char *text, size_t len, bool first,
		 bool last) {
	int r;

	if (s->kind == SENDER_RECORD)
		return record_send(s, priority, text, len);
	if (first) {
		/* Always a prefix: text that starts with "<N>" must stay text. */
		char p[3] = {'<', (char)('0' + (priority & 7)), '>'};
		if ((r = stream_append(s, p, sizeof(p))) < 0)
			return r;
	}
	if ((r = stream_append(s, text, len)) < 0)
		return r;
	return last ? stream_append(s, "\n", 1) : 0;
}

int sender_finish(struct sender *s) {
	int r = s->kind == SENDER_STREAM ? sender_flush(s) : 0;

	/*
	 * mpsrd closes a connection only after it wrote all that came through it
	 * to the journal; if it closes with bytes or records unread, the kernel
	 * says ECONNRESET. So a clean end of file here means the journal has it all.
	 */
	if (r == 0 && shutdown(s->fd, SHUT_WR) < 0)
		r = -errno;
	while (r == 0) {
		char c;
		ssize_t n = recv(s->fd, &c, 1, 0);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR)
			r = -errno;
	}
	sender_close(s);
	return r;
}
