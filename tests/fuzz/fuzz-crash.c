/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the stream relay with its ledger across simulated kill -9s: the
 * promise that a producer's bytes reach the journal exactly once, framed as
 * written, whatever the moment mpsrd dies and whatever it restarts with.
 *
 * What runs: the real reading path of a --fd-store mpsrd for one or two
 * stream producers: stream_read() (as the writer thread runs it for a
 * connection's job) on a socket pair's reading end, with the real journal
 * sink writing to a replaced sd_journal_sendv() (ld --wrap) that records each
 * entry and refuses when told. The ledger is a real memfd (ledger_new() as
 * at a first start, sized like server.c does it).
 *
 * The kill: recv(), setsockopt(), fallocate() and sd_journal_sendv() are
 * wrapped; each call the relay makes is two cut points, one before the real
 * call and one after it returned but before the caller sees the result (a
 * journal entry delivered and not noted, bytes taken and not counted, a
 * peek offset set and the next store not made). So a kill lands between the
 * two setsockopt() calls of a take, between a send and ledger_sent(), and
 * anywhere in recovery. At the chosen cut the process's state is dropped
 * with longjmp: no cleanup and no finishing code of the relay runs; only its
 * memory is given back (relay_done(), ledger_free() unmapping and closing
 * its own fds, as the kernel would). What survives is what the fd store
 * keeps: the memfd and each producer's socket (the fuzzer's own fds).
 *
 * The restart, as server_restore() does it: ledger_adopt() of the memfd
 * with the new start's unfinished-line budget, a new stream_in per surviving
 * socket with stream_in_ledger(), then ledger_recover() with a lookup that
 * answers from the recorded journal by the entry's MPSR_LEDGER tag (as
 * journal_last_is() does: the last entry carrying either parity decides).
 * A restart may come with another line_max and budget, and may be killed
 * again, in recovery or later. A restart after stream_drain() (as at
 * SIGUSR1) is also a step the input can choose.
 *
 * What is asserted, per producer, once every producer has closed its end and
 * the relay has read to the end: the bytes it wrote, framed in one go
 * (frame_next(), eof at the end) with the smallest line_max any start used
 * and each line's pieces joined, give the messages (a syslog header is read
 * within a line_max window, so a long one needs the smallest); the journal
 * entries tagged with its connection, in order, are those messages, each
 * in one or more pieces (a message cut at =budget where one of the
 * producer's writes ended, after any line_max pieces, may also be framed as
 * mpsrd frames it there with frame_cut(): a syslog header as far as it came,
 * its rest text, blanks before the cut text; never cut inside a prefix,
 * "<PRI>" or octet count, mpsr(7)):
 *  - the texts of a message's pieces, joined, are its text: nothing lost,
 *    repeated, reordered or merged with another message (in a message of
 *    more than one piece, the blanks a syslog message's end drops may be
 *    in pieces before its last, where the pieces end elsewhere than in the
 *    reference framing: a staged line adopted by a start with a smaller
 *    line_max is one piece);
 *  - every piece has the message's priority (from "<N>" or the syslog
 *    header, else the default) and SYSLOG_FACILITY;
 *  - a piece that is not the last ends with MPSR_LINE_BREAK=line-max or
 *    =budget; the last ends as the message did (none after '\n' or an octet
 *    count, =nul, or =eof at the end of the stream, where a last piece
 *    =line-max or =budget may also end it: the end came with no bytes, or
 *    only blanks, dropped);
 *  - =line-max only in a message longer than the smallest line_max used;
 *    =budget only in a message longer than the smallest budget used (with
 *    one producer; two share it) or than a slot holds (the first start's
 *    line_max and FRAME_SLACK: slots keep the first start's size, and after
 *    --line-max was raised an unfinished line longer than a slot is written
 *    as it stands, mpsrd(8));
 *  - no entry is left over, every entry carries its connection's tag, and
 *    at the end nothing is staged and every socket is empty.
 * And while it runs: no kept socket has SO_PEEK_OFF set after recovery or
 * after a job (later peeks would skip bytes), the relay never spins (a read
 * with bytes in the socket that neither writes, stages nor takes, with no
 * refusal by journald), never fails on a healthy socket (that hangs up on
 * the producer), and nothing trips ASan or UBSan.
 *
 * MPSR_FUZZ_CRASH_DUMP=1 shows every entry of a failing input, not only
 * those around the wrong one.
 *
 * Input: byte 0: bit 0 syslog framing, bit 1 two producers, bits 2-3 slots
 * - 1 (at least one per producer: mpsrd serves no more producers than its
 * ledger has slots, server.c); byte 1 the first start's line_max and budget
 * (see config()); then operations, each a byte (low 3 bits what, bit 3 which
 * producer, the high bits an argument) and its operands; see operate().
 * What an input may ask for is small (WRITTEN_MAX and the bounds with it),
 * so that an execution costs about 0.5 ms under ASan/UBSan (README).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crash-cuts.h"
