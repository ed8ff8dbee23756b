/* SPDX-License-Identifier: MIT */
/*
 * progress.h - progress reports for long work in the tools (scrub, benchmarks).
 *
 * On a terminal (isatty of the stream) a bar redrawn in place at most ten times a second:
 *
 *     scrub [##########          ]  50.0%  512.0 MiB / 1.00 GiB  850.3 MiB/s  ETA 0:01
 *
 * Anywhere else (a log, a pipe) one plain line every few seconds, so a log stays readable:
 *
 *     scrub: 512.0 MiB / 1.00 GiB (50.0%), 850.3 MiB/s, ETA 0:01
 *
 * The interval of plain lines is 5 seconds; the environment variable GUARDFS_PROGRESS_SECS
 * (a decimal number of seconds) overrides it, which tests use to see lines in a short run.
 * Not thread-safe: one thread reports.
 */
#ifndef GUARDFS_TOOLS_PROGRESS_H
#define GUARDFS_TOOLS_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct progress {
	FILE *out;
	const char *label;
	uint64_t total; /* bytes the work will take */
	uint64_t done;
	bool tty;
	bool drawn;	 /* a tty bar is on screen and needs a newline at the end */
	unsigned lines;	 /* plain lines printed */
	double start;	 /* monotonic seconds */
	double last;	 /* time of the last report */
	double interval; /* seconds between reports */
};

/* Start reporting @total bytes of work labelled @label on @out (stderr in the tools). */
void progress_init(struct progress *p, FILE *out, const char *label, uint64_t total);

/* @done bytes are finished (monotonic); reports when the interval has passed. */
void progress_update(struct progress *p, uint64_t done);

/* Final report (always printed on a terminal, on plain output only when something was). */
void progress_finish(struct progress *p);

/* Seconds since an arbitrary point, CLOCK_MONOTONIC. */
double progress_now(void);

#endif /* GUARDFS_TOOLS_PROGRESS_H */
