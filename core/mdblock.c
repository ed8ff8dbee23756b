/* SPDX-License-Identifier: MIT */
/*
 * mdblock.c - metadata block framing (header, CRC-32C) and PI-protected block I/O.
 *
 * A block is trusted only after three independent checks pass, in this order: the device's
 * PI check (requested through ns_pi_params, so a real drive checks before DMA), our own
 * pi_verify over what arrived (the file backend need not check), and the header CRC-32C over
 * the whole block (the only protection when the namespace has no PI). Identity checks
 * (type, address, UUID) come last: they separate "damaged" from "not ours / stale".
 */
#include "core/mdblock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bug.h"
#include "core/log.h"

/* Header field offsets (docs/FORMAT.md, "Metadata blocks"). */
#define OFF_MAGIC    0
#define OFF_TYPE     4
#define OFF_HDRSIZE  6
#define OFF_CRC	     8
#define OFF_PAYLOAD  12
#define OFF_BLKNO    16
#define OFF_SEQ	     24
#define OFF_UUID     32
#define OFF_AUX0     48
#define OFF_AUX1     56
#define OFF_RESERVED 60

uint32_t md_crc32c_skip(const void *buf, size_t len, size_t crc_off)
{
	static const uint8_t zero[4];
	const uint8_t *b = buf;
	uint32_t crc;

	GFS_BUG_ON(crc_off + 4 > len);
	crc = pi_crc32c(0, b, crc_off);
	crc = pi_crc32c(crc, zero, sizeof(zero));
	return pi_crc32c(crc, b + crc_off + 4, len - crc_off - 4);
}

void md_hdr_encode(void *block, const struct md_hdr *hdr)
{
	uint8_t *b = block;

	md_put_le32(b + OFF_MAGIC, MD_MAGIC);
	md_put_le16(b + OFF_TYPE, hdr->type);
	md_put_le16(b + OFF_HDRSIZE, MD_HDR_SIZE);
	md_put_le32(b + OFF_CRC, 0);
	md_put_le32(b + OFF_PAYLOAD, hdr->payload_len);
	md_put_le64(b + OFF_BLKNO, hdr->blkno);
	md_put_le64(b + OFF_SEQ, hdr->seq);
	memcpy(b + OFF_UUID, hdr->uuid, MD_UUID_LEN);
	md_put_le64(b + OFF_AUX0, hdr->aux0);
	md_put_le32(b + OFF_AUX1, hdr->aux1);
	md_put_le32(b + OFF_RESERVED, 0);
}

void md_block_seal(void *block, uint32_t block_size)
{
	md_put_le32((uint8_t *)block + OFF_CRC, md_crc32c_skip(block, block_size, OFF_CRC));
}

int md_block_check(const void *block, uint32_t block_size, struct md_hdr *hdr)
{
	const uint8_t *b = block;

	if (block_size < MD_HDR_SIZE || md_get_le32(b + OFF_MAGIC) != MD_MAGIC)
		return -ENODATA;
	if (md_get_le32(b + OFF_CRC) != md_crc32c_skip(b, block_size, OFF_CRC))
		return -EBADMSG;
	hdr->type = md_get_le16(b + OFF_TYPE);
	hdr->payload_len = md_get_le32(b + OFF_PAYLOAD);
	hdr->blkno = md_get_le64(b + OFF_BLKNO);
	hdr->seq = md_get_le64(b + OFF_SEQ);
	memcpy(hdr->uuid, b + OFF_UUID, MD_UUID_LEN);
	hdr->aux0 = md_get_le64(b + OFF_AUX0);
	hdr->aux1 = md_get_le32(b + OFF_AUX1);
	if (md_get_le16(b + OFF_HDRSIZE) != MD_HDR_SIZE ||
	    hdr->payload_len > block_size - MD_HDR_SIZE || hdr->type < MD_TYPE_LOG ||
	    hdr->type > MD_TYPE_CKPT_DATA || md_get_le32(b + OFF_RESERVED) != 0)
		return -EUCLEAN;
	return 0;
}