#include "crash-journal.h"
#include "crash-keep.h"
#include "frame.h"
#include "fuzz.h"
#include "journal.h"
#include "ledger.h"
#include "origin.h"
#include "relay.h"
#include "stream.h"

#define PRODUCERS_MAX 2
/*
 * What an input may ask for, at most, so that an execution costs little more
 * than its fixed setup (see README): a producer's bytes (two lines longer
 * than the largest line_max, and a run past a slot of two pages, see
 * config()), and no more than PIECES_MAX pieces of the smallest line_max used
 * so far; the terminators among them (each '\n' or NUL may be an entry of
 * its own); starts after the first; operations. Writes and restarts beyond
 * them are not made; operations beyond them are not read.
 */
#define WRITTEN_MAX     (12u << 10)
#define PIECES_MAX      32
#define TERMINATORS_MAX 32
#define STARTS_MAX      5
#define OPERATIONS_MAX  24
#define SPIN_MAX        4 /* reads in a row that do nothing with bytes waiting */

struct producer {
	int keep;  /* the relay's end, as the fd store holds it; -1 once closed */
	int write; /* the producer's end */
	int fd;    /* the relay's end in this life, or -1 */
	bool shut, ended;
	size_t terminators;       /* '\n' and NUL bytes it wrote, and octet-counted messages */
	unsigned long peek_unset; /* cuts_peek_sets() when its peek offset was last seen unset */
	struct stream_in in;
	struct origin origin;
	uint8_t *bytes; /* all it wrote */
	size_t len, cap;
	size_t *ends; /* where each write ended in bytes */
	size_t n_ends, cap_ends;
};

/* The simulated process; the journal and crash-keep.c hold the rest of the global state. */
static struct process {
	bool syslog;
	unsigned n_prod, n_slots;
	unsigned starts; /* after the first */
	struct producer prod[PRODUCERS_MAX];
	int memfd; /* the ledger, as the fd store holds it */
	struct relay relay;
	struct ledger *ledger;
	size_t line_max_min, budget_min;
	/*
	 * What a slot holds, as documented rather than as ledger_slot_size()
	 * computes it: a line of the first start's line_max with its prefix and
	 * terminator (an adopted ledger keeps its slots).
	 */
	size_t slot_holds;
	size_t line_maxes[8]; /* every one a start used */
	size_t n_line_maxes;
	uint8_t next_config;  /* of the start after the next kill */
	uint8_t recover_kill; /* cuts into that start's recovery to kill it at, or 0 */
	jmp_buf *jump;        /* where a kill goes */
} P;

/*
 * line_max and budget: low 3 bits and the next 3 of b. Small, so that every
 * edge is a few KiB away: the least --line-max (64); a slot of one page
 * (4080 + FRAME_SLACK bytes), and one of two pages that one page would hold
 * but for the slack (4096: an octet count's prefix, a terminator); 4200 to
 * 5000, above a first start's one-page slot (an unfinished line longer than
 * the slot is written as it stands) and above a lowered --line-max's read
 * buffer (fuzz-crash reads 1 KiB a job, meson.build); budgets from none to a
 * "<PRI>" (3), a page, two, and none that binds.
 */
