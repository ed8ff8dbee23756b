// SPDX-License-Identifier: MIT
/*
 * ns_file.c - the file backend: a regular file laid out exactly as QEMU's nvme-ns backing image.
 *
 * Layout (DESIGN.md section 3): nlb = size / (lba_size + md_size); the data of LBA i is at
 * i * lba_size, its metadata at nlb * lba_size + i * md_size. No header.
 *
 * Each command becomes SQEs on the namespace's ring: a read is one data SQE (the O_DIRECT
 * descriptor when the host filesystem and the buffers allow it, else the buffered one), a write
 * likewise; their metadata moves through a shared mapping of the metadata region, on the
 * submitting thread for a write and once the data is back for a read (ns_file_md.c, with the
 * never-written rule). Where the region cannot be mapped, a read's metadata is a second SQE on
 * the buffered descriptor (metadata offsets are not sector aligned; both SQEs then count in
 * cmd->subops_pending); a FUA write's always is, with RWF_DSYNC, so that the submitter never
 * waits for the disk. A flush is one fdatasync (both descriptors and the mapping share the
 * inode); write zeroes and deallocate punch the data range and fill its metadata with 0xFF, the
 * PI escape.
 *
 * Data and metadata travelling apart, two commands in flight over the same LBA, one of them a
 * write, could interleave them: such a command waits in f->order until the earlier one
 * completed (ns_order.h), as a controller keeps a block's data and PI together.
 *
 * Strict mode checks PI like a controller with PRCHK: a write before it reaches the file (one
 * that fails never does), a read after the fault hooks had their say. A command refused before
 * any I/O (strict failure, injected error) completes through a NOP so that end_io always runs on
 * the completion thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bug.h"
#include "core/log.h"
#include "core/ns_fault.h"
#include "core/ns_file_internal.h"
#include "core/ns_wlog.h"

/* Largest data transfer of one command: 1 MiB, the size of guardfs's biggest merged ioend. */
#define FILE_MAX_TRANSFER (1u << 20)

enum file_tag {
	FILE_TAG_DATA = 0,
	FILE_TAG_MD = 1,
	FILE_TAG_NOP = 2,
};

static const char *file_op_name(enum ns_op op)
{
	static const char *const names[] = {"read", "write", "flush", "write zeroes", "deallocate"};
	return names[op];
}

static struct file_cmd *file_cmd_of(struct ns_cmd *cmd)
{
	if (!cmd->backend_private)
		cmd->backend_private = calloc(1, sizeof(struct file_cmd));
	return cmd->backend_private;
}

static bool file_iov_aligned(const struct file_ns *f, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (f->mem_align - 1))
			return false;
	return true;
}

/* Strict mode: the controller's PRCHK on data about to be written or just read. */
static int file_verify(struct ns *ns, struct ns_cmd *cmd, const struct iovec *iov, int iovcnt,
		       const void *md, enum ns_op op, struct pi_error *pe)
{
	const struct ns_pi_params *pi = &cmd->rq->pi;
	struct pi_io io = {
		.lba = cmd->slba,
		.ref_tag = cmd->ref_tag,
		.app_tag = pi->app_tag,
		.app_mask = pi->app_mask,
		.checks = pi->checks,
	};
	int ret;

	if (ns->fmt.pi.type == PI_TYPE_NONE || !pi->checks)
		return 0;
	ret = pi_verify(&ns->pi, iov, iovcnt, md, cmd->nlb, &io, pe);
	if (ret == -EIO)
		gfs_err("%s: %s at LBA %llu: PI %s check failed: expected %#llx, found %#llx",
			ns->path, file_op_name(op), (unsigned long long)pe->lba,
			pi_tag_name(pe->tag), (unsigned long long)pe->expected,
			(unsigned long long)pe->found);
	return ret;
}

