/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "frame.h"
#include "sink.h"

/*
 * The stream transport (mpsrd --transport=stream): stream producers' lines go
 * to journald over its stdout stream protocol, the one a service's stdout
 * uses, many lines per write(). journald spends less than half the CPU on a
 * line there than on a native entry, at the price of per-entry fields: an
 * entry keeps its text, its priority (as a "<N>" prefix, which journald
 * parses) and SYSLOG_IDENTIFIER=<producer's comm>, and journald adds
 * _TRANSPORT=stdout, a _STREAM_ID and mpsrd's own _PID, _COMM and
 * _SYSTEMD_UNIT. SYSLOG_PID, MPSR_PID/UID/GID/COMM/TRANSPORT and
 * MPSR_LINE_BREAK are not there.
 *
 * All producers with the same identifier share one journald stream: journald
 * refuses connections beyond a few thousand streams, and lines only ever go
 * out whole, so producers' lines never mix within a line and each producer's
 * lines keep their order.
 */

struct jstreams;
struct jstream;

int jstreams_new(int default_priority, struct jstreams **ret);
void jstreams_free(struct jstreams *js);

/*
 * A reference to the stream for identifier, connected on first use. Returns 0,
 * or a negative errno (-EMFILE when too many identifiers have a stream: the
 * caller then uses the native transport for that producer).
 */
int jstream_get(struct jstreams *js, const char *identifier, struct jstream **ret);
void jstream_unref(struct jstream *s);

#define JSTREAM_IOV 512

/* The lines of one write(), pointing into the caller's buffer. */
struct jstream_batch {
	struct iovec iov[JSTREAM_IOV];
	unsigned n;
	size_t bytes;
	unsigned lines;
};

/* True when the batch has room for one more line. */
bool jstream_batch_room(const struct jstream_batch *b);

/* Forgets the lines of the batch. */
void jstream_batch_reset(struct jstream_batch *b);

/*
 * Adds the entry f, framed at raw (the bytes the producer wrote, prefix and
 * '\n' included), as one line journald parses back into the same text and
 * priority: verbatim where it can, else with a "<N>" prefix of its own (a split
 * line's continuation, a text that starts with '<') and a '\n' (a split or
 * unterminated line).
 */
void jstream_batch_add(struct jstream_batch *b, const char *raw, const struct frame *f,
		       int default_priority);

/*
 * Writes the batch whole, blocking while journald is busy (backpressure, as
 * with the native transport), and empties it. Returns 0 or a negative errno;
 * after an error the stream is reconnected on the next write, and the caller
 * must write the whole batch again (lines of it may be stored twice, never
 * lost).
 */
int jstream_write(struct jstream *s, struct jstream_batch *b);

/* The line sink that gathers lines into batch and writes them to s's stream. */
struct jstream_sink {
	struct line_sink sink;
	struct jstream *stream;
	struct jstream_batch *batch;
	int default_priority;
};

struct line_sink *jstream_sink_init(struct jstream_sink *js, struct jstream *s,
				    struct jstream_batch *b, int default_priority);
