// SPDX-License-Identifier: MIT
/*
 * scrub.c - sequential-speed PI verification of LBA ranges (scrub.h).
 *
 * Pipeline: a ring of queue_depth slots, each with one request's buffers. Slots are filled in
 * LBA order and completed in the same order (FIFO): the main thread waits for the oldest, then
 * verifies it while the younger ones are still being read, so verification overlaps the I/O
 * and the device always has queue_depth - 1 reads to work on. Ranges that touch are read by one
 * request (many small files laid out back to back cost one read, not one each), up to
 * SCRUB_SEG_MAX ranges per request.
 *
 * The completion callback only marks its slot done under the lock and signals; nothing of the
 * slot is touched after that by the completion side, so the main thread may reuse it at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tools/scrub.h"

#define SCRUB_SEG_MAX	  256
#define SCRUB_DEFAULT_REQ (1u << 20)
#define SCRUB_DEFAULT_QD  8u

struct scrub_seg {
	const struct scrub_range *range;
	uint64_t lba;
	uint32_t off; /* LBAs into the request */
	uint32_t nlb;
};

struct scrub;

struct scrub_slot {
	struct ns_request rq;
	struct iovec iov;
	void *data, *md;
	struct scrub_seg segs[SCRUB_SEG_MAX];
	unsigned nr_segs;
	bool done; /* under scrub->lock */
	struct scrub *s;
};

struct scrub {
	struct ns *ns;
	const struct ns_format *fmt;
	struct pi_ctx pi;
	uint8_t checks; /* 0: nothing to verify */
	const struct scrub_opts *opts;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct scrub_slot *slots;
	unsigned qd;	   /* reads in flight */
	unsigned nr_slots; /* qd + 1: one more, verified while qd reads stay in flight */
	uint32_t max_nlb;
	const struct scrub_range *ranges;
	size_t nr, cur;	  /* cursor: range index ... */
	uint64_t cur_off; /* ... and LBAs already taken from it */
	uint64_t bytes_done;
	struct scrub_result *res;
	size_t bad_cap;
	void *reread_data, *reread_md; /* one block, for scrub_reread */
};

static int scrub_cmp_range(const void *a, const void *b)
{
	const struct scrub_range *x = a, *y = b;

	return x->lba < y->lba ? -1 : x->lba > y->lba;
}