/* QEMU's nvme_check_prinfo(): type 1 with PRCHK.REF wants the ref tag to be the LBA. */
static int file_check_prinfo(struct ns *ns, const struct ns_cmd *cmd, enum ns_op op)
{
	if (!ns->strict || ns->fmt.pi.type != PI_TYPE_1 || !(cmd->rq->pi.checks & PI_CHECK_REF))
		return 0;
	if (((cmd->ref_tag ^ cmd->slba) & ns->pi.ref_mask) == 0)
		return 0;
	gfs_err("%s: %s at LBA %llu: invalid protection information: type 1 ref tag %#llx is not "
		"the LBA",
		ns->path, file_op_name(op), (unsigned long long)cmd->slba,
		(unsigned long long)cmd->ref_tag);
	return -EINVAL;
}

/* The bounce of a faulted write: the prefix that reaches the file, free to be damaged. */
static int file_bounce_write(struct ns *ns, struct ns_cmd *cmd, struct file_cmd *fc)
{
	size_t data_len = (size_t)fc->written * ns->fmt.pi.lba_size;
	size_t md_len = (size_t)fc->written * ns->fmt.pi.md_size;
	size_t copied = 0;

	if (posix_memalign(&fc->bounce, 4096, data_len + md_len + 1))
		return -ENOMEM;
	for (int i = 0; i < cmd->iovcnt && copied < data_len; i++) {
		size_t len = cmd->iov[i].iov_len;

		if (len > data_len - copied)
			len = data_len - copied;
		memcpy((char *)fc->bounce + copied, cmd->iov[i].iov_base, len);
		copied += len;
	}
	fc->bounce_iov.iov_base = fc->bounce;
	fc->bounce_iov.iov_len = data_len;
	fc->bounce_md = (char *)fc->bounce + data_len;
	if (md_len)
		memcpy(fc->bounce_md, cmd->md, md_len);
	ns_fault_flip(ns, &fc->plan, NS_OP_WRITE, fc->target, &fc->bounce_iov, 1, fc->bounce_md,
		      fc->written);
	return 0;
}

/* A command that fails before any I/O; it completes through a NOP. Allocates only for pe. */
static int file_refuse(struct ns_cmd *cmd, int error, const struct pi_error *pe)
{
	struct file_cmd *fc = pe ? file_cmd_of(cmd) : NULL;

	if (pe && !fc)
		return -ENOMEM;
	cmd->error = error;
	if (pe) {
		fc->pe = *pe;
		fc->has_pe = true;
	}
	return 0;
}

static int file_prepare_write(struct ns *ns, struct ns_cmd *cmd, const struct ns_fault_plan *plan)
{
	struct file_cmd *fc;
	struct pi_error pe;
	int ret;

	if (ns->strict) {
		ret = file_check_prinfo(ns, cmd, NS_OP_WRITE);
		if (!ret)
			ret = file_verify(ns, cmd, cmd->iov, cmd->iovcnt, cmd->md, NS_OP_WRITE,
					  &pe);
		if (ret)
			return file_refuse(cmd, ret, ret == -EIO ? &pe : NULL);
	}
	if (!plan->lost && !plan->misdirect && !plan->torn && !plan->flip)
		return 0;
	fc = file_cmd_of(cmd);
	if (!fc)
		return -ENOMEM;
	fc->plan = *plan;
	fc->target = plan->misdirect ? plan->target_lba : cmd->slba;
	fc->written = plan->lost ? 0 : plan->torn ? plan->torn_blocks : cmd->nlb;
	if (fc->written && (plan->torn || plan->flip))
		return file_bounce_write(ns, cmd, fc);
	return 0;
}

