/* SPDX-License-Identifier: MIT */
/*
 * Syslog headers: the RFCs' own examples, and the bytes real clients send.
 *
 * What the clients send, read from their sources:
 * - util-linux logger(1): "<PRI>Mmm dd hh:mm:ss TAG: MSG" by default (no
 *   hostname on a local socket), "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD
 *   MSG" with --rfc5424, "LEN SP" in front with --octet-count.
 * - glibc syslog(3) (misc/syslog.c): "<PRI>" then strftime's "%h %e %T " (the
 *   day space-padded), then "TAG: " or "TAG[PID]: " and the text, no newline;
 *   on a datagram socket that is the whole datagram, on a stream socket (its
 *   fallback when the datagram connect fails) the terminating NUL is sent too.
 * - CPython's logging.handlers.SysLogHandler: "<PRI>" + ident + the formatted
 *   record + "\0" (append_nul, on by default), no date and no newline; for a
 *   Unix socket it tries a datagram socket first and falls back to a stream.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "syslog-header.h"

/* What a message must give; NULL for a field that must be absent. */
struct want {
	int priority, facility;
	const char *ident, *pid, *timestamp, *hostname, *msgid, *sd;
	const char *text;
};

static void span_is(const char *name, struct span s, const char *want) {
	if (!want) {
		cr_assert_eq(s.len, 0, "%s: want none, got \"%.*s\"", name, (int)s.len, s.p);
		return;
	}
	cr_assert_eq(s.len, strlen(want), "%s: want \"%s\", got \"%.*s\"", name, want, (int)s.len,
		     s.p ? s.p : "");
	cr_assert_arr_eq(s.p, want, s.len, "%s: want \"%s\"", name, want);
}

static void check_len(const char *msg, size_t len, struct want w) {
	struct syslog_header h;

	syslog_parse(msg, len, &h);
	cr_assert_eq(h.priority, w.priority, "priority %d, want %d", h.priority, w.priority);
	cr_assert_eq(h.facility, w.facility, "facility %d, want %d", h.facility, w.facility);
	span_is("identifier", h.fields.ident, w.ident);
	span_is("pid", h.fields.pid, w.pid);
	span_is("timestamp", h.fields.timestamp, w.timestamp);
	span_is("hostname", h.fields.hostname, w.hostname);
	span_is("msgid", h.fields.msgid, w.msgid);
	span_is("structured data", h.fields.sd, w.sd);
	cr_assert_leq(h.text, len);
	cr_assert_eq(len - h.text, strlen(w.text), "text \"%.*s\", want \"%s\"",
		     (int)(len - h.text), msg + h.text, w.text);
	cr_assert_arr_eq(msg + h.text, w.text, len - h.text);
}

static void check(const char *msg, struct want w) {
	check_len(msg, strlen(msg), w);
}

/* ---- today's meanings ---- */

Test(syslog, no_angle_bracket_is_text_untouched) {
	check("foo: bar", (struct want){-1, -1, .text = "foo: bar"});
	check("Nov 25 19:17:04 myapp: msg",
	      (struct want){-1, -1, .text = "Nov 25 19:17:04 myapp: msg"});
	check("", (struct want){-1, -1, .text = ""});
}

Test(syslog, sd_daemon_prefix_alone_is_priority_only) {
	check("<4>disk: full", (struct want){4, -1, .text = "disk: full"});
	check("<0>", (struct want){0, -1, .text = ""});
	check("<7>debug [1]: x", (struct want){7, -1, .text = "debug [1]: x"});
	/* "1 " is RFC 5424's version only with a whole header after it. */
	check("<6>1 apple fell", (struct want){6, -1, .text = "1 apple fell"});
}

Test(syslog, low_pri_with_a_date_is_syslog) {
	check("<4>Nov 25 19:17:04 myapp: msg",
	      (struct want){4, 0, .ident = "myapp", .timestamp = "Nov 25 19:17:04", .text = "msg"});
}

Test(syslog, pri_above_7_without_header_keeps_text) {
	check("<9>x", (struct want){1, 1, .text = "x"});
	check("<191>x", (struct want){7, 23, .text = "x"});
	check("<13>hello world", (struct want){5, 1, .text = "hello world"});
}

