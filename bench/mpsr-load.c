/* SPDX-License-Identifier: MIT */
/*
 * mpsr-load: a load generator for mpsr and for journald itself.
 *
 * P producer processes, each with its own connection, send M messages each.
 * Every message is "TAG p=<producer> s=<sequence> t=<send time, µs since the
 * epoch> <padding>", so a checker can count lost and duplicated messages and
 * measure latency. All producers connect first and start together.
 *
 * With --duration, producers send until the time is up instead of a fixed
 * count, with --until until a file exists (a test's signal that it has seen
 * what it waited for), and "producer p=<p> sent=<n>" lines tell the checker
 * how many each sent. --mode=exec feeds each producer's lines to the stdin of a command of
 * its own (systemd-cat, mpsr-send). --idle=N opens N connections from this one
 * process and holds them, for measuring what idle producers cost the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_STREAM, MODE_DGRAM, MODE_NATIVE, MODE_JOURNAL_STREAM, MODE_EXEC };

struct options {
	const char *socket;
	const char *tag;
	unsigned producers;
	unsigned long messages;
	unsigned size;
	unsigned long rate; /* per producer, messages/s; 0 = as fast as possible */
	unsigned batch;     /* most bytes per write() on a stream */
	unsigned hold;      /* seconds to keep the connection open afterwards */
	int sndbuf;         /* SO_SNDBUF of a stream connection; 0 = as opened */
	bool syslog;        /* an RFC 3164 header in front of each message, as syslog(3) writes */
	enum mode mode;
	double duration;     /* seconds to send for; 0 = send `messages` */
	const char *until;   /* or until this file exists */
	const char *command; /* MODE_EXEC: run with sh -c, our lines on its stdin */
	unsigned idle;       /* connections to open and hold, instead of producers */
	const char *ready;   /* a daemon to start and time until it sends READY=1 */
};

static uint64_t realtime_usec(void) {
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_until(uint64_t t_usec) {
	uint64_t now = realtime_usec();

	if (t_usec > now) {
		struct timespec ts = {(time_t)((t_usec - now) / 1000000),
				      (long)((t_usec - now) % 1000000) * 1000};
		nanosleep(&ts, NULL);
	}
}

static int connect_to(const char *path, int type) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Formats message `seq` of producer `p` into buf; returns its length (no '\n'). */
static size_t format_msg(const struct options *o, unsigned p, unsigned long seq, char *buf,
			 size_t size) {
	size_t head = 0;

	/* The header is not counted in --size: the stored text is the same either way. */
	if (o->syslog)
		head = (size_t)snprintf(buf, size,
					"<14>Nov 25 19:17:04 mpsr-load[%d]: ", (int)getpid());
	int k = snprintf(buf + head, size - head, "%s p=%u s=%lu t=%llu ", o->tag, p, seq,
			 (unsigned long long)realtime_usec());
	size_t len = head + (size_t)k;
	while (len < head + o->size && len < size - 1)
		buf[len++] = 'x';
	return len;
}

/* Starts `sh -c command` with a pipe on its stdin; returns the pipe's write end. */
static int spawn(const char *command, unsigned p, pid_t *ret_pid) {
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(fds[0]);
		close(fds[1]);
		return r;
	}
	if (pid == 0) {
		char id[16];
		snprintf(id, sizeof(id), "%u", p);
		setenv("MPSR_LOAD_PRODUCER", id, 1);
		if (dup2(fds[0], STDIN_FILENO) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	*ret_pid = pid;
	return fds[1];
}

static int produce(const struct options *o, unsigned p, int go_fd, int report_fd) {
	int fd = -1;
	pid_t child = 0;
	char msg[65536];
	char *out = NULL;
	size_t used = 0;
	int r = 0;

	if (o->mode == MODE_STREAM || o->mode == MODE_DGRAM) {
		fd = connect_to(o->socket, o->mode == MODE_STREAM ? SOCK_STREAM : SOCK_DGRAM);
		if (fd < 0) {
			fprintf(stderr, "mpsr-load: connect %s: %s\n", o->socket, strerror(-fd));
			return 1;
		}
	} else if (o->mode == MODE_JOURNAL_STREAM) {
		fd = sd_journal_stream_fd(o->tag, 6, 0);
		if (fd < 0) {
			fprintf(stderr, "mpsr-load: sd_journal_stream_fd: %s\n", strerror(-fd));
			return 1;
		}
	} else if (o->mode == MODE_EXEC) {
		fd = spawn(o->command, p, &child);
		if (fd < 0) {
			fprintf(stderr, "mpsr-load: cannot run %s: %s\n", o->command,
				strerror(-fd));
			return 1;
		}
	}
	/*
	 * sd_journal_stream_fd() asks for an 8 MiB send buffer (as PID 1 does for
	 * a service's stdout): a flood then "sends" minutes of lines at once.
	 * --sndbuf gives every stream the same, as a plain connect() gets.
	 */
	if ((o->mode == MODE_STREAM || o->mode == MODE_JOURNAL_STREAM) && o->sndbuf > 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof(o->sndbuf)) < 0) {
		fprintf(stderr, "mpsr-load: SO_SNDBUF: %s\n", strerror(errno));
		return 1;
	}
	out = malloc(o->batch + sizeof(msg));
	if (!out)
		return 1;

	char c;
	if (read(go_fd, &c, 1) != 0) /* the parent closes the pipe: everyone starts now */
		return 1;
	uint64_t start = realtime_usec();
	uint64_t end = o->duration > 0 ? start + (uint64_t)(o->duration * 1e6) : UINT64_MAX;
	unsigned long i;

	for (i = 0; i < o->messages && r == 0; i++) {
		if (o->rate)
			sleep_until(start + i * 1000000ull / o->rate);
		if (end != UINT64_MAX && realtime_usec() >= end)
			break;
		/* Looked for before each message at a rate, else every 64th. */
		if (o->until && (o->rate || i % 64 == 0) && access(o->until, F_OK) == 0)
			break;
		size_t len = format_msg(o, p, i, msg, sizeof(msg) - 1);
		switch (o->mode) {
		case MODE_NATIVE:
			r = sd_journal_send("MESSAGE=%.*s", (int)len, msg, "PRIORITY=6",
					    "SYSLOG_IDENTIFIER=%s", o->tag, NULL);
			break;
		case MODE_DGRAM:
			while ((r = (int)send(fd, msg, len, 0)) < 0 && errno == EINTR)
				;
			r = r < 0 ? -errno : 0;
			break;
		default:
			msg[len++] = '\n';
			/* Whole lines per write, as a line-buffered producer writes them. */
			if (used + len > o->batch || o->rate) {
				r = write_all(fd, out, used);
				used = 0;
			}
			memcpy(out + used, msg, len);
			used += len;
			if (o->rate) {
				r = write_all(fd, out, used);
				used = 0;
			}
		}
	}
	if (r == 0 && used)
		r = write_all(fd, out, used);
	if (r < 0) {
		fprintf(stderr, "mpsr-load: producer %u: %s\n", p, strerror(-r));
		return 1;
	}
	if (o->hold)
		sleep(o->hold);
	free(out);
	if (fd >= 0)
		close(fd);
	if (child > 0) {
		int status;
		if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "mpsr-load: producer %u: %s failed\n", p, o->command);
			return 1;
		}
	}
	/* One short write to a pipe is atomic: the lines of producers do not mix. */
	char line[64];
	int k = snprintf(line, sizeof(line), "producer p=%u sent=%lu\n", p, i);
	if (write(report_fd, line, (size_t)k) != k)
		return 1;
	return 0;
}

