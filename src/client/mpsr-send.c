/* SPDX-License-Identifier: MIT */
/*
 * mpsr-send: log a message, the lines of stdin, or a command's output
 * through mpsr, like logger(1) and systemd-cat(1). See mpsr-send(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "lines.h"
#include "macro.h"
#include "priority.h"
#include "protocol.h"
#include "record.h"
#include "sender.h"

/* Exit codes scripts can rely on (mpsr-send(1), EXIT STATUS). */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,     /* bad option or argument: nothing was sent */
	EXIT_CONNECT = 2,   /* the socket is missing or nobody listens: nothing was sent */
	EXIT_LOST = 3,      /* sending failed part way: some input may not have arrived */
	EXIT_NOEXEC = 126,  /* COMMAND exists but cannot be run */
	EXIT_NOTFOUND = 127 /* COMMAND not found */
};

struct options {
	const char *tag;
	int priority;
	int stderr_priority; /* -1: stderr goes with stdout */
	int facility;        /* -1: none given */
	const char *socket;
	char *fields[RECORD_FIELDS_MAX];
	size_t n_fields;
	bool level_prefix;
	char **command; /* after "--", or NULL */
	char **message; /* the words of the message, or NULL for stdin */
	int n_message;
};

/*
 * One line on stderr, for the person or script that ran us (not the
 * "<N>"-prefixed diagnostics of the daemon). Returns -abs(error).
 */
static int say(int error, const char *fmt, ...) _printf_(2, 3);
static int say(int error, const char *fmt, ...) {
	va_list ap;

	fputs("mpsr-send: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (error)
		fprintf(stderr, ": %s", strerror(error < 0 ? -error : error));
	fputc('\n', stderr);
	return error < 0 ? error : -error;
}

#define log_error(...)        say(0, __VA_ARGS__)
#define log_errno(error, ...) say((error), __VA_ARGS__)

static void help(void) {
	printf("Usage: mpsr-send [OPTIONS] [MESSAGE...]\n"
	       "       mpsr-send [OPTIONS] -- COMMAND [ARGUMENTS...]\n\n"
	       "Sends MESSAGE, each line of stdin, or the output of COMMAND to the journal\n"
	       "through mpsr.\n\n"
	       "  -h --help                 Show this help\n"
	       "     --version              Show the version\n"
	       "  -t --tag=IDENT            Identifier (SYSLOG_IDENTIFIER) of the entries\n"
	       "  -p --priority=PRIORITY    emerg..debug, 0-7, or FACILITY.LEVEL (default info)\n"
	       "     --stderr-priority=PRIORITY\n"
	       "                            Priority of COMMAND's stderr (default: as stdout)\n"
	       "     --field=NAME=VALUE     Add a journal field to each entry (repeatable)\n"
	       "     --level-prefix=BOOL    Read \"<N>\" at the start of a line as its\n"
	       "                            priority (default yes)\n"
	       "     --socket=PATH          Send to PATH instead of %s or %s\n"
	       "\nExit status: 0 sent, 1 usage, 2 cannot connect, 3 not everything sent;\n"
	       "with COMMAND, its exit status. See mpsr-send(1).\n",
	       MPSR_STREAM_SOCKET, MPSR_RECORD_SOCKET);
}

static int parse_bool(const char *s) {
	static const char *const yes[] = {"1", "yes", "y", "true", "t", "on"};
	static const char *const no[] = {"0", "no", "n", "false", "f", "off"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0)
			return 1;
		if (strcmp(s, no[i]) == 0)
			return 0;
	}
	return -EINVAL;
}

static int parse_field(struct options *o, char *arg) {
	const char *why = record_field_refusal(arg, strlen(arg));

	if (!why && strchr(arg, '\n'))
		why = "a value may not hold a newline";
	if (!why && (strncmp(arg, FIELD_PRIORITY, STRLEN(FIELD_PRIORITY)) == 0 ||
		     strncmp(arg, FIELD_SYSLOG_IDENTIFIER, STRLEN(FIELD_SYSLOG_IDENTIFIER)) == 0 ||
		     strncmp(arg, FIELD_SYSLOG_FACILITY, STRLEN(FIELD_SYSLOG_FACILITY)) == 0))
		why = "set it with -t or -p";
	if (why)
		return log_error("--field %s: %s", arg, why), -EINVAL;
	if (o->n_fields == ARRAY_SIZE(o->fields))
		return log_error("at most %zu --field options", ARRAY_SIZE(o->fields)), -EINVAL;
	o->fields[o->n_fields++] = arg;
	return 0;
}

