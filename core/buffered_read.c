/* SPDX-License-Identifier: MIT */
/*
 * buffered_read.c - reads through the folio cache, sequential readahead, and PI verification
 * of every block read from the namespace (iomap_read_folio / iomap_readahead, with the
 * integrity verification of fs_bio_integrity_verify at completion).
 *
 * Reading a folio (locked, referenced): folio_read_init(); for every run of blocks that is not
 * uptodate, holes, unwritten and delalloc extents and blocks wholly past EOF are zeroed and
 * marked uptodate without I/O, mapped extents are submitted asynchronously; folio_read_end()
 * subtracts what was not submitted (N + 2 atomic operations for N ranges). Each completion
 * verifies PI before folio_finish_read_range() marks anything uptodate. A request with a
 * failing block is read again into the same folios, up to gfs_opts.pi_read_tries reads in all
 * (a read that then passes is logged once, as a warning). After the last, each fs block gets
 * its own verdict: a block that fails is never marked uptodate, the blocks around it are, and
 * the failure is logged once with inode, offset, LBA, tag, expected and found. Whoever brings
 * the pending count to zero unlocks the folio; the reader waits for that by locking it, and
 * returns -EIO if any block it wants is still not uptodate. Each in-flight range holds a folio
 * reference, so a completion never touches a freed folio.
 *
 * Readahead (file_ra_state, simplified): a read that starts where the previous one of this
 * open file ended is sequential; the window starts at BUFFERED_RA_INIT and doubles up to
 * BUFFERED_RA_MAX; folios beyond the request are created with CACHE_GET_NOWAIT (readahead
 * never waits for budget or locks) and read asynchronously. A non-sequential read resets the
 * window to zero: random access stops readahead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buffered.h"
#include "core/bug.h"
#include "core/gfs_internal.h"
#include "core/iomap.h"
#include "core/log.h"

/* One range of one folio inside a read request. */
struct read_seg {
	struct folio *folio; /* referenced until the range is finished */
	unsigned off, len;   /* within the folio */
};

/* One namespace read: folio ranges contiguous in the file and on the namespace. */
struct read_ctx {
	struct ns_request rq;
	struct gfs_inode *gi;
	uint64_t pos, lba; /* file offset and LBA of the first byte */
	uint64_t bytes;
	unsigned reads; /* times read so far: a PI failure reads the whole request again */
	struct pi_error first_err; /* the first PI failure, when read again */
	unsigned nr_segs, max_segs;
	uint64_t max_bytes;
	struct read_seg *segs;
	struct iovec *iov;
	unsigned char *md;
};

/* The request being built; submitted when the next range does not continue it. */
struct read_batch {
	struct gfs_inode *gi;
	struct read_ctx *ctx;
};

struct pi_io gfs_data_pi_io(struct gfs_inode *gi, uint64_t lba)
{
	struct pi_io pio = {
		.lba = lba,
		.ref_tag = lba,
		.app_tag = meta_owner_tag(gi->mi),
		.app_mask = 0xFFFF,
		.checks = PI_CHECK_GUARD | PI_CHECK_APP,
	};

	if (gi->gfs->pi.fmt.type != PI_TYPE_3)
		pio.checks |= PI_CHECK_REF;
	return pio;
}

struct ns_pi_params gfs_data_ns_pi(struct gfs_inode *gi, uint64_t lba)
{
	struct pi_io pio = gfs_data_pi_io(gi, lba);
	struct ns_pi_params p = {0};

	if (!gi->gfs->pi_on)
		return p;
	p.ref_tag = pio.ref_tag;
	p.app_tag = pio.app_tag;
	p.app_mask = pio.app_mask;
	p.checks = pio.checks;
	return p;
}

/* A PI failure at file offset pos: inode, offset, LBA, tag, expected and found. */
static void read_describe_pi_error(struct gfs_inode *gi, uint64_t pos, const struct pi_error *err,
				   char *out, size_t len)
{
	char what[96];

	pi_error_describe(err, what, sizeof(what));
	snprintf(out, len, "inode %llu offset %llu LBA %llu: %s", (unsigned long long)gi->ino,
		 (unsigned long long)(pos + (uint64_t)err->block * gi->gfs->lba_size),
		 (unsigned long long)err->lba, what);
}

