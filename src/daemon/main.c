/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "protocol.h"
#include "server.h"

#define TICK_USEC         1000000 /* STATUS= and housekeeping, once a second */
#define JOURNALD_LINE_MAX (48 * 1024)
#define RETRY_USEC        1000    /* first wait after journald refused an entry */
#define WAIT_REPORT_USEC  1000000 /* journald kept us waiting this long: say so in STATUS= */
#define STOP_TIMEOUT_USEC (60ull * 1000000)
#define UNFINISHED_MAX    (64u << 20) /* bytes of unfinished lines kept, for all producers */

struct options {
	const char *listen_path[8];
	unsigned n_listen;
	size_t line_max;
	int priority;
	unsigned max_connections;
	unsigned max_per_user; /* UINT_MAX: a quarter of max_connections */
	bool no_limits;
	unsigned exit_idle;
	uint64_t stop_timeout_usec;
	bool fd_store;
	bool stream_transport;
	size_t unfinished_max;
};

struct daemon {
	struct options opt;
	struct loop *loop;
	struct server *server;
	int signal_fd;
	bool stop;
	bool restarting; /* the stop is a restart's: the service manager keeps the fd store */
	uint64_t watchdog_usec; /* ping period, 0 when no watchdog is set */
	uint64_t next_tick, next_ping, idle_since;
	int listeners;
};

static void help(void) {
	printf("Usage: mpsrd [OPTIONS]\n\n"
	       "Relays lines written to its sockets into the systemd journal.\n\n"
	       "  -h --help                 Show this help\n"
	       "     --version              Show the version\n"
	       "  -l --listen=PATH          Bind a stream socket at PATH when not "
	       "socket-activated\n"
	       "     --line-max=BYTES       Split longer lines (default 49152)\n"
	       "  -p --priority=N           Priority of lines without <N> prefix (default 6)\n"
	       "     --max-connections=N    Pause accepting at N producers (default 16384)\n"
	       "     --max-connections-per-user=N\n"
	       "                            Close a uid's new connections beyond N; root has\n"
	       "                            no share (default: a quarter of --max-connections;\n"
	       "                            0: no share)\n"
	       "     --rate-limits=journald|off\n"
	       "                            Hold each unit to the rate limit journald would\n"
	       "                            give it, by reading it more slowly (default journald)\n"
	       "     --exit-idle=SECONDS    Exit after SECONDS without producers (default 0: "
	       "never)\n"
	       "     --stop-timeout=SECONDS At stop, wait this long at most for journald to\n"
	       "                            take what producers sent (default 60)\n"
	       "     --fd-store             Keep connections in systemd's fd store across "
	       "restarts\n"
	       "     --unfinished-max=BYTES With --fd-store: unfinished lines kept across\n"
	       "                            restarts and crashes, for all producers; beyond,\n"
	       "                            one is written as it stands (default 67108864)\n"
	       "     --transport=native|stream\n"
	       "                            How stream producers' lines reach journald: one\n"
	       "                            entry with the producer's fields each (native, the\n"
	       "                            default), or journald's stdout stream (faster;\n"
	       "                            identifier and priority only, see mpsrd(8))\n"
	       "\nSee mpsrd(8).\n");
}

