/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "journal.h"
#include "protocol.h"
#include "stream-carry.h"
#include "stream.h"

/*
 * Lines written to the journal before their bytes are taken out of the socket
 * in one recv(): a line costs 1/CONSUME_LINES of a system call instead of
 * one. Without a ledger, a crash in between stores up to this many lines
 * twice after the restart (never loses one); with one, none.
 */
#define CONSUME_LINES 8

/* How far a feed() got: what is stored, and what is taken from the socket. */
struct feed {
	char *buf;
	size_t len;
	size_t carried; /* buf[0..carried) came from carry, the rest from the socket */
	bool eof;
	bool cut;             /* the last entry is cut where buf ends; its message goes on */
	const char *eof_name; /* MPSR_LINE_BREAK of a last line without '\n', or of a cut one */
	size_t stored;        /* buf[0..stored) is in the journal */
	size_t taken;         /* buf[0..taken) is out of the socket */
	int journal_error;    /* what the sink said when it took no more, or 0 */
	bool limited;         /* the producer's limit stopped it before the line at stored */
	bool yielded;         /* so did relay_yield(): others wait (limited is set too) */
};

/*
 * The longest entry that starts at pos. A staged line adopted from a process
 * with a larger --line-max may be longer than this one's: the entry it starts
 * holds all of it (it is out of the socket, and a slot is emptied only
 * whole), and the lines after it are split at --line-max.
 */
static size_t entry_max(const struct relay *r, const struct feed *fe, size_t pos) {
	return pos < fe->carried && fe->carried > r->cfg.line_max ? fe->carried : r->cfg.line_max;
}

void stream_in_init(struct stream_in *in, int fd, bool syslog) {
	*in = (struct stream_in){.fd = fd, .fs = {.priority = -1, .syslog = syslog}};
}

int stream_in_ledger(struct stream_in *in, struct ledger *l) {
	int r = ledger_conn_init(&in->lc, l, in->fd);

	in->ledger = r < 0 ? NULL : l;
	return r;
}

static const char *break_name(enum frame_break b, const char *eof_name) {
	switch (b) {
	case FRAME_BREAK_LINE_MAX: return "line-max";
	case FRAME_BREAK_EOF:
	case FRAME_BREAK_CUT: return eof_name;
	case FRAME_BREAK_NUL: return LINE_BREAK_NUL;
	default: return NULL;
	}
}

/* Takes buf[taken..upto) out of the socket; they were read with MSG_PEEK already. */
static int take_upto(struct stream_in *in, struct relay *r, struct feed *fe, size_t upto) {
	while (fe->taken < upto) {
		size_t n = upto - fe->taken;
		ssize_t k = in->ledger ? ledger_take(in->ledger, in->fd, fe->buf + fe->taken, n)
				       : recv(in->fd, fe->buf + fe->taken, n, MSG_DONTWAIT);
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		r->stats.bytes += (uint64_t)k;
		fe->taken += (size_t)k;
	}
	return 0;
}

/*
 * The sink's calls that may wait for journald, marked so that the loop can
 * tell. A line is in the ledger while it is sent, by where it ends in buf
 * and the framing state after it.
 */
static int send_entry(struct stream_in *in, struct relay *r, struct line_sink *sink,
		      const struct feed *fe, size_t pos, const struct frame *f,
		      const struct frame_state *after) {
	const char *brk = break_name(f->brk, fe->eof_name);

	if (in->ledger)
		ledger_sending(in->ledger, &in->lc, pos + f->consumed, after);
	relay_journal_enter(r);
	int k = sink->put(sink, fe->buf + pos, f, brk);
	relay_journal_leave(r);
	if (in->ledger)
		ledger_sent(in->ledger, &in->lc, k > 0);
	return k;
}

static int commit(struct relay *r, struct line_sink *sink) {
	relay_journal_enter(r);
	int k = sink->commit(sink);
	relay_journal_leave(r);
	return k;
}

