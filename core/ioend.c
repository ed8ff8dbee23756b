/* SPDX-License-Identifier: MIT */
/*
 * ioend.c - building, submitting and completing writeback I/O (fs/iomap/ioend.c and
 * iomap_add_to_ioend / iomap_finish_ioend_buffered_write).
 *
 * An ioend is one device write: a run of folio ranges contiguous in the file and on the
 * namespace, at most the namespace's max transfer. PI is generated over the folio data at
 * submission: every folio in the ioend is under writeback, and writers wait for writeback
 * before changing a folio (write_begin), truncation waits too, so the data cannot change
 * between the checksum and the end of the device write. Each range holds a folio reference.
 *
 * Completion (on the completion worker, never on the namespace's threads, because the
 * conversion may append to the journal and wait for it): on success the range is converted
 * from unwritten to written and the on-disk size grows to the in-core EOF seen at submission,
 * only now that the data is on the namespace; a failure is recorded on the inode (errseq) and
 * logged once. Then every range ends its folio's writeback (folio_finish_write_range); after
 * the last one the ioend is freed and the inode is not touched again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bug.h"
#include "core/gfs_internal.h"
#include "core/log.h"
#include "core/writeback.h"

struct ioend_seg {
	struct folio *folio;
	unsigned off, len;
};

struct ioend {
	struct ns_request rq;
	struct ioend *next; /* completion queue */
	struct gfs_inode *gi;
	uint64_t offset; /* file bytes */
	uint64_t size;	 /* bytes */
	uint64_t addr;	 /* device bytes */
	uint64_t eof;	 /* in-core size when built */
	unsigned nr_segs, max_segs;
	void *md;
	struct ioend_seg *segs;
	struct iovec *iov;
};

struct ioend *ioend_next(struct ioend *ioend)
{
	return ioend->next;
}

void ioend_set_next(struct ioend *ioend, struct ioend *next)
{
	ioend->next = next;
}

static struct ioend *ioend_alloc(struct gfs_inode *gi, uint64_t pos, uint64_t addr, uint64_t eof)
{
	struct gfs *gfs = gi->gfs;
	unsigned max_segs = gfs->max_transfer / gfs->block_size + 1;
	struct ioend *ioend = calloc(
		1, sizeof(*ioend) + max_segs * (sizeof(struct ioend_seg) + sizeof(struct iovec)));

	if (!ioend)
		return NULL;
	ioend->gi = gi;
	ioend->offset = pos;
	ioend->addr = addr;
	ioend->eof = eof;
	ioend->max_segs = max_segs;
	ioend->segs = (struct ioend_seg *)(ioend + 1);
	atomic_fetch_add(&gfs->ioends_inflight, 1); /* dropped by the completion worker */
	ioend->iov = (struct iovec *)(ioend->segs + max_segs);
	return ioend;
}

static void ioend_free(struct ioend *ioend)
{
	free(ioend->md);
	free(ioend);
}

static bool ioend_can_merge(const struct ioend *ioend, struct gfs_inode *gi, uint64_t pos,
			    uint64_t addr, unsigned len)
{
	return ioend->gi == gi && pos == ioend->offset + ioend->size &&
	       addr == ioend->addr + ioend->size && ioend->nr_segs < ioend->max_segs &&
	       ioend->size + len <= gi->gfs->max_transfer;
}

int ioend_add(struct wb_ctx *wpc, struct folio *folio, unsigned off, unsigned len, uint64_t pos,
	      uint64_t addr, uint64_t eof)
{
	struct gfs *gfs = wpc->gi->gfs;

	while (len) {
		unsigned n = gfs_min(len, gfs->max_transfer);
		struct ioend *ioend = wpc->ioend;

		if (ioend && !ioend_can_merge(ioend, wpc->gi, pos, addr, n))
			ioend_submit(wpc);
		if (!wpc->ioend) {
			wpc->ioend = ioend_alloc(wpc->gi, pos, addr, eof);
			if (!wpc->ioend)
				return -ENOMEM;
		}
		ioend = wpc->ioend;
		folio_get(folio);
		ioend->segs[ioend->nr_segs] = (struct ioend_seg){folio, off, n};
		ioend->iov[ioend->nr_segs] = (struct iovec){(char *)folio_data(folio) + off, n};
		ioend->nr_segs++;
		ioend->size += n;
		if (eof > ioend->eof)
			ioend->eof = eof;
		off += n;
		pos += n;
		addr += n;
		len -= n;
	}
	return 0;
}

