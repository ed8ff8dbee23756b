/* SPDX-License-Identifier: MIT */
/*
 * meta_internal.h - what the files of core/meta* share: the in-memory filesystem, inode,
 * directory entry and xattr objects, and the record machinery (meta_rec.c) every mutation goes
 * through. Not for use outside core/meta*.
 *
 * The one rule: a mutation builds a record (mrec_*), applies it to memory with mrec_apply() -
 * the same code that replays it at mount - and appends it to the journal, all under fs->lock
 * (mrec_commit does all three). Replay is therefore the live code path, and state rebuilt from
 * a record stream is the state that wrote it.
 */
#ifndef GUARDFS_META_INTERNAL_H
#define GUARDFS_META_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/extent.h"
#include "core/journal.h"
#include "core/mdblock.h"
#include "core/meta.h"
#include "core/rbtree.h"
#include "core/sb.h"

/* Record types (docs/FORMAT.md, "Metadata records"). */
enum mrec_type {
	MREC_FSINFO = 0x101,	 /* checkpoint: filesystem counters */
	MREC_INODE = 0x102,	 /* whole inode attributes (checkpoint, setattr, mkfs root) */
	MREC_CREATE = 0x103,	 /* new inode + its entry in a directory */
	MREC_LINK = 0x104,	 /* another entry for an inode */
	MREC_UNLINK = 0x105,	 /* remove an entry (unlink, rmdir) */
	MREC_RENAME = 0x106,	 /* rename with flags */
	MREC_SETXATTR = 0x107,	 /* set one xattr */
	MREC_RMXATTR = 0x108,	 /* remove one xattr */
	MREC_EXTENT = 0x109,	 /* map file blocks to device blocks (UNWRITTEN or MAPPED) */
	MREC_CONVERT = 0x10A,	 /* UNWRITTEN -> MAPPED, on-disk size grows */
	MREC_PUNCH = 0x10B,	 /* make a range a hole */
	MREC_COLLAPSE = 0x10C,	 /* collapse range */
	MREC_INSERT = 0x10D,	 /* insert range */
	MREC_SETSIZE = 0x10E,	 /* truncate / extend */
	MREC_FREE_INODE = 0x10F, /* release an orphan */
	MREC_DIRENT = 0x110,	 /* checkpoint: one directory entry with its cookie */
};

#define META_FORMAT_VERSION 1u
#define META_COOKIE_FIRST   3ull /* 1 = ".", 2 = ".." */
#define META_COOKIE_MAX	    ((1ull << 63) - 1)

struct meta_xattr {
	struct rb_node node; /* in inode->xattrs, by name */
	uint32_t name_len;
	uint32_t value_len;
	char *value; /* after the name, in the same allocation */
	char name[];
};

struct meta_dirent {
	struct rb_node by_name;	  /* in dir.by_name: (hash, name) */
	struct rb_node by_cookie; /* in dir.by_cookie */
	uint64_t hash;
	uint64_t cookie;
	uint64_t ino;
	uint32_t type; /* S_IFMT of the inode */
	uint16_t name_len;
	char name[];
};

struct meta_inode {
	struct rb_node node; /* in fs->inodes, by ino */
	struct meta_fs *fs;
	uint64_t ino, gen;
	uint32_t mode, uid, gid, nlink, flags;
	uint64_t rdev;
	uint64_t size;	    /* visible size */
	uint64_t disk_size; /* logged size */
	int64_t atime, mtime, ctime, btime;
	uint64_t refs;	   /* lookups + pins (under fs->lock) */
	uint64_t last_seq; /* highest record sequence that changed this inode */
	pthread_rwlock_t rwsem;
	struct rb_root xattrs;
	uint64_t xattr_bytes;
	union {
		struct extent_map map; /* S_ISREG */
		struct {
			struct rb_root by_name, by_cookie;
			uint64_t next_cookie;
			uint64_t nr_entries;
			uint64_t parent; /* ".." */
		} dir;			 /* S_ISDIR */
		char *symlink;		 /* S_ISLNK, NUL-terminated */
	};
};

