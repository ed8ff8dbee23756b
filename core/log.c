/* SPDX-License-Identifier: MIT */
/*
 * log.c - the single logging path. A line is formatted once into a stack buffer and handed
 * to the hook (tests) and then the sink, so concurrent writers never interleave inside a line.
 */
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <syslog.h>

static _Atomic int log_level = GFS_LOG_INFO;
static _Atomic int log_sink = GFS_LOG_STDERR;

/* hook and its argument change together, under hook_lock */
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static gfs_log_hook_fn log_hook;
static void *log_hook_arg;
static gfs_log_filter_fn log_filter;
static void *log_filter_arg;

void gfs_log_set_level(enum gfs_log_level level)
{
	atomic_store(&log_level, level);
}

void gfs_log_set_sink(enum gfs_log_sink sink, const char *ident)
{
	if (sink == GFS_LOG_SYSLOG)
		openlog(ident ? ident : "guardfs", LOG_PID, LOG_DAEMON);
	atomic_store(&log_sink, sink);
}

void gfs_log_set_hook(gfs_log_hook_fn hook, void *arg)
{
	pthread_mutex_lock(&hook_lock);
	log_hook = hook;
	log_hook_arg = arg;
	pthread_mutex_unlock(&hook_lock);
}

void gfs_log_set_filter(gfs_log_filter_fn filter, void *arg)
{
	pthread_mutex_lock(&hook_lock);
	log_filter = filter;
	log_filter_arg = arg;
	pthread_mutex_unlock(&hook_lock);
}

static const char *level_name(enum gfs_log_level level)
{
	switch (level) {
	case GFS_LOG_ERR:
		return "error";
	case GFS_LOG_WARN:
		return "warning";
	case GFS_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void gfs_log(enum gfs_log_level level, const char *fmt, ...)
{
	char buf[1024], filtered[1280], *line = buf;
	va_list ap;

	if ((int)level > atomic_load(&log_level))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&hook_lock);
	if (log_filter && log_filter(level, buf, filtered, sizeof(filtered), log_filter_arg))
		line = filtered;
	if (log_hook)
		log_hook(level, line, log_hook_arg);
	pthread_mutex_unlock(&hook_lock);

	if (atomic_load(&log_sink) == GFS_LOG_SYSLOG)
		syslog((int)level, "%s", line);
	else
		fprintf(stderr, "guardfs: %s: %s\n", level_name(level), line);
}
