/* SPDX-License-Identifier: MIT */
/*
 * The journal of fuzz-crash.c: sd_journal_sendv() replaced (ld --wrap), a cut
 * point before and after each entry, the entries recorded, and the check of
 * a producer's entries against the messages its bytes make.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "crash-cuts.h"
#include "crash-journal.h"
#include "crash-keep.h"
#include "frame.h"
#include "fuzz.h"
#include "ledger.h"
#include "log.h"

struct entry {
	char *text;
	size_t len;
	int priority, facility;
	char brk[16]; /* MPSR_LINE_BREAK, or "" */
	char tag[LEDGER_TAG_MAX];
	uint64_t ino; /* from the tag */
	bool claimed;
};

static struct {
	struct entry *e;
	size_t n, cap;
	unsigned refuse, refused;
} J;

int __wrap_sd_journal_sendv(const struct iovec *iov, int n);
int __wrap_journal_available(void);
int __wrap_log_msg(int priority, int error, const char *fmt, ...) _printf_(3, 4);
void __wrap_log_limited(struct ratelimit *rl, int priority, int error, const char *fmt, ...)
	_printf_(4, 5);

static uint64_t word(const char *p) {
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	return w;
}

/*
 * The harness's own bookkeeping, not the relay's: without coverage, since
 * libFuzzer's memcmp() hook and comparison tracing on every field of every
 * entry took 40% of a run's time, and 8 bytes at a time (a byte loop, each
 * byte checked by ASan, took 9%). k: strlen(name).
 */
__attribute__((no_sanitize("coverage"))) static bool
field(const struct iovec *v, const char *name, size_t k, const char **value, size_t *len) {
	const char *b = v->iov_base;
	size_t i = 0;

	if (v->iov_len < k)
		return false;
	for (; i + sizeof(uint64_t) <= k; i += sizeof(uint64_t))
		if (word(b + i) != word(name + i))
			return false;
	for (; i < k; i++)
		if (b[i] != name[i])
			return false;
	*value = b + k;
	*len = v->iov_len - k;
	return true;
}
#define FIELD(v, name, value, len) field((v), name, sizeof(name) - 1, (value), (len))

__attribute__((no_sanitize("coverage"))) static int number(const char *v, size_t len) {
	int n = 0;

	CHECK(len > 0 && len < 4);
	for (size_t i = 0; i < len; i++) {
		CHECK(v[i] >= '0' && v[i] <= '9');
		n = n * 10 + v[i] - '0';
	}
	return n;
}

/* Bookkeeping too: no coverage (see field()), and not inlined into a caller that has it. */
__attribute__((no_sanitize("coverage"), noinline)) static void
record(struct entry *s, const struct iovec *iov, int n) {
	const char *v;
	size_t len;

	*s = (struct entry){.priority = -1, .facility = -1};
	for (int i = 0; i < n; i++) {
		/* Every name below has 8 bytes or more: the first 8 skip the other fields. */
		uint64_t w = iov[i].iov_len >= sizeof(w) ? word(iov[i].iov_base) : 0;
		if (w != word("MESSAGE=") && w != word("PRIORITY") && w != word("SYSLOG_F") &&
		    w != word("MPSR_LIN") && w != word(LEDGER_FIELD))
			continue;
		if (FIELD(&iov[i], "MESSAGE=", &v, &len)) {
			s->text = keep_text(v, len); /* until journal_reset() */
			s->len = len;
		} else if (FIELD(&iov[i], "PRIORITY=", &v, &len)) {
			s->priority = number(v, len);
		} else if (FIELD(&iov[i], "SYSLOG_FACILITY=", &v, &len)) {
			s->facility = number(v, len);
		} else if (FIELD(&iov[i], "MPSR_LINE_BREAK=", &v, &len)) {
			CHECK(len < sizeof(s->brk));
			memcpy(s->brk, v, len);
		} else if (FIELD(&iov[i], LEDGER_FIELD, &v, &len)) {
			CHECK(iov[i].iov_len < sizeof(s->tag));
			memcpy(s->tag, iov[i].iov_base, iov[i].iov_len);
			/* ID.GEN.INODE.CONN.PARITY: the connection is its inode */
			const char *dot = memchr(v, '.', len);
			CHECK(dot);
			dot = memchr(dot + 1, '.', len - (size_t)(dot + 1 - v));
			CHECK(dot);
			s->ino = strtoull(dot + 1, NULL, 10);
		}
	}
	CHECK(s->text && s->priority >= 0 && s->priority <= 7);
	CHECK(s->ino != 0); /* every entry of a connection with a ledger carries its tag */
}

