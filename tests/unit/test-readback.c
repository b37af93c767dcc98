/* SPDX-License-Identifier: MIT */
/*
 * The read-back after a crash: the question mpsrd asks mpsr-readback, and
 * the journal match that answers it. The match runs on a journal file made
 * by systemd-journal-remote from export text, so that entries can carry the
 * trusted fields (_UID, _BOOT_ID) of any sender: mpsrd's own, and those of a
 * local user who forges MPSR_LEDGER=. And mpsrd's side of the question:
 * every way the reader can fail to answer is an error, never a 0 or a 1.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgroup.h"
#include "ledger.h"
#include "macro.h"
#include "match.h"
#include "query.h"
#include "readback.h"

#define MPSRD  61000u /* the writer's uid (mpsrd's dynamic user) */
#define FORGER 65534u /* a local user: nobody's entries go to the system journal too */
#define BOOT   "0123456789abcdef0123456789abcdef"
#define OTHER  "fedcba9876543210fedcba9876543210" /* an earlier boot */

Test(readback_query, the_field_is_the_ledgers) {
	cr_assert_str_eq(READBACK_FIELD, LEDGER_FIELD);
	cr_assert_leq(LEDGER_TAG_MAX, READBACK_TAG_MAX + 1);
}

Test(readback_query, a_question_goes_there_and_back) {
	char buf[READBACK_QUESTION_MAX + 1];
	const char *tag;
	uid_t uid;
	int n = readback_question_format(buf, sizeof(buf), MPSRD, "MPSR_LEDGER=a9f.3.4711.1");

	cr_assert_eq(n, (int)strlen("61000 MPSR_LEDGER=a9f.3.4711.1"));
	cr_assert_eq(readback_question_parse(buf, (size_t)n, &uid, &tag), 0);
	cr_assert_eq(uid, MPSRD);
	cr_assert_str_eq(tag, "MPSR_LEDGER=a9f.3.4711.1");
}

/* Whatever reaches the journal match is a tag mpsrd could have written. */
Test(readback_query, anything_else_is_refused) {
	static const char *const bad[] = {
		"",
		"61000",
		"61000 ",
		"61000 MPSR_LEDGER=",
		"61000 MPSR_LEDGER=1.2.3",      /* no parity */
		"61000 MPSR_LEDGER=1.2.0 ",     /* trailing space */
		"61000 MPSR_LEDGER=1.2.0\n",    /* trailing newline */
		"61000 MPSR_LEDGER=1.2.0=_UID", /* another field */
		"61000 MESSAGE=1.2.0",
		"61000 _UID=0",
		"061000 MPSR_LEDGER=1.2.0", /* a leading zero */
		"-1 MPSR_LEDGER=1.2.0",
		"4294967295 MPSR_LEDGER=1.2.0", /* (uid_t)-1 */
		"4294967296 MPSR_LEDGER=1.2.0",
		"61000  MPSR_LEDGER=1.2.0",
		"61000 "
		"MPSR_LEDGER=1.2."
		"0000000000000000000000000000000000000000000000000000000000000000000000000000",
	};
	char buf[256];
	const char *tag;
	uid_t uid;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i]);
		memcpy(buf, bad[i], n + 1);
		cr_expect_eq(readback_question_parse(buf, n, &uid, &tag), -EINVAL, "accepted '%s'",
			     bad[i]);
	}
	/* A NUL inside the packet. */
	memcpy(buf, "61000 MPSR_LEDGER=1.2.0\0x", 25);
	cr_expect_eq(readback_question_parse(buf, 25, &uid, &tag), -EINVAL);
	cr_expect_eq(readback_question_format(buf, sizeof(buf), 0, "MPSR_LEDGER=1.2.0 x"), -EINVAL);
	cr_expect_eq(readback_question_format(buf, 8, 0, "MPSR_LEDGER=1.2.0"), -EINVAL);
}

