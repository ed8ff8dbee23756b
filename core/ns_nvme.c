/* SPDX-License-Identifier: MIT */
/*
 * ns_nvme.c - the NVMe passthrough backend: a namespace driven through its /dev/ngXnY generic
 * char device with io_uring IORING_OP_URING_CMD (NVME_URING_CMD_IO, SQE128 + CQE32).
 *
 * Every struct ns_cmd becomes exactly one NVMe command, so one SQE and one CQE; ns.c has
 * already cut commands to fmt.max_transfer. The host generates and verifies PI itself
 * (PRACT = 0) and asks the controller to check it too: PRCHK carries the request's checks,
 * minus the ref check for Type 3 (the spec leaves the ref tag unchecked there and QEMU answers
 * PRCHK.REF with Invalid Protection Information). The initial ref tag goes in CDW14, its bits
 * 47:32 in CDW3[15:0] for the 64-bit guard (48-bit ref tags), app tag and mask in CDW15,
 * exactly as fio's io_uring_cmd engine and libnvme's nvme_io() lay them out.
 *
 * Data: one buffer per command with NVME_URING_CMD_IO; a piece made of several iovecs goes
 * out as NVME_URING_CMD_IO_VEC (Linux 5.19+) rather than through a bounce copy: the kernel
 * maps the user pages itself and bounces only what it cannot map. Metadata is one contiguous
 * buffer (the kernel copies it into its own integrity buffer). The iovec array, data and
 * metadata live in the request until ns_cmd_done(), which is when the kernel is done too.
 *
 * Every command completes on the ring's completion thread, even one that needs no device
 * work (a flush without a volatile write cache) or that is refused before reaching the
 * device: those go through an IORING_OP_NOP, so end_io never runs on a submitter's thread.
 *
 * Errors: cqe->res is a negative errno or the NVMe status (DNR | More | SCT | SC). The three
 * end-to-end statuses become -EIO with the failing tag. The device names only the command, so
 * the failing block is found on the host: a write's own buffers, or the blocks re-read with
 * PRCHK off for a read, go through pi_verify(), which names the LBA, expected and found. The
 * re-read is a synchronous NVME_IOCTL_IO_CMD on the completion thread (which cannot wait for a
 * CQE it would have to reap itself); it runs only on this error path.
 *
 * Write zeroes goes out with PRINFO 0 and DEAC set, so a controller that deallocates returns
 * the PI escape (all-FFh tuple) for those blocks, as QEMU does.
 */
#include "core/ns_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libnvme.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/ns_nvme_id.h"

#define NVME_PRINFO_SHIFT 26
#define NVME_RW_FUA	  (1u << 30)
#define NVME_WZ_DEAC	  (1u << 25)

/* NVMe status: SCT in bits 10:8, SC in bits 7:0 (DNR and More above are ignored). */
#define NVME_STATUS_MASK	  0x7ff
#define NVME_ST_INVALID_OPCODE	  0x001
#define NVME_ST_INVALID_FIELD	  0x002
#define NVME_ST_WRITE_PROTECTED	  0x020
#define NVME_ST_LBA_RANGE	  0x080
#define NVME_ST_CAP_EXCEEDED	  0x081
#define NVME_ST_INVALID_PROT_INFO 0x181
#define NVME_ST_GUARD_CHECK	  0x282
#define NVME_ST_APP_CHECK	  0x283
#define NVME_ST_REF_CHECK	  0x284

struct nvme_ns_state {
	int fd;
	uint32_t nsid;
	uint8_t checks_allowed; /* PI_CHECK_* the controller may be asked for */
};

/* A deallocate command's range list: the device reads it, so it lives until completion. */
struct nvme_dsm_cmd {
	struct nvme_dsm_range range;
};

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static const char *nvme_op_name(enum ns_op op)
{
	static const char *const names[] = {
		[NS_OP_READ] = "read",
		[NS_OP_WRITE] = "write",
		[NS_OP_FLUSH] = "flush",
		[NS_OP_WRITE_ZEROES] = "write-zeroes",
		[NS_OP_DEALLOCATE] = "deallocate",
	};

	return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "unknown op";
}

