/* SPDX-License-Identifier: MIT */
/*
 * The holder (holder.h): compaction, its limits, a refused store; against a
 * stand-in for the service manager's fd store (standin.h).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fdstore.h"
#include "holder.h"
#include "restore.h"
#include "standin.h"

TestSuite(fdstore, .init = manager_start, .fini = manager_stop, .timeout = 120);

/*
 * Closed connections are dropped once they outnumber the live ones (and are
 * 512): then the holder has exactly the live ones, and the closed ones'
 * producers see the end at once, not at the compaction.
 */
Test(fdstore, compaction_keeps_the_live) {
	enum { N = 1000, CLOSE = 512 };
	static int conn[N], peer[N];
	struct holder_stats st;
	int adopted;
	struct holder *fs = restart(adopt_none, NULL, &adopted);

	for (int i = 0; i < N; i++) {
		int sv[2];
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv),
			     0);
		conn[i] = sv[0];
		peer[i] = sv[1];
		holder_add(fs, conn[i]);
	}
	cr_assert_eq(holder_flush(fs), 0);
	/* Every other one first, then odd ones. */
	bool dead[N] = {false};
	for (int closed = 0; closed < CLOSE; closed++) {
		int i = closed < N / 2 ? 2 * closed : 2 * (closed - N / 2) + 1;
		holder_stats(fs, &st);
		cr_assert_eq(st.compactions, 0, "compacted with %d closed of %d", closed, N);
		holder_remove(fs, conn[i]);
		close(conn[i]);
		dead[i] = true;
		char c;
		cr_assert_eq(read(peer[i], &c, 1), 0, "producer %d does not see the end", i);
	}
	holder_stats(fs, &st);
	cr_assert_eq(st.compactions, 1);
	cr_assert_eq(st.live, N - CLOSE);
	cr_assert_eq(st.held, N - CLOSE);
	manager_sync();
	cr_assert_eq(M.n, 2);

	holder_free(fs);
	ino_t ino[N];
	for (int i = 0; i < N; i++)
		if (!dead[i]) {
			ino[i] = inode(conn[i]);
			close(conn[i]);
		}
	struct got g = got_new(N);
	fs = restart(adopt_record, &g, &adopted);
	cr_assert_eq(adopted, N - CLOSE);
	for (int i = 0; i < N; i++)
		if (!dead[i])
			cr_assert_geq(find_ino(&g, ino[i]), 0, "live connection %d lost", i);
	holder_free(fs);
	got_close(&g);
	for (int i = 0; i < N; i++)
		close(peer[i]);
}

