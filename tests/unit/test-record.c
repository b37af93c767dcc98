/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "record.h"

static void parse(const char *s, struct record *r) {
	record_parse(s, strlen(s), r);
}

static bool has_field(const struct record *r, const char *field) {
	for (size_t i = 0; i < r->n_fields; i++)
		if (r->fields[i].iov_len == strlen(field) &&
		    memcmp(r->fields[i].iov_base, field, strlen(field)) == 0)
			return true;
	return false;
}

Test(record, header_fields_then_multiline_text) {
	const char *p =
		"SYSLOG_IDENTIFIER=app\nPRIORITY=3\nREQUEST_ID=42\n\nTraceback:\n  at x\n\n  at y";
	struct record r;

	parse(p, &r);
	cr_assert_eq(r.priority, 3);
	cr_assert_eq(r.identifier.iov_len, strlen("SYSLOG_IDENTIFIER=app"));
	cr_assert_eq(r.n_fields, 1);
	cr_assert(has_field(&r, "REQUEST_ID=42"));
	cr_assert_str_eq(p + r.text, "Traceback:\n  at x\n\n  at y");
	cr_assert_eq(r.text_len, strlen("Traceback:\n  at x\n\n  at y"));
	cr_assert_eq(r.refused, 0);
}

Test(record, no_header_means_all_text) {
	struct record r;

	parse("just a message\nwith lines", &r);
	cr_assert_eq(r.text, 0);
	cr_assert_eq(r.priority, -1);
	cr_assert_eq(r.n_fields, 0);
}

Test(record, blank_line_in_plain_text_loses_nothing) {
	const char *p = "Exception in main\n\n  at Foo.bar";
	struct record r;

	parse(p, &r);
	cr_assert_eq(r.text, 0);
	cr_assert_eq(r.text_len, strlen(p));
}

Test(record, empty_header) {
	struct record r;

	parse("\nbody", &r);
	cr_assert_eq(r.text, 1);
	cr_assert_eq(r.text_len, 4);
}

Test(record, identity_fields_are_refused) {
	struct record r;

	parse("MPSR_PID=1\nMPSR_UID=0\nSYSLOG_PID=1\nOBJECT_PID=1\nMESSAGE=x\nGOOD=1\n\nbody", &r);
	cr_assert_eq(r.refused, 5);
	cr_assert_eq(r.n_fields, 1);
	cr_assert(has_field(&r, "GOOD=1"));
}

Test(record, trusted_fields_cannot_even_be_spelled) {
	struct record r;

	/* "_PID" does not look like a field, so the packet is all text: nothing is set. */
	parse("_PID=1\n_SYSTEMD_UNIT=evil.service\n\nbody", &r);
	cr_assert_eq(r.n_fields, 0);
	cr_assert_eq(r.text, 0);
	cr_assert_not_null(record_field_refusal("_PID=1", 6));
}

Test(record, bad_priority_refused) {
	struct record r;

	parse("PRIORITY=9\nPRIORITY=x\n\nbody", &r);
	cr_assert_eq(r.priority, -1);
	cr_assert_eq(r.refused, 2);
}

Test(record, too_many_fields_are_counted) {
	char p[4096] = "";
	struct record r;

	for (int i = 0; i < RECORD_FIELDS_MAX + 3; i++)
		sprintf(p + strlen(p), "F%d=v\n", i);
	strcat(p, "\nbody");
	parse(p, &r);
	cr_assert_eq(r.n_fields, RECORD_FIELDS_MAX);
	cr_assert_eq(r.refused, 3);
}