/* Map an NVMe status to an errno; *tag names a failed PI check. */
static int nvme_status_errno(int status, enum pi_tag *tag, const char **what)
{
	*tag = PI_TAG_NONE;
	switch (status & NVME_STATUS_MASK) {
	case NVME_ST_GUARD_CHECK:
		*tag = PI_TAG_GUARD;
		*what = "end-to-end guard check error";
		return -EIO;
	case NVME_ST_APP_CHECK:
		*tag = PI_TAG_APP;
		*what = "end-to-end application tag check error";
		return -EIO;
	case NVME_ST_REF_CHECK:
		*tag = PI_TAG_REF;
		*what = "end-to-end reference tag check error";
		return -EIO;
	case NVME_ST_INVALID_PROT_INFO:
		*what = "invalid protection information";
		return -EINVAL;
	case NVME_ST_INVALID_FIELD:
		*what = "invalid field in command";
		return -EINVAL;
	case NVME_ST_INVALID_OPCODE:
		*what = "invalid opcode";
		return -EOPNOTSUPP;
	case NVME_ST_LBA_RANGE:
		*what = "LBA out of range";
		return -ERANGE;
	case NVME_ST_CAP_EXCEEDED:
		*what = "capacity exceeded";
		return -ENOSPC;
	case NVME_ST_WRITE_PROTECTED:
		*what = "namespace is write protected";
		return -EROFS;
	default:
		*what = "device error";
		return -EIO;
	}
}

static uint8_t nvme_cmd_checks(const struct ns *ns, const struct ns_cmd *cmd)
{
	const struct nvme_ns_state *st = ns->backend_private;

	return cmd->rq->pi.checks & st->checks_allowed;
}

/* Read or write: data, separate metadata and the PI fields the controller checks. */
static void nvme_fill_rw(const struct ns *ns, const struct ns_cmd *cmd, struct nvme_uring_cmd *uc)
{
	const struct ns_request *rq = cmd->rq;
	const struct pi_format *pf = &ns->fmt.pi;

	uc->opcode = rq->op == NS_OP_READ ? nvme_cmd_read : nvme_cmd_write;
	if (cmd->iovcnt == 1) {
		uc->addr = (uintptr_t)cmd->iov[0].iov_base;
		uc->data_len = cmd->nlb * pf->lba_size;
	} else {
		uc->addr = (uintptr_t)cmd->iov; /* NVME_URING_CMD_IO_VEC: data_len counts iovecs */
		uc->data_len = cmd->iovcnt;
	}
	if (pf->md_size) {
		uc->metadata = (uintptr_t)cmd->md;
		uc->metadata_len = cmd->nlb * pf->md_size;
	}
	uc->cdw10 = (uint32_t)cmd->slba;
	uc->cdw11 = (uint32_t)(cmd->slba >> 32);
	uc->cdw12 = (cmd->nlb - 1) | (uint32_t)nvme_cmd_checks(ns, cmd) << NVME_PRINFO_SHIFT;
	if (rq->op == NS_OP_WRITE && rq->fua)
		uc->cdw12 |= NVME_RW_FUA;
	if (pf->type != PI_TYPE_NONE) {
		uc->cdw14 = (uint32_t)cmd->ref_tag;
		if (pf->guard == PI_GUARD_64)
			uc->cdw3 = (uint32_t)(cmd->ref_tag >> 32) & 0xffff;
		uc->cdw15 = (uint32_t)rq->pi.app_mask << 16 | rq->pi.app_tag;
	}
}

/*
 * Build the NVMe command of cmd. Returns 0, 1 when the command needs no device work, or a
 * negative errno for a command the device must not see.
 */
