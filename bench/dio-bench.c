// SPDX-License-Identifier: MIT
/*
 * dio-bench - direct I/O through the core API (core/dio: bounce copy, PI generate / verify,
 * mapping, completion) against the same with PI off and against fio on a raw file.
 *
 * Three configurations run in one invocation, each on its own file in /var/tmp (O_DIRECT must
 * reach a real filesystem):
 *   - "PI"    : a guardfs image formatted 4096+8, PI type 1; one file, fully written first, so
 *               the measured writes are overwrites of mapped blocks (the VM-image case);
 *   - "no PI" : the same formatted 4096+0;
 *   - "fio"   : fio (ioengine=io_uring, direct=1) on a raw file of the same size.
 * Cases: 4 KiB random read and write, 1 MiB sequential read and write, each at QD 1 and QD 16.
 * QD 16 through the core API is one thread keeping 16 requests in flight with the async API
 * (dio_submit_read / dio_submit_write_stable; it polls for a free request while waits are short,
 * as guardfs's own waiters do, see struct inflight), or with -T 16 threads each doing sync requests
 * (a FUSE daemon's worker threads); QD 1 uses the sync gfs_read / gfs_write_stable on an
 * O_DIRECT file, as the FUSE front end does.
 *
 * Writes promise a stable buffer, as the FUSE front end's writes from its own request buffers
 * do: the bench never changes its buffers while a write is in flight, so the device reads them
 * in place with PI generated over them (core/dio.h). Sync reads are lent (dio_read_lend), as a
 * FUSE worker's are: verified in the bounce and handed over there, not copied out; async reads
 * (QD 16 without -T) are copied, as the front end's small async ones are. -b copies through the
 * bounce both ways, as for a caller that can not promise its buffer or take a lent one.
 *
 * The machine may be shared: each case runs rounds of (PI, no PI, fio) back to back, the order
 * rotating; the table shows each configuration's best round, and each ratio is the median of
 * the per-round ratios (pairs measured under the same neighbours' load).
 *
 * Output: a table (MB/s and IOPS per configuration), then exactly two last lines:
 *   pi_vs_nopi_ratio=X.XX  lowest PI / no-PI throughput ratio over the cases
 *   dio_vs_fio_ratio=X.XX  lowest PI / fio throughput ratio over the cases
 *
 * The device sees guardfs's bounce buffers, which ask for transparent huge pages (a 1 MiB piece
 * is then one segment), the bench's own buffers (stable writes) and fio's: the bench's and
 * fio's are in hugetlb pages (fio: --iomem=shmhuge) when vm.nr_hugepages has room for both, so
 * every side hands the disk the same shape of memory (bench_util.h); the header says what each
 * side had.
 *
 * Usage: dio-bench [-d DIR] [-m MiB] [-t SECONDS_PER_ROUND] [-r ROUNDS] [-c CASE] [-T] [-b] [-p]
 *                  [-v]
 * (-c runs only the cases whose name contains CASE; -T: QD 16 as 16 threads; -b: copies through
 * the bounce both ways; -p: ordinary pages even where huge ones are available; -v: every round
 * on stderr, with what the block device under the files did in it)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "core/dio.h"
#include "core/gfs.h"
#include "core/meta.h"
#include "core/ns.h"
#include "core/poll.h"

#define MAX_QD	   16
#define BUFS_BYTES ((size_t)MAX_QD << 20) /* one 1 MiB buffer per request in flight */
#define MAX_ROUNDS 64

struct bench_case {
	const char *name;
	const char *fio_rw;
	bool write, random;
	uint32_t bytes;
	unsigned qd;
};

static const struct bench_case cases[] = {
	{"4k randread qd1", "randread", false, true, 4096, 1},
	{"4k randread qd16", "randread", false, true, 4096, 16},
	{"4k randwrite qd1", "randwrite", true, true, 4096, 1},
	{"4k randwrite qd16", "randwrite", true, true, 4096, 16},
	{"1m read qd1", "read", false, false, 1u << 20, 1},
	{"1m read qd16", "read", false, false, 1u << 20, 16},
	{"1m write qd1", "write", true, false, 1u << 20, 1},
	{"1m write qd16", "write", true, false, 1u << 20, 16},
};
#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

