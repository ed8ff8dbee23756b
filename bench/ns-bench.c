// SPDX-License-Identifier: MIT
/*
 * ns-bench - the namespace layer's io_uring engine against fio on the same backing file.
 *
 * One image file of the file backend (4096+8, PI type 1; ~1 GiB of data by default, in
 * /var/tmp so O_DIRECT reaches a real filesystem) is first written in full through our engine
 * with valid PI. Then, for each case, our engine and fio (ioengine=io_uring, direct=1, run as a
 * child with --output-format=json) run for the same fixed time on the data region:
 * 4 KiB random read and write at QD 1 and QD 32, 1 MiB sequential read and write at QD 8.
 * Our side does what guardfs does: PI generated with pi_generate() for every write request and
 * verified with pi_verify() after every read, metadata written/read beside the data. Reads run
 * before writes because fio's writes leave data that no longer matches its PI.
 *
 * Our driver is completion-driven: end_io (on the namespace's completion thread) verifies,
 * prepares the next I/O of its slot and resubmits, so QD stays constant without a thread per
 * slot, as an fio job keeps its iodepth.
 *
 * Output: a table, then as the last line ns_vs_fio_ratio=X.XX, the lowest ours/fio throughput
 * ratio over the cases.
 *
 * The machine this runs on may be shared: each case alternates our engine and fio for several
 * rounds; the case's ratio is the median of the rounds' ratios, and the table shows each side's
 * median throughput and CPU time per I/O (ours from getrusage, fio's from its usr_cpu +
 * sys_cpu), which noise disturbs less than throughput.
 *
 * Both engines read and write from the same kind of memory: hugetlb pages when vm.nr_hugepages
 * leaves room for ours and fio's buffers (bench_huge_alloc: on a virtual disk a 1 MiB request
 * from 4 KiB pages carries up to 256 segments, from huge pages one, and that moves throughput
 * by up to 2x, more than either engine does), else ordinary pages; the header says which.
 *
 * Usage: ns-bench [-f FILE] [-s GiB] [-t SECONDS_PER_ROUND] [-r ROUNDS] [-c CASE] [-k] [-p] [-v]
 * (-c runs the cases whose name contains CASE; -k keeps the file; -p uses ordinary pages even
 * where huge ones are available; -v prints every round: each side's CPU time per I/O, and what
 * the block device under the image did meanwhile)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "core/ns.h"
#include "pi/pi.h"

#define LBA    4096u
#define MD     8u
#define APP    0x1234
#define MAX_QD 32

struct bench_case {
	const char *name;
	const char *fio_rw;
	bool write;
	bool random;
	uint32_t block_bytes;
	unsigned qd;
};

static const struct bench_case cases[] = {
	{"4k randread qd1", "randread", false, true, 4096, 1},
	{"4k randread qd32", "randread", false, true, 4096, 32},
	{"1m seqread qd8", "read", false, false, 1 << 20, 8},
	{"4k randwrite qd1", "randwrite", true, true, 4096, 1},
	{"4k randwrite qd32", "randwrite", true, true, 4096, 32},
	{"1m seqwrite qd8", "write", true, false, 1 << 20, 8},
};

struct bench;

struct slot {
	struct bench *b;
	struct ns_request rq;
	struct iovec iov;
	uint8_t *data;
	uint8_t *md;
	uint64_t rng;
};

struct bench {
	struct ns *ns;
	struct pi_ctx pi;
	const struct bench_case *c;
	uint64_t nlb;
	uint32_t blocks; /* per request */
	atomic_bool stop;
	atomic_uint_least64_t next_seq; /* sequential cursor, in requests */
	atomic_uint_least64_t bytes;
	atomic_uint_least64_t ios;
	atomic_uint_least64_t errors;
	unsigned active;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	struct slot slots[MAX_QD];
	bool huge_mem;		/* slots (and fio's buffers) in hugetlb pages */
	struct bench_disk disk; /* the device under the image, for -v */
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t bench_next_lba(struct bench *b, struct slot *s)
{
	uint64_t slots = b->nlb / b->blocks;

	if (b->c->random)
		return (xorshift(&s->rng) % slots) * b->blocks;
	return (atomic_fetch_add(&b->next_seq, 1) % slots) * b->blocks;
}