/* Device blocks whose release is waiting for memory (inode_retry_releases). */
#define META_UNRELEASED_MAX 64
struct meta_unreleased {
	uint64_t start, len, seq;
};

struct meta_fs {
	struct ns *ns;
	bool own_ns;
	struct sb sb;
	struct journal *j;
	uint32_t bsize;
	unsigned bshift;
	uint32_t lbas_per_block;
	uint64_t rec_max; /* largest record payload the log takes */

	/* Lock order: see meta.h. Protects everything below and every inode. */
	pthread_mutex_t lock;
	struct rb_root inodes;
	struct meta_inode *icache[2]; /* last found, by inode number parity (inode_find) */
	uint64_t nr_inodes, nr_dirents, nr_xattrs;
	uint64_t next_ino;
	struct alloc alloc;
	uint64_t delalloc_blocks; /* reserved, not yet allocated */
	struct meta_unreleased unreleased[META_UNRELEASED_MAX];
	unsigned nr_unreleased;
	uint64_t leaked_blocks; /* could not even wait: free again at the next mount */
	bool read_only;
	int error;	       /* sticky journal failure */
	atomic_bool ckpt_busy; /* meta_maybe_checkpoint is writing one */
};

/* Where apply runs. */
enum mrec_mode {
	MREC_LIVE,	 /* a mutation now: space already allocated, frees deferred */
	MREC_REPLAY_LOG, /* replaying the log: space marked used, frees immediate */
	MREC_REPLAY_CKPT /* loading a checkpoint: like the log, extents appended in order */
};