static void scrub_end_io(struct ns_request *rq)
{
	struct scrub_slot *slot = rq->private;
	struct scrub *s = slot->s;

	pthread_mutex_lock(&s->lock);
	slot->done = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int scrub_add_bad(struct scrub *s, const struct scrub_bad *bad)
{
	struct scrub_result *res = s->res;

	if (res->nr_bad == s->bad_cap) {
		size_t cap = s->bad_cap ? s->bad_cap * 2 : 64;
		struct scrub_bad *nb = realloc(res->bad, cap * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		res->bad = nb;
		s->bad_cap = cap;
	}
	res->bad[res->nr_bad++] = *bad;
	return 0;
}

/* Fill @slot from the cursor: one range piece, then the ranges that touch it. */
static void scrub_fill(struct scrub *s, struct scrub_slot *slot)
{
	uint64_t slba = s->ranges[s->cur].lba + s->cur_off;
	uint32_t nlb = 0;

	slot->nr_segs = 0;
	while (s->cur < s->nr && slot->nr_segs < SCRUB_SEG_MAX && nlb < s->max_nlb) {
		const struct scrub_range *r = &s->ranges[s->cur];
		uint64_t lba = r->lba + s->cur_off, take = r->nlb - s->cur_off;

		if (lba != slba + nlb)
			break;
		if (take > s->max_nlb - nlb)
			take = s->max_nlb - nlb;
		slot->segs[slot->nr_segs++] = (struct scrub_seg){
			.range = r, .lba = lba, .off = nlb, .nlb = (uint32_t)take};
		nlb += (uint32_t)take;
		s->cur_off += take;
		if (s->cur_off == r->nlb) {
			s->cur++;
			s->cur_off = 0;
		}
	}
	slot->iov = (struct iovec){.iov_base = slot->data,
				   .iov_len = (size_t)nlb * s->fmt->pi.lba_size};
	slot->rq = (struct ns_request){
		.op = NS_OP_READ,
		.slba = slba,
		.nlb = nlb,
		.iov = &slot->iov,
		.iovcnt = 1,
		.md = s->fmt->pi.md_size ? slot->md : NULL,
		.pi = {.ref_tag = slba}, /* checks 0: we verify, and find every bad block */
		.end_io = scrub_end_io,
		.private = slot,
	};
	slot->done = false;
}

static bool scrub_is_zero(const uint8_t *p, size_t len)
{
	return len == 0 || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

/*
 * A block never written in a metadata area of a namespace that does not return the PI escape
 * for it (a non-sparse copy of an image, a device that reads back zeros): zero data, zero tags.
 */
static bool scrub_block_unwritten(struct scrub *s, struct scrub_slot *slot, uint32_t idx)
{
	uint32_t lba_size = s->fmt->pi.lba_size, md_size = s->fmt->pi.md_size;

	return scrub_is_zero((uint8_t *)slot->md + (size_t)idx * md_size, md_size) &&
	       scrub_is_zero((uint8_t *)slot->data + (size_t)idx * lba_size, lba_size);
}

/*
 * Read a block that failed its PI check again, alone, until a read passes (the damage was on
 * the way: transient) or it has failed PI_READ_TRIES reads (damaged on the medium). The
 * device is not asked to check, as for the scrub's own reads.
 */
static void scrub_reread(struct scrub *s, const struct scrub_range *range, struct scrub_bad *bad)
{
	struct iovec iov = {s->reread_data, s->fmt->pi.lba_size};
	struct ns_pi_params p = {.ref_tag = bad->lba};
	struct pi_io io = {.lba = bad->lba,
			   .ref_tag = bad->lba,
			   .app_tag = range->app_tag,
			   .app_mask = 0xFFFF,
			   .checks = s->checks};
	struct pi_error err;

	for (bad->reads_failed = 1; bad->reads_failed < PI_READ_TRIES; bad->reads_failed++) {
		if (!ns_read_sync(s->ns, bad->lba, 1, s->reread_data, s->reread_md, &p) &&
		    !pi_verify(&s->pi, &iov, 1, s->reread_md, 1, &io, &err)) {
			bad->transient = true;
			s->res->nr_transient++;
			return;
		}
	}
}

static int scrub_verify_seg(struct scrub *s, struct scrub_slot *slot, const struct scrub_seg *g)
{
	uint32_t lba_size = s->fmt->pi.lba_size, md_size = s->fmt->pi.md_size, done = 0;
	struct pi_error err;
	int ret;

	while (done < g->nlb) {
		struct iovec iov = {
			.iov_base = (uint8_t *)slot->data + (size_t)(g->off + done) * lba_size,
			.iov_len = (size_t)(g->nlb - done) * lba_size,
		};
		struct pi_io io = {
			.lba = g->lba + done,
			.ref_tag = g->lba + done,
			.app_tag = g->range->app_tag,
			.app_mask = 0xFFFF,
			.checks = s->checks,
		};
		struct scrub_bad bad;

		ret = pi_verify(&s->pi, &iov, 1,
				(uint8_t *)slot->md + (size_t)(g->off + done) * md_size,
				g->nlb - done, &io, &err);
		if (!ret)
			break;
		if (ret != -EIO)
			return ret;
		if (g->range->zero_unwritten &&
		    scrub_block_unwritten(s, slot, g->off + done + err.block)) {
			s->res->blocks_zero++;
			done += err.block + 1;
			continue;
		}
		bad = (struct scrub_bad){.owner = g->range->owner,
					 .lba = err.lba,
					 .tag = err.tag,
					 .expected = err.expected,
					 .found = err.found};
		scrub_reread(s, g->range, &bad);
		ret = scrub_add_bad(s, &bad);
		if (ret)
			return ret;
		done += err.block + 1;
	}
	return 0;
}

/* A completed slot: record a failed read block by block, or verify each range. */
static int scrub_complete(struct scrub *s, struct scrub_slot *slot)
{
	int ret = 0;

	s->res->requests++;
	s->res->bytes_read += (uint64_t)slot->rq.nlb * s->fmt->pi.lba_size;
	s->res->blocks_checked += slot->rq.nlb;
	for (unsigned i = 0; i < slot->nr_segs && !ret; i++) {
		const struct scrub_seg *g = &slot->segs[i];

		if (slot->rq.error) {
			for (uint32_t b = 0; b < g->nlb && !ret; b++) {
				struct scrub_bad bad = {.owner = g->range->owner,
							.lba = g->lba + b,
							.tag = PI_TAG_NONE,
							.error = -slot->rq.error};

				ret = scrub_add_bad(s, &bad);
			}
		} else if (s->checks) {
			ret = scrub_verify_seg(s, slot, g);
		}
	}
	s->bytes_done += (uint64_t)slot->rq.nlb * s->fmt->pi.lba_size;
	if (s->opts->progress)
		progress_update(s->opts->progress, s->bytes_done);
	return ret;
}

static void scrub_wait(struct scrub *s, struct scrub_slot *slot)
{
	pthread_mutex_lock(&s->lock);
	while (!slot->done)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

static int scrub_setup(struct scrub *s, struct ns *ns, const struct scrub_opts *opts)
{
	uint32_t req = opts->request_bytes ? opts->request_bytes : SCRUB_DEFAULT_REQ;

	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->ns = ns;
	s->fmt = ns_get_format(ns);
	s->opts = opts;
	if (s->fmt->max_transfer && req > s->fmt->max_transfer)
		req = s->fmt->max_transfer;
	s->max_nlb = req / s->fmt->pi.lba_size;
	if (!s->max_nlb)
		s->max_nlb = 1;
	if (pi_ctx_init(&s->pi, &s->fmt->pi))
		return -EINVAL;
	if (!opts->no_verify && s->fmt->pi.type != PI_TYPE_NONE && s->fmt->pi.md_size)
		s->checks =
			s->fmt->pi.type == PI_TYPE_3 ? PI_CHECK_GUARD | PI_CHECK_APP : PI_CHECK_ALL;
	if (posix_memalign(&s->reread_data, 4096, s->fmt->pi.lba_size) ||
	    (s->fmt->pi.md_size && posix_memalign(&s->reread_md, 64, s->fmt->pi.md_size)))
		return -ENOMEM;
	s->qd = opts->queue_depth ? opts->queue_depth : SCRUB_DEFAULT_QD;
	s->nr_slots = s->qd + 1;
	s->slots = calloc(s->nr_slots, sizeof(*s->slots));
	if (!s->slots)
		return -ENOMEM;
	for (unsigned i = 0; i < s->nr_slots; i++) {
		struct scrub_slot *slot = &s->slots[i];

		slot->s = s;
		if (posix_memalign(&slot->data, 4096, (size_t)s->max_nlb * s->fmt->pi.lba_size))
			return -ENOMEM;
		if (s->fmt->pi.md_size &&
		    posix_memalign(&slot->md, 64, (size_t)s->max_nlb * s->fmt->pi.md_size))
			return -ENOMEM;
	}
	return 0;
}

static void scrub_teardown(struct scrub *s)
{
	for (unsigned i = 0; s->slots && i < s->nr_slots; i++) {
		free(s->slots[i].data);
		free(s->slots[i].md);
	}
	free(s->slots);
	free(s->reread_data);
	free(s->reread_md);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

/*
 * Submit reads into free slots until qd are in flight. Slots are used in ring order from
 * @head; @busy counts those in use (in flight, or completed and waiting to be verified).
 */
static void scrub_top_up(struct scrub *s, unsigned head, unsigned *inflight, unsigned *busy,
			 int *err)
{
	while (!*err && *inflight < s->qd && *busy < s->nr_slots && s->cur < s->nr) {
		struct scrub_slot *slot = &s->slots[(head + *busy) % s->nr_slots];

		scrub_fill(s, slot);
		(*inflight)++;
		(*busy)++;
		if (ns_submit(s->ns, &slot->rq)) {
			slot->rq.error = -EIO;
			slot->done = true;
		}
	}
}

int scrub_ranges(struct ns *ns, struct scrub_range *ranges, size_t nr,
		 const struct scrub_opts *opts, struct scrub_result *res)
{
	struct scrub s = {.ranges = ranges, .nr = nr, .res = res};
	unsigned head = 0, inflight = 0, busy = 0;
	int ret, err = 0;

	*res = (struct scrub_result){0};
	if (nr)
		qsort(ranges, nr, sizeof(*ranges), scrub_cmp_range);
	ret = scrub_setup(&s, ns, opts);
	if (ret)
		goto out;
	for (;;) {
		scrub_top_up(&s, head, &inflight, &busy, &err);
		if (!busy)
			break;
		scrub_wait(&s, &s.slots[head]);
		inflight--;
		/* Refill before verifying: the device keeps qd reads while this one is checked. */
		scrub_top_up(&s, head, &inflight, &busy, &err);
		if (!err)
			err = scrub_complete(&s, &s.slots[head]);
		head = (head + 1) % s.nr_slots;
		busy--;
	}
	ret = err;
out:
	scrub_teardown(&s);
	if (ret) {
		free(res->bad);
		res->bad = NULL;
		res->nr_bad = 0;
	}
	return ret;
}
