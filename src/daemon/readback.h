/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/*
 * After a crash: was the entry in doubt stored? mpsrd cannot read the journal
 * (it is not in group systemd-journal); mpsr-readback, started per connection
 * by mpsr-readback.socket, can, and answers this one question (query.h).
 */

/*
 * Asks the reader at path whether tag, written by uid, is the last of its
 * connection's entries in this boot, waiting up to timeout_usec for the
 * answer. 1, 0, or a negative errno: -ENOENT or -ECONNREFUSED when no reader
 * listens, -ETIMEDOUT, or the reader's own error.
 */
int readback_ask(const char *path, const char *tag, uid_t uid, uint64_t timeout_usec);

/*
 * The ledger's lookup (behind a ledger_lookup_fn): waits until journald has
 * processed everything sent to it so far (journal_sync(), the fence: the
 * dead process's last datagram is ahead of ours in journald's queue), then
 * asks the reader at READBACK_SOCKET about tag as written by uid.
 */
int readback_lookup(const char *tag, uid_t uid);
