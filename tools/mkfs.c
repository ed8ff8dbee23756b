// SPDX-License-Identifier: MIT
/*
 * mkfs.c - mkfs.guardfs: format a namespace (DESIGN.md section 2).
 *
 *   mkfs.guardfs [--size SIZE] [--lba-size 512|4096] [--md-size BYTES] [--pi-type 0|1|2|3]
 *                [--guard 16|64] [--pi-first] [--block-size BYTES] [--label TEXT] [-f] SOURCE
 *
 * A regular file is an emulated namespace in QEMU's nvme-ns layout: the options choose its
 * format (default 4096+8, PI type 1, 16-bit guard, tuple last) and it is created, or resized
 * when --size differs from its size (a resize starts from an empty sparse file, so nothing of
 * the old layout survives at shifted offsets). An NVMe namespace (/dev/ngXnY, /dev/nvmeXnY)
 * has its format already: it is read with Identify, and an option that disagrees with it is
 * refused rather than silently ignored.
 *
 * Everything that can be checked is checked before anything is written: the format, the block
 * size, that the layout fits (sb_layout is a pure function), and that the source does not hold
 * a guardfs filesystem already - overwriting one needs -f/--force, as mkfs.xfs asks. Every
 * refusal is one line on stderr and exit status 1; success prints a summary and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mdblock.h"
#include "core/meta.h"
#include "core/ns.h"
#include "core/sb.h"
#include "tools/describe.h"
#include "tools/size.h"

#define PROG "mkfs.guardfs"

struct mkfs_opts {
	const char *source;
	uint64_t size, lba_size, md_size, pi_type, guard, block_size;
	bool size_set, lba_set, md_set, type_set, guard_set, first_set, bs_set;
	bool pi_first;
	const char *label;
	bool force;
};

static void mkfs_usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [--size SIZE] [--lba-size 512|4096] [--md-size BYTES]\n"
		"       [--pi-type 0|1|2|3] [--guard 16|64] [--pi-first] [--block-size BYTES]\n"
		"       [--label TEXT] [-f|--force] SOURCE\n"
		"SOURCE is a regular file (created or resized; --size takes K, M, G, T suffixes)\n"
		"or an NVMe namespace (/dev/ngXnY, /dev/nvmeXnY) whose format is read from the "
		"device.\n"
		"Defaults for a file: 4096+8, PI type 1, 16-bit guard, PI last, 4096-byte blocks.\n"
		"-f/--force overwrites an existing guardfs filesystem.\n");
}

static int mkfs_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int mkfs_fail(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int mkfs_number(const char *opt, const char *arg, uint64_t *out)
{
	if (size_parse(arg, out))
		return mkfs_fail("%s: '%s' is not a size (a number with an optional K, M, G, T)",
				 opt, arg);
	return 0;
}

enum { OPT_SIZE = 256, OPT_LBA, OPT_MD, OPT_TYPE, OPT_GUARD, OPT_FIRST, OPT_BS, OPT_LABEL };

static const struct option mkfs_longopts[] = {
	{"size", required_argument, NULL, OPT_SIZE},
	{"lba-size", required_argument, NULL, OPT_LBA},
	{"md-size", required_argument, NULL, OPT_MD},
	{"pi-type", required_argument, NULL, OPT_TYPE},
	{"guard", required_argument, NULL, OPT_GUARD},
	{"pi-first", no_argument, NULL, OPT_FIRST},
	{"block-size", required_argument, NULL, OPT_BS},
	{"label", required_argument, NULL, OPT_LABEL},
	{"force", no_argument, NULL, 'f'},
	{"help", no_argument, NULL, 'h'},
	{0},
};

/* One option; returns 0, 1 (refused, printed) or 2 (--help). */
static int mkfs_option(struct mkfs_opts *o, int c, const char *arg, char **argv)
{
	switch (c) {
	case OPT_SIZE:
		o->size_set = true;
		return mkfs_number("--size", arg, &o->size);
	case OPT_LBA:
		o->lba_set = true;
		return mkfs_number("--lba-size", arg, &o->lba_size);
	case OPT_MD:
		o->md_set = true;
		return mkfs_number("--md-size", arg, &o->md_size);
	case OPT_TYPE:
		o->type_set = true;
		return mkfs_number("--pi-type", arg, &o->pi_type);
	case OPT_GUARD:
		o->guard_set = true;
		return mkfs_number("--guard", arg, &o->guard);
	case OPT_FIRST:
		o->first_set = o->pi_first = true;
		return 0;
	case OPT_BS:
		o->bs_set = true;
		return mkfs_number("--block-size", arg, &o->block_size);
	case OPT_LABEL:
		o->label = arg;
		return 0;
	case 'f':
		o->force = true;
		return 0;
	case 'h':
		mkfs_usage(stdout);
		return 2;
	case ':':
		return mkfs_fail("option '%s' needs a value", argv[optind - 1]);
	default:
		return mkfs_fail("unknown option '%s' (see --help)", argv[optind - 1]);
	}
}