/* Prepare the slot's next request: new LBA, and for a write PI generated for it. */
static void bench_prepare(struct bench *b, struct slot *s)
{
	uint64_t lba = bench_next_lba(b, s);
	struct pi_io io = {.lba = lba, .ref_tag = lba, .app_tag = APP};

	s->rq.slba = lba;
	s->rq.pi = (struct ns_pi_params){
		.ref_tag = lba, .app_tag = APP, .app_mask = 0xFFFF, .checks = PI_CHECK_ALL};
	if (b->c->write)
		pi_generate(&b->pi, &s->iov, 1, s->md, b->blocks, &io);
}

static void bench_slot_done(struct bench *b)
{
	pthread_mutex_lock(&b->lock);
	if (--b->active == 0)
		pthread_cond_signal(&b->idle);
	pthread_mutex_unlock(&b->lock);
}

static void bench_end_io(struct ns_request *rq)
{
	struct slot *s = rq->private;
	struct bench *b = s->b;

	if (!rq->error && !b->c->write) {
		struct pi_io io = {.lba = rq->slba,
				   .ref_tag = rq->slba,
				   .app_tag = APP,
				   .app_mask = 0xFFFF,
				   .checks = PI_CHECK_ALL};

		if (pi_verify(&b->pi, &s->iov, 1, s->md, b->blocks, &io, NULL))
			atomic_fetch_add(&b->errors, 1);
	}
	if (rq->error)
		atomic_fetch_add(&b->errors, 1);
	if (!atomic_load(&b->stop)) {
		atomic_fetch_add(&b->bytes, (uint64_t)b->blocks * LBA);
		atomic_fetch_add(&b->ios, 1);
	}
	if (atomic_load(&b->stop) || rq->error) {
		bench_slot_done(b);
		return;
	}
	bench_prepare(b, s);
	if (ns_submit(b->ns, rq)) {
		atomic_fetch_add(&b->errors, 1);
		bench_slot_done(b);
	}
}

/*
 * The slots' data buffers: one region, in hugetlb pages when the system has enough of them for
 * ours and fio's (which then gets --iomem=shmhuge), else in ordinary pages for both; small_pages
 * asks for ordinary pages. Metadata buffers are never device-facing here (the file backend
 * copies them), so they stay in malloc'd memory.
 */
static int bench_slots_alloc(struct bench *b, uint32_t blocks, bool small_pages)
{
	size_t slot_bytes = (size_t)blocks * LBA;
	uint8_t *region = NULL;

	if (!small_pages)
		region = bench_huge_alloc(MAX_QD * slot_bytes, 8 * slot_bytes);
	b->huge_mem = region != NULL;
	if (!region && posix_memalign((void **)&region, 4096, MAX_QD * slot_bytes))
		return -ENOMEM;
	for (unsigned i = 0; i < MAX_QD; i++) {
		struct slot *s = &b->slots[i];

		s->data = region + i * slot_bytes;
		s->md = malloc((size_t)blocks * MD);
		if (!s->md)
			return -ENOMEM;
		for (size_t j = 0; j < slot_bytes; j++)
			s->data[j] = (uint8_t)(j * 31 + i);
		s->b = b;
		s->rng = 0x9E3779B97F4A7C15ull * (i + 1);
	}
	return 0;
}

