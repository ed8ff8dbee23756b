// SPDX-License-Identifier: MIT
/*
 * cache-bench - the userspace page cache (core/buffered, core/writeback through the gfs_* API)
 * against plain pread/pwrite through the host page cache on the same backing file, and against
 * the namespace's own sequential write speed, in one run.
 *
 * On one image file of the file backend (4096+8, PI type 1, in /var/tmp so O_DIRECT reaches a
 * real filesystem):
 *   1. the namespace alone: sequential 1 MiB writes with PI, 8 in flight (the ceiling for
 *      buffered writeback), before the image is formatted;
 *   2. ours: buffered sequential write of SIZE (default 2 GiB) in 1 MiB calls plus the final
 *      fsync, then, after a remount (cold cache), sequential read with readahead; a 256 MiB
 *      file written and read once (now cached), then 4 KiB random reads and 4 KiB random
 *      overwrites (plus their fsync); the same three for 2-3 folio sizes to justify the
 *      default;
 *   3. the host: the same patterns with pread/pwrite on the same image file (no O_DIRECT),
 *      through the host page cache, done last because they overwrite the image.
 *
 * The last line is cached_read_vs_host_ratio=X.XX: 4 KiB random reads from our cache divided
 * by 4 KiB random reads from the host page cache, measured in alternating rounds so both see
 * the same load. Figures on a shared machine are noisy: each random-I/O case keeps the best
 * of a few rounds.
 *
 * Usage: cache-bench [-d DIR] [-s GiB] [-n RANDOM_OPS] [-F folio,folio,...] [-q] (-q: 256 MiB
 * sequential size, for a quick look)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "core/gfs.h"
#include "core/meta.h"
#include "core/ns.h"

#define MIB	  ((uint64_t)1 << 20)
#define RAND_FILE (256 * MIB)
#define ROUNDS	  3

static struct pi_format bench_fmt = {
	.lba_size = 4096,
	.md_size = 8,
	.type = PI_TYPE_1,
	.guard = PI_GUARD_16,
	.layout = PI_MD_SEPARATE,
};

static char img_path[512];
static uint64_t seq_bytes = 2048 * MIB;
static uint64_t rand_ops = 200000;

static void die(const char *what, int err)
{
	fprintf(stderr, "cache-bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	unlink(img_path);
	exit(1);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- 1. the namespace alone ---- */

struct ns_slot {
	struct ns_request rq;
	struct iovec iov;
	void *data, *md;
	atomic_bool busy;
	atomic_int *error;
};

static void ns_slot_end_io(struct ns_request *rq)
{
	struct ns_slot *slot = rq->private;

	if (rq->error)
		atomic_store(slot->error, rq->error);
	atomic_store(&slot->busy, false);
}

static double bench_ns_seq_write(uint64_t bytes)
{
	enum { QD = 8 };
	struct ns_options o = {.format = &bench_fmt};
	struct ns_slot slots[QD];
	uint64_t lba = 1024, per = MIB / 4096;
	atomic_int error = 0;
	struct pi_ctx ctx;
	struct ns *ns;
	double t0;
	int ret;

	ret = ns_open(img_path, &o, &ns);
	if (ret)
		die("ns_open", ret);
	pi_ctx_init(&ctx, &bench_fmt);
	for (int i = 0; i < QD; i++) {
		if (posix_memalign(&slots[i].data, 4096, MIB))
			die("alloc", ENOMEM);
		memset(slots[i].data, 0x5a + i, MIB);
		slots[i].md = calloc(per, 8);
		atomic_init(&slots[i].busy, false);
		slots[i].error = &error;
	}
	t0 = bench_now();
	for (uint64_t done = 0; done < bytes; done += MIB, lba += per) {
		struct ns_slot *slot = &slots[(done / MIB) % QD];
		struct pi_io pio = {.lba = lba,
				    .ref_tag = lba,
				    .app_tag = 1,
				    .app_mask = 0xFFFF,
				    .checks = PI_CHECK_ALL};

		while (atomic_load(&slot->busy))
			sched_yield();
		slot->iov = (struct iovec){slot->data, MIB};
		/* PI over the data, as writeback does. */
		pi_generate(&ctx, &slot->iov, 1, slot->md, per, &pio);
		slot->rq = (struct ns_request){.op = NS_OP_WRITE,
					       .slba = lba,
					       .nlb = per,
					       .iov = &slot->iov,
					       .iovcnt = 1,
					       .md = slot->md,
					       .end_io = ns_slot_end_io,
					       .private = slot};
		atomic_store(&slot->busy, true);
		ret = ns_submit(ns, &slot->rq);
		if (ret)
			die("ns_submit", ret);
	}
	for (int i = 0; i < QD; i++)
		while (atomic_load(&slots[i].busy))
			sched_yield();
	ns_flush_sync(ns);
	t0 = bench_now() - t0;
	if (atomic_load(&error))
		die("namespace write", atomic_load(&error));
	ns_close(ns);
	for (int i = 0; i < QD; i++) {
		free(slots[i].data);
		free(slots[i].md);
	}
	return bytes / MIB / t0;
}

