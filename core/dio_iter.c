// SPDX-License-Identifier: MIT
/*
 * dio_iter.c - the mapping walk of a direct request and its pieces (iomap_dio_iter,
 * iomap_dio_bio_iter with IOMAP_DIO_BOUNCE and IOMAP_F_INTEGRITY), and the pieces' completion.
 *
 * Each mapping (meta_map_begin) is cut into pieces of at most one bounce slot, so that a piece
 * is one device command. Reads: holes and unwritten extents are zeroed in the caller's buffer
 * without I/O; a mapped range is read into bounce slots and, at the piece's completion on the
 * namespace thread, verified block by block (pi_verify_copy), so a failing block is never
 * copied out; a block carrying the PI escape counts as failed, since guardfs never writes it on
 * data. A sync read's waiting thread may take the second half of a large piece
 * (dio_verify_shared). A piece that fails its PI check is read again into the same slot, up to
 * gfs_opts.pi_read_tries reads, before it fails the request (dio_read_end_io).
 *
 * Writes: the payload is copied into the slot with PI generated in the same pass
 * (pi_copy_generate), owner tag and LBA ref tag as the buffered path verifies them; for an
 * unwritten or new block the sub-block head and tail come from a zero block in the same copy,
 * so the whole fs block is defined, with PI, when it turns MAPPED. A write whose caller promised
 * a stable buffer (DIO_STABLE) skips the copy where it can: PI is generated over the caller's
 * bytes and the device reads them in place (dio_write_in_place).
 *
 * Each piece holds a reference of its request and its bounce slot (a write in place uses only
 * the slot's metadata; a lent read's pieces share the one slot the caller took, dio.c); it gives
 * the slot back before dropping the reference, so a request completes only after all its
 * resources are free.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bug.h"
#include "core/dio_internal.h"
#include "core/log.h"

struct dio_piece {
	struct ns_request rq;
	struct dio *dio;
	struct dio_bounce b;
	uint64_t fpos; /* file offset of the first byte of the bounce */
	uint64_t lba;
	uint32_t nlb;
	unsigned reads;		     /* reads: times read so far (a PI failure reads it again) */
	struct pi_error first_pe;    /* reads: the first PI failure, when read again */
	struct iovec data;	     /* the bounce, as the namespace's data iovec */
	const struct iovec *dev_iov; /* what the device reads or fills: &data, or iov in place */
	int dev_iovcnt;
	struct iovec iov[]; /* dio->iovcnt + 2: caller slices (and zero head/tail for writes);
			       twice that for a read a waiter may help with */
};

/* ---- iovec helpers ---- */

int dio_iov_slice(const struct iovec *iov, int iovcnt, size_t off, size_t len, struct iovec *out,
		  int max)
{
	int used = 0;

	for (int i = 0; i < iovcnt && len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
		if (used == max)
			return -EINVAL;
		out[used].iov_base = (char *)iov[i].iov_base + off;
		out[used++].iov_len = n;
		len -= n;
		off = 0;
	}
	return len ? -EINVAL : used;
}

static void dio_iov_copy_to(const struct iovec *iov, int iovcnt, const char *src)
{
	for (int i = 0; i < iovcnt; i++) {
		memcpy(iov[i].iov_base, src, iov[i].iov_len);
		src += iov[i].iov_len;
	}
}

/* Zero len bytes of the caller's read buffer at request offset off (holes, unwritten). */
static void dio_zero_user(struct dio *dio, uint64_t off, uint64_t len)
{
	uint64_t skip = off;

	for (int i = 0; i < dio->iovcnt && len; i++) {
		uint64_t n;

		if (skip >= dio->iov[i].iov_len) {
			skip -= dio->iov[i].iov_len;
			continue;
		}
		n = gfs_min(dio->iov[i].iov_len - skip, len);
		memset((char *)dio->iov[i].iov_base + skip, 0, n);
		len -= n;
		skip = 0;
	}
}

/* ---- pieces ---- */