static void config(uint8_t b, size_t *line_max, size_t *budget) {
	static const size_t line_maxes[] = {64, 200, 1000, 4080, 4096, 4200, 4500, 5000};
	static const size_t budgets[] = {0, 16, 300, 4096, 5000, 3, 8192, 16 << 20};

	*line_max = line_maxes[b & 7];
	*budget = budgets[(b >> 3) & 7];
}

static void die(void) {
	jmp_buf *j = P.jump;
	P.jump = NULL;
	longjmp(*j, 1);
}

/* Runs the relay's code in fn as the process would, until done or killed. */
#define RELAY(call, killed)                                                                        \
	do {                                                                                       \
		jmp_buf jb_;                                                                       \
		if (setjmp(jb_)) {                                                                 \
			killed;                                                                    \
		} else {                                                                           \
			P.jump = &jb_;                                                             \
			cuts_arm(true, die);                                                       \
			call;                                                                      \
			cuts_arm(false, NULL);                                                     \
			P.jump = NULL;                                                             \
		}                                                                                  \
	} while (0)

static void restart(void);

/* A start's relay (see crash-keep.c). */
static void relay_start(size_t line_max) {
	struct relay_config rc = {.line_max = line_max, .default_priority = DEFAULT_PRIORITY};

	keep_relay_start(&P.relay, &rc);
}

static int find(uint64_t ino, void *data) {
	(void)data;
	for (unsigned i = 0; i < P.n_prod; i++)
		if (P.prod[i].fd >= 0 && P.prod[i].in.lc.ino == ino)
			return P.prod[i].fd;
	return -1;
}

static size_t staged(struct producer *p) {
	char *data;
	return p->in.ledger ? ledger_staged(P.ledger, &p->in.lc, &data) : 0;
}

static size_t queued(int fd) {
	int n = 0;
	CHECK(ioctl(fd, FIONREAD, &n) == 0);
	return (size_t)n;
}

static void used(size_t line_max) {
	for (size_t i = 0; i < P.n_line_maxes; i++)
		if (P.line_maxes[i] == line_max)
			return;
	P.line_maxes[P.n_line_maxes++] = line_max;
}

/* A peek offset left set moves every later MSG_PEEK read. */
static void no_peek_offset(struct producer *p, const char *when) {
	int off = 0;
	socklen_t len = sizeof(off);

	/* Unset when last seen, and not set since: a getsockopt() per job was 5% of a run. */
	if (p->keep < 0 || p->peek_unset == cuts_peek_sets())
		return;
	CHECK(getsockopt(p->keep, SOL_SOCKET, SO_PEEK_OFF, &off, &len) == 0);
	if (off == -1) {
		p->peek_unset = cuts_peek_sets();
		return;
	}
	fprintf(stderr,
		"fuzz-crash: SO_PEEK_OFF left at %d %s: later peeks skip bytes\n  killed:%s\n", off,
		when, cuts_kills());
	abort();
}

/* A job that fails on a healthy socket hangs up on its producer: what it staged is lost. */
static void failed(int r) {
	if (r >= 0)
		return;
	fprintf(stderr, "fuzz-crash: reading a healthy producer failed: %s\n  killed:%s\n",
		strerror(-r), cuts_kills());
	abort();
}