static int nvme_build_cmd(struct ns *ns, struct ns_cmd *cmd, struct nvme_uring_cmd *uc)
{
	const struct nvme_ns_state *st = ns->backend_private;
	const struct ns_request *rq = cmd->rq;
	struct nvme_dsm_cmd *dsm;

	memset(uc, 0, sizeof(*uc));
	uc->nsid = st->nsid;
	cmd->backend_private = NULL;
	switch (rq->op) {
	case NS_OP_READ:
	case NS_OP_WRITE:
		if (cmd->nlb == 0 || cmd->nlb > 65536 || cmd->iovcnt < 1 ||
		    (ns->fmt.pi.md_size && !cmd->md))
			return -EINVAL;
		nvme_fill_rw(ns, cmd, uc);
		return 0;
	case NS_OP_FLUSH:
		if (!ns->fmt.volatile_cache)
			return 1; /* nothing volatile to flush */
		uc->opcode = nvme_cmd_flush;
		return 0;
	case NS_OP_WRITE_ZEROES:
		if (!ns->fmt.write_zeroes)
			return -EOPNOTSUPP;
		if (cmd->nlb == 0 || cmd->nlb > 65536)
			return -EINVAL;
		/* PRINFO 0: with PRCHK set QEMU refuses; DEAC lets the PI read back as 0xFF */
		uc->opcode = nvme_cmd_write_zeroes;
		uc->cdw10 = (uint32_t)cmd->slba;
		uc->cdw11 = (uint32_t)(cmd->slba >> 32);
		uc->cdw12 = (cmd->nlb - 1) | NVME_WZ_DEAC;
		return 0;
	case NS_OP_DEALLOCATE:
		if (!ns->fmt.deallocate)
			return -EOPNOTSUPP;
		if (cmd->nlb == 0)
			return -EINVAL;
		dsm = calloc(1, sizeof(*dsm));
		if (!dsm)
			return -ENOMEM;
		dsm->range.nlb = htole32(cmd->nlb);
		dsm->range.slba = htole64(cmd->slba);
		cmd->backend_private = dsm;
		uc->opcode = nvme_cmd_dsm;
		uc->addr = (uintptr_t)&dsm->range;
		uc->data_len = sizeof(dsm->range);
		uc->cdw10 = 0; /* one range */
		uc->cdw11 = NVME_DSMGMT_AD;
		return 0;
	}
	return -EINVAL;
}

/* Synchronous read without PI checks, for locating a failed block on the host. */
static int nvme_read_unchecked(struct ns *ns, const struct ns_cmd *cmd, void *data, void *md)
{
	const struct nvme_ns_state *st = ns->backend_private;
	struct nvme_passthru_cmd pc;
	int ret;

	memset(&pc, 0, sizeof(pc));
	pc.opcode = nvme_cmd_read;
	pc.nsid = st->nsid;
	pc.addr = (uintptr_t)data;
	pc.data_len = cmd->nlb * ns->fmt.pi.lba_size;
	pc.metadata = (uintptr_t)md;
	pc.metadata_len = cmd->nlb * ns->fmt.pi.md_size;
	pc.cdw10 = (uint32_t)cmd->slba;
	pc.cdw11 = (uint32_t)(cmd->slba >> 32);
	pc.cdw12 = cmd->nlb - 1;
	ret = ioctl(st->fd, NVME_IOCTL_IO_CMD, &pc);
	if (ret < 0)
		return -errno;
	return ret ? -EIO : 0;
}

/*
 * Find the block of cmd that fails the host's PI check with the command's parameters.
 * Returns -EIO with *found filled, 0 when every block passes, or another negative errno.
 */
static int nvme_locate_pi_error(struct ns *ns, const struct ns_cmd *cmd, struct pi_error *found)
{
	const struct ns_request *rq = cmd->rq;
	struct pi_io io = {
		.lba = cmd->slba,
		.ref_tag = cmd->ref_tag,
		.app_tag = rq->pi.app_tag,
		.app_mask = rq->pi.app_mask,
		.checks = nvme_cmd_checks(ns, cmd),
	};
	size_t data_len = (size_t)cmd->nlb * ns->fmt.pi.lba_size;
	struct iovec iov;
	void *data = NULL, *md = NULL;
	int ret;

	if (rq->op == NS_OP_WRITE) /* what we sent is still in the caller's buffers */
		return pi_verify(&ns->pi, cmd->iov, cmd->iovcnt, cmd->md, cmd->nlb, &io, found);
	if (posix_memalign(&data, NS_NVME_MIN_PAGE, data_len))
		return -ENOMEM;
	md = calloc(cmd->nlb, ns->fmt.pi.md_size ? ns->fmt.pi.md_size : 1);
	if (!md) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = nvme_read_unchecked(ns, cmd, data, md);
	if (ret)
		goto out_free;
	iov.iov_base = data;
	iov.iov_len = data_len;
	ret = pi_verify(&ns->pi, &iov, 1, md, cmd->nlb, &io, found);
out_free:
	free(md);
	free(data);
	return ret;
}