Test(syslog, invalid_pri_stays_text) {
	static const char *const bad[] = {"<999>x", "<192>x", "<00>x", "<01>x", "<013>x", "<1234>x",
					  "<>x",    "<a>x",   "<3",    "<",     "<-1>x"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		check(bad[i], (struct want){-1, -1, .text = bad[i]});
}

/* ---- RFC 3164 as clients send it ---- */

Test(syslog, logger_default) {
	check("<155>Nov 25 19:17:04 myapp: msg",
	      (struct want){3, 19, .ident = "myapp", .timestamp = "Nov 25 19:17:04",
			    .text = "msg"});
}

Test(syslog, glibc_syslog_with_pid_and_padded_day) {
	check("<30>Nov  5 09:07:04 sshd[382]: Accepted key",
	      (struct want){6, 3, .ident = "sshd", .pid = "382", .timestamp = "Nov  5 09:07:04",
			    .text = "Accepted key"});
}

Test(syslog, python_handler_without_date) {
	check("<12>app: one", (struct want){4, 1, .ident = "app", .text = "one"});
	check("<14>just text", (struct want){6, 1, .text = "just text"});
}

Test(syslog, identifier_rules) {
	/* Only the first whitespace-free token, and only if it ends in ':'. */
	check("<13>a b: c", (struct want){5, 1, .text = "a b: c"});
	/* Blanks before the tag are skipped, one blank after it. */
	check("<13>  app:  two", (struct want){5, 1, .ident = "app", .text = " two"});
	check("<13>app:", (struct want){5, 1, .ident = "app", .text = ""});
	/* Brackets that are no number stay in the identifier. */
	check("<13>worker[a]: x", (struct want){5, 1, .ident = "worker[a]", .text = "x"});
	check("<13>w[12345678901]: x", (struct want){5, 1, .ident = "w[12345678901]", .text = "x"});
	/* No identifier, no tag: an empty one is not taken. */
	check("<13>[12]: x", (struct want){5, 1, .text = "[12]: x"});
	check("<13>: x", (struct want){5, 1, .text = ": x"});
	check("<13>a[1]b: x", (struct want){5, 1, .ident = "a[1]b", .text = "x"});
}

Test(syslog, date_must_be_whole_with_a_real_month) {
	check("<13>Nov 25 19:17:04", (struct want){5, 1, .text = "Nov 25 19:17:04"});
	check("<13>Abc 25 19:17:04 app: m", (struct want){5, 1, .text = "Abc 25 19:17:04 app: m"});
	check("<4>Nov 25 19:17 app: m", (struct want){4, -1, .text = "Nov 25 19:17 app: m"});
}

/*
 * RFC 3164 section 5.4. A hostname is read only where a tag follows it (the
 * first); the others stay text, as journald reads them.
 */
Test(syslog, rfc3164_examples) {
	check("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
	      (struct want){2, 4, .ident = "su", .timestamp = "Oct 11 22:14:15",
			    .hostname = "mymachine",
			    .text = "'su root' failed for lonvick on /dev/pts/8"});
	check("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
	      (struct want){5, 1, .timestamp = "Feb  5 17:32:18",
			    .text = "10.0.0.99 Use the BFG!"});
	check("<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the "
	      "do-nuts.  %%  Ingredients: Mix=OK, Jam=OK",
	      (struct want){5, 20, .timestamp = "Aug 24 05:34:00",
			    .text = "CST 1987 mymachine myproc[10]: %% It's time to make the "
				    "do-nuts.  %%  Ingredients: Mix=OK, Jam=OK"});
	/* PRI 0 and no date right after it: the sd-daemon reading wins. */
	check("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: "
	      "That's All Folks!",
	      (struct want){0, -1,
			    .text = "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 "
				    "sched[0]: That's All Folks!"});
}

/* ---- RFC 5424 ---- */

Test(syslog, logger_rfc5424) {
	check("<13>1 2026-11-25T19:17:04.65+00:00 host myapp - MID [timeQuality tzKnown=\"1\" "
	      "isSynced=\"0\"] msg",
	      (struct want){5, 1, .ident = "myapp", .timestamp = "2026-11-25T19:17:04.65+00:00",
			    .hostname = "host", .msgid = "MID",
			    .sd = "[timeQuality tzKnown=\"1\" isSynced=\"0\"]", .text = "msg"});
}

/* RFC 5424 section 6.5, examples 1 to 4. */
Test(syslog, rfc5424_examples) {
	check("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
	      "\xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8",
	      (struct want){2, 4, .ident = "su", .timestamp = "2003-10-11T22:14:15.003Z",
			    .hostname = "mymachine.example.com", .msgid = "ID47",
			    .text = "'su root' failed for lonvick on /dev/pts/8"});
	check("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to "
	      "make the do-nuts.",
	      (struct want){5, 20, .ident = "myproc", .pid = "8710",
			    .timestamp = "2003-08-24T05:14:15.000003-07:00",
			    .hostname = "192.0.2.1", .text = "%% It's time to make the do-nuts."});
	check("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
	      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
	      "\xef\xbb\xbf"
	      "An application event log entry...",
	      (struct want){5, 20, .ident = "evntslog", .timestamp = "2003-10-11T22:14:15.003Z",
			    .hostname = "mymachine.example.com", .msgid = "ID47",
			    .sd = "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
				  "eventID=\"1011\"]",
			    .text = "An application event log entry..."});
	check("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
	      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
	      "[examplePriority@32473 class=\"high\"]",
	      (struct want){5, 20, .ident = "evntslog", .timestamp = "2003-10-11T22:14:15.003Z",
			    .hostname = "mymachine.example.com", .msgid = "ID47",
			    .sd = "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
				  "eventID=\"1011\"][examplePriority@32473 class=\"high\"]",
			    .text = ""});
}

Test(syslog, rfc5424_nil_values_and_escapes) {
	check("<14>1 - - - - - -", (struct want){6, 1, .text = ""});
	check("<14>1 - - - - - - x", (struct want){6, 1, .text = "x"});
	check("<14>1 - h a 77 - [id k=\"a\\\"b\\\\c\\]d]e\"] x",
	      (struct want){6, 1, .ident = "a", .pid = "77", .hostname = "h",
			    .sd = "[id k=\"a\\\"b\\\\c\\]d]e\"]", .text = "x"});
	/* A PROCID that is no number is no pid. */
	check("<14>1 - - app worker-1 - - x", (struct want){6, 1, .ident = "app", .text = "x"});
	/* The BOM is dropped only right before MSG, once. */
	check("<14>1 - - - - - - a\xef\xbb\xbf", (struct want){6, 1, .text = "a\xef\xbb\xbf"});
}

Test(syslog, broken_rfc5424_is_read_as_rfc3164) {
	/* A bad timestamp, a missing field, an unclosed element, no space before MSG. */
	check("<14>1 2003-10-11 host app - - - x",
	      (struct want){6, 1, .text = "1 2003-10-11 host app - - - x"});
	check("<14>1 - host app - -", (struct want){6, 1, .text = "1 - host app - -"});
	check("<14>1 - - - - - [id k=\"v\" x",
	      (struct want){6, 1, .text = "1 - - - - - [id k=\"v\" x"});
	check("<14>1 - - - - - -x", (struct want){6, 1, .text = "1 - - - - - -x"});
	/* APP-NAME is at most 48 bytes. */
	check("<14>1 - - aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa - - - x",
	      (struct want){
		      6, 1,
		      .text = "1 - - aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa - - - x"});
	/* With PRI 0..7 a broken header leaves the sd-daemon reading. */
	check("<3>1 - h", (struct want){3, -1, .text = "1 - h"});
}

Test(syslog, stays_inside_len_and_reads_any_byte) {
	static const char m[] = "<13>app: a\0b";
	struct syslog_header h;

	syslog_parse(m, sizeof(m) - 1, &h);
	span_is("identifier", h.fields.ident, "app");
	cr_assert_eq(h.text, 9);
	/* A length that ends inside the date: no date, and nothing read past it. */
	syslog_parse("<13>Nov 25 19:17:04 x: y", 10, &h);
	cr_assert_eq(h.priority, 5);
	cr_assert_eq(h.fields.timestamp.len, 0);
	cr_assert_eq(h.text, 4);
	syslog_parse("<13", 3, &h);
	cr_assert_eq(h.priority, -1);
}

/* ---- hostnames, as relays and daemons send them ---- */

Test(syslog, nginx_error_log_and_access_log) {
	/* ngx_syslog_add_header(): "<PRI>Mmm dd hh:mm:ss HOST TAG: ", no pid. */
	check("<187>Dec  3 09:26:02 web1 nginx: 2026/12/03 09:26:02 [error] 7#7: *1 open() failed",
	      (struct want){3, 23, .ident = "nginx", .timestamp = "Dec  3 09:26:02",
			    .hostname = "web1",
			    .text = "2026/12/03 09:26:02 [error] 7#7: *1 open() failed"});
	check("<190>Dec  3 09:26:02 web1 web: 127.0.0.1 - - [03/Dec/2026:09:26:02 +0000] \"GET /\"",
	      (struct want){6, 23, .ident = "web", .timestamp = "Dec  3 09:26:02",
			    .hostname = "web1",
			    .text = "127.0.0.1 - - [03/Dec/2026:09:26:02 +0000] \"GET /\""});
	/* nohostname: the reading journald gives it, unchanged. */
	check("<190>Dec  3 09:26:02 web: 127.0.0.1 - -",
	      (struct want){6, 23, .ident = "web", .timestamp = "Dec  3 09:26:02",
			    .text = "127.0.0.1 - -"});
}

Test(syslog, relays_forward_the_hostname_tag_and_pid) {
	/* rsyslog's RSYSLOG_TraditionalForwardFormat, syslog-ng's default template. */
	check("<30>Dec  3 09:26:02 vm sshd[382]: Accepted key",
	      (struct want){6, 3, .ident = "sshd", .pid = "382", .timestamp = "Dec  3 09:26:02",
			    .hostname = "vm", .text = "Accepted key"});
	check("<13>Dec  3 09:26:02 10.0.0.7 app: x",
	      (struct want){5, 1, .ident = "app", .timestamp = "Dec  3 09:26:02",
			    .hostname = "10.0.0.7", .text = "x"});
	check("<13>Dec  3 09:26:02 fe80::1 app[1]: x",
	      (struct want){5, 1, .ident = "app", .pid = "1", .timestamp = "Dec  3 09:26:02",
			    .hostname = "fe80::1", .text = "x"});
}

Test(syslog, a_local_clients_tag_is_never_a_hostname) {
	/* The first word ends in ':' or holds '[': it is the tag, whatever follows. */
	check("<13>Nov 25 19:17:04 myapp: error: disk full",
	      (struct want){5, 1, .ident = "myapp", .timestamp = "Nov 25 19:17:04",
			    .text = "error: disk full"});
	check("<13>Nov 25 19:17:04 myapp[12]: key: value",
	      (struct want){5, 1, .ident = "myapp", .pid = "12", .timestamp = "Nov 25 19:17:04",
			    .text = "key: value"});
	check("<13>Nov 25 19:17:04 w[a] b: c",
	      (struct want){5, 1, .timestamp = "Nov 25 19:17:04", .text = "w[a] b: c"});
	/* No date, no hostname: only a relay's header has both. */
	check("<13>host app: x", (struct want){5, 1, .text = "host app: x"});
	/* The second word must be a tag right after one space. */
	check("<13>Nov 25 19:17:04 host  app: x",
	      (struct want){5, 1, .timestamp = "Nov 25 19:17:04", .text = "host  app: x"});
	check("<13>Nov 25 19:17:04 host app x: y",
	      (struct want){5, 1, .timestamp = "Nov 25 19:17:04", .text = "host app x: y"});
	check("<13>Nov 25 19:17:04 host : y",
	      (struct want){5, 1, .timestamp = "Nov 25 19:17:04", .text = "host : y"});
	check("<13>Nov 25 19:17:04 host [1]: y",
	      (struct want){5, 1, .timestamp = "Nov 25 19:17:04", .text = "host [1]: y"});
}

Test(syslog, rfc3339_date_as_relays_write_it) {
	/* rsyslog's RSYSLOG_ForwardFormat, syslog-ng's ts_format(iso). */
	check("<30>2026-12-03T09:26:02.123456+00:00 vm sshd[382]: Accepted key",
	      (struct want){6, 3, .ident = "sshd", .pid = "382",
			    .timestamp = "2026-12-03T09:26:02.123456+00:00", .hostname = "vm",
			    .text = "Accepted key"});
	/* From rsyslog's weird.parse1: a date, then text. */
	check("<14>2010-08-30T23:00:05Z X4711 AAAA",
	      (struct want){6, 1, .timestamp = "2010-08-30T23:00:05Z", .text = "X4711 AAAA"});
	check("<14>2010-08-30T23:00:05Z", (struct want){6, 1, .text = "2010-08-30T23:00:05Z"});
	/* After "<N>" an ISO time is the program's text, as it always was. */
	check("<7>2006-11-10T10:43:21.156+02:00 bzorp openvpn[2499]: x",
	      (struct want){7, -1, .text = "2006-11-10T10:43:21.156+02:00 bzorp openvpn[2499]: x"});
}

Test(syslog, hostname_at_most_255_bytes) {
	char msg[400], host[257];

	memset(host, 'h', 256);
	host[256] = '\0';
	snprintf(msg, sizeof(msg), "<13>Nov 25 19:17:04 %s app: x", host);
	check(msg, (struct want){5, 1, .timestamp = "Nov 25 19:17:04", .text = msg + 20});
	host[255] = '\0';
	snprintf(msg, sizeof(msg), "<13>Nov 25 19:17:04 %s app: x", host);
	check(msg, (struct want){5, 1, .ident = "app", .timestamp = "Nov 25 19:17:04",
				 .hostname = host, .text = "x"});
}

/* ---- journald's readings, decided one by one (mpsr(7)) ---- */

Test(syslog, month_in_any_case) {
	/* A network switch, from syslog-ng's tests. */
	check("<190>NOV 22 00:00:33 sw: x",
	      (struct want){6, 23, .ident = "sw", .timestamp = "NOV 22 00:00:33", .text = "x"});
	check("<4>nov 22 00:00:33 a: x",
	      (struct want){4, 0, .ident = "a", .timestamp = "nov 22 00:00:33", .text = "x"});
	check("<13>NOW 22 00:00:33 a: x", (struct want){5, 1, .text = "NOW 22 00:00:33 a: x"});
}

Test(syslog, empty_brackets_claim_no_pid) {
	check("<13>tag[]: x", (struct want){5, 1, .ident = "tag", .text = "x"});
	/* A pid that is no number stays part of the identifier. */
	check("<13>prog[pid]: x", (struct want){5, 1, .ident = "prog[pid]", .text = "x"});
}

Test(syslog, trim_drops_trailing_blanks_down_to_from) {
	cr_assert_eq(syslog_trim("<5>Trailing spaces \t \n\r", 3, 23), 18);
	cr_assert_eq(syslog_trim("<5>   ", 3, 6), 3);
	cr_assert_eq(syslog_trim("ab", 0, 2), 2);
	cr_assert_eq(syslog_trim("", 0, 0), 0);
}

Test(syslog, the_twelve_months_and_nothing_else) {
	static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
					     "jul", "aug", "sep", "oct", "nov", "dec"};
	char msg[] = "<13>xxx 25 19:17:04 a: x";
	struct syslog_header h;

	for (int a = 0; a < 26 * 26 * 26; a++) {
		char m[4] = {(char)('a' + a / 676), (char)('a' + a / 26 % 26),
			     (char)('a' + a % 26)};
		bool is = false;
		for (size_t i = 0; i < 12; i++)
			is = is || strcmp(m, months[i]) == 0;
		/* Lower case, upper case, and mixed. */
		for (int c = 0; c < 3; c++) {
			for (int k = 0; k < 3; k++)
				msg[4 + k] = (char)(c == 0 || (c == 2 && k > 0) ? m[k] : m[k] - 32);
			syslog_parse(msg, sizeof(msg) - 1, &h);
			cr_assert_eq(h.fields.timestamp.len > 0, is, "%.3s", msg + 4);
		}
	}
}

