// SPDX-License-Identifier: MIT
/*
 * fsck_scrub.c - fsck.guardfs --scrub: read every allocated block and verify its PI.
 *
 * What is read: the superblock copies, the log and both checkpoint areas (owner tag MD_APP_TAG;
 * blocks never written there carry the PI escape and pass, or - on a non-sparse copy of an
 * image, or a device that reads unwritten blocks as zeros - are all zeros, tags included, and
 * are skipped as never written), and every MAPPED extent of every
 * file (owner tag meta_owner_tag_ino, ref tag the LBA for types 1 and 2). UNWRITTEN extents are
 * skipped: nothing was written there, and nothing there is ever returned to a reader.
 *
 * Damage is reported per file as merged byte ranges [start, end) with the tag that failed, so
 * an admin knows what to restore: "/vm/disk.img (inode 12): bytes [4096, 8192): guard". A block
 * that failed a read and passed when read again (scrub.h) is not damage: it is reported on a
 * "transient:" line of its own, since the path to the device did not deliver it intact.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mdblock.h"
#include "tools/fsck.h"
#include "tools/scrub.h"
#include "tools/size.h"

/* Owner cookies of metadata areas: above any extent index. */
#define OWNER_MD(area) (UINT64_MAX - (area))
enum { MD_SB_PRIMARY, MD_LOG, MD_CKPT_A, MD_CKPT_B, MD_SB_BACKUP, MD_AREAS };

static const char *const md_area_names[MD_AREAS] = {
	"primary superblock", "log area",	   "checkpoint area A",
	"checkpoint area B",  "backup superblock",
};

struct fsck_damage {
	uint64_t ino;
	uint64_t start, end; /* file bytes */
	enum pi_tag tag;
};

static int fsck_scrub_ranges(const struct fsck *c, struct scrub_range **out, size_t *nr)
{
	uint64_t per = c->sb.block_size / c->sb.pi.lba_size;
	const uint64_t md_start[MD_AREAS] = {0, c->sb.log_start, c->sb.ckpt_start[0],
					     c->sb.ckpt_start[1], c->sb.backup_blkno};
	const uint64_t md_len[MD_AREAS] = {1, c->sb.log_blocks, c->sb.ckpt_blocks,
					   c->sb.ckpt_blocks, 1};
	struct scrub_range *r = malloc((c->nr_exts + MD_AREAS) * sizeof(*r));
	size_t n = 0;

	if (!r)
		return -ENOMEM;
	for (unsigned a = 0; a < MD_AREAS; a++)
		r[n++] = (struct scrub_range){.lba = md_start[a] * per,
					      .nlb = md_len[a] * per,
					      .app_tag = MD_APP_TAG,
					      .owner = OWNER_MD(a),
					      .zero_unwritten = true};
	for (size_t i = 0; i < c->nr_exts; i++) {
		const struct fsck_extent *e = &c->exts[i];

		if (e->type != META_MAP_MAPPED)
			continue;
		r[n++] = (struct scrub_range){.lba = e->dblk * per,
					      .nlb = e->len * per,
					      .app_tag = meta_owner_tag_ino(e->ino),
					      .owner = i};
	}
	*out = r;
	*nr = n;
	return 0;
}

