/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "frame.h"

/*
 * Exactly once across a crash, and unfinished lines kept whole: what the
 * writer has sent to journald, what it has taken from each producer's
 * socket, and the unfinished lines it took out, kept in a memfd that the
 * service manager's fd store holds, so that they outlive a kill -9.
 *
 * THE CRASH PROTOCOL. One writer thread, one job (one stream connection C)
 * at a time; a kill -9 may stop it between any two stores, which the memfd
 * keeps in their order (publish(), ledger-int.h). A job's positions count
 * C's staged bytes first, then the bytes in its socket.
 *
 *  1. begin (ledger_begin): C has a slot (it claims a free one if it has
 *     none: there are no more accounts than slots, ledger_conn_init());
 *     writing, confirmed, last, take = 0; carried = C's staged length;
 *     frame_begin = C's framing state; then ino = C.
 *     Invariant: ino != 0 says the rest of the record is this job's.
 *  2. send (ledger_sending): frame[p] = the framing state after the entry
 *     (p: its parity; frame[!p] stays that of the last confirmed entry);
 *     tag = ID.GEN.INODE.CONN.p; then writing = its end + 1.
 *     Invariant: at most one entry is in doubt, the one writing names.
 *  3. confirm (ledger_sent): if journald took it, confirmed = its end, last =
 *     p + 1; then writing = 0 (refused: writing = 0 only, and the same
 *     entry, same parity, is sent again).
 *     Invariant: journald has every entry of the job ending at or before
 *     confirmed; with writing 0, frame[last - 1] is the state there.
 *  4. take (ledger_take, ledger_take_marked()): take = TAKEN << 32 | n; the
 *     socket's SO_PEEK_OFF = n (the kernel lowers it in the same step as each
 *     recv() takes bytes); recv(); take = (TAKEN + got) << 32; SO_PEEK_OFF =
 *     -1. Only bytes of confirmed entries are taken (and the second byte of a
 *     "\n\0" the framing drops). Invariant: TAKEN + the peek offset's
 *     count-down is what left the socket, whenever the kill came.
 *  5. end (ledger_end): if carried > 0 and confirmed >= carried, C's slot is
 *     emptied (its line is in the journal); C's slot gets C's framing state;
 *     then ino = 0. Invariant: a slot holds bytes out of C's socket that are
 *     in no entry, and the framing state at its first byte.
 *  6. stage (ledger_stage), between jobs: the slot names C (ino) before it
 *     holds anything; its state = LEN << 32 | n, SO_PEEK_OFF = n, recv() into
 *     the slot, state = (LEN + got) << 32, SO_PEEK_OFF = -1, as in 4.
 *
 * PACKETS (ledger-packet.c): a record (one seqpacket connection S) or a
 * datagram (one datagram socket S) is one entry, peeked whole, sent, then
 * taken out of S (a recv() of 0 bytes takes the packet at S's head). The same
 * writer thread sends them, between stream jobs: with no job under way (ino
 * == 0), in an area of their own (packet):
 *
 *  P1. send (ledger_packet_sending): packet.len = its length, packet.tag =
 *     ID.GEN.INODE.CONN.p (S's inode and number, the parity of S's entry
 *     count), packet.uid, packet.state = SENDING; then packet.ino = S.
 *     Invariant: packet.ino != 0 says the packet at S's head is the one the
 *     tag names, and nothing was taken out of S since it was peeked; at most
 *     one entry is in doubt in the whole record (job ino and packet.ino are
 *     never both set).
 *  P2. refused (ledger_packet_refused): packet.ino = 0; the packet stays at
 *     S's head and is sent again, same parity.
 *  P3. take (ledger_packet_take), journald took it: packet.state = TAKING;
 *     S's SO_PEEK_OFF = len + 1; recv() takes the packet (the kernel lowers
 *     the offset by its length in the same step); packet.state = TAKEN;
 *     SO_PEEK_OFF = -1; then packet.ino = 0. An empty packet (which does not
 *     move the offset), or a socket that refuses the mark, gets state =
 *     TAKEN before its recv() instead. Invariant: with TAKING, the packet
 *     left S exactly if S's peek offset is set and below len + 1.
 *
 * AFTER A CRASH (ledger_recover, at start, before any read): every slot's
 * take under way is settled by its socket's peek offset, and every peek
 * offset is reset (a kill between the last two stores of 4 or 6 leaves one
 * set); the job (ino != 0): its take is settled; an entry in doubt is looked
 * up in the journal (mpsrd waits until journald processed all it was sent,
 * then reads C's last entry of that ledger and generation: if its parity is
 * the one in doubt, the entry is there); the bytes of confirmed entries not
 * yet taken are taken; carried bytes now stored leave the slot; the framing
 * state at confirmed goes to C's slot (a message's start if the dropped
 * second byte of a terminator left the socket too). Slots of connections
 * without an account are handed over (ledger_recover_with()) or freed.
 *
 * The packet in doubt (ledger_recover_packet, at start, before anything is
 * read from S, and before the job's recovery; at most one of them has an
 * entry in doubt): SENDING: journald is asked as for a stream entry; if it has
 * the entry, the packet at S's head (of length len) is taken as in P3, else
 * it stays and is written again; TAKING: taken as in P3 unless S's peek
 * offset shows it left S already; TAKEN: nothing (an empty packet whose
 * take a kill cut short is then written twice). S's peek offset is reset,
 * then packet.ino = 0.
 *
 * The tag's ID is random, made with the ledger: no other ledger's entries
 * (another boot, another host) carry it. CONN numbers the connections of a
 * generation: a socket inode reused by a new connection within one
 * generation does not let a closed connection's last entry answer for the
 * new connection's first.
 *
 * One writer thread uses it, one job at a time; the rest runs at start,
 * before that thread gets any job. The parts: ledger-record.c (the shared
 * record's format), ledger-slots.c (the slot allocator), ledger-take.c (steps
 * 1 to 6), ledger-recover.c (after a crash), ledger-packet.c (P1 to P3 and
 * their recovery), ledger-upgrade.c (the layouts before this one).
 */

