/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>

/*
 * The read-back's one question, asked of journal j: among the entries of
 * boot `boot` that uid `uid` wrote (journald's _BOOT_ID and _UID, which it
 * takes from the kernel and no client can set) and that carry MPSR_LEDGER=
 * with either parity of tag, is the last one tag? 1, 0 (also when there is
 * none), or a negative errno. tag must be valid (readback_tag_valid()).
 *
 * _SYSTEMD_UNIT is not matched: an entry journald processes after its sender
 * died may lack it, and the entry in doubt is exactly one whose sender died.
 * The uid is the writer's: under DynamicUser= only the service's own
 * processes have it.
 */
int readback_last_is(sd_journal *j, const char *tag, uid_t uid, sd_id128_t boot);

/*
 * The boot journald is in, as it stamps its entries: that of the newest
 * entry in j. Not /proc/sys/kernel/random/boot_id: in a container, a process
 * under ProtectKernelTunables= sees the host's boot id there, not the one
 * the container's journald writes. Should the newest entry be of an earlier
 * boot (a clock set back), the match finds none of mpsrd's entries and the
 * entry in doubt is sent again: a duplicate at worst, never a loss.
 */
int readback_current_boot(sd_journal *j, sd_id128_t *boot);