/* A final PI failure, counted: an error line. */
static void read_log_pi_error(struct gfs_inode *gi, uint64_t pos, const struct pi_error *err)
{
	char line[256];

	atomic_fetch_add(&gi->gfs->ctr.pi_errors, 1);
	read_describe_pi_error(gi, pos, err, line, sizeof(line));
	gfs_err("%s", line);
}

/*
 * Verifies nbytes of data read at lba into data/md. Calls fn for each fs-block aligned piece
 * with its verdict, so that a failing block never makes its neighbours fail.
 */
typedef void (*verify_piece_fn)(void *arg, unsigned off, unsigned len, int error);

static void read_verify_blocks(struct gfs_inode *gi, char *data, unsigned char *md, unsigned nbytes,
			       uint64_t lba, uint64_t pos, verify_piece_fn fn, void *arg)
{
	struct gfs *gfs = gi->gfs;
	unsigned bs = gfs->block_size, done = 0;

	if (!gfs->pi_on) {
		fn(arg, 0, nbytes, 0);
		return;
	}
	while (done < nbytes) {
		uint32_t nlb = (nbytes - done) / gfs->lba_size;
		uint64_t first = lba + done / gfs->lba_size;
		struct iovec iov = {.iov_base = data + done, .iov_len = nbytes - done};
		struct pi_io pio = gfs_data_pi_io(gi, first);
		struct pi_error err;
		unsigned bad;

		if (!pi_verify(&gfs->pi, &iov, 1,
			       md + (size_t)(done / gfs->lba_size) * gfs->md_size, nlb, &pio,
			       &err)) {
			fn(arg, done, nbytes - done, 0);
			return;
		}
		read_log_pi_error(gi, pos + done, &err);
		bad = gfs_round_down(done + err.block * gfs->lba_size, bs);
		if (bad > done)
			fn(arg, done, bad - done, 0);
		fn(arg, bad, bs, -EIO);
		done = bad + bs;
	}
}

static void read_finish_piece(void *arg, unsigned off, unsigned len, int error)
{
	struct read_seg *seg = arg;

	folio_finish_read_range(seg->folio, seg->off + off, len, error);
}

/*
 * The request's blocks in one pass: 0 when every one passes, or -EIO with the first failure in
 * *err (the device's, when it checked and failed the read).
 */
static int read_verify_request(struct read_ctx *ctx, struct pi_error *err)
{
	struct gfs *gfs = ctx->gi->gfs;
	struct pi_io pio = gfs_data_pi_io(ctx->gi, ctx->lba);

	if (ctx->rq.error) {
		*err = ctx->rq.pi_error;
		return ctx->rq.error;
	}
	if (!gfs->pi_on)
		return 0;
	return pi_verify(&gfs->pi, ctx->iov, (int)ctx->nr_segs, ctx->md,
			 (uint32_t)(ctx->bytes / gfs->lba_size), &pio, err);
}

/*
 * A request with a block that failed its PI check is read again, into the same locked folios,
 * until it has been read pi_read_tries times: a block damaged on the way reads correctly
 * again, one damaged on the medium does not. The failure is counted and a debug line says so
 * (a read that then passes says so once, read_log_recovered). True when it was resubmitted.
 */
static bool read_again(struct read_ctx *ctx, const struct pi_error *err)
{
	struct gfs *gfs = ctx->gi->gfs;
	char line[256];

	if (err->tag == PI_TAG_NONE || ctx->reads >= gfs->opts.pi_read_tries)
		return false;
	atomic_fetch_add(&gfs->ctr.pi_errors, 1);
	read_describe_pi_error(ctx->gi, ctx->pos, err, line, sizeof(line));
	gfs_debug("%s; reading it again (read %u of %u)", line, ctx->reads + 1,
		  gfs->opts.pi_read_tries);
	if (ctx->reads == 1)
		ctx->first_err = *err;
	atomic_fetch_add(&gfs->ctr.pi_rereads, 1);
	ctx->reads++;
	return ns_submit(gfs->ns, &ctx->rq) == 0;
}

/* Every range of the request is finished: verified as a whole (error 0), or failed. */
static void read_finish_all(struct read_ctx *ctx, int error)
{
	for (unsigned i = 0; i < ctx->nr_segs; i++) {
		struct read_seg *seg = &ctx->segs[i];

		folio_finish_read_range(seg->folio, seg->off, seg->len, error);
		/* Our own reference: the read may have ended and the folio may be dropped. */
		folio_put(seg->folio);
	}
}

