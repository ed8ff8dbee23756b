/* SPDX-License-Identifier: MIT */
/*
 * ops_file.c - FUSE operations on file data: create, open, read, write, flush, release, fsync,
 * fallocate, lseek (SEEK_DATA/SEEK_HOLE) and copy_file_range, each through core/gfs.h.
 *
 * Cache policy. Buffered opens keep the kernel page cache (keep_cache) in write-through mode
 * (no FUSE_CAP_WRITEBACK_CACHE): every write reaches the core at once, so the core's folio
 * cache is the one place dirty data lives, fsync has a single owner, and MAP_SHARED mmap works
 * because the file is not direct_io. O_DIRECT opens set direct_io (no kernel cache at all) and
 * open the core file with GFS_O_DIRECT, which takes the bounce path and enforces alignment;
 * small direct reads and any direct writes that overlap others are answered from their
 * completions (gfuse_read, gfuse_write). What the kernel cannot see - a direct write, truncate,
 * punch, collapse, insert, a copy into the file - reaches its page cache through the core's
 * invalidation hook (inval.c); those requests are not answered before their invalidations were
 * sent, so the next buffered read through any descriptor sees the new bytes (a direct write
 * queues none when no buffered descriptor of the file was open: core/dio.c). Locks (flock,
 * POSIX, OFD) stay in the kernel.
 */
#include "fuse/gfuse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fuse.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bug.h"
#include "core/dio.h"

static unsigned file_gfs_flags(int flags)
{
	unsigned f = 0;

	if (flags & O_DIRECT)
		f |= GFS_O_DIRECT;
	if (flags & O_DSYNC) /* O_SYNC includes it */
		f |= GFS_O_DSYNC;
	return f;
}

static void file_track(struct gfuse *gf, struct gfuse_file *gfile)
{
	pthread_mutex_lock(&gf->files_lock);
	gfile->prev = NULL;
	gfile->next = gf->files;
	if (gf->files)
		gf->files->prev = gfile;
	gf->files = gfile;
	pthread_mutex_unlock(&gf->files_lock);
}

/* Unlink from the open list, release the core file, free. */
static void file_close(struct gfuse *gf, struct gfuse_file *gfile)
{
	pthread_mutex_lock(&gf->files_lock);
	if (gfile->prev)
		gfile->prev->next = gfile->next;
	else
		gf->files = gfile->next;
	if (gfile->next)
		gfile->next->prev = gfile->prev;
	pthread_mutex_unlock(&gf->files_lock);
	gfs_release(gfile->file);
	free(gfile);
}

void gfuse_files_release_all(struct gfuse *gf)
{
	while (gf->files)
		file_close(gf, gf->files);
}

/* Open the core file for ino and fill fi; 0 or a negative errno. */
static int file_open(struct gfuse *gf, uint64_t ino, struct fuse_file_info *fi)
{
	struct gfuse_file *gfile = calloc(1, sizeof(*gfile));
	int ret;

	if (!gfile)
		return -ENOMEM;
	ret = gfs_open(gf->gfs, ino, file_gfs_flags(fi->flags), &gfile->file);
	if (ret) {
		free(gfile);
		return ret;
	}
	gfile->ino = ino;
	gfile->direct = fi->flags & O_DIRECT;
	fi->fh = (uintptr_t)gfile;
	fi->direct_io = gfile->direct;
	fi->keep_cache = !gfile->direct;
	file_track(gf, gfile);
	return 0;
}

static void gfuse_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int ret = file_open(gfuse_from_req(req), ino, fi);

	if (ret) {
		fuse_reply_err(req, -ret);
	} else if (fuse_reply_open(req, fi)) {
		/* The open was interrupted: the kernel will never release this file. */
		file_close(gfuse_from_req(req), gfuse_file_of(fi));
	}
}

/*
 * FUSE_OPEN with O_DIRECT, answered here rather than by libfuse (loop.c hands it over). The
 * reply carries FOPEN_PARALLEL_DIRECT_WRITES, which libfuse 3.14 cannot set: without it the
 * kernel takes the inode lock exclusively around every direct write, so a VM's I/O threads
 * (qemu's aio=threads) wrote one at a time, and 16 threads of 4 KiB random writes through a
 * mount ran slower than one. With it the kernel still serialises writes that extend the file.
 * FUSE_CREATE still goes through libfuse: a file created with O_DIRECT has parallel direct
 * writes from its next open on.
 * Concurrent direct writes are safe below: overwrites share the core's inode lock, and the
 * namespace orders commands over the same blocks (core/ns_order.h).
 */