static struct dio_piece *dio_piece_alloc(struct dio *dio, uint64_t fpos, uint64_t addr,
					 uint64_t bytes)
{
	struct gfs *gfs = dio->gi->gfs;
	/* A waiter's share of a read gets slices of its own (dio_verify_shared). */
	size_t nr_iov = (size_t)(dio->iovcnt + 2) * (dio->help ? 2 : 1);
	struct dio_piece *piece = malloc(sizeof(*piece) + nr_iov * sizeof(struct iovec));

	if (!piece)
		return NULL;
	memset(piece, 0, sizeof(*piece));
	piece->dio = dio;
	piece->fpos = fpos;
	piece->lba = addr / gfs->lba_size;
	piece->nlb = (uint32_t)(bytes / gfs->lba_size);
	if (dio->flags & DIO_LEND) {
		/* Straight into the lent slot, where the caller's bytes go (dio->iov[0]). */
		uint64_t at = fpos - dio->pos;

		piece->b = dio_pool_slot_of(&dio->ctl->pool, dio->iov[0].iov_base);
		piece->b.data = (char *)piece->b.data + at;
		if (piece->b.md)
			piece->b.md = (char *)piece->b.md + at / gfs->lba_size * gfs->md_size;
	} else {
		dio_pool_get(&dio->ctl->pool, &piece->b);
	}
	piece->data = (struct iovec){piece->b.data, bytes};
	piece->dev_iov = &piece->data;
	piece->dev_iovcnt = 1;
	return piece;
}

static void dio_piece_free(struct dio_piece *piece)
{
	if (!(piece->dio->flags & DIO_LEND))
		dio_pool_put(&piece->dio->ctl->pool, &piece->b);
	free(piece);
}

/* Hands the piece to the namespace; it then owns a reference of the request. */
static int dio_piece_submit(struct dio_piece *piece, enum ns_op op, ns_end_io_fn end_io)
{
	struct dio *dio = piece->dio;
	struct ns_request *rq = &piece->rq;
	int ret;

	rq->op = op;
	rq->slba = piece->lba;
	rq->nlb = piece->nlb;
	rq->iov = piece->dev_iov;
	rq->iovcnt = piece->dev_iovcnt;
	rq->md = piece->b.md;
	rq->pi = gfs_data_ns_pi(dio->gi, piece->lba);
	rq->fua = op == NS_OP_WRITE && (dio->flags & DIO_FUA);
	rq->end_io = end_io;
	rq->private = piece;
	atomic_fetch_add(&dio->pending, 1);
	atomic_fetch_add_explicit(&dio->ctl->pieces, 1, memory_order_relaxed);
	if (rq->fua)
		atomic_fetch_add_explicit(&dio->ctl->fua_writes, 1, memory_order_relaxed);
	ret = ns_submit(dio->gi->gfs->ns, rq);
	if (ret) {
		/* Never queued: end_io will not run. The submitter's reference keeps dio alive. */
		atomic_fetch_sub(&dio->pending, 1);
		dio_piece_free(piece);
	}
	return ret;
}

/* A PI failure of a piece: inode, offset, LBA, tag, expected and found, as one log line. */
static void dio_describe_pi_error(const struct dio_piece *piece, const struct pi_error *pe,
				  char *out, size_t len)
{
	const struct dio *dio = piece->dio;
	char what[96];

	pi_error_describe(pe, what, sizeof(what));
	snprintf(out, len, "inode %llu offset %llu LBA %llu: direct read: %s",
		 (unsigned long long)dio->gi->ino,
		 (unsigned long long)(piece->fpos + (uint64_t)pe->block * dio->gi->gfs->lba_size),
		 (unsigned long long)pe->lba, what);
}

/* The piece's final PI failure: the request's error line. */
static void dio_log_pi_error(struct dio_piece *piece, const struct pi_error *pe)
{
	char line[256];

	dio_describe_pi_error(piece, pe, line, sizeof(line));
	gfs_err("%s", line);
}

