/* SPDX-License-Identifier: MIT */
/*
 * gfuse.h - shared state of the guardfs daemon: the FUSE low-level operations (ops_*.c) serve
 * requests from struct gfuse, which holds the mounted core (struct gfs), the options, the
 * session, the kernel-cache notifier (inval.c) and the best-effort inode -> name map used to
 * name files in error lines (names.c). Nothing here is seen outside fuse/.
 *
 * Lookup counts: every reply that hands the kernel an entry (lookup, create, mknod, mkdir,
 * symlink, link, readdirplus entries other than "." and "..") took one meta reference
 * (meta_lookup and friends do) and one count in the name map; forget drops both, and when the
 * kernel's count reaches zero the core's per-inode state is dropped with gfs_forget_inode().
 *
 * Lock order: names.c's map lock and inval.c's queue lock are leaves: nothing is called with
 * them held. Core locks (meta, gfs) are never held while replying to the kernel.
 */
#ifndef GUARDFS_FUSE_GFUSE_H
#define GUARDFS_FUSE_GFUSE_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/gfs.h"
#include "core/meta.h"
#include "fuse/opts.h"

struct fuse_in_header;
struct fuse_open_in;
struct gfuse_inval;
struct gfuse_names;

/* The largest FUSE_WRITE payload the daemon accepts (conn->max_write). */
#define GFUSE_MAX_WRITE (1u << 20)

struct gfuse {
	struct gfs *gfs;
	struct meta_fs *meta;
	struct gfuse_opts *opts;
	struct fuse_session *se;
	struct gfuse_inval *inval;
	struct gfuse_names *names;
	double entry_timeout, attr_timeout;
	unsigned proto_minor; /* the kernel's FUSE protocol, 7.x (user.guardfs.stats) */
	/* Open files, so that a shutdown with files still open releases them (leaf lock). */
	pthread_mutex_t files_lock;
	struct gfuse_file *files;
	/* Direct reads being served, by workers or from completions (ops_file.c). */
	atomic_uint direct_reads;
	/* Direct requests answered from completions not yet replied to: shutdown waits for them. */
	atomic_uint direct_replies;
	/* Direct reads answered from their completion (user.guardfs.stats). */
	atomic_uint_fast64_t direct_reads_async;
	/* Direct writes being served, those that began while another was, those of them answered
	 * from their completion, and those that took their request buffer along (stats). */
	atomic_uint direct_writes;
	atomic_uint_fast64_t direct_writes_overlapped, direct_writes_async, direct_writes_took_buf;
};

/* One open file (fi->fh), on gfuse.files until released. */
struct gfuse_file {
	struct gfs_file *file;
	uint64_t ino;
	bool direct;
	struct gfuse_file *prev, *next;
};