/* A record being built. */
struct mrec {
	uint16_t type;
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

void mrec_init(struct mrec *r, uint16_t type);
void mrec_put8(struct mrec *r, uint8_t v);
void mrec_put16(struct mrec *r, uint16_t v);
void mrec_put32(struct mrec *r, uint32_t v);
void mrec_put64(struct mrec *r, uint64_t v);
void mrec_put_bytes(struct mrec *r, const void *p, size_t len);
/* u16 length + bytes. */
void mrec_put_name(struct mrec *r, const char *name, size_t len);
void mrec_free(struct mrec *r);

/* Inode attributes as MREC_INODE and MREC_CREATE carry them. */
void mrec_put_inode(struct mrec *r, const struct meta_inode *ip);

/*
 * Apply @r (live), then append it; frees @r. Caller holds fs->lock and checked fs_writable.
 * Returns apply's error (nothing changed) or the journal's (the fs is then read-only).
 */
int mrec_commit(struct meta_fs *fs, struct mrec *r);

/* Reading a record payload: every read past the end sets bad and returns zeros. */
struct mrd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static inline const uint8_t *rd_take(struct mrd *d, size_t n)
{
	if (d->bad || d->len - d->off < n) {
		d->bad = true;
		return NULL;
	}
	d->off += n;
	return d->p + d->off - n;
}

static inline uint8_t rd8(struct mrd *d)
{
	const uint8_t *p = rd_take(d, 1);

	return p ? *p : 0;
}

static inline uint16_t rd16(struct mrd *d)
{
	const uint8_t *p = rd_take(d, 2);

	return p ? md_get_le16(p) : 0;
}

static inline uint32_t rd32(struct mrd *d)
{
	const uint8_t *p = rd_take(d, 4);

	return p ? md_get_le32(p) : 0;
}

static inline uint64_t rd64(struct mrd *d)
{
	const uint8_t *p = rd_take(d, 8);

	return p ? md_get_le64(p) : 0;
}

static inline const char *rd_name(struct mrd *d, size_t *len)
{
	*len = rd16(d);
	return (const char *)rd_take(d, *len);
}

/* The data half of apply (meta_rec_data.c): extents, sizes, orphans. */
int mrec_apply_extent(struct meta_fs *fs, struct mrd *d, enum mrec_mode mode, uint64_t seq);
int mrec_apply_convert(struct meta_fs *fs, struct mrd *d, uint64_t seq);
int mrec_apply_range(struct meta_fs *fs, struct mrd *d, uint16_t type, enum mrec_mode mode,
		     uint64_t seq);
int mrec_apply_setsize(struct meta_fs *fs, struct mrd *d, enum mrec_mode mode, uint64_t seq);
int mrec_apply_free_inode(struct meta_fs *fs, struct mrd *d, enum mrec_mode mode, uint64_t seq);

/* Decode and apply one record; -EUCLEAN (logged) for a record that does not fit the state. */
int mrec_apply(struct meta_fs *fs, uint16_t type, const void *payload, size_t len,
	       enum mrec_mode mode, uint64_t seq);

/* Encode the whole state as a record stream (u16 type, u32 len, payload ...). */
int mrec_encode_state(struct meta_fs *fs, struct mrec *out, uint64_t *nr_records);

/* -EROFS / -EIO when changes are not possible. */
static inline int fs_writable(const struct meta_fs *fs)
{
	if (fs->error)
		return -EROFS;
	return fs->read_only ? -EROFS : 0;
}

int64_t meta_now_ns(void);

/* meta_inode.c */
struct meta_inode *inode_find(struct meta_fs *fs, uint64_t ino);
struct meta_inode *inode_alloc(struct meta_fs *fs, uint64_t ino, uint32_t mode);
void inode_insert(struct meta_fs *fs, struct meta_inode *ip);
/* Free an inode that is not in the table (memory only). */
void inode_free(struct meta_inode *ip);
/* Remove from the table, release its space (deferred with @seq when live) and free it. */
void inode_destroy(struct meta_fs *fs, struct meta_inode *ip, enum mrec_mode mode, uint64_t seq);
void inode_fill_attr(const struct meta_fs *fs, const struct meta_inode *ip, struct meta_attr *out);
/* Drop references under fs->lock; frees an orphan at zero (logs MREC_FREE_INODE). */
void inode_put_locked(struct meta_fs *fs, struct meta_inode *ip, uint64_t nr);
/* Release device space or reservations of removed extents. */
void inode_release_extents(struct meta_fs *fs, const struct extent_vec *v, enum mrec_mode mode,
			   uint64_t seq);
void inode_free_all(struct meta_fs *fs);
/* Retry releases that failed for want of memory (under fs->lock). */
void inode_retry_releases(struct meta_fs *fs);

/* meta_dir.c */
uint64_t dir_hash(const char *name, size_t len);
struct meta_dirent *dir_find(struct meta_inode *dir, const char *name, size_t len);
struct meta_dirent *dirent_alloc(const char *name, size_t len, uint64_t ino, uint32_t type);
/* Link @de into @dir; cookie 0 takes the directory's next cookie. */
int dir_insert(struct meta_fs *fs, struct meta_inode *dir, struct meta_dirent *de, uint64_t cookie);
void dir_remove(struct meta_fs *fs, struct meta_inode *dir, struct meta_dirent *de);
void dir_free_entries(struct meta_inode *dir);
/* Apply halves of the namespace records (meta_rec.c decodes, these change the trees). */
int dir_apply_rename(struct meta_fs *fs, uint64_t olddir, const char *oldname, size_t oldlen,
		     uint64_t newdir, const char *newname, size_t newlen, unsigned flags,
		     int64_t time, enum mrec_mode mode, uint64_t seq);

/* meta_xattr.c */
int xattr_apply_set(struct meta_inode *ip, const char *name, size_t name_len, const void *value,
		    size_t len);
int xattr_apply_remove(struct meta_inode *ip, const char *name, size_t name_len);
void xattr_free_all(struct meta_inode *ip);

/* meta_ckpt.c: checkpoint with fs->lock held throughout (the log is full). */
int meta_checkpoint_locked(struct meta_fs *fs);

/* meta_mount.c */
/* Commit the journal up to @seq outside fs->lock, then release durable deferred frees. */
int meta_commit_seq(struct meta_fs *fs, uint64_t seq);

#endif /* GUARDFS_META_INTERNAL_H */