/* Everything that can fail or allocate, before the ring lock is taken. */
static int file_prepare(struct ns *ns, struct ns_cmd *cmd)
{
	enum ns_op op = cmd->rq->op;
	struct ns_fault_plan plan;
	struct ns_wlog *log;
	struct file_cmd *fc;
	int ret;

	ns_fault_plan_cmd(ns, op, cmd, &plan);
	if (plan.io_error) {
		gfs_err("%s: %s of LBA %llu+%u: injected I/O error", ns->path, file_op_name(op),
			(unsigned long long)cmd->slba, cmd->nlb);
		return file_refuse(cmd, -EIO, NULL);
	}
	switch (op) {
	case NS_OP_READ:
		ret = file_check_prinfo(ns, cmd, op);
		if (ret)
			return file_refuse(cmd, ret, NULL);
		file_md_prefault(ns, cmd);
		if (plan.flip) {
			fc = file_cmd_of(cmd);
			if (!fc)
				return -ENOMEM;
			fc->plan = plan;
		}
		return 0;
	case NS_OP_WRITE:
		return file_prepare_write(ns, cmd, &plan);
	case NS_OP_FLUSH:
		log = ns_wlog_of(ns);
		if (!log)
			return 0;
		fc = file_cmd_of(cmd);
		if (!fc)
			return -ENOMEM;
		fc->durable = ns_wlog_mark(log);
		return 0;
	default:
		if (!ns->fmt.pi.md_size)
			return 0;
		fc = file_cmd_of(cmd);
		if (!fc || !(fc->ones = malloc((size_t)cmd->nlb * ns->fmt.pi.md_size)))
			return -ENOMEM;
		for (uint32_t i = 0; i < cmd->nlb; i++)
			file_md_escape(ns, (uint8_t *)fc->ones + (size_t)i * ns->fmt.pi.md_size);
		return 0;
	}
}

static void file_prep_rw(struct io_uring_sqe *sqe, bool write, int fd, const struct iovec *iov,
			 int iovcnt, uint64_t offset)
{
	if (iovcnt == 1 && write)
		io_uring_prep_write(sqe, fd, iov->iov_base, (unsigned)iov->iov_len, offset);
	else if (iovcnt == 1)
		io_uring_prep_read(sqe, fd, iov->iov_base, (unsigned)iov->iov_len, offset);
	else if (write)
		io_uring_prep_writev(sqe, fd, iov, (unsigned)iovcnt, offset);
	else
		io_uring_prep_readv(sqe, fd, iov, (unsigned)iovcnt, offset);
}

static struct io_uring_sqe *file_get_sqe(struct ns *ns, struct ns_cmd *cmd, enum file_tag tag)
{
	struct io_uring_sqe *sqe = ns_ring_get_sqe(ns->ring, &cmd->op);

	sqe->user_data |= tag;
	return sqe;
}

/* Data SQE plus metadata SQE of nlb blocks at slba. */
static void file_queue_rw(struct ns *ns, struct ns_cmd *cmd, bool write, uint64_t slba,
			  uint32_t nlb, const struct iovec *iov, int iovcnt, void *md)
{
	const struct file_ns *f = ns->backend_private;
	uint32_t md_size = ns->fmt.pi.md_size;
	int fd = f->direct && file_iov_aligned(f, iov, iovcnt) ? f->data_fd : f->buf_fd;
	struct io_uring_sqe *sqe;

	/* A plain write's metadata is already in the page cache (file_md_store). */
	if (write && !cmd->rq->fua)
		md_size = 0;
	/* A read's comes from the mapping when the data is back (file_finish_read). */
	if (!write && f->md_map)
		md_size = 0;
	cmd->subops_pending = md_size ? 2 : 1;
	sqe = file_get_sqe(ns, cmd, FILE_TAG_DATA);
	file_prep_rw(sqe, write, fd, iov, iovcnt, slba * ns->fmt.pi.lba_size);
	if (write && cmd->rq->fua)
		sqe->rw_flags = RWF_DSYNC;
	if (!md_size)
		return;
	sqe = file_get_sqe(ns, cmd, FILE_TAG_MD);
	if (write)
		io_uring_prep_write(sqe, f->buf_fd, md, nlb * md_size,
				    f->md_offset + slba * md_size);
	else
		io_uring_prep_read(sqe, f->buf_fd, md, nlb * md_size,
				   f->md_offset + slba * md_size);
	if (write && cmd->rq->fua)
		sqe->rw_flags = RWF_DSYNC;
}

