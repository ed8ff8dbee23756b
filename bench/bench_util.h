// SPDX-License-Identifier: MIT
/*
 * bench_util.h - what the benchmark programs share: the clocks they time with, the median
 * their paired-round ratios take, and fio as the baseline they run against.
 * Benchmarks only; nothing in the library or the tests links this.
 */
#ifndef GUARDFS_BENCH_UTIL_H
#define GUARDFS_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Seconds on the monotonic clock. */
double bench_now(void);

/* CPU seconds (user + system) this process has used so far. */
double bench_cpu_sec(void);

static inline double bench_max(double a, double b)
{
	return a > b ? a : b;
}

/* The median of v[0..n) (n >= 1); sorts v. */
double bench_median(double *v, int n);

/* -c ONLY: a case runs when its name contains ONLY, or when there is no -c. */
static inline bool bench_case_selected(const char *name, const char *only)
{
	return !only || strstr(name, only);
}

/* Whether -c ONLY selects any case of cases[] (an array of structs with a name member). */
#define BENCH_ANY_CASE_SELECTED(cases, only)                                                       \
	({                                                                                         \
		bool any_ = false;                                                                 \
		for (size_t i_ = 0; i_ < sizeof(cases) / sizeof((cases)[0]); i_++)                 \
			any_ |= bench_case_selected((cases)[i_].name, (only));                     \
		any_;                                                                              \
	})

/*
 * One fio job on a file: io_uring, O_DIRECT unless buffered, time-based, over [0, size); or,
 * with threads > 1, that many threads of synchronous I/O (psync), as qemu's aio=threads.
 */
struct bench_fio_job {
	const char *name; /* fio's job name */
	const char *file;
	const char *rw;	  /* read, write, randread or randwrite */
	unsigned bs;	  /* bytes per request */
	unsigned qd;	  /* io_uring's queue depth */
	unsigned threads; /* > 1: psync threads instead of io_uring (qd unused) */
	unsigned long long size;
	int runtime;   /* seconds */
	bool buffered; /* through the page cache (direct=0) */
	bool huge_mem; /* fio's buffers in hugetlb pages (--iomem=shmhuge) */
};

/* What fio reports for the job's direction. */
struct bench_fio_result {
	double bw;	/* bytes per second; -1 when fio did not report it */
	double iops;	/* -1 when fio did not report it */
	double cpu_pct; /* usr_cpu + sys_cpu: percent of the job's runtime */
};

/* Run @job through fio (a child, JSON output); -1 when fio could not run or failed. */
int bench_run_fio(const struct bench_fio_job *job, struct bench_fio_result *res);

/*
 * Device-facing buffers. How many pages a buffer spans changes what a virtual disk does with a
 * request far more than any engine does (on the VMs guardfs is measured on, fio reads 1 MiB at
 * QD 1 at 1.5 GB/s from malloc'd memory and at 3 GB/s from huge pages): benches that compare
 * engines give both sides the same kind where they can. bench_huge_alloc maps bytes of hugetlb
 * memory when the system's pool (vm.nr_hugepages) can hold it and still leave spare_bytes for
 * fio, else NULL.
 */
void *bench_huge_alloc(size_t bytes, size_t spare_bytes);
/* Whether the hugetlb pool could hold bytes (fio's --iomem=shmhuge buffer). */
bool bench_huge_room(size_t bytes);

/*
 * The block device a file lives on, as the kernel counts it (/sys/dev/block/MAJ:MIN/stat).
 * Two samples give what the device did between them: requests completed, their size, and how
 * many requests were inside the device on average. If an engine kept its queue depth there and
 * still ran slower, the device (on a VM: the host) answered it more slowly.
 */
struct bench_disk {
	char stat_path[64]; /* empty when the file is not on a block device */
};

struct bench_disk_sample {
	double when;				   /* bench_now() */
	unsigned long long ios, sectors, queue_ms; /* reads + writes; time_in_queue */
};

/* What the device did between two samples. */
struct bench_disk_delta {
	double ios;	    /* requests completed */
	double kib_per_req; /* their mean size */
	double avg_depth;   /* mean requests inside the device */
	double ms_per_req;  /* mean time a request spent inside it */
};

/* Find the device under file; false (and later samples read as zero) when there is none. */
bool bench_disk_find(struct bench_disk *d, const char *file);
void bench_disk_sample(const struct bench_disk *d, struct bench_disk_sample *s);
struct bench_disk_delta bench_disk_delta(const struct bench_disk_sample *a,
					 const struct bench_disk_sample *b);

#endif /* GUARDFS_BENCH_UTIL_H */
