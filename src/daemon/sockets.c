/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "sockets.h"

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

/* One fd passed at start: a kept connection, a socket to serve, or neither. */
static int take_passed(struct server *s, int fd, const char *name) {
	int r;

	if (server_is_kept(name)) {
		r = server_take_kept(s, fd, name);
		if (r < 0) {
			log_warning_errno(r, "dropping stored fd %s", name);
			close(fd);
		}
		return 0;
	}
	if (sd_is_socket(fd, AF_UNIX, 0, -1) > 0) {
		r = server_add_listener(s, fd);
		if (r < 0)
			return log_errno(r, "cannot serve passed socket %d (%s)", fd, name);
		return 1;
	}
	log_warning("ignoring passed fd %d (%s): not a Unix socket", fd, name);
	close(fd);
	return 0;
}

/* The fds systemd passed; returns how many are sockets to serve, or a negative errno. */
static int take_all_passed(struct server *s) {
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);
	int listeners = 0;

	if (n < 0)
		return log_errno(n, "sd_listen_fds");
	for (int i = 0; i < n; i++) {
		const char *name = names && names[i] ? names[i] : "";
		int r = take_passed(s, SD_LISTEN_FDS_START + i, name);
		if (r < 0) {
			listeners = r;
			break;
		}
		listeners += r;
	}
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	return listeners;
}

int sockets_take(struct server *s, const char *const *paths, unsigned n) {
	int listeners = take_all_passed(s);

	if (listeners < 0)
		return listeners;
	/* Before serving anyone: new connections go into the holder made here. */
	int kept = server_restore(s);
	if (kept < 0)
		return log_errno(kept, "cannot take back the kept connections");
	if (kept > 0)
		log_info("took back %d connections", kept);

	for (unsigned i = 0; i < n; i++) {
		int fd = listen_path(paths[i]);
		if (fd < 0)
			return fd;
		int r = server_add_listener(s, fd);
		if (r < 0)
			return log_errno(r, "cannot serve %s", paths[i]);
		listeners++;
	}
	if (listeners == 0)
		return log_error("no socket to serve: start mpsr.socket, or pass --listen=PATH"),
		       -EBADF;
	return listeners;
}
