/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "fdstore.h"

int fdstore_put(int fd, const char *name) {
	char msg[320];

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	int r = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
	return r < 0 ? r : r > 0;
}

void fdstore_drop(const char *name) {
	sd_notifyf(0, "FDSTOREREMOVE=1\nFDNAME=%s", name);
}

void fdstore_holder_name(char *buf, size_t size, unsigned gen, const char *end) {
	snprintf(buf, size, FDSTORE_HOLDER_PREFIX "%u-%s", gen, end);
}

bool fdstore_is_holder(const char *name, unsigned *gen) {
	size_t k = strlen(FDSTORE_HOLDER_PREFIX);

	if (strncmp(name, FDSTORE_HOLDER_PREFIX, k) != 0)
		return false;
	*gen = (unsigned)strtoul(name + k, NULL, 10);
	return true;
}

bool fdstore_is_kept(const char *name) {
	unsigned gen;

	return fdstore_is_holder(name, &gen) ||
	       strncmp(name, FDSTORE_CONN_PREFIX, strlen(FDSTORE_CONN_PREFIX)) == 0;
}

int fdstore_capacity(void) {
	const char *e = getenv("FDSTORE");
	char *end;

	if (!e || !*e)
		return -1;
	errno = 0;
	unsigned long v = strtoul(e, &end, 10);
	if (errno || *end || v > INT_MAX)
		return -1;
	return (int)v;
}