static int parse_uint(const char *s, unsigned long long min, unsigned long long max,
		      unsigned long long *ret) {
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Returns <0 on error, 0 to exit successfully, >0 to run. */
static int parse_argv(int argc, char *argv[], struct options *o) {
	enum {
		ARG_VERSION = 0x100,
		ARG_LINE_MAX,
		ARG_MAX_CONN,
		ARG_EXIT_IDLE,
		ARG_STOP_TIMEOUT,
		ARG_FD_STORE,
		ARG_TRANSPORT,
		ARG_UNFINISHED_MAX,
		ARG_MAX_PER_USER,
		ARG_RATE_LIMITS
	};
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{"listen", required_argument, NULL, 'l'},
		{"line-max", required_argument, NULL, ARG_LINE_MAX},
		{"priority", required_argument, NULL, 'p'},
		{"max-connections", required_argument, NULL, ARG_MAX_CONN},
		{"exit-idle", required_argument, NULL, ARG_EXIT_IDLE},
		{"stop-timeout", required_argument, NULL, ARG_STOP_TIMEOUT},
		{"fd-store", no_argument, NULL, ARG_FD_STORE},
		{"transport", required_argument, NULL, ARG_TRANSPORT},
		{"unfinished-max", required_argument, NULL, ARG_UNFINISHED_MAX},
		{"max-connections-per-user", required_argument, NULL, ARG_MAX_PER_USER},
		{"rate-limits", required_argument, NULL, ARG_RATE_LIMITS},
		{0},
	};
	unsigned long long v;
	int c;

	while ((c = getopt_long(argc, argv, "hl:p:", options, NULL)) >= 0) {
		switch (c) {
		case 'h': help(); return 0;
		case ARG_VERSION: printf("mpsrd %s\n", MPSR_VERSION); return 0;
		case 'l':
			if (o->n_listen == ARRAY_SIZE(o->listen_path))
				return log_error("too many --listen options"), -EINVAL;
			o->listen_path[o->n_listen++] = optarg;
			break;
		case ARG_LINE_MAX:
			if (parse_uint(optarg, 64, 16u << 20, &v) < 0)
				return log_error("--line-max takes 64 to 16777216 bytes: %s",
						 optarg),
				       -EINVAL;
			o->line_max = (size_t)v;
			break;
		case 'p':
			if (parse_uint(optarg, 0, 7, &v) < 0)
				return log_error("--priority takes 0 to 7: %s", optarg), -EINVAL;
			o->priority = (int)v;
			break;
		case ARG_MAX_CONN:
			if (parse_uint(optarg, 1, 1u << 20, &v) < 0)
				return log_error("bad --max-connections: %s", optarg), -EINVAL;
			o->max_connections = (unsigned)v;
			break;
		case ARG_MAX_PER_USER:
			if (parse_uint(optarg, 0, 1u << 20, &v) < 0)
				return log_error("bad --max-connections-per-user: %s", optarg),
				       -EINVAL;
			o->max_per_user = (unsigned)v;
			break;
		case ARG_RATE_LIMITS:
			if (strcmp(optarg, "journald") != 0 && strcmp(optarg, "off") != 0)
				return log_error("--rate-limits takes journald or off: %s", optarg),
				       -EINVAL;
			o->no_limits = strcmp(optarg, "off") == 0;
			break;
		case ARG_EXIT_IDLE:
			if (parse_uint(optarg, 0, UINT_MAX, &v) < 0)
				return log_error("bad --exit-idle: %s", optarg), -EINVAL;
			o->exit_idle = (unsigned)v;
			break;
		case ARG_STOP_TIMEOUT:
			if (parse_uint(optarg, 0, 86400, &v) < 0)
				return log_error("--stop-timeout takes 0 to 86400 seconds: %s",
						 optarg),
				       -EINVAL;
			o->stop_timeout_usec = v * 1000000;
			break;
		case ARG_FD_STORE: o->fd_store = true; break;
		case ARG_UNFINISHED_MAX:
			if (parse_uint(optarg, 0, 1ULL << 40, &v) < 0)
				return log_error("--unfinished-max takes 0 to 2^40 bytes: %s",
						 optarg),
				       -EINVAL;
			o->unfinished_max = (size_t)v;
			break;
		case ARG_TRANSPORT:
			if (strcmp(optarg, "native") == 0)
				o->stream_transport = false;
			else if (strcmp(optarg, "stream") == 0)
				o->stream_transport = true;
			else
				return log_error("--transport takes native or stream: %s", optarg),
				       -EINVAL;
			break;
		default: return log_error("Try 'mpsrd --help' for more information."), -EINVAL;
		}
	}
	if (optind < argc)
		return log_error("unexpected argument: %s (try 'mpsrd --help')", argv[optind]),
		       -EINVAL;
	/*
	 * journald cuts a stream line at its LineMax (48 KiB by default), "<N>"
	 * and '\n' included: our pieces must stay below that, or a 3-byte rest of
	 * each would become an entry of its own.
	 */
	if (o->stream_transport && o->line_max > JOURNALD_LINE_MAX - 4)
		o->line_max = JOURNALD_LINE_MAX - 4;
	return 1;
}