static void bench_mkfs(void)
{
	struct ns_options o = {.format = &bench_fmt};
	struct meta_mkfs_params p = {0};
	struct ns *ns;
	int ret;

	ret = ns_open(img_path, &o, &ns);
	if (ret)
		die("ns_open", ret);
	ret = meta_mkfs(ns, &p, NULL);
	if (ret)
		die("meta_mkfs", ret);
	ns_close(ns);
}

/* ---- 2. ours ---- */

static struct gfs *bench_mount(uint64_t cache, unsigned folio)
{
	struct gfs_opts o = {.cache_size = cache, .folio_size = folio};
	struct gfs *gfs;
	int ret = gfs_mount(img_path, &o, &gfs);

	if (ret)
		die("gfs_mount", ret);
	return gfs;
}

static uint64_t bench_file(struct gfs *gfs, const char *name)
{
	struct meta_owner owner = {0, 0};
	struct meta_attr attr;
	int ret = meta_lookup(gfs_meta(gfs), META_ROOT_INO, name, &attr);

	if (ret == -ENOENT)
		ret = meta_create(gfs_meta(gfs), META_ROOT_INO, name, S_IFREG | 0644, &owner,
				  &attr);
	if (ret)
		die("create", ret);
	return attr.ino;
}

static struct gfs_file *bench_open(struct gfs *gfs, uint64_t ino)
{
	struct gfs_file *f;
	int ret = gfs_open(gfs, ino, 0, &f);

	if (ret)
		die("gfs_open", ret);
	return f;
}

/* MiB/s of sequential 1 MiB writes of bytes, fsync included. */
static double last_write_s, last_fsync_s;

static double gfs_seq_write(struct gfs_file *f, uint64_t bytes, char *buf)
{
	double t0 = bench_now(), t1;

	for (uint64_t off = 0; off < bytes; off += MIB) {
		buf[0] = (char)off;
		if (gfs_write(f, buf, MIB, off) != (ssize_t)MIB)
			die("gfs_write", EIO);
	}
	t1 = bench_now();
	if (gfs_fsync(f, false))
		die("gfs_fsync", EIO);
	last_fsync_s = bench_now() - t1;
	last_write_s = t1 - t0;
	return bytes / MIB / (bench_now() - t0);
}

static double gfs_seq_read(struct gfs_file *f, uint64_t bytes, char *buf)
{
	double t0 = bench_now();

	for (uint64_t off = 0; off < bytes; off += MIB)
		if (gfs_read(f, buf, MIB, off) != (ssize_t)MIB)
			die("gfs_read", EIO);
	return bytes / MIB / (bench_now() - t0);
}

/* One round: thousands of 4 KiB operations per second over [0, span). */
static double gfs_rand(struct gfs_file *f, uint64_t span, bool write, char *buf)
{
	uint64_t seed = 0x1234567;
	double t0 = bench_now();

	for (uint64_t i = 0; i < rand_ops; i++) {
		uint64_t off = (rng_next(&seed) % (span / 4096)) * 4096;
		ssize_t ret = write ? gfs_write(f, buf, 4096, off) : gfs_read(f, buf, 4096, off);

		if (ret != 4096)
			die(write ? "gfs_write" : "gfs_read", EIO);
	}
	return rand_ops / (bench_now() - t0) / 1000;
}

/* The same on the image file through the host page cache. */
static double host_rand(int fd, bool write, char *buf)
{
	uint64_t seed = 0x1234567;
	double t0 = bench_now();

	for (uint64_t i = 0; i < rand_ops; i++) {
		off_t off = (off_t)((rng_next(&seed) % (RAND_FILE / 4096)) * 4096);
		ssize_t ret = write ? pwrite(fd, buf, 4096, off) : pread(fd, buf, 4096, off);

		if (ret != 4096)
			die("host I/O", errno);
	}
	return rand_ops / (bench_now() - t0) / 1000;
}

