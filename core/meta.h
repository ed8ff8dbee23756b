/* SPDX-License-Identifier: MIT */
/*
 * meta.h - the guardfs metadata layer: inodes, directories, xattrs, extent mappings, and their
 * durability through the journal (DESIGN.md 4.3). The C API the FUSE front end and the I/O
 * layers (cache, writeback, direct I/O) call; it knows nothing of FUSE.
 *
 * All metadata lives in memory while mounted. Every change is applied in memory and appended to
 * the journal as one typed record (docs/FORMAT.md, "Metadata records"); the same apply code runs
 * at mount, when journal_open() replays the newest checkpoint and the log after it, so replaying
 * a record stream rebuilds exactly the state that produced it. A checkpoint is the whole state
 * written as records. Free space is not logged: it is what no extent references, rebuilt from
 * the extent records at mount.
 *
 * Handles: namespace calls take and return inode numbers (FUSE's nodeid). Calls that hand an
 * inode to the caller (lookup, create, mknod, mkdir, symlink, link) take one reference on it,
 * as FUSE's lookup count does; meta_forget() drops references. The I/O layers work on a
 * struct meta_inode pinned with meta_inode_get()/meta_inode_put(). An inode whose link count
 * is 0 (unlinked while open: an orphan) keeps its data until the last reference is dropped;
 * orphans left by a crash are freed at mount.
 *
 * Ordering (DESIGN.md 4.3), as iomap and XFS do it:
 *   - a buffered write reserves DELALLOC (meta_map_begin with META_MAP_WRITE); writeback turns
 *     it into allocated UNWRITTEN space (meta_alloc_delalloc) before the data I/O, and
 *     converts it to MAPPED, growing the on-disk size, only after the I/O completed
 *     (meta_convert_unwritten);
 *   - a direct write over a hole gets UNWRITTEN space at once (META_MAP_WRITE|META_MAP_DIRECT),
 *     converted the same way after completion;
 *   - space freed by a record (punch, truncate, unlink of the last link) is not reused before
 *     that record is durable (alloc_free_deferred / alloc_commit_frees);
 *   - meta_fsync = journal commit of the records the inode depends on (the commit flushes the
 *     device before and after the batch) or, with nothing to commit, a device flush: the caller
 *     has written back the file's data before calling it.
 *
 * Two sizes per regular file, like the kernel's i_size and XFS's di_size: the visible size
 * (getattr, grows with buffered writes through meta_size_extend without any record) and the
 * on-disk size (logged; grows only through meta_convert_unwritten after data I/O, or through
 * setattr/fallocate). A crash shows the on-disk size.
 *
 * Locks (lock order, outer first):
 *   1. struct meta_inode's rwlock (meta_inode_lock/_shared): owned by the I/O layers, which
 *      take it shared for reads and exclusive for writes, truncate and fallocate; meta never
 *      takes it itself, so every meta call may be made with it held;
 *   2. the filesystem-wide metadata mutex, internal to meta: taken by every call below for the
 *      in-memory update and the journal append only; never held across a commit or a data I/O
 *      (a checkpoint copies the state under it, then writes with it released). It also
 *      protects every inode's extent map, attributes, xattrs and directory index. Two
 *      exceptions do I/O under it, both rare: an append that finds the journal's open batch
 *      at a quarter of the log writes that batch first, and an append that finds the log full
 *      writes a checkpoint of the state before going on.
 *   3. the journal's internal locks (its checkpoint lock, then its state lock).
 * Calls that may checkpoint (namespace changes, setattr, setxattr, the allocating mapping
 * calls) do so before taking lock 2, so they must not be made with lock 2 held - it is never
 * visible outside meta anyway.
 *
 * Errors: 0 or a negative errno; nothing changes when a call fails with -ENOMEM or a POSIX
 * error. When the journal can not take a record (a log write failed, or it is out of memory)
 * the change is already in memory: the filesystem turns read-only (-EIO for that call, -EROFS
 * for later changes) with one log line, and the next mount shows the durable state.
 */
#ifndef GUARDFS_META_H
#define GUARDFS_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* kept: users include it through here */

#include "core/ns.h"
#include "core/sb.h"

struct meta_fs;
struct meta_inode;

#define META_ROOT_INO	    1ull
#define META_NAME_MAX	    255u   /* bytes of one directory entry name */
#define META_SYMLINK_MAX    4095u  /* bytes of a symlink target */
#define META_XATTR_NAME_MAX 255u   /* bytes of an xattr name */
#define META_XATTR_SIZE_MAX 65536u /* bytes of an xattr value */
#define META_LINK_MAX	    65000u /* hard links per inode (EMLINK above) */

