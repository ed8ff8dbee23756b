/* SPDX-License-Identifier: MIT */
/*
 * log.h - one line per event, to stderr or syslog.
 *
 * Every error a user can see is one line naming the object (path or inode, offset, LBA) and
 * the reason. The sink is chosen once at start-up (the daemon switches to syslog when it
 * daemonises); a test may capture lines with gfs_log_set_hook().
 */
#ifndef GUARDFS_LOG_H
#define GUARDFS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum gfs_log_level {
	GFS_LOG_ERR = 3,
	GFS_LOG_WARN = 4,
	GFS_LOG_INFO = 6,
	GFS_LOG_DEBUG = 7,
};

enum gfs_log_sink {
	GFS_LOG_STDERR,
	GFS_LOG_SYSLOG,
};

/* Lines above this level are dropped. Default: GFS_LOG_INFO. */
void gfs_log_set_level(enum gfs_log_level level);
void gfs_log_set_sink(enum gfs_log_sink sink, const char *ident);

/* A hook sees every formatted line (without newline) before the sink; NULL removes it. */
typedef void (*gfs_log_hook_fn)(enum gfs_log_level level, const char *line, void *arg);
void gfs_log_set_hook(gfs_log_hook_fn hook, void *arg);

/*
 * A filter may rewrite a line before the hook and the sink see it (the daemon adds the path of
 * the inode a line names): it writes the new line into out (len bytes) and returns true, or
 * returns false to keep the line. NULL removes it.
 */
typedef bool (*gfs_log_filter_fn)(enum gfs_log_level level, const char *line, char *out, size_t len,
				  void *arg);
void gfs_log_set_filter(gfs_log_filter_fn filter, void *arg);

void gfs_log(enum gfs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define gfs_err(...)   gfs_log(GFS_LOG_ERR, __VA_ARGS__)
#define gfs_warn(...)  gfs_log(GFS_LOG_WARN, __VA_ARGS__)
#define gfs_info(...)  gfs_log(GFS_LOG_INFO, __VA_ARGS__)
#define gfs_debug(...) gfs_log(GFS_LOG_DEBUG, __VA_ARGS__)

#endif /* GUARDFS_LOG_H */
