/* SPDX-License-Identifier: MIT */
/*
 * opts.c - the guardfs command line (see opts.h). Options are matched against three tables:
 * guardfs's own (parsed here into struct gfuse_opts), the ones libfuse understands (copied into
 * kernel_opts, from which main.c builds libfuse's argument vector) and the ones mount(8),
 * fstab and systemd pass along that mean nothing here (ignored). The first option in none of
 * them ends parsing with one line naming it, before anything is opened or mounted.
 */
#include "fuse/opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gfs.h"
#include "tools/size.h"

#define GFUSE_THREADS_MAX 256

static int opts_fail(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "guardfs: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return -EINVAL;
}

/* Options passed to libfuse as they are (the kernel's mount flags and FUSE's own). */
static const char *const opts_kernel_flags[] = {
	"rw",	"suid",	   "nosuid", "dev",	"nodev",      "exec",	    "noexec", "async",
	"sync", "dirsync", "atime",  "noatime", "nodiratime", "allow_root", NULL,
};
static const char *const opts_kernel_values[] = {"max_read=", NULL};

/* Options of mount(8), fstab and systemd with no meaning to the daemon. */
static const char *const opts_ignored_flags[] = {
	"defaults",    "auto",	   "noauto",	 "user",    "users",	"nouser",
	"owner",       "group",	   "nofail",	 "_netdev", "relatime", "norelatime",
	"strictatime", "lazytime", "nolazytime", "silent",  "loud",	"default_permissions",
	NULL,
};
static const char *const opts_ignored_prefixes[] = {"x-", "comment=", NULL};

static bool opts_in(const char *const *list, const char *opt)
{
	for (; *list; list++)
		if (!strcmp(*list, opt))
			return true;
	return false;
}

static bool opts_prefixed(const char *const *list, const char *opt)
{
	for (; *list; list++)
		if (!strncmp(*list, opt, strlen(*list)))
			return true;
	return false;
}

static int opts_append_kernel(struct gfuse_opts *o, const char *opt)
{
	size_t old = o->kernel_opts ? strlen(o->kernel_opts) : 0;
	char *s = realloc(o->kernel_opts, old + strlen(opt) + 2);

	if (!s)
		return -ENOMEM;
	if (old)
		s[old++] = ',';
	strcpy(s + old, opt);
	o->kernel_opts = s;
	return 0;
}

static int opts_size(const char *opt, const char *val, uint64_t *out)
{
	if (size_parse(val, out) || !*out)
		return opts_fail("-o %s: '%s' is not a size (a number with K, M, G suffixes)", opt,
				 val);
	return 0;
}

static int opts_uint(const char *opt, const char *val, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || end == val || *end || v == 0 || v > max)
		return opts_fail("-o %s: '%s' is not a number in range", opt, val);
	*out = (unsigned)v;
	return 0;
}

static int opts_string(const char *opt, const char *val, char **out)
{
	if (!*val)
		return opts_fail("-o %s: empty value%s", opt, "");
	free(*out);
	*out = strdup(val);
	return *out ? 0 : -ENOMEM;
}