int __wrap_sd_journal_sendv(const struct iovec *iov, int n) {
	cut_point("before sd_journal_sendv");
	if (J.refuse > 0) {
		J.refuse--;
		J.refused++;
		return -EAGAIN;
	}
	if (J.n == J.cap) {
		J.cap = J.cap ? J.cap * 2 : 64;
		CHECK((J.e = realloc(J.e, J.cap * sizeof(*J.e))));
	}
	record(&J.e[J.n++], iov, n);
	cut_point("after sd_journal_sendv"); /* journald has it; the relay does not know yet */
	return 0;
}

int __wrap_journal_available(void) {
	return 0;
}

/* Diagnostics are formatted (so that the sanitizers check them), not printed. */
int __wrap_log_msg(int priority, int error, const char *fmt, ...) {
	char text[1024];
	va_list ap;
	(void)priority;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return error < 0 ? error : -error;
}

void __wrap_log_limited(struct ratelimit *rl, int priority, int error, const char *fmt, ...) {
	char text[1024];
	va_list ap;
	(void)rl;
	(void)priority;
	(void)error;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
}

/* A kill leaves what the dead process had allocated; the kernel would free it. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
	return "leak:syslog_copy\n";
}

/*
 * Called before and after each input. What an input allocates is freed or
 * kept for the next: libFuzzer runs an input that leaves more mallocs than
 * frees again, and scans the heap for leaks.
 */
void journal_reset(void) {
	keep_texts_reset();
	J.n = 0;
	J.refuse = J.refused = 0;
	cuts_reset();
}

void journal_refuse(unsigned n) {
	J.refuse = n;
}

size_t journal_count(void) {
	return J.n;
}

unsigned journal_refused(void) {
	return J.refused;
}

int journal_lookup(const char *tag, void *data) {
	size_t n = strlen(tag);
	(void)data;

	/* Either parity of the connection's entries of that generation: the last decides. */
	for (size_t i = J.n; i-- > 0;) {
		const char *t = J.e[i].tag;
		if (strlen(t) == n && memcmp(t, tag, n - 1) == 0)
			return t[n - 1] == tag[n - 1];
	}
	return 0;
}

/* The producer's next entry. */
static struct entry *next_entry(uint64_t ino, size_t *at) {
	for (; *at < J.n; (*at)++)
		if (J.e[*at].ino == ino) {
			J.e[*at].claimed = true;
			return &J.e[(*at)++];
		}
	return NULL;
}

/* Whether the producer has an entry at or after `at`. */
static bool more_entries(uint64_t ino, size_t at) {
	for (; at < J.n; at++)
		if (J.e[at].ino == ino)
			return true;
	return false;
}

/* What journald got around entry `near`, for the report of a failure. */
static void dump(size_t near) {
	bool all = getenv("MPSR_FUZZ_CRASH_DUMP") != NULL; /* every entry, not those near */
	size_t from = near > 12 && !all ? near - 12 : 0;

	fprintf(stderr, "  killed:%s\n", cuts_kills());
	for (size_t i = from; i < J.n && (all || i < near + 4); i++) {
		const struct entry *e = &J.e[i];
		fprintf(stderr, "  entry %zu: %s PRIORITY=%d FACILITY=%d BREAK=%s %zu bytes \"", i,
			e->tag, e->priority, e->facility, e->brk, e->len);
		for (size_t k = 0; k < e->len && k < 40; k++)
			fprintf(stderr, e->text[k] >= 32 && e->text[k] < 127 ? "%c" : "\\x%02x",
				(unsigned char)e->text[k]);
		fprintf(stderr, "%s\"\n", e->len > 40 ? "..." : "");
	}
}

#define FAIL(near, ...)                                                                            \
	do {                                                                                       \
		fprintf(stderr, "fuzz-crash: " __VA_ARGS__);                                       \
		fputc('\n', stderr);                                                               \
		dump(near);                                                                        \
		abort();                                                                           \
	} while (0)

