/* SPDX-License-Identifier: MIT */
/*
 * opts.h - the guardfs command line, in the mount(8)/mount.fuse3 convention:
 *
 *   guardfs SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]
 *   guardfs --help | --version | --stats MOUNTPOINT
 *
 * -o options are split three ways: guardfs's own (cache_size=, dirty_bytes=, dirty_expire_ms=,
 * dio_align=, threads=, pi_report=, syncfs), the FUSE/kernel ones handed to libfuse (ro, rw,
 * allow_other, default_permissions, fsname=, subtype=, max_read=, the mount flags such as
 * nosuid/noexec), and the ones mount(8), fstab and systemd pass along that mean nothing to a
 * mounted filesystem (defaults, auto, noauto, user, users, nofail, _netdev, x-systemd.*, x-*,
 * comment=), which are accepted and ignored. Anything else is refused with one line naming it.
 */
#ifndef GUARDFS_FUSE_OPTS_H
#define GUARDFS_FUSE_OPTS_H

#include <stdbool.h>
#include <stdint.h>

enum gfuse_pi_report {
	GFUSE_PI_REPORT_DEFAULT, /* syslog in the background, stderr in front (-f) */
	GFUSE_PI_REPORT_SYSLOG,
	GFUSE_PI_REPORT_STDERR,
};

enum gfuse_mode {
	GFUSE_MODE_MOUNT,
	GFUSE_MODE_HELP,
	GFUSE_MODE_VERSION,
	GFUSE_MODE_STATS,
};

struct gfuse_opts {
	enum gfuse_mode mode;
	const char *source, *mountpoint;
	bool foreground, debug, single_thread;

	uint64_t cache_size, dirty_bytes;
	unsigned dirty_expire_ms;
	bool dio_fsblock;
	bool read_only;
	bool allow_other;
	bool syncfs; /* fuseblk mount, so that the kernel forwards syncfs(2) (blkdev.c, loop.c) */
	bool default_permissions; /* always on: the kernel checks permissions and sticky bits */
	char *fsname, *subtype;
	unsigned threads;	/* max worker threads of the session loop */
	unsigned pi_read_tries; /* pi_retries + 1; 0: the core's default */
	enum gfuse_pi_report pi_report;

	char *kernel_opts; /* comma list for libfuse (mount flags and FUSE options) */
};

/* Parse argv into *o (zeroed first). 0, or -EINVAL after printing one line to stderr. */
int gfuse_opts_parse(int argc, char **argv, struct gfuse_opts *o);
/* One -o list; 0 or -EINVAL after printing one line. */
int gfuse_opts_parse_list(struct gfuse_opts *o, const char *list);
void gfuse_opts_free(struct gfuse_opts *o);
/* The usage text. */
void gfuse_opts_usage(void);

#endif /* GUARDFS_FUSE_OPTS_H */