void gfuse_open_direct(struct gfuse *gf, const struct fuse_in_header *in,
		       const struct fuse_open_in *arg)
{
	struct fuse_file_info fi = {.flags = (int)arg->flags};
	int ret = file_open(gf, in->nodeid, &fi);
	struct fuse_open_out out = {.fh = fi.fh,
				    .open_flags = FOPEN_DIRECT_IO | FOPEN_PARALLEL_DIRECT_WRITES};

	GFS_BUG_ON(!ret && !fi.direct_io);
	/* Not taken (an interrupted open): the kernel will never release this file. */
	if (!gfuse_reply_raw(gf, in, "OPEN", ret, &out, sizeof(out)) && !ret)
		file_close(gf, gfuse_file_of(&fi));
}

static void gfuse_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 struct fuse_file_info *fi)
{
	struct gfuse *gf = gfuse_from_req(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct meta_owner owner = {.uid = ctx->uid, .gid = ctx->gid};
	struct fuse_entry_param e;
	struct meta_attr a;
	int ret = meta_getattr(gf->meta, parent, &a);

	if (!ret && (a.mode & S_ISGID))
		owner.gid = a.gid;
	if (!ret)
		ret = meta_create(gf->meta, parent, name, mode & 07777, &owner, &a);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	ret = file_open(gf, a.ino, fi);
	if (ret) {
		meta_forget(gf->meta, a.ino, 1);
		fuse_reply_err(req, -ret);
		return;
	}
	gfuse_fill_entry(gf, &a, &e);
	gfuse_names_add(gf->names, a.ino, parent, name);
	if (fuse_reply_create(req, &e, fi)) {
		file_close(gf, gfuse_file_of(fi));
		gfuse_names_forget(gf->names, a.ino, 1);
		meta_forget(gf->meta, a.ino, 1);
	}
}

/*
 * Direct reads up to this size may be answered from their completion (gfuse_read_async);
 * larger ones are answered by their worker. The reply copies the data into the reader's pages
 * on the thread that sends it: for a small read that costs less than the wake-up it saves, but
 * 1 MiB replies sent by the namespace's one completion thread would hold up every other request
 * of the mount behind their copies (mount-bench, docs/PERFORMANCE.md).
 */
#define GFUSE_ASYNC_READ_MAX (64u << 10)

/* A direct read answered from its completion: the request and the buffer the data lands in. */
struct direct_read {
	struct gfuse *gf;
	fuse_req_t req;
	char buf[];
};

/* On a completion thread: answer the kernel and free. Never blocks (dio.h's rule). */
static void direct_read_end(void *arg, ssize_t result)
{
	struct direct_read *dr = arg;
	struct gfuse *gf = dr->gf;

	/* before the reply: the reader's next request must not count this one */
	atomic_fetch_sub(&gf->direct_reads, 1);
	atomic_fetch_add_explicit(&gf->direct_reads_async, 1, memory_order_relaxed);
	if (result < 0)
		fuse_reply_err(dr->req, (int)-result);
	else
		fuse_reply_buf(dr->req, dr->buf, (size_t)result);
	free(dr);
	/* last: gfuse_direct_drain lets the session go once this reaches 0 */
	atomic_fetch_sub_explicit(&gf->direct_replies, 1, memory_order_release);
}

/*
 * Submit a direct read that its completion answers: the worker goes back to the kernel for the
 * next request at once, rather than sleeping until the device is done and being woken to reply
 * (two thread switches per request). Buffered I/O, truncate and fallocate wait for it as for
 * any async direct request (dio.h). The caller counted it in gf->direct_reads.
 */
static void gfuse_read_async(struct gfuse *gf, fuse_req_t req, struct gfuse_file *gfile,
			     size_t size, off_t off)
{
	struct direct_read *dr = malloc(sizeof(*dr) + size);
	struct iovec iov;
	int ret = -ENOMEM;

	if (dr) {
		*dr = (struct direct_read){.gf = gf, .req = req};
		iov = (struct iovec){dr->buf, size};
		atomic_fetch_add(&gf->direct_replies, 1);
		ret = dio_submit_read(gfile->file, &iov, 1, (uint64_t)off, direct_read_end, dr);
		if (ret)
			atomic_fetch_sub(&gf->direct_replies, 1);
	}
	if (ret) {
		atomic_fetch_sub(&gf->direct_reads, 1);
		free(dr);
		fuse_reply_err(req, -ret);
	}
}

/*
 * Their replies need the session, which goes once this returns; direct_replies drops only after
 * a reply was sent. Nothing new can start: the workers are gone. Each request ends within a
 * device round trip (and a write's invalidations), so a short sleep loop serves this one-time
 * wait. The notifier is still running: it may send a write's reply.
 */
void gfuse_direct_drain(struct gfuse *gf)
{
	while (atomic_load_explicit(&gf->direct_replies, memory_order_acquire))
		usleep(1000);
}

static void gfuse_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct gfuse *gf = gfuse_from_req(req);
	struct gfuse_file *gfile = gfuse_file_of(fi);
	struct dio_lend lend = {.data = NULL};
	char *buf = NULL;
	const void *data;
	ssize_t ret = -E2BIG;

	/*
	 * A lone direct read (the reader waits for each, QD 1) is served by its worker, whose
	 * wait polls for a short request and so wakes nobody (dio.c); answered from the
	 * completion it measured 15% slower. One that overlaps others goes async.
	 */
	if (gfile->direct && atomic_fetch_add(&gf->direct_reads, 1) &&
	    size <= GFUSE_ASYNC_READ_MAX) {
		gfuse_read_async(gf, req, gfile, size, off);
		return;
	}
	/*
	 * The worker's direct read replies from the bounce slot it was verified in
	 * (dio_read_lend): the kernel copies it into the reader's pages straight from there. A
	 * read larger than a slot (an NVMe namespace with a small max transfer), and any buffered
	 * read, is read into a buffer of ours.
	 */
	if (gfile->direct)
		ret = dio_read_lend(gfile->file, size, (uint64_t)off, &lend);
	if (ret == -E2BIG) {
		buf = malloc(size ? size : 1);
		ret = buf ? gfs_read(gfile->file, buf, size, (uint64_t)off) : -ENOMEM;
	}
	data = lend.data ? lend.data : buf;
	if (gfile->direct)
		atomic_fetch_sub(&gf->direct_reads, 1);
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else
		fuse_reply_buf(req, data, (size_t)ret);
	if (lend.data)
		dio_lend_release(&lend);
	free(buf);
}

