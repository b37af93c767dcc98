/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * A stand-in for the service manager's fd store, for the holder's tests: a
 * datagram socket at NOTIFY_SOCKET that keeps what FDSTORE=1 gives it and
 * drops what FDSTOREREMOVE=1 names, as systemd does, in a thread of the
 * test. A "restart" frees one holder and gives a new one copies of what the
 * stand-in keeps. And what the tests share.
 */
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "holder.h"

#define MAX_STORED 64
#define MSG_FDS    253

struct stored {
	char name[256];
	int fd;
};

extern struct manager {
	int sock;
	char path[108];
	pthread_t thread;
	pthread_mutex_t lock;
	bool stop;
	struct stored fd[MAX_STORED];
	unsigned n;
	unsigned max;     /* FileDescriptorStoreMax= (at most MAX_STORED) */
	unsigned refused; /* FDSTORE=1 beyond max */
} M;

/* Keeps fd under name, as FDSTORE=1 would; called with M.lock held. */
void keep(const char *name, int fd);
/* Everything sent so far is handled: sd_notify() returns once it is queued. */
void manager_sync(void);
void manager_start(void);
void manager_stop(void);
/* The fd the stand-in keeps under a name ending in suffix, or -1. */
int stored_fd(const char *suffix);
/* What a new mpsrd gets: copies of what the manager keeps, under their names. */
struct holder *restart(int (*adopt)(int fd, void *data), void *data, int *adopted);

/* The connections a restart served, by inode. */
struct got {
	int *fd;
	ino_t *ino;
	unsigned n, max;
};
int adopt_record(int fd, void *data);
struct got got_new(unsigned max);
void got_close(struct got *g);
int adopt_none(int fd, void *data);
ino_t inode(int fd);
/* g's index of the connection with this inode, or -1; fails if it is there twice. */
int find_ino(const struct got *g, ino_t ino);
void send_fds(int sock, const int *fds, unsigned n);

/* Every producer still connected: none sees the end (its peer is kept somewhere). */
void assert_connected(const int *peer, int n);
/* n connections kept by an mpsrd that is gone now: in a holder of the manager, nowhere else. */
void kept_by_a_gone_mpsrd(int *peer, ino_t *ino, int n);
/* The next start takes back each of them once. */
void all_come_back(const ino_t *ino, int n);