struct config {
	const char *name;
	char path[256];
	struct gfs *gfs;
	struct gfs_file *file;
};

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static int config_setup(struct config *c, const char *dir, uint64_t file_bytes, bool pi)
{
	struct pi_format fmt = {4096,	     pi ? 8 : 0, pi ? PI_TYPE_1 : PI_TYPE_NONE,
				PI_GUARD_16, false,	 PI_MD_SEPARATE};
	struct ns_options o = {.format = &fmt};
	struct meta_mkfs_params p = {0};
	struct meta_owner owner = {0, 0};
	uint64_t image = file_bytes + file_bytes / 8 + (64u << 20);
	uint64_t nlb = image / (fmt.lba_size + fmt.md_size);
	struct meta_attr attr;
	struct ns *ns;
	char *buf;
	int fd, ret;

	snprintf(c->path, sizeof(c->path), "%s/dio-bench-%s-XXXXXX", dir, pi ? "pi" : "nopi");
	fd = mkstemp(c->path);
	if (fd < 0 || ftruncate(fd, (off_t)(nlb * (fmt.lba_size + fmt.md_size))))
		return -errno;
	close(fd);
	ret = ns_open(c->path, &o, &ns);
	if (ret)
		return ret;
	p.sb.block_size = 4096;
	ret = meta_mkfs(ns, &p, NULL);
	ns_close(ns);
	if (!ret)
		ret = gfs_mount(c->path, NULL, &c->gfs);
	if (!ret)
		ret = meta_create(gfs_meta(c->gfs), META_ROOT_INO, "f", S_IFREG | 0644, &owner,
				  &attr);
	if (!ret)
		ret = gfs_open(c->gfs, attr.ino, GFS_O_DIRECT, &c->file);
	if (ret)
		return ret;
	/* Fill the file: the measured writes are overwrites of mapped blocks. */
	buf = aligned_alloc(4096, 1u << 20);
	memset(buf, 0x5A, 1u << 20);
	for (uint64_t off = 0; off < file_bytes && !ret; off += 1u << 20)
		if (gfs_write(c->file, buf, 1u << 20, off) != 1 << 20)
			ret = -EIO;
	free(buf);
	return ret;
}

static void config_teardown(struct config *c)
{
	if (c->file)
		gfs_release(c->file);
	if (c->gfs)
		gfs_unmount(c->gfs);
	unlink(c->path);
}

/* ---- the core API at QD 16: one thread, async requests ---- */

/*
 * The requests one bench thread keeps in flight. The thread waits for a free one the way
 * guardfs's own waiters do (core/poll.h): it polls while recent waits were short, and sleeps on
 * cond otherwise. Sleeping at every completion would cost this VM a wake-up (20 - 25 us) per
 * request on top of the engine's work, which no caller that keeps a queue full has to pay.
 */
struct inflight {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_uint busy;
	atomic_uint sleepers; /* threads in cond_wait, or about to be */
	atomic_int error;
	struct gfs_poll wait;
};

static void bench_end(void *arg, ssize_t result)
{
	struct inflight *in = arg;

	if (result < 0)
		atomic_store(&in->error, (int)result);
	atomic_fetch_sub(&in->busy, 1);
	/* Dekker pairing with inflight_wait_below: busy drops before sleepers is read. */
	if (atomic_load(&in->sleepers)) {
		pthread_mutex_lock(&in->lock);
		pthread_cond_signal(&in->cond);
		pthread_mutex_unlock(&in->lock);
	}
}

/* Until fewer than limit requests are in flight. */
static void inflight_wait_below(struct inflight *in, unsigned limit)
{
	uint64_t start = gfs_now_ns(), budget = gfs_poll_budget(&in->wait);

	if (atomic_load(&in->busy) < limit)
		return;
	while (atomic_load(&in->busy) >= limit && gfs_now_ns() - start < budget)
		gfs_poll_pause();
	if (atomic_load(&in->busy) >= limit) {
		pthread_mutex_lock(&in->lock);
		atomic_fetch_add(&in->sleepers, 1);
		while (atomic_load(&in->busy) >= limit)
			pthread_cond_wait(&in->cond, &in->lock);
		atomic_fetch_sub(&in->sleepers, 1);
		pthread_mutex_unlock(&in->lock);
	}
	gfs_poll_note(&in->wait, gfs_now_ns() - start);
}