/* A direct write answered from its completion. after comes first: the notifier hands it back. */
struct direct_write {
	struct gfuse_inval_after after;
	struct gfuse *gf;
	fuse_req_t req;
	void *held; /* the request buffer the payload is written from in place, or NULL */
	ssize_t result;
};

/* On a completion thread or the notifier: answer the kernel and free. */
static void direct_write_reply(struct gfuse_inval_after *after)
{
	struct direct_write *dw = (struct direct_write *)after;
	struct gfuse *gf = dw->gf;

	if (dw->result < 0)
		fuse_reply_err(dw->req, (int)-dw->result);
	else
		fuse_reply_write(dw->req, (size_t)dw->result);
	free(dw);
	atomic_fetch_sub_explicit(&gf->direct_replies, 1, memory_order_release);
}

/*
 * On a completion thread: the reply must follow the kernel invalidations that the write queued
 * (dio_complete.c, on this thread), as the synchronous path's wait makes it; with none queued,
 * which is the case when no buffered descriptor of the file is open, it goes at once.
 */
static void direct_write_end(void *arg, ssize_t result)
{
	struct direct_write *dw = arg;

	if (dw->held)
		gfuse_loop_release_buf(dw->held);
	dw->result = result;
	atomic_fetch_sub(&dw->gf->direct_writes, 1);
	atomic_fetch_add_explicit(&dw->gf->direct_writes_async, 1, memory_order_relaxed);
	gfuse_inval_after(dw->gf, &dw->after, direct_write_reply);
}

/*
 * Submit a direct write that its completion answers, as gfuse_read_async does for reads. The
 * worker goes back to the loop at once, so the request buffer must not: the write takes it
 * along (gfuse_loop_take_buf) and is written from it in place until it completes. Where no
 * spare buffer is left for the worker, the payload is copied into the bounce instead, and the
 * request buffer is free when dio_submit_write returns. The caller counted it in
 * gf->direct_writes.
 */
