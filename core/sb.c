/* SPDX-License-Identifier: MIT */
/*
 * sb.c - superblock encoding, layout at mkfs, and finding a valid copy at mount.
 *
 * The record is 512 bytes so that it fits the smallest LBA and can be read with one plain
 * pread before anything about the namespace is known. The fields that locate everything else
 * (magic, version, size, CRC) keep their offsets in every format version. The primary lives
 * in block 0 and the backup in the last block: a wipe of the start of a device (partition
 * tools, wipefs) leaves the backup, and its place follows from the namespace size alone, so
 * sb_probe() can find it by trying each candidate format that fits the file size.
 */
#include "core/sb.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mdblock.h"

static const uint8_t sb_magic[8] = {'G', 'U', 'A', 'R', 'D', 'F', 'S', 0};

/* Field offsets (docs/FORMAT.md, "Superblock"). */
#define SB_OFF_MAGIC	 0
#define SB_OFF_VERSION	 8
#define SB_OFF_SIZE	 12
#define SB_OFF_CRC	 16
#define SB_OFF_COPY	 20
#define SB_OFF_UUID	 24
#define SB_OFF_LABEL	 40
#define SB_OFF_LBA	 104
#define SB_OFF_MD	 108
#define SB_OFF_PITYPE	 112
#define SB_OFF_GUARD	 113
#define SB_OFF_PIFIRST	 114
#define SB_OFF_BSIZE	 116
#define SB_OFF_NLB	 120
#define SB_OFF_NBLOCKS	 128
#define SB_OFF_LOG	 136
#define SB_OFF_LOGLEN	 144
#define SB_OFF_CKPT0	 152
#define SB_OFF_CKPT1	 160
#define SB_OFF_CKPTLEN	 168
#define SB_OFF_DATA	 176
#define SB_OFF_DATALEN	 184
#define SB_OFF_BACKUP	 192
#define SB_OFF_FCOMPAT	 200
#define SB_OFF_FROCOMPAT 208
#define SB_OFF_FINCOMPAT 216
#define SB_OFF_MKFSTIME	 224
#define SB_OFF_APPTAG	 232

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)