/* The host page cache on the same file: sequential 1 MiB calls (+ fsync for writes). */
static double host_seq(int fd, uint64_t bytes, bool write, char *buf)
{
	double t0 = bench_now();

	for (uint64_t off = 0; off < bytes; off += MIB) {
		ssize_t ret =
			write ? pwrite(fd, buf, MIB, (off_t)off) : pread(fd, buf, MIB, (off_t)off);

		if (ret != (ssize_t)MIB)
			die("host I/O", errno);
	}
	if (write && fsync(fd))
		die("fsync", errno);
	return bytes / MIB / (bench_now() - t0);
}

struct folio_result {
	unsigned folio;
	double seq_write, rand_read, rand_write, fsync_s;
	double host_rand_read; /* measured in the same rounds, interleaved */
};

/* The 256 MiB cached file: written, synced, read once, then random reads and overwrites. */
static void bench_random(unsigned folio, struct folio_result *res, char *buf)
{
	struct gfs *gfs = bench_mount(RAND_FILE + 128 * MIB, folio);
	struct gfs_file *f = bench_open(gfs, bench_file(gfs, "random"));
	struct gfs_stats st;
	double t0;

	int fd = open(img_path, O_RDONLY);

	if (fd < 0)
		die("open", errno);
	res->folio = folio;
	gfs_seq_write(f, RAND_FILE, buf);
	gfs_seq_read(f, RAND_FILE, buf);
	/* The host side reads the image's first 256 MiB (read-only: the image stays intact). */
	host_seq(fd, RAND_FILE, false, buf);
	/* Rounds alternate between the two, so both see the same machine load. */
	for (int round = 0; round < ROUNDS; round++) {
		res->rand_read = bench_max(res->rand_read, gfs_rand(f, RAND_FILE, false, buf));
		res->host_rand_read = bench_max(res->host_rand_read, host_rand(fd, false, buf));
	}
	close(fd);
	for (int round = 0; round < ROUNDS; round++)
		res->rand_write = bench_max(res->rand_write, gfs_rand(f, RAND_FILE, true, buf));
	t0 = bench_now();
	if (gfs_fsync(f, false))
		die("gfs_fsync", EIO);
	res->fsync_s = bench_now() - t0;
	gfs_get_stats(gfs, &st);
	if (st.cache_peak_bytes > st.cache_budget)
		die("cache over budget", EOVERFLOW);
	gfs_release(f);
	if (gfs_unmount(gfs))
		die("gfs_unmount", EIO);
}

static void parse_folios(const char *s, unsigned *folios, int *nr)
{
	*nr = 0;
	while (*s && *nr < 4) {
		folios[(*nr)++] = strtoul(s, (char **)&s, 0);
		if (*s == ',')
			s++;
	}
}

struct results {
	double ns_mibs, seq_w, seq_r, h_seq_w, h_seq_r, h_rw;
	struct folio_result folio[4];
	int nr_folios, def;
};

/* Ours: sequential write (cold), sequential read after a remount, then the folio sweep. */
static void run_ours(struct results *r, const unsigned *folios, char *buf)
{
	struct gfs *gfs = bench_mount(256 * MIB, 0);
	struct gfs_file *f = bench_open(gfs, bench_file(gfs, "seq"));

	r->seq_w = gfs_seq_write(f, seq_bytes, buf);
	printf("sequential write: %.2f s in write calls, %.2f s in the final fsync\n", last_write_s,
	       last_fsync_s);
	gfs_release(f);
	if (gfs_unmount(gfs))
		die("gfs_unmount", EIO);
	gfs = bench_mount(256 * MIB, 0);
	f = bench_open(gfs, bench_file(gfs, "seq"));
	r->seq_r = gfs_seq_read(f, seq_bytes, buf);
	gfs_release(f);
	if (gfs_unmount(gfs))
		die("gfs_unmount", EIO);
	for (int i = 0; i < r->nr_folios; i++) {
		bench_random(folios[i], &r->folio[i], buf);
		if (folios[i] == 65536)
			r->def = i;
	}
}

/* The host page cache on the same image file (overwrites it: run last). */
static void run_host(struct results *r, char *buf)
{
	int fd = open(img_path, O_RDWR);

	if (fd < 0)
		die("open", errno);
	r->h_seq_w = host_seq(fd, seq_bytes, true, buf);
	r->h_seq_r = host_seq(fd, seq_bytes, false, buf);
	for (int round = 0; round < ROUNDS; round++)
		r->h_rw = bench_max(r->h_rw, host_rand(fd, true, buf));
	close(fd);
}