/* ------------------------------------------------------------------ mkfs, mount, unmount */

struct meta_mkfs_params {
	struct sb_params sb; /* block size, label, log/checkpoint sizes, uuid */
	uint32_t root_uid, root_gid;
	uint32_t root_mode; /* permission bits of / (0: 0755) */
};

/*
 * Format an open namespace: superblock (primary + backup), journal (empty checkpoint), then the
 * root directory and lost+found, made durable by a checkpoint. *sb_out (may be NULL) receives
 * the superblock written.
 */
int meta_mkfs(struct ns *ns, const struct meta_mkfs_params *params, struct sb *sb_out);

struct meta_mount_opts {
	bool read_only;	      /* never write: no orphan cleanup, changes fail with -EROFS */
	bool strict;	      /* file backend: check PI like a controller (ns_options.strict) */
	unsigned queue_depth; /* 0: namespace default */
};

/*
 * Mount the namespace at @path (a regular file: its format is probed from the superblock with
 * sb_probe(); an NVMe device: format from Identify, then sb_read()). Replays the journal into
 * memory, then frees orphans. A source that is not guardfs, damaged or of another format is
 * refused with one log line and nothing is written to it. @opts may be NULL.
 */
int meta_mount(const char *path, const struct meta_mount_opts *opts, struct meta_fs **out);

/* The same on a namespace the caller opened (and closes after meta_unmount). */
int meta_mount_ns(struct ns *ns, const struct meta_mount_opts *opts, struct meta_fs **out);

/*
 * Checkpoint, close the journal, free everything (and close the namespace when meta_mount
 * opened it). References still held are simply dropped: an unlinked inode still open stays on
 * disk (nlink 0) and the next mount frees it. Returns the first error of the final commit.
 */
int meta_unmount(struct meta_fs *fs);

/*
 * Test hook: throw the in-memory state away without committing or checkpointing anything
 * more, as a crash would (records still in the open batch are lost; what was committed stays).
 */
void meta_abandon(struct meta_fs *fs);

/* Write the whole state as a checkpoint now (normally done when the log asks). */
int meta_checkpoint(struct meta_fs *fs);

/* Checkpoint when journal_should_checkpoint() says so; cheap otherwise. */
int meta_maybe_checkpoint(struct meta_fs *fs);

/* Commit every record, flush the device, release deferred frees (syncfs). */
int meta_syncfs(struct meta_fs *fs);

struct ns *meta_get_ns(const struct meta_fs *fs);
const struct sb *meta_get_sb(const struct meta_fs *fs);
uint32_t meta_block_size(const struct meta_fs *fs);
bool meta_is_read_only(const struct meta_fs *fs);

struct meta_statfs {
	uint32_t block_size;
	uint64_t blocks;       /* data area blocks */
	uint64_t blocks_free;  /* free, minus delalloc reservations; deferred frees count free */
	uint64_t blocks_avail; /* = blocks_free */
	uint64_t files;	       /* inodes in use + files_free */
	uint64_t files_free;   /* inodes that still fit the checkpoint area and the data area */
	uint32_t name_max;
};

int meta_statfs(struct meta_fs *fs, struct meta_statfs *st);

/* ------------------------------------------------------------------ attributes */

struct meta_attr {
	uint64_t ino;
	uint64_t gen;  /* generation: inode numbers are never reused, gen disambiguates exports */
	uint32_t mode; /* S_IFMT type bits | permission bits */
	uint32_t uid, gid;
	uint32_t nlink;
	uint32_t flags;	 /* opaque inode flags (FS_IOC_GETFLAGS style), stored as given */
	uint64_t size;	 /* visible size; for symlinks the target length */
	uint64_t blocks; /* 512-byte units allocated or reserved */
	uint64_t rdev;
	int64_t atime_ns, mtime_ns, ctime_ns, btime_ns; /* since the epoch */
	uint32_t blksize;
};

/* meta_setattr valid bits. */
#define META_SET_MODE  (1u << 0)
#define META_SET_UID   (1u << 1)
#define META_SET_GID   (1u << 2)
#define META_SET_SIZE  (1u << 3) /* truncate: shrinking frees whole blocks past the new EOF */
#define META_SET_ATIME (1u << 4)
#define META_SET_MTIME (1u << 5)
#define META_SET_CTIME (1u << 6) /* explicit ctime; without it any change sets ctime = now */
#define META_SET_FLAGS (1u << 7)