/* A command the device failed with NVMe status (positive cqe->res). */
static void nvme_fail_status(struct ns *ns, struct ns_cmd *cmd, int status)
{
	struct pi_error pe = {0};
	const char *what;
	enum pi_tag tag;
	char where[160] = "";
	int err;

	err = nvme_status_errno(status, &tag, &what);
	if (tag == PI_TAG_NONE || ns->fmt.pi.type == PI_TYPE_NONE) {
		gfs_err("%s: %s LBA %" PRIu64 "+%" PRIu32 " failed: NVMe status 0x%03x (%s)",
			ns->path, nvme_op_name(cmd->rq->op), cmd->slba, cmd->nlb,
			status & NVME_STATUS_MASK, what);
		ns_cmd_done(cmd, err, NULL);
		return;
	}
	if (nvme_locate_pi_error(ns, cmd, &pe) == -EIO) {
		snprintf(where, sizeof(where),
			 "; host check: %s tag of LBA %" PRIu64 " expected 0x%" PRIx64
			 " found 0x%" PRIx64,
			 pi_tag_name(pe.tag), pe.lba, pe.expected, pe.found);
	} else {
		/* the host sees no bad block now: name the command, as the device does */
		memset(&pe, 0, sizeof(pe));
		pe.lba = cmd->slba;
		pe.tag = tag;
		snprintf(where, sizeof(where),
			 "; the device reports per command, first LBA %" PRIu64 " named", pe.lba);
	}
	gfs_err("%s: %s LBA %" PRIu64 "+%" PRIu32 " failed: NVMe status 0x%03x (%s)%s", ns->path,
		nvme_op_name(cmd->rq->op), cmd->slba, cmd->nlb, status & NVME_STATUS_MASK, what,
		where);
	ns_cmd_done(cmd, err, &pe);
}

static void nvme_complete(struct ns_ring_op *op, const struct io_uring_cqe *cqe)
{
	struct ns_cmd *cmd = container_of(op, struct ns_cmd, op);
	struct ns *ns = cmd->ns;
	int res = cqe->res;

	free(cmd->backend_private); /* a deallocate's range list; NULL otherwise */
	cmd->backend_private = NULL;
	if (cmd->error) { /* refused in nvme_queue(), completed through a NOP */
		ns_cmd_done(cmd, cmd->error, NULL);
		return;
	}
	if (res > 0) {
		nvme_fail_status(ns, cmd, res);
		return;
	}
	if (res < 0)
		gfs_err("%s: %s LBA %" PRIu64 "+%" PRIu32 " failed: %s", ns->path,
			nvme_op_name(cmd->rq->op), cmd->slba, cmd->nlb, strerror(-res));
	ns_cmd_done(cmd, res, NULL);
}

static bool nvme_is_vectored(const struct ns_cmd *cmd)
{
	return (cmd->rq->op == NS_OP_READ || cmd->rq->op == NS_OP_WRITE) && cmd->iovcnt > 1;
}

/* SQE128: the NVMe command lives in the SQE's 80-byte cmd area. */
static void nvme_prep_sqe(struct io_uring_sqe *sqe, int fd, const struct nvme_uring_cmd *uc,
			  bool vectored)
{
	__u64 user_data = sqe->user_data;

	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->user_data = user_data;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = vectored ? NVME_URING_CMD_IO_VEC : NVME_URING_CMD_IO;
	memcpy(sqe->cmd, uc, sizeof(*uc));
}

static void nvme_prep_nop(struct io_uring_sqe *sqe)
{
	__u64 user_data = sqe->user_data;

	memset(sqe, 0, 2 * sizeof(*sqe));
	io_uring_prep_nop(sqe);
	sqe->user_data = user_data;
}