/* One warning for a piece that passed after a PI failure, naming the first failure. */
static void dio_log_recovered(struct dio_piece *piece)
{
	struct gfs *gfs = piece->dio->gi->gfs;
	char line[256];

	atomic_fetch_add(&gfs->ctr.pi_recovered, 1);
	dio_describe_pi_error(piece, &piece->first_pe, line, sizeof(line));
	gfs_warn("%s; read again, its %u blocks passed on read %u", line, piece->nlb, piece->reads);
}

/*
 * The PI escape (app tag 0xFFFF) makes a verifier skip a block; guardfs never writes it on
 * data, so on a MAPPED block it means the block was never written (a lost, torn or misdirected
 * write, or stale space): report it as an app tag failure instead of returning what is there.
 */
static int dio_find_escape(struct dio_piece *piece, uint32_t nblocks, struct pi_error *pe)
{
	const struct gfs *gfs = piece->dio->gi->gfs;
	uint32_t app_off = gfs->pi.pi_offset + (gfs->pi.fmt.guard == PI_GUARD_64 ? 8 : 2);
	const unsigned char *md = piece->b.md;

	if (!gfs->pi_on)
		return -1;
	for (uint32_t i = 0; i < nblocks; i++, md += gfs->md_size) {
		if (md[app_off] != 0xFF || md[app_off + 1] != 0xFF)
			continue;
		*pe = (struct pi_error){.block = i,
					.lba = piece->lba + i,
					.tag = PI_TAG_APP,
					.expected = meta_owner_tag(piece->dio->gi->mi),
					.found = PI_APP_ESCAPE};
		return (int)i;
	}
	return -1;
}

/* Below this many blocks a piece is verified by one thread: a hand-over would cost more. */
#define DIO_HELP_MIN_BLOCKS 64

/*
 * The n blocks of a piece from block first on, as a run: verified in place for a lent read, or
 * verified and copied to the caller's bytes at uoff (where the piece begins in them) for any
 * other; their slices go to dst, which has room for dio->iovcnt + 2.
 */
static int dio_piece_run(const struct dio_piece *piece, uint32_t first, uint32_t n, uint64_t uoff,
			 struct iovec *dst, struct dio_verify_run *run)
{
	const struct dio *dio = piece->dio;
	const struct gfs *gfs = dio->gi->gfs;
	bool lent = dio->flags & DIO_LEND;
	int cnt = 0;

	if (!lent) {
		cnt = dio_iov_slice(dio->iov, dio->iovcnt, uoff + (size_t)first * gfs->lba_size,
				    (size_t)n * gfs->lba_size, dst, dio->iovcnt + 2);
		if (cnt < 0)
			return cnt;
	}
	*run = (struct dio_verify_run){
		.pi = &gfs->pi,
		.blocks = {(char *)piece->b.data + (size_t)first * gfs->lba_size,
			   (size_t)n * gfs->lba_size},
		.md = piece->b.md ? (char *)piece->b.md + (size_t)first * gfs->md_size : NULL,
		.nblocks = n,
		.first = first,
		.pio = gfs_data_pi_io(dio->gi, piece->lba + first),
		.dst = lent ? NULL : dst,
		.dst_cnt = cnt};
	return 0;
}

/* Verify a run (and copy it, dst); pe->block counts from the piece. */
static int dio_verify_run(const struct dio_verify_run *run, struct pi_error *pe)
{
	int ret = run->dst ? pi_verify_copy(run->pi, run->blocks.iov_base, run->md, run->dst,
					    run->dst_cnt, run->nblocks, &run->pio, pe)
			   : pi_verify(run->pi, &run->blocks, 1, run->md, run->nblocks, &run->pio,
				       pe);

	if (ret == -EIO)
		pe->block += run->first;
	return ret;
}

/*
 * Verify a piece's first n blocks (and copy them to the caller unless lent): with a waiter to
 * help (struct dio_help), it does the second half while this thread does the first. The first
 * failing block is reported, as a single pass would. A copy stops at a failing block, so
 * nothing of a failing block reaches the caller either way.
 */