Test(readback_query, answers) {
	cr_expect_eq(readback_answer_parse("1", 1), 1);
	cr_expect_eq(readback_answer_parse("0", 1), 0);
	cr_expect_eq(readback_answer_parse("-13", 3), -EACCES);
	cr_expect_eq(readback_answer_parse("2", 1), -EBADMSG);
	cr_expect_eq(readback_answer_parse("-0", 2), -EBADMSG);
	cr_expect_eq(readback_answer_parse("-", 1), -EBADMSG);
	cr_expect_eq(readback_answer_parse("10", 2), -EBADMSG);
	cr_expect_eq(readback_answer_parse("", 0), -EBADMSG);
}

static char dir[] = "/tmp/test-readback-XXXXXX";
static char file[64];
static unsigned long long usec = 1700000000000000ULL;

static const char *journal_remote(void) {
	static const char *const paths[] = {"/usr/lib/systemd/systemd-journal-remote",
					    "/lib/systemd/systemd-journal-remote"};
	for (size_t i = 0; i < 2; i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* One entry: its boot, its writer's uid, its MPSR_LEDGER= value, a unit or none. */
static void entry(FILE *f, const char *boot, unsigned uid, const char *tag, const char *unit) {
	usec += 100;
	fprintf(f, "__REALTIME_TIMESTAMP=%llu\n__MONOTONIC_TIMESTAMP=%llu\n", usec, usec / 1000);
	fprintf(f, "_BOOT_ID=%s\n_UID=%u\nMESSAGE=line\n", boot, uid);
	if (unit)
		fprintf(f, "_SYSTEMD_UNIT=%s\n", unit);
	fprintf(f, "MPSR_LEDGER=%s\n\n", tag);
}

/*
 * mpsrd wrote conn 7's entries ...7.0 (with its unit) and ...7.1 (processed
 * after it died: no unit) and conn 8's ...8.0; then, in the same boot, a
 * local user forged the next parity of each. An earlier boot's mpsrd (same
 * dynamic uid) wrote ...9.1 last, and this boot's mpsrd wrote ...9.0.
 */
static void make_journal(void) {
	const char *tool = journal_remote();
	char cmd[256];

	if (!tool)
		cr_skip_test("systemd-journal-remote is not installed (tests/deps installs it)");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/t.journal", dir);
	snprintf(cmd, sizeof(cmd), "%s -o %s - 2>/dev/null", tool, file);
	FILE *f = popen(cmd, "w");
	cr_assert_not_null(f);
	entry(f, BOOT, MPSRD, "X.1.7.0", "mpsr.service");
	entry(f, BOOT, MPSRD, "X.1.9.0", "mpsr.service");
	entry(f, OTHER, MPSRD, "X.1.9.1", "mpsr.service");
	entry(f, BOOT, MPSRD, "X.1.7.1", NULL);
	entry(f, BOOT, MPSRD, "X.1.8.0", "mpsr.service");
	entry(f, BOOT, FORGER, "X.1.7.0", NULL);
	entry(f, BOOT, FORGER, "X.1.8.1", "mpsr.service"); /* a unit of the same name, elsewhere */
	entry(f, BOOT, FORGER, "X.1.10.1", NULL);
	cr_assert_eq(pclose(f), 0, "systemd-journal-remote failed");
}

static int last_is(const char *tag, unsigned uid, const char *boot) {
	_cleanup_(sd_journal_closep) sd_journal *j = NULL;
	const char *files[] = {file, NULL};
	sd_id128_t id;
	char field[READBACK_TAG_MAX + 1];

	cr_assert_eq(sd_journal_open_files(&j, files, 0), 0);
	cr_assert_eq(sd_id128_from_string(boot, &id), 0);
	snprintf(field, sizeof(field), "MPSR_LEDGER=%s", tag);
	return readback_last_is(j, field, uid, id);
}

static void cleanup(void) {
	unlink(file);
	rmdir(dir);
}

TestSuite(readback_match, .init = make_journal, .fini = cleanup);

Test(readback_match, the_writers_last_entry_decides) {
	cr_expect_eq(last_is("X.1.7.1", MPSRD, BOOT), 1, "mpsrd's last entry, without a unit");
	cr_expect_eq(last_is("X.1.8.0", MPSRD, BOOT), 1);
}

Test(readback_match, a_forged_entry_does_not) {
	/* The forger's X.1.7.0 came last: read as mpsrd's, the entry in doubt would be skipped. */
	cr_expect_eq(last_is("X.1.7.0", MPSRD, BOOT), 0);
	/* The forger's X.1.8.1 would make mpsrd send X.1.8.1's line a second time... or not at all.
	 */
	cr_expect_eq(last_is("X.1.8.1", MPSRD, BOOT), 0);
	cr_expect_eq(last_is("X.1.10.1", MPSRD, BOOT), 0, "only forged entries: none of mpsrd's");
}

Test(readback_match, an_earlier_boot_does_not) {
	cr_expect_eq(last_is("X.1.9.0", MPSRD, BOOT), 1);
	cr_expect_eq(last_is("X.1.9.1", MPSRD, BOOT), 0);
}

Test(readback_match, the_uid_asked_for_is_matched) {
	cr_expect_eq(last_is("X.1.8.1", FORGER, BOOT), 1);
	cr_expect_eq(last_is("X.1.9.1", MPSRD, OTHER), 1);
}

Test(readback_match, the_boot_is_the_newest_entrys) {
	_cleanup_(sd_journal_closep) sd_journal *j = NULL;
	const char *files[] = {file, NULL};
	sd_id128_t boot, want;

	cr_assert_eq(sd_journal_open_files(&j, files, 0), 0);
	cr_assert_eq(readback_current_boot(j, &boot), 0);
	cr_assert_eq(sd_id128_from_string(BOOT, &want), 0);
	cr_assert(sd_id128_equal(boot, want));
}

/* mpsrd's side: a stand-in reader on a socket of its own answers as told. */
struct reader {
	int fd;
	const char *answer; /* NULL: hang up without one; "": say nothing */
	char question[READBACK_QUESTION_MAX + 1];
};

static void *reader_run(void *p) {
	struct reader *r = p;
	int c = accept(r->fd, NULL, NULL);
	ssize_t n = recv(c, r->question, sizeof(r->question) - 1, 0);

	r->question[n > 0 ? n : 0] = '\0';
	if (r->answer && *r->answer)
		send(c, r->answer, strlen(r->answer), 0);
	else if (r->answer) /* silent until mpsrd's wait runs out and it hangs up */
		recv(c, r->question, 1, 0);
	close(c);
	return NULL;
}

static int ask_reader(struct reader *r, const char *answer) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char sock_dir[] = "/tmp/test-readback-ask-XXXXXX", sock_path[96];
	pthread_t t;

	cr_assert_not_null(mkdtemp(sock_dir));
	snprintf(sock_path, sizeof(sock_path), "%s/s", sock_dir);
	strcpy(sa.sun_path, sock_path);
	r->answer = answer;
	r->fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	cr_assert_eq(bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(r->fd, 1), 0);
	cr_assert_eq(pthread_create(&t, NULL, reader_run, r), 0);
	int k = readback_ask(sock_path, "MPSR_LEDGER=a.1.7.1", MPSRD, 100 * 1000);
	pthread_join(t, NULL);
	close(r->fd);
	unlink(sock_path);
	rmdir(sock_dir);
	return k;
}

Test(readback_ask, the_readers_answer) {
	struct reader r;

	cr_expect_eq(ask_reader(&r, "1"), 1);
	cr_expect_str_eq(r.question, "61000 MPSR_LEDGER=a.1.7.1");
	cr_expect_eq(ask_reader(&r, "0"), 0);
	cr_expect_eq(ask_reader(&r, "-1"), -EPERM);
}

/* Every way of not answering is an error: the ledger then sends the entry again. */
Test(readback_ask, no_answer_is_an_error) {
	struct reader r;

	cr_expect_eq(ask_reader(&r, NULL), -ECONNRESET, "hung up");
	cr_expect_eq(ask_reader(&r, ""), -ETIMEDOUT, "silent");
	cr_expect_eq(ask_reader(&r, "yes"), -EBADMSG);
	cr_expect_eq(readback_ask("/nonexistent/readback.sock", "MPSR_LEDGER=a.1.7.1", MPSRD, 1000),
		     -ENOENT);
	cr_expect_eq(readback_ask("/nonexistent/readback.sock", "MPSR_LEDGER=a 1", MPSRD, 1000),
		     -EINVAL, "not a tag: not asked");
}

/* Who may ask: the cgroup of a process as /proc/PID/cgroup shows it. */
static int parse(const char *text, char *buf, size_t size) {
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(f);
	int r = cgroup_parse(f, buf, size);
	fclose(f);
	return r;
}

Test(readback_cgroup, unified_and_hybrid) {
	char buf[CGROUP_MAX];

	cr_assert_eq(parse("0::/system.slice/mpsr.service\n", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/system.slice/mpsr.service");
	/* Hybrid: the service manager's hierarchy first, wherever its line is. */
	cr_assert_eq(parse("9:name=systemd:/system.slice/a.service\n8:pids:/\n"
			   "0::/system.slice/b.service\n",
			   buf, sizeof(buf)),
		     0);
	cr_expect_str_eq(buf, "/system.slice/a.service");
	cr_assert_eq(parse("0::/system.slice/b.service\n1:name=systemd:/system.slice/a.service",
			   buf, sizeof(buf)),
		     0);
	cr_expect_str_eq(buf, "/system.slice/a.service");
	cr_expect_eq(parse("8:pids:/\n", buf, sizeof(buf)), -ENOENT);
	cr_expect_eq(parse("0::/system.slice/mpsr.service\n", buf, 8), -ENAMETOOLONG);
}

/* A user's delegated cgroups may have any name: newlines, "0::/", ":name=systemd:/". */
Test(readback_cgroup, a_cgroups_name_cannot_pose_as_a_line) {
	char buf[CGROUP_MAX];

	cr_assert_eq(parse("0::/user.slice/user-1000.slice/user@1000.service/x\n"
			   "0::/system.slice/mpsr.service\n",
			   buf, sizeof(buf)),
		     0);
	cr_expect_str_eq(buf, "/user.slice/user-1000.slice/user@1000.service/x");
	cr_assert_eq(parse("4:pids:/user.slice/x:name=systemd:/system.slice/mpsr.service\n"
			   "1:name=systemd:/user.slice/x\n0::/user.slice/x\n",
			   buf, sizeof(buf)),
		     0);
	cr_expect_str_eq(buf, "/user.slice/x");
	/* A line longer than any buffer is read whole, not in pieces. */
	char text[3 * CGROUP_MAX];
	int n = snprintf(text, sizeof(text), "0::/user.slice/%0*d/", CGROUP_MAX + 10, 0);
	snprintf(text + n, sizeof(text) - (size_t)n, "0::/system.slice/mpsr.service\n");
	cr_expect_eq(parse(text, buf, sizeof(buf)), -ENAMETOOLONG);
}

Test(readback_cgroup, the_unit_beside_the_readers_slice) {
	char buf[CGROUP_MAX];

	cr_assert_eq(cgroup_beside("/system.slice/system-mpsr\\x2dreadback.slice/"
				   "mpsr-readback@3-42-0.service",
				   "mpsr.service", buf, sizeof(buf)),
		     0);
	cr_expect_str_eq(buf, "/system.slice/mpsr.service");
	cr_assert_eq(cgroup_beside("/machine.slice/c.scope/system.slice/r.slice/r@1.service",
				   "mpsr.service", buf, sizeof(buf)),
		     0);
	cr_expect_str_eq(buf, "/machine.slice/c.scope/system.slice/mpsr.service");
	cr_expect_eq(cgroup_beside("/a/b", "mpsr.service", buf, sizeof(buf)), -ENOENT);
	cr_expect_eq(cgroup_beside("/", "mpsr.service", buf, sizeof(buf)), -ENOENT);
	cr_expect_eq(cgroup_beside("/a/b/c", "x/mpsr.service", buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(cgroup_beside("/a/b/c", "mpsr.service", buf, 8), -ENAMETOOLONG);
}
