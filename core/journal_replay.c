/* SPDX-License-Identifier: MIT */
/*
 * journal_replay.c - mkfs of the journal, and recovery at mount.
 *
 * Recovery reads both checkpoint headers and takes the newest whose whole stream checks out
 * (PI, CRC, position, sequence of every block). It then scans the log from the checkpoint's
 * log_lbn: batch after batch, each block at its place in the circular area with its own log
 * block number, until the first block that is unreadable, torn (CRC), stale (an earlier lap:
 * its number is lower) or not a batch start. Only one batch is ever in flight, so that first
 * bad batch is the torn tail of the log; nothing valid can follow it. A block with a *higher*
 * number than expected means the log was reused past this checkpoint: recovery from it would
 * miss records, so it is refused.
 *
 * Everything is checked before anything is delivered: the checkpoint stream and the log are
 * scanned once without the callback, then read again delivering records. Nothing is written.
 */
#include "core/journal_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define LOG_READAHEAD_BYTES (256u * 1024)
#define LOG_LOOKAHEAD_BYTES (1024u * 1024)

int journal_format(struct ns *ns, const struct sb *sb)
{
	struct journal *j;
	uint8_t *zero;
	int ret;

	ret = journal_alloc(ns, sb, &j);
	if (ret)
		return ret;
	zero = mdio_alloc(sb->block_size);
	if (!zero) {
		ret = -ENOMEM;
		goto out_free;
	}
	/* No earlier filesystem's blocks can pass the UUID check; the zeroing is tidiness. */
	ret = mdio_write(&j->io, sb->ckpt_start[1], 1, zero, false);
	if (!ret)
		ret = mdio_write(&j->io, sb->log_start, 1, zero, false);
	if (!ret)
		ret = jckpt_write_empty(j, 0, 1);
	if (ret)
		gfs_err("%s: writing the empty journal failed: %s", ns_get_path(ns),
			strerror(-ret));
	free(zero);
out_free:
	journal_free(j);
	return ret;
}

/* A window of log blocks read ahead, and a buffer for a batch that does not fit it. */
struct jlog_reader {
	struct journal *j;
	uint64_t limit; /* first log block number not to read */
	uint8_t *win;
	uint64_t first; /* log block number of win[0] */
	uint32_t count, cap;
	uint64_t single_until; /* a window read failed before this block: read singly */
	uint8_t *run;
	size_t run_cap;
	char why[200]; /* why the last read failed */
};

static int jlog_read_phys(struct jlog_reader *r, uint64_t lbn, uint32_t n, uint8_t *dst)
{
	struct journal *j = r->j;
	struct mdio_error err;
	uint64_t pos = lbn % j->log.blocks;
	uint32_t first = pos + n > j->log.blocks ? (uint32_t)(j->log.blocks - pos) : n;
	int ret;

	ret = mdio_read(&j->io, j->log.start + pos, first, dst, &err);
	if (!ret && first < n)
		ret = mdio_read(&j->io, j->log.start, n - first,
				dst + (size_t)first * j->block_size, &err);
	if (ret)
		mdio_describe(&err, r->why, sizeof(r->why));
	return ret;
}

/* Blocks lbn..lbn+n-1 contiguous in memory, or NULL when they cannot be read. */
static const uint8_t *jlog_get(struct jlog_reader *r, uint64_t lbn, uint32_t n)
{
	struct journal *j = r->j;
	uint64_t pos = lbn % j->log.blocks, count = r->cap;

	if (lbn >= r->first && lbn + n <= r->first + r->count)
		return r->win + (lbn - r->first) * j->block_size;
	if (n > 1) {
		if ((size_t)n * j->block_size > r->run_cap) {
			free(r->run);
			r->run_cap = (size_t)n * j->block_size;
			r->run = mdio_alloc(r->run_cap);
			if (!r->run) {
				r->run_cap = 0;
				snprintf(r->why, sizeof(r->why), "out of memory");
				return NULL;
			}
		}
		return jlog_read_phys(r, lbn, n, r->run) ? NULL : r->run;
	}
	if (count > j->log.blocks - pos)
		count = j->log.blocks - pos; /* the window never wraps */
	if (count > r->limit - lbn)
		count = r->limit - lbn;
	r->first = lbn;
	r->count = 0;
	/* A torn tail may fail the device's PI check: read that stretch one block at a time. */
	if (lbn < r->single_until)
		count = 1;
	if (!jlog_read_phys(r, lbn, (uint32_t)count, r->win)) {
		r->count = (uint32_t)count;
	} else if (count > 1) {
		r->single_until = lbn + count;
		if (!jlog_read_phys(r, lbn, 1, r->win))
			r->count = 1;
	}
	return r->count ? r->win : NULL;
}