/* A message as the reference framing gives it: its pieces' texts joined. */
struct message {
	size_t at;       /* its first byte in the stream */
	size_t consumed; /* its bytes in the stream */
	char *text;
	size_t len, cap;
	int priority, facility;
	enum frame_break brk;
	struct frame_state st; /* the framing state at its first byte */
	/*
	 * The blanks framing dropped at its end (a syslog message's, as
	 * journald drops them). In a message split otherwise than here (a
	 * staged line adopted by a start with a smaller line_max is one piece,
	 * and the pieces after it are split from there), pieces that end
	 * before its last may hold some of them: they are the producer's
	 * bytes, where it wrote them.
	 */
	const char *tail;
	size_t n_tail;
	/*
	 * Whether its end drops blanks: a syslog message with a "<PRI>", not
	 * octet-counted. Split at other places than here, its last piece may
	 * hold more of its trailing blank run than the reference's, and drop
	 * them all.
	 */
	bool trims;
};

static void message_add(struct message *m, const char *piece, size_t at, const struct frame *f,
			bool syslog) {
	if (m->consumed == 0) {
		/* Past a "\n\0" or "\0\n" half, an octet count starts with a digit. */
		size_t lead = f->consumed > 0 && (piece[0] == '\0' || piece[0] == '\n');
		m->at = at;
		m->priority = f->priority >= 0 ? f->priority : DEFAULT_PRIORITY;
		m->facility = f->facility;
		m->trims = syslog && f->priority >= 0 && lead < f->consumed && piece[lead] == '<';
	}
	if (m->len + f->len > m->cap) {
		m->cap = (m->len + f->len) * 2;
		CHECK((m->text = realloc(m->text, m->cap)));
	}
	if (f->len)
		memcpy(m->text + m->len, piece + f->start, f->len);
	m->len += f->len;
	m->consumed += f->consumed;
	m->brk = f->brk;
	/* After its text, up to its terminator: what syslog_trim() took. */
	m->tail = piece + f->start + f->len;
	for (m->n_tail = 0; f->start + f->len + m->n_tail < f->consumed; m->n_tail++) {
		char c = m->tail[m->n_tail];
		if (c != ' ' && c != '\t' && c != '\r')
			break;
	}
}

/* Whether e's text is m's from off on: its own, then (split) the blanks dropped at its end. */
static bool text_at(const struct message *m, size_t off, const struct entry *e, bool split) {
	size_t own = off < m->len ? m->len - off : 0, rest = e->len > own ? e->len - own : 0;

	if (own > e->len)
		own = e->len;
	if (own && memcmp(e->text, m->text + off, own) != 0)
		return false;
	if (rest == 0)
		return true;
	size_t into = off + own - m->len;
	return split && into + rest <= m->n_tail &&
	       memcmp(e->text + own, m->tail + into, rest) == 0;
}

/* Why the last expect_message() said no, and at which entry. */
static char mismatch[256];
static size_t mismatch_near;

#define MISMATCH(near, ...)                                                                        \
	do {                                                                                       \
		snprintf(mismatch, sizeof(mismatch), __VA_ARGS__);                                 \
		mismatch_near = (near);                                                            \
		return false;                                                                      \
	} while (0)

/* The message m must be the producer's next entries, in pieces. */
static bool expect_message(const struct expect_stream *w, size_t *at, const struct message *m) {
	static const char *const ends[] = {"", "line-max", "eof", "nul"};
	size_t off = 0, pieces = 0;

	for (;; pieces++) {
		struct entry *e = next_entry(w->ino, at);
		if (!e)
			MISMATCH(*at,
				 "message at byte %zu (%zu bytes): piece %zu (from byte %zu of its "
				 "text) is missing",
				 m->at, m->len, pieces, off);
		/* Blanks after the text only in a message split: its last piece ends it. */
		bool last = strcmp(e->brk, "line-max") != 0 && strcmp(e->brk, "budget") != 0;
		if (!text_at(m, off, e, !last || pieces > 0))
			MISMATCH(
				*at - 1,
				"message at byte %zu: piece %zu (%zu bytes at %zu) is not its text "
				"(%zu bytes): lost, repeated or merged bytes",
				m->at, pieces, e->len, off, m->len);
		if (e->priority != m->priority || e->facility != m->facility)
			MISMATCH(*at - 1,
				 "message at byte %zu: piece %zu has priority %d facility %d, not "
				 "%d "
				 "%d",
				 m->at, pieces, e->priority, e->facility, m->priority, m->facility);
		off += e->len;
		bool line_max = strcmp(e->brk, "line-max") == 0,
		     budget = strcmp(e->brk, "budget") == 0;
		if (line_max && m->consumed <= w->line_max_min)
			MISMATCH(*at - 1, "message at byte %zu of %zu bytes split at line-max %zu",
				 m->at, m->consumed, w->line_max_min);
		if (budget && m->consumed <= w->budget_min && m->consumed <= w->slot_size)
			MISMATCH(*at - 1,
				 "message at byte %zu of %zu bytes split at a budget of %zu", m->at,
				 m->consumed, w->budget_min);
		if (line_max || budget) {
			/*
			 * An end of file after the last piece has no bytes to be an entry;
			 * or its entry is empty (blanks at the end, trimmed): the stream's
			 * last message has all the producer's entries left.
			 */
			if (m->brk == FRAME_BREAK_EOF && off >= m->len &&
			    !more_entries(w->ino, *at))
				return true;
			continue;
		}
		/*
		 * A split message's last piece may hold more of its trailing
		 * blank run than the reference's (pieces cut at other places),
		 * and drops all it holds: any suffix of that run may be missing.
		 */
		if (off < m->len &&
		    !(m->trims && pieces > 0 && syslog_trim(m->text, off, m->len) == off))
			MISMATCH(*at - 1, "message at byte %zu: ended (%s) after %zu of %zu bytes",
				 m->at, e->brk, off, m->len);
		if (strcmp(e->brk, ends[m->brk]) != 0)
			MISMATCH(*at - 1,
				 "message at byte %zu: ends with MPSR_LINE_BREAK=%s, not %s", m->at,
				 e->brk, ends[m->brk]);
		return true;
	}
}

