/* SPDX-License-Identifier: MIT */
/*
 * mdblock.h - framing and protected I/O of guardfs metadata blocks.
 *
 * Every metadata block (log, checkpoint) is one filesystem block that starts with a 64-byte
 * header: magic, type, CRC-32C over the whole block, payload length, the block's own address,
 * a sequence number, the filesystem UUID and two type-specific words (docs/FORMAT.md, "Metadata
 * blocks"). The address and UUID catch misdirected writes and blocks left by an earlier
 * filesystem even where PI cannot (md_size 0, PI type 0 or 3).
 *
 * On the device, each LBA of a metadata block (and of the superblock) carries PI with the
 * fixed metadata owner tag MD_APP_TAG in the app tag and the LBA in the ref tag. Reads ask the
 * device to check (ns_pi_params) and verify again in software with pi_verify, then the CRC.
 *
 * All multi-byte fields of guardfs structures are little-endian (PI tuples stay big-endian,
 * as NVMe stores them); the md_get/md_put helpers below are the only way they are accessed.
 */
#ifndef GUARDFS_MDBLOCK_H
#define GUARDFS_MDBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns.h"
#include "pi/pi.h"

/* App tag of every metadata block: "MD". Data owner tags must avoid it and 0xFFFF. */
#define MD_APP_TAG 0x4D44u

#define MD_MAGIC    0x424D4647u /* "GFMB" in the first four bytes */
#define MD_HDR_SIZE 64u
#define MD_UUID_LEN 16u

enum md_type {
	MD_TYPE_LOG = 1,       /* a block of a log batch */
	MD_TYPE_CKPT_HDR = 2,  /* first block of a checkpoint area */
	MD_TYPE_CKPT_DATA = 3, /* a block of a checkpoint's record stream */
};

/* Decoded header of a metadata block. */
struct md_hdr {
	uint16_t type;
	uint32_t payload_len; /* bytes of payload after the header */
	uint64_t blkno;	      /* filesystem block number the block was written to */
	uint64_t seq;	      /* log: log block number; checkpoint: checkpoint sequence */
	uint8_t uuid[MD_UUID_LEN];
	uint64_t aux0; /* log: first log block of the batch; ckpt data: index in the stream */
	uint32_t aux1; /* log: blocks in the batch */
};

static inline void md_put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void md_put_le32(void *p, uint32_t v)
{
	md_put_le16(p, (uint16_t)v);
	md_put_le16((uint8_t *)p + 2, (uint16_t)(v >> 16));
}

static inline void md_put_le64(void *p, uint64_t v)
{
	md_put_le32(p, (uint32_t)v);
	md_put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t md_get_le16(const void *p)
{
	const uint8_t *b = p;

	return (uint16_t)(b[0] | (b[1] << 8));
}

static inline uint32_t md_get_le32(const void *p)
{
	return md_get_le16(p) | ((uint32_t)md_get_le16((const uint8_t *)p + 2) << 16);
}

static inline uint64_t md_get_le64(const void *p)
{
	return md_get_le32(p) | ((uint64_t)md_get_le32((const uint8_t *)p + 4) << 32);
}

/* CRC-32C of len bytes with the 4 bytes at crc_off counted as zero. */
uint32_t md_crc32c_skip(const void *buf, size_t len, size_t crc_off);

/* Write hdr at the start of a zeroed block_size block (payload is the caller's). */
void md_hdr_encode(void *block, const struct md_hdr *hdr);

/* Fill in the block's CRC-32C; the last step before the block is written. */
void md_block_seal(void *block, uint32_t block_size);

/*
 * Check the framing of one block and decode its header. Returns 0, -ENODATA when the block
 * holds no metadata header at all (never written, zeroed, foreign), -EBADMSG on a CRC mismatch
 * (damaged or torn), -EUCLEAN when a CRC-valid header has impossible fields. Safe on any bytes.
 */
int md_block_check(const void *block, uint32_t block_size, struct md_hdr *hdr);

/*
 * md_block_check plus identity: type, address and filesystem. -ESTALE when a well-formed
 * block belongs elsewhere (another type, another address, another filesystem).
 */
int md_block_expect(const void *block, uint32_t block_size, uint16_t type, uint64_t blkno,
		    const uint8_t uuid[MD_UUID_LEN], struct md_hdr *hdr);

/* Human-readable reason for a md_block_check/expect error. */
const char *md_block_strerror(int err);

/* Protected block I/O on a namespace. */
struct mdio {
	struct ns *ns;
	struct pi_ctx pi;
	bool pi_on; /* namespace has PI: generate and verify it */
	uint32_t lba_size;
	uint32_t md_size;
	uint32_t block_size; /* filesystem block size */
	uint32_t lbas_per_block;
};

/* Where a read failed. */
struct mdio_error {
	int error;	    /* negative errno of the read */
	uint64_t lba;	    /* failing LBA when a PI check failed, else the first LBA */
	struct pi_error pi; /* pi.tag != PI_TAG_NONE when a PI check failed */
};

/* block_size is the filesystem block size (>= lba_size, a multiple of it). */
int mdio_init(struct mdio *io, struct ns *ns, uint32_t block_size);

/* LBA of a filesystem block. */
static inline uint64_t mdio_lba(const struct mdio *io, uint64_t blkno)
{
	return blkno * io->lbas_per_block;
}

/*
 * Read nblocks filesystem blocks into buf (nblocks * block_size bytes) with the device
 * checking PI, then verify PI here too. -EIO with err->pi set on a PI failure. Does not log.
 */
int mdio_read(struct mdio *io, uint64_t blkno, uint32_t nblocks, void *buf, struct mdio_error *err);

/* The same in LBAs, for the superblock (read before the block size is known). */
int mdio_read_lbas(struct mdio *io, uint64_t slba, uint32_t nlb, void *buf, struct mdio_error *err);

/* Generate PI over buf and write nblocks blocks; fua: durable before it returns. */
int mdio_write(struct mdio *io, uint64_t blkno, uint32_t nblocks, const void *buf, bool fua);

/* Flush the device's volatile cache if it has one. */
int mdio_flush(struct mdio *io);

/* "LBA 123: guard tag mismatch (expected 0x..., found 0x...)" or "LBA 123: I/O error ..." */
void mdio_describe(const struct mdio_error *err, char *out, size_t len);

/* A zeroed buffer aligned for any backend (O_DIRECT); free with free(). NULL on ENOMEM. */
void *mdio_alloc(size_t len);

#endif /* GUARDFS_MDBLOCK_H */