static int dio_verify_shared(struct dio_piece *piece, uint32_t n, uint64_t uoff,
			     struct pi_error *pe)
{
	struct dio_help *help = piece->dio->help;
	const struct gfs *gfs = piece->dio->gi->gfs;
	struct dio_verify_run run;
	uint32_t half = n / 2;
	int ret, open = DIO_HELP_OFFERED;

	if (!help || n < DIO_HELP_MIN_BLOCKS || !gfs->pi_on) { /* nothing worth sharing */
		ret = dio_piece_run(piece, 0, n, uoff, piece->iov, &run);
		return ret ? ret : dio_verify_run(&run, pe);
	}
	GFS_BUG_ON(atomic_load(&help->state) != DIO_HELP_NONE);
	ret = dio_piece_run(piece, 0, half, uoff, piece->iov, &run);
	if (!ret) /* the waiter's slices: the second half of the piece's iov (dio_piece_alloc) */
		ret = dio_piece_run(piece, half, n - half, uoff,
				    piece->iov + piece->dio->iovcnt + 2, &help->run);
	if (ret)
		return ret;
	atomic_store_explicit(&help->state, DIO_HELP_OFFERED, memory_order_release);

	ret = dio_verify_run(&run, pe);
	if (atomic_compare_exchange_strong(&help->state, &open, DIO_HELP_NONE)) {
		/* Nobody took it: the waiter sleeps, or has not looked yet. */
		return ret ? ret : dio_verify_run(&help->run, pe);
	}
	while (atomic_load_explicit(&help->state, memory_order_acquire) != DIO_HELP_DONE)
		gfs_poll_pause(); /* the waiter is at it, on the other CPU */
	atomic_store_explicit(&help->state, DIO_HELP_NONE, memory_order_relaxed);
	atomic_fetch_add_explicit(&piece->dio->gi->gfs->ctr.dio_verify_shared, 1,
				  memory_order_relaxed);
	if (ret)
		return ret;
	if (help->ret == -EIO)
		*pe = help->pe;
	return help->ret;
}

void dio_help_run(struct dio_help *help)
{
	int open = DIO_HELP_OFFERED;

	if (atomic_load_explicit(&help->state, memory_order_relaxed) != DIO_HELP_OFFERED ||
	    !atomic_compare_exchange_strong(&help->state, &open, DIO_HELP_TAKEN))
		return;
	help->ret = dio_verify_run(&help->run, &help->pe);
	atomic_store_explicit(&help->state, DIO_HELP_DONE, memory_order_release);
}

/*
 * Verify the piece's blocks and copy the verified bytes below read_end to the caller. A
 * partial last block (EOF inside an LBA) is verified whole and copied in part. A lent read's
 * blocks are already where the caller will find them: verified in place, not copied. -EIO is
 * a PI failure, described in *out_pe.
 */
static int dio_read_deliver(struct dio_piece *piece, struct pi_error *out_pe)
{
	struct dio *dio = piece->dio;
	struct gfs *gfs = dio->gi->gfs;
	uint64_t bytes = gfs_min((uint64_t)piece->nlb * gfs->lba_size, dio->read_end - piece->fpos);
	uint32_t nfull = (uint32_t)(bytes / gfs->lba_size), rem = bytes % gfs->lba_size;
	uint64_t uoff = piece->fpos - dio->pos;
	struct pi_error pe = {0}, esc_pe;
	int cnt, ret = 0, esc = dio_find_escape(piece, nfull + (rem ? 1 : 0), &esc_pe);
	bool in_place = dio->flags & DIO_LEND;

	if (esc >= 0)
		nfull = (uint32_t)esc; /* verify and deliver what comes before it */
	if (nfull)
		ret = dio_verify_shared(piece, nfull, uoff, &pe);
	if (!ret && esc >= 0) {
		pe = esc_pe;
		ret = -EIO;
	}
	if (!ret && rem) {
		struct iovec blk = {(char *)piece->b.data + (size_t)nfull * gfs->lba_size,
				    gfs->lba_size};
		void *md = piece->b.md ? (char *)piece->b.md + (size_t)nfull * gfs->md_size : NULL;
		struct pi_io pio = gfs_data_pi_io(dio->gi, piece->lba + nfull);

		ret = pi_verify(&gfs->pi, &blk, 1, md, 1, &pio, &pe);
		if (ret == -EIO)
			pe.block += nfull;
		cnt = ret ? 0
			  : dio_iov_slice(dio->iov, dio->iovcnt,
					  uoff + (size_t)nfull * gfs->lba_size, rem, piece->iov,
					  dio->iovcnt + 2);
		if (cnt < 0)
			ret = cnt;
		else if (!ret && !in_place)
			dio_iov_copy_to(piece->iov, cnt, blk.iov_base);
	}
	if (ret == -EIO)
		*out_pe = pe;
	return ret;
}

