// SPDX-License-Identifier: MIT
/*
 * fsck.c - fsck.guardfs: check, repair and scrub a guardfs namespace (DESIGN.md section 2).
 *
 *   fsck.guardfs [-n|-y] [--scrub] SOURCE
 *
 * -n (the default) never writes: the filesystem is mounted read-only, which replays and checks
 * the journal, then fsck_check.c walks everything the mount serves. -y repairs what can be
 * repaired safely (fsck_repair.c) and checks again. --scrub then verifies the PI of every
 * allocated block (fsck_scrub.c). -a and -p, which fsck(8) passes for automatic repair, mean -y;
 * -f (force) is accepted: the check always runs in full.
 *
 * Exit status as fsck(8), OR-ed: 0 clean, 1 errors corrected, 4 errors left uncorrected (also:
 * the metadata is too damaged to mount, or the scrub found damage), 8 operational error
 * (cannot open, not a guardfs namespace, out of memory), 16 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "tools/fsck.h"

#define PROG "fsck.guardfs"

struct fsck_opts {
	bool no_write, repair, scrub;
	const char *source;
};

static void fsck_usage(FILE *out)
{
	fprintf(out, "usage: " PROG " [-n|-y] [--scrub] SOURCE\n"
		     "  -n       check only, never write (the default)\n"
		     "  -y       repair what can be repaired safely (-a, -p: the same)\n"
		     "  --scrub  read every allocated block and verify its PI\n"
		     "exit status: 0 clean, 1 corrected, 4 errors left, 8 operational error, "
		     "16 usage\n");
}

static int fsck_parse(int argc, char **argv, struct fsck_opts *o)
{
	static const struct option longopts[] = {
		{"scrub", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":nyapfh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o->no_write = true;
			break;
		case 'y':
		case 'a':
		case 'p':
			o->repair = true;
			break;
		case 'f':
			break;
		case 's':
			o->scrub = true;
			break;
		case 'h':
			fsck_usage(stdout);
			exit(FSCK_OK);
		default:
			fprintf(stderr, PROG ": unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return FSCK_USAGE;
		}
	}
	if (o->no_write && o->repair) {
		fprintf(stderr, PROG ": -n and -y exclude each other\n");
		return FSCK_USAGE;
	}
	if (optind != argc - 1) {
		fprintf(stderr, PROG ": %s\n",
			optind >= argc ? "no SOURCE given (see --help)"
				       : "more than one SOURCE given");
		return FSCK_USAGE;
	}
	o->source = argv[optind];
	return 0;
}

/* Mount read-only; a refusal is classified for the exit status. */
static int fsck_mount(struct fsck *c)
{
	struct meta_mount_opts mo = {.read_only = true};
	int ret;

	ret = meta_mount(c->source, &mo, &c->fs);
	if (!ret)
		return 0;
	switch (ret) {
	case -ENODATA:
	case -ENOENT:
	case -EACCES:
	case -EPERM:
	case -ENOMEM:
	case -ENOTSUP:
	case -EMEDIUMTYPE:
	case -EPROTONOSUPPORT:
		printf("%s: cannot check: %s\n", c->source,
		       ret == -ENODATA ? "not a guardfs namespace" : strerror(-ret));
		return FSCK_OPERATIONAL;
	}
	printf("%s: metadata damaged beyond what fsck can repair (%s); see the line above\n",
	       c->source, strerror(-ret));
	return FSCK_UNCORRECTED;
}

/* One pass: mount read-only and check. Leaves c->fs mounted on success. */
static int fsck_pass(struct fsck *c)
{
	int ret;

	ret = fsck_mount(c);
	if (ret)
		return ret;
	ret = fsck_inventory(c);
	if (ret) {
		printf("%s: check failed: %s\n", c->source, strerror(-ret));
		meta_unmount(c->fs);
		c->fs = NULL;
		return FSCK_OPERATIONAL;
	}
	return 0;
}

static void fsck_reset(struct fsck *c)
{
	fsck_inventory_free(c);
	c->problems = c->unfixable = 0;
	c->pending_orphans = 0;
}

/* -y: repair, then check again; the status says whether the second pass was clean. */
static int fsck_repair_and_recheck(struct fsck *c)
{
	int ret;

	if (fsck_repair(c))
		return FSCK_UNCORRECTED;
	fsck_reset(c);
	printf("%s: checking again after the repairs\n", c->source);
	ret = fsck_pass(c);
	if (ret)
		return ret;
	return c->problems ? FSCK_UNCORRECTED : FSCK_CORRECTED;
}

int main(int argc, char **argv)
{
	struct fsck_opts o = {0};
	struct fsck c = {0};
	bool damaged = false;
	int status, ret;

	status = fsck_parse(argc, argv, &o);
	if (status)
		return status;
	c.source = o.source;
	status = fsck_pass(&c);
	if (status)
		goto out;
	if (c.problems && o.repair && c.nr_fixes) {
		status = fsck_repair_and_recheck(&c);
		if (!c.fs)
			goto out;
	} else if (c.problems) {
		printf("%s: %u error(s) left uncorrected%s\n", c.source, c.problems,
		       o.repair || c.unfixable == c.problems ? "" : "; run with -y to repair");
		status = FSCK_UNCORRECTED;
	}
	if (c.pending_orphans)
		printf("%s: %" PRIu64
		       " unlinked inode(s) still open at a crash; the next read-write "
		       "mount frees them\n",
		       c.source, c.pending_orphans);
	if (o.scrub) {
		ret = fsck_scrub(&c, &damaged);
		if (ret) {
			printf("%s: scrub failed: %s\n", c.source, strerror(-ret));
			status |= FSCK_OPERATIONAL;
		} else if (damaged) {
			status |= FSCK_UNCORRECTED;
		}
	}
	if (!(status & ~FSCK_CORRECTED))
		printf("%s: %s, %zu inodes, %zu extents\n", c.source,
		       status ? "errors corrected" : "clean", c.nr_inodes, c.nr_exts);
	meta_unmount(c.fs);
out:
	fsck_inventory_free(&c);
	return status;
}