int md_block_expect(const void *block, uint32_t block_size, uint16_t type, uint64_t blkno,
		    const uint8_t uuid[MD_UUID_LEN], struct md_hdr *hdr)
{
	int ret = md_block_check(block, block_size, hdr);

	if (ret)
		return ret;
	if (hdr->type != type || hdr->blkno != blkno || memcmp(hdr->uuid, uuid, MD_UUID_LEN))
		return -ESTALE;
	return 0;
}

const char *md_block_strerror(int err)
{
	switch (err) {
	case 0:
		return "valid";
	case -ENODATA:
		return "no metadata block header (never written or overwritten)";
	case -EBADMSG:
		return "CRC-32C mismatch (damaged or torn block)";
	case -EUCLEAN:
		return "impossible header fields";
	case -ESTALE:
		return "block belongs to another type, address or filesystem";
	default:
		return "unreadable";
	}
}

int mdio_init(struct mdio *io, struct ns *ns, uint32_t block_size)
{
	const struct ns_format *fmt = ns_get_format(ns);
	int ret;

	memset(io, 0, sizeof(*io));
	if (block_size < fmt->pi.lba_size || block_size % fmt->pi.lba_size)
		return -EINVAL;
	ret = pi_ctx_init(&io->pi, &fmt->pi);
	if (ret)
		return ret;
	io->ns = ns;
	io->pi_on = fmt->pi.type != PI_TYPE_NONE;
	io->lba_size = fmt->pi.lba_size;
	io->md_size = fmt->pi.md_size;
	io->block_size = block_size;
	io->lbas_per_block = block_size / fmt->pi.lba_size;
	return 0;
}

void *mdio_alloc(size_t len)
{
	void *p;

	if (posix_memalign(&p, 4096, len ? len : 1))
		return NULL;
	memset(p, 0, len);
	return p;
}

/* What both the device and pi_verify check on a metadata LBA run starting at slba. */
static struct pi_io mdio_pi_io(const struct mdio *io, uint64_t slba)
{
	struct pi_io pio = {
		.lba = slba,
		.ref_tag = slba,
		.app_tag = MD_APP_TAG,
		.app_mask = 0xFFFF,
		.checks = PI_CHECK_GUARD | PI_CHECK_APP,
	};

	/* Type 3 has no ref tag to check; asking an NVMe device to is an invalid command. */
	if (io->pi.fmt.type != PI_TYPE_3)
		pio.checks |= PI_CHECK_REF;
	return pio;
}

static struct ns_pi_params mdio_ns_params(const struct mdio *io, uint64_t slba)
{
	struct pi_io pio = mdio_pi_io(io, slba);
	struct ns_pi_params p = {0};

	if (!io->pi_on)
		return p;
	p.ref_tag = pio.ref_tag;
	p.app_tag = pio.app_tag;
	p.app_mask = pio.app_mask;
	p.checks = pio.checks;
	return p;
}

/* Prepare @rq for metadata LBAs [slba, slba + nlb) in one buffer, with the device PI checks. */
static void mdio_prep_request(const struct mdio *io, struct ns_request *rq, enum ns_op op,
			      uint64_t slba, uint32_t nlb, const struct iovec *iov)
{
	*rq = (struct ns_request){
		.op = op,
		.slba = slba,
		.nlb = nlb,
		.iov = iov,
		.iovcnt = 1,
		.pi = mdio_ns_params(io, slba),
	};
}

/* One read of nlb LBAs into buf and md, verified; err says where it failed. */
static int mdio_read_once(struct mdio *io, uint64_t slba, uint32_t nlb, void *buf, void *md,
			  struct mdio_error *err)
{
	struct iovec iov = {.iov_base = buf, .iov_len = (size_t)nlb * io->lba_size};
	struct pi_io pio = mdio_pi_io(io, slba);
	struct ns_request rq;
	int ret;