/* The request failed its last read: each fs block gets its own verdict, failures are errors. */
static void read_finish_blocks(struct read_ctx *ctx)
{
	struct gfs_inode *gi = ctx->gi;
	uint32_t lba_size = gi->gfs->lba_size, md_size = gi->gfs->md_size;
	uint64_t done = 0;

	/* The folios of later segments are still locked by this read: gi stays valid. */
	for (unsigned i = 0; i < ctx->nr_segs; i++) {
		struct read_seg *seg = &ctx->segs[i];

		read_verify_blocks(gi, (char *)folio_data(seg->folio) + seg->off,
				   ctx->md + done / lba_size * md_size, seg->len,
				   ctx->lba + done / lba_size, ctx->pos + done, read_finish_piece,
				   seg);
		done += seg->len;
		folio_put(seg->folio);
	}
}

/* One warning for a read that passed after a PI failure, naming the first failure. */
static void read_log_recovered(struct read_ctx *ctx)
{
	char line[256];

	atomic_fetch_add(&ctx->gi->gfs->ctr.pi_recovered, 1);
	read_describe_pi_error(ctx->gi, ctx->pos, &ctx->first_err, line, sizeof(line));
	gfs_warn("%s; read again, its %llu bytes passed on read %u", line,
		 (unsigned long long)ctx->bytes, ctx->reads);
}

static void read_end_io(struct ns_request *rq)
{
	struct read_ctx *ctx = (struct read_ctx *)rq;
	struct gfs_inode *gi = ctx->gi;
	struct pi_error err = {0};
	int ret = read_verify_request(ctx, &err);

	if (ret == -EIO && read_again(ctx, &err))
		return;
	if (!ret) {
		if (ctx->reads > 1)
			read_log_recovered(ctx);
		read_finish_all(ctx, 0);
	} else if (rq->error && err.tag != PI_TAG_NONE) {
		read_log_pi_error(gi, ctx->pos, &err); /* the device's check failed */
		read_finish_all(ctx, rq->error);
	} else if (rq->error) {
		atomic_fetch_add(&gi->gfs->ctr.read_errors, 1);
		gfs_err("inode %llu offset %llu LBA %llu: read of %llu bytes failed: %s",
			(unsigned long long)gi->ino, (unsigned long long)ctx->pos,
			(unsigned long long)ctx->lba, (unsigned long long)ctx->bytes,
			strerror(-rq->error));
		read_finish_all(ctx, rq->error);
	} else {
		read_finish_blocks(ctx);
	}
	free(ctx);
}

static struct read_ctx *read_ctx_alloc(struct gfs_inode *gi, uint64_t pos, uint64_t lba)
{
	struct gfs *gfs = gi->gfs;
	uint64_t max_bytes = gfs_min(gfs->max_transfer, 1u << 30);
	unsigned max_segs, fsize = cache_folio_size(gfs->cache);
	struct read_ctx *ctx;

	if (max_bytes < fsize)
		max_bytes = fsize;
	max_segs = max_bytes / gfs->block_size + 1;
	ctx = calloc(1, sizeof(*ctx) + max_segs * (sizeof(struct read_seg) + sizeof(struct iovec)) +
				max_bytes / gfs->lba_size * gfs->md_size);
	if (!ctx)
		return NULL;
	ctx->gi = gi;
	ctx->pos = pos;
	ctx->lba = lba;
	ctx->max_segs = max_segs;
	ctx->max_bytes = max_bytes;
	ctx->segs = (struct read_seg *)(ctx + 1);
	ctx->iov = (struct iovec *)(ctx->segs + max_segs);
	ctx->md = (unsigned char *)(ctx->iov + max_segs);
	return ctx;
}

/* Submits the batch's request; a refused one completes its ranges with the error. */
static void read_batch_submit(struct read_batch *b)
{
	struct read_ctx *ctx = b->ctx;
	struct gfs *gfs = b->gi->gfs;
	int ret;

	if (!ctx)
		return;
	b->ctx = NULL;
	ctx->rq.op = NS_OP_READ;
	ctx->rq.slba = ctx->lba;
	ctx->rq.nlb = ctx->bytes / gfs->lba_size;
	ctx->rq.iov = ctx->iov;
	ctx->rq.iovcnt = ctx->nr_segs;
	ctx->rq.md = gfs->md_size ? ctx->md : NULL;
	ctx->rq.pi = gfs_data_ns_pi(b->gi, ctx->lba);
	ctx->rq.end_io = read_end_io;
	ctx->reads = 1;
	atomic_fetch_add(&gfs->ctr.ns_reads, 1);
	ret = ns_submit(gfs->ns, &ctx->rq);
	if (ret) {
		ctx->rq.error = ret;
		read_end_io(&ctx->rq);
	}
}