/* A start: the ledger is adopted, the kept connections come back, recovery runs. */
static void start(void) {
	size_t line_max, budget;

	P.starts++;

	config(P.next_config, &line_max, &budget);
	used(line_max);
	P.line_max_min = line_max < P.line_max_min ? line_max : P.line_max_min;
	P.budget_min = budget < P.budget_min ? budget : P.budget_min;
	relay_start(line_max);
	int fd = dup(P.memfd);
	CHECK(fd >= 0);
	CHECK(ledger_adopt(fd, budget, &P.ledger) == 0);
	for (unsigned i = 0; i < P.n_prod; i++) {
		struct producer *p = &P.prod[i];
		if (p->keep < 0)
			continue;
		CHECK((p->fd = dup(p->keep)) >= 0);
		stream_in_init(&p->in, p->fd, P.syslog);
		CHECK(stream_in_ledger(&p->in, P.ledger) == 0);
	}
	cuts_schedule(P.starts < STARTS_MAX ? P.recover_kill : 0);
	P.recover_kill = 0;
	RELAY(CHECK(ledger_recover(P.ledger, find, journal_lookup, NULL) >= 0), restart());
	for (unsigned i = 0; i < P.n_prod; i++)
		no_peek_offset(&P.prod[i], "after recovery");
}

/* The process is gone (kill -9, or an exit at restart): the kernel frees what it had. */
static void restart(void) {
	for (unsigned i = 0; i < P.n_prod; i++) {
		struct producer *p = &P.prod[i];
		if (p->fd >= 0)
			close(p->fd);
		p->fd = -1;
		stream_in_done(&p->in);
	}
	keep_relay_stop(&P.relay);
	ledger_free(P.ledger);
	P.ledger = NULL;
	start();
}

/* One job on p's connection; returns its result, or -EINTR when the process was killed in it. */
static int step(struct producer *p) {
	struct journal_sink js;
	struct line_sink *sink = journal_sink_init(&js, &p->origin, DEFAULT_PRIORITY);
	volatile int r = -EINTR;

	if (p->in.ledger)
		js.tag = &p->in.lc.tag_iov;
	RELAY(r = stream_read(&p->in, &P.relay, sink), restart());
	if (r == -EINTR)
		return r;
	failed(r); /* the socket is healthy */
	no_peek_offset(p, "after a job");
	if (r == READ_END) {
		CHECK(p->shut);
		p->ended = true;
		close(p->fd);
		close(p->keep);
		p->fd = p->keep = -1;
	}
	return r;
}

/* Reads p until the relay has nothing to do; a relay that loops on bytes it leaves is a bug. */
static void settle(struct producer *p) {
	for (unsigned spins = 0; !p->ended;) {
		size_t q = queued(p->keep), s = staged(p), n = journal_count();
		if (q == 0 && !p->shut)
			return;
		unsigned refused = journal_refused();
		uint64_t taken = P.relay.stats.bytes; /* what it takes from the socket, counted */
		int r = step(p);
		if (r == -EINTR || p->ended || P.relay.stats.bytes != taken || staged(p) != s ||
		    journal_count() != n || journal_refused() != refused)
			spins = 0;
		else if (++spins == SPIN_MAX) {
			/* Bytes wait, and the relay does nothing with them: poll() would spin. */
			fprintf(stderr,
				"fuzz-crash: %u reads in a row did nothing (read: %d, %zu bytes in "
				"the "
				"socket, %zu staged)\n  killed:%s\n",
				spins, r, q, s, cuts_kills());
			abort();
		}
	}
}

/* Whether p may write n more bytes holding t terminators. */
static bool room(const struct producer *p, size_t n, size_t t) {
	size_t max = PIECES_MAX * P.line_max_min < WRITTEN_MAX ? PIECES_MAX * P.line_max_min
							       : WRITTEN_MAX;

	return p->len + n <= max && p->terminators + t <= TERMINATORS_MAX;
}

/* Writes b[0..n), which holds t terminators; one beyond the bounds is not made. */
static void produce_t(struct producer *p, const uint8_t *b, size_t n, size_t t) {
	if (n == 0 || p->shut || !room(p, n, t))
		return;
	p->terminators += t;
	if (p->cap < p->len + n) {
		p->cap = (p->len + n) * 2;
		CHECK((p->bytes = realloc(p->bytes, p->cap)));
	}
	while (n > 0) {
		ssize_t k = send(p->write, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0) {
			CHECK(errno == EAGAIN);
			settle(p);
			continue;
		}
		/* Counted as sent: a restart in settle() must see only these. */
		memcpy(p->bytes + p->len, b, (size_t)k);
		p->len += (size_t)k;
		if (p->n_ends == p->cap_ends) {
			p->cap_ends = p->cap_ends ? p->cap_ends * 2 : 64;
			CHECK((p->ends = realloc(p->ends, p->cap_ends * sizeof(*p->ends))));
		}
		p->ends[p->n_ends++] = p->len;
		b += k;
		n -= (size_t)k;
	}
}