/* Returns <0 on error, 0 to exit successfully, >0 to run. */
static int parse_argv(int argc, char *argv[], struct options *o) {
	enum { ARG_VERSION = 0x100, ARG_SOCKET, ARG_FIELD, ARG_LEVEL_PREFIX, ARG_STDERR_PRIO };
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{"tag", required_argument, NULL, 't'},
		{"priority", required_argument, NULL, 'p'},
		{"stderr-priority", required_argument, NULL, ARG_STDERR_PRIO},
		{"socket", required_argument, NULL, ARG_SOCKET},
		{"field", required_argument, NULL, ARG_FIELD},
		{"level-prefix", required_argument, NULL, ARG_LEVEL_PREFIX},
		{0},
	};
	const char *last_arg = NULL; /* so that "-t --" is not taken for the separator */
	int c, r, facility;

	/* "+": options end at the first word of the message, as in systemd-cat. */
	while ((c = getopt_long(argc, argv, "+ht:p:", options, NULL)) >= 0) {
		last_arg = optarg;
		switch (c) {
		case 'h': help(); return 0;
		case ARG_VERSION: printf("mpsr-send %s\n", MPSR_VERSION); return 0;
		case 't':
			if (!*optarg || strchr(optarg, '\n'))
				return log_error("--tag must be one non-empty line"), -EINVAL;
			o->tag = optarg;
			break;
		case 'p':
		case ARG_STDERR_PRIO:
			if (priority_parse(optarg, c == 'p' ? &o->priority : &o->stderr_priority,
					   &facility) < 0)
				return log_error("unknown priority %s (emerg..debug, 0-7, or "
						 "FACILITY.LEVEL)",
						 optarg),
				       -EINVAL;
			if (facility >= 0)
				o->facility = facility;
			break;
		case ARG_SOCKET: o->socket = optarg; break;
		case ARG_FIELD:
			if ((r = parse_field(o, optarg)) < 0)
				return r;
			break;
		case ARG_LEVEL_PREFIX:
			if ((r = parse_bool(optarg)) < 0)
				return log_error("--level-prefix takes yes or no: %s", optarg),
				       -EINVAL;
			o->level_prefix = r;
			break;
		default: return -EINVAL;
		}
	}
	bool separator =
		optind > 1 && strcmp(argv[optind - 1], "--") == 0 && argv[optind - 1] != last_arg;
	if (separator) {
		if (optind == argc)
			return log_error("no COMMAND after --"), -EINVAL;
		o->command = argv + optind;
	} else if (optind < argc) {
		o->message = argv + optind;
		o->n_message = argc - optind;
	}
	if (o->stderr_priority >= 0 && !o->command)
		return log_error("--stderr-priority needs a COMMAND"), -EINVAL;
	return 1;
}

/* ---- where to send ---- */

static int open_sender(const struct options *o, enum sender_kind kind, struct sender *s) {
	const char *path = o->socket               ? o->socket
			   : kind == SENDER_STREAM ? MPSR_STREAM_SOCKET
						   : MPSR_RECORD_SOCKET;
	int r = sender_open(s, path, kind);

	/* A record socket given with --socket takes plain lines too. */
	if (r == -EPROTOTYPE && o->socket && kind == SENDER_STREAM) {
		kind = SENDER_RECORD;
		r = sender_open(s, path, kind);
	}
	if (r == -EPROTOTYPE)
		return log_error("%s is not a record (SOCK_SEQPACKET) socket; tags, fields and "
				 "messages need one such as %s",
				 path, MPSR_RECORD_SOCKET),
		       -EPROTOTYPE;
	if (r == -ENOENT || r == -ECONNREFUSED)
		return log_error("cannot connect to %s: %s (is mpsr.socket running?)", path,
				 strerror(-r)),
		       r;
	if (r < 0)
		return log_errno(r, "cannot connect to %s", path), r;

	if (kind == SENDER_RECORD) {
		char *h;
		size_t len;
		if ((r = record_header_format(o->tag, o->facility, o->fields, o->n_fields, &h,
					      &len)) < 0) {
			sender_close(s);
			return log_errno(r, "cannot format the record header"), r;
		}
		sender_set_header(s, h, len);
	}
	return 0;
}