/*
 * Adds [off, off + len) of a folio being read, mapped by map, to the batch: merged into its
 * request when contiguous in the file and on the namespace, else in a new one.
 */
static int read_batch_add(struct read_batch *b, struct folio *folio, unsigned off, unsigned len,
			  const struct meta_map *map)
{
	uint32_t lba_size = b->gi->gfs->lba_size;
	uint64_t pos = folio_pos(folio) + off, lba = iomap_addr(map, pos) / lba_size;
	struct read_ctx *ctx = b->ctx;

	if (ctx && (pos != ctx->pos + ctx->bytes || lba != ctx->lba + ctx->bytes / lba_size ||
		    ctx->nr_segs == ctx->max_segs || ctx->bytes + len > ctx->max_bytes)) {
		read_batch_submit(b);
		ctx = NULL;
	}
	if (!ctx) {
		ctx = read_ctx_alloc(b->gi, pos, lba);
		if (!ctx)
			return -ENOMEM;
		b->ctx = ctx;
	}
	folio_get(folio);
	ctx->segs[ctx->nr_segs] = (struct read_seg){folio, off, len};
	ctx->iov[ctx->nr_segs] = (struct iovec){(char *)folio_data(folio) + off, len};
	ctx->nr_segs++;
	ctx->bytes += len;
	return 0;
}

/* The first run of blocks that are not uptodate in [*off, end): sets *off, returns length. */
static unsigned read_next_missing(struct folio *folio, unsigned *off, unsigned end)
{
	unsigned bs = folio_block_size(folio), b = *off, e;

	while (b < end && folio_block_is_uptodate(folio, b / bs))
		b += bs;
	for (e = b; e < end && !folio_block_is_uptodate(folio, e / bs); e += bs)
		;
	*off = b;
	return e - b;
}