static uint64_t next_offset(const struct bench_case *bc, uint64_t file_bytes, uint64_t *seq)
{
	uint64_t off;

	if (bc->random)
		return (rnd() % (file_bytes / bc->bytes)) * bc->bytes;
	off = *seq;
	*seq = (*seq + bc->bytes) % file_bytes;
	return off;
}

/* -T: QD 16 as 16 threads each doing sync requests (a FUSE daemon's worker threads). */
static bool qd_threads;
/* -b: copies through the bounce, rather than writes in place and lent reads. */
static bool bounce_copies;

/* A sync write of the bench's own buffer, which nothing changes while it is in flight. */
static ssize_t bench_write(struct gfs_file *file, const char *buf, size_t len, uint64_t off)
{
	return bounce_copies ? gfs_write(file, buf, len, off)
			     : gfs_write_stable(file, buf, len, off);
}

/* A sync read, lent and given back as a FUSE worker's reply would be. */
static ssize_t bench_read(struct gfs_file *file, char *buf, size_t len, uint64_t off)
{
	struct dio_lend lend;
	ssize_t got;

	if (bounce_copies)
		return gfs_read(file, buf, len, off);
	got = dio_read_lend(file, len, off, &lend);
	if (got >= 0)
		dio_lend_release(&lend);
	return got;
}

struct worker {
	struct config *c;
	const struct bench_case *bc;
	uint64_t file_bytes, ios, seed;
	unsigned idx;
	double end;
	char *buf;
	int error;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (bench_now() < w->end) {
		uint64_t off;
		ssize_t got;

		w->seed = w->seed * 6364136223846793005ull + 1442695040888963407ull;
		/* Sequential: worker i takes every qd-th chunk: together, one sequential stream. */
		off = w->bc->random
			      ? ((w->seed >> 20) % (w->file_bytes / w->bc->bytes)) * w->bc->bytes
			      : ((w->ios * w->bc->qd + w->idx) * w->bc->bytes) % w->file_bytes;
		got = w->bc->write ? bench_write(w->c->file, w->buf, w->bc->bytes, off)
				   : bench_read(w->c->file, w->buf, w->bc->bytes, off);
		if (got != (ssize_t)w->bc->bytes) {
			w->error = -EIO;
			break;
		}
		w->ios++;
	}
	return NULL;
}

