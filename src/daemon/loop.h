/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/*
 * The one event loop: poll() over every registered fd, with callbacks.
 *
 * The pollfd array is kept compact and is only rewritten when sources come or
 * go; changing a source's events is O(1). Sources may be added and removed from
 * inside callbacks; removed ones are swept after the dispatch round.
 */

struct loop;
struct loop_source;

/* Called with the fd's revents; a negative return ends loop_dispatch() with it. */
typedef int (*loop_cb)(int fd, short revents, void *data);

int loop_new(struct loop **ret);
void loop_free(struct loop *loop);

/* Watches fd for events; the loop does not own the fd. Returns NULL on ENOMEM. */
struct loop_source *loop_add(struct loop *loop, int fd, short events, loop_cb cb, void *data);

/* Changes the events a source waits for; 0 pauses it (not even POLLHUP wakes it). */
void loop_set_events(struct loop_source *src, short events);

/* Forgets a source; safe inside its own callback. */
void loop_remove(struct loop_source *src);

/* Number of live sources. */
unsigned loop_count(const struct loop *loop);

/*
 * Waits up to timeout_ms (-1: forever) and runs the callbacks of ready fds.
 * Returns the number of callbacks run, or a negative errno.
 */
int loop_dispatch(struct loop *loop, int timeout_ms);