/* A full holder (its queue; the kernel says EAGAIN) is compacted, not given up. */
Test(fdstore, full_holder_compacts) {
	enum { N = 2000 };
	static int conn[N];
	struct holder_stats st;
	int adopted, size = 4096;
	struct holder *fs = restart(adopt_none, NULL, &adopted);

	/* Room for a few dozen messages only. */
	int tx = stored_fd("-tx");
	cr_assert_geq(tx, 0);
	cr_assert_eq(setsockopt(tx, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
	for (int i = 0; i < N; i++) {
		conn[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_geq(conn[i], 0);
		holder_add(fs, conn[i]);
		/* One accept each: one message each. */
		cr_assert_eq(holder_flush(fs), 0, "connection %d", i);
	}
	holder_stats(fs, &st);
	cr_assert_geq(st.compactions, 1, "%u compactions", st.compactions);
	cr_assert_eq(st.live, N);
	cr_assert_eq(st.held, N);
	manager_sync();
	cr_assert_eq(M.n, 2);

	holder_free(fs);
	ino_t ino[N];
	for (int i = 0; i < N; i++) {
		ino[i] = inode(conn[i]);
		close(conn[i]);
	}
	struct got g = got_new(N);
	fs = restart(adopt_record, &g, &adopted);
	cr_assert_eq(adopted, N);
	for (int i = 0; i < N; i++)
		cr_assert_geq(find_ino(&g, ino[i]), 0, "connection %d lost", i);
	holder_free(fs);
	got_close(&g);
}

/* Without a service manager the holder still works; nothing else is kept. */
Test(fdstore, without_manager) {
	struct holder *fs;
	int sv[2];

	unsetenv("NOTIFY_SOCKET");
	struct restore *rs;

	cr_assert_eq(holder_new(true, 0, 0, &fs), 0);
	cr_assert_eq(restore_new(&rs), 0);
	cr_assert_eq(restore_run(rs, fs, adopt_none, NULL), 0);
	restore_free(rs);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	holder_add(fs, sv[0]);
	cr_assert_eq(holder_flush(fs), 0);
	struct holder_stats st;
	holder_stats(fs, &st);
	cr_assert_eq(st.held, 1);
	holder_remove(fs, sv[0]);
	holder_free(fs);
	close(sv[0]);
	close(sv[1]);
	manager_sync();
	cr_assert_eq(M.n, 0);
}

/*
 * A manager that does not keep the holder (FileDescriptorStoreMax=0, or its
 * store full): mpsrd notices (its next send into the holder is refused) and
 * says so; holder_check() tells a restart it is a stop.
 */
Test(fdstore, refused_store_is_noticed) {
	int adopted, sv[2];
	struct holder *fs = restart(adopt_none, NULL, &adopted);

	cr_assert_eq(holder_check(fs), 0, "a manager that keeps the holder");
	holder_free(fs);
	manager_sync();
	M.max = 0; /* FileDescriptorStoreMax=0 */
	fs = restart(adopt_none, NULL, &adopted);
	cr_assert_eq(M.n, 0);
	cr_assert_gt(M.refused, 0);
	cr_assert_eq(holder_check(fs), -ECONNREFUSED);
	/* Connections are served still, only not kept. */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	holder_add(fs, sv[0]);
	cr_assert_eq(holder_flush(fs), 0);
	holder_remove(fs, sv[0]);
	holder_free(fs);
	close(sv[0]);
	close(sv[1]);
	/* A store with room for one more fd only: the new holder's receiving end is refused. */
	int old[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, old), 0);
	M.max = 2;
	pthread_mutex_lock(&M.lock);
	keep("holder-0-tx", old[0]);
	pthread_mutex_unlock(&M.lock);
	fs = restart(adopt_none, NULL, &adopted);
	cr_assert_eq(holder_check(fs), -ECONNREFUSED, "the store was full");
	holder_free(fs);
	close(old[1]);
}

/*
 * The holder within its limits (holder_new()): with as many connections as
 * inflight.h lets it accept, producers leaving and others coming all the
 * time, what it has in flight (held, and retired holders the manager has not
 * closed yet) never passes the peak, nor what it holds the steady limit; and
 * every compaction succeeds.
 */
Test(fdstore, within_its_limits) {
	enum { PEAK = 4000, STEADY = 2000 };
	/* As inflight.c accepts: min((PEAK - 253) * 4/9, (STEADY - 253) * 4/5). */
	enum { N = (STEADY - 253) * 4 / 5 };
	static int conn[N];
	struct holder_stats st;
	struct holder *fs;
	struct restore *rs;

	cr_assert_eq(holder_new(true, PEAK, STEADY, &fs), 0);
	cr_assert_eq(restore_new(&rs), 0);
	cr_assert_eq(restore_run(rs, fs, adopt_none, NULL), 0);
	restore_free(rs);
	unsigned most = 0;
	for (int k = 0; k < 4 * N; k++) {
		int i = k % N;
		if (k >= N) {
			holder_remove(fs, conn[i]);
			close(conn[i]);
		}
		conn[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_geq(conn[i], 0);
		holder_add(fs, conn[i]);
		if (k % 16 == 15)
			cr_assert_eq(holder_flush(fs), 0);
		holder_stats(fs, &st);
		unsigned now = st.held + st.retired;
		cr_assert_leq(now, PEAK, "%u in flight at step %d", now, k);
		cr_assert_leq(st.held, STEADY, "%u held at step %d", st.held, k);
		cr_assert_eq(st.unkept, 0);
		most = now > most ? now : most;
	}
	holder_stats(fs, &st);
	cr_assert_gt(st.compactions, 0);
	cr_log_info("%d connections, %u compactions, at most %u in flight", N, st.compactions,
		    most);
	holder_free(fs);
	for (int i = 0; i < N; i++)
		close(conn[i]);
}