/*
 * Whether a piece that failed its PI check (on the device or in dio_read_deliver) is read
 * again: until it has been read pi_read_tries times, unless the request has failed anyway. The
 * same bounce takes the new read; nothing of the failed one has reached the caller but verified
 * blocks, which the new read delivers again.
 */
static bool dio_read_may_retry(const struct dio_piece *piece)
{
	const struct dio *dio = piece->dio;

	return piece->reads < dio->gi->gfs->opts.pi_read_tries && !atomic_load(&dio->error);
}

/*
 * Read a piece again after the PI failure pe (a debug line says so); on success its end_io
 * runs once more. False when the namespace refused it (ns_submit logged why).
 */
static bool dio_read_again(struct dio_piece *piece, const struct pi_error *pe)
{
	struct gfs *gfs = piece->dio->gi->gfs;
	char line[256];

	dio_describe_pi_error(piece, pe, line, sizeof(line));
	gfs_debug("%s; reading it again (read %u of %u)", line, piece->reads + 1,
		  gfs->opts.pi_read_tries);
	atomic_fetch_add(&gfs->ctr.pi_rereads, 1);
	piece->reads++;
	return ns_submit(gfs->ns, &piece->rq) == 0;
}

static void dio_read_end_io(struct ns_request *rq)
{
	struct dio_piece *piece = rq->private;
	struct dio *dio = piece->dio;
	struct pi_error pe = rq->pi_error;
	bool pi_failed = false;
	int ret = rq->error;

	if (ret) {
		pi_failed = rq->pi_error.tag != PI_TAG_NONE;
		if (!pi_failed)
			gfs_err("inode %llu offset %llu LBA %llu: direct read of %u blocks failed: "
				"%s",
				(unsigned long long)dio->gi->ino, (unsigned long long)piece->fpos,
				(unsigned long long)piece->lba, piece->nlb, strerror(-ret));
	} else if (!atomic_load(&dio->error)) {
		ret = dio_read_deliver(piece, &pe);
		pi_failed = ret == -EIO;
		if (!ret && piece->reads > 1)
			dio_log_recovered(piece);
	}
	if (pi_failed) {
		atomic_fetch_add(&dio->gi->gfs->ctr.pi_errors, 1);
		atomic_fetch_add(&dio->ctl->pi_errors, 1);
		if (piece->reads == 1)
			piece->first_pe = pe;
		if (dio_read_may_retry(piece) && dio_read_again(piece, &pe))
			return; /* the piece keeps its reference of the request */
		dio_log_pi_error(piece, &pe);
	}
	if (ret)
		dio_set_error(dio, ret);
	dio_piece_free(piece);
	dio_put(dio, true);
}

static int dio_read_submit(struct dio_piece *piece)
{
	piece->reads++;
	return dio_piece_submit(piece, NS_OP_READ, dio_read_end_io);
}

static void dio_write_end_io(struct ns_request *rq)
{
	struct dio_piece *piece = rq->private;
	struct dio *dio = piece->dio;

	if (rq->error)
		dio_set_error(dio, rq->error);
	dio_piece_free(piece);
	dio_put(dio, true);
}

