/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/*
 * Syslog headers as the syslog clients people already have write them: the
 * "<PRI>" of RFC 3164 and RFC 5424, the RFC 3164 date and "TAG[PID]: ", and
 * the whole RFC 5424 header. A pure parser over one message's bytes: no
 * allocation, and the spans it gives point into the caller's buffer. (Not
 * named syslog.h: that is the C library's header, which must stay visible.)
 *
 * What counts as what (see mpsr(7)):
 * - No '<' first, or an invalid "<...>" (not 0..191, a leading zero, more than
 *   three digits): no header, the message is text as it is.
 * - "<PRI>1 " and a complete RFC 5424 header: priority, facility and the
 *   header's fields; a UTF-8 BOM right before MSG is dropped.
 * - PRI 0..7 with neither an RFC 5424 header nor an RFC 3164 date after it is
 *   the sd-daemon convention "<N>": priority only, the rest verbatim, no
 *   identifier and no facility. So "<4>disk: full" stays "disk: full".
 * - Otherwise RFC 3164 as journald reads it: priority and facility, the date
 *   "Mmm dd hh:mm:ss " (month in any case; for PRI 8 and above an RFC 3339
 *   timestamp too, as relays write it), then an identifier if the next
 *   whitespace-free token ends in ':', "TAG:" or "TAG[PID]:", and one blank
 *   after it. One addition: right after a date, "HOSTNAME TAG:" (a first
 *   word that neither ends in ':' nor holds '[', one space, then a tag) is a
 *   hostname and a tag, as relays and daemons send them.
 */

/* Bytes of the caller's buffer; len 0 (and p NULL) when absent. */
struct span {
	const char *p;
	size_t len;
};

/* The fields a header may give besides priority and facility. */
struct syslog_fields {
	struct span ident;     /* RFC 3164 TAG, RFC 5424 APP-NAME */
	struct span pid;       /* claimed process id: digits only, else absent */
	struct span timestamp; /* RFC 3164 "Mmm dd hh:mm:ss", RFC 5424 TIMESTAMP */
	struct span hostname;  /* RFC 5424 HOSTNAME, RFC 3164 HOSTNAME before a tag */
	struct span msgid;     /* RFC 5424 MSGID */
	struct span sd;        /* RFC 5424 STRUCTURED-DATA, verbatim ("[id k=\"v\"]...") */
};

struct syslog_header {
	int priority; /* 0..7, or -1 when none */
	int facility; /* 0..23, or -1 when none (and for "<N>", N 0..7, alone) */
	struct syslog_fields fields;
	size_t text; /* offset of the message text in the buffer; 0 without a header */
};

/* The longest "<PRI>": what a caller must see to know whether one is there. */
#define SYSLOG_PRI_MAX 5

/*
 * Parses the header at the start of buf[0..len), one whole message (for a
 * datagram: without its trailing '\n'). Always fills *h; buf need not be
 * NUL-terminated and may hold any bytes.
 */
void syslog_parse(const char *buf, size_t len, struct syslog_header *h);

/*
 * The length of buf[0..len) without its trailing blanks (' ', '\t', '\n',
 * '\r'), never below from: how journald ends a syslog message's text.
 * Inline: the stream framing asks for every line with a header.
 */
static inline size_t syslog_trim(const char *buf, size_t from, size_t len) {
	/* The first test alone turns away all but control characters and blanks. */
	while (len > from && (unsigned char)buf[len - 1] <= ' ' &&
	       (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\n' ||
		buf[len - 1] == '\r'))
		len--;
	return len;
}

/*
 * A whole message as journald reads one: with a "<PRI>" (or "<N>"), its
 * trailing blanks are dropped first, then the header is read; without one it
 * is text as it is. Returns the message's length without those blanks.
 * Inline, like syslog_trim(): the header path's cost is counted per line.
 */
static inline size_t syslog_parse_message(const char *buf, size_t len, struct syslog_header *h) {
	syslog_parse(buf, len, h);
	if (h->priority < 0)
		return len;
	/* Blanks cannot reach into "<PRI>": the priority stays, the rest is read again. */
	size_t n = syslog_trim(buf, 0, len);
	if (n < len)
		syslog_parse(buf, n, h);
	return n;
}

/*
 * Length of a valid "<PRI>" at buf (PRI 0..191, no leading zero), setting
 * *pri; 0 when there is none.
 */
size_t syslog_pri(const char *buf, size_t len, int *pri);