static void file_queue_nop(struct ns *ns, struct ns_cmd *cmd)
{
	cmd->subops_pending = 1;
	io_uring_prep_nop(file_get_sqe(ns, cmd, FILE_TAG_NOP));
}

static void file_queue_zeroes(struct ns *ns, struct ns_cmd *cmd)
{
	const struct file_ns *f = ns->backend_private;
	struct file_cmd *fc = cmd->backend_private;
	uint32_t lba_size = ns->fmt.pi.lba_size, md_size = ns->fmt.pi.md_size;
	struct io_uring_sqe *sqe;

	cmd->subops_pending = md_size ? 2 : 1;
	sqe = file_get_sqe(ns, cmd, FILE_TAG_DATA);
	io_uring_prep_fallocate(sqe, f->data_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				cmd->slba * lba_size, (uint64_t)cmd->nlb * lba_size);
	if (!md_size)
		return;
	sqe = file_get_sqe(ns, cmd, FILE_TAG_MD);
	io_uring_prep_write(sqe, f->buf_fd, fc->ones, cmd->nlb * md_size,
			    f->md_offset + cmd->slba * md_size);
}

/* Under the ring lock: turn one prepared command into SQEs. */
static void file_queue_cmd(struct ns *ns, struct ns_cmd *cmd)
{
	const struct file_ns *f = ns->backend_private;
	struct file_cmd *fc = cmd->backend_private;
	struct io_uring_sqe *sqe;

	if (cmd->error) {
		file_queue_nop(ns, cmd);
		return;
	}
	switch (cmd->rq->op) {
	case NS_OP_READ:
		file_queue_rw(ns, cmd, false, cmd->slba, cmd->nlb, cmd->iov, cmd->iovcnt, cmd->md);
		break;
	case NS_OP_WRITE:
		if (!fc)
			file_queue_rw(ns, cmd, true, cmd->slba, cmd->nlb, cmd->iov, cmd->iovcnt,
				      cmd->md);
		else if (!fc->written)
			file_queue_nop(ns, cmd);
		else if (fc->bounce)
			file_queue_rw(ns, cmd, true, fc->target, fc->written, &fc->bounce_iov, 1,
				      fc->bounce_md);
		else
			file_queue_rw(ns, cmd, true, fc->target, fc->written, cmd->iov, cmd->iovcnt,
				      cmd->md);
		break;
	case NS_OP_FLUSH:
		cmd->subops_pending = 1;
		sqe = file_get_sqe(ns, cmd, FILE_TAG_DATA);
		io_uring_prep_fsync(sqe, f->buf_fd, IORING_FSYNC_DATASYNC);
		break;
	default:
		file_queue_zeroes(ns, cmd);
		break;
	}
}

static void file_free_cmd(struct ns_cmd *cmd)
{
	struct file_cmd *fc = cmd->backend_private;

	if (!fc)
		return;
	free(fc->bounce);
	free(fc->ones);
	free(fc);
	cmd->backend_private = NULL;
}

static void file_complete(struct ns_ring_op *op, const struct io_uring_cqe *cqe);

/*
 * Into the order, held (true: start it now), unless it touches no LBA (flush) or completes
 * without I/O (refused). A misdirected write (fault hook) is ordered where its data lands.
 */
static bool file_order_enter(struct ns *ns, struct ns_cmd *cmd)
{
	struct file_ns *f = ns->backend_private;
	const struct file_cmd *fc = cmd->backend_private;
	enum ns_op op = cmd->rq->op;
	uint64_t start = op == NS_OP_WRITE && fc ? fc->target : cmd->slba;

	if (op == NS_OP_FLUSH || cmd->error || !cmd->nlb)
		return true;
	return ns_order_enter(&f->order, cmd, start, start + cmd->nlb, op != NS_OP_READ);
}