static int fsck_cmp_damage(const void *a, const void *b)
{
	const struct fsck_damage *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static const char *fsck_tag_name(enum pi_tag tag)
{
	return tag == PI_TAG_NONE ? "read error" : pi_tag_name(tag);
}

/* Files: merge per inode and tag into byte ranges, one line each. Returns files damaged. */
static size_t fsck_report_files(const struct fsck *c, struct fsck_damage *d, size_t n)
{
	size_t files = 0;
	char name[64];

	qsort(d, n, sizeof(*d), fsck_cmp_damage);
	for (size_t i = 0; i < n; i++)
		files += i == 0 || d[i].ino != d[i - 1].ino;
	for (size_t i = 0; i < n;) {
		struct fsck_damage run = d[i];
		const struct fsck_inode *fi = fsck_find_inode(c, run.ino);

		for (i++;
		     i < n && d[i].ino == run.ino && d[i].tag == run.tag && d[i].start == run.end;
		     i++)
			run.end = d[i].end;
		if (fi && fi->path)
			printf("damage: %s (inode %" PRIu64 "): bytes [%" PRIu64 ", %" PRIu64
			       "): %s\n",
			       fi->path, run.ino, run.start, run.end, fsck_tag_name(run.tag));
		else
			printf("damage: %s: bytes [%" PRIu64 ", %" PRIu64 "): %s\n",
			       fi ? fsck_name(fi, name, sizeof(name)) : "unknown inode", run.start,
			       run.end, fsck_tag_name(run.tag));
	}
	return files;
}

/* A transient failure: where the block is, and what its failing reads found. */
static void fsck_report_transient(const struct fsck *c, const struct scrub_bad *b)
{
	uint64_t per = c->sb.block_size / c->sb.pi.lba_size;
	const struct pi_error pe = {.tag = b->tag, .expected = b->expected, .found = b->found};
	const struct fsck_extent *e;
	const struct fsck_inode *fi;
	char where[320], name[64], what[96];

	if (b->owner >= OWNER_MD(MD_AREAS - 1)) {
		snprintf(where, sizeof(where), "metadata (%s)",
			 md_area_names[UINT64_MAX - b->owner]);
	} else {
		e = &c->exts[b->owner];
		fi = fsck_find_inode(c, e->ino);
		snprintf(where, sizeof(where), "%s (inode %" PRIu64 ") offset %" PRIu64,
			 fi && fi->path ? fi->path
			 : fi		? fsck_name(fi, name, sizeof(name))
					: "unknown inode",
			 e->ino, (e->fblk * per + (b->lba - e->dblk * per)) * c->sb.pi.lba_size);
	}
	pi_error_describe(&pe, what, sizeof(what));
	printf("transient: %s: LBA %" PRIu64 ": %s on %u read(s), then passed\n", where, b->lba,
	       what, b->reads_failed);
}

static int fsck_report(const struct fsck *c, const struct scrub_result *res, size_t *files)
{
	uint64_t per = c->sb.block_size / c->sb.pi.lba_size, lba_size = c->sb.pi.lba_size;
	struct fsck_damage *d = malloc((res->nr_bad ? res->nr_bad : 1) * sizeof(*d));
	size_t n = 0;

	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < res->nr_bad; i++) {
		const struct scrub_bad *b = &res->bad[i];
		const struct fsck_extent *e;
		uint64_t fl;

		if (b->transient) {
			fsck_report_transient(c, b);
			continue;
		}
		if (b->owner >= OWNER_MD(MD_AREAS - 1)) {
			printf("damage: metadata (%s): LBA %" PRIu64 ": %s\n",
			       md_area_names[UINT64_MAX - b->owner], b->lba, fsck_tag_name(b->tag));
			continue;
		}
		e = &c->exts[b->owner];
		fl = e->fblk * per + (b->lba - e->dblk * per);
		d[n++] = (struct fsck_damage){.ino = e->ino,
					      .start = fl * lba_size,
					      .end = (fl + 1) * lba_size,
					      .tag = b->tag};
	}
	*files = fsck_report_files(c, d, n);
	free(d);
	return 0;
}

int fsck_scrub(struct fsck *c, bool *damaged)
{
	struct scrub_opts opts = {0};
	struct scrub_result res;
	struct scrub_range *r;
	struct progress prog;
	uint64_t total = 0;
	char done[32], rate[32];
	size_t nr, nr_damaged, files = 0;
	double t0;
	int ret;

	ret = fsck_scrub_ranges(c, &r, &nr);
	if (ret)
		return ret;
	for (size_t i = 0; i < nr; i++)
		total += r[i].nlb * c->sb.pi.lba_size;
	if (c->sb.pi.type == PI_TYPE_NONE || !c->sb.pi.md_size)
		printf("%s: the namespace has no PI: the scrub can only find unreadable blocks\n",
		       c->source);
	progress_init(&prog, stderr, "scrub", total);
	opts.progress = &prog;
	t0 = progress_now();
	ret = scrub_ranges(meta_get_ns(c->fs), r, nr, &opts, &res);
	progress_finish(&prog);
	free(r);
	if (ret)
		return ret;
	ret = fsck_report(c, &res, &files);
	nr_damaged = res.nr_bad - res.nr_transient;
	*damaged = nr_damaged != 0;
	printf("scrub: %s verified in %.1f s (%s/s): %s\n",
	       size_format(res.bytes_read, done, sizeof(done)), progress_now() - t0,
	       size_format((uint64_t)((double)res.bytes_read / (progress_now() - t0 + 1e-9)), rate,
			   sizeof(rate)),
	       nr_damaged ? "damage found" : "no damage found");
	if (nr_damaged)
		printf("scrub: %zu damaged block(s), %zu damaged file(s)\n", nr_damaged, files);
	if (res.nr_transient)
		printf("scrub: %zu block(s) failed a read and passed the next: the data on the "
		       "medium is intact, but the device or the path to it damaged it on the way\n",
		       res.nr_transient);
	free(res.bad);
	return ret;
}