static void count_stored(struct relay *r, unsigned lines, unsigned split, unsigned unterminated) {
	r->stats.messages += lines;
	r->stats.split += split;
	r->stats.unterminated += unterminated;
}

/* The entry at fe->buf[pos..): complete, or (fe->cut) cut where the buffer ends. */
static bool next_entry(const struct relay *r, const struct feed *fe, size_t pos,
		       struct frame_state *st, struct frame *f) {
	const char *p = fe->buf + pos;
	size_t n = fe->len - pos, max = entry_max(r, fe, pos);
	struct frame_state saved = *st;

	if (frame_next(p, n, max, fe->eof, st, f))
		return true;
	*st = saved;
	return fe->cut && frame_cut(p, n, max, st, f);
}

/*
 * Frames fe->buf and hands every line to the sink, taking stored lines out of
 * the socket every CONSUME_LINES lines. in->fs follows what is stored. Returns
 * 0, or a negative errno from the socket; a refusal by journald only stops
 * the feed (fe->journal_error).
 */
static int feed(struct stream_in *in, struct relay *r, struct line_sink *sink, struct feed *fe) {
	struct frame_state st = in->fs;
	size_t pos = fe->stored;
	unsigned split = 0, unterminated = 0, since_take = 0, lines = 0;
	struct frame f;
	int k;

	for (;;) {
		struct frame_state next = st;
		if (!next_entry(r, fe, pos, &next, &f)) {
			/* A cut leaves nothing behind: not even half a "\n\0" terminator. */
			if (fe->cut && pos < fe->len && pos == fe->stored) {
				fe->stored = fe->len;
				in->fs.ended = 0;
			}
			break;
		}
		/* Its slice is over and others wait: the rest stays in the socket for its next
		 * turn. */
		if ((++lines % CONSUME_LINES) == 0 && relay_yield(r)) {
			fe->limited = fe->yielded = true;
			break;
		}
		/* Over its limit: the line stays in the socket until the window opens. */
		if (r->gate && !r->gate->admit(r->gate, f.priority, NULL)) {
			fe->limited = true;
			break;
		}
		if (sink->full(sink)) {
			if ((k = commit(r, sink)) < 0)
				goto refused;
			count_stored(r, (unsigned)k, split, unterminated);
			split = unterminated = 0;
			fe->stored = pos;
			in->fs = st;
		}
		k = send_entry(in, r, sink, fe, pos, &f, &next);
		if (k < 0)
			goto refused;
		st = next;
		pos += f.consumed;
		split += f.brk == FRAME_BREAK_LINE_MAX || f.brk == FRAME_BREAK_CUT;
		unterminated += f.brk == FRAME_BREAK_EOF;
		if (k == 0)
			continue;
		count_stored(r, 1, split, unterminated);
		split = unterminated = 0;
		fe->stored = pos;
		in->fs = st;
		if (++since_take == CONSUME_LINES && fe->stored > fe->taken) {
			since_take = 0;
			if ((k = take_upto(in, r, fe, fe->stored)) < 0)
				return k;
		}
	}
	if (pos > fe->stored) {
		if ((k = commit(r, sink)) < 0)
			goto refused;
		count_stored(r, (unsigned)k, split, unterminated);
		fe->stored = pos;
		in->fs = st;
	}
	return 0;

refused:
	fe->journal_error = k;
	r->stats.journal_errors++;
	relay_warn(r, k, "writing to the journal failed; will retry");
	return 0;
}