	mdio_prep_request(io, &rq, NS_OP_READ, slba, nlb, &iov);
	memset(err, 0, sizeof(*err));
	err->lba = slba;
	rq.md = md;
	ret = ns_submit_wait(io->ns, &rq);
	if (ret) {
		err->pi = rq.pi_error;
	} else if (io->pi_on) {
		ret = pi_verify(&io->pi, &iov, 1, md, nlb, &pio, &err->pi);
	}
	if (ret && err->pi.tag != PI_TAG_NONE)
		err->lba = err->pi.lba;
	return err->error = ret;
}

int mdio_read_lbas(struct mdio *io, uint64_t slba, uint32_t nlb, void *buf, struct mdio_error *err)
{
	struct mdio_error first = {0};
	unsigned reads = 1;
	void *md = NULL;
	char why[160];
	int ret;

	if (io->md_size) {
		md = mdio_alloc((size_t)nlb * io->md_size);
		if (!md) {
			memset(err, 0, sizeof(*err));
			err->lba = slba;
			return err->error = -ENOMEM;
		}
	}
	/*
	 * A PI failure is read again, up to PI_READ_TRIES reads in all, as data is. The caller
	 * reports a final failure; a read that passes after one says so here.
	 */
	for (;;) {
		ret = mdio_read_once(io, slba, nlb, buf, md, err);
		if (!ret || err->pi.tag == PI_TAG_NONE || reads == PI_READ_TRIES)
			break;
		if (reads == 1)
			first = *err;
		reads++;
	}
	if (!ret && reads > 1) {
		mdio_describe(&first, why, sizeof(why));
		gfs_warn("%s: metadata read of LBA %llu+%u: %s; read again, it passed on read %u",
			 ns_get_path(io->ns), (unsigned long long)slba, nlb, why, reads);
	}
	free(md);
	return ret;
}

int mdio_read(struct mdio *io, uint64_t blkno, uint32_t nblocks, void *buf, struct mdio_error *err)
{
	return mdio_read_lbas(io, mdio_lba(io, blkno), nblocks * io->lbas_per_block, buf, err);
}

int mdio_write(struct mdio *io, uint64_t blkno, uint32_t nblocks, const void *buf, bool fua)
{
	uint64_t slba = mdio_lba(io, blkno);
	uint32_t nlb = nblocks * io->lbas_per_block;
	/* pi_generate only reads the data; the iovec type is not const. */
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = (size_t)nlb * io->lba_size};
	struct pi_io pio = mdio_pi_io(io, slba);
	struct ns_request rq;
	void *md = NULL;
	int ret = 0;

	mdio_prep_request(io, &rq, NS_OP_WRITE, slba, nlb, &iov);
	rq.fua = fua;
	if (io->md_size) {
		/* Metadata bytes outside the tuple stay zero: the guard covers them (PI last). */
		md = mdio_alloc((size_t)nlb * io->md_size);
		if (!md)
			return -ENOMEM;
		if (io->pi_on)
			ret = pi_generate(&io->pi, &iov, 1, md, nlb, &pio);
	}
	rq.md = md;
	if (!ret)
		ret = ns_submit_wait(io->ns, &rq);
	free(md);
	return ret;
}

int mdio_flush(struct mdio *io)
{
	if (!ns_get_format(io->ns)->volatile_cache)
		return 0;
	return ns_flush_sync(io->ns);
}

void mdio_describe(const struct mdio_error *err, char *out, size_t len)
{
	if (err->pi.tag != PI_TAG_NONE)
		snprintf(out, len,
			 "LBA %" PRIu64 ": PI %s tag mismatch (expected 0x%" PRIx64
			 ", found 0x%" PRIx64 ")",
			 err->lba, pi_tag_name(err->pi.tag), err->pi.expected, err->pi.found);
	else
		snprintf(out, len, "LBA %" PRIu64 ": read failed: %s", err->lba,
			 strerror(-err->error));
}
