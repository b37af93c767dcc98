/* SPDX-License-Identifier: MIT */
/*
 * Linked into mpsrd and mpsr-readback only in an AddressSanitizer build
 * (-Db_sanitize=address).
 * LeakSanitizer's check at exit stops the process with ptrace(), which the
 * unit's SystemCallFilter= forbids: every exit, so every restart, would fail.
 * Leaks are still looked for by the unit tests and the fuzzers, which run the
 * same code outside the sandbox.
 */
const char *__asan_default_options(void);

const char *__asan_default_options(void) {
	return "detect_leaks=0";
}