/* name=value options of guardfs itself; 1 when @name is not one of them. */
static int opts_own_value(struct gfuse_opts *o, const char *name, const char *val)
{
	if (!strcmp(name, "cache_size"))
		return opts_size(name, val, &o->cache_size);
	if (!strcmp(name, "dirty_bytes"))
		return opts_size(name, val, &o->dirty_bytes);
	if (!strcmp(name, "dirty_expire_ms"))
		return opts_uint(name, val, 3600 * 1000, &o->dirty_expire_ms);
	if (!strcmp(name, "threads"))
		return opts_uint(name, val, GFUSE_THREADS_MAX, &o->threads);
	if (!strcmp(name, "pi_retries")) {
		unsigned n;

		/* opts_uint refuses 0, which means "fail at the first PI failure" here. */
		if (!strcmp(val, "0")) {
			o->pi_read_tries = 1;
			return 0;
		}
		if (opts_uint(name, val, GFS_MAX_PI_READ_TRIES - 1, &n))
			return -EINVAL;
		o->pi_read_tries = n + 1;
		return 0;
	}
	if (!strcmp(name, "fsname"))
		return opts_string(name, val, &o->fsname);
	if (!strcmp(name, "subtype"))
		return opts_string(name, val, &o->subtype);
	if (!strcmp(name, "dio_align")) {
		if (strcmp(val, "lba") && strcmp(val, "fsblock"))
			return opts_fail("-o dio_align=%s: must be lba or fsblock%s", val, "");
		o->dio_fsblock = !strcmp(val, "fsblock");
		return 0;
	}
	if (!strcmp(name, "pi_report")) {
		if (!strcmp(val, "syslog"))
			o->pi_report = GFUSE_PI_REPORT_SYSLOG;
		else if (!strcmp(val, "stderr"))
			o->pi_report = GFUSE_PI_REPORT_STDERR;
		else
			return opts_fail("-o pi_report=%s: must be syslog or stderr%s", val, "");
		return 0;
	}
	return 1;
}

static int opts_one(struct gfuse_opts *o, char *opt)
{
	char *eq = strchr(opt, '=');
	int ret;

	if (!*opt)
		return 0;
	if (eq) {
		*eq = '\0';
		ret = opts_own_value(o, opt, eq + 1);
		*eq = '=';
		if (ret <= 0)
			return ret;
	}
	if (!strcmp(opt, "ro")) {
		o->read_only = true;
		return opts_append_kernel(o, opt);
	}
	if (!strcmp(opt, "syncfs")) {
		o->syncfs = true;
		return 0;
	}
	if (!strcmp(opt, "allow_other")) {
		o->allow_other = true;
		return opts_append_kernel(o, opt);
	}
	if (opts_in(opts_kernel_flags, opt) || opts_prefixed(opts_kernel_values, opt))
		return opts_append_kernel(o, opt);
	if (opts_in(opts_ignored_flags, opt) || opts_prefixed(opts_ignored_prefixes, opt))
		return 0;
	return opts_fail("unknown mount option '%s' (see guardfs --help)%s", opt, "");
}

int gfuse_opts_parse_list(struct gfuse_opts *o, const char *list)
{
	char *copy = strdup(list), *save = NULL, *opt;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (opt = strtok_r(copy, ",", &save); opt && !ret; opt = strtok_r(NULL, ",", &save))
		ret = opts_one(o, opt);
	free(copy);
	return ret;
}

static int opts_positional(struct gfuse_opts *o, const char *arg)
{
	if (!o->source)
		o->source = arg;
	else if (!o->mountpoint)
		o->mountpoint = arg;
	else
		return opts_fail("unexpected argument '%s' (see guardfs --help)%s", arg, "");
	return 0;
}

/* One argv element at *i; advances *i past an option's value. */
static int opts_arg(struct gfuse_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (!strcmp(a, "-h") || !strcmp(a, "--help"))
		o->mode = GFUSE_MODE_HELP;
	else if (!strcmp(a, "-V") || !strcmp(a, "--version"))
		o->mode = GFUSE_MODE_VERSION;
	else if (!strcmp(a, "-f"))
		o->foreground = true;
	else if (!strcmp(a, "-d")) {
		o->debug = true;
		o->foreground = true;
	} else if (!strcmp(a, "-s"))
		o->single_thread = true;
	else if (!strcmp(a, "--stats")) {
		if (*i + 1 >= argc)
			return opts_fail("--stats needs a MOUNTPOINT%s%s", "", "");
		o->mode = GFUSE_MODE_STATS;
		o->mountpoint = argv[++*i];
	} else if (!strncmp(a, "-o", 2)) {
		const char *list = a[2] ? a + 2 : (*i + 1 < argc ? argv[++*i] : NULL);

		if (!list)
			return opts_fail("-o needs a list of options%s%s", "", "");
		return gfuse_opts_parse_list(o, list);
	} else if (a[0] == '-' && a[1])
		return opts_fail("unknown option '%s' (see guardfs --help)%s", a, "");
	else
		return opts_positional(o, a);
	return 0;
}

