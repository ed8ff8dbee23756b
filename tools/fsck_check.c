// SPDX-License-Identifier: MIT
/*
 * fsck_check.c - the checks of fsck.guardfs, on a read-only mount, through the public metadata
 * API only (meta.h): what it finds is what a mount would serve.
 *
 * Invariants checked, each problem printed as one line:
 *   - both superblock copies read back with valid PI and CRC and describe the same filesystem;
 *   - every inode the metadata holds is found (inode numbers are probed in order until as many
 *     were found as statfs counts), every directory entry names an existing inode of the type
 *     the entry records, every directory is reached exactly once from the root and its ".."
 *     names the directory it was reached from;
 *   - entry names are not empty and hold no '/' or NUL; symbolic links have a target;
 *   - every directory with links is reachable: one that no entry names is reported, and walked
 *     like the tree so that nothing below it is reported again, and -y gives it an entry
 *     "#<ino>" in lost+found; directories that name each other in a cycle the root does not
 *     reach are attached the same way, one per cycle, its entry in the cycle moving to
 *     lost+found (fsck_walk_lost);
 *   - link counts: a directory has 2 + its subdirectories, anything else one per entry; an
 *     inode with links that no entry names is an orphan (linked into lost+found by -y); an
 *     inode with no links is an orphan left by a crash while it was open, which the next
 *     read-write mount frees: reported, not an error. Counts are those after the repairs
 *     (fsck_fix.value), where -y moves entries to lost+found;
 *   - extents lie inside the data area, no two overlap, the blocks they hold plus the free
 *     blocks are the data area, an inode's block count is its extents, and no MAPPED block
 *     lies wholly past EOF (truncate frees those; UNWRITTEN there is preallocation, and fine);
 *   - the metadata layer's own invariant check (meta_check).
 * The journal's checksums and PI were verified by the mount itself, which refuses otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mdblock.h"
#include "tools/fsck.h"

#define FSCK_PROBE_GAP (1ull << 24) /* inode numbers probed past the last one found */

void fsck_problem(struct fsck *c, const struct fsck_fix *fix, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", c->source);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	c->problems++;
	if (!fix) {
		c->unfixable++;
		return;
	}
	if (c->nr_fixes == c->cap_fixes) {
		size_t cap = c->cap_fixes ? c->cap_fixes * 2 : 16;
		struct fsck_fix *nf = realloc(c->fixes, cap * sizeof(*nf));

		if (!nf) {
			c->unfixable++;
			return;
		}
		c->fixes = nf;
		c->cap_fixes = cap;
	}
	c->fixes[c->nr_fixes++] = *fix;
}

const char *fsck_name(const struct fsck_inode *fi, char *buf, size_t len)
{
	snprintf(buf, len, "inode %" PRIu64 " (%s)", fi->attr.ino,
		 fi->path ? fi->path : "unreachable");
	return buf;
}