/* Whether the producer's next message, its entries from `from` on, has a piece cut at =budget. */
static bool cut_at_budget(uint64_t ino, size_t from) {
	for (size_t i = from; i < J.n; i++) {
		if (J.e[i].ino != ino)
			continue;
		if (strcmp(J.e[i].brk, "budget") == 0)
			return true;
		if (strcmp(J.e[i].brk, "line-max") != 0)
			return false; /* its last piece */
	}
	return false;
}

/*
 * Frames m's bytes from *pos up to the stream's byte cut into alt as mpsrd
 * frames a cut at the budget: the pieces before it split at line_max, the
 * piece there cut (frame_cut()). False if mpsrd cannot have cut there. Only
 * the joined text counts (expect_message()): pieces cut before keep their
 * bytes as they are, as the line_max pieces framed here in their place do.
 */
static bool frame_to_cut(const struct expect_stream *w, size_t from, size_t *pos, size_t cut,
			 size_t line_max, struct frame_state *s, struct message *alt) {
	const char *b = (const char *)w->bytes;
	struct frame f;

	while (frame_next(b + *pos, cut - *pos, line_max, false, s, &f)) {
		if (f.brk != FRAME_BREAK_LINE_MAX)
			return false;
		message_add(alt, b + *pos, *pos, &f, w->syslog);
		*pos += f.consumed;
	}
	/* Only the budget cuts a message where the bytes end. */
	if (!cut_at_budget(w->ino, from))
		return false;
	/* Nor inside a prefix, "<PRI>" or octet count: those are staged whatever the budget. */
	if (*pos == cut || frame_undecided(b + *pos, cut - *pos, s))
		return false;
	if (!frame_cut(b + *pos, cut - *pos, line_max, s, &f) || f.brk != FRAME_BREAK_CUT)
		return false;
	message_add(alt, b + *pos, *pos, &f, w->syslog);
	*pos += f.consumed;
	return true;
}

/*
 * m framed again from st with line_max, cut at the stream's byte cut (0: not
 * cut) in the piece there, or with a first piece of up to `first` bytes (0:
 * line_max), must be the entries from `from` on.
 */
static bool expect_reframed(const struct expect_stream *w, size_t *at, size_t from,
			    const struct message *m, const struct frame_state *st, size_t line_max,
			    size_t cut, size_t first) {
	const char *b = (const char *)w->bytes;
	struct message alt = {0};
	struct frame_state s = *st;
	struct frame f;
	size_t pos = m->at, end = m->at + m->consumed;
	bool ok = !cut || frame_to_cut(w, from, &pos, cut, line_max, &s, &alt);

	for (; ok && pos < end; first = 0) {
		if (!frame_next(b + pos, end - pos, first ? first : line_max, true, &s, &f))
			break;
		message_add(&alt, b + pos, pos, &f, w->syslog);
		pos += f.consumed;
	}
	alt.brk = m->brk;
	*at = from;
	ok = ok && pos == end && expect_message(w, at, &alt);
	free(alt.text);
	return ok;
}