/* ---- reads ---- */

static int dio_read_mapped(struct dio *dio, const struct meta_map *map, uint64_t pos, uint64_t end)
{
	size_t slot = dio->ctl->pool.slot_bytes;

	while (pos < end && !atomic_load(&dio->error)) {
		uint64_t n = gfs_min(end - pos, slot);
		struct dio_piece *piece =
			dio_piece_alloc(dio, pos, map->addr + (pos - map->offset), n);
		int ret;

		if (!piece)
			return -ENOMEM;
		ret = dio_read_submit(piece);
		if (ret)
			return ret;
		pos += n;
	}
	return 0;
}

/* iomap_dio_iter for reads: device range [pos, round_up(read_end, lba)). */
int dio_read_iter(struct dio *dio)
{
	struct gfs_inode *gi = dio->gi;
	uint64_t end = gfs_round_up(dio->read_end, gi->gfs->lba_size);
	uint64_t pos = dio->pos;

	while (pos < end && !atomic_load(&dio->error)) {
		struct meta_map map;
		uint64_t mend;
		int ret = meta_map_begin(gi->mi, pos, end - pos, 0, &map);

		if (ret)
			return ret;
		mend = gfs_min(map.offset + map.length, end);
		switch (map.type) {
		case META_MAP_HOLE:
		case META_MAP_UNWRITTEN:
			dio_zero_user(dio, pos - dio->pos,
				      gfs_min(mend, dio->read_end) - gfs_min(pos, dio->read_end));
			break;
		case META_MAP_MAPPED:
			ret = dio_read_mapped(dio, &map, pos, mend);
			break;
		default:
			/* Dirty cached data was written back under our lock: nothing can be here.
			 */
			gfs_err("inode %llu offset %llu: direct read collides with delayed "
				"allocation",
				(unsigned long long)gi->ino, (unsigned long long)pos);
			ret = -EIO;
		}
		if (ret)
			return ret;
		pos = mend;
	}
	return 0;
}

/* ---- writes ---- */

/*
 * Whether a write piece of the caller's slices iov (no zeroed head or tail) can go to the device
 * from where they are, without the bounce copy. The caller must have promised that nobody
 * changes them until the request completes (DIO_STABLE): PI is generated over them before the
 * device reads them, so a change in between would put a block on the namespace whose PI does
 * not match. Each slice must also suit the device: address and length multiples of the LBA size
 * (the file backend's O_DIRECT descriptor, an NVMe PRP list), and the format must keep its
 * metadata apart (interleaved tuples lie between the blocks, which only a bounce can do).
 */
static bool dio_write_in_place(const struct dio *dio, const struct iovec *iov, int cnt)
{
	const struct gfs *gfs = dio->gi->gfs;
	uintptr_t mask = gfs->lba_size - 1;

	if (!(dio->flags & DIO_STABLE) || gfs->pi.stride != gfs->lba_size)
		return false;
	for (int i = 0; i < cnt; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & mask)
			return false;
	return true;
}

/*
 * One write piece covering file bytes [c, ce) at device address addr: zeros below pos and from
 * mend up (sub-block head and tail of an unwritten block), the caller's payload in between,
 * copied into the bounce with PI generated in the same pass, or left in place when it may be.
 */