/* Binds a stream socket ourselves, for running by hand and in tests. */
static int listen_path(const char *path) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error("socket path too long: %s", path), -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	/* Remove a stale socket, but never a file that is something else. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	_cleanup_(closep) int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_errno(-errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return log_errno(-errno, "cannot bind %s", path);
	if (chmod(path, 0666) < 0 || listen(fd, SOMAXCONN) < 0)
		return log_errno(-errno, "cannot listen on %s", path);
	return take_fd(&fd);
}

/* Takes the sockets systemd passed, and the connections it kept for us. */
static int take_sockets(struct daemon *d) {
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);

	if (n < 0)
		return log_errno(n, "sd_listen_fds");
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names && names[i] ? names[i] : "";
		int r;

		if (server_is_kept(name)) {
			r = server_take_kept(d->server, fd, name);
			if (r < 0) {
				log_warning_errno(r, "dropping stored fd %s", name);
				close(fd);
			}
		} else if (sd_is_socket(fd, AF_UNIX, 0, -1) > 0) {
			r = server_add_listener(d->server, fd);
			if (r < 0)
				return log_errno(r, "cannot serve passed socket %d (%s)", fd, name);
			d->listeners++;
		} else {
			log_warning("ignoring passed fd %d (%s): not a Unix socket", fd, name);
			close(fd);
		}
	}
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	/* Before serving anyone: new connections go into the holder made here. */
	int kept = server_restore(d->server);
	if (kept < 0)
		return log_errno(kept, "cannot take back the kept connections");
	if (kept > 0)
		log_info("took back %d connections", kept);

	for (unsigned i = 0; i < d->opt.n_listen; i++) {
		int fd = listen_path(d->opt.listen_path[i]);
		if (fd < 0)
			return fd;
		int r = server_add_listener(d->server, fd);
		if (r < 0)
			return log_errno(r, "cannot serve %s", d->opt.listen_path[i]);
		d->listeners++;
	}
	if (d->listeners == 0)
		return log_error("no socket to serve: start mpsr.socket, or pass --listen=PATH"),
		       -EBADF;
	return 0;
}

static int on_signal(int fd, short revents, void *data) {
	struct daemon *d = data;
	struct signalfd_siginfo si;
	(void)revents;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	/* The unit's RestartKillSignal=: the fd store, and all it keeps, outlives us. */
	if (si.ssi_signo == SIGUSR1)
		d->restarting = true;
	if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGUSR1)
		d->stop = true;
	return 0;
}

static int setup_signals(struct daemon *d) {
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	/* A producer that vanishes must not kill us through a write. */
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->signal_fd < 0)
		return -errno;
	if (!loop_add(d->loop, d->signal_fd, POLLIN, on_signal, d))
		return -ENOMEM;
	return 0;
}

