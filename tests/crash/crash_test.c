/* SPDX-License-Identifier: MIT */
/*
 * crash_test.c - workload-level crash consistency (DESIGN.md 4.3) with the file backend's write
 * log. A seeded metadata-heavy workload (crash_wl.c) runs on a mounted filesystem while every
 * device write is recorded; then the image is rebuilt as of every flush, the end, and random
 * points between flushes (dropping and reordering the writes no flush covers). Every rebuilt
 * image must pass `fsck.guardfs -n` clean, mount read-write (recovery), pass meta_check, show
 * every file fsync'd before the point (and not touched since) with its names, size and bytes,
 * and show in every file only its own bytes or zeros: each 8-byte word names its file,
 * generation and offset, so a stale block of another file is recognised.
 *
 * GFS_TEST_SEED replays a run; GFS_CRASH_POINTS sets the number of random points per
 * configuration (default 200; 100 under ASan, where each point costs several times more);
 * CRASH_TRACE=1 prints each operation with the write-log length before it; CRASH_TEST_DIR (else
 * IO_TEST_DIR, else /var/tmp) holds the images.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/gfs.h"
#include "core/log.h"
#include "core/meta.h"
#include "core/ns.h"
#include "core/ns_wlog.h"
#include "tests/crash/crash_wl.h"

#define CRASH_OPS   600
#define CRASH_BYTES (64ull << 20)

/*
 * The configurations the workload runs in: the default layout with a cache large enough that
 * only fsync writes data back; a 16-block log (checkpoints and wrap-around all through the
 * workload) with a small cache whose background writeback writes files nobody fsync'd; and the
 * same log on 512-byte LBAs, where one filesystem block is several LBAs.
 */
struct crash_config {
	const char *name;
	uint32_t lba_size;
	uint64_t log_blocks; /* 0: mkfs default */
	uint64_t cache_size, dirty_background;
};

static const struct crash_config crash_configs[] = {
	{"4096+8, default log, large cache", 4096, 0, 16u << 20, 0},
	{"4096+8, 16-block log, 1 MiB cache", 4096, 16, 1u << 20, 64u << 10},
	{"512+8 LBAs under 4 KiB blocks, 16-block log, 2 MiB cache", 512, 16, 2u << 20, 0},
};

struct crash_point {
	size_t upto;
	bool drop, reorder;
	uint64_t seed;
	char what[160]; /* how to name it in a failure */
};

struct crash_run {
	const struct crash_config *cfg;
	struct cw cw;
	char img[256], base[280], crash[280], fsck_out[280];
	size_t records;
	uint64_t dir_ino[CW_MAX_DIRS]; /* per point: the model's directories in the image */
};

static uint64_t crash_base_seed;