#define LEDGER_NAME    "ledger"       /* its FDNAME= in the fd store */
#define LEDGER_FIELD   "MPSR_LEDGER=" /* the tag's field */
#define LEDGER_TAG_MAX 80
/* What an adopted record may claim: more is a damaged or foreign memfd. */
#define LEDGER_SLOTS_LIMIT     (1U << 20)
#define LEDGER_SLOT_SIZE_LIMIT (1U << 25) /* above --line-max's 16 MiB and its slack */

/*
 * A connection's framing state (frame.h's struct frame_state) as the ledger
 * keeps it: what a restart must not forget in the middle of a message (the
 * priority and header of a split line, the rest of an octet count, the first
 * half of a "\n\0" terminator).
 */
struct ledger_frame {
	uint8_t set; /* 0: the next byte starts a message, nothing to keep */
	uint8_t mid_line;
	uint8_t ended;
	uint8_t ident_len;
	uint8_t pid_len;
	int8_t priority;
	int8_t facility;
	uint8_t reserved;
	uint64_t counted;
	char ident[FRAME_IDENT_MAX];
	char pid[16];
};

/* The packet being sent (P1 to P3), in the record. */
enum {
	LEDGER_PACKET_SENDING = 0, /* journald may or may not have it */
	LEDGER_PACKET_TAKING = 1,  /* journald has it; it leaves its socket under a peek mark */
	LEDGER_PACKET_TAKEN = 2,   /* it left its socket */
};

struct ledger_packet {
	uint64_t ino;   /* its socket's inode (a record connection, a datagram socket), or 0 */
	uint64_t len;   /* its length */
	uint64_t state; /* LEDGER_PACKET_* */
	uint32_t uid;   /* the effective uid of the process that sent it */
	uint32_t reserved;
	char tag[LEDGER_TAG_MAX]; /* LEDGER_FIELD "ID.GEN.INODE.CONN.PARITY" */
};

