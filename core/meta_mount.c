/* SPDX-License-Identifier: MIT */
/*
 * meta_mount.c - the life of a mounted filesystem: mkfs, mount (superblock, journal replay into
 * empty in-memory structures, orphan cleanup), unmount (checkpoint), sync, fsync and statfs.
 *
 * Mount never writes before the whole state has been read back and applied: the superblock is
 * checked (sb_read), journal_open() validates the checkpoint and the log before it hands over a
 * single record, and a record that does not fit the state refuses the mount with one line. Only
 * then are orphans (inodes with no link left by a crash while they were open) freed, which is
 * the first write.
 *
 * Free space is rebuilt, not read: the allocator starts with the whole data area free and every
 * extent record marks its blocks used.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/journal_fmt.h"
#include "core/journal_internal.h" /* journal_free, for meta_abandon only */
#include "core/log.h"
#include "core/meta_internal.h"

static int fs_alloc(struct ns *ns, const struct sb *sb, struct meta_fs **out)
{
	struct meta_fs *fs = calloc(1, sizeof(*fs));
	uint64_t log_payload;
	int ret;

	if (!fs)
		return -ENOMEM;
	fs->ns = ns;
	fs->sb = *sb;
	fs->bsize = sb->block_size;
	fs->bshift = (unsigned)__builtin_ctz(sb->block_size);
	fs->lbas_per_block = sb->block_size / sb->pi.lba_size;
	fs->inodes = RB_ROOT;
	fs->next_ino = META_ROOT_INO + 1;
	/* journal_append refuses records over half the log (batch header included). */
	log_payload = sb->log_blocks / 2 * jfmt_payload_size(sb->block_size);
	fs->rec_max = log_payload > JBATCH_HDR_SIZE + JREC_HDR_SIZE
			      ? log_payload - JBATCH_HDR_SIZE - JREC_HDR_SIZE
			      : 0;
	pthread_mutex_init(&fs->lock, NULL);
	ret = alloc_init(&fs->alloc, sb->data_start, sb->data_blocks, ALLOC_INIT_FREE);
	if (ret) {
		pthread_mutex_destroy(&fs->lock);
		free(fs);
		return ret;
	}
	*out = fs;
	return 0;
}

