/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "syslog-header.h"

/* RFC 5424 field limits (section 6). */
#define HOSTNAME_MAX 255
#define APP_NAME_MAX 48
#define PROCID_MAX   128
#define MSGID_MAX    32
#define SD_NAME_MAX  32
/* More digits than any pid_t has are no process id. */
#define PID_DIGITS_MAX 10

static bool is_digit(char c) {
	return c >= '0' && c <= '9';
}

/* journald's notion of whitespace around a tag. */
static bool is_blank(char c) {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static struct span span_of(const char *buf, size_t from, size_t to) {
	return (struct span){buf + from, to - from};
}

static bool all_digits(const char *p, size_t n) {
	for (size_t i = 0; i < n; i++)
		if (!is_digit(p[i]))
			return false;
	return n > 0;
}

size_t syslog_pri(const char *buf, size_t len, int *pri) {
	size_t i = 1;
	int v = 0;

	if (len < 3 || buf[0] != '<')
		return 0;
	/* RFC 5424: no leading zeros, so "<0>" is the only PRI starting with 0. */
	if (buf[1] == '0')
		return len >= 3 && buf[2] == '>' ? (*pri = 0, 3) : 0;
	while (i < len && i <= 3 && is_digit(buf[i]))
		v = v * 10 + (buf[i++] - '0');
	if (i == 1 || i >= len || buf[i] != '>' || v > 191)
		return 0;
	*pri = v;
	return i + 1;
}

/*
 * Field by field: a plain line's whole cost is this, and a struct assignment
 * may become a slow string instruction.
 */
static void clear_fields(struct syslog_fields *f) {
	f->ident = f->pid = f->timestamp = f->hostname = f->msgid = f->sd = (struct span){0};
}

/* ---- RFC 3164 ---- */

/*
 * An English month abbreviation in any case: "Nov", and "NOV" as network
 * devices write it (journald, rsyslog and syslog-ng read both). Every line
 * with a header asks, so one multiplication finds the only month it can be:
 * MONTH_MUL maps the twelve to twelve different slots of sixteen.
 */
#define MONTH(a, b, c) ((uint32_t)(a) << 16 | (uint32_t)(b) << 8 | (uint32_t)(c))
#define MONTH_MUL      0x2c4a3699u
static bool is_month(const char *p) {
	static const uint32_t slots[16] = {
		[0] = MONTH('n', 'o', 'v'),  [1] = MONTH('m', 'a', 'r'),
		[2] = MONTH('s', 'e', 'p'),  [3] = MONTH('j', 'u', 'l'),
		[4] = MONTH('m', 'a', 'y'),  [6] = MONTH('a', 'u', 'g'),
		[7] = MONTH('o', 'c', 't'),  [8] = MONTH('j', 'u', 'n'),
		[11] = MONTH('d', 'e', 'c'), [12] = MONTH('j', 'a', 'n'),
		[14] = MONTH('a', 'p', 'r'), [15] = MONTH('f', 'e', 'b'),
	};
	/* "| 0x20" makes letters lower case and turns no other byte into one. */
	uint32_t m = MONTH((unsigned char)p[0] | 0x20, (unsigned char)p[1] | 0x20,
			   (unsigned char)p[2] | 0x20);

	return slots[(uint32_t)(m * MONTH_MUL) >> 28] == m;
}

/*
 * Length of "Mmm dd hh:mm:ss " at buf[0..len), 16, or 0. Like journald, the
 * first digit of each number may be a space (syslog(3) pads the day so);
 * unlike it, the month must be one: the date is what tells a syslog header
 * from an sd-daemon "<N>" followed by text.
 */
static size_t date_3164(const char *buf, size_t len) {
	static const char shape[] = "Mmm _d _d:_d:_d ";

	if (len < sizeof(shape) - 1 || !is_month(buf))
		return 0;
	for (size_t i = 3; i < sizeof(shape) - 1; i++) {
		char c = buf[i];
		switch (shape[i]) {
		case '_':
			if (c != ' ' && !is_digit(c))
				return 0;
			break;
		case 'd':
			if (!is_digit(c))
				return 0;
			break;
		default:
			if (c != shape[i])
				return 0;
		}
	}
	return sizeof(shape) - 1;
}

/*
 * "TAG:" or "TAG[PID]:" at buf[p..len), as journald finds it: after any
 * blanks, the first blank-free token, if it ends in ':'. The bracketed part
 * is split off only when it is a number or empty ("tag[]:" claims no pid);
 * otherwise it stays part of the identifier ("worker[a]"), so nothing the
 * client wrote is lost. An empty identifier is no identifier. Returns the
 * offset after the tag and one blank, or p when there is no tag.
 */
static size_t tag_3164(const char *buf, size_t len, size_t p, struct syslog_fields *f) {
	size_t q = p, e;

	while (q < len && is_blank(buf[q]))
		q++;
	for (e = q; e < len && !is_blank(buf[e]);)
		e++;
	if (e == q || buf[e - 1] != ':')
		return p;

	size_t end = e - 1; /* the tag is buf[q..end) */
	if (end > q && buf[end - 1] == ']') {
		size_t k = end - 1;
		while (k > q && buf[k] != '[')
			k--;
		size_t n = end - 1 - (k + 1);
		if (buf[k] == '[' && n <= PID_DIGITS_MAX &&
		    (n == 0 || all_digits(buf + k + 1, n))) {
			f->pid = span_of(buf, k + 1, end - 1);
			end = k;
		}
	}
	if (end == q) {
		f->pid = (struct span){0};
		return p;
	}
	f->ident = span_of(buf, q, end);
	return e < len && is_blank(buf[e]) ? e + 1 : e;
}

/*
 * "HOSTNAME TAG:" or "HOSTNAME TAG[PID]:" at buf[p..len), right after an
 * RFC 3164 date: what relays (rsyslog, syslog-ng) and daemons writing their
 * own headers (nginx, network devices) send. A local client's first word is
 * its tag, which ends in ':' (and may hold '['), so a first word that does
 * neither may be a hostname: this returns the offset of the word after it,
 * one space on (where a tag must then be, for the first word to count), or 0.
 */
static size_t hostname_3164(const char *buf, size_t len, size_t p) {
	size_t e = p;

	while (e < len && e - p <= HOSTNAME_MAX && buf[e] > 32 && buf[e] < 127 && buf[e] != '[')
		e++;
	if (e == p || e - p > HOSTNAME_MAX || e + 1 >= len || buf[e] != ' ' || buf[e - 1] == ':' ||
	    is_blank(buf[e + 1]))
		return 0;
	return e + 1;
}

/* ---- RFC 5424 ---- */

/*
 * Matches buf[*p..len) against shape[0..n), where 'd' is a digit and anything
 * else itself; advances *p on success.
 */
#define match(buf, len, p, shape) match_n(buf, len, p, shape, sizeof(shape) - 1)
static bool match_n(const char *buf, size_t len, size_t *p, const char *shape, size_t n) {
	if (len - *p < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (shape[i] == 'd' ? !is_digit(buf[*p + i]) : buf[*p + i] != shape[i])
			return false;
	*p += n;
	return true;
}

/* FULL-DATE "T" FULL-TIME of RFC 5424 (RFC 3339 with at most 6 fraction digits). */
static bool timestamp_5424(const char *buf, size_t len, size_t *p) {
	size_t q = *p;

	if (!match(buf, len, &q, "dddd-dd-ddTdd:dd:dd"))
		return false;
	if (q < len && buf[q] == '.') {
		size_t d = ++q;
		while (q < len && q - d < 7 && is_digit(buf[q]))
			q++;
		if (q == d || q - d > 6)
			return false;
	}
	if (q < len && buf[q] == 'Z') {
		q++;
	} else {
		if (q >= len || (buf[q] != '+' && buf[q] != '-'))
			return false;
		q++;
		if (!match(buf, len, &q, "dd:dd"))
			return false;
	}
	*p = q;
	return true;
}

/*
 * An RFC 3339 timestamp and a space at buf[p..len) where RFC 3164 has its
 * date, as rsyslog's RSYSLOG_ForwardFormat and syslog-ng's ISO dates write
 * it: its length with the space, or 0.
 */
static size_t date_3339(const char *buf, size_t len, size_t p) {
	size_t q = p;

	if (!timestamp_5424(buf, len, &q) || q >= len || buf[q] != ' ')
		return 0;
	return q + 1 - p;
}

/* A header field: 1..max printable US-ASCII bytes up to a space. "-" is nil. */
static bool token_5424(const char *buf, size_t len, size_t *p, size_t max, struct span *out) {
	size_t q = *p;

	while (q < len && buf[q] > 32 && buf[q] < 127 && q - *p < max + 1)
		q++;
	if (q == *p || q - *p > max || q >= len || buf[q] != ' ')
		return false;
	if (!(q - *p == 1 && buf[*p] == '-'))
		*out = span_of(buf, *p, q);
	*p = q + 1;
	return true;
}

static bool sd_name_char(char c) {
	return c > 32 && c < 127 && c != '=' && c != ']' && c != '"';
}

/* SD-NAME: 1..32 bytes. */
static bool sd_name(const char *buf, size_t len, size_t *p) {
	size_t q = *p;

	while (q < len && q - *p <= SD_NAME_MAX && sd_name_char(buf[q]))
		q++;
	if (q == *p || q - *p > SD_NAME_MAX)
		return false;
	*p = q;
	return true;
}

/*
 * PARAM-VALUE between quotes, with '"', '\' and ']' escaped by '\'. A
 * backslash before anything else is itself (RFC 5424 section 6.3.3); an
 * unescaped ']' is taken as itself too, since the quotes delimit the value.
 */
static bool sd_value(const char *buf, size_t len, size_t *p) {
	size_t q = *p;

	if (q >= len || buf[q] != '"')
		return false;
	for (q++; q < len; q++) {
		if (buf[q] == '"') {
			*p = q + 1;
			return true;
		}
		if (buf[q] == '\\' && q + 1 < len &&
		    (buf[q + 1] == '"' || buf[q + 1] == '\\' || buf[q + 1] == ']'))
			q++;
	}
	return false;
}

/* One SD-ELEMENT: "[" SD-ID *(SP PARAM-NAME "=" PARAM-VALUE) "]". */
static bool sd_element(const char *buf, size_t len, size_t *p) {
	size_t q = *p;

	if (q >= len || buf[q++] != '[' || !sd_name(buf, len, &q))
		return false;
	while (q < len && buf[q] == ' ') {
		q++;
		if (!sd_name(buf, len, &q) || q >= len || buf[q++] != '=' ||
		    !sd_value(buf, len, &q))
			return false;
	}
	if (q >= len || buf[q] != ']')
		return false;
	*p = q + 1;
	return true;
}

/*
 * The header after "<PRI>" at buf[p..len): "1 TIMESTAMP HOSTNAME APP-NAME
 * PROCID MSGID SD [SP MSG]". All or nothing: a header that breaks any rule is
 * not RFC 5424, and the message is read as RFC 3164 (or "<N>") instead.
 */
static bool parse_5424(const char *buf, size_t len, size_t p, struct syslog_header *h) {
	struct syslog_fields f = {0};
	struct span procid = {0};
	size_t q = p;

	if (!match(buf, len, &q, "1 "))
		return false;
	if (q < len && buf[q] == '-')
		q++;
	else if (timestamp_5424(buf, len, &q))
		f.timestamp = span_of(buf, p + 2, q);
	else
		return false;
	if (q >= len || buf[q++] != ' ')
		return false;
	if (!token_5424(buf, len, &q, HOSTNAME_MAX, &f.hostname) ||
	    !token_5424(buf, len, &q, APP_NAME_MAX, &f.ident) ||
	    !token_5424(buf, len, &q, PROCID_MAX, &procid) ||
	    !token_5424(buf, len, &q, MSGID_MAX, &f.msgid))
		return false;
	/* SYSLOG_PID is a number; a PROCID that is not one is no process id. */
	if (procid.len <= PID_DIGITS_MAX && all_digits(procid.p, procid.len))
		f.pid = procid;

	size_t sd = q;
	if (q < len && buf[q] == '-')
		q++;
	else if (!sd_element(buf, len, &q))
		return false;
	else
		while (sd_element(buf, len, &q))
			;
	if (buf[sd] != '-')
		f.sd = span_of(buf, sd, q);

	if (q < len && buf[q++] != ' ')
		return false;
	if (len - q >= 3 && memcmp(buf + q, "\xef\xbb\xbf", 3) == 0)
		q += 3;
	h->fields = f;
	h->text = q;
	return true;
}

void syslog_parse(const char *buf, size_t len, struct syslog_header *h) {
	int pri;
	size_t p = syslog_pri(buf, len, &pri);

	h->priority = -1;
	h->facility = -1;
	h->text = 0;
	clear_fields(&h->fields);
	if (p == 0)
		return;
	if (parse_5424(buf, len, p, h)) {
		h->priority = pri & 7;
		h->facility = pri >> 3;
		return;
	}

	size_t date = date_3164(buf + p, len - p);
	/* Not after "<N>": a program's own ISO time there stays its text. */
	if (date == 0 && pri >= 8)
		date = date_3339(buf, len, p);
	if (date > 0)
		h->fields.timestamp = span_of(buf, p, p + date - 1);
	else if (pri < 8) {
		/* sd-daemon's "<N>": the rest is the text, whatever it looks like. */
		h->priority = pri;
		h->text = p;
		return;
	}
	h->priority = pri & 7;
	h->facility = pri >> 3;
	size_t at = p + date;
	h->text = tag_3164(buf, len, at, &h->fields);
	/* Only where the first word is no tag can it be a hostname before one. */
	size_t tag = date > 0 && h->text == at ? hostname_3164(buf, len, at) : 0;
	if (tag > 0) {
		size_t text = tag_3164(buf, len, tag, &h->fields);
		if (text != tag) {
			h->fields.hostname = span_of(buf, at, tag - 1);
			h->text = text;
		}
	}
}