/*
 * Starts `sh -c o->ready` (which should exec the daemon) with NOTIFY_SOCKET
 * set to a socket of ours, and prints the microseconds from fork() to its
 * READY=1. Then stops it with SIGTERM.
 */
static int time_ready(const struct options *o) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[4096];
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 1;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/run/mpsr-load-notify.%d", (int)getpid());
	unlink(sa.sun_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("mpsr-load: notify socket");
		return 1;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid == 0) {
		setenv("NOTIFY_SOCKET", sa.sun_path, 1);
		execl("/bin/sh", "sh", "-c", o->ready, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		buf[n] = '\0';
		if (strncmp(buf, "READY=1", 7) == 0 || strstr(buf, "\nREADY=1")) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			printf("ready_usec=%lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000 +
							    (t1.tv_nsec - t0.tv_nsec) / 1000);
			r = 0;
			break;
		}
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	unlink(sa.sun_path);
	close(fd);
	return r;
}

/* Opens n connections to the stream socket and keeps them for o->hold seconds. */
static int hold_idle(const struct options *o) {
	struct rlimit rl;
	unsigned n = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < o->idle + 64) {
		rl.rlim_cur = rl.rlim_max < o->idle + 64 ? rl.rlim_max : o->idle + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (; n < o->idle; n++) {
		int fd = connect_to(o->socket, SOCK_STREAM);
		if (fd < 0) {
			fprintf(stderr, "mpsr-load: connection %u: %s\n", n, strerror(-fd));
			break;
		}
	}
	printf("connected=%u\n", n);
	fflush(stdout);
	if (n == o->idle && o->hold)
		sleep(o->hold);
	return n == o->idle ? 0 : 1;
}

static void help(void) {
	printf("Usage: mpsr-load [OPTIONS]\n\n"
	       "  -s --socket=PATH      Socket to write to (default /run/mpsr.sock)\n"
	       "  -P --producers=N      Producer processes (default 1)\n"
	       "  -m --messages=N       Messages per producer (default 1000)\n"
	       "  -b --size=BYTES       Message size without newline (default 100)\n"
	       "  -t --tag=TAG          First word of every message (default mpsr-load)\n"
	       "  -r --rate=N           Messages per second per producer (default: no limit)\n"
	       "     --batch=BYTES      Most bytes per write() on a stream (default 4096)\n"
	       "     --hold=SECONDS     Keep connections open afterwards\n"
	       "     --sndbuf=BYTES     SO_SNDBUF of each stream (the kernel doubles it)\n"
	       "  -d --duration=SECONDS  Send for this long instead of a fixed count\n"
	       "     --until=FILE       Send until FILE exists instead of a fixed count\n"
	       "     --syslog           Put an RFC 3164 header in front of each message\n"
	       "     --mode=MODE        stream, dgram, native (sd_journal_send),\n"
	       "                        journal-stream (journald's stdout stream), or\n"
	       "                        exec (lines to the stdin of --exec's command)\n"
	       "     --exec=COMMAND     Shell command each producer feeds (--mode=exec)\n"
	       "     --idle=N           Only open N connections and hold them --hold seconds\n"
	       "     --ready=COMMAND    Only time COMMAND (a Type=notify daemon) to READY=1\n");
}