struct meta_setattr {
	uint32_t valid;
	uint32_t mode; /* permission bits only (the type never changes) */
	uint32_t uid, gid;
	uint64_t size;
	int64_t atime_ns, mtime_ns, ctime_ns;
	uint32_t flags;
};

int meta_getattr(struct meta_fs *fs, uint64_t ino, struct meta_attr *out);
/* -EISDIR/-EINVAL for a size change on a non-regular file, -EFBIG past 2^63-1. */
int meta_setattr(struct meta_fs *fs, uint64_t ino, const struct meta_setattr *sa,
		 struct meta_attr *out);

/* ------------------------------------------------------------------ namespace */

/* -ENOENT, -ENOTDIR, -ENAMETOOLONG. Takes a reference on the inode found. */
int meta_lookup(struct meta_fs *fs, uint64_t dir, const char *name, struct meta_attr *out);

/* Drop @nlookup references (FUSE forget). An unlinked inode is freed at the last one. */
void meta_forget(struct meta_fs *fs, uint64_t ino, uint64_t nlookup);

/* Who creates a new inode; times are taken from the clock. */
struct meta_owner {
	uint32_t uid, gid;
};

/*
 * Create a regular file, device node, FIFO or socket (@mode's S_IFMT; 0 means S_IFREG).
 * -EEXIST, -ENOENT (dir gone), -ENOTDIR, -ENAMETOOLONG, -EINVAL (bad type or name "." / ".."
 * or containing '/'), -EROFS. Takes a reference on the new inode.
 */
int meta_mknod(struct meta_fs *fs, uint64_t dir, const char *name, uint32_t mode, uint64_t rdev,
	       const struct meta_owner *owner, struct meta_attr *out);
int meta_create(struct meta_fs *fs, uint64_t dir, const char *name, uint32_t mode,
		const struct meta_owner *owner, struct meta_attr *out);
int meta_mkdir(struct meta_fs *fs, uint64_t dir, const char *name, uint32_t mode,
	       const struct meta_owner *owner, struct meta_attr *out);
/* -ENAMETOOLONG when the target exceeds META_SYMLINK_MAX, -ENOENT for an empty target. */
int meta_symlink(struct meta_fs *fs, uint64_t dir, const char *name, const char *target,
		 const struct meta_owner *owner, struct meta_attr *out);
/* Copies the target and a NUL into buf (at most len bytes); returns the target length. */
int meta_readlink(struct meta_fs *fs, uint64_t ino, char *buf, size_t len);
/* -EPERM for a directory, -EMLINK at META_LINK_MAX. Takes a reference. */
int meta_link(struct meta_fs *fs, uint64_t ino, uint64_t newdir, const char *newname,
	      struct meta_attr *out);
/* -EISDIR for a directory. */
int meta_unlink(struct meta_fs *fs, uint64_t dir, const char *name);
/* -ENOTDIR, -ENOTEMPTY, -EBUSY for the root, -EINVAL for ".". */
int meta_rmdir(struct meta_fs *fs, uint64_t dir, const char *name);

#define META_RENAME_NOREPLACE (1u << 0) /* = RENAME_NOREPLACE */
#define META_RENAME_EXCHANGE  (1u << 1) /* = RENAME_EXCHANGE */

/*
 * rename(2)/renameat2(2): replacing an existing target unlinks it (a directory only when empty
 * and the source is a directory: -ENOTEMPTY, -EISDIR, -ENOTDIR), NOREPLACE gives -EEXIST,
 * EXCHANGE swaps two existing entries (-ENOENT when one is missing), moving a directory into its
 * own subtree gives -EINVAL, both flags -EINVAL. Renaming an entry onto itself (or another link
 * to the same inode) succeeds without change.
 */
int meta_rename(struct meta_fs *fs, uint64_t olddir, const char *oldname, uint64_t newdir,
		const char *newname, unsigned flags);

/*
 * Directory reading with stable cookies. Cookies: 1 is ".", 2 is "..", every other entry has a
 * 63-bit cookie given at creation from a per-directory counter and never reused in that
 * directory, so "continue after cookie X" means "the entries with a cookie above X", whether or
 * not X still exists: an entry present for the whole walk is returned exactly once, an entry
 * created or removed meanwhile at most once. meta_readdir calls @fn for each entry with a
 * cookie above @cookie, in cookie order, until @fn returns non-zero (that entry counts as not
 * returned; the caller resumes from the last accepted cookie) or the directory ends. The
 * directory's lock is not held while @fn runs on a copy of the entry, so @fn may call meta.
 */