static int nvme_queue(struct ns *ns, struct ns_cmd **cmds, unsigned count)
{
	const struct nvme_ns_state *st = ns->backend_private;
	struct nvme_uring_cmd uc;
	struct io_uring_sqe *sqe;
	unsigned i;
	int ret;

	ns_ring_lock(ns->ring);
	for (i = 0; i < count; i++) {
		struct ns_cmd *cmd = cmds[i];

		cmd->op.complete = nvme_complete;
		cmd->error = 0;
		ret = nvme_build_cmd(ns, cmd, &uc);
		sqe = ns_ring_get_sqe(ns->ring, &cmd->op);
		if (ret == 0) {
			nvme_prep_sqe(sqe, st->fd, &uc, nvme_is_vectored(cmd));
			continue;
		}
		cmd->error = ret < 0 ? ret : 0;
		nvme_prep_nop(sqe);
	}
	ret = ns_ring_submit(ns->ring);
	ns_ring_unlock(ns->ring);
	/*
	 * The SQEs are on the ring whatever the system call said (ns_ring_submit retries the
	 * transient refusals): the next submission or ns_ring_destroy() hands them to the kernel
	 * and they complete through nvme_complete(). So they count as queued.
	 */
	if (ret)
		gfs_warn("%s: io_uring submission deferred: %s", ns->path, strerror(-ret));
	return 0;
}

static void nvme_close(struct ns *ns)
{
	struct nvme_ns_state *st = ns->backend_private;

	if (!st)
		return;
	close(st->fd);
	free(st);
	ns->backend_private = NULL;
}

static const struct ns_backend_ops nvme_backend_ops = {
	.name = "nvme",
	.queue = nvme_queue,
	.close = nvme_close,
};

static uint8_t nvme_checks_allowed(enum pi_type type)
{
	switch (type) {
	case PI_TYPE_1:
	case PI_TYPE_2:
		return PI_CHECK_ALL;
	case PI_TYPE_3:
		return PI_CHECK_APP | PI_CHECK_GUARD;
	default:
		return 0;
	}
}

/* Refuse a namespace whose format differs from the one the caller expects. */
static int nvme_check_expected(const char *path, const struct ns_format *fmt,
			       const struct ns_options *opts)
{
	char have[96], want[96];

	if (!opts || !opts->format || ns_nvme_format_matches(opts->format, &fmt->pi))
		return 0;
	gfs_err("%s: namespace is formatted %s, but %s was expected", path,
		ns_nvme_format_name(&fmt->pi, have, sizeof(have)),
		ns_nvme_format_name(opts->format, want, sizeof(want)));
	return -EINVAL;
}

int ns_nvme_open(struct ns *ns, const char *path, const struct ns_options *opts)
{
	bool read_only = opts && opts->read_only;
	struct nvme_ns_state *st;
	struct stat stbuf;
	int ret;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (st->fd < 0) {
		ret = -errno;
		gfs_err("%s: cannot open NVMe generic device: %s", path, strerror(-ret));
		goto out_free;
	}
	if (fstat(st->fd, &stbuf) || !S_ISCHR(stbuf.st_mode)) {
		gfs_err("%s: not an NVMe generic character device (/dev/ngXnY)", path);
		ret = -ENOTTY;
		goto out_close;
	}
	ret = ns_nvme_identify(st->fd, path, &st->nsid, &ns->fmt);
	if (ret)
		goto out_close;
	ret = nvme_check_expected(path, &ns->fmt, opts);
	if (ret)
		goto out_close;
	st->checks_allowed = nvme_checks_allowed(ns->fmt.pi.type);
	ret = ns_ring_create(opts && opts->queue_depth ? opts->queue_depth : 128,
			     IORING_SETUP_SQE128 | IORING_SETUP_CQE32, &ns->ring);
	if (ret) {
		gfs_err("%s: cannot set up an io_uring for NVMe passthrough: %s", path,
			strerror(-ret));
		goto out_close;
	}
	ns->backend = NS_BACKEND_NVME;
	ns->ops = &nvme_backend_ops;
	ns->backend_private = st;
	return 0;
out_close:
	close(st->fd);
out_free:
	free(st);
	return ret;
}