int main(int argc, char *argv[]) {
	static const struct option options[] = {
		{"socket", required_argument, NULL, 's'},
		{"producers", required_argument, NULL, 'P'},
		{"messages", required_argument, NULL, 'm'},
		{"size", required_argument, NULL, 'b'},
		{"tag", required_argument, NULL, 't'},
		{"rate", required_argument, NULL, 'r'},
		{"batch", required_argument, NULL, 'B'},
		{"hold", required_argument, NULL, 'H'},
		{"sndbuf", required_argument, NULL, 'N'},
		{"mode", required_argument, NULL, 'M'},
		{"duration", required_argument, NULL, 'd'},
		{"until", required_argument, NULL, 'U'},
		{"exec", required_argument, NULL, 'E'},
		{"idle", required_argument, NULL, 'I'},
		{"ready", required_argument, NULL, 'R'},
		{"syslog", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct options o = {
		.socket = "/run/mpsr.sock",
		.tag = "mpsr-load",
		.producers = 1,
		.messages = 1000,
		.size = 100,
		.batch = 4096,
		.mode = MODE_STREAM,
	};
	bool messages_given = false;
	int c;

	while ((c = getopt_long(argc, argv, "s:P:m:b:t:r:d:h", options, NULL)) >= 0) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'P': o.producers = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'm':
			o.messages = strtoul(optarg, NULL, 10);
			messages_given = true;
			break;
		case 'd': o.duration = strtod(optarg, NULL); break;
		case 'U': o.until = optarg; break;
		case 'E': o.command = optarg; break;
		case 'I': o.idle = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'R': o.ready = optarg; break;
		case 'b': o.size = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': o.tag = optarg; break;
		case 'r': o.rate = strtoul(optarg, NULL, 10); break;
		case 'B': o.batch = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'H': o.hold = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'N': o.sndbuf = (int)strtol(optarg, NULL, 10); break;
		case 'M':
			if (!strcmp(optarg, "stream"))
				o.mode = MODE_STREAM;
			else if (!strcmp(optarg, "dgram"))
				o.mode = MODE_DGRAM;
			else if (!strcmp(optarg, "native"))
				o.mode = MODE_NATIVE;
			else if (!strcmp(optarg, "journal-stream"))
				o.mode = MODE_JOURNAL_STREAM;
			else if (!strcmp(optarg, "exec"))
				o.mode = MODE_EXEC;
			else {
				fprintf(stderr, "mpsr-load: unknown mode %s\n", optarg);
				return 2;
			}
			break;
		case 'S': o.syslog = true; break;
		case 'h': help(); return 0;
		default: return 2;
		}
	}
	if (o.producers == 0 || o.size > 60000 || o.batch == 0 || o.duration < 0 ||
	    (o.mode == MODE_EXEC) != (o.command != NULL)) {
		fprintf(stderr, "mpsr-load: bad arguments\n");
		return 2;
	}
	if (o.idle)
		return hold_idle(&o);
	if (o.ready)
		return time_ready(&o);
	bool open_ended = o.duration > 0 || o.until;
	if (open_ended && !messages_given)
		o.messages = ULONG_MAX;

	int go[2], report[2];
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0)
		return 1;
	for (unsigned p = 0; p < o.producers; p++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("mpsr-load: fork");
			return 1;
		}
		if (pid == 0) {
			close(go[1]);
			close(report[0]);
			_exit(produce(&o, p, go[0], report[1]));
		}
	}
	close(go[0]);
	close(report[1]);
	/* Give every producer time to connect before they all start. */
	usleep(o.producers > 100 ? 500000 : 50000);
	uint64_t start = realtime_usec();
	close(go[1]);

	/* The producers' reports, read while they run so that none blocks on the pipe. */
	FILE *f = fdopen(report[0], "r");
	char line[128];
	unsigned long total = 0;
	while (f && fgets(line, sizeof(line), f)) {
		const char *sent = strstr(line, "sent=");
		if (sent)
			total += strtoul(sent + 5, NULL, 10);
		if (open_ended)
			fputs(line, stdout);
	}
	int failed = 0, status;
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	double secs = (double)(realtime_usec() - start) / 1e6;
	printf("sent=%lu producers=%u failed=%d seconds=%.3f rate=%.0f start=%llu\n", total,
	       o.producers, failed, secs, (double)total / secs, (unsigned long long)start);
	return failed ? 1 : 0;
}