static uint64_t crash_seed(void)
{
	const char *env = getenv("GFS_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid();

	printf("crash: seed %" PRIu64 " (GFS_TEST_SEED=%" PRIu64 " to replay)\n", seed, seed);
	fflush(stdout);
	return seed;
}

static struct gfs_opts crash_opts(const struct crash_run *r)
{
	return (struct gfs_opts){.cache_size = r->cfg->cache_size,
				 .dirty_background_bytes = r->cfg->dirty_background,
				 .folio_size = 16384,
				 .no_flusher = true};
}

static void crash_mkfs(struct crash_run *r)
{
	const char *dir =
		getenv("CRASH_TEST_DIR") ? getenv("CRASH_TEST_DIR") : getenv("IO_TEST_DIR");
	struct pi_format fmt = {.lba_size = r->cfg->lba_size,
				.md_size = 8,
				.type = PI_TYPE_1,
				.guard = PI_GUARD_16,
				.layout = PI_MD_SEPARATE};
	struct ns_options o = {.format = &fmt};
	struct meta_mkfs_params p = {.sb.block_size = 4096, .sb.log_blocks = r->cfg->log_blocks};
	uint64_t nlb = CRASH_BYTES / (fmt.lba_size + fmt.md_size);
	struct ns *ns;
	int fd;

	snprintf(r->img, sizeof(r->img), "%s/gfs-crash-XXXXXX", dir ? dir : "/var/tmp");
	fd = mkstemp(r->img);
	ck_assert_msg(fd >= 0, "mkstemp %s", r->img);
	ck_assert_int_eq(ftruncate(fd, (off_t)(nlb * (fmt.lba_size + fmt.md_size))), 0);
	close(fd);
	ck_assert_int_eq(ns_open(r->img, &o, &ns), 0);
	ck_assert_int_eq(meta_mkfs(ns, &p, NULL), 0);
	ns_close(ns);
	snprintf(r->base, sizeof(r->base), "%s.base", r->img);
	snprintf(r->crash, sizeof(r->crash), "%s.crash", r->img);
	snprintf(r->fsck_out, sizeof(r->fsck_out), "%s.fsck", r->img);
}

/* fsck.guardfs -n on the rebuilt image; its output is shown only when it is not clean. */
static void crash_fsck(struct crash_run *r, const struct crash_point *pt)
{
	char line[512];
	int status = 0;
	FILE *out;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(r->fsck_out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(FSCK_GUARDFS, "fsck.guardfs", "-n", r->crash, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	out = fopen(r->fsck_out, "r");
	while (out && fgets(line, sizeof(line), out))
		printf("  fsck: %s", line);
	if (out)
		fclose(out);
	fflush(stdout);
	ck_abort_msg("CRASH POINT FAILED [fsck -n not clean, status 0x%x] %s", status, pt->what);
}

/* The inode of model directory d in the mounted image (0 when it is not there). */
static uint64_t crash_dir_ino(struct crash_run *r, struct meta_fs *fs, int d)
{
	const struct cw_dir *dir = &r->cw.dirs[d];
	struct meta_attr attr;
	uint64_t parent;

	if (r->dir_ino[d] != UINT64_MAX)
		return r->dir_ino[d];
	parent = crash_dir_ino(r, fs, dir->parent);
	r->dir_ino[d] = 0;
	if (parent && meta_lookup(fs, parent, dir->name, &attr) == 0)
		r->dir_ino[d] = attr.ino;
	return r->dir_ino[d];
}

/* Read the whole file; returns its size. */
static uint64_t crash_read(struct gfs *gfs, uint64_t ino, uint64_t *buf,
			   const struct crash_point *pt)
{
	struct meta_attr attr;
	struct gfs_file *f;
	ssize_t got;

	ck_assert_int_eq(meta_getattr(gfs_meta(gfs), ino, &attr), 0);
	ck_assert_msg(attr.size <= CW_FILE_MAX && attr.size % 8 == 0,
		      "CRASH POINT FAILED [size] inode %" PRIu64 " has size %" PRIu64 ": %s", ino,
		      attr.size, pt->what);
	ck_assert_int_eq(gfs_open(gfs, ino, 0, &f), 0);
	got = gfs_read(f, buf, CW_FILE_MAX, 0);
	gfs_release(f);
	ck_assert_msg(got == (ssize_t)attr.size,
		      "CRASH POINT FAILED [read] inode %" PRIu64 ": read %zd of %" PRIu64
		      " bytes (PI error: a block of another owner?): %s",
		      ino, got, attr.size, pt->what);
	return attr.size;
}

static void crash_check_names(struct crash_run *r, struct meta_fs *fs, const struct cw_snap *s,
			      const struct crash_point *pt)
{
	const struct cw_file *f = &r->cw.files[s->fid];

	for (int k = 0; k < s->nnames; k++) {
		const struct cw_name *n = &s->names[k];
		uint64_t dir = crash_dir_ino(r, fs, n->dir);
		struct meta_attr attr;
		int ret = dir ? meta_lookup(fs, dir, n->name, &attr) : -ENOENT;

		ck_assert_msg(ret == 0 && attr.ino == f->ino,
			      "CRASH POINT FAILED [fsync'd name lost] file %d (inode %" PRIu64
			      ") name %s in dir %d: %d (found inode %" PRIu64
			      "), fsync'd at record %zu: %s",
			      s->fid, f->ino, n->name, n->dir, ret, ret ? 0 : attr.ino,
			      s->durable_at, pt->what);
	}
}

static void crash_check_data(struct crash_run *r, struct gfs *gfs, const struct cw_snap *s,
			     const struct crash_point *pt, uint64_t *buf)
{
	const struct cw_file *f = &r->cw.files[s->fid];
	struct meta_attr attr;
	uint64_t size;
	int ret = meta_getattr(gfs_meta(gfs), f->ino, &attr);

	ck_assert_msg(ret == 0,
		      "CRASH POINT FAILED [fsync'd file lost] file %d (inode %" PRIu64
		      "): %d, fsync'd at record %zu: %s",
		      s->fid, f->ino, ret, s->durable_at, pt->what);
	size = crash_read(gfs, f->ino, buf, pt);
	ck_assert_msg(size == s->size,
		      "CRASH POINT FAILED [fsync'd size] file %d (inode %" PRIu64 ") size %" PRIu64
		      ", fsync'd %" PRIu64 " at record %zu: %s",
		      s->fid, f->ino, size, s->size, s->durable_at, pt->what);
	for (uint64_t w = 0; w < size / 8; w++)
		if (buf[w] != s->words[w])
			ck_abort_msg("CRASH POINT FAILED [fsync'd data] file %d (inode %" PRIu64
				     ") word at byte %" PRIu64 ": %#" PRIx64 ", fsync'd %#" PRIx64
				     " at record %zu: %s",
				     s->fid, f->ino, w * 8, buf[w], s->words[w], s->durable_at,
				     pt->what);
}

/*
 * Everything fsync'd before the point is there as fsync'd: its names unless an operation that
 * changed them had started by the point, its size and bytes likewise.
 */
static void crash_check_snaps(struct crash_run *r, struct gfs *gfs, const struct crash_point *pt,
			      uint64_t *buf, unsigned *checked)
{
	for (size_t i = 0; i < r->cw.nsnaps; i++) {
		const struct cw_snap *s = &r->cw.snaps[i];
		bool names = pt->upto <= s->until_names, data = pt->upto <= s->until_data;

		if (s->durable_at > pt->upto || (!names && !data))
			continue;
		if (names)
			crash_check_names(r, gfs_meta(gfs), s, pt);
		if (data)
			crash_check_data(r, gfs, s, pt, buf);
		(*checked)++;
	}
}

struct crash_dirent {
	char name[CW_NAME_LEN];
	uint64_t ino;
	uint32_t type;
};

struct crash_dirents {
	struct crash_dirent *v;
	size_t n, cap;
};

static int crash_collect(void *arg, const struct meta_dirent_info *de)
{
	struct crash_dirents *l = arg;

	if (de->cookie <= 2)
		return 0; /* "." and ".." */
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		ck_assert_ptr_nonnull(l->v);
	}
	snprintf(l->v[l->n].name, CW_NAME_LEN, "%.*s", (int)de->namelen, de->name);
	l->v[l->n].ino = de->ino;
	l->v[l->n++].type = de->type;
	return 0;
}

/* Every regular file reachable holds only its own words (of some generation) or zeros. */
static void crash_check_tree(struct crash_run *r, struct gfs *gfs, uint64_t dir, int depth,
			     const struct crash_point *pt, uint64_t *buf)
{
	struct crash_dirents l = {0};

	ck_assert_int_lt(depth, CW_MAX_DIRS + 2);
	ck_assert_int_eq(meta_readdir(gfs_meta(gfs), dir, 0, crash_collect, &l), 0);
	for (size_t i = 0; i < l.n; i++) {
		const struct crash_dirent *de = &l.v[i];
		int fid;
		uint64_t size;

		if (S_ISDIR(de->type)) {
			crash_check_tree(r, gfs, de->ino, depth + 1, pt, buf);
			continue;
		}
		fid = cw_fid_of(&r->cw, de->ino);
		ck_assert_msg(S_ISREG(de->type) && fid >= 0,
			      "CRASH POINT FAILED [unknown entry] %s -> inode %" PRIu64 ": %s",
			      de->name, de->ino, pt->what);
		size = crash_read(gfs, de->ino, buf, pt);
		for (uint64_t w = 0; w < size / 8; w++)
			if (!cw_word_ok(&r->cw, fid, w, buf[w]))
				ck_abort_msg(
					"CRASH POINT FAILED [stale bytes] file %d (inode %" PRIu64
					", %s) byte %" PRIu64 ": %#" PRIx64
					" is neither zero nor its own data: %s",
					fid, de->ino, de->name, w * 8, buf[w], pt->what);
	}
	free(l.v);
}

static void crash_check_point(struct crash_run *r, struct crash_point *pt, uint64_t *buf,
			      unsigned *checked)
{
	struct ns_wlog_replay_opts o = {.upto = pt->upto,
					.drop_unflushed = pt->drop,
					.reorder_unflushed = pt->reorder,
					.seed = pt->seed};
	struct gfs_opts go = crash_opts(r);
	struct gfs *gfs = NULL;
	int ret;

	snprintf(pt->what, sizeof(pt->what),
		 "crash point upto=%zu of %zu records%s%s (replay seed %" PRIu64 ")", pt->upto,
		 r->records, pt->drop ? " drop_unflushed" : "",
		 pt->reorder ? " reorder_unflushed" : "", pt->seed);
	ck_assert_int_eq(ns_wlog_replay(r->cw.log, r->base, r->crash, &o), 0);
	crash_fsck(r, pt);
	ret = gfs_mount(r->crash, &go, &gfs);
	ck_assert_msg(ret == 0, "CRASH POINT FAILED [mount] %d: %s", ret, pt->what);
	ret = meta_check(gfs_meta(gfs));
	ck_assert_msg(ret == 0, "CRASH POINT FAILED [meta_check] %d: %s", ret, pt->what);
	for (int d = 0; d < CW_MAX_DIRS; d++)
		r->dir_ino[d] = d == 0 ? META_ROOT_INO : UINT64_MAX;
	crash_check_snaps(r, gfs, pt, buf, checked);
	crash_check_tree(r, gfs, META_ROOT_INO, 0, pt, buf);
	ret = gfs_unmount(gfs);
	ck_assert_msg(ret == 0, "CRASH POINT FAILED [unmount] %d: %s", ret, pt->what);
}

/* Run the workload on a mounted image with the write log on; "crash" at the end. */
static void crash_record(struct crash_run *r, uint64_t seed)
{
	struct gfs_opts go = crash_opts(r);
	struct gfs *gfs;

	ck_assert_int_eq(gfs_mount(r->img, &go, &gfs), 0);
	ck_assert_int_eq(ns_wlog_start(gfs_ns(gfs), r->base, &r->cw.log), 0);
	r->cw.gfs = gfs;
	r->cw.rng = seed;
	cw_run(&r->cw, CRASH_OPS);
	for (int i = 0; i < r->cw.nfiles; i++)
		if (r->cw.files[i].fh)
			gfs_release(r->cw.files[i].fh);
	gfs_abandon(gfs); /* closes the namespace, which stops the log */
	r->cw.gfs = NULL;
	r->records = ns_wlog_count(r->cw.log);
}

/* Random points per configuration: 200, or 100 under ASan (three configurations: 300). */
static unsigned crash_random_points(void)
{
	const char *env = getenv("GFS_CRASH_POINTS");

#if defined(__SANITIZE_ADDRESS__)
	return env ? (unsigned)strtoul(env, NULL, 0) : 100;
#else
	return env ? (unsigned)strtoul(env, NULL, 0) : 200;
#endif
}

START_TEST(every_crash_point_mounts_clean_with_fsynced_data_and_no_stale_bytes)
{
	struct crash_run *r = calloc(1, sizeof(*r));
	uint64_t seed = crash_base_seed + (uint64_t)_i, rng;
	unsigned flushes = 0, randoms = 0, snaps = 0, nrandom = crash_random_points();
	uint64_t *buf = malloc(CW_FILE_MAX + 8);
	struct crash_point pt;

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(buf);
	r->cfg = &crash_configs[_i];
	printf("crash: %s, workload seed %" PRIu64 "\n", r->cfg->name, seed);
	crash_mkfs(r);
	crash_record(r, seed);
	printf("crash: %zu write-log records, %zu durable file states (fsync, syncfs); ops: ",
	       r->records, r->cw.nsnaps);
	cw_print_ops(&r->cw);
	fflush(stdout);
	for (size_t i = 0; i < r->records; i++) {
		struct ns_wlog_entry e;

		ck_assert_int_eq(ns_wlog_get(r->cw.log, i, &e), 0);
		if (e.kind != NS_WLOG_FLUSH && i + 1 != r->records)
			continue;
		pt = (struct crash_point){.upto = i + 1}; /* just after each flush, and the end */
		crash_check_point(r, &pt, buf, &snaps);
		flushes++;
	}
	rng = seed ^ 0x5DEECE66Dull;
	for (unsigned i = 0; i < nrandom; i++) {
		pt = (struct crash_point){.upto = cw_rand(&rng) % (r->records + 1),
					  .drop = cw_rand(&rng) % 4 != 0,
					  .reorder = cw_rand(&rng) % 2,
					  .seed = cw_rand(&rng)};
		crash_check_point(r, &pt, buf, &snaps);
		randoms++;
	}
	printf("crash: %s: checked %u crash points (%u flush points, %u random with dropped or "
	       "reordered unflushed writes), %u fsync'd file states verified\n",
	       r->cfg->name, flushes + randoms, flushes, randoms, snaps);
	ns_wlog_free(r->cw.log);
	cw_free(&r->cw);
	unlink(r->img);
	unlink(r->base);
	unlink(r->crash);
	unlink(r->fsck_out);
	free(buf);
	free(r);
}
END_TEST

/*
 * The reduction of a failure the workload found: an O_DSYNC direct write below the visible size
 * but above the on-disk size (a buffered write further out not yet written back) is reported
 * durable, so after a crash its bytes must be inside the file, and fsck must find no written
 * blocks past EOF.
 */
START_TEST(dsync_direct_write_below_buffered_eof_survives_a_crash)
{
	struct crash_config cfg = crash_configs[0];
	struct crash_run *r = calloc(1, sizeof(*r));
	struct gfs_opts go;
	struct crash_point pt = {0};
	struct meta_owner owner = {0, 0};
	struct meta_attr attr;
	struct gfs_file *f, *d;
	struct gfs *gfs;
	uint64_t *buf = aligned_alloc(4096, CW_FILE_MAX);
	uint64_t tail = cw_word(1, 1, 0);

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(buf);
	r->cfg = &cfg;
	go = crash_opts(r);
	crash_mkfs(r);
	ck_assert_int_eq(gfs_mount(r->img, &go, &gfs), 0);
	ck_assert_int_eq(
		meta_create(gfs_meta(gfs), META_ROOT_INO, "f", S_IFREG | 0644, &owner, &attr), 0);
	ck_assert_int_eq(meta_fsync(gfs_meta(gfs), attr.ino, false), 0);
	ck_assert_int_eq(gfs_open(gfs, attr.ino, 0, &f), 0);
	ck_assert_int_eq(gfs_write(f, &tail, 8, 49152), 8); /* visible size 49160, on disk 0 */
	for (uint64_t i = 0; i < 512; i++)
		buf[i] = cw_word(1, 2, 512 + i);
	ck_assert_int_eq(gfs_open(gfs, attr.ino, GFS_O_DIRECT | GFS_O_DSYNC, &d), 0);
	ck_assert_int_eq(gfs_write(d, buf, 4096, 4096), 4096);
	gfs_release(d);
	gfs_release(f);
	gfs_abandon(gfs); /* crash: the buffered byte at 49152 was never written back */

	snprintf(r->crash, sizeof(r->crash), "%s", r->img);
	/* The workload first hit this with GFS_TEST_SEED=2 (4096+8, default log, point 4). */
	snprintf(pt.what, sizeof(pt.what),
		 "O_DSYNC direct write [4096, 8192) under a buffered EOF of 49160, then a crash "
		 "[core/dio: converted extents past the on-disk size]");
	crash_fsck(r, &pt);
	ck_assert_int_eq(gfs_mount(r->img, &go, &gfs), 0);
	ck_assert_int_eq(meta_getattr(gfs_meta(gfs), attr.ino, &attr), 0);
	ck_assert_msg(attr.size >= 8192,
		      "CRASH POINT FAILED [O_DSYNC data past EOF] size %" PRIu64 ": %s", attr.size,
		      pt.what);
	ck_assert_int_eq(gfs_open(gfs, attr.ino, 0, &f), 0);
	ck_assert_int_eq(gfs_read(f, buf, 4096, 4096), 4096);
	for (uint64_t i = 0; i < 512; i++)
		ck_assert_uint_eq(buf[i], cw_word(1, 2, 512 + i));
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	unlink(r->img);
	unlink(r->fsck_out);
	free(buf);
	free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tcase_create("crash");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 900);
	crash_base_seed = crash_seed();	 /* configuration i runs seed + i */
	gfs_log_set_level(GFS_LOG_WARN); /* not one "freed orphans" line per crash point */
	tcase_add_loop_test(tc, every_crash_point_mounts_clean_with_fsynced_data_and_no_stale_bytes,
			    0, (int)(sizeof(crash_configs) / sizeof(crash_configs[0])));
	tcase_add_test(tc, dsync_direct_write_below_buffered_eof_survives_a_crash);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