/* The record as it lies in shared memory: written by the writer, read at recovery. */
struct ledger_record {
	uint32_t magic;
	uint32_t gen; /* of the process using it; one more at each start */
	uint32_t n_slots;
	uint32_t slot_size; /* bytes of an unfinished line a slot holds */
	/*
	 * Random, made with the ledger and kept with it: its tags name it, so
	 * that another ledger's entries (an earlier boot's, another host's) never
	 * match them.
	 */
	uint64_t id;
	uint32_t uid; /* the effective uid of the process that sent the entry tagged tag */
	uint32_t reserved;
	/* The connection whose job is under way (its socket's inode), or 0. */
	uint64_t ino;
	uint64_t carried; /* its staged bytes when the job started: positions count them first */
	/*
	 * Bytes taken from its socket in this job (high 32 bits), and a take of
	 * this many bytes under way (low 32 bits), in one word: a crash sees both
	 * or neither change.
	 */
	uint64_t take;
	uint64_t confirmed; /* journald has the entries made of the first this many bytes */
	uint64_t writing;   /* an entry is being sent: the position it ends at, plus one; or 0 */
	uint64_t last;      /* the parity of the job's last confirmed entry, plus one; or 0 */
	struct ledger_frame frame_begin; /* the framing state at the job's start */
	struct ledger_frame frame[2];    /* after the job's last entry of each parity */
	char tag[LEDGER_TAG_MAX]; /* the entry being sent: LEDGER_FIELD "ID.GEN.INODE.CONN.PARITY"
				   */
	struct ledger_packet packet; /* a record or datagram being sent, between jobs */
};

/*
 * A slot: whose unfinished line it holds, how long it is (high 32 bits) with
 * a take under way (low 32 bits), and the framing state at its first byte.
 */
struct ledger_slot {
	uint64_t ino;
	uint64_t state;
	struct ledger_frame frame;
};

struct ledger;

/*
 * A ledger of its own (a new memfd) with n_slots slots of slot_size bytes,
 * or one kept from before: fd, taken on success and still the caller's on
 * failure. An adopted ledger keeps its slots as they were (their count and
 * size too, whatever the options say now: a staged line may be longer than
 * --line-max), after checking them against the memfd's size; the generation
 * goes up. budget: the most bytes staged in all slots at once (an adopted
 * ledger may hold more; nothing is staged then until it is below).
 */
/*
 * The slot size for lines of line_max bytes: an octet count's prefix before
 * the line and a terminator's NUL after it fit too, so a line that is all
 * there is still fits in one piece.
 */
size_t ledger_slot_size(size_t line_max);

int ledger_new(unsigned n_slots, size_t slot_size, size_t budget, struct ledger **ret);
int ledger_adopt(int fd, size_t budget, struct ledger **ret);
void ledger_free(struct ledger *l);

/* The memfd, to keep in the fd store. */
int ledger_fd(const struct ledger *l);
struct ledger_record *ledger_record(struct ledger *l);
uint64_t ledger_staged_total(const struct ledger *l);

/*
 * A connection's side: its inode, its count of entries, its tag, its slot.
 * The tag is LEDGER_FIELD "ID.GEN.INODE.CONN.PARITY": the ledger's id (16
 * hex digits), the generation, the socket's inode, the connection's number
 * in this generation (inodes are reused), the parity of the entry's number
 * on this connection.
 */
struct ledger_conn {
	uint64_t ino;
	uint64_t entries;
	int slot;     /* -1: none (nothing staged, no framing state kept) */
	bool resumed; /* its framing state was read back from its slot (first job) */
	bool account; /* it holds one of the ledger's accounts (one per slot) */
	char tag[LEDGER_TAG_MAX];
	struct iovec tag_iov; /* the next entry's tag field */
};

/*
 * Returns 0, or a negative errno when fd cannot be told apart or when every
 * slot has an account already (-ENOSPC): then it goes without a ledger. A
 * connection kept from before gets back its slot.
 */
int ledger_conn_init(struct ledger_conn *lc, struct ledger *l, int fd);

/* The connection is over: its slot is free again, and its account another's. */
void ledger_conn_done(struct ledger *l, struct ledger_conn *lc);

/* The unfinished line staged for lc: its length, and its bytes in *data. */
size_t ledger_staged(struct ledger *l, const struct ledger_conn *lc, char **data);

/*
 * Whether n more bytes fit after `keep` bytes of what lc has staged now (all
 * or none of it: what it does not keep is in the journal and is dropped).
 */
bool ledger_can_stage(const struct ledger *l, const struct ledger_conn *lc, size_t keep, size_t n);

/*
 * Takes the next n bytes out of fd and appends them to lc's staged line
 * (fd's bytes go there directly). Returns the bytes staged, -ENOSPC when the
 * budget or the slot has no room for them (nothing was taken), or another
 * negative errno.
 */
ssize_t ledger_stage(struct ledger *l, struct ledger_conn *lc, int fd, size_t n);
/*
 * As ledger_stage(), whatever the budget: for the start of a message that
 * cannot be told from text yet (frame_undecided(): at most FRAME_SLACK
 * bytes, those staged included), which a cut would make text of.
 */