/*
 * m, or m framed with another start's line_max from st (a syslog header is
 * read within a line_max window), or m cut at the budget (a syslog header
 * is read as far as it came, its rest is text of the next piece; its
 * "<PRI>" and octet count are never cut: mpsr(7)), or m's start staged and
 * written whole by a start with a smaller line_max (its header read in all
 * of it, mpsrd(8)), must be the next entries. Such a cut, or the end of
 * such a staged start, falls where all the producer had sent ended: at the
 * end of one of its writes.
 */
static void expect_any(const struct expect_stream *w, size_t *at, const struct message *m,
		       const struct frame_state *st) {
	size_t from = *at;
	char first[sizeof(mismatch)];
	size_t first_near;

	if (expect_message(w, at, m))
		return;
	memcpy(first, mismatch, sizeof(first));
	first_near = mismatch_near;
	for (size_t i = 0; i < w->n_line_maxes; i++)
		if (w->line_maxes[i] != w->line_max_min &&
		    expect_reframed(w, at, from, m, st, w->line_maxes[i], 0, 0))
			return;
	for (size_t k = 0; k < w->n_ends; k++) {
		/* A message that ends at the end of the stream may be cut after its last byte. */
		size_t end = m->at + m->consumed;
		if (w->ends[k] <= m->at || w->ends[k] > end ||
		    (w->ends[k] == end && m->brk != FRAME_BREAK_EOF))
			continue;
		for (size_t i = 0; i < w->n_line_maxes; i++)
			if (expect_reframed(w, at, from, m, st, w->line_maxes[i], w->ends[k], 0))
				return;
		/*
		 * The start of m staged up to there, adopted by a start with a
		 * smaller line_max: one piece (its syslog header read in all of
		 * it), the rest split at that line_max.
		 */
		size_t staged = w->ends[k] - m->at;
		for (size_t i = 0; i < w->n_line_maxes; i++)
			if (staged > w->line_maxes[i] &&
			    expect_reframed(w, at, from, m, st, w->line_maxes[i], 0, staged))
				return;
	}
	fprintf(stderr, "fuzz-crash: %s\n", first);
	dump(first_near);
	abort();
}

/*
 * Frames b[pos..end) from *st with the smallest line_max used, joining a
 * line's pieces into its message (a syslog header is read in a line_max
 * window, so the window matters for a long one). Returns where it stopped.
 */
static size_t expect_segment(const struct expect_stream *w, size_t *at, size_t pos, size_t end,
			     bool eof, struct frame_state *st, struct message *m) {
	const char *b = (const char *)w->bytes;
	struct frame f;

	for (;;) {
		struct frame_state before = *st;
		if (!frame_next(b + pos, end - pos, w->line_max_min, eof, st, &f))
			break;
		if (m->consumed == 0)
			m->st = before;
		message_add(m, b + pos, pos, &f, w->syslog);
		pos += f.consumed;
		if (f.brk == FRAME_BREAK_LINE_MAX)
			continue;
		expect_any(w, at, m, &m->st);
		*m = (struct message){.text = m->text, .cap = m->cap};
	}
	/*
	 * The stream ended right after a piece split at line_max (an octet
	 * count longer than what came, its bytes a multiple of line_max): that
	 * message ends there, as at an end of file.
	 */
	if (eof && m->consumed > 0) {
		m->brk = FRAME_BREAK_EOF;
		expect_any(w, at, m, &m->st);
		*m = (struct message){.text = m->text, .cap = m->cap};
	}
	return pos;
}

void journal_expect(const struct expect_stream *w) {
	const char *b = (const char *)w->bytes;
	struct frame_state st = {.priority = -1, .syslog = w->syslog};
	struct message m = {0};
	size_t at = 0;
	/* A producer that wrote nothing has no bytes (NULL) to frame. */
	size_t pos = w->len ? expect_segment(w, &at, 0, w->len, true, &st, &m) : 0;

	free(m.text);
	/* What framing may leave: the second byte of a "\n\0" or "\0\n" terminator. */
	CHECK(pos == w->len || (w->syslog && pos + 1 == w->len && (b[pos] == 0 || b[pos] == '\n')));
	if (next_entry(w->ino, &at))
		FAIL(at, "an entry more than the %zu bytes written make", w->len);
}

void journal_check_all_claimed(void) {
	for (size_t i = 0; i < J.n; i++)
		if (!J.e[i].claimed)
			FAIL(i, "entry %zu (%s) belongs to no producer", i, J.e[i].tag);
}