struct meta_dirent_info {
	const char *name;
	size_t namelen;
	uint64_t ino;
	uint32_t type; /* S_IFMT bits of the inode */
	uint64_t cookie;
};
typedef int (*meta_readdir_fn)(void *arg, const struct meta_dirent_info *de);
int meta_readdir(struct meta_fs *fs, uint64_t dir, uint64_t cookie, meta_readdir_fn fn, void *arg);

/* ------------------------------------------------------------------ xattrs */

#define META_XATTR_CREATE  1 /* = XATTR_CREATE: -EEXIST when present */
#define META_XATTR_REPLACE 2 /* = XATTR_REPLACE: -ENODATA when absent */

/* Names and values are opaque bytes (any namespace); -ERANGE for names or values too long. */
int meta_setxattr(struct meta_fs *fs, uint64_t ino, const char *name, const void *value,
		  size_t size, int flags);
/* Returns the value size; with size 0 only the size; -ERANGE when buf is too small. */
int meta_getxattr(struct meta_fs *fs, uint64_t ino, const char *name, void *buf, size_t size);
/* NUL-separated names, as listxattr(2); same size conventions. */
int meta_listxattr(struct meta_fs *fs, uint64_t ino, char *buf, size_t size);
int meta_removexattr(struct meta_fs *fs, uint64_t ino, const char *name);

/* ------------------------------------------------------------------ inodes for I/O layers */

/* Pin an inode (-ENOENT when gone). meta_inode_put drops the pin (a reference, as forget). */
int meta_inode_get(struct meta_fs *fs, uint64_t ino, struct meta_inode **out);
void meta_inode_put(struct meta_inode *inode);
uint64_t meta_inode_ino(const struct meta_inode *inode);
struct meta_fs *meta_inode_fs(const struct meta_inode *inode);

/* The per-inode rwlock (lock order 1 above). */
void meta_inode_lock(struct meta_inode *inode);
void meta_inode_lock_shared(struct meta_inode *inode);
void meta_inode_unlock(struct meta_inode *inode);

/* Visible size; growing it (buffered write end) needs no record. */
uint64_t meta_size_read(struct meta_inode *inode);
void meta_size_extend(struct meta_inode *inode, uint64_t new_size);

/*
 * Owner tag of the file's data blocks (PI app tag): derived from the inode number, never
 * 0xFFFF (the PI escape) and never MD_APP_TAG (metadata).
 */
uint16_t meta_owner_tag(const struct meta_inode *inode);
uint16_t meta_owner_tag_ino(uint64_t ino);

/* ------------------------------------------------------------------ mappings (iomap-like) */

enum meta_map_type { /* numbered as enum extent_state and iomap */
		     META_MAP_HOLE = 0,
		     META_MAP_DELALLOC = 1,
		     META_MAP_MAPPED = 2,
		     META_MAP_UNWRITTEN = 3,
};

/* meta_map_begin flags. */
#define META_MAP_WRITE	(1u << 0) /* buffered: reserve DELALLOC over holes */
#define META_MAP_DIRECT (1u << 1) /* with WRITE: allocate UNWRITTEN over holes and delalloc */
#define META_MAP_REPORT (1u << 2) /* only report (fiemap, seek): never allocates */

/* struct meta_map flags. */
#define META_MAP_F_NEW	    (1u << 0) /* allocated or reserved by this call: zero around data */
#define META_MAP_F_DIRTY    (1u << 1) /* metadata not yet durable: fdatasync must commit */
#define META_MAP_F_BOUNDARY (1u << 2) /* reserved: not set by this version */

#define META_MAP_NO_ADDR UINT64_MAX

struct meta_map {
	enum meta_map_type type;
	uint32_t flags;
	uint64_t offset;  /* file byte offset, block aligned, <= the pos asked for */
	uint64_t length;  /* bytes, whole blocks */
	uint64_t addr;	  /* device byte address of offset, or META_MAP_NO_ADDR */
	uint64_t lba;	  /* LBA of offset, or META_MAP_NO_ADDR */
	uint64_t cookie;  /* validity cookie: meta_map_valid() */
	uint16_t app_tag; /* owner tag for the blocks */
};

/*
 * One mapping covering @pos (block-aligned down), at most up to pos + len rounded up to a block
 * for allocations; for HOLE/MAPPED reports the whole extent clipped to [pos, pos + len) rounded
 * out to blocks. -ENOSPC when a reservation or allocation can not be made, -EINVAL for a
 * non-regular file or len 0, -EFBIG past 2^63-1.
 */