/*
 * Start the commands that need not wait: the metadata of writes first, then all their SQEs in
 * one go (none can complete before the ring lock is dropped).
 */
static void file_start(struct ns *ns, struct ns_cmd **cmds, unsigned count)
{
	int ret;

	for (unsigned i = 0; i < count; i++)
		if (!cmds[i]->order.waiting && cmds[i]->rq->op == NS_OP_WRITE)
			file_md_store(ns, cmds[i]);
	ns_ring_lock(ns->ring);
	for (unsigned i = 0; i < count; i++)
		if (!cmds[i]->order.waiting)
			file_queue_cmd(ns, cmds[i]);
	ret = ns_ring_submit(ns->ring);
	ns_ring_unlock(ns->ring);
	/* The SQEs are in the ring and will complete; a failed enter only delays them. */
	GFS_BUG_ON(ret < 0);
}

/* Start a chain from ns_order_release or ns_order_exit. */
static void file_start_chain(struct ns *ns, struct ns_cmd *c)
{
	for (struct ns_cmd *next; c; c = next) {
		next = c->order.ready;
		file_start(ns, &c, 1);
	}
}

static int file_queue(struct ns *ns, struct ns_cmd **cmds, unsigned count)
{
	struct file_ns *f = ns->backend_private;
	unsigned waiting = 0;
	int ret;

	for (unsigned i = 0; i < count; i++) {
		cmds[i]->op.complete = file_complete;
		ret = file_prepare(ns, cmds[i]);
		if (ret) {
			for (unsigned j = 0; j <= i; j++)
				file_free_cmd(cmds[j]);
			return ret;
		}
	}
	/* Only now that nothing can fail any more, side effects: order, metadata, SQEs. */
	for (unsigned i = 0; i < count; i++)
		waiting += !file_order_enter(ns, cmds[i]);
	file_start(ns, cmds, count);
	/* With none waiting, the batch may be complete and freed by now: hands off. */
	if (waiting)
		file_start_chain(ns, ns_order_release(&f->order, cmds, count));
	return 0;
}

/* On the completion thread, cmd done: start what waited for it, before its end_io runs. */
static void file_order_exit(struct ns *ns, struct ns_cmd *cmd)
{
	struct file_ns *f = ns->backend_private;

	file_start_chain(ns, ns_order_exit(&f->order, cmd));
}

/* What a finished command leaves in the write log: what actually reached the file. */
static void file_log_cmd(struct ns *ns, struct ns_cmd *cmd, const struct file_cmd *fc)
{
	struct ns_wlog *log = ns_wlog_of(ns);

	if (!log)
		return;
	switch (cmd->rq->op) {
	case NS_OP_WRITE:
		if (!fc)
			ns_wlog_add_write(log, cmd->slba, cmd->nlb, cmd->iov, cmd->iovcnt, cmd->md);
		else if (fc->written)
			ns_wlog_add_write(log, fc->target, fc->written,
					  fc->bounce ? &fc->bounce_iov : cmd->iov,
					  fc->bounce ? 1 : cmd->iovcnt,
					  fc->bounce ? fc->bounce_md : cmd->md);
		break;
	case NS_OP_FLUSH:
		ns_wlog_add_flush(log, fc ? fc->durable : 0);
		break;
	case NS_OP_WRITE_ZEROES:
	case NS_OP_DEALLOCATE:
		ns_wlog_add_zeroes(log, cmd->slba, cmd->nlb);
		break;
	default:
		break;
	}
}

static int file_finish_read(struct ns *ns, struct ns_cmd *cmd, struct file_cmd *fc,
			    struct pi_error *pe)
{
	int err = file_md_complete_read(ns, cmd);