static int send_failed(const struct sender *s, const char *what, int r) {
	if (r == -EMSGSIZE)
		log_error("%s is larger than %s takes in one record", what, s->path);
	else
		log_errno(r, "sending %s to %s failed", what, s->path);
	return EXIT_LOST;
}

/* ---- the modes ---- */

/* The words of the command line, joined by spaces, as one entry. */
static int run_message(const struct options *o) {
	size_t len = 0;
	struct sender s;

	for (int i = 0; i < o->n_message; i++)
		len += strlen(o->message[i]) + 1;
	_cleanup_(freep) char *text = malloc(len + 1);
	if (!text)
		return log_errno(-ENOMEM, "out of memory"), EXIT_LOST;
	char *p = text;
	for (int i = 0; i < o->n_message; i++)
		p = stpcpy(stpcpy(p, i ? " " : ""), o->message[i]);

	/* Always a record: the message stays whole even if it holds newlines. */
	if (open_sender(o, SENDER_RECORD, &s) < 0)
		return EXIT_CONNECT;
	int r = sender_message(&s, o->priority, text, (size_t)(p - text));
	if (r == 0)
		r = sender_finish(&s);
	else
		sender_close(&s);
	return r < 0 ? send_failed(&s, "the message", r) : EXIT_OK;
}

/* One piece of a line; its priority is the line's "<N>", else default_priority. */
static int relay_piece(struct sender *s, const struct line_piece *p, int default_priority,
		       int *priority) {
	if (p->first)
		*priority = p->priority >= 0 ? p->priority : default_priority;
	return sender_piece(s, *priority, p->text, p->len, p->first, p->last);
}

/* Relays the lines of fd until it ends; returns 0 or a negative errno (logged). */
static int relay_fd(const struct options *o, struct sender *s, int fd) {
	struct lines in;
	struct line_piece p;
	int priority = o->priority, r;

	if ((r = lines_init(&in, fd, o->level_prefix)) < 0)
		return log_errno(r, "out of memory");
	for (;;) {
		while (lines_next(&in, &p))
			if ((r = relay_piece(s, &p, o->priority, &priority)) < 0)
				goto out;
		/* Everything read so far goes out before we may wait for more input. */
		if (s->kind == SENDER_STREAM && (r = sender_flush(s)) < 0)
			goto out;
		if (in.eof)
			break;
		ssize_t n = lines_fill(&in);
		if (n < 0) {
			r = log_errno((int)n, "cannot read the input");
			goto out_logged;
		}
	}
	r = 0;
out:
	if (r < 0)
		send_failed(s, "a line", r);
out_logged:
	lines_done(&in);
	return r;
}

static int run_stdin(const struct options *o) {
	struct sender s;

	/*
	 * The stream socket is the fastest path, but the identifier it stores is
	 * the sending program's name and it has no fields: with -t, --field or a
	 * facility every line is a record of its own instead.
	 */
	bool plain = !o->tag && o->n_fields == 0 && o->facility < 0;
	if (open_sender(o, plain ? SENDER_STREAM : SENDER_RECORD, &s) < 0)
		return EXIT_CONNECT;
	int r = relay_fd(o, &s, STDIN_FILENO);
	if (r < 0) {
		sender_close(&s);
		return EXIT_LOST;
	}
	r = sender_finish(&s);
	return r < 0 ? send_failed(&s, "the last lines", r) : EXIT_OK;
}

/* ---- -- COMMAND ---- */

/*
 * Starts the command with stdout and stderr on pipes (the same one unless
 * stderr has a priority of its own). An exec failure comes back through a
 * close-on-exec pipe, so that it is reported here and not relayed.
 */
