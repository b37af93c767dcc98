/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "fdstore.h"

#define CONN_PREFIX "c-"

int fdstore_add(int fd, char name[FDSTORE_NAME_MAX]) {
	struct stat st;
	char msg[96];

	name[0] = '\0';
	if (fstat(fd, &st) < 0)
		return -errno;
	/* The inode names the socket uniquely while it is open. */
	snprintf(name, FDSTORE_NAME_MAX, CONN_PREFIX "%lu", (unsigned long)st.st_ino);
	/* FDPOLL=0: the manager must keep the fd even after the producer hung up. */
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	int r = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
	if (r <= 0) {
		name[0] = '\0';
		return r < 0 ? r : -ENOTCONN;
	}
	return 0;
}

void fdstore_remove(const char *name) {
	if (name[0])
		sd_notifyf(0, "FDSTOREREMOVE=1\nFDNAME=%s", name);
}

bool fdstore_is_conn(const char *name) {
	return strncmp(name, CONN_PREFIX, strlen(CONN_PREFIX)) == 0;
}