	if (err)
		return err;
	if (fc && fc->plan.flip)
		ns_fault_flip(ns, &fc->plan, NS_OP_READ, cmd->slba, cmd->iov, cmd->iovcnt, cmd->md,
			      cmd->nlb);
	return ns->strict ? file_verify(ns, cmd, cmd->iov, cmd->iovcnt, cmd->md, NS_OP_READ, pe)
			  : 0;
}

static void file_finish(struct ns *ns, struct ns_cmd *cmd)
{
	struct file_cmd *fc = cmd->backend_private;
	struct pi_error pe = {.tag = PI_TAG_NONE};
	int err = cmd->error;

	if (fc && fc->has_pe)
		pe = fc->pe;
	if (!err && cmd->rq->op == NS_OP_READ)
		err = file_finish_read(ns, cmd, fc, &pe);
	else if (!err)
		file_log_cmd(ns, cmd, fc);
	file_free_cmd(cmd);
	/* Not before the read's metadata was copied: a write waiting for it would change it. */
	file_order_exit(ns, cmd);
	ns_cmd_done(cmd, err, err == -EIO && pe.tag != PI_TAG_NONE ? &pe : NULL);
}

static void file_complete(struct ns_ring_op *op, const struct io_uring_cqe *cqe)
{
	struct ns_cmd *cmd = (struct ns_cmd *)op;
	const struct file_cmd *fc = cmd->backend_private;
	unsigned tag = ns_ring_cqe_tag(cqe);
	enum ns_op op_kind = cmd->rq->op;
	uint32_t nlb = fc && op_kind == NS_OP_WRITE ? fc->written : cmd->nlb;
	uint64_t want = 0;
	int err = 0;

	if (tag == FILE_TAG_DATA && (op_kind == NS_OP_READ || op_kind == NS_OP_WRITE))
		want = (uint64_t)nlb * cmd->ns->fmt.pi.lba_size;
	else if (tag == FILE_TAG_MD)
		want = (uint64_t)nlb * cmd->ns->fmt.pi.md_size;
	if (cqe->res < 0)
		err = cqe->res;
	else if ((uint64_t)cqe->res != want)
		err = -EIO; /* a short transfer: the image shrank under us */
	if (err && tag != FILE_TAG_NOP) {
		gfs_err("%s: %s of %s at LBA %llu+%u failed: %s", cmd->ns->path,
			file_op_name(op_kind), tag == FILE_TAG_MD ? "metadata" : "data",
			(unsigned long long)cmd->slba, cmd->nlb,
			cqe->res < 0 ? strerror(-cqe->res) : "short transfer");
		if (!cmd->error)
			cmd->error = err;
	}
	if (--cmd->subops_pending)
		return;
	file_finish(cmd->ns, cmd);
}

static void file_close(struct ns *ns)
{
	struct file_ns *f = ns->backend_private;

	ns_wlog_stop(ns);
	ns_faults_destroy(ns);
	if (!f)
		return;
	ns_order_destroy(&f->order);
	file_md_unmap(f);
	if (f->data_fd != f->buf_fd)
		close(f->data_fd);
	close(f->buf_fd);
	free(f);
	ns->backend_private = NULL;
}

static const struct ns_backend_ops file_backend_ops = {
	.name = "file",
	.queue = file_queue,
	.close = file_close,
};

/*
 * O_DIRECT for the data region where the filesystem takes it for this LBA size; otherwise the
 * buffered descriptor does everything (one info line says so).
 */
static void file_open_direct(struct file_ns *f, const char *path, int flags, uint32_t lba_size)
{
	struct statx stx;
	const char *why = NULL;
	int fd;

	f->data_fd = f->buf_fd;
	f->direct = false;
	fd = open(path, flags | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		gfs_info("%s: O_DIRECT not available (%s), using buffered I/O for data", path,
			 strerror(errno));
		return;
	}
	f->mem_align = 512;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN)) {
		if (!stx.stx_dio_offset_align)
			why = "the filesystem reports no direct I/O support";
		else if (stx.stx_dio_offset_align > lba_size)
			why = "direct I/O needs a larger alignment than the LBA size";
		else if (stx.stx_dio_mem_align > f->mem_align)
			f->mem_align = stx.stx_dio_mem_align;
	}
	if (why) {
		gfs_info("%s: %s, using buffered I/O for data", path, why);
		close(fd);
		return;
	}
	f->data_fd = fd;
	f->direct = true;
}