static void print_results(const struct results *r)
{
	const struct folio_result *d = &r->folio[r->def];

	printf("\n%-44s %12s %12s %8s\n", "case", "guardfs", "host/ns", "ratio");
	printf("%-44s %9.0f MiB/s %9.0f MiB/s %8.2f\n",
	       "sequential write 1 MiB + fsync vs namespace", r->seq_w, r->ns_mibs,
	       r->seq_w / r->ns_mibs);
	printf("%-44s %9.0f MiB/s %9.0f MiB/s %8.2f\n", "sequential write 1 MiB + fsync vs host",
	       r->seq_w, r->h_seq_w, r->seq_w / r->h_seq_w);
	printf("%-44s %9.0f MiB/s %9.0f MiB/s %8.2f\n",
	       "sequential read 1 MiB (ours cold, host warm)", r->seq_r, r->h_seq_r,
	       r->seq_r / r->h_seq_r);
	printf("%-44s %9.0f kIOPS %9.0f kIOPS %8.2f\n", "4 KiB random read, cached", d->rand_read,
	       d->host_rand_read, d->rand_read / d->host_rand_read);
	printf("%-44s %9.0f kIOPS %9.0f kIOPS %8.2f\n", "4 KiB random overwrite, cached",
	       d->rand_write, r->h_rw, d->rand_write / r->h_rw);
	printf("\nfolio size sweep (256 MiB cached file; default %u):\n", d->folio);
	printf("%10s %16s %16s %16s %16s\n", "folio", "rand read kIOPS", "(host same time)",
	       "rand write kIOPS", "fsync after (s)");
	for (int i = 0; i < r->nr_folios; i++)
		printf("%10u %16.0f %16.0f %16.0f %16.2f\n", r->folio[i].folio,
		       r->folio[i].rand_read, r->folio[i].host_rand_read, r->folio[i].rand_write,
		       r->folio[i].fsync_s);
	printf("seq_write_vs_ns_ratio=%.2f\n", r->seq_w / r->ns_mibs);
	printf("cached_read_vs_host_ratio=%.2f\n", d->rand_read / d->host_rand_read);
}

int main(int argc, char **argv)
{
	const char *dir = "/var/tmp";
	unsigned folios[4] = {16384, 65536, 262144};
	struct results r = {.nr_folios = 3};
	uint64_t img_bytes;
	int opt, fd;
	char *buf;

	while ((opt = getopt(argc, argv, "d:s:n:F:q")) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 's':
			seq_bytes = strtoull(optarg, NULL, 0) << 30;
			break;
		case 'n':
			rand_ops = strtoull(optarg, NULL, 0);
			break;
		case 'F':
			parse_folios(optarg, folios, &r.nr_folios);
			break;
		case 'q':
			seq_bytes = 256 * MIB;
			break;
		default:
			fprintf(stderr,
				"usage: cache-bench [-d DIR] [-s GiB] [-n OPS] [-F f,f,..] [-q]\n");
			return 2;
		}
	}
	if (posix_memalign((void **)&buf, 4096, MIB))
		return 1;
	memset(buf, 0xa5, MIB);
	snprintf(img_path, sizeof(img_path), "%s/cache-bench-XXXXXX", dir);
	fd = mkstemp(img_path);
	if (fd < 0)
		die("mkstemp", errno);
	img_bytes = (seq_bytes + RAND_FILE + 1024 * MIB) / 4096 * (4096 + 8);
	if (ftruncate(fd, (off_t)img_bytes))
		die("ftruncate", errno);
	close(fd);
	printf("cache-bench: image %s, %.1f GiB, 4096+8 PI type 1; sequential %" PRIu64
	       " MiB, random %" PRIu64 " x 4 KiB over a cached 256 MiB file (best of %d)\n",
	       img_path, img_bytes / 1073741824.0, seq_bytes / MIB, rand_ops, ROUNDS);
	fflush(stdout);
	r.ns_mibs = bench_ns_seq_write(seq_bytes < 1024 * MIB ? seq_bytes : 1024 * MIB);
	bench_mkfs();
	run_ours(&r, folios, buf);
	run_host(&r, buf);
	unlink(img_path);
	print_results(&r);
	free(buf);
	return 0;
}
