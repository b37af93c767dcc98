/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "frame.h"

/*
 * Where a stream producer's lines go. Two implementations: one journal entry
 * per line with the producer's fields (journal.c, the default), or journald's
 * stdout stream protocol, many lines per write (jstream.c, --transport=stream).
 * The stream reader (stream.c) only ever sees this interface.
 */
struct line_sink {
	/*
	 * Takes the line f, framed at raw (the producer's bytes, prefix and
	 * terminator included), that ended for the reason brk names (NULL: its
	 * newline). Returns 1 when the line is stored, 0 when it is gathered for
	 * commit(), or a negative errno when journald took nothing: then nothing
	 * since the last 1 or commit() is stored. May overwrite the bytes before
	 * raw + f->start (see JOURNAL_HEADROOM) until it returns.
	 */
	int (*put)(struct line_sink *s, char *raw, const struct frame *f, const char *brk);
	/* Whether put() would first need a commit(). */
	bool (*full)(const struct line_sink *s);
	/* Stores what put() gathered. Returns the number of lines stored, or a negative errno. */
	int (*commit)(struct line_sink *s);
};
