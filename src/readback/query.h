/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * What mpsrd and mpsr-readback say to each other: one question per
 * connection on a seqpacket socket, one packet each way.
 *
 *   question  "UID MPSR_LEDGER=TAG"  (decimal uid, a space, the tag field)
 *   answer    "1" (the entry is the last), "0" (it is not), or "-ERRNO"
 *
 * The question is: of this boot's entries that uid UID wrote with
 * MPSR_LEDGER= of either parity of TAG, is the last one TAG? The reader
 * takes the boot from the kernel, not from the question.
 */

#define READBACK_SOCKET "/run/mpsr-readback.sock"
/* The same field as the ledger's tags (ledger.h LEDGER_FIELD). */
#define READBACK_FIELD        "MPSR_LEDGER="
#define READBACK_TAG_MAX      79 /* with the field's name, without the NUL: LEDGER_TAG_MAX - 1 */
#define READBACK_QUESTION_MAX (16 + READBACK_TAG_MAX)

/*
 * Whether tag is one mpsrd writes: READBACK_FIELD, then letters, digits and
 * dots, ending in the parity '0' or '1'. Nothing else reaches a journal match.
 */
bool readback_tag_valid(const char *tag);

/* Writes the question into buf (size bytes): its length, or -EINVAL. */
int readback_question_format(char *buf, size_t size, uid_t uid, const char *tag);

/*
 * Reads a question of len bytes (buf has room for one more, which gets a
 * NUL): *uid, and *tag pointing into buf. 0, or -EINVAL for anything else.
 */
int readback_question_parse(char *buf, size_t len, uid_t *uid, const char **tag);

/* Reads an answer: 1, 0, a negative errno it carries, or -EBADMSG. */
int readback_answer_parse(const char *buf, size_t len);