struct jlog_filter {
	journal_replay_fn fn;
	void *arg;
	uint64_t min_seq; /* records below it are in the checkpoint already */
	uint64_t delivered;
};

static int jlog_deliver(void *arg, const struct journal_rec *rec)
{
	struct jlog_filter *f = arg;

	if (rec->seq < f->min_seq)
		return 0;
	f->delivered++;
	return f->fn(f->arg, JOURNAL_SRC_LOG, rec);
}

struct jlog_pos {
	uint64_t lbn; /* first log block after the last valid batch */
	uint64_t seq; /* next record sequence number */
};

/* Check the batch at lbn; 1 = the log ends here, 0 = valid, < 0 = refuse. */
static int jlog_check_batch(struct jlog_reader *r, uint64_t lbn, const struct jlog_pos *pos,
			    bool first, const uint8_t **run, uint32_t *n, struct jbatch_hdr *bh)
{
	struct journal *j = r->j;
	const uint8_t *blk = jlog_get(r, lbn, 1);
	uint64_t found = 0;
	int ret;

	if (!blk)
		return 1;
	ret = jfmt_check_log_block(&j->log, blk, lbn, lbn, n, &found);
	if (ret == -ESTALE && found > lbn && found % j->log.blocks == lbn % j->log.blocks) {
		snprintf(r->why, sizeof(r->why),
			 "log block %" PRIu64 " was overwritten by block %" PRIu64, lbn, found);
		return -EUCLEAN;
	}
	if (ret || *n > r->limit - lbn) {
		snprintf(r->why, sizeof(r->why), "LBA %" PRIu64 ": %s",
			 mdio_lba(&j->io, jlog_blkno(&j->log, lbn)),
			 ret ? md_block_strerror(ret) : "batch longer than the log");
		return 1;
	}
	*run = jlog_get(r, lbn, *n);
	if (!*run)
		return 1;
	ret = jfmt_decode_batch(&j->log, *run, *n, lbn, bh, NULL, NULL);
	if (!ret && (first ? bh->first_seq > pos->seq : bh->first_seq != pos->seq))
		ret = -ERANGE;
	if (ret) {
		snprintf(r->why, sizeof(r->why), "batch at LBA %" PRIu64 ": %s",
			 mdio_lba(&j->io, jlog_blkno(&j->log, lbn)),
			 ret == -ERANGE ? "sequence gap" : md_block_strerror(ret));
		return 1;
	}
	return 0;
}

/*
 * The log ended at lbn on an invalid batch. Only one batch is ever in flight, so no intact
 * batch of this lap can follow a torn one: if one does, the bad batch was complete once and
 * is damaged, and replaying past it would silently drop records. Looks a bounded distance
 * ahead: 1 MiB of log, at least 16 blocks.
 */
static int jlog_check_after_end(struct jlog_reader *r, uint64_t lbn)
{
	struct journal *j = r->j;
	uint64_t ahead = LOG_LOOKAHEAD_BYTES / j->block_size;
	uint64_t last = lbn + (ahead < 16 ? 16 : ahead);
	uint32_t n;

	if (last > r->limit - 1)
		last = r->limit - 1;
	for (uint64_t x = lbn + 1; x <= last; x++) {
		const uint8_t *b = jlog_get(r, x, 1);

		if (b && !jfmt_check_log_block(&j->log, b, x, x, &n, NULL)) {
			snprintf(r->why, sizeof(r->why),
				 "log damaged at LBA %" PRIu64 ": the later batch at LBA %" PRIu64
				 " is intact",
				 mdio_lba(&j->io, jlog_blkno(&j->log, lbn)),
				 mdio_lba(&j->io, jlog_blkno(&j->log, x)));
			return -EUCLEAN;
		}
	}
	return 1;
}