static int mkfs_parse(int argc, char **argv, struct mkfs_opts *o)
{
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":fh", mkfs_longopts, NULL)) != -1) {
		ret = mkfs_option(o, c, optarg, argv);
		if (ret)
			return ret;
	}
	if (optind != argc - 1)
		return mkfs_fail(optind >= argc ? "no SOURCE given (see --help)"
						: "more than one SOURCE given");
	o->source = argv[optind];
	if (o->label && strlen(o->label) > SB_LABEL_MAX)
		return mkfs_fail("label is %zu bytes; at most %u", strlen(o->label), SB_LABEL_MAX);
	return 0;
}

/* The format a regular file gets: the defaults, overridden by the options. */
static int mkfs_file_format(const struct mkfs_opts *o, struct pi_format *f)
{
	if (o->lba_set && o->lba_size != 512 && o->lba_size != 4096)
		return mkfs_fail("--lba-size %" PRIu64 ": must be 512 or 4096", o->lba_size);
	if (o->type_set && o->pi_type > 3)
		return mkfs_fail("--pi-type %" PRIu64 ": must be 0, 1, 2 or 3", o->pi_type);
	if (o->guard_set && o->guard != 16 && o->guard != 64)
		return mkfs_fail("--guard %" PRIu64 ": must be 16 or 64", o->guard);
	*f = (struct pi_format){
		.lba_size = o->lba_set ? (uint32_t)o->lba_size : 4096,
		.type = o->type_set ? (enum pi_type)o->pi_type : PI_TYPE_1,
		.guard = o->guard_set && o->guard == 64 ? PI_GUARD_64 : PI_GUARD_16,
		.pi_first = o->pi_first,
		.layout = PI_MD_SEPARATE,
	};
	if (f->type == PI_TYPE_NONE && (o->guard_set || o->first_set))
		return mkfs_fail("--guard and --pi-first need PI (--pi-type 1, 2 or 3)");
	if (o->md_set)
		f->md_size = o->md_size > UINT32_MAX ? UINT32_MAX : (uint32_t)o->md_size;
	else
		f->md_size = f->type == PI_TYPE_NONE ? 0 : pi_tuple_size(f->guard);
	return 0;
}

/* Metadata sizes whose backup superblock sb_probe can find in a header-less file. */
static bool md_size_supported(uint32_t md)
{
	return md == 0 || md == 8 || md == 16 || md == 32 || md == 64 || md == 128;
}

static int mkfs_check_format(const struct mkfs_opts *o, const struct pi_format *f,
			     uint32_t *block_size)
{
	struct pi_ctx ctx;

	if (f->type != PI_TYPE_NONE && f->md_size < pi_tuple_size(f->guard))
		return mkfs_fail("--md-size %u is smaller than the %u-byte PI tuple of a %s guard",
				 f->md_size, pi_tuple_size(f->guard),
				 f->guard == PI_GUARD_64 ? "64-bit" : "16-bit");
	if (!md_size_supported(f->md_size))
		return mkfs_fail("--md-size %u: must be 0, 8, 16, 32, 64 or 128", f->md_size);
	if (pi_ctx_init(&ctx, f))
		return mkfs_fail("format %u+%u with PI type %d is not supported", f->lba_size,
				 f->md_size, (int)f->type);
	*block_size = o->bs_set ? (uint32_t)o->block_size
				: (f->lba_size > SB_BLOCK_DEFAULT ? f->lba_size : SB_BLOCK_DEFAULT);
	if (o->bs_set && (o->block_size < f->lba_size || o->block_size > SB_BLOCK_MAX ||
			  (o->block_size & (o->block_size - 1))))
		return mkfs_fail("--block-size %" PRIu64
				 ": must be a power of two from the LBA size (%u) to %u",
				 o->block_size, f->lba_size, SB_BLOCK_MAX);
	return 0;
}

