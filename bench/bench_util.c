// SPDX-License-Identifier: MIT
/*
 * bench_util.c - clocks, the median, and the fio runner the benchmark programs share
 * (bench_util.h).
 */
#include "bench/bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_cpu_sec(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* All fio printed on its standard output (NUL-terminated), or NULL when it failed. */
static char *read_fio_output(const char *cmd)
{
	size_t len = 0, cap = 1 << 16;
	char *json = malloc(cap), *grown;
	FILE *p = popen(cmd, "r");

	if (!p || !json)
		goto fail;
	for (size_t got; (got = fread(json + len, 1, cap - len - 1, p)) > 0;) {
		len += got;
		if (len + 1 < cap)
			continue;
		grown = realloc(json, cap *= 2);
		if (!grown)
			goto fail;
		json = grown;
	}
	json[len] = '\0';
	if (pclose(p) != 0) {
		free(json);
		return NULL;
	}
	return json;
fail:
	if (p)
		pclose(p);
	free(json);
	return NULL;
}

/* The value of "key" : N after the first occurrence of section in fio's JSON; -1 if absent. */
static double json_number_after(const char *json, const char *section, const char *key)
{
	const char *p = strstr(json, section);

	if (!p || !(p = strstr(p, key)))
		return -1;
	p = strchr(p + strlen(key), ':');
	return p ? strtod(p + 1, NULL) : -1;
}

int bench_run_fio(const struct bench_fio_job *job, struct bench_fio_result *res)
{
	const char *section = strstr(job->rw, "write") ? "\"write\" : {" : "\"read\" : {";
	char cmd[1024], engine[96], *json;

	if (job->threads > 1)
		snprintf(engine, sizeof(engine),
			 "--ioengine=psync --numjobs=%u --thread --group_reporting", job->threads);
	else
		snprintf(engine, sizeof(engine), "--ioengine=io_uring --iodepth=%u", job->qd);
	snprintf(cmd, sizeof(cmd),
		 "fio --name=%s --filename=%s %s --direct=%d --rw=%s --bs=%u --size=%llu "
		 "--offset=0 --time_based --runtime=%d --norandommap --randrepeat=0 "
		 "%s--output-format=json 2>/dev/null",
		 job->name, job->file, engine, !job->buffered, job->rw, job->bs, job->size,
		 job->runtime, job->huge_mem ? "--iomem=shmhuge " : "");
	json = read_fio_output(cmd);
	if (!json)
		return -1;
	res->bw = json_number_after(json, section, "\"bw_bytes\"");
	res->iops = json_number_after(json, section, "\"iops\"");
	res->cpu_pct = json_number_after(json, "\"jobname\"", "\"usr_cpu\"") +
		       json_number_after(json, "\"jobname\"", "\"sys_cpu\"");
	free(json);
	return 0;
}

/* Free hugetlb pages and their size in bytes, from /proc/meminfo; 0 when there are none. */
static size_t huge_pages_free(size_t *page_bytes)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long n = 0, kib = 0, v;
	char line[128];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "HugePages_Free: %llu", &v) == 1)
			n = v;
		else if (sscanf(line, "Hugepagesize: %llu kB", &v) == 1)
			kib = v;
	}
	fclose(f);
	*page_bytes = (size_t)kib << 10;
	return kib ? (size_t)n : 0;
}

/* Whether bytes fit in the free hugetlb pages; *page_bytes gets the page size. */
static bool huge_pages_fit(size_t bytes, size_t *page_bytes)
{
	size_t free_pages = huge_pages_free(page_bytes);

	/* fio rounds its buffer up and aligns it: allow a page more than it asks for. */
	return free_pages && (bytes + *page_bytes - 1) / *page_bytes + 1 <= free_pages;
}

bool bench_huge_room(size_t bytes)
{
	size_t page;

	return huge_pages_fit(bytes, &page);
}

void *bench_huge_alloc(size_t bytes, size_t spare_bytes)
{
	size_t page;
	void *p;

	if (!huge_pages_fit(bytes + spare_bytes, &page))
		return NULL;
	p = mmap(NULL, (bytes + page - 1) / page * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

bool bench_disk_find(struct bench_disk *d, const char *file)
{
	struct stat st;

	d->stat_path[0] = 0;
	if (stat(file, &st))
		return false;
	snprintf(d->stat_path, sizeof(d->stat_path), "/sys/dev/block/%u:%u/stat", major(st.st_dev),
		 minor(st.st_dev));
	if (access(d->stat_path, R_OK) == 0)
		return true;
	d->stat_path[0] = 0; /* tmpfs, overlay, ...: no block device to ask */
	return false;
}

/*
 * The stat file's fields (Documentation/block/stat.rst): 1 read I/Os, 3 read sectors, 5 write
 * I/Os, 7 write sectors, 11 time_in_queue (ms, summed over the requests in flight).
 */
void bench_disk_sample(const struct bench_disk *d, struct bench_disk_sample *s)
{
	unsigned long long v[11] = {0};
	FILE *f = d->stat_path[0] ? fopen(d->stat_path, "r") : NULL;

	*s = (struct bench_disk_sample){.when = bench_now()};
	if (!f)
		return;
	for (int i = 0; i < 11; i++)
		if (fscanf(f, "%llu", &v[i]) != 1)
			break;
	fclose(f);
	s->ios = v[0] + v[4];
	s->sectors = v[2] + v[6];
	s->queue_ms = v[10];
}

struct bench_disk_delta bench_disk_delta(const struct bench_disk_sample *a,
					 const struct bench_disk_sample *b)
{
	double ios = (double)(b->ios - a->ios), secs = b->when - a->when;

	return (struct bench_disk_delta){
		.ios = ios,
		.kib_per_req = ios > 0 ? (double)(b->sectors - a->sectors) / 2 / ios : 0,
		.avg_depth = secs > 0 ? (double)(b->queue_ms - a->queue_ms) / 1e3 / secs : 0,
		.ms_per_req = ios > 0 ? (double)(b->queue_ms - a->queue_ms) / ios : 0,
	};
}