/*
 * Walk the log from start_lbn. Without f: find where it ends. With f: deliver every record
 * up to stop_lbn, which an earlier walk found (anything else now is an error).
 */
static int jlog_scan(struct journal *j, uint64_t start_lbn, uint64_t min_seq, uint64_t stop_lbn,
		     struct jlog_filter *f, struct jlog_pos *end, char *why, size_t len)
{
	struct jlog_reader r = {.j = j, .limit = start_lbn + j->log.blocks};
	struct jlog_pos pos = {start_lbn, min_seq};
	struct jbatch_hdr bh;
	const uint8_t *run;
	uint32_t n;
	int ret = 0;

	r.cap = LOG_READAHEAD_BYTES / j->block_size ? LOG_READAHEAD_BYTES / j->block_size : 1;
	r.win = mdio_alloc((size_t)r.cap * j->block_size);
	if (!r.win)
		return -ENOMEM;
	snprintf(r.why, sizeof(r.why), "end of the log area");
	while (pos.lbn < stop_lbn && pos.lbn < r.limit) {
		ret = jlog_check_batch(&r, pos.lbn, &pos, pos.lbn == start_lbn, &run, &n, &bh);
		if (ret == 1 && !f) {
			char end_why[sizeof(r.why)];

			memcpy(end_why, r.why, sizeof(end_why));
			ret = jlog_check_after_end(&r, pos.lbn);
			if (ret == 1)
				memcpy(r.why, end_why, sizeof(end_why));
		}
		if (ret)
			break;
		if (f) {
			ret = jfmt_decode_batch(&j->log, run, n, pos.lbn, &bh, jlog_deliver, f);
			if (ret)
				break;
		}
		if (bh.first_seq + bh.count > pos.seq)
			pos.seq = bh.first_seq + bh.count;
		pos.lbn += n;
	}
	snprintf(why, len, "%s", r.why);
	if (ret == 1)
		ret = 0;
	if (!ret && stop_lbn != UINT64_MAX && pos.lbn != stop_lbn) {
		snprintf(why, len, "log changed while it was replayed");
		ret = -EIO;
	}
	*end = pos;
	free(r.run);
	free(r.win);
	return ret;
}

struct jopen {
	struct journal *j;
	struct jckpt_hdr h[2];
	int hret[2];
	bool hdr_ok[2]; /* the header decoded, whatever became of its stream */
	char why[2][200];
	int chosen;
};

/* Headers of both areas; then the newest one whose stream checks out. */
static int jopen_choose(struct jopen *o)
{
	struct journal *j = o->j;
	unsigned order[2] = {0, 1};

	for (unsigned a = 0; a < 2; a++) {
		o->hret[a] = jckpt_read_header(j, a, &o->h[a], o->why[a], sizeof(o->why[a]));
		o->hdr_ok[a] = !o->hret[a];
		if (!o->hret[a] && o->h[a].seq > j->max_ckpt_seq)
			j->max_ckpt_seq = o->h[a].seq;
	}
	if (!o->hret[0] && !o->hret[1] && o->h[1].seq > o->h[0].seq) {
		order[0] = 1;
		order[1] = 0;
	}
	for (unsigned k = 0; k < 2; k++) {
		unsigned a = order[k];
		int ret;

		if (o->hret[a])
			continue;
		ret = jckpt_read_stream(j, a, &o->h[a], NULL, NULL, o->why[a], sizeof(o->why[a]));
		if (!ret) {
			o->chosen = (int)a;
			return 0;
		}
		gfs_warn("%s: checkpoint %c (sequence %" PRIu64 ") is damaged: %s",
			 ns_get_path(j->ns), jckpt_name(a), o->h[a].seq, o->why[a]);
		o->hret[a] = ret;
	}
	if (o->hret[0] == -ENODATA && o->hret[1] == -ENODATA)
		gfs_err("%s: no checkpoint found (not made by mkfs.guardfs?); refusing to mount",
			ns_get_path(j->ns));
	else
		gfs_err("%s: no usable checkpoint (A: %s; B: %s); refusing to mount",
			ns_get_path(j->ns), o->why[0], o->why[1]);
	return -EUCLEAN;
}

