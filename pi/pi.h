/* SPDX-License-Identifier: MIT */
/*
 * pi.h - T10 / NVMe end-to-end Protection Information.
 *
 * A standalone library: CRCs, PI tuples, and the four operations guardfs needs over a run of
 * blocks — generate, verify, copy+generate (the write bounce) and verify+copy (the read bounce).
 * It knows nothing of files or namespaces. Shaped after SPDK's dif.h: one context built from a
 * format, a handful of verbs, per-I/O parameters in a small struct.
 *
 * Conventions
 *  - All tuple fields are big-endian, as the NVM Command Set stores them.
 *  - Data is an iovec array that may be split at any byte. Metadata is either one separate
 *    contiguous buffer of nblocks * md_size bytes (PI_MD_SEPARATE, as an NVMe namespace with
 *    separate metadata: "DIX"), or interleaved after each block's data inside the iovecs
 *    (PI_MD_INTERLEAVED, extended LBA: "DIF"); for interleaved, md arguments are NULL.
 *  - With PI in the last bytes of metadata (the default) the guard covers the data and the
 *    metadata bytes before the tuple; with PI first it covers the data only.
 *  - Generate always writes all three tags; check flags affect verify only.
 *  - Verify stops at the first failing block and describes it in struct pi_error, with
 *    expected = what should be stored and found = what is stored.
 *  - Functions return 0 or a negative errno: -EINVAL for bad arguments, -EIO for a PI
 *    check failure.
 */
#ifndef GUARDFS_PI_H
#define GUARDFS_PI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Guard formats, numbered as the NVMe PIF field (elbaf bits 8:7). */
enum pi_guard {
	PI_GUARD_16 = 0, /* CRC-16/T10-DIF guard, 16-bit app, 32-bit ref: 8-byte tuple */
	PI_GUARD_64 = 2, /* CRC-64/NVME guard, 16-bit app, 48-bit ref: 16-byte tuple */
};

/* PI types, as NVMe DPS bits 2:0. */
enum pi_type {
	PI_TYPE_NONE = 0,
	PI_TYPE_1 = 1, /* ref tag = low bits of the LBA, checked */
	PI_TYPE_2 = 2, /* ref tag = initial ref tag + block index, checked */
	PI_TYPE_3 = 3, /* ref tag constant, never checked */
};

/* Check flags: the NVMe PRCHK bits (CDW12 bits 28:26 shifted down by 26). */
#define PI_CHECK_REF   0x1u
#define PI_CHECK_APP   0x2u
#define PI_CHECK_GUARD 0x4u
#define PI_CHECK_ALL   (PI_CHECK_REF | PI_CHECK_APP | PI_CHECK_GUARD)

#define PI_APP_ESCAPE 0xFFFFu

enum pi_md_layout {
	PI_MD_SEPARATE = 0,
	PI_MD_INTERLEAVED = 1,
};

struct pi_format {
	uint32_t lba_size; /* data bytes per block: 512 or 4096 */
	uint32_t md_size;  /* metadata bytes per block; >= tuple size when type != NONE */
	enum pi_type type;
	enum pi_guard guard;
	bool pi_first; /* tuple in the first metadata bytes (NVMe DPS bit 3) */
	enum pi_md_layout layout;
};

/* Built by pi_ctx_init(); treat the fields as private. */
struct pi_ctx {
	struct pi_format fmt;
	uint32_t tuple_size;   /* 8 or 16; 0 without PI */
	uint32_t pi_offset;    /* offset of the tuple inside a block's metadata */
	uint32_t guard_md_len; /* metadata bytes before the tuple that the guard covers */
	uint32_t stride;       /* bytes per block in the data iovecs: lba, or lba + md */
	uint64_t ref_mask;     /* 2^32 - 1 or 2^48 - 1 */
};

/* Parameters of one run of blocks. */
struct pi_io {
	uint64_t lba;	  /* LBA of the first block, for error reports */
	uint64_t ref_tag; /* ref tag of the first block (full width; wraps mod 2^32 / 2^48) */
	uint16_t app_tag;
	uint16_t app_mask; /* bits compared on verify; applied to both sides */
	uint8_t checks;	   /* PI_CHECK_* */
};

