/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "journal.h"
#include "packet.h"
#include "record.h"

#define PACKET_BUF_MIN (64 * 1024)
#define LIMITED        1 /* an entry the producer's limit held back (line_gate) */

static int pkt_reserve(struct relay *r, size_t n) {
	size_t want = JOURNAL_HEADROOM + (n < PACKET_BUF_MIN ? PACKET_BUF_MIN : n) + 1;

	if (want <= r->pkt_size)
		return 0;
	char *p = realloc(r->pkt, want);
	if (!p)
		return -ENOMEM;
	r->pkt = p;
	r->pkt_size = want;
	return 0;
}

/*
 * Peeks at the next packet whole, growing the buffer if it is larger than any
 * before. Returns its length, or a negative errno (-EAGAIN: none queued).
 */
static ssize_t pkt_peek(struct relay *r, int fd, struct ucred *cred) {
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;

	for (;;) {
		int k = pkt_reserve(r, 0);
		if (k < 0)
			return k;
		struct iovec iov = {r->pkt + JOURNAL_HEADROOM, r->pkt_size - JOURNAL_HEADROOM - 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (cred) {
			mh.msg_control = &ctl;
			mh.msg_controllen = sizeof(ctl);
		}
		ssize_t n =
			recvmsg(fd, &mh, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0)
			return -errno;
		if ((size_t)n > iov.iov_len) {
			if ((k = pkt_reserve(r, (size_t)n)) < 0)
				return k;
			continue;
		}
		if (cred) {
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			*cred = (struct ucred){0, (uid_t)-1, (gid_t)-1};
			if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS)
				memcpy(cred, CMSG_DATA(cm), sizeof(*cred));
		}
		return n;
	}
}

/*
 * A datagram is one message, with a syslog header or a "<N>" prefix
 * (syslog-header.h); its terminator, if a client sent one (NUL, '\n' or
 * "\r\n", or NUL and one of those), is dropped, and so are the trailing
 * blanks of a message with a header, as journald drops them.
 */
int packet_ledger_init(struct packet_ledger *pl, struct ledger *l, int fd) {
	int r = ledger_source_init(&pl->src, l, fd);

	pl->ledger = r < 0 ? NULL : l;
	return r;
}

/*
 * Writes the entry of a packet of n bytes. With an account, it carries the
 * tag and is in the ledger while it is sent (P1; P2 if journald refuses it).
 */
static int send_entry(struct relay *r, struct packet_ledger *pl, const struct origin *o,
		      struct journal_msg *m, size_t n) {
	struct ledger *l = pl ? pl->ledger : NULL;

	if (l) {
		ledger_packet_sending(l, &pl->src, n);
		m->tag = &pl->src.tag_iov;
	}
	relay_journal_enter(r);
	int k = journal_write(o, m);
	relay_journal_leave(r);
	if (k < 0 && l)
		ledger_packet_refused(l, &pl->src);
	return k;
}

/* Takes the packet at fd's head out, written (with an account: P3) or not to be written. */
static int take_packet(int fd, struct packet_ledger *pl, struct relay *r, bool written) {
	if (written && pl && pl->ledger)
		return ledger_packet_take(pl->ledger, &pl->src, fd);
	return recv(fd, r->pkt, 0, MSG_DONTWAIT | MSG_TRUNC) < 0 ? -errno : 0;
}

static int datagram_entry(struct relay *r, struct packet_ledger *pl, const struct origin *o,
			  const struct ucred *cred, char *text, size_t len) {
	struct syslog_header h;
	size_t n = len;

	if (len > 0 && text[len - 1] == '\0')
		len--;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > 0 && text[len - 1] == '\r')
		len--;
	len = syslog_parse_message(text, len, &h);
	if (r->gate && !r->gate->admit(r->gate, h.priority, cred))
		return LIMITED;
	struct journal_msg m = {
		.text = text + h.text,
		.len = len - h.text,
		.priority = h.priority >= 0 ? h.priority : r->cfg.default_priority,
		.facility = h.facility,
		.syslog = &h.fields,
	};
	return send_entry(r, pl, o, &m, n);
}