/* journald drops a message's trailing blanks before it reads the header; so does mpsr. */
Test(syslog, a_message_is_trimmed_then_read) {
	struct syslog_header h;
	const char *m;

	m = "<5>Trailing spaces \t \n";
	cr_assert_eq(syslog_parse_message(m, strlen(m), &h), 18);
	cr_assert_eq(h.priority, 5);
	cr_assert_eq(h.text, 3);
	/* Without its blank a date is no date: the text is the date, as journald has it. */
	m = "<14>Aug 30 23:00:05 ";
	cr_assert_eq(syslog_parse_message(m, strlen(m), &h), 19);
	cr_assert_eq(h.fields.timestamp.len, 0);
	cr_assert_eq(h.text, 4);
	/* A tab after an RFC 5424 header no longer breaks it. */
	m = "<14>1 - - app - - -\t";
	cr_assert_eq(syslog_parse_message(m, strlen(m), &h), 19);
	span_is("identifier", h.fields.ident, "app");
	cr_assert_eq(h.text, 19);
	/* Text without a header keeps its blanks. */
	m = "plain \t";
	cr_assert_eq(syslog_parse_message(m, strlen(m), &h), 7);
	m = "<999>x ";
	cr_assert_eq(syslog_parse_message(m, strlen(m), &h), 7);
}
