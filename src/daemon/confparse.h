/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * systemd's configuration files as systemd 252 reads them for its daemons:
 * the main file NAME, then its drop-ins (the values' parsers are confvalue.h).
 * Pure: it only reads files, under root ("" or NULL for /).
 *
 * The main file is the first of /etc/systemd/NAME, /run/systemd/NAME,
 * /usr/local/lib/systemd/NAME, /usr/lib/systemd/NAME (252 reads only the
 * /etc one; later versions the first found, and distributions that ship one
 * under /usr/lib have no /etc copy). Drop-ins are every *.conf in NAME.d/
 * under /etc/systemd, /run/systemd, /usr/local/lib/systemd,
 * /usr/lib/systemd and /lib/systemd (Debian builds with split-usr), a file
 * name found in an earlier directory hiding the same name in later ones
 * (/etc masks /run masks /usr...; an empty file or a link to /dev/null thus
 * masks), all read in lexical order of file name whatever their directory,
 * later assignments overriding earlier ones.
 */

/* Called for each KEY=VALUE of the wanted section, in the order journald applies them. */
typedef void (*conf_assign_fn)(const char *key, const char *value, void *data);

/*
 * Reads NAME (e.g. "journald.conf") and its drop-ins, calling fn for each
 * assignment in [section]. Comments (# ;), blank lines, other sections and
 * assignments outside a section are skipped; a line ending in a backslash
 * continues on the next. A malformed section header ends the reading there,
 * as in systemd (what was read before it stays applied). Returns 0, or a
 * negative errno for a file that exists but cannot be read.
 */
int conf_read(const char *root, const char *name, const char *section, conf_assign_fn fn,
	      void *data);

/*
 * Formats a path under root ("" or NULL for /) into buf: root, then fmt.
 * Returns 0, or -ENAMETOOLONG rather than a cut path that names another file.
 */
int conf_path(char *buf, size_t size, const char *root, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
