// SPDX-License-Identifier: MIT
/*
 * bench_util.c - clocks, the median, and the fio runner the benchmark programs share
 * (bench_util.h).
 */
#include "bench/bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

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
	char cmd[1024], *json;

	snprintf(cmd, sizeof(cmd),
		 "fio --name=%s --filename=%s --ioengine=io_uring --direct=%d --rw=%s --bs=%u "
		 "--iodepth=%u --size=%llu --offset=0 --time_based --runtime=%d --norandommap "
		 "--randrepeat=0 --output-format=json 2>/dev/null",
		 job->name, job->file, !job->buffered, job->rw, job->bs, job->qd, job->size,
		 job->runtime);
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