/* Run one case on our engine for seconds; returns bytes per second. */
static double bench_ours(struct bench *b, const struct bench_case *c, double seconds, double *iops,
			 double *cpu_us)
{
	double start, elapsed, cpu = bench_cpu_sec();

	b->c = c;
	b->blocks = c->block_bytes / LBA;
	atomic_store(&b->stop, false);
	atomic_store(&b->bytes, 0);
	atomic_store(&b->ios, 0);
	atomic_store(&b->next_seq, 0);
	b->active = c->qd;
	start = bench_now();
	for (unsigned i = 0; i < c->qd; i++) {
		struct slot *s = &b->slots[i];

		s->iov = (struct iovec){s->data, (size_t)b->blocks * LBA};
		s->rq = (struct ns_request){.op = c->write ? NS_OP_WRITE : NS_OP_READ,
					    .nlb = b->blocks,
					    .iov = &s->iov,
					    .iovcnt = 1,
					    .md = s->md,
					    .end_io = bench_end_io,
					    .private = s};
		bench_prepare(b, s);
		if (ns_submit(b->ns, &s->rq)) {
			fprintf(stderr, "ns-bench: submit failed\n");
			exit(1);
		}
	}
	while (bench_now() - start < seconds)
		usleep(20000);
	atomic_store(&b->stop, true);
	elapsed = bench_now() - start;
	pthread_mutex_lock(&b->lock);
	while (b->active)
		pthread_cond_wait(&b->idle, &b->lock);
	pthread_mutex_unlock(&b->lock);
	*iops = (double)atomic_load(&b->ios) / elapsed;
	*cpu_us = (bench_cpu_sec() - cpu) * 1e6 / (double)(atomic_load(&b->ios) ?: 1);
	return (double)atomic_load(&b->bytes) / elapsed;
}

static double bench_fio(const char *file, uint64_t data_bytes, const struct bench_case *c,
			bool huge_mem, double seconds, double *iops, double *cpu_us)
{
	struct bench_fio_job job = {
		.name = "nsbench",
		.file = file,
		.rw = c->fio_rw,
		.bs = c->block_bytes,
		.qd = c->qd,
		.size = data_bytes,
		.runtime = (int)seconds,
		.huge_mem = huge_mem,
	};
	struct bench_fio_result res;

	if (bench_run_fio(&job, &res))
		return -1;
	*iops = res.iops;
	/* usr_cpu and sys_cpu are percentages of the job's runtime. */
	*cpu_us = res.cpu_pct / 100.0 * seconds * 1e6 / (*iops * seconds > 0 ? *iops * seconds : 1);
	return res.bw;
}

/* Sequential 1 MiB writes with PI over the whole data region: every block allocated, valid PI. */
static int bench_prefill(struct bench *b)
{
	uint64_t requests = b->nlb / 256;
	struct slot *s = &b->slots[0];
	double start = bench_now();

	s->iov = (struct iovec){s->data, 256 * LBA};
	for (uint64_t done = 0; done < requests; done++) {
		uint64_t lba = done * 256;
		struct pi_io io = {.lba = lba, .ref_tag = lba, .app_tag = APP};
		int ret;

		pi_generate(&b->pi, &s->iov, 1, s->md, 256, &io);
		ret = ns_write_sync(b->ns, lba, 256, s->data, s->md, NULL);
		if (ret)
			return ret;
	}
	printf("prefill: %llu MiB in %.1f s\n", (unsigned long long)requests, bench_now() - start);
	return ns_flush_sync(b->ns);
}

struct result {
	double bw; /* bytes per second */
	double iops;
	double cpu_us;		      /* CPU time per I/O: ours from getrusage, fio's usr + sys */
	struct bench_disk_delta disk; /* what the device under the image did meanwhile */
};

static bool verbose; /* -v: every round's figures on stderr */

/*
 * Each timed run follows an untimed WARM_UP_S run of the same engine, so that it never inherits
 * the state the other engine left behind: fio ran up to 1.5x faster right after a run of ours
 * than right after a run of its own (1 MiB sequential read, docs/PERFORMANCE.md).
 */
#define WARM_UP_S  1.0
#define MAX_ROUNDS 64

/* One run of one side: fio on `fio_file`, or ours when it is NULL. */
static double run_engine(struct bench *b, const char *fio_file, const struct bench_case *c,
			 double seconds, double *iops, double *cpu_us)
{
	if (fio_file)
		return bench_fio(fio_file, b->nlb * LBA, c, b->huge_mem, seconds, iops, cpu_us);
	return bench_ours(b, c, seconds, iops, cpu_us);
}