/* Zero-fills or submits [off, off + len) of the folio, one mapping at a time. */
static int read_folio_run(struct read_batch *b, struct folio *folio, unsigned off, unsigned len,
			  uint64_t isize, unsigned *submitted)
{
	struct gfs_inode *gi = b->gi;

	while (len) {
		uint64_t pos = folio_pos(folio) + off;
		struct meta_map map;
		unsigned n;
		int ret;

		if (pos >= isize) {
			/* Blocks wholly past EOF are zeros, never read (iomap_adjust_read_range).
			 */
			memset((char *)folio_data(folio) + off, 0, len);
			return folio_mark_uptodate_range(folio, off, len);
		}
		ret = meta_map_begin(gi->mi, pos, len, 0, &map);
		if (ret)
			return ret;
		n = gfs_min(len, map.offset + map.length - pos);
		if (n == 0)
			return -EIO;
		if (map.type == META_MAP_MAPPED) {
			ret = read_batch_add(b, folio, off, n, &map);
			if (ret)
				return ret;
			*submitted += n;
		} else {
			memset((char *)folio_data(folio) + off, 0, n);
			ret = folio_mark_uptodate_range(folio, off, n);
			if (ret)
				return ret;
		}
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Starts reading a locked, referenced folio that is not uptodate, adding its mapped ranges to
 * the batch; the read's end unlocks it once the batch was submitted and completed (or at once
 * when nothing had to be read). Errors leave the blocks concerned not uptodate.
 */
static int read_folio_start(struct read_batch *b, struct folio *folio)
{
	uint64_t isize = meta_size_read(b->gi->mi);
	unsigned off = 0, submitted = 0, len;
	int ret;

	ret = folio_read_init(folio);
	if (ret) {
		folio_unlock(folio);
		return ret;
	}
	while ((len = read_next_missing(folio, &off, folio_size(folio)))) {
		ret = read_folio_run(b, folio, off, len, isize, &submitted);
		if (ret)
			break;
		off += len;
	}
	folio_read_end(folio, submitted);
	return ret;
}

/*
 * Readahead of the folios covering [start, end): never waits for budget or a lock; folios
 * contiguous on the namespace are read by one request, up to the max transfer.
 */
static void read_ahead(struct gfs_inode *gi, uint64_t start, uint64_t end)
{
	struct cache_mapping *mapping = gi->mapping;
	unsigned shift = __builtin_ctz(cache_folio_size(gi->gfs->cache));
	unsigned flags = CACHE_GET_CREATE | CACHE_GET_LOCK | CACHE_GET_NOWAIT;
	struct read_batch batch = {.gi = gi};

	for (uint64_t index = start >> shift; (index << shift) < end; index++) {
		struct folio *folio;

		if (cache_get_folio(mapping, index, flags, &folio))
			break; /* over budget or contended: readahead is only a hint */
		if (folio_is_uptodate(folio)) {
			folio_unlock(folio);
		} else {
			atomic_fetch_add(&gi->gfs->ctr.readahead_folios, 1);
			read_folio_start(&batch, folio);
		}
		folio_put(folio);
	}
	read_batch_submit(&batch);
}

/* Updates the open file's readahead state for a read of [pos, pos + len); returns the range
 * to read ahead in *ra_start, *ra_end (empty when random). */
static void read_update_ra(struct gfs_file *file, uint64_t pos, size_t len, uint64_t isize,
			   uint64_t *ra_start, uint64_t *ra_end)
{
	uint64_t end = pos + len;

	pthread_mutex_lock(&file->ra_lock);
	if (pos == file->ra_prev_end && pos != 0) {
		file->ra_window = file->ra_window ? gfs_min(2 * file->ra_window, BUFFERED_RA_MAX)
						  : BUFFERED_RA_INIT;
	} else {
		file->ra_window = 0; /* random access: no readahead */
		file->ra_start = 0;
	}
	file->ra_prev_end = end;
	*ra_start = file->ra_start > end ? file->ra_start : end;
	*ra_end = gfs_min(end + file->ra_window, isize);
	if (file->ra_window && *ra_end > *ra_start)
		file->ra_start = *ra_end;
	else
		*ra_end = *ra_start;
	pthread_mutex_unlock(&file->ra_lock);
}

/* Makes [off, off + len) of the folio uptodate, reading it if needed. 0 or -EIO. */
static int read_folio_range(struct gfs_inode *gi, struct folio *folio, unsigned off, unsigned len)
{
	int ret = 0;

	if (folio_range_is_uptodate(folio, off, len))
		return 0;
	folio_lock(folio);
	if (!folio_range_is_uptodate(folio, off, len)) {
		struct read_batch batch = {.gi = gi};

		ret = read_folio_start(&batch, folio);
		read_batch_submit(&batch);
		folio_lock(folio); /* waits for the end of the read */
		if (!ret && !folio_range_is_uptodate(folio, off, len))
			ret = -EIO;
	}
	folio_unlock(folio);
	return ret;
}

#define READ_CHUNK_FOLIOS 32

struct read_chunk {
	unsigned nr;
	struct folio *folios[READ_CHUNK_FOLIOS];
	bool started[READ_CHUNK_FOLIOS]; /* this call started its read */
};

/*
 * Phase one of a read: the folios of [pos, pos + len) (at most READ_CHUNK_FOLIOS), with the
 * reads of all missing ones started in one batch, so a large read is not a series of waits.
 * Only the first lookup may wait for budget: later ones would wait holding folio locks of the
 * unsubmitted batch, so they use CACHE_GET_NOWAIT and the chunk ends early instead.
 */
static int read_chunk_start(struct gfs_inode *gi, uint64_t pos, uint64_t len, struct read_chunk *c)
{
	uint64_t fsize = cache_folio_size(gi->gfs->cache), p = pos;
	struct read_batch batch = {.gi = gi};
	int ret = 0;

	for (c->nr = 0; p < pos + len && c->nr < READ_CHUNK_FOLIOS; p = (p / fsize + 1) * fsize) {
		unsigned off = p & (fsize - 1), n = gfs_min(fsize - off, pos + len - p);
		unsigned flags = CACHE_GET_CREATE | (c->nr ? CACHE_GET_NOWAIT : 0);
		struct folio *folio;

		ret = cache_get_folio(gi->mapping, p / fsize, flags, &folio);
		if (ret == -EAGAIN && c->nr) {
			ret = 0;
			break;
		}
		if (ret)
			break;
		c->started[c->nr] = false;
		if (!folio_range_is_uptodate(folio, off, n)) {
			folio_lock(folio);
			if (!folio_range_is_uptodate(folio, off, n)) {
				read_folio_start(&batch, folio); /* the read's end unlocks */
				c->started[c->nr] = true;
			} else {
				folio_unlock(folio);
			}
		}
		c->folios[c->nr++] = folio;
	}
	read_batch_submit(&batch);
	return c->nr ? 0 : ret;
}

/* Phase two: wait for each folio, copy, drop. Returns the bytes copied or -EIO. */
static ssize_t read_chunk_copy(struct gfs_inode *gi, uint64_t pos, uint64_t len,
			       struct read_chunk *c, char *dst)
{
	uint64_t fsize = cache_folio_size(gi->gfs->cache), p = pos, copied = 0;
	int ret = 0;

	for (unsigned i = 0; i < c->nr; i++, p = (p / fsize + 1) * fsize) {
		struct folio *folio = c->folios[i];
		unsigned off = p & (fsize - 1), n = gfs_min(fsize - off, pos + len - p);

		if (!ret && c->started[i]) {
			folio_lock(folio); /* waits for the end of our read */
			if (!folio_range_is_uptodate(folio, off, n))
				ret = -EIO; /* logged by the completion */
			folio_unlock(folio);
		} else if (!ret) {
			ret = read_folio_range(gi, folio, off, n);
		}
		if (!ret) {
			memcpy(dst + (p - pos), (char *)folio_data(folio) + off, n);
			copied += n;
		}
		folio_put(folio);
	}
	return ret ? ret : (ssize_t)copied;
}

ssize_t buffered_read(struct gfs_file *file, void *buf, size_t len, uint64_t pos, uint64_t isize)
{
	struct gfs_inode *gi = file->gi;
	uint64_t ra_start, ra_end, done = 0;
	struct read_chunk chunk;
	ssize_t ret = 0;

	read_update_ra(file, pos, len, isize, &ra_start, &ra_end);
	while (done < len) {
		ret = read_chunk_start(gi, pos + done, len - done, &chunk);
		if (ret)
			break;
		/* Readahead beyond the request goes out while we wait for the request. */
		if (ra_end > ra_start) {
			read_ahead(gi, ra_start, ra_end);
			ra_end = ra_start;
		}
		ret = read_chunk_copy(gi, pos + done, len - done, &chunk, (char *)buf + done);
		if (ret < 0)
			break;
		done += ret;
		ret = 0;
	}
	return ret ? ret : (ssize_t)done;
}

/* ---- synchronous block reads for write_begin ---- */

struct sync_verdict {
	int error;
};

static void read_sync_piece(void *arg, unsigned off, unsigned len, int error)
{
	struct sync_verdict *v = arg;

	(void)off;
	(void)len;
	if (error)
		v->error = error;
}

int buffered_read_blocks_sync(struct gfs_inode *gi, struct folio *folio, unsigned off, unsigned len,
			      const struct meta_map *map)
{
	struct gfs *gfs = gi->gfs;
	uint32_t nlb = len / gfs->lba_size;
	uint64_t pos = folio_pos(folio) + off, lba = iomap_addr(map, pos) / gfs->lba_size;
	struct iovec iov = {.iov_base = (char *)folio_data(folio) + off, .iov_len = len};
	struct sync_verdict v = {0};
	unsigned char *md = NULL;
	struct ns_request rq = {
		.op = NS_OP_READ,
		.slba = lba,
		.nlb = nlb,
		.iov = &iov,
		.iovcnt = 1,
		.pi = gfs_data_ns_pi(gi, lba),
	};
	int ret;

	GFS_BUG_ON(!folio_is_locked(folio));
	if (gfs->md_size) {
		md = malloc((size_t)nlb * gfs->md_size);
		if (!md)
			return -ENOMEM;
		rq.md = md;
	}
	atomic_fetch_add(&gfs->ctr.ns_reads, 1);
	ret = ns_submit_wait(gfs->ns, &rq);
	if (ret) {
		atomic_fetch_add(&gfs->ctr.read_errors, 1);
		gfs_err("inode %llu offset %llu LBA %llu: read of %u bytes failed: %s",
			(unsigned long long)gi->ino, (unsigned long long)pos,
			(unsigned long long)lba, len, strerror(-ret));
		free(md);
		return -EIO;
	}
	read_verify_blocks(gi, iov.iov_base, md, len, lba, pos, read_sync_piece, &v);
	free(md);
	return v.error;
}
