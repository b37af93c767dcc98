/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "unitkey.h"

static struct unit_key key(const char *path) {
	struct unit_key k;

	cr_assert_eq(unit_key_from_path(path, &k), 0, "%s", path);
	return k;
}

Test(unitkey, system_service) {
	struct unit_key k = key("/system.slice/foo.service");
	cr_assert_str_eq(k.unit, "foo.service");
	cr_assert_str_eq(k.user_unit, "");
	cr_assert_str_eq(k.slice, "system.slice");
}

/* journald keys a user unit's processes as their manager: one tenant per user. */
Test(unitkey, user_units_key_as_their_manager) {
	struct unit_key k =
		key("/user.slice/user-1000.slice/user@1000.service/app.slice/app-x.service");
	cr_assert_str_eq(k.unit, "user@1000.service");
	cr_assert_str_eq(k.user_unit, "app-x.service");
	cr_assert_str_eq(k.slice, "user-1000.slice");
}

Test(unitkey, logins_are_their_session) {
	struct unit_key k = key("/user.slice/user-1000.slice/session-3.scope");
	cr_assert_str_eq(k.unit, "session-3.scope");
	cr_assert_str_eq(k.slice, "user-1000.slice");
}

Test(unitkey, nested_cgroups_below_the_unit) {
	cr_assert_str_eq(key("/system.slice/docker.service/sub/group").unit, "docker.service");
	cr_assert_str_eq(key("/init.scope").unit, "init.scope");
	cr_assert_str_eq(key("/init.scope").slice, "-.slice");
}

/* systemd escapes a cgroup name that would clash with its own files with a leading '_'. */
Test(unitkey, escaped_names) {
	cr_assert_str_eq(key("/system.slice/_cpu.service").unit, "cpu.service");
}

Test(unitkey, no_unit) {
	struct unit_key k;
	cr_assert_eq(unit_key_from_path("/", &k), -ENOENT);
	cr_assert_eq(unit_key_from_path("/user.slice/user-1000.slice", &k), -ENOENT);
	cr_assert_eq(unit_key_from_path("/machine/foo", &k), -ENOENT);
}

Test(unitkey, proc_cgroup_text) {
	const char *v2 = "0::/system.slice/bar.service\n";
	const char *hybrid = "12:cpu:/x\n1:name=systemd:/system.slice/old.service\n"
			     "0::/system.slice/new.service\n";
	struct unit_key k;

	cr_assert_eq(unit_key_from_proc(v2, strlen(v2), &k), 0);
	cr_assert_str_eq(k.unit, "bar.service");
	cr_assert_eq(unit_key_from_proc(hybrid, strlen(hybrid), &k), 0);
	cr_assert_str_eq(k.unit, "new.service");
	cr_assert_eq(unit_key_from_proc("12:cpu:/x\n", 10, &k), -EINVAL);
	cr_assert_str_eq(k.unit, "");
}

static const char *name_of(const char *path) {
	static char buf[UNIT_NAME_MAX];
	struct unit_key k;

	memset(&k, 0, sizeof(k));
	if (path)
		cr_assert_eq(unit_key_from_path(path, &k), 0);
	unit_key_name(&k, buf, sizeof(buf));
	return buf;
}

Test(unitkey, name_for_an_identifier) {
	cr_assert_str_eq(name_of("/system.slice/nginx.service"), "nginx");
	cr_assert_str_eq(name_of("/system.slice/system-getty.slice/getty@tty1.service"), "getty");
	cr_assert_str_eq(name_of("/user.slice/user-1000.slice/user@1000.service/app.slice/"
				 "backup.service"),
			 "backup");
	/* What names no program gives no name. */
	cr_assert_str_eq(name_of("/user.slice/user-1000.slice/user@1000.service/init.scope"), "");
	cr_assert_str_eq(name_of("/user.slice/user-1000.slice/session-3.scope"), "");
	cr_assert_str_eq(name_of(NULL), "");
}

Test(unitkey, name_fits_its_buffer) {
	struct unit_key k;
	char buf[4];

	memset(&k, 0, sizeof(k));
	cr_assert_eq(unit_key_from_path("/system.slice/postgresql.service", &k), 0);
	unit_key_name(&k, buf, sizeof(buf));
	cr_assert_str_eq(buf, "pos");
}
