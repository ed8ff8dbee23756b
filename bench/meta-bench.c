// SPDX-License-Identifier: MIT
/*
 * meta-bench.c - metadata and scrub benchmark (issue 4).
 *
 * Part 1, metadata: on an emulated namespace (4096+8, PI type 1) create META_BENCH_FILES files
 * (default 100,000) in a tree of 100 directories, and one file with META_BENCH_EXTENTS extents
 * (default 1,000,000: single blocks with a hole between each, so no two merge); unmount; then
 * time the mount that loads all of it (target: under 2 s) and the growth of the resident set
 * it causes; stat every file; unlink every file. Prints ops/s and seconds.
 *
 * Part 2, scrub: write META_BENCH_SCRUB_MIB MiB (default 1024) of file data with PI, then read
 * the file's extents back through the scrub engine of fsck.guardfs (tools/scrub.c) with PI
 * verification, and with verification off (a plain sequential read of the same blocks, same
 * request size and queue depth), alternating, three rounds each, best of each. The last line
 * is "scrub_vs_seqread_ratio=X.XX" (target >= 0.8).
 *
 * Images go to META_BENCH_DIR (default /var/tmp) and are removed at the end.
 */
#include <errno.h>
#include <malloc.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "core/log.h"
#include "core/meta.h"
#include "core/ns.h"
#include "pi/pi.h"
#include "tools/progress.h"
#include "tools/scrub.h"

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "meta-bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static double rss_mib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (double)rss * (double)sysconf(_SC_PAGESIZE) / (1 << 20);
}

/* Heap bytes in use: unlike the resident set, not hidden by memory an unmount freed. */
static double heap_mib(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (double)(mi.uordblks + mi.hblkhd) / (1 << 20);
}

static void make_image(const char *path, uint64_t size, uint32_t lba, uint32_t md)
{
	struct pi_format f = {.lba_size = lba, .md_size = md, .type = PI_TYPE_1};
	struct ns_options o = {.format = &f};
	struct meta_mkfs_params p = {0};
	struct ns *ns;
	FILE *fp = fopen(path, "w");
	int ret;

	if (!fp || ftruncate(fileno(fp), (off_t)size))
		die(path, errno);
	fclose(fp);
	ret = ns_open(path, &o, &ns);
	if (!ret)
		ret = meta_mkfs(ns, &p, NULL);
	if (ret)
		die("mkfs", ret);
	ns_close(ns);
}

static struct meta_fs *mount_fs(const char *path, bool ro, double *secs)
{
	struct meta_mount_opts mo = {.read_only = ro};
	struct meta_fs *fs;
	double t = progress_now();
	int ret = meta_mount(path, &mo, &fs);

	if (ret)
		die("mount", ret);
	if (secs)
		*secs = progress_now() - t;
	return fs;
}

static void report(const char *what, uint64_t ops, double secs)
{
	printf("%-34s %10" PRIu64 " ops  %8.3f s  %12.0f ops/s\n", what, ops, secs,
	       (double)ops / secs);
}

#define DIRS 100

static void create_tree(struct meta_fs *fs, uint64_t nfiles, uint64_t *dirs)
{
	struct meta_owner own = {0, 0};
	struct meta_attr a;
	char name[32];
	double t;
	int ret;

	for (int d = 0; d < DIRS; d++) {
		snprintf(name, sizeof(name), "d%02d", d);
		ret = meta_mkdir(fs, META_ROOT_INO, name, 0755, &own, &a);
		if (ret)
			die("mkdir", ret);
		meta_forget(fs, a.ino, 1);
		dirs[d] = a.ino;
	}
	t = progress_now();
	for (uint64_t i = 0; i < nfiles; i++) {
		snprintf(name, sizeof(name), "f%07" PRIu64, i);
		ret = meta_create(fs, dirs[i % DIRS], name, S_IFREG | 0644, &own, &a);
		if (ret)
			die("create", ret);
		meta_forget(fs, a.ino, 1);
	}
	report("create", nfiles, progress_now() - t);
}

