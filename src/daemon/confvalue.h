/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

/*
 * systemd's parsers for the values mpsr reads from its configuration files
 * (confparse.h): the same text gives the same value or the same refusal as
 * systemd 252's parse_sec(), parse_size(…, 1024) and safe_atou()/safe_atou64().
 */

/*
 * A time span as systemd's parse_sec(): "30s", "1min 30s", "500ms", "1.5h",
 * "0", a bare number in seconds, "infinity" (UINT64_MAX). 0 or -EINVAL/-ERANGE.
 */
int conf_parse_timespan(const char *s, uint64_t *ret_usec);

/* A size as systemd's parse_size(…, 1024): "4G", "512M", "1.5K", "100" bytes. */
int conf_parse_size(const char *s, uint64_t *ret_bytes);

/*
 * An unsigned number as systemd's safe_atou()/safe_atou64(): leading blanks,
 * C's 0x and 0 prefixes and 0b/0o; no sign, nothing after it.
 */
int conf_parse_u64(const char *s, uint64_t *ret);
int conf_parse_unsigned(const char *s, unsigned *ret);
