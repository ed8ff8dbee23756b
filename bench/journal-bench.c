/* SPDX-License-Identifier: MIT */
/*
 * journal-bench.c - figures for the journal on a file-backed namespace (4096+8, PI type 1):
 * commits per second from one thread (the baseline: one log write and two flushes per commit)
 * against eight threads sharing group commits, a checkpoint of 1,000,000 small records, and
 * journal_open replaying it. Usage: journal-bench [DIR] (default /var/tmp).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "core/journal.h"
#include "core/ns.h"
#include "core/sb.h"

#define THREADS	    8
#define COMMITS	    2000
#define CKPT_RECS   1000000
#define CKPT_RECLEN 32

static void die(const char *what)
{
	fprintf(stderr, "journal-bench: %s failed\n", what);
	exit(1);
}

struct worker {
	struct journal *j;
	int count;
};

static void *commit_loop(void *arg)
{
	struct worker *w = arg;
	uint8_t rec[64] = {0};
	uint64_t seq;

	for (int i = 0; i < w->count; i++)
		if (journal_append(w->j, 1, rec, sizeof(rec), &seq) || journal_commit(w->j, seq))
			die("append/commit");
	return NULL;
}

/* Commits per second with threads threads sharing COMMITS commits. */
static double run_commits(struct journal *j, int threads, uint64_t *writes)
{
	struct journal_stats before, after;
	struct worker w = {j, COMMITS / threads};
	pthread_t tid[THREADS];
	double t;

	journal_get_stats(j, &before);
	t = bench_now();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, commit_loop, &w);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	t = bench_now() - t;
	journal_get_stats(j, &after);
	*writes = after.log_writes - before.log_writes;
	return COMMITS / t;
}

static int emit_state(struct journal_ckpt *ck, void *arg)
{
	uint8_t rec[CKPT_RECLEN];

	for (long i = 0; i < CKPT_RECS; i++) {
		memcpy(rec, &i, sizeof(i));
		memset(rec + sizeof(i), (int)i, sizeof(rec) - sizeof(i));
		if (journal_ckpt_add(ck, 2, rec, sizeof(rec)))
			return -1;
	}
	return 0;
}

static int count_rec(void *arg, enum journal_src src, const struct journal_rec *rec)
{
	(*(uint64_t *)arg)++;
	return 0;
}

int main(int argc, char **argv)
{
	struct pi_format fmt = {.lba_size = 4096, .md_size = 8, .type = PI_TYPE_1};
	struct ns_options opts = {.format = &fmt};
	double serial, group, t, mib;
	uint64_t w1, w8, replayed = 0;
	struct journal *j;
	char path[512];
	struct ns *ns;
	struct sb sb;
	int fd;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [DIR]\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/journal-bench-XXXXXX", argc > 1 ? argv[1] : "/var/tmp");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)(1u << 20) * (4096 + 8))) {
		fprintf(stderr, "journal-bench: %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	if (ns_open(path, &opts, &ns) || sb_format(ns, NULL, &sb) || journal_format(ns, &sb) ||
	    journal_open(ns, &sb, NULL, NULL, &j))
		die("mkfs");

	serial = run_commits(j, 1, &w1);
	group = run_commits(j, THREADS, &w8);
	printf("commits: 1 thread %.0f/s (%lu log writes), %d threads %.0f/s (%lu log writes, "
	       "%.1f commits per write)\n",
	       serial, (unsigned long)w1, THREADS, group, (unsigned long)w8,
	       (double)COMMITS / (double)w8);
	printf("group_commit_vs_serial_ratio=%.2f\n", group / serial);

	t = bench_now();
	if (journal_checkpoint(j, emit_state, NULL))
		die("checkpoint");
	t = bench_now() - t;
	mib = (double)CKPT_RECS * (CKPT_RECLEN + 8) / (1024.0 * 1024.0);
	printf("checkpoint: %d records (%.1f MiB) in %.3f s, %.0f MiB/s\n", CKPT_RECS, mib, t,
	       mib / t);
	if (journal_close(j))
		die("close");
	ns_close(ns);

	if (ns_open(path, &opts, &ns) || sb_read(ns, &sb))
		die("reopen");
	t = bench_now();
	if (journal_open(ns, &sb, count_rec, &replayed, &j))
		die("journal_open");
	t = bench_now() - t;
	printf("journal_open: %lu records replayed in %.3f s\n", (unsigned long)replayed, t);
	journal_close(j);
	ns_close(ns);
	unlink(path);
	return 0;
}
