/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "jstream.h"

/* journald (252) refuses a client's streams beyond 4096 in all. */
#define JSTREAMS_MAX 1024

struct jstream {
	struct jstreams *set;
	char *identifier;
	int fd; /* -1 until the first write, and after a failed one */
	unsigned refs;
	struct jstream *next; /* jstreams.head */
};

struct jstreams {
	int priority; /* of lines without a prefix: the streams' header says it */
	unsigned n;
	struct jstream *head;
};

int jstreams_new(int default_priority, struct jstreams **ret) {
	struct jstreams *js = calloc(1, sizeof(*js));

	if (!js)
		return -ENOMEM;
	js->priority = default_priority;
	*ret = js;
	return 0;
}

void jstreams_free(struct jstreams *js) {
	if (!js)
		return;
	while (js->head) {
		struct jstream *s = js->head;
		js->head = s->next;
		if (s->fd >= 0)
			close(s->fd);
		free(s->identifier);
		free(s);
	}
	free(js);
}

int jstream_get(struct jstreams *js, const char *identifier, struct jstream **ret) {
	struct jstream *s;

	/* Few identifiers, looked up once per connection: a list will do. */
	for (s = js->head; s; s = s->next)
		if (strcmp(s->identifier, identifier) == 0) {
			s->refs++;
			*ret = s;
			return 0;
		}
	if (js->n >= JSTREAMS_MAX)
		return -EMFILE;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct jstream){.set = js, .fd = -1, .refs = 1, .next = js->head};
	s->identifier = strdup(identifier);
	if (!s->identifier) {
		free(s);
		return -ENOMEM;
	}
	js->head = s;
	js->n++;
	*ret = s;
	return 0;
}

void jstream_unref(struct jstream *s) {
	if (!s || --s->refs > 0)
		return;
	struct jstreams *js = s->set;
	for (struct jstream **p = &js->head; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	js->n--;
	/* journald stores what the stream holds before it sees the end. */
	if (s->fd >= 0)
		close(s->fd);
	free(s->identifier);
	free(s);
}

bool jstream_batch_room(const struct jstream_batch *b) {
	return b->n + 3 <= JSTREAM_IOV;
}

void jstream_batch_reset(struct jstream_batch *b) {
	b->n = 0;
	b->bytes = 0;
	b->lines = 0;
}

static const char prefixes[8][3] = {
	{'<', '0', '>'}, {'<', '1', '>'}, {'<', '2', '>'}, {'<', '3', '>'},
	{'<', '4', '>'}, {'<', '5', '>'}, {'<', '6', '>'}, {'<', '7', '>'},
};

static void batch_push(struct jstream_batch *b, const char *p, size_t len) {
	struct iovec *last = b->n ? &b->iov[b->n - 1] : NULL;

	/* Consecutive verbatim lines are one range of the caller's buffer. */
	if (last && (const char *)last->iov_base + last->iov_len == p)
		last->iov_len += len;
	else
		b->iov[b->n++] = (struct iovec){(char *)p, len};
	b->bytes += len;
}

void jstream_batch_add(struct jstream_batch *b, const char *raw, const struct frame *f,
		       int default_priority) {
	const char *text = raw + f->start;

	b->lines++;
	/*
	 * journald reads "<N>" at a line's start (and <0N>, <00N>) and otherwise
	 * gives the line the stream's priority, the default: a line that had a
	 * prefix, or has none and starts with something else than '<', reads the
	 * same to it as to us.
	 */
	bool same = f->start > 0 || (f->priority < 0 && (f->len == 0 || text[0] != '<'));
	if (same && f->brk == FRAME_BREAK_NONE) {
		batch_push(b, raw, f->consumed);
		return;
	}
	int prio = f->priority >= 0 ? f->priority : default_priority;
	b->iov[b->n++] = (struct iovec){(char *)prefixes[prio & 7], 3};
	b->bytes += 3;
	if (f->brk == FRAME_BREAK_NONE) {
		batch_push(b, text, f->len + 1); /* its '\n' follows it */
		return;
	}
	batch_push(b, text, f->len);
	b->iov[b->n++] = (struct iovec){(char *)"\n", 1};
	b->bytes += 1;
}

static int jstream_connect(struct jstream *s) {
	/* level_prefix on: journald parses the "<N>" we write. */
	int fd = sd_journal_stream_fd(s->identifier, s->set->priority, 1);

	if (fd < 0)
		return fd;
	s->fd = fd;
	return 0;
}

int jstream_write(struct jstream *s, struct jstream_batch *b) {
	struct iovec *iov = b->iov;
	unsigned n = b->n;
	int r = 0;

	if (s->fd < 0 && (r = jstream_connect(s)) < 0)
		goto out;
	while (n > 0) {
		ssize_t k = writev(s->fd, iov, (int)(n < 1024 ? n : 1024));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			/* A new stream for the retry: this one may hold part of a line. */
			close(s->fd);
			s->fd = -1;
			goto out;
		}
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
out:
	jstream_batch_reset(b);
	return r;
}

static int jstream_sink_put(struct line_sink *s, char *raw, const struct frame *f,
			    const char *brk) {
	struct jstream_sink *js = (struct jstream_sink *)s;

	(void)brk; /* the stream has no field for it: the line just ends there */
	jstream_batch_add(js->batch, raw, f, js->default_priority);
	return 0;
}

static bool jstream_sink_full(const struct line_sink *s) {
	return !jstream_batch_room(((const struct jstream_sink *)s)->batch);
}

static int jstream_sink_commit(struct line_sink *s) {
	struct jstream_sink *js = (struct jstream_sink *)s;
	unsigned lines = js->batch->lines;
	int r = jstream_write(js->stream, js->batch);

	return r < 0 ? r : (int)lines;
}

struct line_sink *jstream_sink_init(struct jstream_sink *js, struct jstream *s,
				    struct jstream_batch *b, int default_priority) {
	*js = (struct jstream_sink){
		.sink = {jstream_sink_put, jstream_sink_full, jstream_sink_commit},
		.stream = s,
		.batch = b,
		.default_priority = default_priority,
	};
	return &js->sink;
}