static void produce(struct producer *p, const uint8_t *b, size_t n) {
	size_t t = 0;

	for (size_t i = 0; i < n; i++)
		t += b[i] == '\n' || b[i] == 0;
	produce_t(p, b, n, t);
}

/* A restart as at SIGUSR1: what producers sent is read, unfinished lines stay staged. */
static void drain_restart(void) {
	for (unsigned i = 0; i < P.n_prod; i++) {
		struct producer *p = &P.prod[i];
		struct journal_sink js;
		struct line_sink *sink = journal_sink_init(&js, &p->origin, DEFAULT_PRIORITY);
		volatile int r = 0;
		if (p->fd < 0)
			continue;
		if (p->in.ledger)
			js.tag = &p->in.lc.tag_iov;
		RELAY(r = stream_drain(&p->in, &P.relay, sink, true), {
			restart();
			return;
		});
		failed(r);
	}
	restart();
}

/* n copies of c, and t terminators more, written; one that produce_t() would drop is not made. */
static void produce_run(struct producer *p, uint8_t c, size_t n, size_t t) {
	t += c == '\n' || c == 0 ? n : 0;
	if (n == 0 || p->shut || !room(p, n, t))
		return;
	produce_t(p, keep_run(c, n, WRITTEN_MAX), n, t);
}

struct input {
	const uint8_t *p, *end;
};

static uint8_t next(struct input *in) {
	return in->p < in->end ? *in->p++ : 0;
}

/* An octet-counted syslog message: "LEN <PRI>" and LEN - 3 or 4 bytes of c. */
static void octet_counted(struct producer *p, struct input *in, unsigned shift) {
	uint8_t c = next(in), prio = next(in) % 192;
	size_t len = ((size_t)next(in) + 8) << (shift % 6); /* at most 8416 */
	char head[32];
	int h = snprintf(head, sizeof(head), "%zu <%u>", len, prio);
	size_t body = len - (size_t)(h - (int)(strchr(head, ' ') - head) - 1);

	produce(p, (const uint8_t *)head, (size_t)h);
	produce_run(p, c, body, 1); /* a message, whatever c is */
}

static void operate(struct input *in) {
	uint8_t op = next(in), arg = op >> 4;
	struct producer *p = &P.prod[(op >> 3 & 1) % P.n_prod];

	switch (op & 7) {
	case 0: { /* write: LEN, then LEN bytes */
		size_t n = next(in);
		n = n < (size_t)(in->end - in->p) ? n : (size_t)(in->end - in->p);
		produce(p, in->p, n);
		in->p += n;
		break;
	}
	case 1: { /* write (N + 1) << (arg % 6) copies of byte C (8 KiB at most): C, N */
		uint8_t c = next(in);
		size_t n = ((size_t)next(in) + 1) << (arg % 6);
		produce_run(p, c, n, 0);
		break;
	}
	case 2: /* arg + 1 jobs; after the first, one on an empty socket left open does nothing */
		for (unsigned i = 0; i <= arg && !p->ended; i++)
			if ((i > 0 && !p->shut && queued(p->keep) == 0) || step(p) == -EINTR)
				break;
		break;
	case 3: /* journald refuses the next arg + 1 entries */ journal_refuse(arg + 1u); break;
	case 4: /* a kill at the AT-th cut from now (arg: high bits), then a start with CONFIG whose
		   recovery is killed at RK (0: not): AT, CONFIG, RK */
		cuts_schedule(1u + next(in) + ((unsigned)arg << 8));
		P.next_config = next(in);
		P.recover_kill = next(in);
		if (P.starts >= STARTS_MAX)
			cuts_schedule(0);
		break;
	case 5: /* an octet-counted message: C, PRI, N */ octet_counted(p, in, arg); break;
	case 6: settle(p); break;
	case 7: /* a restart after a drain: CONFIG */
		P.next_config = next(in);
		if (P.starts < STARTS_MAX)
			drain_restart();
		break;
	}
}