/* An NVMe namespace has its format: options may only repeat it. */
static int mkfs_check_nvme(const struct mkfs_opts *o, const struct pi_format *dev)
{
	char lbaf[32];

	describe_lbaf(dev, lbaf, sizeof(lbaf));
	if (o->size_set)
		return mkfs_fail("%s: --size does not apply to an NVMe namespace", o->source);
	if (o->lba_set && o->lba_size != dev->lba_size)
		return mkfs_fail("%s: --lba-size %" PRIu64 " disagrees with the namespace (%s)",
				 o->source, o->lba_size, lbaf);
	if (o->md_set && o->md_size != dev->md_size)
		return mkfs_fail("%s: --md-size %" PRIu64 " disagrees with the namespace (%s)",
				 o->source, o->md_size, lbaf);
	if (o->type_set && o->pi_type != (uint64_t)dev->type)
		return mkfs_fail("%s: --pi-type %" PRIu64 " disagrees with the namespace (type %d)",
				 o->source, o->pi_type, (int)dev->type);
	if (o->guard_set && (o->guard == 64) != (dev->guard == PI_GUARD_64))
		return mkfs_fail("%s: --guard %" PRIu64 " disagrees with the namespace (%d-bit)",
				 o->source, o->guard, dev->guard == PI_GUARD_64 ? 64 : 16);
	if (o->first_set && !dev->pi_first)
		return mkfs_fail("%s: --pi-first disagrees with the namespace (PI last)",
				 o->source);
	return 0;
}

static bool mkfs_is_device(const char *path)
{
	struct stat st;

	if (!strncmp(path, "/dev/ng", 7) || !strncmp(path, "/dev/nvme", 9))
		return true;
	return stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode));
}

/* A superblock record (valid or damaged) at @buf: the source holds guardfs. */
static int mkfs_refuse_existing(const struct mkfs_opts *o, const void *buf)
{
	char uuid[40];
	struct sb sb;
	int ret;

	ret = sb_decode(buf, SB_SIZE, &sb);
	if (ret == -ENODATA || o->force)
		return 0;
	if (ret)
		return mkfs_fail(
			"%s: holds a (damaged) guardfs superblock; use --force to overwrite",
			o->source);
	return mkfs_fail("%s: holds a guardfs filesystem (UUID %s, label '%s'); use --force to "
			 "overwrite it",
			 o->source, describe_uuid(sb.uuid, uuid, sizeof(uuid)), sb.label);
}

/* Dry run of the layout: refuse a namespace too small before the file is touched. */
static int mkfs_check_layout(const struct mkfs_opts *o, const struct pi_format *f, uint64_t nlb,
			     uint32_t block_size)
{
	struct sb_params p = {.block_size = block_size, .label = o->label};
	char have[32];
	struct sb sb;
	int ret;

	ret = sb_layout(f, nlb, &p, &sb);
	if (ret == -ENOSPC || (!ret && sb.data_blocks == 0))
		return mkfs_fail("%s: %s (%" PRIu64 " LBAs of %u+%u) is too small for a filesystem "
				 "with %u-byte blocks",
				 o->source,
				 size_format(nlb * (f->lba_size + f->md_size), have, sizeof(have)),
				 nlb, f->lba_size, f->md_size, block_size);
	if (ret)
		return mkfs_fail("%s: cannot lay out a filesystem: %s", o->source, strerror(-ret));
	return 0;
}

