/* SPDX-License-Identifier: MIT */
/* The journal read-back: whether journald has the entry that was in doubt at a crash. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "journal.h"
#include "ledger-int.h"
#include "log.h"
#include "macro.h"

/* How long recovery waits for journald to process what it was sent before reading back. */
#define SYNC_USEC (30ULL * 1000000)

int ledger_lookup_journal(const char *tag, void *data) {
	char other[LEDGER_TAG_MAX];
	size_t n = strlen(tag);
	int r;
	(void)data;

	/* Everything sent before the crash is processed before journald takes this. */
	if ((r = journal_sync(now_usec() + SYNC_USEC)) < 0)
		return r;
	/* The connection's entries of that generation, of either parity: the last one decides. */
	memcpy(other, tag, n + 1);
	other[n - 1] = other[n - 1] == '0' ? '1' : '0';
	return journal_last_is(tag, other);
}
