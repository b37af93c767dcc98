/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What producers and mpsrd agree on: where the sockets are, the limits, and
 * the names of the fields a producer may write. See mpsr(7).
 */

#define MPSR_STREAM_SOCKET   "/run/mpsr.sock"   /* lines, SOCK_STREAM */
#define MPSR_DATAGRAM_SOCKET "/run/mpsr.dgram"  /* one message per datagram */
#define MPSR_RECORD_SOCKET   "/run/mpsr.record" /* one entry per SOCK_SEQPACKET packet */

/*
 * Lines longer than this are split into entries of this size. journald's own
 * LineMax for stdout streams: a line is cut at the same place whichever way it
 * reaches the journal.
 */
#define MPSR_LINE_MAX_DEFAULT (48 * 1024)

/* Priority of a message that names none: info, as for journald's streams. */
#define MPSR_PRIORITY_DEFAULT 6

/* Field names with their '=', and their lengths, for code that matches them. */
#define STRLEN(s)               (sizeof(s) - 1)
#define FIELD_MESSAGE           "MESSAGE="
#define FIELD_PRIORITY          "PRIORITY="
#define FIELD_SYSLOG_IDENTIFIER "SYSLOG_IDENTIFIER="
#define FIELD_SYSLOG_FACILITY   "SYSLOG_FACILITY="

/*
 * What a syslog header gives (see syslog-header.h and mpsr(7)). SYSLOG_PID is
 * the pid the message claims; MPSR_PID stays the kernel's.
 */
#define FIELD_SYSLOG_PID             "SYSLOG_PID="
#define FIELD_SYSLOG_TIMESTAMP       "SYSLOG_TIMESTAMP="
#define FIELD_SYSLOG_HOSTNAME        "SYSLOG_HOSTNAME="
#define FIELD_SYSLOG_MSGID           "SYSLOG_MSGID="
#define FIELD_SYSLOG_STRUCTURED_DATA "SYSLOG_STRUCTURED_DATA="

/* MPSR_LINE_BREAK's value for a stream message that ended with a NUL, as journald's _LINE_BREAK. */
#define LINE_BREAK_NUL "nul"