/* One file with @n single-block UNWRITTEN extents, a one-block hole between neighbours. */
static void make_extents(struct meta_fs *fs, uint64_t n)
{
	struct meta_owner own = {0, 0};
	uint32_t bs = meta_block_size(fs);
	struct meta_inode *ip;
	struct meta_attr a;
	struct meta_map m;
	double t;
	int ret;

	ret = meta_create(fs, META_ROOT_INO, "extents", S_IFREG | 0644, &own, &a);
	if (!ret)
		ret = meta_inode_get(fs, a.ino, &ip);
	if (ret)
		die("create extents", ret);
	t = progress_now();
	for (uint64_t i = 0; i < n; i++) {
		ret = meta_map_begin(ip, 2 * i * bs, bs, META_MAP_WRITE | META_MAP_DIRECT, &m);
		if (ret)
			die("allocate", ret);
	}
	report("allocate single-block extents", n, progress_now() - t);
	/* Count what the map holds: the figure is only worth something if nothing merged. */
	n = 0;
	for (uint64_t pos = 0;
	     !meta_map_begin(ip, pos, (uint64_t)INT64_MAX - pos, META_MAP_REPORT, &m) &&
	     m.offset + m.length < (uint64_t)INT64_MAX;
	     pos = m.offset + m.length)
		n += m.type != META_MAP_HOLE;
	meta_inode_put(ip);
	meta_forget(fs, a.ino, 1);
	ret = meta_getattr(fs, a.ino, &a);
	if (ret)
		die("getattr", ret);
	printf("  extents file: %" PRIu64 " extents in its map, %" PRIu64 " blocks allocated\n", n,
	       a.blocks / (bs / 512));
}

static void stat_all(struct meta_fs *fs, uint64_t nfiles, const uint64_t *dirs)
{
	struct meta_attr a;
	char name[32];
	double t = progress_now();
	int ret;

	for (uint64_t i = 0; i < nfiles; i++) {
		snprintf(name, sizeof(name), "f%07" PRIu64, i);
		ret = meta_lookup(fs, dirs[i % DIRS], name, &a);
		if (ret)
			die("lookup", ret);
		meta_forget(fs, a.ino, 1);
	}
	report("lookup + stat", nfiles, progress_now() - t);
}

static void unlink_all(struct meta_fs *fs, uint64_t nfiles, const uint64_t *dirs)
{
	char name[32];
	double t = progress_now();
	int ret;

	for (uint64_t i = 0; i < nfiles; i++) {
		snprintf(name, sizeof(name), "f%07" PRIu64, i);
		ret = meta_unlink(fs, dirs[i % DIRS], name);
		if (ret)
			die("unlink", ret);
	}
	report("unlink", nfiles, progress_now() - t);
	t = progress_now();
	ret = meta_unlink(fs, META_ROOT_INO, "extents");
	if (!ret)
		ret = meta_syncfs(fs);
	if (ret)
		die("unlink extents", ret);
	printf("%-34s %8.3f s\n", "unlink the extents file + sync", progress_now() - t);
}

static void bench_metadata(const char *dir)
{
	uint64_t nfiles = env_u64("META_BENCH_FILES", 100000);
	uint64_t next = env_u64("META_BENCH_EXTENTS", 1000000);
	uint64_t dirs[DIRS];
	char path[512];
	struct meta_fs *fs;
	double secs, rss0, heap0;
	struct meta_statfs st;

	snprintf(path, sizeof(path), "%s/meta-bench-%d.img", dir, (int)getpid());
	/* Room for the extents (4 KiB each) and a checkpoint area (1/32) that holds them. */
	make_image(path, (next * 5120 + (1ull << 30)) / 4096 * 4104, 4096, 8);
	printf("metadata: %" PRIu64 " files in %d directories, one file with %" PRIu64 " extents\n",
	       nfiles, DIRS, next);
	fs = mount_fs(path, false, NULL);
	create_tree(fs, nfiles, dirs);
	make_extents(fs, next);
	secs = progress_now();
	if (meta_unmount(fs))
		die("unmount", EIO);
	printf("%-34s %8.3f s\n", "unmount (checkpoint)", progress_now() - secs);
	if (env_u64("META_BENCH_KEEP", 0)) {
		char cmd[1300];

		/* A copy, not a link: the unlink phase below changes this image. */
		snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s.full'", path, path);
		if (!system(cmd))
			printf("  image with everything copied to %s.full\n", path);
	}
	rss0 = rss_mib();
	heap0 = heap_mib();
	fs = mount_fs(path, false, &secs);
	meta_statfs(fs, &st);
	printf("%-34s %8.3f s   (%" PRIu64 " inodes; target < 2 s)\n", "mount", secs,
	       st.files - st.files_free);
	printf("%-34s %8.1f MiB (resident set: +%.1f MiB, %.1f MiB in all)\n",
	       "heap in use by the mounted state", heap_mib() - heap0, rss_mib() - rss0, rss_mib());
	printf("mount_seconds=%.3f\n", secs);
	stat_all(fs, nfiles, dirs);
	unlink_all(fs, nfiles, dirs);
	if (meta_unmount(fs))
		die("unmount", EIO);
	unlink(path);
}