static int record_entry(struct relay *r, struct packet_ledger *pl, const struct origin *o,
			char *buf, size_t len) {
	struct record rec;

	record_parse(buf, len, &rec);
	if (r->gate && !r->gate->admit(r->gate, rec.priority, NULL))
		return LIMITED;
	if (rec.refused) {
		int nl;
		const char *name = origin_name(o, &nl);
		r->stats.refused_fields += rec.refused;
		relay_warn(r, 0, "a record from %.*s had %u field(s) refused", nl, name,
			   rec.refused);
	}
	/*
	 * "MESSAGE=" goes over the 8 bytes in front of the text, which are the end
	 * of the header: move the header's fields out of the way first.
	 */
	_cleanup_(freep) char *hdr = NULL;
	if (rec.text > 0) {
		hdr = malloc(rec.text);
		if (!hdr)
			return -ENOMEM;
		memcpy(hdr, buf, rec.text);
		for (size_t i = 0; i < rec.n_fields; i++)
			rec.fields[i].iov_base = hdr + ((char *)rec.fields[i].iov_base - buf);
	}
	_cleanup_(freep) char *idf = NULL;
	if (rec.identifier.iov_len) {
		idf = strndup(rec.identifier.iov_base, rec.identifier.iov_len);
		if (!idf)
			return -ENOMEM;
	}
	struct journal_msg m = {
		.text = buf + rec.text,
		.len = rec.text_len,
		.priority = rec.priority >= 0 ? rec.priority : r->cfg.default_priority,
		.extra = rec.fields,
		.n_extra = rec.n_fields,
		.identifier_field = idf,
		.facility = -1,
	};
	return send_entry(r, pl, o, &m, len);
}

/*
 * A zero-length read on a seqpacket connection is an empty record or the end
 * of the producer's stream. A shutdown(SHUT_WR) shows only as POLLRDHUP; and
 * the end counts only when no record is still queued behind an empty one.
 */
static bool seqpacket_ended(int fd) {
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};
	int queued = 0;

	if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLRDHUP | POLLHUP)))
		return false;
	return ioctl(fd, FIONREAD, &queued) < 0 || queued == 0;
}

/*
 * Writes the packet peeked into r->pkt, then takes it out of the socket. A
 * record over its producer's limit stays in the socket; a datagram is dropped
 * (its sender's limit counts and reports it): one queue holds every sender's.
 */
static int packet_write(struct relay *r, int fd, struct packet_ledger *pl, const struct origin *o,
			const struct ucred *cred, size_t n) {
	char *text = r->pkt + JOURNAL_HEADROOM;
	int k = !cred ? record_entry(r, pl, o, text, n) : datagram_entry(r, pl, o, cred, text, n);

	if (k == 0) {
		/* Waiting for journald to take mpsrd's earlier entries: journald's time (pace.h).
		 */
		relay_journal_enter(r);
		pace_entry(&r->pace);
		relay_journal_leave(r);
	}
	if (k == LIMITED && !cred)
		return READ_LIMITED;
	if (k == LIMITED) {
		r->stats.over_limit++;
		return (k = take_packet(fd, pl, r, false)) < 0 ? k : READ_MORE;
	}
	if (k < 0) {
		r->stats.journal_errors++;
		relay_warn(r, k, "writing to the journal failed; will retry");
		return READ_RETRY;
	}
	if ((k = take_packet(fd, pl, r, true)) < 0)
		return k;
	r->stats.messages++;
	r->stats.bytes += n;
	return READ_MORE;
}

int packet_read_datagrams(int fd, struct packet_ledger *pl, struct relay *r, unsigned max) {
	for (unsigned i = 0; i < max; i++) {
		struct ucred cred;
		if (!relay_journal_ok(r))
			return READ_RETRY;
		ssize_t n = pkt_peek(r, fd, &cred);
		if (n < 0) {
			if (n != -EAGAIN && n != -EINTR)
				relay_warn(r, (int)n, "reading a datagram");
			return READ_MORE;
		}
		const struct origin *o = origin_cache_get(&r->origins, &cred, now_usec());
		int k = packet_write(r, fd, pl, o, &cred, (size_t)n);
		if (k != READ_MORE)
			return k < 0 ? READ_MORE : k;
	}
	return READ_MORE;
}

int packet_read_records(int fd, const struct origin *o, struct packet_ledger *pl, struct relay *r,
			unsigned max) {
	for (unsigned i = 0; i < max; i++) {
		if (!relay_journal_ok(r))
			return READ_RETRY;
		ssize_t n = pkt_peek(r, fd, NULL);
		if (n == -EAGAIN || n == -EINTR)
			return READ_MORE;
		if (n < 0)
			return (int)n;
		if (n == 0) {
			if (seqpacket_ended(fd))
				return READ_END;
			recv(fd, r->pkt, 0, MSG_DONTWAIT); /* an empty record: nothing to write */
			continue;
		}
		int k = packet_write(r, fd, pl, o, NULL, (size_t)n);
		if (k != READ_MORE)
			return k;
	}
	return READ_MORE;
}