/* Falling back past a damaged newer checkpoint needs the log to reach beyond it. */
static int jopen_check_coverage(struct jopen *o, const struct jlog_pos *end)
{
	unsigned c = (unsigned)o->chosen, other = !c;
	const struct jckpt_hdr *newer = &o->h[other];

	if (!o->hdr_ok[other] || newer->seq <= o->h[c].seq)
		return 0;
	/* The newer header is intact but its stream is not: did the log keep up? */
	if (end->seq >= newer->next_seq && end->lbn >= newer->log_lbn)
		return 0;
	gfs_err("%s: checkpoint %c is damaged and the log no longer reaches it from checkpoint "
		"%c; refusing to mount",
		ns_get_path(o->j->ns), jckpt_name(other), jckpt_name(c));
	return -EUCLEAN;
}

struct jopen_count {
	journal_replay_fn fn;
	void *arg;
	uint64_t records;
};

static int jopen_count_rec(void *arg, enum journal_src src, const struct journal_rec *rec)
{
	struct jopen_count *c = arg;

	c->records++;
	return c->fn(c->arg, src, rec);
}

/* Recovered: writing resumes after the last valid batch. */
static void jopen_set_state(struct jopen *o, const struct jlog_pos *end)
{
	struct journal *j = o->j;
	unsigned c = (unsigned)o->chosen, other = !c;
	const struct jckpt_hdr *h = &o->h[c];
	uint64_t tail = h->log_lbn;

	j->next_lbn = end->lbn;
	j->next_seq = j->durable_seq = end->seq > h->next_seq ? end->seq : h->next_seq;
	j->area[c] = (struct jckpt_area){true, h->seq, h->log_lbn, h->next_seq};
	j->newest = c;
	/* Keep the log back to an older checkpoint, as the running journal does. */
	if (o->hdr_ok[other] && o->h[other].seq < h->seq && o->h[other].log_lbn <= h->log_lbn) {
		j->area[other] = (struct jckpt_area){true, o->h[other].seq, o->h[other].log_lbn,
						     o->h[other].next_seq};
		tail = o->h[other].log_lbn;
	}
	if (end->lbn > j->log.blocks && tail < end->lbn - j->log.blocks)
		tail = end->lbn - j->log.blocks;
	j->tail_lbn = tail;
}

int journal_open(struct ns *ns, const struct sb *sb, journal_replay_fn replay, void *arg,
		 struct journal **out)
{
	struct jopen o = {.chosen = -1};
	struct jopen_count cnt = {replay, arg, 0};
	struct jlog_filter f = {jopen_count_rec, &cnt, 0, 0};
	struct jlog_pos end;
	const struct jckpt_hdr *h;
	char why[200];
	int ret;

	ret = journal_alloc(ns, sb, &o.j);
	if (ret)
		return ret;
	ret = jopen_choose(&o);
	if (ret)
		goto out_free;
	h = &o.h[o.chosen];
	ret = jlog_scan(o.j, h->log_lbn, h->next_seq, UINT64_MAX, NULL, &end, why, sizeof(why));
	if (ret) {
		gfs_err("%s: log unusable from checkpoint %c: %s; refusing to mount",
			ns_get_path(ns), jckpt_name((unsigned)o.chosen), why);
		goto out_free;
	}
	gfs_debug("%s: log ends at block %" PRIu64 ": %s", ns_get_path(ns), end.lbn, why);
	ret = jopen_check_coverage(&o, &end);
	if (ret || !replay)
		goto out_done;
	ret = jckpt_read_stream(o.j, (unsigned)o.chosen, h, jopen_count_rec, &cnt, why,
				sizeof(why));
	o.j->stats.replayed_ckpt_records = cnt.records;
	f.min_seq = h->next_seq;
	if (!ret)
		ret = jlog_scan(o.j, h->log_lbn, h->next_seq, end.lbn, &f, &end, why, sizeof(why));
	o.j->stats.replayed_log_records = f.delivered;
	if (ret && ret != -ECANCELED)
		gfs_err("%s: replay failed: %s", ns_get_path(ns), why);
out_done:
	if (!ret) {
		jopen_set_state(&o, &end);
		*out = o.j;
		return 0;
	}
out_free:
	journal_free(o.j);
	return ret;
}