/* One file of @bytes written sequentially with PI, as writeback would. */
static uint64_t write_file(struct meta_fs *fs, const char *name, uint64_t bytes)
{
	const uint32_t chunk = 1u << 20;
	struct ns *ns = meta_get_ns(fs);
	const struct pi_format *f = &ns_get_format(ns)->pi;
	struct meta_owner own = {0, 0};
	struct meta_inode *ip;
	struct meta_attr a;
	struct pi_ctx ctx;
	uint8_t *buf, *md;
	int ret;

	ret = meta_create(fs, META_ROOT_INO, name, S_IFREG | 0644, &own, &a);
	if (!ret)
		ret = meta_inode_get(fs, a.ino, &ip);
	if (!ret)
		ret = pi_ctx_init(&ctx, f);
	if (ret || posix_memalign((void **)&buf, 4096, chunk) ||
	    !(md = malloc(chunk / f->lba_size * f->md_size)))
		die("big file", ret ? ret : ENOMEM);
	for (uint64_t i = 0; i < chunk; i++)
		buf[i] = (uint8_t)(i * 13);
	for (uint64_t pos = 0; pos < bytes;) {
		struct meta_map m;
		uint64_t len, lba;
		struct iovec iov;
		struct pi_io io;
		struct ns_pi_params pp = {0};

		ret = meta_map_begin(ip, pos, bytes - pos, META_MAP_WRITE | META_MAP_DIRECT, &m);
		if (ret)
			die("map", ret);
		len = m.offset + m.length - pos;
		len = len > chunk ? chunk : len;
		len = len > bytes - pos ? bytes - pos : len;
		lba = m.lba + (pos - m.offset) / f->lba_size;
		iov = (struct iovec){buf, len};
		io = (struct pi_io){.lba = lba, .ref_tag = lba, .app_tag = m.app_tag};
		ret = pi_generate(&ctx, &iov, 1, md, (uint32_t)(len / f->lba_size), &io);
		if (!ret)
			ret = ns_write_sync(ns, lba, (uint32_t)(len / f->lba_size), buf, md, &pp);
		if (!ret)
			ret = meta_convert_unwritten(ip, pos, len, pos + len);
		if (ret)
			die("write", ret);
		pos += len;
	}
	meta_inode_put(ip);
	meta_forget(fs, a.ino, 1);
	free(md);
	free(buf);
	return a.ino;
}

/* The file's MAPPED extents as scrub ranges. */
/* Append the file's MAPPED extents to *r (n used, cap allocated) as scrub ranges. */
static size_t file_ranges(struct meta_fs *fs, uint64_t ino, struct scrub_range **r, size_t n,
			  size_t *cap)
{
	uint32_t per = meta_block_size(fs) / ns_get_format(meta_get_ns(fs))->pi.lba_size;
	struct meta_inode *ip;
	uint64_t pos = 0;
	struct meta_map m;

	if (meta_inode_get(fs, ino, &ip))
		die("inode", ENOENT);
	while (!meta_map_begin(ip, pos, (uint64_t)INT64_MAX - pos, META_MAP_REPORT, &m) &&
	       m.type != META_MAP_HOLE) {
		if (n == *cap) {
			*cap = *cap ? 2 * *cap : 64;
			*r = realloc(*r, *cap * sizeof(**r));
			if (!*r)
				die("ranges", ENOMEM);
		}
		(*r)[n] = (struct scrub_range){.lba = m.lba,
					       .nlb = m.length / meta_block_size(fs) * per,
					       .app_tag = m.app_tag,
					       .owner = n};
		n++;
		pos = m.offset + m.length;
	}
	meta_inode_put(ip);
	return n;
}

static double read_rate(struct ns *ns, struct scrub_range *r, size_t n, bool verify)
{
	struct scrub_opts o = {.no_verify = !verify,
			       .queue_depth = (unsigned)env_u64("META_BENCH_QD", 0)};
	struct scrub_result res;
	double t = progress_now();
	int ret = scrub_ranges(ns, r, n, &o, &res);

	if (ret)
		die("scrub", ret);
	t = progress_now() - t;
	if (res.nr_bad)
		die("scrub found damage in a fresh file", EIO);
	free(res.bad);
	return (double)res.bytes_read / t / (1 << 20);
}

