/* SPDX-License-Identifier: MIT */
/*
 * mpsr-readback: after a crash, mpsrd asks whether journald got the one
 * entry it was sending when it died (query.h). Reading that back needs the
 * system journal, which mpsrd must not be able to read: it parses every
 * local user's bytes. This small program has that access and nothing else.
 * mpsr-readback.socket (Accept=yes) starts it for each connection, which is
 * its fd 0; it answers one question, and only to mpsrd of mpsr.service.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <systemd/sd-daemon.h>

#include "cgroup.h"
#include "log.h"
#include "match.h"
#include "query.h"

#define RECV_TIMEOUT_S 5

/* The cgroup of process `who` ("self" or a pid). */
static int read_cgroup(const char *who, char *buf, size_t size) {
	char path[64];

	snprintf(path, sizeof(path), "/proc/%s/cgroup", who);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int r = cgroup_parse(f, buf, size);
	fclose(f);
	return r;
}

/* Where unit's processes are: beside the slice of this program's own instances. */
static int expected_cgroup(const char *unit, char *buf, size_t size) {
	char own[CGROUP_MAX];
	int r = read_cgroup("self", own, sizeof(own));

	return r < 0 ? r : cgroup_beside(own, unit, buf, size);
}

/*
 * Whether the peer of fd is a process of unit. Its pid and uid are the
 * kernel's, from its connect(); that /proc/PID still belongs to the same uid
 * shows the pid was not reused by another user's process since. (Under the
 * unit's PrivateUsers=, all uids but root's and the reader's own read as the
 * overflow uid: the check then tells root from the rest only, and the cgroup
 * decides.)
 */
static int peer_allowed(int fd, const char *unit, struct ucred *uc) {
	char pid[16], want[CGROUP_MAX], got[CGROUP_MAX], path[32];
	socklen_t len = sizeof(*uc);
	struct stat st;
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, uc, &len) < 0)
		return -errno;
	snprintf(pid, sizeof(pid), "%" PRIi32, (int32_t)uc->pid);
	snprintf(path, sizeof(path), "/proc/%s", pid);
	if (stat(path, &st) < 0)
		return -errno;
	if (st.st_uid != uc->uid)
		return -EPERM;
	if ((r = expected_cgroup(unit, want, sizeof(want))) < 0 ||
	    (r = read_cgroup(pid, got, sizeof(got))) < 0)
		return r;
	return strcmp(want, got) == 0 ? 0 : -EPERM;
}

static int lookup(const char *tag, uid_t uid) {
	_cleanup_(sd_journal_closep) sd_journal *j = NULL;
	sd_id128_t boot;
	int r;

	if ((r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)) < 0)
		return r;
	if (sd_journal_has_runtime_files(j) <= 0 && sd_journal_has_persistent_files(j) <= 0)
		return -EACCES; /* nothing readable: not in group systemd-journal */
	if ((r = readback_current_boot(j, &boot)) < 0)
		return r;
	return readback_last_is(j, tag, uid, boot);
}

/* One question on fd, one answer. */
static int serve(int fd, const char *unit) {
	char buf[READBACK_QUESTION_MAX + 1], out[16];
	struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
	struct ucred uc = {0};
	const char *tag;
	uid_t uid;
	int r;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r = peer_allowed(fd, unit, &uc);
	/* Read in any case: closed with the question unread, the connection is reset, answer and
	 * all. */
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_TRUNC);
	if (r < 0)
		log_warning_errno(r, "pid %" PRIi32 " uid %" PRIu32 " is not %s: no answer",
				  (int32_t)uc.pid, (uint32_t)uc.uid, unit);
	else if (n < 0)
		return log_errno(-errno, "cannot read the question");
	else if ((size_t)n >= sizeof(buf) ||
		 readback_question_parse(buf, (size_t)n, &uid, &tag) < 0)
		r = log_warning_errno(-EINVAL, "not a question: %zd bytes", n);
	else if ((r = lookup(tag, uid)) < 0)
		log_warning_errno(r, "cannot read %s back", tag);
	else
		log_info("%s from uid %" PRIu32 " in this boot: %s", tag, (uint32_t)uid,
			 r ? "the last of its connection's" : "not the last");
	int k = snprintf(out, sizeof(out), "%d", r);
	if (send(fd, out, (size_t)k, MSG_NOSIGNAL) < 0)
		return log_errno(-errno, "cannot answer");
	return r < 0 ? r : 0;
}

static void help(void) {
	printf("mpsr-readback [--unit=NAME]\n\n"
	       "Answers mpsrd's question after a crash: is its last entry in the journal?\n"
	       "Started by mpsr-readback.socket, one connection on standard input.\n\n"
	       "  --unit=NAME  the unit whose processes may ask (mpsr.service)\n"
	       "  --help       this text\n"
	       "  --version    the version\n");
}

int main(int argc, char **argv) {
	static const struct option options[] = {
		{"unit", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	const char *unit = "mpsr.service";
	int c;

	log_set_prefix("mpsr-readback");
	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case 'u': unit = optarg; break;
		case 'h': help(); return 0;
		case 'V': puts("mpsr-readback " MPSR_VERSION); return 0;
		default: return 2;
		}
	}
	if (optind < argc || strchr(unit, '/'))
		return log_error("usage: mpsr-readback [--unit=NAME]"), 2;
	if (sd_is_socket(0, AF_UNIX, SOCK_SEQPACKET, -1) <= 0)
		return log_error("standard input is not a connection: "
				 "started by mpsr-readback.socket only"),
		       1;
	return serve(0, unit) < 0;
}
