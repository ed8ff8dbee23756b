/* SPDX-License-Identifier: MIT */
/*
 * sb.h - the guardfs superblock: what a namespace holds and where.
 *
 * A 512-byte record at data offset 0 (filesystem block 0) and a backup copy in the last
 * filesystem block of the namespace. It records the namespace format it was made for (so a
 * header-less file namespace can be opened: sb_probe), the filesystem block size, the layout
 * of the log and the two checkpoint areas, feature flags and a CRC-32C. The superblock is
 * written by mkfs only; the newest state lives in the checkpoints and the log (journal.h).
 * Layout and field offsets: docs/FORMAT.md, "Superblock".
 */
#ifndef GUARDFS_SB_H
#define GUARDFS_SB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ns.h"
#include "pi/pi.h"

#define SB_VERSION	 1u   /* on-disk format version; docs/FORMAT.md */
#define SB_SIZE		 512u /* bytes of the superblock record */
#define SB_LABEL_MAX	 64u
#define SB_UUID_LEN	 16u
#define SB_BLOCK_MAX	 65536u
#define SB_BLOCK_DEFAULT 4096u

/* Feature flags (none defined in version 1): unknown incompat -> refuse, ro_compat -> ro. */
#define SB_FEAT_INCOMPAT_SUPP  0ull
#define SB_FEAT_RO_COMPAT_SUPP 0ull

struct sb {
	uint32_t version;
	uint8_t uuid[SB_UUID_LEN];
	char label[SB_LABEL_MAX + 1]; /* NUL-terminated */
	struct pi_format pi;	      /* layout is always PI_MD_SEPARATE */
	uint64_t nlb;		      /* namespace capacity in LBAs */
	uint32_t block_size;	      /* filesystem block size */
	uint64_t nblocks;	      /* filesystem blocks: nlb / (block_size / lba_size) */
	uint64_t log_start, log_blocks;
	uint64_t ckpt_start[2], ckpt_blocks;
	uint64_t data_start, data_blocks;
	uint64_t backup_blkno; /* nblocks - 1 */
	uint64_t feat_compat, feat_ro_compat, feat_incompat;
	uint64_t mkfs_time_ns;
};

/* What mkfs chooses; zero fields take the defaults of docs/FORMAT.md, "Layout rule". */
struct sb_params {
	uint32_t block_size;
	const char *label;
	uint64_t log_blocks;
	uint64_t ckpt_blocks;
	const uint8_t *uuid; /* NULL: random */
};

/*
 * Encode into SB_SIZE bytes. copy is 0 for the primary, 1 for the backup (recorded, so a
 * reader can tell which one it found).
 */
void sb_encode(const struct sb *sb, unsigned copy, void *buf);

/*
 * Decode and validate len bytes (at least SB_SIZE). 0, or: -ENODATA not a guardfs superblock
 * (no magic), -EPROTONOSUPPORT another format version, -EBADMSG CRC mismatch, -EUCLEAN
 * inconsistent fields, -EOPNOTSUPP unknown incompatible features. Safe on any bytes.
 */
int sb_decode(const void *buf, size_t len, struct sb *sb);

/* Reason for an sb_decode error, for one-line messages. */
const char *sb_strerror(int err);

/* Compute the layout for a namespace format and parameters. -EINVAL / -ENOSPC. */
int sb_layout(const struct pi_format *fmt, uint64_t nlb, const struct sb_params *p, struct sb *sb);

/* Write primary and backup (each a full filesystem block with PI) and flush. */
int sb_write(struct ns *ns, const struct sb *sb);

/* sb_layout for the namespace, then sb_write: the superblock half of mkfs. */
int sb_format(struct ns *ns, const struct sb_params *p, struct sb *sb);

/*
 * Mount-time read: the primary at LBA 0, else the backup (with a warning naming the damage).
 * Checks PI, CRC and that the namespace format agrees. Logs one line on failure:
 * -ENODATA "not a guardfs namespace", -EUCLEAN both copies damaged, -EMEDIUMTYPE format
 * disagreement, others from sb_decode.
 */
int sb_read(struct ns *ns, struct sb *sb);

/* 0 when the namespace has the format the superblock was made for; else -EMEDIUMTYPE and
 * a description of the first difference in why (may be NULL). */
int sb_check_format(const struct sb *sb, const struct ns_format *fmt, char *why, size_t len);

/*
 * Read the superblock of a regular file with plain preads (no namespace yet: its format is
 * what this finds). Tries the primary, then the backup for every format that fits the file
 * size. Returns 0 or an sb_decode error; logs one line naming the path on failure.
 */
int sb_probe(const char *path, struct sb *sb);

#endif /* GUARDFS_SB_H */