enum pi_tag {
	PI_TAG_NONE = 0,
	PI_TAG_GUARD = 1,
	PI_TAG_APP = 2,
	PI_TAG_REF = 3,
};

struct pi_error {
	uint32_t block;	   /* index of the failing block within the run */
	uint64_t lba;	   /* its LBA (pi_io.lba + block) */
	enum pi_tag tag;   /* which check failed */
	uint64_t expected; /* what should be stored */
	uint64_t found;	   /* what is stored */
};

/* Fields an error can be injected into. */
enum pi_field {
	PI_FIELD_DATA = 0,
	PI_FIELD_GUARD = 1,
	PI_FIELD_APP = 2,
	PI_FIELD_REF = 3,
};

struct pi_injection {
	uint32_t block;	     /* block index that was damaged */
	enum pi_field field; /* which field */
	uint32_t bit;	     /* bit index inside the field (data: inside the block's data) */
};

/* Tuple size for a guard format: 8 or 16. */
static inline uint32_t pi_tuple_size(enum pi_guard guard)
{
	return guard == PI_GUARD_64 ? 16 : 8;
}

/* Validate a format and build a context. -EINVAL for unsupported combinations. */
int pi_ctx_init(struct pi_ctx *ctx, const struct pi_format *fmt);

/* Compute and store the tuple of nblocks blocks. */
int pi_generate(const struct pi_ctx *ctx, const struct iovec *iov, int iovcnt, void *md,
		uint32_t nblocks, const struct pi_io *io);

/* Check nblocks blocks; on failure fill *err (may be NULL) and return -EIO. */
int pi_verify(const struct pi_ctx *ctx, const struct iovec *iov, int iovcnt, const void *md,
	      uint32_t nblocks, const struct pi_io *io, struct pi_error *err);

/*
 * The write bounce: copy nblocks * lba_size data bytes from src into bounce and generate
 * PI over the copy, in one pass where that is faster. bounce holds nblocks * stride bytes;
 * md is the separate metadata buffer (NULL when interleaved). Metadata bytes outside the
 * tuple are left as the caller set them in bounce/md.
 */
int pi_copy_generate(const struct pi_ctx *ctx, const struct iovec *src, int srccnt, void *bounce,
		     void *md, uint32_t nblocks, const struct pi_io *io);

/*
 * The read bounce: verify blocks in bounce/md and copy their data to dst. Stops at the first
 * failing block: the blocks before it are copied, nothing of it or after it is.
 */
int pi_verify_copy(const struct pi_ctx *ctx, const void *bounce, const void *md,
		   const struct iovec *dst, int dstcnt, uint32_t nblocks, const struct pi_io *io,
		   struct pi_error *err);

/*
 * Flip one bit of field in block (block < 0: a random block) of a run. Deterministic for a
 * given *seed, which is advanced. Describes what it did in *out (may be NULL).
 */
int pi_inject_error(const struct pi_ctx *ctx, const struct iovec *iov, int iovcnt, void *md,
		    uint32_t nblocks, enum pi_field field, int64_t block, uint64_t *seed,
		    struct pi_injection *out);

/* "guard", "app", "ref" or "none". */
const char *pi_tag_name(enum pi_tag tag);

/* "PI guard check failed (expected 0x1c3f, found 0x8a01)": what a log line says of err. */
void pi_error_describe(const struct pi_error *err, char *out, size_t len);

/*
 * Reads in all of a range whose PI check fails before its reader is told: a block damaged on
 * the way (a link, a DMA transfer, a controller's buffer) reads correctly again, one damaged on
 * the medium does not. guardfs's default for data (gfs_opts.pi_read_tries), its number for
 * metadata (mdio) and for the scrub's verdict (transient or damaged).
 */
#define PI_READ_TRIES 3

/*
 * CRCs. Each takes the value returned by a previous call (0 to start) so calls chain over
 * split buffers: crc(crc(0, a), b) == crc(0, a || b). Results are the standard check values
 * (CRC-16/T10-DIF, CRC-32C, CRC-64/NVME).
 */
uint16_t pi_crc16_t10dif(uint16_t crc, const void *buf, size_t len);
uint32_t pi_crc32c(uint32_t crc, const void *buf, size_t len);
uint64_t pi_crc64_nvme(uint64_t crc, const void *buf, size_t len);

#endif /* GUARDFS_PI_H */