/*
 * Paired rounds of plain read and scrub over the same ranges, order alternating; the ratio is
 * the median of the per-round ratios, so a neighbour who loads the machine during one round
 * moves one pair, not the result.
 */
#define ROUNDS 7
static double compare(struct ns *ns, const char *what, struct scrub_range *r, size_t n)
{
	double best_seq = 0, best_scrub = 0, ratio[ROUNDS], median_ratio;

	for (int round = 0; round < ROUNDS; round++) {
		double seq, scrub;

		if (round & 1) {
			scrub = read_rate(ns, r, n, true);
			seq = read_rate(ns, r, n, false);
		} else {
			seq = read_rate(ns, r, n, false);
			scrub = read_rate(ns, r, n, true);
		}
		printf("  %s, round %d: sequential read %8.1f MiB/s   scrub (read + PI verify) "
		       "%8.1f MiB/s   ratio %.2f\n",
		       what, round + 1, seq, scrub, scrub / seq);
		ratio[round] = scrub / seq;
		best_seq = seq > best_seq ? seq : best_seq;
		best_scrub = scrub > best_scrub ? scrub : best_scrub;
	}
	median_ratio = bench_median(ratio, ROUNDS);
	printf("  %s: best sequential read %.1f MiB/s, best scrub %.1f MiB/s, median ratio %.2f "
	       "(%zu extents, 1 MiB requests, 8 in flight)\n",
	       what, best_seq, best_scrub, median_ratio, n);
	return median_ratio;
}

static void bench_scrub(const char *dir)
{
	uint64_t mib = env_u64("META_BENCH_SCRUB_MIB", 1024), ino;
	uint64_t small = env_u64("META_BENCH_SCRUB_SMALL", 4096), *inos;
	struct scrub_range *r = NULL;
	size_t n = 0, cap = 0;
	struct meta_fs *fs;
	double t, small_ratio;
	char path[512], name[32];

	snprintf(path, sizeof(path), "%s/meta-bench-scrub-%d.img", dir, (int)getpid());
	make_image(path, (mib + small / 64 + (mib + small / 64) / 8 + 64) << 20, 4096, 8);
	inos = calloc(small + 1, sizeof(*inos));
	fs = mount_fs(path, false, NULL);
	t = progress_now();
	ino = write_file(fs, "big", mib << 20);
	for (uint64_t i = 0; i < small; i++) {
		snprintf(name, sizeof(name), "s%06" PRIu64, i);
		inos[i] = write_file(fs, name, 16384);
	}
	if (meta_unmount(fs))
		die("unmount", EIO);
	printf("\nscrub: %" PRIu64 " MiB in one file and %" PRIu64
	       " files of 16 KiB written with PI in %.2f s\n",
	       mib, small, progress_now() - t);
	if (env_u64("META_BENCH_KEEP", 0)) {
		char keep[600];

		snprintf(keep, sizeof(keep), "%s.keep", path);
		if (!link(path, keep))
			printf("  image kept as %s\n", keep);
	}
	fs = mount_fs(path, true, NULL);
	for (uint64_t i = 0; i < small; i++)
		n = file_ranges(fs, inos[i], &r, n, &cap);
	small_ratio = n ? compare(meta_get_ns(fs), "small files", r, n) : 0;
	n = file_ranges(fs, ino, &r, 0, &cap);
	printf("small_files_scrub_vs_seqread_ratio=%.2f\n", small_ratio);
	t = compare(meta_get_ns(fs), "one large file", r, n);
	free(r);
	free(inos);
	meta_unmount(fs);
	unlink(path);
	printf("scrub_vs_seqread_ratio=%.2f\n", t);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("META_BENCH_DIR") ? getenv("META_BENCH_DIR") : "/var/tmp";

	if (argc > 1) {
		fprintf(stderr,
			"usage: %s (no arguments; META_BENCH_DIR, META_BENCH_SKIP_META in "
			"the environment)\n",
			argv[0]);
		return 2;
	}

	gfs_log_set_level(GFS_LOG_WARN);
	if (!env_u64("META_BENCH_SKIP_META", 0))
		bench_metadata(dir);
	bench_scrub(dir);
	return 0;
}