/* Writes the unfinished line already taken from the socket, ended for the reason why. */
static int stream_flush(struct stream_in *in, struct relay *r, struct line_sink *sink,
			const char *why) {
	char *buf, *carry = NULL;
	size_t have = stream_carry_get(in, &carry);

	if (have == 0)
		return READ_MORE;
	if (stream_buf_fit(r, have) < 0)
		return -ENOMEM;
	buf = r->buf + JOURNAL_HEADROOM;
	memcpy(buf, carry, have);
	struct feed fe = {
		.buf = buf,
		.len = have,
		.eof = true,
		.eof_name = why,
		.carried = have,
		.taken = have,
	};
	/* The connection is ending: its last line is not held to its limit. */
	struct line_gate *gate = r->gate;
	r->gate = NULL;
	int k = feed(in, r, sink, &fe);
	r->gate = gate;
	if (k < 0)
		return k;
	/* With a ledger, the staged line stays staged until the job's end says it is stored. */
	if (fe.journal_error)
		return !in->ledger && stream_carry_set(in, buf + fe.stored, fe.len - fe.stored) < 0
			       ? -ENOMEM
			       : READ_RETRY;
	/* All is stored; what framing left is the second byte of a "\n\0" terminator. */
	stream_in_done(in);
	in->fs = (struct frame_state){.priority = -1, .syslog = in->fs.syslog};
	return READ_MORE;
}

/*
 * With a ledger: the unfinished line at the end of fe, which is all the
 * socket holds, is to be staged (in->stage: its bytes still in the socket,
 * taken once the job's account is closed). If it does not fit in the budget,
 * it is written now as it stands, marked MPSR_LINE_BREAK=budget; what follows
 * it becomes the next entry. Returns READ_*, or a negative errno.
 */
static int unfinished(struct stream_in *in, struct relay *r, struct line_sink *sink,
		      struct feed *fe) {
	/* Nothing stored: the staged bytes stay, and the socket's are appended. */
	size_t kept = fe->stored == 0 ? fe->carried : 0;
	size_t from = fe->stored > fe->carried ? fe->stored : fe->carried;
	int k;

	if (from >= fe->len)
		return READ_MORE;
	/*
	 * A message start that cannot be told from text yet (half an octet
	 * count or "<PRI>") is staged whatever the budget: cut, it would be
	 * text, and a count's message would run on into the next ones.
	 */
	in->stage_start = frame_undecided(fe->buf + fe->stored, fe->len - fe->stored, &in->fs);
	/* The producer's share of the budget first (tenant.h), then the budget. */
	bool share = !r->gate || !r->gate->may_stage ||
		     r->gate->may_stage(r->gate, kept + fe->len - from);
	if (in->stage_start ||
	    (share && ledger_can_stage(in->ledger, &in->lc, kept, fe->len - from))) {
		in->stage = fe->len - from;
		return READ_MORE;
	}
	fe->cut = true;
	fe->eof_name = "budget";
	if ((k = feed(in, r, sink, fe)) < 0 || (k = take_upto(in, r, fe, fe->stored)) < 0)
		return k;
	return fe->journal_error ? READ_RETRY
	       : fe->yielded     ? READ_MORE
	       : fe->limited     ? READ_LIMITED
				 : READ_MORE;
}

/*
 * Whether a peek offset was left set on fd (only a crash inside a marked take
 * can leave one; recovery resets it, this is the last line of defence): a
 * readable socket would peek as empty, or skip bytes. Resets it.
 */
static bool peek_off_reset(int fd) {
	int off = -1;
	socklen_t len = sizeof(off);

	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &len) < 0 || off < 0)
		return false;
	off = -1;
	return setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) == 0;
}

