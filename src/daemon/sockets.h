/* SPDX-License-Identifier: MIT */
#pragma once

#include "server.h"

/*
 * At start, gives the server what it is to serve: the sockets the service
 * manager passed, the connections it kept in its fd store (restored before
 * any new producer is accepted), and a stream socket bound at each of
 * paths[0..n) (--listen, for running by hand and in tests). Logs what fails.
 * Returns how many sockets are listened on (at least one), or a negative errno.
 */
int sockets_take(struct server *s, const char *const *paths, unsigned n);