static void ioend_end_io(struct ns_request *rq)
{
	struct ioend *ioend = (struct ioend *)rq;

	wb_queue_ioend(ioend->gi->gfs, ioend);
}

/* Generates PI over the (stable) folio data of the ioend into its metadata buffer. */
static int ioend_generate_pi(struct ioend *ioend, uint64_t slba, uint32_t nlb)
{
	struct gfs *gfs = ioend->gi->gfs;
	struct pi_io pio;

	if (!gfs->md_size)
		return 0;
	ioend->md = malloc((size_t)nlb * gfs->md_size);
	if (!ioend->md)
		return -ENOMEM;
	/* Metadata bytes outside the tuple are not ours to define: keep them deterministic. */
	memset(ioend->md, 0, (size_t)nlb * gfs->md_size);
	if (!gfs->pi_on)
		return 0;
	pio = gfs_data_pi_io(ioend->gi, slba);
	return pi_generate(&gfs->pi, ioend->iov, ioend->nr_segs, ioend->md, nlb, &pio);
}

void ioend_submit(struct wb_ctx *wpc)
{
	struct ioend *ioend = wpc->ioend;
	struct gfs *gfs;
	uint64_t slba;
	uint32_t nlb;
	int ret;

	if (!ioend)
		return;
	wpc->ioend = NULL;
	gfs = ioend->gi->gfs;
	slba = ioend->addr / gfs->lba_size;
	nlb = ioend->size / gfs->lba_size;
	ret = ioend_generate_pi(ioend, slba, nlb);
	if (!ret) {
		ioend->rq.op = NS_OP_WRITE;
		ioend->rq.slba = slba;
		ioend->rq.nlb = nlb;
		ioend->rq.iov = ioend->iov;
		ioend->rq.iovcnt = ioend->nr_segs;
		ioend->rq.md = ioend->md;
		ioend->rq.pi = gfs_data_ns_pi(ioend->gi, slba);
		ioend->rq.end_io = ioend_end_io;
		atomic_fetch_add(&gfs->ctr.wb_ioends, 1);
		atomic_fetch_add(&gfs->ctr.wb_bytes, ioend->size);
		ret = ns_submit(gfs->ns, &ioend->rq);
	}
	if (ret) {
		/* Never submitted: complete it with the error through the same path. */
		ioend->rq.error = ret;
		wb_queue_ioend(gfs, ioend);
	}
}

void ioend_complete(struct ioend *ioend)
{
	struct gfs_inode *gi = ioend->gi;
	struct gfs *gfs = gi->gfs;
	int error = ioend->rq.error;

	if (!error) {
		/* Data first, then the metadata that makes it visible after a crash. */
		uint64_t new_size = gfs_min(ioend->offset + ioend->size, ioend->eof);

		/* Never past the size now: a truncate may have shrunk the file meanwhile. */
		pthread_mutex_lock(&gi->size_lock);
		new_size = gfs_min(new_size, meta_size_read(gi->mi));
		error = meta_convert_unwritten(gi->mi, ioend->offset, ioend->size, new_size);
		pthread_mutex_unlock(&gi->size_lock);
	}
	if (error) {
		atomic_fetch_add(&gfs->ctr.wb_errors, 1);
		gfs_err("inode %llu offset %llu LBA %llu: writeback of %llu bytes failed: %s",
			(unsigned long long)gi->ino, (unsigned long long)ioend->offset,
			(unsigned long long)(ioend->addr / gfs->lba_size),
			(unsigned long long)ioend->size, strerror(-error));
		gfs_inode_set_error(gi, error);
	}
	for (unsigned i = 0; i < ioend->nr_segs; i++) {
		struct ioend_seg *seg = &ioend->segs[i];

		folio_finish_write_range(seg->folio, seg->off, seg->len, error);
		folio_put(seg->folio);
	}
	ioend_free(ioend);
}
