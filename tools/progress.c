// SPDX-License-Identifier: MIT
/*
 * progress.c - the progress bar and the plain progress lines of progress.h.
 *
 * The rate is the average since the start (done / elapsed): a scrub reads at a steady device
 * speed, so the average is the honest predictor of the ETA and does not jump around as an
 * instantaneous rate would between two reports.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/progress.h"
#include "tools/size.h"

#define PROGRESS_BAR_WIDTH	24
#define PROGRESS_TTY_INTERVAL	0.1
#define PROGRESS_PLAIN_INTERVAL 5.0

double progress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, FILE *out, const char *label, uint64_t total)
{
	const char *env = getenv("GUARDFS_PROGRESS_SECS");

	*p = (struct progress){.out = out, .label = label, .total = total};
	p->tty = isatty(fileno(out)) == 1;
	p->interval = p->tty ? PROGRESS_TTY_INTERVAL : PROGRESS_PLAIN_INTERVAL;
	if (env && *env) {
		char *end;
		double v = strtod(env, &end);

		if (!*end && v >= 0)
			p->interval = v;
	}
	p->start = p->last = progress_now();
}

static void progress_eta(const struct progress *p, double rate, char *buf, size_t len)
{
	uint64_t secs;

	if (rate <= 0 || p->done >= p->total) {
		snprintf(buf, len, "0:00");
		return;
	}
	secs = (uint64_t)((double)(p->total - p->done) / rate + 0.5);
	if (secs >= 3600)
		snprintf(buf, len, "%llu:%02llu:%02llu", (unsigned long long)(secs / 3600),
			 (unsigned long long)(secs / 60 % 60), (unsigned long long)(secs % 60));
	else
		snprintf(buf, len, "%llu:%02llu", (unsigned long long)(secs / 60),
			 (unsigned long long)(secs % 60));
}

static void progress_print(struct progress *p, double now)
{
	double elapsed = now - p->start, pct, rate;
	char done[32], total[32], speed[32], eta[32], bar[PROGRESS_BAR_WIDTH + 1];
	int fill;

	rate = elapsed > 0 ? (double)p->done / elapsed : 0;
	pct = p->total ? 100.0 * (double)p->done / (double)p->total : 100.0;
	size_format(p->done, done, sizeof(done));
	size_format(p->total, total, sizeof(total));
	size_format((uint64_t)rate, speed, sizeof(speed));
	progress_eta(p, rate, eta, sizeof(eta));
	if (!p->tty) {
		fprintf(p->out, "%s: %s / %s (%.1f%%), %s/s, ETA %s\n", p->label, done, total, pct,
			speed, eta);
		fflush(p->out);
		p->lines++;
		return;
	}
	fill = (int)(pct * PROGRESS_BAR_WIDTH / 100.0);
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(PROGRESS_BAR_WIDTH - fill));
	bar[PROGRESS_BAR_WIDTH] = 0;
	/* \r and clear-to-end-of-line: the line is redrawn in place. */
	fprintf(p->out, "\r%s [%s] %5.1f%%  %s / %s  %s/s  ETA %s\033[K", p->label, bar, pct, done,
		total, speed, eta);
	fflush(p->out);
	p->drawn = true;
}

void progress_update(struct progress *p, uint64_t done)
{
	double now;

	p->done = done > p->total ? p->total : done;
	now = progress_now();
	if (now - p->last < p->interval)
		return;
	p->last = now;
	progress_print(p, now);
}

void progress_finish(struct progress *p)
{
	if (p->tty) {
		progress_print(p, progress_now());
		fputc('\n', p->out);
		p->drawn = false;
	} else if (p->lines) {
		progress_print(p, progress_now());
	}
	fflush(p->out);
}