static int spawn(const struct options *o, pid_t *pid, int out[2], int err[2]) {
	int status[2];

	if (pipe2(out, O_CLOEXEC) < 0 || (o->stderr_priority >= 0 && pipe2(err, O_CLOEXEC) < 0) ||
	    pipe2(status, O_CLOEXEC) < 0)
		return log_errno(-errno, "pipe");
	*pid = fork();
	if (*pid < 0)
		return log_errno(-errno, "fork");
	if (*pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		/* dup2() onto the same fd would leave O_CLOEXEC set: clear it explicitly. */
		if (dup2(out[1], STDOUT_FILENO) < 0 ||
		    dup2(o->stderr_priority >= 0 ? err[1] : out[1], STDERR_FILENO) < 0 ||
		    fcntl(STDOUT_FILENO, F_SETFD, 0) < 0 || fcntl(STDERR_FILENO, F_SETFD, 0) < 0)
			_exit(EXIT_NOEXEC);
		execvp(o->command[0], o->command);
		int e = errno;
		(void)!write(status[1], &e, sizeof(e));
		_exit(e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
	}
	close(out[1]);
	if (o->stderr_priority >= 0)
		close(err[1]);
	close(status[1]);
	int e = 0;
	ssize_t n;
	while ((n = read(status[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(status[0]);
	if (n == sizeof(e)) {
		waitpid(*pid, NULL, 0);
		log_error("cannot run %s: %s", o->command[0], strerror(e));
		return e == ENOENT ? -ENOENT : -EACCES;
	}
	return 0;
}

/* Relays two pipes at once, each with its own priority. */
static int relay_two(const struct options *o, struct sender *s, int out, int err) {
	struct lines in[2];
	int def[2] = {o->priority, o->stderr_priority}, prio[2] = {def[0], def[1]}, r = 0;
	struct pollfd pfd[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};

	if (lines_init(&in[0], out, o->level_prefix) < 0 ||
	    lines_init(&in[1], err, o->level_prefix) < 0)
		return log_errno(-ENOMEM, "out of memory");
	while (r == 0 && (pfd[0].fd >= 0 || pfd[1].fd >= 0)) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = log_errno(-errno, "poll");
			break;
		}
		for (int i = 0; i < 2 && r == 0; i++) {
			struct line_piece p;
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			ssize_t n = lines_fill(&in[i]);
			if (n < 0) {
				r = log_errno((int)n, "cannot read the command's output");
				break;
			}
			while (r == 0 && lines_next(&in[i], &p))
				r = relay_piece(s, &p, def[i], &prio[i]);
			if (r == 0 && s->kind == SENDER_STREAM)
				r = sender_flush(s);
			if (r < 0)
				send_failed(s, "a line", r);
			if (in[i].eof)
				pfd[i].fd = -1;
		}
	}
	lines_done(&in[0]);
	lines_done(&in[1]);
	return r;
}

static int wait_status(pid_t pid) {
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return log_errno(-errno, "waitpid"), EXIT_LOST;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st); /* as a shell reports it */
	return WEXITSTATUS(st);
}

static int run_command(const struct options *o) {
	struct options co = *o;
	struct sender s;
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	pid_t pid = 0;

	/* Named after the command by default, as systemd-cat does. */
	if (!co.tag) {
		const char *slash = strrchr(o->command[0], '/');
		co.tag = slash ? slash + 1 : o->command[0];
	}
	/* Connect first: if mpsr is not there, the command does not run at all. */
	if (open_sender(&co, SENDER_RECORD, &s) < 0)
		return EXIT_CONNECT;
	int r = spawn(&co, &pid, out, err);
	if (r < 0) {
		sender_close(&s);
		return r == -ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
	}
	r = co.stderr_priority >= 0 ? relay_two(&co, &s, out[0], err[0])
				    : relay_fd(&co, &s, out[0]);
	if (r == 0 && (r = sender_finish(&s)) < 0)
		send_failed(&s, "the last lines", r);
	else if (r < 0)
		sender_close(&s);
	/* If relaying failed, the command gets EPIPE (or SIGPIPE) from now on. */
	close(out[0]);
	if (err[0] >= 0)
		close(err[0]);
	int status = wait_status(pid);
	return r < 0 ? EXIT_LOST : status;
}

int main(int argc, char *argv[]) {
	struct options o = {
		.priority = LOG_INFO, .stderr_priority = -1, .facility = -1, .level_prefix = true};

	int r = parse_argv(argc, argv, &o);
	if (r <= 0)
		return r < 0 ? EXIT_USAGE : EXIT_OK;
	/* A vanished mpsr must be an error we report, not a signal that kills us silently. */
	signal(SIGPIPE, SIG_IGN);

	if (o.command)
		return run_command(&o);
	if (o.message)
		return run_message(&o);
	return run_stdin(&o);
}