struct fsck_inode *fsck_find_inode(const struct fsck *c, uint64_t ino)
{
	size_t lo = 0, hi = c->nr_inodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->inodes[mid].attr.ino == ino)
			return &c->inodes[mid];
		if (c->inodes[mid].attr.ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* One superblock copy at @lba: PI, CRC, and the same filesystem as the one mounted. */
static void fsck_check_sb_copy(struct fsck *c, struct mdio *io, uint64_t lba, const char *which,
			       uint8_t *buf)
{
	struct fsck_fix fix = {.kind = FSCK_FIX_SB};
	struct mdio_error err;
	char why[200];
	struct sb sb;
	int ret;

	ret = mdio_read_lbas(io, lba, 1, buf, &err);
	if (ret) {
		mdio_describe(&err, why, sizeof(why));
		fsck_problem(c, &fix, "%s superblock at LBA %" PRIu64 " unreadable: %s", which, lba,
			     why);
		return;
	}
	ret = sb_decode(buf, io->lba_size, &sb);
	if (ret)
		fsck_problem(c, &fix, "%s superblock at LBA %" PRIu64 " damaged: %s", which, lba,
			     sb_strerror(ret));
	else if (memcmp(sb.uuid, c->sb.uuid, SB_UUID_LEN) || sb.nlb != c->sb.nlb ||
		 sb.data_start != c->sb.data_start || sb.block_size != c->sb.block_size)
		fsck_problem(c, &fix,
			     "%s superblock at LBA %" PRIu64 " describes another filesystem", which,
			     lba);
}

static int fsck_check_superblocks(struct fsck *c)
{
	struct ns *ns = meta_get_ns(c->fs);
	struct mdio io;
	uint8_t *buf;
	int ret;

	ret = mdio_init(&io, ns, c->sb.block_size);
	if (ret)
		return ret;
	buf = mdio_alloc(io.lba_size);
	if (!buf)
		return -ENOMEM;
	fsck_check_sb_copy(c, &io, 0, "primary", buf);
	fsck_check_sb_copy(c, &io, c->sb.backup_blkno * io.lbas_per_block, "backup", buf);
	free(buf);
	return 0;
}

/* Every inode, by probing inode numbers upward until statfs's count is reached. */
static int fsck_enumerate(struct fsck *c)
{
	struct meta_statfs st;
	uint64_t want, ino, last = 0;
	int ret;

	ret = meta_statfs(c->fs, &st);
	if (ret)
		return ret;
	want = st.files - st.files_free;
	c->inodes = calloc(want ? want : 1, sizeof(*c->inodes));
	if (!c->inodes)
		return -ENOMEM;
	for (ino = META_ROOT_INO; c->nr_inodes < want && ino - last < FSCK_PROBE_GAP; ino++) {
		struct fsck_inode *fi = &c->inodes[c->nr_inodes];

		ret = meta_getattr(c->fs, ino, &fi->attr);
		if (ret == -ENOENT)
			continue;
		if (ret)
			return ret;
		c->nr_inodes++;
		last = ino;
	}
	if (c->nr_inodes != want)
		fsck_problem(c, NULL, "the metadata counts %" PRIu64 " inodes, but only %zu exist",
			     want, c->nr_inodes);
	if (!fsck_find_inode(c, META_ROOT_INO) ||
	    !S_ISDIR(fsck_find_inode(c, META_ROOT_INO)->attr.mode))
		return -EUCLEAN; /* mount refuses this; never reached */
	return 0;
}

struct fsck_walk {
	struct fsck *c;
	struct fsck_inode *dir;
	size_t *queue; /* indices into c->inodes; a directory is queued once in all walks */
	size_t head, tail;
	int error;
};

static char *fsck_join(const char *dir, const char *name, size_t len)
{
	size_t dl = strlen(dir);
	char *p = malloc(dl + len + 2);

	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	if (dl != 1)
		p[dl++] = '/';
	memcpy(p + dl, name, len);
	p[dl + len] = 0;
	return p;
}

static void fsck_dotdot(struct fsck_walk *w, const struct meta_dirent_info *de)
{
	struct fsck_inode *dir = w->dir;
	char name[64];

	/* The walk reached dir from its parent; the root is its own parent. A lost directory's
	 * ".." names whatever held it last, until -y makes it lost+found. */
	if (!dir->lost && de->ino != dir->parent)
		fsck_problem(w->c, NULL,
			     "%s: '..' names inode %" PRIu64 ", not its parent %" PRIu64,
			     fsck_name(dir, name, sizeof(name)), de->ino, dir->parent);
}

/*
 * The entry a cycle of lost directories is broken at: -y moves it to lost+found, so it is not
 * counted here (the parent's link count drops with it). Without a lost+found nothing moves it
 * and it counts, but it is no second path to a directory the walk started from.
 */
static bool fsck_moved_entry(struct fsck_walk *w, struct fsck_inode *fi,
			     const struct meta_dirent_info *de)
{
	if (!fi->cut || fi->namer != w->dir->attr.ino || strlen(fi->namer_name) != de->namelen ||
	    memcmp(fi->namer_name, de->name, de->namelen))
		return false;
	if (w->c->lost_found) {
		w->dir->moved++;
	} else {
		fi->entries++;
		w->dir->subdirs++;
	}
	return true;
}

static int fsck_walk_entry(void *arg, const struct meta_dirent_info *de)
{
	struct fsck_walk *w = arg;
	struct fsck *c = w->c;
	struct fsck_inode *fi;
	char dname[64];

	if ((de->namelen == 1 && de->name[0] == '.') ||
	    (de->namelen == 2 && !memcmp(de->name, "..", 2))) {
		if (de->namelen == 2)
			fsck_dotdot(w, de);
		return 0;
	}
	if (!de->namelen || memchr(de->name, '/', de->namelen) || memchr(de->name, 0, de->namelen))
		fsck_problem(c, NULL, "%s: entry with an invalid name ('%.*s')",
			     fsck_name(w->dir, dname, sizeof(dname)), (int)de->namelen, de->name);
	fi = fsck_find_inode(c, de->ino);
	if (!fi) {
		fsck_problem(c, NULL,
			     "%s: entry '%.*s' names inode %" PRIu64 ", which does not exist",
			     fsck_name(w->dir, dname, sizeof(dname)), (int)de->namelen, de->name,
			     de->ino);
		return 0;
	}
	if (fsck_moved_entry(w, fi, de))
		return 0;
	fi->entries++;
	if ((fi->attr.mode & S_IFMT) != de->type)
		fsck_problem(c, NULL,
			     "%s: entry '%.*s' records type %o, inode %" PRIu64 " has type %o",
			     fsck_name(w->dir, dname, sizeof(dname)), (int)de->namelen, de->name,
			     de->type >> 12, de->ino, (fi->attr.mode & S_IFMT) >> 12);
	if (!fi->path) {
		fi->path = fsck_join(w->dir->path, de->name, de->namelen);
		if (!fi->path) {
			w->error = -ENOMEM;
			return 1;
		}
	}
	if (!S_ISDIR(fi->attr.mode))
		return 0;
	w->dir->subdirs++;
	if (fi->reached) {
		fsck_problem(c, NULL, "%s: directory reached a second time, as '%.*s' in %s",
			     fsck_name(fi, dname, sizeof(dname)), (int)de->namelen, de->name,
			     w->dir->path);
		return 0;
	}
	fi->reached = true;
	fi->parent = w->dir->attr.ino;
	w->queue[w->tail++] = (size_t)(fi - c->inodes);
	return 0;
}

/* Breadth first from @start (already marked reached): paths, entry counts, reachability. */
static int fsck_walk_from(struct fsck_walk *w, struct fsck_inode *start)
{
	int ret = 0;

	w->queue[w->tail++] = (size_t)(start - w->c->inodes);
	while (w->head < w->tail && !ret) {
		w->dir = &w->c->inodes[w->queue[w->head++]];
		ret = meta_readdir(w->c->fs, w->dir->attr.ino, 0, fsck_walk_entry, w);
		if (!ret)
			ret = w->error;
	}
	return ret;
}

/* /lost+found, when it is a directory the walk reached and entries can be added to. */
static uint64_t fsck_find_lost_found(struct fsck *c)
{
	struct fsck_inode *fi;
	struct meta_attr a;

	if (meta_lookup(c->fs, META_ROOT_INO, "lost+found", &a))
		return 0;
	meta_forget(c->fs, a.ino, 1);
	fi = fsck_find_inode(c, a.ino);
	return fi && fi->reached && S_ISDIR(a.mode) && a.nlink ? a.ino : 0;
}

/* A directory the root does not reach but that has links: lost until -y attaches it. */
static bool fsck_is_lost(const struct fsck_inode *fi)
{
	return S_ISDIR(fi->attr.mode) && !fi->reached && fi->attr.nlink;
}

/* Pre-scan of a lost directory: which inodes its entries name (never a path to them). */
static int fsck_scan_entry(void *arg, const struct meta_dirent_info *de)
{
	struct fsck_walk *w = arg;
	struct fsck_inode *fi = fsck_find_inode(w->c, de->ino);

	if (!fi)
		return 0; /* reported when the walk reads this directory */
	fi->lost_entries++;
	if (S_ISDIR(fi->attr.mode) && !fi->namer) {
		fi->namer_name = strndup(de->name, de->namelen);
		if (!fi->namer_name) {
			w->error = -ENOMEM;
			return 1;
		}
		fi->namer = w->dir->attr.ino;
	}
	return 0;
}

/*
 * Report a lost directory and walk everything below it as if it were in lost+found already
 * (where -y puts it), so the subtree is neither reported again nor linked piecemeal. @cut: it
 * is in a cycle, and the entry its namer holds moves to lost+found.
 */
static int fsck_adopt(struct fsck_walk *w, struct fsck_inode *fi, bool cut)
{
	struct fsck *c = w->c;
	struct fsck_fix fix = {
		.kind = FSCK_FIX_ORPHAN_DIR, .ino = fi->attr.ino, .value = cut ? fi->namer : 0};
	char name[64];

	if (cut)
		fsck_problem(c, &fix,
			     "%s: directory in a cycle of directories the root does not reach "
			     "(named '%s' by inode %" PRIu64 ")",
			     fsck_name(fi, name, sizeof(name)), fi->namer_name, fi->namer);
	else
		fsck_problem(c, &fix, "%s: directory with %u link(s) that no directory entry names",
			     fsck_name(fi, name, sizeof(name)), fi->attr.nlink);
	if (asprintf(&fi->path, "<unreachable #%" PRIu64 ">", fi->attr.ino) < 0) {
		fi->path = NULL;
		return -ENOMEM;
	}
	fi->reached = fi->lost = true;
	fi->cut = cut;
	fi->parent = c->lost_found;
	if (c->lost_found)
		c->adopted++;
	return fsck_walk_from(w, fi);
}

/*
 * A directory on the cycle that @fi hangs from: follow the namers until one comes back. Every
 * namer is lost too (had a walk read it, the walk would have reached the directory it names),
 * and has a namer itself, or it would have been attached as the top of its subtree.
 */
static struct fsck_inode *fsck_cycle_member(struct fsck *c, struct fsck_inode *fi, uint32_t mark)
{
	while (fi->mark != mark) {
		struct fsck_inode *up = fsck_find_inode(c, fi->namer);

		fi->mark = mark;
		if (!up)
			return fi;
		fi = up;
	}
	return fi;
}

/*
 * The directories with links that the walk from the root did not reach. Those no lost
 * directory names either are the tops of lost subtrees: each is attached. What is left hangs
 * from a cycle of directories naming each other; each cycle is attached at one member.
 */
static int fsck_walk_lost(struct fsck_walk *w)
{
	struct fsck *c = w->c;
	uint32_t mark = 0;
	int ret = 0;

	for (size_t i = 0; i < c->nr_inodes && !ret; i++) {
		if (!fsck_is_lost(&c->inodes[i]))
			continue;
		w->dir = &c->inodes[i];
		/* From cookie 2 (".."): the entries only. */
		ret = meta_readdir(c->fs, w->dir->attr.ino, 2, fsck_scan_entry, w);
		if (!ret)
			ret = w->error;
	}
	for (size_t i = 0; i < c->nr_inodes && !ret; i++)
		if (fsck_is_lost(&c->inodes[i]) && !c->inodes[i].lost_entries)
			ret = fsck_adopt(w, &c->inodes[i], false);
	for (size_t i = 0; i < c->nr_inodes && !ret; i++) {
		struct fsck_inode *fi = &c->inodes[i];

		if (fsck_is_lost(fi)) {
			fi = fsck_cycle_member(c, fi, ++mark);
			ret = fsck_adopt(w, fi, fi->namer != 0);
		}
	}
	return ret;
}

/* Breadth first from the root, then from every lost directory. */
static int fsck_walk_tree(struct fsck *c)
{
	struct fsck_walk w = {.c = c};
	struct fsck_inode *root = fsck_find_inode(c, META_ROOT_INO);
	int ret;

	w.queue = malloc(c->nr_inodes * sizeof(*w.queue));
	root->path = strdup("/");
	if (!w.queue || !root->path) {
		free(w.queue);
		return -ENOMEM;
	}
	root->reached = true;
	root->parent = META_ROOT_INO;
	ret = fsck_walk_from(&w, root);
	if (!ret) {
		c->lost_found = fsck_find_lost_found(c);
		ret = fsck_walk_lost(&w);
	}
	free(w.queue);
	return ret;
}

/* Link counts and reachability, once the walk has counted the entries. */
static void fsck_check_links(struct fsck *c)
{
	char name[64];

	for (size_t i = 0; i < c->nr_inodes; i++) {
		struct fsck_inode *fi = &c->inodes[i];
		bool dir = S_ISDIR(fi->attr.mode);
		uint64_t want = dir ? 2u + fi->subdirs + fi->moved : fi->entries;
		uint64_t after =
			want - fi->moved + (fi->attr.ino == c->lost_found ? c->adopted : 0);
		struct fsck_fix fix = {.kind = FSCK_FIX_NLINK, .ino = fi->attr.ino, .value = after};

		if (fi->attr.nlink == 0 && fi->entries == 0) {
			c->pending_orphans++;
			continue;
		}
		/* Directories with links were all reached: from the root or as lost ones. */
		if (!fi->reached && fi->entries == 0 && !dir) {
			struct fsck_fix orphan = {.kind = FSCK_FIX_ORPHAN, .ino = fi->attr.ino};

			fsck_problem(c, &orphan,
				     "%s: inode with %u link(s) that no directory entry names",
				     fsck_name(fi, name, sizeof(name)), fi->attr.nlink);
			continue;
		}
		if (S_ISLNK(fi->attr.mode) && fi->attr.size == 0)
			fsck_problem(c, NULL, "%s: symbolic link with an empty target",
				     fsck_name(fi, name, sizeof(name)));
		/* Now, before the moves of -y; the fix sets the count they leave. */
		if (fi->attr.nlink != want)
			fsck_problem(c, &fix, "%s: link count is %u, should be %" PRIu64,
				     fsck_name(fi, name, sizeof(name)), fi->attr.nlink, want);
	}
}

static int fsck_add_extent(struct fsck *c, const struct fsck_extent *e)
{
	if (c->nr_exts == c->cap_exts) {
		size_t cap = c->cap_exts ? c->cap_exts * 2 : 1024;
		struct fsck_extent *ne = realloc(c->exts, cap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		c->exts = ne;
		c->cap_exts = cap;
	}
	c->exts[c->nr_exts++] = *e;
	return 0;
}

/* Every extent of one regular file, through META_MAP_REPORT mappings. */
static int fsck_file_extents(struct fsck *c, struct fsck_inode *fi)
{
	uint32_t bsize = c->sb.block_size;
	struct meta_inode *ip;
	uint64_t pos = 0, blocks = 0, eof_blk = (fi->attr.size + bsize - 1) / bsize;
	bool past = false;
	char name[64];
	int ret;

	ret = meta_inode_get(c->fs, fi->attr.ino, &ip);
	if (ret)
		return ret;
	while (pos < (uint64_t)INT64_MAX) {
		struct meta_map m;
		struct fsck_extent e;

		ret = meta_map_begin(ip, pos, (uint64_t)INT64_MAX - pos, META_MAP_REPORT, &m);
		if (ret || m.length == 0)
			break;
		pos = m.offset + m.length;
		if (m.type == META_MAP_HOLE)
			continue;
		if (m.type == META_MAP_DELALLOC) {
			fsck_problem(c, NULL,
				     "%s: delayed allocation at file offset %" PRIu64
				     " on a fresh mount",
				     fsck_name(fi, name, sizeof(name)), m.offset);
			continue;
		}
		e = (struct fsck_extent){.dblk = m.addr / bsize,
					 .len = m.length / bsize,
					 .fblk = m.offset / bsize,
					 .ino = fi->attr.ino,
					 .type = m.type};
		blocks += e.len;
		if (!past && e.type == META_MAP_MAPPED && e.fblk + e.len > eof_blk) {
			struct fsck_fix fix = {.kind = FSCK_FIX_PAST_EOF,
					       .ino = fi->attr.ino,
					       .value = e.fblk > eof_blk ? e.fblk : eof_blk};

			past = true;
			fsck_problem(c, &fix,
				     "%s: written blocks at file offset %" PRIu64
				     ", past its size %" PRIu64,
				     fsck_name(fi, name, sizeof(name)), fix.value * bsize,
				     fi->attr.size);
		}
		ret = fsck_add_extent(c, &e);
		if (ret)
			break;
	}
	/* Last: putting an unlinked inode on a read-only mount drops it from memory. */
	meta_inode_put(ip);
	if (!ret && blocks * (bsize / 512) != fi->attr.blocks)
		fsck_problem(c, NULL,
			     "%s: counts %" PRIu64 " 512-byte blocks, its extents hold %" PRIu64,
			     fsck_name(fi, name, sizeof(name)), fi->attr.blocks,
			     blocks * (bsize / 512));
	return ret;
}

static int fsck_cmp_extent(const void *a, const void *b)
{
	const struct fsck_extent *x = a, *y = b;

	return x->dblk < y->dblk ? -1 : x->dblk > y->dblk;
}

/* Bounds, overlaps and free space, over all extents sorted by device block. */
static int fsck_check_extents(struct fsck *c)
{
	uint64_t start = c->sb.data_start, end = c->sb.data_start + c->sb.data_blocks, used = 0;
	struct meta_statfs st;
	int ret;

	if (c->nr_exts) /* qsort(NULL, 0) is undefined */
		qsort(c->exts, c->nr_exts, sizeof(*c->exts), fsck_cmp_extent);
	for (size_t i = 0; i < c->nr_exts; i++) {
		const struct fsck_extent *e = &c->exts[i];

		used += e->len;
		if (e->dblk < start || e->dblk + e->len > end)
			fsck_problem(c, NULL,
				     "inode %" PRIu64 ": extent at block %" PRIu64 " (+%" PRIu64
				     ") lies outside the data area [%" PRIu64 ", %" PRIu64 ")",
				     e->ino, e->dblk, e->len, start, end);
		if (i && c->exts[i - 1].dblk + c->exts[i - 1].len > e->dblk)
			fsck_problem(c, NULL,
				     "inode %" PRIu64 " and inode %" PRIu64
				     " both hold device block %" PRIu64,
				     c->exts[i - 1].ino, e->ino, e->dblk);
	}
	ret = meta_statfs(c->fs, &st);
	if (ret)
		return ret;
	if (st.blocks != c->sb.data_blocks)
		fsck_problem(c, NULL,
			     "statfs counts %" PRIu64 " data blocks, the superblock %" PRIu64,
			     st.blocks, c->sb.data_blocks);
	else if (used > st.blocks || st.blocks_free != st.blocks - used)
		fsck_problem(c, NULL,
			     "free space is %" PRIu64 " blocks, but %" PRIu64 " of %" PRIu64
			     " are not referenced",
			     st.blocks_free, used > st.blocks ? 0 : st.blocks - used, st.blocks);
	return 0;
}

int fsck_inventory(struct fsck *c)
{
	bool meta_bad;
	int ret;

	c->sb = *meta_get_sb(c->fs);
	ret = fsck_check_superblocks(c);
	if (!ret)
		ret = fsck_enumerate(c);
	if (!ret)
		ret = fsck_walk_tree(c);
	if (ret)
		return ret;
	fsck_check_links(c);
	/* Before the extents: walking them may drop unlinked inodes from memory. */
	meta_bad = meta_check(c->fs) != 0;
	for (size_t i = 0; i < c->nr_inodes && !ret; i++)
		if (S_ISREG(c->inodes[i].attr.mode))
			ret = fsck_file_extents(c, &c->inodes[i]);
	if (!ret)
		ret = fsck_check_extents(c);
	/* The layer's own check only counts when it saw something the walk did not. */
	if (!ret && meta_bad && !c->problems)
		fsck_problem(c, NULL, "the metadata layer's invariant check failed (see above)");
	return ret;
}

void fsck_inventory_free(struct fsck *c)
{
	for (size_t i = 0; i < c->nr_inodes; i++) {
		free(c->inodes[i].path);
		free(c->inodes[i].namer_name);
	}
	free(c->inodes);
	free(c->exts);
	free(c->fixes);
	c->inodes = NULL;
	c->exts = NULL;
	c->fixes = NULL;
	c->nr_inodes = c->nr_exts = c->nr_fixes = 0;
	c->cap_exts = c->cap_fixes = 0;
	c->lost_found = 0;
	c->adopted = 0;
}