static int file_check_format(const char *path, const struct pi_format *fmt)
{
	struct pi_format sep;
	struct pi_ctx ctx;

	if (!fmt) {
		gfs_err("%s: a regular file has no header: its format must be given", path);
		return -EINVAL;
	}
	sep = *fmt;
	sep.layout = PI_MD_SEPARATE;
	if (pi_ctx_init(&ctx, &sep) || (fmt->lba_size != 512 && fmt->lba_size != 4096)) {
		gfs_err("%s: unsupported format: %u+%u, PI type %d, guard %d", path, fmt->lba_size,
			fmt->md_size, fmt->type, fmt->guard == PI_GUARD_64 ? 64 : 16);
		return -EINVAL;
	}
	return 0;
}

static int file_setup(struct ns *ns, struct file_ns *f, const char *path,
		      const struct ns_options *opts)
{
	const struct pi_format *fmt = opts->format;
	unsigned qd = opts->queue_depth ? opts->queue_depth : 128;
	struct stat st;
	int ret;

	if (fstat(f->buf_fd, &st))
		return -errno;
	ns->fmt.pi = *fmt;
	ns->fmt.pi.layout = PI_MD_SEPARATE;
	ns->fmt.nlb = (uint64_t)st.st_size / (fmt->lba_size + fmt->md_size);
	if (!ns->fmt.nlb) {
		gfs_err("%s: %lld bytes hold no %u+%u block", path, (long long)st.st_size,
			fmt->lba_size, fmt->md_size);
		return -EINVAL;
	}
	ns->fmt.volatile_cache = true;
	ns->fmt.write_zeroes = true;
	ns->fmt.deallocate = true;
	ns->fmt.max_transfer = FILE_MAX_TRANSFER;
	f->md_offset = ns->fmt.nlb * fmt->lba_size;
	if (fmt->md_size && !opts->md_by_io)
		file_md_map(f, path, (uint64_t)st.st_size, opts->read_only);
	if (qd > 2048) {
		gfs_err("%s: queue depth %u is above 2048", path, qd);
		return -EINVAL;
	}
	/* A command is two SQEs (data and metadata): room for qd commands. */
	ret = ns_ring_create(2 * qd, 0, &ns->ring);
	if (ret)
		gfs_err("%s: cannot set up an io_uring: %s", path, strerror(-ret));
	return ret;
}

int ns_file_open(struct ns *ns, const char *path, const struct ns_options *opts)
{
	int flags = opts->read_only ? O_RDONLY : O_RDWR;
	struct file_ns *f;
	int ret;

	ret = file_check_format(path, opts->format);
	if (ret)
		return ret;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->buf_fd = open(path, flags | O_CLOEXEC);
	if (f->buf_fd < 0) {
		ret = -errno;
		gfs_err("%s: cannot open: %s", path, strerror(-ret));
		goto out_free;
	}
	file_open_direct(f, path, flags, opts->format->lba_size);
	ns_order_init(&f->order);
	ret = file_setup(ns, f, path, opts);
	if (ret)
		goto out_close;
	ret = ns_faults_create(ns);
	if (ret)
		goto out_ring;
	ns->backend = NS_BACKEND_FILE;
	ns->ops = &file_backend_ops;
	ns->backend_private = f;
	return 0;

out_ring:
	ns_ring_destroy(ns->ring);
	ns->ring = NULL;
out_close:
	ns_order_destroy(&f->order);
	file_md_unmap(f);
	if (f->data_fd != f->buf_fd)
		close(f->data_fd);
	close(f->buf_fd);
out_free:
	free(f);
	return ret;
}