/* A warm-up run, then the timed run, with what the device did during the timed one. */
static double run_side(struct bench *b, const char *fio_file, const struct bench_case *c,
		       double seconds, struct result *r)
{
	struct bench_disk_sample before, after;
	double iops, cpu_us, bw;

	run_engine(b, fio_file, c, WARM_UP_S, &iops, &cpu_us);
	bench_disk_sample(&b->disk, &before);
	bw = run_engine(b, fio_file, c, seconds, &r->iops, &r->cpu_us);
	bench_disk_sample(&b->disk, &after);
	r->disk = bench_disk_delta(&before, &after);
	return bw;
}

/*
 * -v: one side's round. The device columns say whether a slow round was the engine's doing
 * (fewer requests kept in the device) or the device's (as many in it, each answered later);
 * fio's runs include its start-up, so its depth reads a little low.
 */
static void print_round(const char *who, const struct result *r)
{
	fprintf(stderr, "    %-4s %8.1f MiB/s %6.1f us CPU per I/O", who, r->bw / (1 << 20),
		r->cpu_us);
	if (r->disk.ios > 0)
		fprintf(stderr, "; device: %.1f requests in it, %.0f KiB each, %.2f ms each",
			r->disk.avg_depth, r->disk.kib_per_req, r->disk.ms_per_req);
	fputc('\n', stderr);
}

/* Each figure's median over n results (the device's figures are shown per round only). */
static struct result median_result(const struct result *v, int n)
{
	double bw[MAX_ROUNDS], iops[MAX_ROUNDS], cpu_us[MAX_ROUNDS];

	for (int i = 0; i < n; i++) {
		bw[i] = v[i].bw;
		iops[i] = v[i].iops;
		cpu_us[i] = v[i].cpu_us;
	}
	return (struct result){.bw = bench_median(bw, n),
			       .iops = bench_median(iops, n),
			       .cpu_us = bench_median(cpu_us, n)};
}

/*
 * Run our engine and fio back to back rounds times, each going first in every other round (the
 * one going second finds the host's caches warm). The machine is shared and its speed drifts
 * by 2x within minutes, so the case's ratio is the median of the per-round ratios, as dio-bench
 * computes it: a pair run within seconds of each other sees the same machine, and the median
 * ignores the rounds a neighbour disturbed. The figures shown are each side's medians.
 */
static int run_case(struct bench *b, const char *file, const struct bench_case *c, double seconds,
		    int rounds, struct result *ours, struct result *fio, double *ratio)
{
	struct result o[MAX_ROUNDS], f[MAX_ROUNDS];
	double ratios[MAX_ROUNDS];

	for (int r = 0; r < rounds; r++) {
		if (r % 2 == 0)
			o[r].bw = run_side(b, NULL, c, seconds, &o[r]);
		f[r].bw = run_side(b, file, c, seconds, &f[r]);
		if (r % 2 == 1)
			o[r].bw = run_side(b, NULL, c, seconds, &o[r]);
		if (f[r].bw <= 0) {
			fprintf(stderr, "ns-bench: fio failed for %s (is fio installed?)\n",
				c->name);
			return -1;
		}
		ratios[r] = o[r].bw / f[r].bw;
		if (verbose) {
			fprintf(stderr, "  %s round %d: ratio %.2f\n", c->name, r + 1, ratios[r]);
			print_round("ours", &o[r]);
			print_round("fio", &f[r]);
		}
	}
	*ratio = bench_median(ratios, rounds);
	*ours = median_result(o, rounds);
	*fio = median_result(f, rounds);
	return 0;
}

static int bench_make_image(const char *file, uint64_t nlb)
{
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, (off_t)(nlb * (LBA + MD)))) {
		perror(file);
		return -1;
	}
	close(fd);
	return 0;
}

struct bench_args {
	const char *file;
	const char *only;
	double seconds;
	double gib;
	int rounds;
	bool keep;
	bool small_pages;
};