static void fs_free(struct meta_fs *fs)
{
	inode_free_all(fs);
	alloc_destroy(&fs->alloc);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

static int replay_rec(void *arg, enum journal_src src, const struct journal_rec *rec)
{
	struct meta_fs *fs = arg;
	enum mrec_mode mode = src == JOURNAL_SRC_CHECKPOINT ? MREC_REPLAY_CKPT : MREC_REPLAY_LOG;
	int ret;

	ret = mrec_apply(fs, rec->type, rec->payload, rec->len, mode, rec->seq);
	if (!ret)
		return 0;
	if (ret == -ENOMEM) {
		gfs_err("%s: out of memory while loading the metadata", ns_get_path(fs->ns));
		return -ENOMEM;
	}
	gfs_err("%s: %s metadata record type %#x (sequence %" PRIu64 ") is inconsistent (%s); "
		"refusing to mount",
		ns_get_path(fs->ns), src == JOURNAL_SRC_CHECKPOINT ? "checkpoint" : "log",
		rec->type, rec->seq, strerror(-ret));
	/* ECANCELED: the journal knows we already said why. */
	return -ECANCELED;
}

/* Free every orphan: an inode with no link cannot be reached once nobody holds it. */
static int free_orphans(struct meta_fs *fs)
{
	struct rb_node *n = rb_first(&fs->inodes);
	uint64_t freed = 0;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	while (n && !ret) {
		struct meta_inode *ip = rb_entry(n, struct meta_inode, node);
		struct mrec r;

		n = rb_next(n);
		if (ip->nlink || ip->ino == META_ROOT_INO)
			continue;
		mrec_init(&r, MREC_FREE_INODE);
		mrec_put64(&r, ip->ino);
		ret = mrec_commit(fs, &r);
		freed++;
	}
	pthread_mutex_unlock(&fs->lock);
	if (freed && !ret)
		gfs_info("%s: freed %" PRIu64 " orphaned inode(s)", ns_get_path(fs->ns), freed);
	return ret ? ret : meta_syncfs(fs);
}

static int check_loaded(struct meta_fs *fs)
{
	struct meta_inode *root = inode_find(fs, META_ROOT_INO);

	if (!root || !S_ISDIR(root->mode)) {
		gfs_err("%s: metadata has no root directory; refusing to mount",
			ns_get_path(fs->ns));
		return -EUCLEAN;
	}
	root->dir.parent = META_ROOT_INO;
	return 0;
}

int meta_mount_ns(struct ns *ns, const struct meta_mount_opts *opts, struct meta_fs **out)
{
	struct meta_fs *fs;
	struct sb sb;
	int ret;

	ret = sb_read(ns, &sb);
	if (ret)
		return ret;
	ret = fs_alloc(ns, &sb, &fs);
	if (ret)
		return ret;
	fs->read_only =
		(opts && opts->read_only) || (sb.feat_ro_compat & ~SB_FEAT_RO_COMPAT_SUPP) != 0;
	ret = journal_open(ns, &sb, replay_rec, fs, &fs->j);
	if (ret == -ECANCELED)
		ret = -EUCLEAN;
	if (ret)
		goto out_free;
	ret = check_loaded(fs);
	if (!ret && !fs->read_only)
		ret = free_orphans(fs);
	if (ret)
		goto out_close;
	*out = fs;
	return 0;
out_close:
	/* Nothing was appended when this fails before orphan cleanup; close commits nothing. */
	journal_close(fs->j);
out_free:
	fs_free(fs);
	return ret;
}

int meta_mount(const char *path, const struct meta_mount_opts *opts, struct meta_fs **out)
{
	struct ns_options no = {0};
	struct meta_fs *fs;
	struct stat st;
	struct ns *ns;
	struct sb sb;
	int ret;

	if (stat(path, &st)) {
		ret = -errno;
		gfs_err("%s: %s", path, strerror(-ret));
		return ret;
	}
	if (S_ISREG(st.st_mode)) {
		/* A file namespace has no header: its format is in the superblock. */
		ret = sb_probe(path, &sb);
		if (ret)
			return ret;
		no.format = &sb.pi;
	}
	if (opts) {
		no.read_only = opts->read_only;
		no.strict = opts->strict;
		no.queue_depth = opts->queue_depth;
	}
	ret = ns_open(path, &no, &ns);
	if (ret)
		return ret;
	ret = meta_mount_ns(ns, opts, &fs);
	if (ret) {
		ns_close(ns);
		return ret;
	}
	fs->own_ns = true;
	*out = fs;
	return 0;
}

int meta_unmount(struct meta_fs *fs)
{
	bool own = fs->own_ns;
	struct ns *ns = fs->ns;
	int ret = 0, ret2;

	if (!fs->read_only && !fs->error)
		ret = meta_checkpoint(fs);
	ret2 = journal_close(fs->j);
	if (!ret)
		ret = ret2;
	fs_free(fs);
	if (own)
		ns_close(ns);
	return ret;
}

void meta_abandon(struct meta_fs *fs)
{
	bool own = fs->own_ns;
	struct ns *ns = fs->ns;

	/*
	 * journal.h has no "drop" (journal_close commits): free it without any I/O, as if the
	 * machine stopped here. Records in the open batch are lost, as in a crash.
	 */
	journal_free(fs->j);
	fs_free(fs);
	if (own)
		ns_close(ns);
}

int meta_commit_seq(struct meta_fs *fs, uint64_t seq)
{
	int ret = 0;

	if (seq >= journal_durable_seq(fs->j))
		ret = journal_commit(fs->j, seq);
	else
		ret = ns_flush_sync(fs->ns);
	pthread_mutex_lock(&fs->lock);
	/* A failed log write leaves the journal read-only (it said why): so is the fs now. */
	if (ret && seq >= journal_durable_seq(fs->j) && !fs->error)
		fs->error = ret;
	if (fs->nr_unreleased)
		inode_retry_releases(fs);
	alloc_commit_frees(&fs->alloc, journal_durable_seq(fs->j) - 1);
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int meta_syncfs(struct meta_fs *fs)
{
	int ret;

	if (fs->read_only)
		return 0;
	ret = meta_maybe_checkpoint(fs);
	if (!ret)
		ret = meta_commit_seq(fs, journal_next_seq(fs->j) - 1);
	return ret;
}

int meta_fsync(struct meta_fs *fs, uint64_t ino, bool datasync)
{
	struct meta_inode *ip;
	uint64_t seq;

	pthread_mutex_lock(&fs->lock);
	ip = inode_find(fs, ino);
	seq = ip ? ip->last_seq : 0;
	pthread_mutex_unlock(&fs->lock);
	if (!ip)
		return -ENOENT;
	if (fs->read_only)
		return 0;
	/* A pure overwrite has nothing to log and still needs the device cache flushed. */
	return meta_commit_seq(fs, seq);
}

struct ns *meta_get_ns(const struct meta_fs *fs)
{
	return fs->ns;
}

const struct sb *meta_get_sb(const struct meta_fs *fs)
{
	return &fs->sb;
}

uint32_t meta_block_size(const struct meta_fs *fs)
{
	return fs->bsize;
}

bool meta_is_read_only(const struct meta_fs *fs)
{
	return fs->read_only || fs->error;
}

/* Bytes a checkpoint needs per object, roughly (docs/MEMORY.md): for files_free. */
#define CKPT_BYTES_PER_INODE  140u
#define CKPT_BYTES_PER_DIRENT 56u

int meta_statfs(struct meta_fs *fs, struct meta_statfs *st)
{
	uint64_t free_blocks, area, used, fit;

	pthread_mutex_lock(&fs->lock);
	free_blocks = alloc_free_blocks(&fs->alloc) + alloc_pending_blocks(&fs->alloc);
	for (unsigned i = 0; i < fs->nr_unreleased; i++)
		free_blocks += fs->unreleased[i].len;
	free_blocks = free_blocks > fs->delalloc_blocks ? free_blocks - fs->delalloc_blocks : 0;
	area = (fs->sb.ckpt_blocks - 1) * (uint64_t)(fs->bsize - 64);
	used = fs->nr_inodes * CKPT_BYTES_PER_INODE + fs->nr_dirents * CKPT_BYTES_PER_DIRENT;
	fit = area > used ? (area - used) / (CKPT_BYTES_PER_INODE + CKPT_BYTES_PER_DIRENT) : 0;
	*st = (struct meta_statfs){
		.block_size = fs->bsize,
		.blocks = fs->sb.data_blocks,
		.blocks_free = free_blocks,
		.blocks_avail = free_blocks,
		.files_free = fit,
		.files = fs->nr_inodes + fit,
		.name_max = META_NAME_MAX,
	};
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* The root directory: an inode record, not a create (it has no parent entry). */
static int mkfs_root(struct meta_fs *fs, const struct meta_mkfs_params *p)
{
	struct meta_inode root = {0};
	struct meta_owner owner = {p ? p->root_uid : 0, p ? p->root_gid : 0};
	struct meta_attr attr;
	struct mrec r;
	int ret;

	root.ino = META_ROOT_INO;
	root.gen = 1;
	root.mode = S_IFDIR | ((p && p->root_mode) ? (p->root_mode & 07777) : 0755);
	root.uid = owner.uid;
	root.gid = owner.gid;
	root.nlink = 2;
	root.atime = root.mtime = root.ctime = root.btime = meta_now_ns();
	root.dir.next_cookie = META_COOKIE_FIRST;
	mrec_init(&r, MREC_INODE);
	mrec_put_inode(&r, &root);
	pthread_mutex_lock(&fs->lock);
	ret = mrec_commit(fs, &r);
	pthread_mutex_unlock(&fs->lock);
	if (ret)
		return ret;
	ret = meta_mkdir(fs, META_ROOT_INO, "lost+found", 0700, &owner, &attr);
	if (!ret)
		meta_forget(fs, attr.ino, 1);
	return ret;
}

int meta_mkfs(struct ns *ns, const struct meta_mkfs_params *p, struct sb *sb_out)
{
	struct sb_params sp = p ? p->sb : (struct sb_params){0};
	struct meta_fs *fs;
	struct sb sb;
	int ret;

	ret = sb_format(ns, &sp, &sb);
	if (!ret)
		ret = journal_format(ns, &sb);
	if (ret)
		return ret;
	ret = fs_alloc(ns, &sb, &fs);
	if (ret)
		return ret;
	ret = journal_open(ns, &sb, replay_rec, fs, &fs->j);
	if (ret) {
		fs_free(fs);
		return ret == -ECANCELED ? -EUCLEAN : ret;
	}
	ret = mkfs_root(fs, p);
	if (ret) {
		journal_close(fs->j);
		fs_free(fs);
		return ret;
	}
	ret = meta_unmount(fs);
	if (!ret && sb_out)
		*sb_out = sb;
	return ret;
}