int meta_map_begin(struct meta_inode *inode, uint64_t pos, uint64_t len, unsigned flags,
		   struct meta_map *out);

/*
 * After a buffered write through @map: @written bytes from @pos were copied. DELALLOC that
 * this mapping reserved (F_NEW) past the last written block is released again, as iomap's
 * end punches delalloc of short writes.
 */
int meta_map_end(struct meta_inode *inode, uint64_t pos, uint64_t len, uint64_t written,
		 const struct meta_map *map);

/* False when the extent map changed since the mapping was returned (then remap). */
bool meta_map_valid(struct meta_inode *inode, uint64_t cookie);

/*
 * Writeback: allocate device space for the DELALLOC extent at @pos, as much of it as can be
 * contiguous from @pos up to @pos + @len (goal: right after the previous extent, so sequential
 * files stay contiguous); the result, UNWRITTEN with F_NEW, is in @out. Already allocated
 * space is returned as is. A HOLE returns -EINVAL. Logs the allocation (an extent record).
 */
int meta_alloc_delalloc(struct meta_inode *inode, uint64_t pos, uint64_t len, struct meta_map *out);

/*
 * After the data I/O of [pos, pos + len) completed: UNWRITTEN -> MAPPED there (other states
 * are left alone; len 0 converts nothing), and the on-disk size grows to @new_size when that is
 * larger (pass 0 to leave it); the visible size follows when it was smaller. Writeback passes
 * min(end of the I/O, visible size), a direct write the end of the write. One record, none
 * when nothing changes.
 */
int meta_convert_unwritten(struct meta_inode *inode, uint64_t pos, uint64_t len, uint64_t new_size);

/* fallocate(2) mode bits, as in linux/falloc.h. */
#define META_FALLOC_KEEP_SIZE	   0x01
#define META_FALLOC_PUNCH_HOLE	   0x02
#define META_FALLOC_COLLAPSE_RANGE 0x08
#define META_FALLOC_ZERO_RANGE	   0x10
#define META_FALLOC_INSERT_RANGE   0x20

/*
 * The metadata part of fallocate: 0/KEEP_SIZE allocate UNWRITTEN over holes; PUNCH_HOLE
 * (with KEEP_SIZE) frees the whole blocks inside the range; ZERO_RANGE frees them and
 * allocates UNWRITTEN in their place; COLLAPSE/INSERT shift the rest of the file and need
 * block-aligned offset and length (-EINVAL otherwise, and for a range reaching EOF). Zeroing of
 * partial blocks and cache invalidation are the caller's. -ENOSPC, -EOPNOTSUPP for other modes.
 */
int meta_fallocate(struct meta_inode *inode, int mode, uint64_t off, uint64_t len);

/* SEEK_DATA / SEEK_HOLE over extents (MAPPED, DELALLOC are data; UNWRITTEN reads as a hole).
 * -ENXIO at or past EOF, or no data after pos. */
int meta_seek_data(struct meta_inode *inode, uint64_t pos, uint64_t *out);
int meta_seek_hole(struct meta_inode *inode, uint64_t pos, uint64_t *out);

/*
 * fsync/fdatasync: commit the records the inode depends on, or flush the device when they are
 * all durable already (the caller wrote the data back first). Releases deferred frees.
 */
int meta_fsync(struct meta_fs *fs, uint64_t ino, bool datasync);

/* ------------------------------------------------------------------ debugging, tests, fsck */

/*
 * A canonical text dump of the whole durable state (every inode with its on-disk attributes,
 * entries with cookies, extents, xattrs, then free space): two filesystems with the same
 * state dump the same bytes. Free with free().
 */
int meta_dump(struct meta_fs *fs, char **text, size_t *len);

/* Check in-memory invariants (link counts, tree shape, extents vs free space). -EUCLEAN. */
int meta_check(struct meta_fs *fs);

/*
 * The cookie the next entry made in directory @dir gets: every cookie @dir ever gave is below
 * it. fsck.guardfs -y writes an entry with this cookie as a record (docs/FORMAT.md, DIRENT), which
 * then collides with no cookie given before or after. -ENOENT, -ENOTDIR.
 */
int meta_dir_next_cookie(struct meta_fs *fs, uint64_t dir, uint64_t *out);

/* Test hook: replace the directory name hash (NULL restores the default); not thread-safe. */
typedef uint64_t (*meta_hash_fn)(const char *name, size_t len);
void meta_test_set_name_hash(meta_hash_fn fn);

#endif /* GUARDFS_META_H */