static int parse_args(int argc, char **argv, struct bench_args *a)
{
	int opt;

	*a = (struct bench_args){
		.file = "/var/tmp/ns-bench.img", .seconds = 2, .gib = 1, .rounds = 4};
	while ((opt = getopt(argc, argv, "f:s:t:r:c:kpv")) != -1) {
		switch (opt) {
		case 'f':
			a->file = optarg;
			break;
		case 's':
			a->gib = strtod(optarg, NULL);
			break;
		case 't':
			a->seconds = strtod(optarg, NULL);
			break;
		case 'r':
			a->rounds = atoi(optarg);
			break;
		case 'c':
			a->only = optarg;
			break;
		case 'k':
			a->keep = true;
			break;
		case 'p':
			a->small_pages = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			return -1;
		}
	}
	if (a->seconds < 1 || a->rounds < 1 || a->rounds > MAX_ROUNDS ||
	    !BENCH_ANY_CASE_SELECTED(cases, a->only))
		return -1;
	return a->gib * (1 << 30) < 256.0 * LBA ? -1 : 0; /* at least one 1 MiB request */
}

/* Every case, one table row each; returns the lowest ratio or a negative value on failure. */
static double run_all(struct bench *b, const struct bench_args *a)
{
	double worst = 1e9;

	printf("%-18s %10s %9s %7s %10s %9s %7s %6s\n", "case", "ours MiB/s", "ours IOPS", "us/io",
	       "fio MiB/s", "fio IOPS", "us/io", "ratio");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result ours, fio;
		double ratio;

		if (!bench_case_selected(cases[i].name, a->only))
			continue;
		if (run_case(b, a->file, &cases[i], a->seconds, a->rounds, &ours, &fio, &ratio))
			return -1;
		printf("%-18s %10.1f %9.0f %7.1f %10.1f %9.0f %7.1f %6.2f\n", cases[i].name,
		       ours.bw / (1 << 20), ours.iops, ours.cpu_us, fio.bw / (1 << 20), fio.iops,
		       fio.cpu_us, ratio);
		fflush(stdout);
		if (ratio < worst)
			worst = ratio;
	}
	return worst;
}

int main(int argc, char **argv)
{
	struct pi_format fmt = {.lba_size = LBA,
				.md_size = MD,
				.type = PI_TYPE_1,
				.guard = PI_GUARD_16,
				.layout = PI_MD_SEPARATE};
	struct ns_options opts = {.format = &fmt, .queue_depth = 64};
	static struct bench b;
	struct bench_args a;
	double worst;

	if (parse_args(argc, argv, &a)) {
		fprintf(stderr, "usage: ns-bench [-f FILE] [-s GiB] [-t SECONDS] [-r ROUNDS] "
				"[-c CASE] [-k] [-p] [-v]\n");
		return 2;
	}
	b.nlb = (uint64_t)(a.gib * (1ull << 30)) / LBA / 256 * 256;
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.idle, NULL);
	if (pi_ctx_init(&b.pi, &fmt) || bench_slots_alloc(&b, 256, a.small_pages) ||
	    bench_make_image(a.file, b.nlb) || ns_open(a.file, &opts, &b.ns)) {
		fprintf(stderr, "ns-bench: set-up failed\n");
		return 1;
	}
	bench_disk_find(&b.disk, a.file);
	printf("ns-bench: %s, %llu blocks of 4096+8 (PI type 1), median of %d rounds of %.0f s per "
	       "case and engine\n",
	       a.file, (unsigned long long)b.nlb, a.rounds, a.seconds);
	printf("buffers: %s for both engines\n",
	       b.huge_mem ? "hugetlb pages (fio: --iomem=shmhuge)"
			  : "4 KiB pages (no room in vm.nr_hugepages, or -p)");
	if (bench_prefill(&b)) {
		fprintf(stderr, "ns-bench: prefill failed\n");
		ns_close(b.ns);
		unlink(a.file);
		return 1;
	}
	worst = run_all(&b, &a);
	ns_close(b.ns);
	if (!a.keep)
		unlink(a.file);
	if (worst < 0 || atomic_load(&b.errors)) {
		fprintf(stderr, "ns-bench: failed (%llu I/O or PI errors on our side)\n",
			(unsigned long long)atomic_load(&b.errors));
		return 1;
	}
	printf("ns_vs_fio_ratio=%.2f\n", worst);
	return 0;
}
