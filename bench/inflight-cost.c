/* SPDX-License-Identifier: MIT */
/*
 * inflight-cost: what a bystander process pays for AF_UNIX, whatever else the
 * host holds in flight. Measures, for a number of seconds each:
 *
 *   dgram   a 100-byte send + recv over a datagram socket pair
 *   stream  a 100-byte write + read over a stream socket pair
 *   pair    socketpair() + close() of both ends (each AF_UNIX close may run
 *           the kernel's collector when anything is in flight, on old kernels)
 *
 * in batches of 64 operations; prints the median and the 99th percentile of
 * the per-operation time of the batches, in ns.
 *
 *   inflight-cost [-t SECONDS]   (default 3 per measurement)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_ns(void) {
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* One batch of an operation; returns ns per operation, or -1. */
typedef double (*batch_fn)(int sv[2]);

static double batch_io(int sv[2]) {
	char buf[100] = {0};
	double t0 = now_ns();

	for (int i = 0; i < BATCH; i++)
		if (send(sv[0], buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(sv[1], buf, sizeof(buf), 0) != sizeof(buf))
			return -1;
	return (now_ns() - t0) / BATCH;
}

static double batch_pair(int sv[2]) {
	(void)sv;
	double t0 = now_ns();

	for (int i = 0; i < BATCH; i++) {
		int p[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0)
			return -1;
		close(p[0]);
		close(p[1]);
	}
	return (now_ns() - t0) / BATCH;
}

static int measure(const char *name, int type, batch_fn fn, double secs) {
	size_t cap = 1 << 16, n = 0;
	double *v = malloc(cap * sizeof(double)), end = now_ns() + secs * 1e9;
	int sv[2] = {-1, -1};

	if (!v || (type && socketpair(AF_UNIX, type, 0, sv) < 0))
		return perror(name), -1;
	while (now_ns() < end) {
		double t = fn(sv);
		if (t < 0)
			return perror(name), -1;
		if (n == cap && !(v = realloc(v, (cap *= 2) * sizeof(double))))
			return perror(name), -1;
		v[n++] = t;
	}
	qsort(v, n, sizeof(double), cmp);
	printf("%-7s median %7.0f ns  p99 %8.0f ns  (%zu ops)\n", name, v[n / 2], v[n * 99 / 100],
	       n * BATCH);
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	free(v);
	return 0;
}

int main(int argc, char *argv[]) {
	double secs = 3;
	int c;

	while ((c = getopt(argc, argv, "t:")) >= 0)
		if (c == 't')
			secs = atof(optarg);
		else
			return fprintf(stderr, "usage: inflight-cost [-t SECONDS]\n"), 2;
	if (measure("dgram", SOCK_DGRAM, batch_io, secs) < 0 ||
	    measure("stream", SOCK_STREAM, batch_io, secs) < 0 ||
	    measure("pair", 0, batch_pair, secs) < 0)
		return 1;
	return 0;
}