static void gfuse_write_async(struct gfuse *gf, fuse_req_t req, struct gfuse_file *gfile,
			      const char *buf, size_t size, off_t off)
{
	struct direct_write *dw = malloc(sizeof(*dw));
	struct iovec iov = {(void *)buf, size};
	void *held = NULL;
	int ret = -ENOMEM;

	if (dw) {
		held = gfuse_loop_take_buf(buf);
		*dw = (struct direct_write){.gf = gf, .req = req, .held = held};
		atomic_fetch_add(&gf->direct_replies, 1);
		/* Once submitted, dw is the completion's: it may be freed before this returns. */
		ret = held ? dio_submit_write_stable(gfile->file, &iov, 1, (uint64_t)off,
						     direct_write_end, dw)
			   : dio_submit_write(gfile->file, &iov, 1, (uint64_t)off, direct_write_end,
					      dw);
		if (ret) {
			atomic_fetch_sub(&gf->direct_replies, 1);
			if (held)
				gfuse_loop_release_buf(held);
		} else if (held) {
			atomic_fetch_add_explicit(&gf->direct_writes_took_buf, 1,
						  memory_order_relaxed);
		}
	}
	if (ret) {
		atomic_fetch_sub(&gf->direct_writes, 1);
		free(dw);
		fuse_reply_err(req, -ret);
	}
}

static void gfuse_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct gfuse *gf = gfuse_from_req(req);
	struct gfuse_file *gfile = gfuse_file_of(fi);
	ssize_t ret;

	/*
	 * A direct write that overlaps others (the kernel sends them in parallel:
	 * gfuse_open_direct) is answered from its completion; a lone one by its worker, whose wait
	 * polls, as for reads.
	 */
	if (gfile->direct && atomic_fetch_add(&gf->direct_writes, 1)) {
		atomic_fetch_add_explicit(&gf->direct_writes_overlapped, 1, memory_order_relaxed);
		gfuse_write_async(gf, req, gfile, buf, size, off);
		return;
	}
	/*
	 * buf is in this worker's request buffer (loop.c), which nothing changes before the
	 * worker's next request: stable until we reply, so the core may write it in place.
	 */
	ret = gfs_write_stable(gfile->file, buf, size, (uint64_t)off);
	/* Only a direct write may wait: a buffered one holds kernel page locks (inval.c). */
	if (gfile->direct) {
		atomic_fetch_sub(&gf->direct_writes, 1);
		gfuse_inval_wait_queued(gf);
	}
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else
		fuse_reply_write(req, (size_t)ret);
}

static void gfuse_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* close(2): writing back is fsync's and the flusher's job; locks are the kernel's. */
	fuse_reply_err(req, 0);
}

static void gfuse_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	file_close(gfuse_from_req(req), gfuse_file_of(fi));
	fuse_reply_err(req, 0);
}

static void gfuse_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, -gfs_fsync(gfuse_file_of(fi)->file, datasync));
}

static void gfuse_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			    struct fuse_file_info *fi)
{
	struct gfuse *gf = gfuse_from_req(req);
	int ret;

	if (off < 0 || len <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	ret = gfs_fallocate(gfuse_file_of(fi)->file, mode, (uint64_t)off, (uint64_t)len);
	gfuse_inval_wait_queued(gf);
	fuse_reply_err(req, -ret);
}

static void gfuse_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
			struct fuse_file_info *fi)
{
	uint64_t out;
	int ret;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fuse_reply_err(req, EINVAL); /* the kernel does SET, CUR and END itself */
		return;
	}
	if (off < 0) {
		fuse_reply_err(req, ENXIO);
		return;
	}
	ret = gfs_lseek(gfuse_file_of(fi)->file, (uint64_t)off, whence, &out);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_lseek(req, (off_t)out);
}

static void gfuse_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
				  struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
				  struct fuse_file_info *fi_out, size_t len, int flags)
{
	ssize_t ret;

	if (flags || off_in < 0 || off_out < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	ret = gfs_copy_file_range(gfuse_file_of(fi_in)->file, (uint64_t)off_in,
				  gfuse_file_of(fi_out)->file, (uint64_t)off_out, len);
	gfuse_inval_wait_queued(gfuse_from_req(req));
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else
		fuse_reply_write(req, (size_t)ret);
}

void gfuse_ops_file(struct fuse_lowlevel_ops *ops)
{
	ops->create = gfuse_create;
	ops->open = gfuse_open;
	ops->read = gfuse_read;
	ops->write = gfuse_write;
	ops->flush = gfuse_flush;
	ops->release = gfuse_release;
	ops->fsync = gfuse_fsync;
	ops->fallocate = gfuse_fallocate;
	ops->lseek = gfuse_lseek;
	ops->copy_file_range = gfuse_copy_file_range;
}