ssize_t ledger_stage_start(struct ledger *l, struct ledger_conn *lc, int fd, size_t n);

/*
 * A job on lc's connection starts; positions count its staged bytes, then
 * its socket's. fs: the connection's framing state; on a kept connection's
 * first job it is set to what the last process left (NULL: a line starts).
 */
void ledger_begin(struct ledger *l, struct ledger_conn *lc, struct frame_state *fs);
/*
 * The job is over, all it stored taken out: a staged line now in the journal
 * is dropped, and fs (the state at the first byte not stored) is kept.
 */
void ledger_end(struct ledger *l, struct ledger_conn *lc, const struct frame_state *fs);

/*
 * An entry made of the job's bytes up to position end is about to be sent;
 * after: the framing state once it is stored (NULL: a line starts).
 */
void ledger_sending(struct ledger *l, struct ledger_conn *lc, uint64_t end,
		    const struct frame_state *after);
/* It was sent (sent: journald has it) or refused. */
void ledger_sent(struct ledger *l, struct ledger_conn *lc, bool sent);

/*
 * Takes n bytes out of fd, into buf, marked so that a crash midway shows how
 * many left. Returns the bytes taken, or a negative errno.
 */
ssize_t ledger_take(struct ledger *l, int fd, void *buf, size_t n);

/* Whether journald has an entry tagged tag: 1, 0, or a negative errno when it cannot be told. */
typedef int (*ledger_lookup_fn)(const char *tag, void *data);

/* Finds a kept stream connection by its socket's inode: its fd, or -1. */
typedef int (*ledger_find_fn)(uint64_t ino, void *data);

/*
 * At start, once the kept connections are back and before any is read:
 * finishes what a crash cut short (the job under way, a take into a slot),
 * resets the peek offset of every connection it finds, and frees the slots
 * of connections that have no account (see ledger_recover_with()). Returns the
 * bytes taken out of the job's socket because journald had them already,
 * or a negative errno.
 */
ssize_t ledger_recover(struct ledger *l, ledger_find_fn find, ledger_lookup_fn lookup, void *data);

/*
 * The bytes staged for a kept connection that came back without an account
 * (ledger_conn_init() not called for it, or failed): its fd's owner keeps
 * them (in memory) from now on. Returns 0 or a negative errno.
 */
typedef int (*ledger_hand_over_fn)(uint64_t ino, const char *bytes, size_t len, void *data);

struct ledger_hooks {
	ledger_find_fn find;
	ledger_lookup_fn lookup;
	ledger_hand_over_fn hand_over; /* or NULL: such bytes are dropped */
	void *data;
};

/* ledger_recover(), with staged bytes handed over rather than dropped. */
ssize_t ledger_recover_with(struct ledger *l, const struct ledger_hooks *h);

/*
 * A packet socket's account (a record connection, or a datagram socket): its
 * inode, its count of entries, its tag. It has no slot: a packet is whole.
 */
struct ledger_source {
	uint64_t ino;
	uint64_t entries;
	char tag[LEDGER_TAG_MAX];
	struct iovec tag_iov; /* the next entry's tag field */
};

/* On the loop's thread, as ledger_conn_init(). Returns 0 or a negative errno (fstat()). */
int ledger_source_init(struct ledger_source *src, struct ledger *l, int fd);

/* P1: the packet at the head of src's socket, len bytes, is about to be sent. */
void ledger_packet_sending(struct ledger *l, struct ledger_source *src, size_t len);
/* P2: journald refused it; it stays in the socket. */
void ledger_packet_refused(struct ledger *l, struct ledger_source *src);
/* P3: journald took it: it is taken out of fd, marked. Returns 0 or a negative errno. */
int ledger_packet_take(struct ledger *l, struct ledger_source *src, int fd);

/*
 * At start, once the kept connections and the datagram sockets are back and
 * before any is read: settles the packet that was being sent at a crash.
 * find: a record connection or datagram socket by its inode. Returns 1 when
 * journald had it and it was taken out now, 0 when there was nothing to do
 * or it stays in its socket (to be written again), or a negative errno.
 */
int ledger_recover_packet(struct ledger *l, ledger_find_fn find, ledger_lookup_fn lookup,
			  void *data);