static int dio_write_piece(struct dio *dio, uint64_t c, uint64_t ce, uint64_t addr, uint64_t pos,
			   uint64_t mend)
{
	struct gfs *gfs = dio->gi->gfs;
	struct dio_piece *piece = dio_piece_alloc(dio, c, addr, ce - c);
	uint64_t lo = c > pos ? c : pos, hi = ce < mend ? ce : mend;
	struct pi_io pio;
	int cnt = 0, n, ret;

	if (!piece)
		return -ENOMEM;
	if (lo > c)
		piece->iov[cnt++] = (struct iovec){dio->ctl->zero_block, lo - c};
	n = dio_iov_slice(dio->iov, dio->iovcnt, lo - dio->pos, hi - lo, piece->iov + cnt,
			  dio->iovcnt);
	if (n < 0) {
		dio_piece_free(piece);
		return n;
	}
	cnt += n;
	if (ce > hi)
		piece->iov[cnt++] = (struct iovec){dio->ctl->zero_block, ce - hi};
	/* Metadata bytes outside the tuple are not ours to define: keep them deterministic. */
	if (piece->b.md && gfs->md_size > gfs->pi.tuple_size)
		memset(piece->b.md, 0, (size_t)piece->nlb * gfs->md_size);
	pio = gfs_data_pi_io(dio->gi, piece->lba);
	if (cnt == n && dio_write_in_place(dio, piece->iov, cnt)) {
		piece->dev_iov = piece->iov;
		piece->dev_iovcnt = cnt;
		atomic_fetch_add_explicit(&gfs->ctr.dio_in_place, 1, memory_order_relaxed);
		ret = pi_generate(&gfs->pi, piece->iov, cnt, piece->b.md, piece->nlb, &pio);
	} else {
		ret = pi_copy_generate(&gfs->pi, piece->iov, cnt, piece->b.data, piece->b.md,
				       piece->nlb, &pio);
	}
	if (ret) {
		dio_piece_free(piece);
		return ret;
	}
	return dio_piece_submit(piece, NS_OP_WRITE, dio_write_end_io);
}

static int dio_write_mapping(struct dio *dio, const struct meta_map *map, uint64_t pos,
			     uint64_t mend)
{
	uint32_t bs = dio->gi->gfs->block_size;
	size_t slot = dio->ctl->pool.slot_bytes;
	bool zero = map->type == META_MAP_UNWRITTEN || (map->flags & META_MAP_F_NEW);
	uint64_t c = zero ? gfs_round_down(pos, bs) : pos;
	uint64_t wend = zero ? gfs_round_up(mend, bs) : mend;

	if (map->type != META_MAP_MAPPED && map->type != META_MAP_UNWRITTEN) {
		gfs_err("inode %llu offset %llu: direct write found no allocated space",
			(unsigned long long)dio->gi->ino, (unsigned long long)pos);
		return -EIO;
	}
	if (zero)
		dio->flags |= DIO_ALLOCATED;
	while (c < wend && !atomic_load(&dio->error)) {
		uint64_t ce = gfs_min(wend, c + slot);
		int ret = dio_write_piece(dio, c, ce, map->addr + (c - map->offset), pos, mend);

		if (ret)
			return ret;
		c = ce;
	}
	return 0;
}

/* iomap_dio_iter for writes. Overwrites only report mappings: they hold the lock shared. */
int dio_write_iter(struct dio *dio, bool overwrite)
{
	unsigned flags = overwrite ? META_MAP_REPORT : META_MAP_WRITE | META_MAP_DIRECT;
	struct gfs_inode *gi = dio->gi;
	uint64_t pos = dio->pos, end = dio->pos + dio->len;

	while (pos < end && !atomic_load(&dio->error)) {
		struct meta_map map;
		uint64_t mend;
		int ret = meta_map_begin(gi->mi, pos, end - pos, flags, &map);

		if (ret)
			return ret;
		mend = gfs_min(map.offset + map.length, end);
		ret = dio_write_mapping(dio, &map, pos, mend);
		if (ret)
			return ret;
		pos = mend;
	}
	return 0;
}

/* Under the shared lock: all of [pos, end) MAPPED inside i_size, so nothing is allocated. */
bool dio_is_overwrite(struct gfs_inode *gi, uint64_t pos, uint64_t end)
{
	if (end > meta_size_read(gi->mi))
		return false;
	while (pos < end) {
		struct meta_map map;

		if (meta_map_begin(gi->mi, pos, end - pos, META_MAP_REPORT, &map) ||
		    map.type != META_MAP_MAPPED)
			return false;
		pos = map.offset + map.length;
	}
	return true;
}

/* Takes the inode lock for a write and writes back / invalidates the cache over the range. */