static int read_once(struct stream_in *in, struct relay *r, struct line_sink *sink) {
	char *buf, *carry = NULL;
	size_t have = stream_carry_get(in, &carry);
	ssize_t room = stream_buf_fit(r, have);
	int k;

	if (!relay_journal_ok(r))
		return READ_RETRY;
	if (room < 0)
		return (int)room;
	buf = r->buf + JOURNAL_HEADROOM;
	if (have > 0) /* carry is NULL when empty, and memcpy() must not see NULL */
		memcpy(buf, carry, have);
	ssize_t n = recv(in->fd, buf + have, (size_t)room, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN && peek_off_reset(in->fd))
		n = recv(in->fd, buf + have, (size_t)room, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return READ_MORE;
	if (n < 0) {
		/* The connection is gone; what was taken from it still goes to the journal. */
		int e = -errno;
		k = stream_flush(in, r, sink, "eof");
		return k == READ_RETRY ? k : e;
	}

	struct feed fe = {
		.buf = buf,
		.len = have + (size_t)n,
		.eof = n == 0,
		.eof_name = "eof",
		.carried = have,
		.taken = have,
	};
	if ((k = feed(in, r, sink, &fe)) < 0 || (k = take_upto(in, r, &fe, fe.stored)) < 0)
		return k;
	if (fe.journal_error == 0 && !fe.limited && fe.eof) {
		stream_in_done(in);
		return READ_END;
	}
	/* An unfinished line that is all the socket holds is taken out, or poll() would spin. */
	bool drained = n < room;
	if (in->ledger)
		return fe.journal_error ? READ_RETRY
		       : fe.yielded     ? READ_MORE
		       : fe.limited     ? READ_LIMITED
		       : drained        ? unfinished(in, r, sink, &fe)
					: READ_MORE;
	if (fe.journal_error == 0 && !fe.limited && drained) {
		if ((k = take_upto(in, r, &fe, fe.len)) < 0)
			return k;
		/* Beyond the budget, the line is written as it stands, as with a ledger. */
		fe.cut = !frame_undecided(buf + fe.stored, fe.taken - fe.stored, &in->fs) &&
			 !stream_carry_fits(in, fe.taken - fe.stored);
		fe.eof_name = "budget";
		if (fe.cut && (k = feed(in, r, sink, &fe)) < 0)
			return k;
	}
	if ((k = stream_carry_set(in, buf + fe.stored, fe.taken - fe.stored)) < 0)
		return k;
	return fe.journal_error ? READ_RETRY
	       : fe.yielded     ? READ_MORE
	       : fe.limited     ? READ_LIMITED
				: READ_MORE;
}

/* A job's account starts at the socket's head as it is now, and ends with all it stored taken. */
static void account_begin(struct stream_in *in) {
	if (in->ledger)
		ledger_begin(in->ledger, &in->lc, &in->fs);
}

static void account_end(struct stream_in *in) {
	if (in->ledger)
		ledger_end(in->ledger, &in->lc, &in->fs);
}

int stream_read(struct stream_in *in, struct relay *r, struct line_sink *sink) {
	account_begin(in);
	in->stage = 0;
	int k = read_once(in, r, sink);
	account_end(in);
	if (!in->ledger)
		return k;
	if (k == READ_MORE && in->stage > 0) {
		ssize_t n = in->stage_start
				    ? ledger_stage_start(in->ledger, &in->lc, in->fd, in->stage)
				    : ledger_stage(in->ledger, &in->lc, in->fd, in->stage);
		if (n < 0)
			return (int)n;
		r->stats.bytes += (uint64_t)n;
	}
	/* The connection is over: its slot is free for others. */
	if (k == READ_END || k < 0)
		ledger_conn_done(in->ledger, &in->lc);
	return k;
}

int stream_drain(struct stream_in *in, struct relay *r, struct line_sink *sink,
		 bool keep_unfinished) {
	int queued = 0, k = READ_MORE;

	/* What is queued now, at most: a producer that keeps writing must not stall the exit. */
	if (ioctl(in->fd, FIONREAD, &queued) < 0)
		queued = 0;
	uint64_t until = r->stats.bytes + (uint64_t)queued;
	while (k == READ_MORE && r->stats.bytes < until) {
		uint64_t before = r->stats.bytes;
		k = stream_read(in, r, sink);
		/* A read that took nothing would take nothing the next time either. */
		if (r->stats.bytes == before)
			break;
	}
	/* A staged unfinished line may stay in the ledger, for the next mpsrd to finish. */
	if (k != READ_MORE || (in->ledger && keep_unfinished))
		return k;
	account_begin(in);
	k = stream_flush(in, r, sink, "stop");
	account_end(in);
	return k;
}
