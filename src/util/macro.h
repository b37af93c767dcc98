/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

/* For _cleanup_: close an fd or free a pointer when the variable goes out of scope. */
static inline void closep(int *fd) {
	if (*fd >= 0) {
		int saved = errno; /* close() must not clobber the errno a caller reports */
		close(*fd);
		errno = saved;
	}
}

static inline void freep(void *p) {
	free(*(void **)p);
}

/* Hands an fd on to a new owner: returns it and leaves -1 behind. */
static inline int take_fd(int *fd) {
	int r = *fd;
	*fd = -1;
	return r;
}
