/* SPDX-License-Identifier: MIT */
/*
 * A stream job with a ledger killed for real at each recv() and setsockopt()
 * it makes, before the call and after it: a child process reads and dies
 * there with _exit() (its memory gone, the memfd and the socket kept), and
 * the next process (this one) recovers and reads on. recv() and setsockopt()
 * are replaced (ld --wrap); the sink records into memory both share.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "protocol.h"
#include "stream-fixture.h"

static struct test_sink *t;          /* shared with the child */
static unsigned long calls, kill_at; /* the child's: it dies at cut point kill_at */
static bool child;

static void cut(void) {
	if (child && ++calls == kill_at)
		_exit(0);
}

ssize_t __real_recv(int fd, void *buf, size_t n, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags) {
	cut();
	ssize_t k = __real_recv(fd, buf, n, flags);
	int e = errno;
	cut();
	errno = e;
	return k;
}

int __real_setsockopt(int fd, int level, int name, const void *v, socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *v, socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *v, socklen_t len) {
	cut();
	int k = __real_setsockopt(fd, level, name, v, len);
	int e = errno;
	cut();
	errno = e;
	return k;
}

/* The first process reads `first` in one job, killed at cut point `at` (or not, past its last). */
static bool first_job_killed_at(unsigned long at, const char *first, size_t len) {
	int status;

	cr_assert_eq(write(sv[1], first, len), (ssize_t)len);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		child = true;
		kill_at = at;
		stream_read(&in, &r, &t->sink);
		_exit(1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	return WEXITSTATUS(status) == 0;
}

/* The next process: recovery, then the rest is written and read to the end. */
static void restart_and_read(struct ledger *l, const char *rest, size_t len) {
	struct stream_in in2;
	struct ledger *again = remap(l, 0, &in2, sv[0], true);

	cr_assert_geq(ledger_recover(again, find_sv0, lookup_none, NULL), 0);
	cr_assert_eq(write(sv[1], rest, len), (ssize_t)len);
	for (int i = 0; i < 8 && queued() > 0; i++)
		cr_assert_eq(stream_read(&in2, &r, &t->sink), READ_MORE);
	cr_assert_eq(queued(), -1);
	stream_in_done(&in2);
	ledger_free(again);
}

/*
 * Syslog framing, no budget to stage in: `first` is "a" and a terminator
 * whose second byte framing drops, taken out of the socket all the same;
 * `rest` begins with a byte that ends an empty message, whatever the kill
 * cut: the framing state recovery goes on from must know that the dropped
 * byte left the socket. Every cut point of the first job, then one with
 * no kill. Returns the cut points tried.
 */
static unsigned long each_kill(const char *first, const char *rest, const char *brk_a,
			       const char *brk_empty) {
	unsigned long at = 1;

	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(t, MAP_FAILED);
	for (bool killed = true; killed; at++) {
		setup();
		*t = sink(false, -1);
		struct ledger *l = with_syslog_ledger(4, 16, 0);
		killed = first_job_killed_at(at, first, 3);
		restart_and_read(l, rest, 3);
		cr_assert_eq(t->n, 3, "killed at cut point %lu: %u entries", at, t->n);
		cr_assert_str_eq(t->got[0], "a");
		cr_assert(brk_a ? t->brk[0] && !strcmp(t->brk[0], brk_a) : !t->brk[0]);
		cr_assert_str_eq(t->got[1], "", "killed at cut point %lu", at);
		cr_assert(brk_empty ? t->brk[1] && !strcmp(t->brk[1], brk_empty) : !t->brk[1]);
		cr_assert_str_eq(t->got[2], "b");
		ledger_free(l);
		teardown();
	}
	munmap(t, sizeof(*t));
	return at;
}

/* "a\n\0", then "\0b\n": the second NUL is an empty message. */
Test(stream_crash, an_empty_message_after_a_dropped_terminator_half_is_kept) {
	unsigned long at = each_kill("a\n\0", "\0b\n", NULL, LINE_BREAK_NUL);
	cr_assert_gt(at, 8, "the job makes a take of each of its two parts");
}

/* The same with "a\0\n", then "\nb\n": the second newline is an empty line. */
Test(stream_crash, an_empty_line_after_a_dropped_terminator_half_is_kept) {
	unsigned long at = each_kill("a\0\n", "\nb\n", LINE_BREAK_NUL, NULL);
	cr_assert_gt(at, 8, "the job makes a take of each of its two parts");
}