static inline struct gfuse *gfuse_from_req(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline struct gfuse_file *gfuse_file_of(struct fuse_file_info *fi)
{
	return (struct gfuse_file *)(uintptr_t)fi->fh;
}

/* ops_entry.c */
void gfuse_attr_to_stat(const struct meta_attr *a, struct stat *st);
void gfuse_fill_entry(struct gfuse *gf, const struct meta_attr *a, struct fuse_entry_param *e);
/* Reply with a fresh entry (one lookup reference already taken), recording its name. */
void gfuse_reply_entry(fuse_req_t req, uint64_t parent, const char *name,
		       const struct meta_attr *a);
void gfuse_ops_entry(struct fuse_lowlevel_ops *ops);
/* ops_dir.c */
void gfuse_ops_dir(struct fuse_lowlevel_ops *ops);
/* ops_file.c */
void gfuse_ops_file(struct fuse_lowlevel_ops *ops);
/* FUSE_OPEN with O_DIRECT, answered to the kernel directly (libfuse cannot say what it says). */
void gfuse_open_direct(struct gfuse *gf, const struct fuse_in_header *in,
		       const struct fuse_open_in *arg);
/* When the workers are gone: wait for the direct requests that answer from completions. */
void gfuse_direct_drain(struct gfuse *gf);
/* At shutdown: release the files the kernel still had open (the session is gone). */
void gfuse_files_release_all(struct gfuse *gf);
/* ops_xattr.c */
void gfuse_ops_xattr(struct fuse_lowlevel_ops *ops);
/* The text of the user.guardfs.stats virtual xattr; returns its length (malloc'd *out). */
int gfuse_stats_text(struct gfuse *gf, char **out);

/* names.c: best-effort inode -> path, for error lines. */
int gfuse_names_create(struct gfuse_names **out);
void gfuse_names_destroy(struct gfuse_names *nm);
/* One more kernel lookup of ino, known as name in parent. */
void gfuse_names_add(struct gfuse_names *nm, uint64_t ino, uint64_t parent, const char *name);
/* The kernel dropped nlookup references; returns true when its count reached zero. */
bool gfuse_names_forget(struct gfuse_names *nm, uint64_t ino, uint64_t nlookup);
/* A rename/unlink moved or removed name in parent. */
void gfuse_names_move(struct gfuse_names *nm, uint64_t oldparent, const char *oldname,
		      uint64_t newparent, const char *newname);
/* The path of ino ("/a/b"), or -ENOENT when unknown; buf of len bytes. */
int gfuse_names_path(struct gfuse_names *nm, uint64_t ino, char *buf, size_t len);

/* inval.c: kernel page cache invalidation from a notifier thread. */
int gfuse_inval_start(struct gfuse *gf);
void gfuse_inval_stop(struct gfuse *gf);
/* The gfs hook: queue [off, off + len) of ino; never blocks on the kernel. */
void gfuse_inval_hook(void *arg, uint64_t ino, uint64_t off, uint64_t len);
/* Wait until every invalidation queued so far, by any thread, has reached the kernel. */
void gfuse_inval_wait_queued(struct gfuse *gf);
/* A call that must follow the invalidations queued before it (the caller's memory). */
struct gfuse_inval_after {
	struct gfuse_inval_after *next;
	uint64_t seq;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC (core/poll.h) */
	void (*fn)(struct gfuse_inval_after *a);
};
/*
 * Call fn(a) now if every invalidation queued so far has reached the kernel, else from the
 * notifier's second thread as soon as they have, or after the same bounded wait as
 * gfuse_inval_wait_queued (inval.c says why it is bounded). Never blocks: for completions,
 * which reply to the kernel only after the invalidations their write queued.
 */
void gfuse_inval_after(struct gfuse *gf, struct gfuse_inval_after *a,
		       void (*fn)(struct gfuse_inval_after *a));
/* Ranges handed to the kernel so far, those it refused (not counting -ENOENT), and the
 * gfuse_inval_after calls that waited for ranges. */
void gfuse_inval_counts(struct gfuse *gf, uint64_t *sent, uint64_t *errors, uint64_t *deferred);

/*
 * loop.c: answer a request libfuse never saw (in: its header) with error (0 or -errno) and, on
 * success, arg_len bytes of arg; name is the opcode for -d. False when the kernel did not take
 * the reply (logged, except an interrupted request's ENOENT).
 */
bool gfuse_reply_raw(struct gfuse *gf, const struct fuse_in_header *in, const char *name, int error,
		     const void *arg, size_t arg_len);
/* loop.c: serve requests until unmounted or signalled (sigs: the termination signals, blocked
 * in the workers); 0, or the error that stopped the loop. */
int gfuse_loop(struct gfuse *gf, const sigset_t *sigs);
/*
 * notifier.c: fork the process that makes the kernel page cache invalidations on a /dev/fuse
 * descriptor of its own, so that no thread of this daemon waits inside the kernel for a page
 * (a killed daemon then dies whole and its mount fails requests instead of hanging). Once per
 * process, after the mount. -errno, logged, when none could be started.
 */
int gfuse_notifier_start(struct fuse_session *se, const char *mountpoint);
/*
 * FUSE_NOTIFY_INVAL_INODE through the notifier: 0 or the kernel's -errno; -ENOSYS when there
 * is no notifier (the caller then notifies by itself). One caller at a time (inval.c's thread).
 */
int gfuse_notifier_inval(uint64_t ino, int64_t off, int64_t len);
/* A clean shutdown, after the last invalidation: the notifier exits. */
void gfuse_notifier_stop(void);
/*
 * Called by a worker serving a request whose payload lies in its request buffer: the buffer is
 * the caller's from now on, unchanged until gfuse_loop_release_buf(the returned handle), and
 * the worker receives its next requests into a spare one. NULL when payload is not in the
 * worker's buffer or no spare can be had: then the request buffer is reused as usual once the
 * handler returns. Release may be called from any thread, also after the loop ended.
 */
void *gfuse_loop_take_buf(const void *payload);
void gfuse_loop_release_buf(void *held);

/* blkdev.c: the block device a -o syncfs (fuseblk) mount names as its source, into name. For an
 * image file a loop device is attached (autoclear) and its fd left in *fd, to be closed once the
 * mount holds the device; otherwise *fd is -1. 0 or -errno after one log line. */
int gfuse_blkdev_open(const char *source, bool read_only, char *name, size_t len, int *fd);

#endif /* GUARDFS_FUSE_GFUSE_H */