static void setup(const uint8_t *data, size_t size) {
	P = (struct process){.syslog = data[0] & 1,
			     .n_prod = 1u + (data[0] >> 1 & 1),
			     .n_slots = 1u + (data[0] >> 2 & 3),
			     .line_max_min = SIZE_MAX,
			     .budget_min = SIZE_MAX};
	if (P.n_slots < P.n_prod)
		P.n_slots = P.n_prod;
	journal_reset();
	size_t line_max, budget;
	config(data[1], &line_max, &budget);
	used(line_max);
	P.line_max_min = line_max;
	P.budget_min = budget;
	relay_start(line_max);
	/*
	 * As server.c's ledger_start(): a slot per connection, sized for a line
	 * of line_max bytes with its prefix and terminator; later starts keep it.
	 */
	P.slot_holds = line_max + FRAME_SLACK;
	CHECK(ledger_new(P.n_slots, ledger_slot_size(line_max), budget, &P.ledger) == 0);
	CHECK((P.memfd = dup(ledger_fd(P.ledger))) >= 0);
	for (unsigned i = 0; i < P.n_prod; i++) {
		struct producer *p = &P.prod[i];
		int sv[2];
		CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
		*p = (struct producer){.keep = sv[0],
				       .write = sv[1],
				       .bytes = keep_written(i, WRITTEN_MAX),
				       .cap = WRITTEN_MAX};
		CHECK((p->fd = dup(p->keep)) >= 0);
		origin_init(&p->origin, 4000 + (pid_t)i, 1000, 1000, "fuzz", ORIGIN_STREAM);
		stream_in_init(&p->in, p->fd, P.syslog);
		CHECK(stream_in_ledger(&p->in, P.ledger) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	struct input in = {data + 2, data + size};

	if (size < 2)
		return 0;
	setup(data, size);
	for (unsigned n = 0; n < OPERATIONS_MAX && in.p < in.end; n++)
		operate(&in);
	/* The producers close; the relay reads to the end, whatever kills are still due. */
	for (unsigned i = 0; i < P.n_prod; i++) {
		CHECK(shutdown(P.prod[i].write, SHUT_WR) == 0);
		P.prod[i].shut = true;
	}
	for (unsigned i = 0; i < P.n_prod; i++)
		settle(&P.prod[i]);
	cuts_schedule(0);
	CHECK(ledger_staged_total(P.ledger) == 0);
	for (unsigned i = 0; i < P.n_prod; i++) {
		struct producer *p = &P.prod[i];
		struct expect_stream want = {
			.bytes = p->bytes,
			.len = p->len,
			.syslog = P.syslog,
			.ino = p->in.lc.ino,
			.line_max_min = P.line_max_min,
			.budget_min = P.n_prod == 1 ? P.budget_min : 0,
			.slot_size = P.slot_holds,
			.line_maxes = P.line_maxes,
			.n_line_maxes = P.n_line_maxes,
			.ends = p->ends,
			.n_ends = p->n_ends,
		};
		journal_expect(&want);
	}
	journal_check_all_claimed();
	keep_relay_stop(&P.relay);
	ledger_free(P.ledger);
	close(P.memfd);
	for (unsigned i = 0; i < P.n_prod; i++) {
		close(P.prod[i].write);
		free(P.prod[i].ends); /* the bytes' buffer is kept for the next input (written()) */
	}
	journal_reset(); /* as many frees as mallocs (see journal_reset()) */
	return 0;
}
