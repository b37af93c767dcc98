/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "inflight.h"
#include "log.h"
#include "loop.h"
#include "options.h"
#include "server.h"
#include "sockets.h"
#include "status.h"

#define RETRY_USEC 1000 /* first wait after journald refused an entry */

struct daemon {
	struct options opt;
	struct loop *loop;
	struct server *server;
	struct status status;
	int signal_fd;
	bool stop;
	bool restarting; /* the stop is a restart's: the service manager keeps the fd store */
	uint64_t idle_since;
};

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

/* The signals mpsrd handles through its signalfd. */
static void handled_signals(sigset_t *mask) {
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
	sigaddset(mask, SIGUSR1);
}

/*
 * Blocked first thing, before any thread exists: a thread inherits the mask
 * it starts with, and a SIGUSR1 (a restart) that finds one unblocked kills
 * the process by its default action, taking unfinished lines' state with it.
 */
static int block_signals(void) {
	sigset_t mask;

	handled_signals(&mask);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	/* A producer that vanishes must not kill us through a write. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int setup_signals(struct daemon *d) {
	sigset_t mask;

	handled_signals(&mask);
	d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->signal_fd < 0)
		return -errno;
	if (!loop_add(d->loop, d->signal_fd, POLLIN, on_signal, d))
		return -ENOMEM;
	return 0;
}

/* Each producer holds an fd: lift the soft limit to the hard one. Returns the limit now. */
static unsigned long raise_nofile(void) {
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

/* How many producers mpsrd serves, from the limits it really has (inflight.h). */
static void plan_connections(const struct options *o, struct server_config *cfg) {
	struct inflight_plan plan;
	struct utsname u = {.release = "unknown"};
	unsigned long nofile = raise_nofile();
	bool old = uname(&u) == 0 && inflight_old_collector(u.release, u.version);

	inflight_plan(o->max_connections, o->fd_store, nofile, old, &plan);
	inflight_log(&plan, o->max_connections, nofile, old, u.release);
	cfg->max_connections = plan.max_connections;
	cfg->max_per_user =
		o->max_per_user == UINT_MAX ? plan.max_connections / 4 : o->max_per_user;
	cfg->limits = o->rate_limits != RATE_LIMITS_OFF;
	cfg->limits_scaled = o->rate_limits == RATE_LIMITS_JOURNALD;
	cfg->inflight_peak = plan.peak;
	cfg->inflight_steady = plan.steady;
}

static void housekeeping(struct daemon *d, uint64_t now) {
	status_watchdog(&d->status, d->server, now);
	if (!status_due(&d->status, now))
		return;
	server_tick(d->server, now);
	status_report(d->server, "");

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
	uint64_t next = status_next(&d->status);

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
		status_watchdog(&d->status, d->server, now);
		if (status_due(&d->status, now))
			status_report(d->server, state);
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
	status_report(d->server, "Stopping; ");
}

static int run(struct daemon *d) {
	struct server_config cfg = {
		.relay =
			{
				.line_max = d->opt.line_max,
				.default_priority = d->opt.priority,
				.retry_usec = RETRY_USEC,
				.pace = PACE_ENTRIES,
			},
		.fd_store = d->opt.fd_store,
		.stream_transport = d->opt.stream_transport,
		.unfinished_max = d->opt.unfinished_max,
	};
	int r;

	plan_connections(&d->opt, &cfg);
	if ((r = loop_new(&d->loop)) < 0 || (r = server_new(d->loop, &cfg, &d->server)) < 0)
		return log_errno(r, "cannot set up");
	if ((r = setup_signals(d)) < 0)
		return log_errno(r, "cannot set up signals");
	if ((r = sockets_take(d->server, d->opt.listen_path, d->opt.n_listen)) < 0)
		return r;
	status_init(&d->status);

	status_report(d->server, "");
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
	log_info("stopping: %" PRIu64 " messages relayed, %" PRIu64 " dropped, %" PRIu64
		 " datagrams over their unit's limit",
		 st.relay.messages, st.relay.dropped, st.relay.over_limit);
	return 0;
}

int main(int argc, char *argv[]) {
	struct daemon d = {.signal_fd = -1};
	int r;

	log_set_prefix("mpsrd");
	if ((r = block_signals()) < 0) {
		log_errno(r, "cannot block signals");
		return EXIT_FAILURE;
	}
	options_init(&d.opt);
	r = options_parse(argc, argv, &d.opt);
	if (r <= 0)
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

	r = run(&d);
	server_free(d.server);
	loop_free(d.loop);
	if (d.signal_fd >= 0)
		close(d.signal_fd);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