int gfuse_opts_parse(int argc, char **argv, struct gfuse_opts *o)
{
	int ret;

	memset(o, 0, sizeof(*o));
	o->default_permissions = true;
	for (int i = 1; i < argc; i++) {
		ret = opts_arg(o, argc, argv, &i);
		if (ret)
			return ret;
		if (o->mode == GFUSE_MODE_HELP || o->mode == GFUSE_MODE_VERSION)
			return 0;
	}
	if (o->mode == GFUSE_MODE_STATS)
		return 0;
	if (!o->source || !o->mountpoint)
		return opts_fail("usage: guardfs SOURCE MOUNTPOINT [-o opts] [-f] [-d] [-s] "
				 "(see --help)%s%s",
				 "", "");
	return 0;
}

void gfuse_opts_free(struct gfuse_opts *o)
{
	free(o->fsname);
	free(o->subtype);
	free(o->kernel_opts);
	memset(o, 0, sizeof(*o));
}

void gfuse_opts_usage(void)
{
	printf("usage: guardfs SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]\n"
	       "       guardfs --stats MOUNTPOINT | --help | --version\n"
	       "\n"
	       "SOURCE is a guardfs namespace made by mkfs.guardfs: a regular file, /dev/ngXnY or\n"
	       "/dev/nvmeXnY. The daemon goes to the background once the mount is live (logging "
	       "to\n"
	       "syslog); unmount with 'fusermount3 -u MOUNTPOINT' or 'umount MOUNTPOINT'.\n"
	       "\n"
	       "  -f                   stay in the foreground, log to stderr\n"
	       "  -d                   FUSE debug output (implies -f)\n"
	       "  -s                   single-threaded request loop\n"
	       "  --stats MOUNTPOINT   print the counters of a mounted guardfs\n"
	       "\n"
	       "-o options:\n"
	       "  cache_size=SIZE      data cache (default 256M; K, M, G suffixes)\n"
	       "  dirty_bytes=SIZE     throttle writers above this much dirty data (cache_size/2)\n"
	       "  dirty_expire_ms=N    write back dirty data older than this (5000)\n"
	       "  dio_align=lba|fsblock  O_DIRECT alignment: the LBA size (default) or fs block\n"
	       "  threads=N            request threads (default 16)\n"
	       "  pi_retries=N         read data whose PI check fails up to N times more before\n"
	       "                       EIO (0 - 8, default 2): damage on the way reads well again\n"
	       "  pi_report=syslog|stderr  also send PI failure reports there (stderr stays open\n"
	       "                       in the background for them)\n"
	       "  syncfs               root only: mount as fuseblk (on a loop device over an "
	       "image\n"
	       "                       file, or /dev/nvmeXnY) so that syncfs(2) and sync -f write\n"
	       "                       everything back and commit (Linux 6.18+; docs/MOUNTING.md)\n"
	       "  ro                   read-only mount\n"
	       "  allow_other          let other users in (non-root: user_allow_other in\n"
	       "                       /etc/fuse.conf)\n"
	       "  default_permissions  the kernel checks permissions (always on)\n"
	       "  fsname=NAME, subtype=NAME  what mount(8) and df show\n"
	       "  rw, nosuid, nodev, noexec, noatime, sync, dirsync, max_read=N: passed to the "
	       "kernel\n"
	       "  defaults, auto, noauto, user, users, nofail, _netdev, x-systemd.*: accepted and\n"
	       "                       ignored (fstab and systemd pass them)\n");
}
