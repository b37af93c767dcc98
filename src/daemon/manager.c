/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "macro.h"
#include "manager.h"

#define SYSTEMD      "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
/* A stop must not wait long for an answer: without one, unfinished lines are written out. */
#define CALL_TIMEOUT_USEC 2000000

static void bus_closep(sd_bus **bus) {
	sd_bus_flush_close_unref(*bus);
}

static void message_unrefp(sd_bus_message **m) {
	sd_bus_message_unref(*m);
}

static int job_type(sd_bus *bus, char **ret) {
	_cleanup_(message_unrefp) sd_bus_message *unit = NULL, *job = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *path, *job_path;
	uint32_t id;
	int r;

	r = sd_bus_call_method(bus, SYSTEMD, SYSTEMD_PATH, SYSTEMD ".Manager", "GetUnitByPID",
			       &error, &unit, "u", (uint32_t)getpid());
	if (r >= 0 && (r = sd_bus_message_read(unit, "o", &path)) >= 0)
		r = sd_bus_get_property(bus, SYSTEMD, path, SYSTEMD ".Unit", "Job", &error, &job,
					"(uo)");
	if (r >= 0 && (r = sd_bus_message_read(job, "(uo)", &id, &job_path)) >= 0) {
		if (id == 0)
			r = -ENOENT; /* no job: nothing will start it again */
		else
			r = sd_bus_get_property_string(bus, SYSTEMD, job_path, SYSTEMD ".Job",
						       "JobType", &error, ret);
	}
	sd_bus_error_free(&error);
	return r;
}

int manager_restarting(void) {
	_cleanup_(bus_closep) sd_bus *bus = NULL;
	_cleanup_(freep) char *type = NULL;
	int r;

	if ((r = sd_bus_open_system(&bus)) < 0)
		return r;
	(void)sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_USEC);
	r = job_type(bus, &type);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	/* "restart" while it stops; the other kinds that end in a start say so too. */
	return strcmp(type, "restart") == 0 || strcmp(type, "try-restart") == 0 ||
	       strcmp(type, "reload-or-restart") == 0;
}