void sb_encode(const struct sb *sb, unsigned copy, void *buf)
{
	uint8_t *b = buf;

	memset(b, 0, SB_SIZE);
	memcpy(b + SB_OFF_MAGIC, sb_magic, sizeof(sb_magic));
	md_put_le32(b + SB_OFF_VERSION, SB_VERSION);
	md_put_le32(b + SB_OFF_SIZE, SB_SIZE);
	md_put_le32(b + SB_OFF_COPY, copy);
	memcpy(b + SB_OFF_UUID, sb->uuid, SB_UUID_LEN);
	memcpy(b + SB_OFF_LABEL, sb->label, strnlen(sb->label, SB_LABEL_MAX));
	md_put_le32(b + SB_OFF_LBA, sb->pi.lba_size);
	md_put_le32(b + SB_OFF_MD, sb->pi.md_size);
	b[SB_OFF_PITYPE] = (uint8_t)sb->pi.type;
	b[SB_OFF_GUARD] = (uint8_t)sb->pi.guard;
	b[SB_OFF_PIFIRST] = sb->pi.pi_first ? 1 : 0;
	md_put_le32(b + SB_OFF_BSIZE, sb->block_size);
	md_put_le64(b + SB_OFF_NLB, sb->nlb);
	md_put_le64(b + SB_OFF_NBLOCKS, sb->nblocks);
	md_put_le64(b + SB_OFF_LOG, sb->log_start);
	md_put_le64(b + SB_OFF_LOGLEN, sb->log_blocks);
	md_put_le64(b + SB_OFF_CKPT0, sb->ckpt_start[0]);
	md_put_le64(b + SB_OFF_CKPT1, sb->ckpt_start[1]);
	md_put_le64(b + SB_OFF_CKPTLEN, sb->ckpt_blocks);
	md_put_le64(b + SB_OFF_DATA, sb->data_start);
	md_put_le64(b + SB_OFF_DATALEN, sb->data_blocks);
	md_put_le64(b + SB_OFF_BACKUP, sb->backup_blkno);
	md_put_le64(b + SB_OFF_FCOMPAT, sb->feat_compat);
	md_put_le64(b + SB_OFF_FROCOMPAT, sb->feat_ro_compat);
	md_put_le64(b + SB_OFF_FINCOMPAT, sb->feat_incompat);
	md_put_le64(b + SB_OFF_MKFSTIME, sb->mkfs_time_ns);
	md_put_le16(b + SB_OFF_APPTAG, MD_APP_TAG);
	md_put_le32(b + SB_OFF_CRC, md_crc32c_skip(b, SB_SIZE, SB_OFF_CRC));
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int sb_check_format_fields(const struct sb *sb)
{
	struct pi_ctx ctx;

	if (sb->pi.lba_size != 512 && sb->pi.lba_size != 4096)
		return -EUCLEAN;
	if (sb->pi.type > PI_TYPE_3 || (sb->pi.guard != PI_GUARD_16 && sb->pi.guard != PI_GUARD_64))
		return -EUCLEAN;
	if (sb->pi.md_size > 65535 || pi_ctx_init(&ctx, &sb->pi))
		return -EUCLEAN;
	if (!is_pow2(sb->block_size) || sb->block_size < sb->pi.lba_size ||
	    sb->block_size > SB_BLOCK_MAX)
		return -EUCLEAN;
	return 0;
}

/* The areas in their fixed order, each non-empty and inside the namespace (no overflow). */
static int sb_check_layout(const struct sb *sb)
{
	uint64_t per = sb->block_size / sb->pi.lba_size;

	if (sb->nblocks != sb->nlb / per || sb->nblocks < 8 || sb->backup_blkno != sb->nblocks - 1)
		return -EUCLEAN;
	if (sb->log_start != 1 || sb->log_blocks < 4 || sb->ckpt_blocks < 2 ||
	    sb->log_blocks > sb->nblocks || sb->ckpt_blocks > sb->nblocks)
		return -EUCLEAN;
	if (sb->ckpt_start[0] != sb->log_start + sb->log_blocks ||
	    sb->ckpt_start[1] != sb->ckpt_start[0] + sb->ckpt_blocks ||
	    sb->data_start != sb->ckpt_start[1] + sb->ckpt_blocks)
		return -EUCLEAN;
	if (sb->data_start > sb->backup_blkno ||
	    sb->data_blocks != sb->backup_blkno - sb->data_start)
		return -EUCLEAN;
	return 0;
}

static void sb_decode_fields(const uint8_t *b, struct sb *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->version = md_get_le32(b + SB_OFF_VERSION);
	memcpy(sb->uuid, b + SB_OFF_UUID, SB_UUID_LEN);
	memcpy(sb->label, b + SB_OFF_LABEL, SB_LABEL_MAX);
	sb->label[SB_LABEL_MAX] = 0;
	sb->pi.lba_size = md_get_le32(b + SB_OFF_LBA);
	sb->pi.md_size = md_get_le32(b + SB_OFF_MD);
	sb->pi.type = (enum pi_type)b[SB_OFF_PITYPE];
	sb->pi.guard = (enum pi_guard)b[SB_OFF_GUARD];
	sb->pi.pi_first = b[SB_OFF_PIFIRST] != 0;
	sb->pi.layout = PI_MD_SEPARATE;
	sb->block_size = md_get_le32(b + SB_OFF_BSIZE);
	sb->nlb = md_get_le64(b + SB_OFF_NLB);
	sb->nblocks = md_get_le64(b + SB_OFF_NBLOCKS);
	sb->log_start = md_get_le64(b + SB_OFF_LOG);
	sb->log_blocks = md_get_le64(b + SB_OFF_LOGLEN);
	sb->ckpt_start[0] = md_get_le64(b + SB_OFF_CKPT0);
	sb->ckpt_start[1] = md_get_le64(b + SB_OFF_CKPT1);
	sb->ckpt_blocks = md_get_le64(b + SB_OFF_CKPTLEN);
	sb->data_start = md_get_le64(b + SB_OFF_DATA);
	sb->data_blocks = md_get_le64(b + SB_OFF_DATALEN);
	sb->backup_blkno = md_get_le64(b + SB_OFF_BACKUP);
	sb->feat_compat = md_get_le64(b + SB_OFF_FCOMPAT);
	sb->feat_ro_compat = md_get_le64(b + SB_OFF_FROCOMPAT);
	sb->feat_incompat = md_get_le64(b + SB_OFF_FINCOMPAT);
	sb->mkfs_time_ns = md_get_le64(b + SB_OFF_MKFSTIME);
}

int sb_decode(const void *buf, size_t len, struct sb *sb)
{
	const uint8_t *b = buf;
	int ret;

	if (len < SB_SIZE || memcmp(b + SB_OFF_MAGIC, sb_magic, sizeof(sb_magic)))
		return -ENODATA;
	if (md_get_le32(b + SB_OFF_VERSION) != SB_VERSION)
		return -EPROTONOSUPPORT;
	if (md_get_le32(b + SB_OFF_SIZE) != SB_SIZE ||
	    md_get_le32(b + SB_OFF_CRC) != md_crc32c_skip(b, SB_SIZE, SB_OFF_CRC))
		return -EBADMSG;
	sb_decode_fields(b, sb);
	ret = sb_check_format_fields(sb);
	if (!ret)
		ret = sb_check_layout(sb);
	if (!ret && (sb->feat_incompat & ~SB_FEAT_INCOMPAT_SUPP))
		ret = -EOPNOTSUPP;
	return ret;
}

const char *sb_strerror(int err)
{
	switch (err) {
	case 0:
		return "valid";
	case -ENODATA:
		return "not a guardfs namespace";
	case -EPROTONOSUPPORT:
		return "unsupported guardfs format version";
	case -EBADMSG:
		return "superblock CRC-32C mismatch";
	case -EUCLEAN:
		return "superblock fields inconsistent";
	case -EOPNOTSUPP:
		return "superblock has unknown incompatible features";
	case -EMEDIUMTYPE:
		return "namespace format disagrees with superblock";
	default:
		return strerror(-err);
	}
}

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Area sizes: docs/FORMAT.md, "Layout rule". */
static void sb_size_areas(struct sb *sb, const struct sb_params *p)
{
	uint64_t cap = sb->nblocks * sb->block_size;
	uint64_t log = clamp_u64(cap / 128, MIB, GIB) / sb->block_size;
	uint64_t ck = clamp_u64(cap / 32, MIB, 64 * GIB) / sb->block_size;

	log = log < 16 ? 16 : log;
	ck = ck < 8 ? 8 : ck;
	/* Small namespaces: metadata areas take at most about half of the blocks. */
	if (1 + log + 2 * ck + 1 > sb->nblocks / 2) {
		log = sb->nblocks / 8 < 16 ? 16 : sb->nblocks / 8;
		ck = sb->nblocks / 8 < 8 ? 8 : sb->nblocks / 8;
	}
	sb->log_blocks = p && p->log_blocks ? p->log_blocks : log;
	sb->ckpt_blocks = p && p->ckpt_blocks ? p->ckpt_blocks : ck;
}

static int sb_fill_identity(struct sb *sb, const struct sb_params *p)
{
	struct timespec ts;

	if (p && p->label && strlen(p->label) > SB_LABEL_MAX)
		return -ENAMETOOLONG;
	if (p && p->label)
		strcpy(sb->label, p->label);
	if (p && p->uuid) {
		memcpy(sb->uuid, p->uuid, SB_UUID_LEN);
	} else {
		if (getrandom(sb->uuid, SB_UUID_LEN, 0) != SB_UUID_LEN)
			return -EIO;
		sb->uuid[6] = (uint8_t)((sb->uuid[6] & 0x0F) | 0x40); /* RFC 4122 version 4 */
		sb->uuid[8] = (uint8_t)((sb->uuid[8] & 0x3F) | 0x80);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	sb->mkfs_time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

int sb_layout(const struct pi_format *fmt, uint64_t nlb, const struct sb_params *p, struct sb *sb)
{
	int ret;

	memset(sb, 0, sizeof(*sb));
	sb->version = SB_VERSION;
	sb->pi = *fmt;
	sb->pi.layout = PI_MD_SEPARATE;
	sb->nlb = nlb;
	sb->block_size = p && p->block_size ? p->block_size
					    : (fmt->lba_size > SB_BLOCK_DEFAULT ? fmt->lba_size
										: SB_BLOCK_DEFAULT);
	ret = sb_check_format_fields(sb);
	if (ret)
		return -EINVAL;
	sb->nblocks = nlb / (sb->block_size / fmt->lba_size);
	if (sb->nblocks < 64)
		return -ENOSPC;
	sb_size_areas(sb, p);
	if (sb->log_blocks < 4 || sb->ckpt_blocks < 2)
		return -EINVAL;
	if (sb->log_blocks > sb->nblocks || sb->ckpt_blocks > sb->nblocks)
		return -ENOSPC;
	sb->log_start = 1;
	sb->ckpt_start[0] = sb->log_start + sb->log_blocks;
	sb->ckpt_start[1] = sb->ckpt_start[0] + sb->ckpt_blocks;
	sb->data_start = sb->ckpt_start[1] + sb->ckpt_blocks;
	sb->backup_blkno = sb->nblocks - 1;
	if (sb->data_start >= sb->backup_blkno)
		return -ENOSPC;
	sb->data_blocks = sb->backup_blkno - sb->data_start;
	return sb_fill_identity(sb, p);
}

int sb_write(struct ns *ns, const struct sb *sb)
{
	struct mdio io;
	uint8_t *buf;
	int ret;

	ret = mdio_init(&io, ns, sb->block_size);
	if (ret)
		return ret;
	buf = mdio_alloc(sb->block_size);
	if (!buf)
		return -ENOMEM;
	sb_encode(sb, 0, buf);
	ret = mdio_write(&io, 0, 1, buf, false);
	if (!ret)
		ret = mdio_flush(&io);
	if (ret)
		goto out_free;
	sb_encode(sb, 1, buf);
	ret = mdio_write(&io, sb->backup_blkno, 1, buf, false);
	if (!ret)
		ret = mdio_flush(&io);
out_free:
	free(buf);
	if (ret)
		gfs_err("%s: writing superblock failed: %s", ns_get_path(ns), strerror(-ret));
	return ret;
}

int sb_format(struct ns *ns, const struct sb_params *p, struct sb *sb)
{
	const struct ns_format *fmt = ns_get_format(ns);
	int ret;

	ret = sb_layout(&fmt->pi, fmt->nlb, p, sb);
	if (ret) {
		gfs_err("%s: cannot lay out a filesystem: %s", ns_get_path(ns),
			ret == -ENOSPC ? "namespace too small" : strerror(-ret));
		return ret;
	}
	return sb_write(ns, sb);
}

int sb_check_format(const struct sb *sb, const struct ns_format *fmt, char *why, size_t len)
{
	const struct pi_format *a = &sb->pi, *b = &fmt->pi;
	char tmp[160];

	if (a->lba_size != b->lba_size || a->md_size != b->md_size)
		snprintf(tmp, sizeof(tmp), "superblock %u+%u, namespace %u+%u", a->lba_size,
			 a->md_size, b->lba_size, b->md_size);
	else if (a->type != b->type ||
		 (a->type && (a->guard != b->guard || a->pi_first != b->pi_first)))
		snprintf(tmp, sizeof(tmp),
			 "superblock PI type %d guard %d%s, namespace PI type %d guard %d%s",
			 a->type, a->guard == PI_GUARD_64 ? 64 : 16, a->pi_first ? " first" : "",
			 b->type, b->guard == PI_GUARD_64 ? 64 : 16, b->pi_first ? " first" : "");
	else if (sb->nlb != fmt->nlb)
		snprintf(tmp, sizeof(tmp), "superblock %" PRIu64 " LBAs, namespace %" PRIu64,
			 sb->nlb, fmt->nlb);
	else
		return 0;
	if (why)
		snprintf(why, len, "%s", tmp);
	return -EMEDIUMTYPE;
}

/* Read and decode one copy at lba; on failure describe why in why. */
static int sb_read_copy(struct mdio *io, uint64_t lba, uint8_t *buf, struct sb *sb, char *why,
			size_t len)
{
	struct mdio_error err;
	int ret;

	ret = mdio_read_lbas(io, lba, 1, buf, &err);
	if (ret) {
		mdio_describe(&err, why, len);
		return err.pi.tag != PI_TAG_NONE ? -EBADMSG : ret;
	}
	ret = sb_decode(buf, io->lba_size, sb);
	if (ret)
		snprintf(why, len, "LBA %" PRIu64 ": %s", lba, sb_strerror(ret));
	return ret;
}

/* The backup: the first LBA of the last block, for each block size the namespace allows. */
static int sb_read_backup(struct mdio *io, uint64_t nlb, uint8_t *buf, struct sb *sb,
			  uint64_t *found_lba)
{
	char why[160];

	for (uint64_t bs = io->lba_size; bs <= SB_BLOCK_MAX; bs <<= 1) {
		uint64_t per = bs / io->lba_size, nblocks = nlb / per;

		if (nblocks < 8)
			continue;
		*found_lba = (nblocks - 1) * per;
		if (!sb_read_copy(io, *found_lba, buf, sb, why, sizeof(why)) &&
		    sb->block_size == bs)
			return 0;
	}
	return -ENODATA;
}

/*
 * A primary that fails PI is read again without checks, only to name the cause better: no
 * magic at all means a foreign namespace (-ENODATA), a valid record for another format a
 * disagreement (-EMEDIUMTYPE). Anything else keeps the PI failure. Never trusted further.
 */
static int sb_primary_raw_cause(struct mdio *io, uint8_t *buf, const struct ns_format *fmt,
				char *why, size_t len)
{
	struct mdio raw = *io;
	struct mdio_error err;
	struct sb sb;
	int ret;

	raw.pi_on = false;
	if (mdio_read_lbas(&raw, 0, 1, buf, &err))
		return 0;
	ret = sb_decode(buf, io->lba_size, &sb);
	if (ret == -ENODATA)
		return -ENODATA;
	if (!ret && sb_check_format(&sb, fmt, why, len))
		return -EMEDIUMTYPE;
	return 0;
}

int sb_read(struct ns *ns, struct sb *sb)
{
	const struct ns_format *fmt = ns_get_format(ns);
	const char *path = ns_get_path(ns);
	char why[200], diff[160];
	uint64_t backup_lba;
	struct mdio io;
	uint8_t *buf;
	int ret, primary;

	ret = mdio_init(&io, ns, fmt->pi.lba_size);
	if (ret)
		return ret;
	buf = mdio_alloc(fmt->pi.lba_size);
	if (!buf)
		return -ENOMEM;
	primary = sb_read_copy(&io, 0, buf, sb, why, sizeof(why));
	if (primary == -EBADMSG) {
		ret = sb_primary_raw_cause(&io, buf, fmt, diff, sizeof(diff));
		if (ret == -EMEDIUMTYPE) {
			gfs_err("%s: namespace format disagrees with superblock: %s", path, diff);
			goto out_free;
		}
		if (ret == -ENODATA)
			primary = -ENODATA;
	}
	ret = primary;
	if (primary) {
		ret = sb_read_backup(&io, fmt->nlb, buf, sb, &backup_lba);
		if (!ret)
			gfs_warn("%s: primary superblock unusable (%s); using the backup at LBA "
				 "%" PRIu64,
				 path, why, backup_lba);
		else if (primary == -ENODATA)
			gfs_err("%s: not a guardfs namespace (no superblock at LBA 0 or at the "
				"end)",
				path);
		else
			gfs_err("%s: superblock damaged (%s) and no valid backup; refusing to "
				"mount",
				path, why);
		if (ret)
			ret = primary == -EBADMSG ? -EUCLEAN : primary;
	}
	if (!ret && sb_check_format(sb, fmt, diff, sizeof(diff))) {
		gfs_err("%s: namespace format disagrees with superblock: %s", path, diff);
		ret = -EMEDIUMTYPE;
	}
out_free:
	free(buf);
	return ret;
}

/* Candidate metadata sizes for finding a backup in a file of unknown format. */
static const uint32_t probe_md_sizes[] = {0, 8, 16, 32, 64, 128};

static int sb_probe_backup(int fd, uint64_t size, uint8_t *buf, struct sb *sb, uint64_t *off)
{
	for (uint32_t lba = 512; lba <= 4096; lba *= 8) {
		for (size_t m = 0; m < sizeof(probe_md_sizes) / sizeof(probe_md_sizes[0]); m++) {
			uint64_t nlb = size / (lba + probe_md_sizes[m]);

			for (uint64_t bs = lba; bs <= SB_BLOCK_MAX; bs <<= 1) {
				uint64_t nblocks = nlb / (bs / lba);

				if (nblocks < 8)
					continue;
				*off = (nblocks - 1) * bs;
				if (pread(fd, buf, SB_SIZE, (off_t)*off) != SB_SIZE)
					continue;
				if (!sb_decode(buf, SB_SIZE, sb) && sb->block_size == bs &&
				    sb->pi.lba_size == lba && sb->pi.md_size == probe_md_sizes[m] &&
				    sb->nlb == nlb)
					return 0;
			}
		}
	}
	return -ENODATA;
}

int sb_probe(const char *path, struct sb *sb)
{
	uint8_t buf[SB_SIZE];
	uint64_t off;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		gfs_err("%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		gfs_err("%s: cannot stat: %s", path, strerror(-ret));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		/* An NVMe namespace knows its format: open it and use sb_read(). */
		ret = -ENOTSUP;
		gfs_err("%s: not a regular file; its format comes from the device", path);
		goto out_close;
	}
	if (pread(fd, buf, SB_SIZE, 0) == SB_SIZE)
		ret = sb_decode(buf, SB_SIZE, sb);
	else
		ret = -ENODATA;
	if (ret && !sb_probe_backup(fd, (uint64_t)st.st_size, buf, sb, &off)) {
		gfs_warn("%s: primary superblock unusable (%s); using the backup at byte %" PRIu64,
			 path, sb_strerror(ret), off);
		ret = 0;
	} else if (ret == -ENODATA) {
		gfs_err("%s: not a guardfs namespace", path);
	} else if (ret) {
		gfs_err("%s: superblock unusable (%s) and no valid backup", path, sb_strerror(ret));
	}
out_close:
	close(fd);
	return ret;
}