static double run_threads(struct config *c, const struct bench_case *bc, uint64_t file_bytes,
			  double seconds, char *bufs)
{
	struct worker w[MAX_QD];
	pthread_t th[MAX_QD];
	double start = bench_now();
	uint64_t ios = 0;

	for (unsigned i = 0; i < bc->qd; i++) {
		w[i] = (struct worker){c,     bc, file_bytes,	   0,
				       rnd(), i,  start + seconds, bufs + (size_t)i * bc->bytes,
				       0};
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	for (unsigned i = 0; i < bc->qd; i++) {
		pthread_join(th[i], NULL);
		if (w[i].error)
			return -1;
		ios += w[i].ios;
	}
	return (double)ios * bc->bytes / (bench_now() - start);
}

/* Bytes per second of one case on one configuration for `seconds`. */
static double run_core(struct config *c, const struct bench_case *bc, uint64_t file_bytes,
		       double seconds, char *bufs)
{
	struct inflight in = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	double start = bench_now(), end = start + seconds, elapsed;
	uint64_t seq = 0, ios = 0;

	if (qd_threads && bc->qd > 1)
		return run_threads(c, bc, file_bytes, seconds, bufs);
	while (bench_now() < end && !atomic_load(&in.error)) {
		uint64_t off = next_offset(bc, file_bytes, &seq);
		char *buf = bufs + (ios % MAX_QD) * (size_t)bc->bytes;
		struct iovec iov = {buf, bc->bytes};
		int ret;

		if (bc->qd == 1) {
			ssize_t got = bc->write ? bench_write(c->file, buf, bc->bytes, off)
						: bench_read(c->file, buf, bc->bytes, off);

			if (got != (ssize_t)bc->bytes)
				return -1;
			ios++;
			continue;
		}
		inflight_wait_below(&in, bc->qd);
		atomic_fetch_add(&in.busy, 1);
		if (!bc->write)
			ret = dio_submit_read(c->file, &iov, 1, off, bench_end, &in);
		else if (bounce_copies)
			ret = dio_submit_write(c->file, &iov, 1, off, bench_end, &in);
		else
			ret = dio_submit_write_stable(c->file, &iov, 1, off, bench_end, &in);
		if (ret) {
			atomic_fetch_sub(&in.busy, 1);
			inflight_wait_below(&in, 1);
			return -1;
		}
		ios++;
	}
	inflight_wait_below(&in, 1);
	elapsed = bench_now() - start;
	return atomic_load(&in.error) ? -1 : (double)ios * bc->bytes / elapsed;
}

/* ---- fio on a raw file ---- */

/* fio's buffers in hugetlb pages, as guardfs's bounce pool asks for huge pages (-p: not). */
static bool fio_huge_mem;

static double run_fio(const char *file, const struct bench_case *bc, uint64_t file_bytes,
		      double seconds)
{
	struct bench_fio_job job = {
		.name = "diobench",
		.file = file,
		.rw = bc->fio_rw,
		.bs = bc->bytes,
		.qd = bc->qd,
		.size = file_bytes,
		.runtime = (int)(seconds + 0.5) ?: 1,
		.huge_mem = fio_huge_mem,
	};
	struct bench_fio_result res;

	return bench_run_fio(&job, &res) ? -1 : res.bw;
}

static int raw_setup(char *path, size_t size, const char *dir, uint64_t file_bytes)
{
	char *buf = aligned_alloc(4096, 1u << 20);
	int fd, ret = 0;

	snprintf(path, size, "%s/dio-bench-raw-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || !buf)
		return -errno;
	memset(buf, 0x5A, 1u << 20);
	for (uint64_t off = 0; off < file_bytes && !ret; off += 1u << 20)
		if (pwrite(fd, buf, 1u << 20, (off_t)off) != 1 << 20)
			ret = -EIO;
	fsync(fd);
	close(fd);
	free(buf);
	return ret;
}

/* The device under the files, for -v (bench_util.h). */
static struct bench_disk disk;
static bool verbose;

/*
 * -v: one round of a case, each side's MB/s and what the device did during it. A side that
 * kept as many requests in the device and was answered later was slowed by the device, not by
 * its own engine. fio's figures include its start-up.
 */
static void print_round(const struct bench_case *bc, int r, const double got[3],
			const struct bench_disk_delta dev[3])
{
	static const char *const side[3] = {"PI", "no PI", "fio"};

	fprintf(stderr, "  %s round %d: PI/noPI %.2f, PI/fio %.2f\n", bc->name, r + 1,
		got[0] / got[1], got[0] / got[2]);
	for (int i = 0; i < 3; i++) {
		fprintf(stderr, "    %-5s %8.1f MB/s", side[i], got[i] / 1e6);
		if (dev[i].ios > 0)
			fprintf(stderr,
				"; device: %.1f requests in it, %.0f KiB each, %.3f ms each",
				dev[i].avg_depth, dev[i].kib_per_req, dev[i].ms_per_req);
		fputc('\n', stderr);
	}
}

/*
 * One case: rounds of (PI, no PI, fio) back to back, the order rotating each round. Each
 * side's throughput is its best round; each ratio is the median of the per-round ratios, so
 * that a neighbour who loads the machine slows both sides of a pair, not one side of the
 * comparison.
 */
static int run_case(struct config *cfg, const char *raw, const struct bench_case *bc,
		    uint64_t file_bytes, double seconds, int rounds, char *bufs, double *pi_vs_nopi,
		    double *dio_vs_fio)
{
	double best[3] = {0}, pn[MAX_ROUNDS], pf[MAX_ROUNDS], m_pn, m_pf;

	for (int r = 0; r < rounds; r++) {
		struct bench_disk_delta dev[3];
		double got[3];

		for (int j = 0; j < 3; j++) {
			int i = (j + r) % 3;
			struct bench_disk_sample before, after;

			bench_disk_sample(&disk, &before);
			got[i] = i < 2 ? run_core(&cfg[i], bc, file_bytes, seconds, bufs)
				       : run_fio(raw, bc, file_bytes, seconds);
			bench_disk_sample(&disk, &after);
			if (got[i] <= 0)
				return -EIO;
			dev[i] = bench_disk_delta(&before, &after);
			best[i] = bench_max(best[i], got[i]);
		}
		pn[r] = got[0] / got[1];
		pf[r] = got[0] / got[2];
		if (verbose)
			print_round(bc, r, got, dev);
	}
	m_pn = bench_median(pn, rounds);
	m_pf = bench_median(pf, rounds);
	printf("%-18s %9.1f %9.1f %9.1f %9.0f %9.0f %9.0f %8.2f %8.2f\n", bc->name, best[0] / 1e6,
	       best[1] / 1e6, best[2] / 1e6, best[0] / bc->bytes, best[1] / bc->bytes,
	       best[2] / bc->bytes, m_pn, m_pf);
	fflush(stdout);
	if (m_pn < *pi_vs_nopi)
		*pi_vs_nopi = m_pn;
	if (m_pf < *dio_vs_fio)
		*dio_vs_fio = m_pf;
	return 0;
}

/* The system's THP mode, as /sys shows it ("always [madvise] never" -> "madvise"). */
static const char *thp_mode(void)
{
	static char mode[32] = "THP unknown";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char line[128], *open, *close;

	if (f && fgets(line, sizeof(line), f) && (open = strchr(line, '[')) &&
	    (close = strchr(open, ']'))) {
		*close = '\0';
		snprintf(mode, sizeof(mode), "THP %s", open + 1);
	}
	if (f)
		fclose(f);
	return mode;
}

/*
 * Transparent huge pages this process holds, from /proc/self/smaps_rollup: the bounce pools of
 * the two mounts are the only memory here that asks for them (the bench's own buffers do not),
 * so this says whether the pools got huge pages, which the THP mode alone does not. -1: unknown.
 */
static long long thp_held_kib(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	long long kib = -1;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %lld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static void print_thp_held(const struct config cfg[2])
{
	uint64_t pool_bytes = 0;
	long long kib = thp_held_kib();

	for (int i = 0; i < 2; i++) {
		struct dio_stats st;

		dio_get_stats(cfg[i].gfs, &st);
		pool_bytes += st.bounce_bytes;
	}
	if (kib >= 0)
		printf("bounce pools: %lld MiB held in transparent huge pages after the cases (the "
		       "pools span %llu MiB; slots never used take no memory)\n",
		       kib >> 10, (unsigned long long)(pool_bytes >> 20));
}

struct bench_args {
	const char *dir;
	uint64_t file_bytes;
	double seconds;
	int rounds;
	const char *only; /* -c: the cases whose name contains this */
	bool small_pages;
};

/* 0, or -1 for an unknown option or a value out of range (including a -c that selects none). */
static int parse_args(int argc, char **argv, struct bench_args *a)
{
	int opt;

	*a = (struct bench_args){
		.dir = "/var/tmp", .file_bytes = 256ull << 20, .seconds = 1.0, .rounds = 5};
	while ((opt = getopt(argc, argv, "d:m:t:r:c:Tbpv")) != -1) {
		if (opt == 'd')
			a->dir = optarg;
		else if (opt == 'm')
			a->file_bytes = strtoull(optarg, NULL, 0) << 20;
		else if (opt == 't')
			a->seconds = strtod(optarg, NULL);
		else if (opt == 'r')
			a->rounds = atoi(optarg);
		else if (opt == 'c')
			a->only = optarg;
		else if (opt == 'T')
			qd_threads = true;
		else if (opt == 'b')
			bounce_copies = true;
		else if (opt == 'p')
			a->small_pages = true;
		else if (opt == 'v')
			verbose = true;
		else
			return -1;
	}
	if (!BENCH_ANY_CASE_SELECTED(cases, a->only) || a->rounds < 1 || a->rounds > MAX_ROUNDS ||
	    !(a->seconds > 0))
		return -1;
	/* Room for every request of a QD 16 round of 1 MiB reads to read its own MiB. */
	return a->file_bytes < ((uint64_t)MAX_QD << 20) ? -1 : 0;
}

int main(int argc, char **argv)
{
	double pi_vs_nopi = 1e9, dio_vs_fio = 1e9;
	struct config cfg[2] = {{.name = "PI"}, {.name = "no PI"}};
	struct bench_args a;
	char raw[256], *bufs;
	bool bufs_huge;
	int ret = 0;

	if (parse_args(argc, argv, &a)) {
		fprintf(stderr,
			"usage: %s [-d DIR] [-m MiB] [-t SECONDS] [-r ROUNDS (1-%d)] [-c CASE] "
			"[-T] [-b] [-p] [-v]\n",
			argv[0], MAX_ROUNDS);
		return 2;
	}
	/* Our buffers in huge pages only if fio's fit beside them: both kinds, or neither. */
	bufs = a.small_pages ? NULL : bench_huge_alloc(BUFS_BYTES, BUFS_BYTES);
	bufs_huge = bufs != NULL;
	if (!bufs)
		bufs = aligned_alloc(4096, BUFS_BYTES);
	if (!bufs) {
		fprintf(stderr, "dio-bench: no memory for the buffers\n");
		return 1;
	}
	memset(bufs, 0x33, BUFS_BYTES);
	for (int i = 0; i < 2 && !ret; i++)
		ret = config_setup(&cfg[i], a.dir, a.file_bytes, i == 0);
	if (!ret)
		ret = raw_setup(raw, sizeof(raw), a.dir, a.file_bytes);
	if (ret) {
		fprintf(stderr, "dio-bench: setup failed: %s\n", strerror(-ret));
		goto out;
	}
	bench_disk_find(&disk, raw);
	printf("dio-bench: %llu MiB files in %s, %.1f s per round, %d rounds per case\n",
	       (unsigned long long)(a.file_bytes >> 20), a.dir, a.seconds, a.rounds);
	fio_huge_mem = bufs_huge && bench_huge_room(BUFS_BYTES);
	printf("buffers: guardfs's bounce pool asks for transparent huge pages (%s); the bench's "
	       "are in %s; fio's in %s\n",
	       thp_mode(), bufs_huge ? "hugetlb pages" : "4 KiB pages",
	       fio_huge_mem ? "hugetlb pages (--iomem=shmhuge)" : "4 KiB pages");
	printf("guardfs side: %s\n", bounce_copies ? "copies through the bounce both ways (-b)"
						   : "writes in place from stable buffers; sync "
						     "reads lent, async reads copied");
	printf("%-18s %9s %9s %9s %9s %9s %9s %8s %8s\n", "case", "PI MB/s", "noPI MB/s",
	       "fio MB/s", "PI IOPS", "noPI IOPS", "fio IOPS", "PI/noPI", "PI/fio");
	for (unsigned k = 0; k < NR_CASES && !ret; k++)
		if (bench_case_selected(cases[k].name, a.only))
			ret = run_case(cfg, raw, &cases[k], a.file_bytes, a.seconds, a.rounds, bufs,
				       &pi_vs_nopi, &dio_vs_fio);
	print_thp_held(cfg);
	if (verbose) {
		struct gfs_stats gs;

		gfs_get_stats(cfg[0].gfs, &gs);
		fprintf(stderr, "PI side: %llu sync read pieces verified half by their waiter\n",
			(unsigned long long)gs.dio_verify_shared);
	}
	unlink(raw);
out:
	for (int i = 0; i < 2; i++)
		config_teardown(&cfg[i]);
	if (bufs_huge)
		munmap(bufs, BUFS_BYTES);
	else
		free(bufs);
	if (ret)
		fprintf(stderr, "dio-bench: a case failed\n");
	printf("pi_vs_nopi_ratio=%.2f\n", ret ? 0.0 : pi_vs_nopi);
	printf("dio_vs_fio_ratio=%.2f\n", ret ? 0.0 : dio_vs_fio);
	return ret ? 1 : 0;
}