/* Create or resize the file; *@nlb receives the namespace capacity. */
static int mkfs_prepare_file(const struct mkfs_opts *o, const struct pi_format *f,
			     uint32_t block_size, uint64_t *nlb)
{
	uint8_t buf[SB_SIZE];
	uint64_t size;
	struct stat st;
	bool exists;
	int fd, ret;

	exists = stat(o->source, &st) == 0;
	if (exists && !S_ISREG(st.st_mode))
		return mkfs_fail("%s: neither a regular file nor an NVMe namespace", o->source);
	if (!exists && errno != ENOENT)
		return mkfs_fail("%s: %s", o->source, strerror(errno));
	if (!exists && !o->size_set)
		return mkfs_fail("%s: does not exist; give --size to create it", o->source);
	size = o->size_set ? o->size : (uint64_t)st.st_size;
	*nlb = size / (f->lba_size + f->md_size);
	if (size > (uint64_t)INT64_MAX)
		return mkfs_fail("--size %" PRIu64 ": too large for a file", size);
	ret = mkfs_check_layout(o, f, *nlb, block_size);
	if (ret)
		return ret;
	fd = open(o->source, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return mkfs_fail("%s: cannot open: %s", o->source, strerror(errno));
	if (exists && pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf)) {
		ret = mkfs_refuse_existing(o, buf);
		if (ret)
			goto out_close;
	}
	/* A new size starts from an empty sparse file: nothing old lands at shifted offsets. */
	if (exists && size != (uint64_t)st.st_size && ftruncate(fd, 0) < 0)
		goto out_errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto out_errno;
	ret = 0;
	goto out_close;
out_errno:
	ret = mkfs_fail("%s: cannot resize to %" PRIu64 " bytes: %s", o->source, size,
			strerror(errno));
out_close:
	close(fd);
	return ret;
}

/* LBA 0 of an opened namespace, read without PI checks, for the existing-filesystem test. */
static int mkfs_check_ns_existing(const struct mkfs_opts *o, struct ns *ns)
{
	const struct ns_format *fmt = ns_get_format(ns);
	struct ns_pi_params pi = {0};
	void *data, *md = NULL;
	int ret = 0;

	data = mdio_alloc(fmt->pi.lba_size);
	if (fmt->pi.md_size)
		md = mdio_alloc(fmt->pi.md_size);
	if (!data || (fmt->pi.md_size && !md)) {
		ret = mkfs_fail("out of memory");
		goto out_free;
	}
	if (!ns_read_sync(ns, 0, 1, data, md, &pi))
		ret = mkfs_refuse_existing(o, data);
out_free:
	free(md);
	free(data);
	return ret;
}

static int mkfs_open(const struct mkfs_opts *o, struct ns **ns, uint32_t *block_size)
{
	struct ns_options nopts = {0};
	struct pi_format f;
	uint64_t nlb;
	bool device = mkfs_is_device(o->source);
	int ret;

	if (!device) {
		ret = mkfs_file_format(o, &f);
		if (!ret)
			ret = mkfs_check_format(o, &f, block_size);
		if (!ret)
			ret = mkfs_prepare_file(o, &f, *block_size, &nlb);
		if (ret)
			return ret;
		nopts.format = &f;
	}
	if (ns_open(o->source, &nopts, ns))
		return 1; /* ns_open logged the line */
	if (device) {
		const struct ns_format *fmt = ns_get_format(*ns);

		f = fmt->pi;
		ret = mkfs_check_nvme(o, &f);
		if (!ret)
			ret = mkfs_check_format(o, &f, block_size);
		if (!ret)
			ret = mkfs_check_layout(o, &f, fmt->nlb, *block_size);
		if (!ret)
			ret = mkfs_check_ns_existing(o, *ns);
		if (ret) {
			ns_close(*ns);
			return ret;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct mkfs_opts o = {0};
	struct meta_mkfs_params mp = {0};
	uint32_t block_size = 0;
	struct ns *ns;
	struct sb sb;
	int ret;

	ret = mkfs_parse(argc, argv, &o);
	if (ret)
		return ret == 2 ? 0 : 1;
	ret = mkfs_open(&o, &ns, &block_size);
	if (ret)
		return 1;
	mp.sb.block_size = block_size;
	mp.sb.label = o.label;
	mp.root_uid = (uint32_t)getuid();
	mp.root_gid = (uint32_t)getgid();
	mp.root_mode = 0755;
	ret = meta_mkfs(ns, &mp, &sb);
	if (!ret)
		ret = ns_flush_sync(ns);
	ns_close(ns);
	if (ret)
		return mkfs_fail("%s: formatting failed: %s", o.source, strerror(-ret));
	describe_sb(stdout, o.source, &sb);
	return 0;
}