/* Each producer holds an fd: lift the soft limit to the hard one. */
static void raise_nofile(void) {
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void report_status(struct daemon *d, const char *state) {
	struct server_stats st;
	char wait[128] = "";

	server_stats(d->server, now_usec(), &st);
	if (st.journal_wait_usec >= WAIT_REPORT_USEC)
		snprintf(wait, sizeof(wait), "waiting for journald for %" PRIu64 " s; ",
			 st.journal_wait_usec / 1000000);
	char kept[96] = "";
	if (st.slowed > 0)
		snprintf(wait + strlen(wait), sizeof(wait) - strlen(wait),
			 "%u units over their limit, read more slowly; ", st.slowed);
	if (st.unfinished > 0)
		snprintf(kept, sizeof(kept), "; %" PRIu64 " bytes of unfinished lines kept",
			 st.unfinished);
	const struct relay_stats *rs = &st.relay;
	sd_notifyf(0,
		   "STATUS=%s%s%u producers; %" PRIu64 " messages, %" PRIu64
		   " bytes relayed; %" PRIu64 " split, %" PRIu64 " unterminated, %" PRIu64
		   " fields refused, %" PRIu64 " journal retries, %" PRIu64 " dropped%s",
		   state, wait, st.connections, rs->messages, rs->bytes, rs->split,
		   rs->unterminated, rs->refused_fields, rs->journal_errors, rs->dropped, kept);
}

/* The watchdog means "mpsrd is stuck": a writer waiting for journald is not. */
static void ping_watchdog(struct daemon *d, uint64_t now) {
	if (!d->watchdog_usec || now < d->next_ping)
		return;
	if (!server_alive(d->server, now, d->watchdog_usec / 2))
		return;
	sd_notify(0, "WATCHDOG=1");
	d->next_ping = now + d->watchdog_usec / 2;
}

static void housekeeping(struct daemon *d, uint64_t now) {
	ping_watchdog(d, now);
	if (now < d->next_tick)
		return;
	d->next_tick = now + TICK_USEC;
	server_tick(d->server, now);
	report_status(d, "");

	struct server_stats st;
	server_stats(d->server, now, &st);
	if (d->opt.exit_idle && st.connections == 0) {
		if (d->idle_since == 0)
			d->idle_since = now;
		else if (now - d->idle_since >= (uint64_t)d->opt.exit_idle * 1000000) {
			log_info("no producers for %u s; exiting until the next one connects",
				 d->opt.exit_idle);
			d->stop = true;
		}
	} else {
		d->idle_since = 0;
	}
}

static int next_timeout_ms(const struct daemon *d, uint64_t now) {
	uint64_t next = d->next_tick;

	if (d->watchdog_usec && d->next_ping < next)
		next = d->next_ping;
	if (d->stop && next > now + 100000)
		next = now + 100000;
	return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

/*
 * Runs the loop until the server has no more work in hand, or until `until`;
 * meanwhile the watchdog and STATUS= go on. Returns whether it finished.
 */
static bool wait_for_server(struct daemon *d, uint64_t until, const char *state) {
	uint64_t now;

	while (server_busy(d->server) && (now = now_usec()) < until) {
		ping_watchdog(d, now);
		if (now >= d->next_tick) {
			d->next_tick = now + TICK_USEC;
			report_status(d, state);
		}
		if (loop_dispatch(d->loop, next_timeout_ms(d, now)) < 0)
			return false;
	}
	return !server_busy(d->server);
}

/*
 * Stop: what producers already sent is written, and mpsrd exits only once
 * journald has processed it all, or after --stop-timeout. An entry journald
 * processes after its sender exited gets no _SYSTEMD_UNIT: it would be lost
 * to `journalctl -u mpsr`. What could not be written stays in the producers'
 * connections, which the fd store keeps for the next start.
 */
static void stop(struct daemon *d) {
	uint64_t until = now_usec() + d->opt.stop_timeout_usec;
	int synced = -EINPROGRESS;

	sd_notify(0, "STOPPING=1\nSTATUS=Stopping: writing what producers already sent");
	server_drain(d->server, d->restarting);
	if (wait_for_server(d, until, "Stopping: writing what producers already sent; ")) {
		server_sync(d->server, &synced);
		wait_for_server(d, until, "Stopping: waiting for journald to take it; ");
	}
	if (synced != 0) {
		server_abort(d->server);
		log_warning("journald did not take everything in %" PRIu64
			    " s; what it takes later may lack _SYSTEMD_UNIT=mpsr.service",
			    d->opt.stop_timeout_usec / 1000000);
	}
	report_status(d, "Stopping; ");
}

static int run(struct daemon *d) {
	struct server_config cfg = {
		.relay =
			{
				.line_max = d->opt.line_max,
				.default_priority = d->opt.priority,
				.retry_usec = RETRY_USEC,
			},
		.max_connections = d->opt.max_connections,
		.max_per_user = d->opt.max_per_user == UINT_MAX ? d->opt.max_connections / 4
								: d->opt.max_per_user,
		.limits = !d->opt.no_limits,
		.fd_store = d->opt.fd_store,
		.stream_transport = d->opt.stream_transport,
		.unfinished_max = d->opt.unfinished_max,
	};
	int r;

	raise_nofile();
	if ((r = loop_new(&d->loop)) < 0 || (r = server_new(d->loop, &cfg, &d->server)) < 0)
		return log_errno(r, "cannot set up");
	if ((r = setup_signals(d)) < 0)
		return log_errno(r, "cannot set up signals");
	if ((r = take_sockets(d)) < 0)
		return r;
	if (sd_watchdog_enabled(0, &d->watchdog_usec) <= 0)
		d->watchdog_usec = 0;

	report_status(d, "");
	sd_notify(0, "READY=1");
	while (!d->stop) {
		uint64_t now = now_usec();
		housekeeping(d, now);
		r = loop_dispatch(d->loop, next_timeout_ms(d, now));
		if (r < 0)
			return log_errno(r, "poll");
	}

	stop(d);
	struct server_stats st;
	server_stats(d->server, now_usec(), &st);
	log_info("stopping: %" PRIu64 " messages relayed, %" PRIu64 " dropped", st.relay.messages,
		 st.relay.dropped);
	return 0;
}

int main(int argc, char *argv[]) {
	struct daemon d = {
		.opt =
			{
				.line_max = MPSR_LINE_MAX_DEFAULT,
				.priority = MPSR_PRIORITY_DEFAULT,
				.max_connections = 16384,
				.max_per_user = UINT_MAX,
				.stop_timeout_usec = STOP_TIMEOUT_USEC,
				.unfinished_max = UNFINISHED_MAX,
			},
		.signal_fd = -1,
	};
	int r;

	log_set_prefix("mpsrd");
	r = parse_argv(argc, argv, &d.opt);
	if (r <= 0)
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

	r = run(&d);
	server_free(d.server);
	loop_free(d.loop);
	if (d.signal_fd >= 0)
		close(d.signal_fd);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
