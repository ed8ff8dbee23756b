// SPDX-License-Identifier: MIT
/*
 * ns.c - the namespace layer's front: open by path, request validation, splitting at the max
 * transfer, completion of a request exactly once, and the synchronous helpers.
 *
 * A request becomes one or more struct ns_cmd pieces, all carved out of one allocation
 * (struct ns_split: pieces, the pointer array handed to the backend, and the pieces' iovec
 * slices). rq->pieces_pending starts at the piece count; each ns_cmd_done() drops it, and the
 * call that brings it to zero frees the split and runs end_io — after which nothing here
 * touches rq again. The first failing piece wins rq->first_error and alone writes
 * rq->pi_error, before its decrement, so the last piece sees it (acq_rel on pieces_pending).
 * This is the shape of the kernel's iomap_dio_bio_end_io()/iomap_dio_complete() pair.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bug.h"
#include "core/log.h"
#include "core/ns_internal.h"

/* Write zeroes and deallocate move no data; cut them at the NVMe NLB field's limit. */
#define NS_ZEROES_MAX_NLB 65536u

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct ns_split;

struct ns_piece {
	struct ns_cmd cmd;
	struct ns_split *split;
};

struct ns_split {
	unsigned count;
	struct ns_cmd **cmds;	  /* count pointers, for backend->queue() */
	struct ns_piece pieces[]; /* then the pointers, then the iovec slices */
};

static const char *const ns_op_names[] = {
	[NS_OP_READ] = "read",
	[NS_OP_WRITE] = "write",
	[NS_OP_FLUSH] = "flush",
	[NS_OP_WRITE_ZEROES] = "write zeroes",
	[NS_OP_DEALLOCATE] = "deallocate",
};

static const char *ns_op_name(enum ns_op op)
{
	return (unsigned)op <= NS_OP_DEALLOCATE ? ns_op_names[op] : "unknown op";
}

void ns_cmd_done(struct ns_cmd *cmd, int error, const struct pi_error *pe)
{
	struct ns_piece *piece = container_of(cmd, struct ns_piece, cmd);
	struct ns_request *rq = cmd->rq;
	struct ns *ns = cmd->ns;

	if (error) {
		int none = 0;

		if (atomic_compare_exchange_strong(&rq->first_error, &none, error) && pe) {
			rq->pi_error = *pe;
			/* The backend counts blocks within its command; callers within rq. */
			rq->pi_error.block = (uint32_t)(pe->lba - rq->slba);
		}
	}
	if (atomic_fetch_sub_explicit(&rq->pieces_pending, 1, memory_order_acq_rel) != 1)
		return;
	free(piece->split);
	rq->error = atomic_load(&rq->first_error);
	if (rq->error)
		atomic_fetch_add_explicit(&ns->counters.errors, 1, memory_order_relaxed);
	rq->end_io(rq);
}

static size_t ns_iov_bytes(const struct iovec *iov, int iovcnt)
{
	size_t bytes = 0;

	for (int i = 0; i < iovcnt; i++)
		bytes += iov[i].iov_len;
	return bytes;
}

static int ns_check_range(const struct ns *ns, const struct ns_request *rq)
{
	if (!rq->nlb) {
		gfs_err("%s: %s of 0 blocks at LBA %llu refused", ns->path, ns_op_name(rq->op),
			(unsigned long long)rq->slba);
		return -EINVAL;
	}
	if (rq->slba >= ns->fmt.nlb || rq->nlb > ns->fmt.nlb - rq->slba) {
		gfs_err("%s: %s of LBA %llu+%u is beyond the capacity of %llu blocks", ns->path,
			ns_op_name(rq->op), (unsigned long long)rq->slba, rq->nlb,
			(unsigned long long)ns->fmt.nlb);
		return -ERANGE;
	}
	return 0;
}

static int ns_check_buffers(const struct ns *ns, const struct ns_request *rq)
{
	size_t need = (size_t)rq->nlb * ns->fmt.pi.lba_size;

	if (!rq->iov || rq->iovcnt <= 0 || rq->iovcnt > IOV_MAX ||
	    ns_iov_bytes(rq->iov, rq->iovcnt) < need) {
		gfs_err("%s: %s of LBA %llu+%u refused: data iovecs must hold %zu bytes in at most "
			"%d entries",
			ns->path, ns_op_name(rq->op), (unsigned long long)rq->slba, rq->nlb, need,
			IOV_MAX);
		return -EINVAL;
	}
	if (ns->fmt.pi.md_size && !rq->md) {
		gfs_err("%s: %s of LBA %llu+%u refused: the format has %u bytes of metadata per "
			"block but no metadata buffer was given",
			ns->path, ns_op_name(rq->op), (unsigned long long)rq->slba, rq->nlb,
			ns->fmt.pi.md_size);
		return -EINVAL;
	}
	return 0;
}

/* Bad input gets one line naming the namespace, the op and the reason. */
static int ns_check_request(const struct ns *ns, const struct ns_request *rq)
{
	bool writes =
		rq->op == NS_OP_WRITE || rq->op == NS_OP_WRITE_ZEROES || rq->op == NS_OP_DEALLOCATE;
	int ret;

	if ((unsigned)rq->op > NS_OP_DEALLOCATE || !rq->end_io) {
		gfs_err("%s: request refused: %s", ns->path,
			rq->end_io ? "unknown op" : "no end_io callback");
		return -EINVAL;
	}
	if (writes && ns->read_only) {
		gfs_err("%s: %s of LBA %llu+%u refused: the namespace is open read-only", ns->path,
			ns_op_name(rq->op), (unsigned long long)rq->slba, rq->nlb);
		return -EROFS;
	}
	if ((rq->op == NS_OP_WRITE_ZEROES && !ns->fmt.write_zeroes) ||
	    (rq->op == NS_OP_DEALLOCATE && !ns->fmt.deallocate)) {
		gfs_err("%s: %s is not supported by this namespace", ns->path, ns_op_name(rq->op));
		return -EOPNOTSUPP;
	}
	if (rq->op == NS_OP_FLUSH)
		return 0;
	ret = ns_check_range(ns, rq);
	if (ret || (rq->op != NS_OP_READ && rq->op != NS_OP_WRITE))
		return ret;
	return ns_check_buffers(ns, rq);
}

static uint32_t ns_piece_blocks(const struct ns *ns, enum ns_op op)
{
	if (op == NS_OP_WRITE_ZEROES || op == NS_OP_DEALLOCATE)
		return NS_ZEROES_MAX_NLB;
	return ns->fmt.max_transfer / ns->fmt.pi.lba_size ?: 1;
}

/*
 * Cut bytes off the caller's iovecs starting at (*idx, *off) into out; returns the entries
 * used. A piece spans at most the entries it touches, so all pieces together need no more than
 * iovcnt + count - 1 slots.
 */
static int ns_slice_iov(const struct iovec *iov, int *idx, size_t *off, size_t bytes,
			struct iovec *out)
{
	int used = 0;

	while (bytes) {
		size_t len = iov[*idx].iov_len - *off;

		if (len > bytes)
			len = bytes;
		if (len) {
			out[used].iov_base = (char *)iov[*idx].iov_base + *off;
			out[used++].iov_len = len;
		}
		bytes -= len;
		*off += len;
		if (*off == iov[*idx].iov_len) {
			(*idx)++;
			*off = 0;
		}
	}
	return used;
}

static struct ns_split *ns_split_alloc(unsigned count, int iov_slots)
{
	size_t size = sizeof(struct ns_split) + count * sizeof(struct ns_piece) +
		      count * sizeof(struct ns_cmd *) + (size_t)iov_slots * sizeof(struct iovec);
	struct ns_split *split = malloc(size);

	if (!split)
		return NULL;
	split->count = count;
	split->cmds = (struct ns_cmd **)&split->pieces[count];
	return split;
}

static void ns_fill_piece(struct ns *ns, struct ns_request *rq, struct ns_piece *piece,
			  uint64_t offset_blocks, uint32_t nlb)
{
	struct ns_cmd *cmd = &piece->cmd;

	memset(cmd, 0, sizeof(*cmd));
	cmd->ns = ns;
	cmd->rq = rq;
	cmd->slba = rq->slba + offset_blocks;
	cmd->nlb = nlb;
	cmd->ref_tag = rq->pi.ref_tag;
	/* Types 1 and 2 count the ref tag up per block; type 3 keeps it constant. */
	if (ns->fmt.pi.type == PI_TYPE_1 || ns->fmt.pi.type == PI_TYPE_2)
		cmd->ref_tag += offset_blocks;
	if (rq->md && ns->fmt.pi.md_size)
		cmd->md = (char *)rq->md + offset_blocks * ns->fmt.pi.md_size;
}

/* One allocation holding every piece of rq, the pointer array and the iovec slices. */
static int ns_split_request(struct ns *ns, struct ns_request *rq, struct ns_split **out)
{
	bool has_data = rq->op == NS_OP_READ || rq->op == NS_OP_WRITE;
	uint32_t per_piece = ns_piece_blocks(ns, rq->op);
	unsigned count = rq->op == NS_OP_FLUSH ? 1 : (rq->nlb + per_piece - 1) / per_piece;
	int iov_slots = has_data ? rq->iovcnt + (int)count - 1 : 0;
	struct ns_split *split = ns_split_alloc(count, iov_slots);
	struct iovec *slots;
	uint64_t done = 0;
	size_t off = 0;
	int idx = 0;

	if (!split)
		return -ENOMEM;
	slots = (struct iovec *)&split->cmds[count];
	for (unsigned i = 0; i < count; i++) {
		struct ns_piece *piece = &split->pieces[i];
		uint32_t nlb = rq->nlb - done < per_piece ? (uint32_t)(rq->nlb - done) : per_piece;

		ns_fill_piece(ns, rq, piece, done, nlb);
		piece->split = split;
		if (has_data) {
			piece->cmd.iov = slots;
			piece->cmd.iovcnt = ns_slice_iov(rq->iov, &idx, &off,
							 (size_t)nlb * ns->fmt.pi.lba_size, slots);
			slots += piece->cmd.iovcnt;
		}
		split->cmds[i] = &piece->cmd;
		done += nlb;
	}
	*out = split;
	return 0;
}

static void ns_count_request(struct ns *ns, const struct ns_request *rq)
{
	uint64_t bytes = (uint64_t)rq->nlb * ns->fmt.pi.lba_size;

	atomic_fetch_add_explicit(&ns->counters.ops[rq->op], 1, memory_order_relaxed);
	if (rq->op == NS_OP_READ)
		atomic_fetch_add_explicit(&ns->counters.bytes_read, bytes, memory_order_relaxed);
	else if (rq->op == NS_OP_WRITE)
		atomic_fetch_add_explicit(&ns->counters.bytes_written, bytes, memory_order_relaxed);
}

int ns_submit(struct ns *ns, struct ns_request *rq)
{
	struct ns_split *split;
	int ret;

	ret = ns_check_request(ns, rq);
	if (ret)
		return ret;
	ret = ns_split_request(ns, rq, &split);
	if (ret)
		return ret;
	rq->error = 0;
	memset(&rq->pi_error, 0, sizeof(rq->pi_error));
	atomic_store(&rq->first_error, 0);
	atomic_store(&rq->pieces_pending, split->count);
	/* Count before queueing: end_io may run (and the caller read the stats) before return. */
	ns_count_request(ns, rq);
	ret = ns->ops->queue(ns, split->cmds, split->count);
	if (ret) {
		free(split);
		gfs_err("%s: %s of LBA %llu+%u could not be queued: %s", ns->path,
			ns_op_name(rq->op), (unsigned long long)rq->slba, rq->nlb, strerror(-ret));
	}
	return ret;
}

struct ns_waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void ns_wake_waiter(struct ns_request *rq)
{
	struct ns_waiter *waiter = rq->private;

	/* The waiter may return as soon as it sees done: signal under its lock. */
	pthread_mutex_lock(&waiter->lock);
	waiter->done = true;
	pthread_cond_signal(&waiter->cond);
	pthread_mutex_unlock(&waiter->lock);
}

int ns_submit_wait(struct ns *ns, struct ns_request *rq)
{
	struct ns_waiter waiter = {.done = false};
	void *saved_private = rq->private;
	int ret;

	if (rq->end_io) {
		gfs_err("%s: ns_submit_wait: the request already has an end_io", ns->path);
		return -EINVAL;
	}
	/* Waiting on the thread that completes requests would never return. */
	GFS_BUG_ON(ns_ring_on_completion_thread(ns->ring));
	pthread_mutex_init(&waiter.lock, NULL);
	pthread_cond_init(&waiter.cond, NULL);
	rq->end_io = ns_wake_waiter;
	rq->private = &waiter;
	ret = ns_submit(ns, rq);
	if (!ret) {
		pthread_mutex_lock(&waiter.lock);
		while (!waiter.done)
			pthread_cond_wait(&waiter.cond, &waiter.lock);
		pthread_mutex_unlock(&waiter.lock);
		ret = rq->error;
	}
	rq->end_io = NULL;
	rq->private = saved_private;
	pthread_cond_destroy(&waiter.cond);
	pthread_mutex_destroy(&waiter.lock);
	return ret;
}

static int ns_rw_sync(struct ns *ns, enum ns_op op, uint64_t slba, uint32_t nlb, void *data,
		      void *md, const struct ns_pi_params *pi)
{
	struct iovec iov = {
		.iov_base = data,
		.iov_len = (size_t)nlb * ns->fmt.pi.lba_size,
	};
	struct ns_request rq = {
		.op = op,
		.slba = slba,
		.nlb = nlb,
		.iov = data ? &iov : NULL,
		.iovcnt = data ? 1 : 0,
		.md = md,
	};

	if (pi)
		rq.pi = *pi;
	return ns_submit_wait(ns, &rq);
}

int ns_read_sync(struct ns *ns, uint64_t slba, uint32_t nlb, void *data, void *md,
		 const struct ns_pi_params *pi)
{
	return ns_rw_sync(ns, NS_OP_READ, slba, nlb, data, md, pi);
}

int ns_write_sync(struct ns *ns, uint64_t slba, uint32_t nlb, const void *data, const void *md,
		  const struct ns_pi_params *pi)
{
	/* The request type is shared with reads; a write never stores into these buffers. */
	return ns_rw_sync(ns, NS_OP_WRITE, slba, nlb, (void *)data, (void *)md, pi);
}

int ns_flush_sync(struct ns *ns)
{
	struct ns_request rq = {.op = NS_OP_FLUSH};

	return ns_submit_wait(ns, &rq);
}

void ns_get_stats(const struct ns *ns, struct ns_stats *out)
{
	const struct ns_counters *c = &ns->counters;

	out->reads = atomic_load_explicit(&c->ops[NS_OP_READ], memory_order_relaxed);
	out->writes = atomic_load_explicit(&c->ops[NS_OP_WRITE], memory_order_relaxed);
	out->flushes = atomic_load_explicit(&c->ops[NS_OP_FLUSH], memory_order_relaxed);
	out->write_zeroes = atomic_load_explicit(&c->ops[NS_OP_WRITE_ZEROES], memory_order_relaxed);
	out->deallocates = atomic_load_explicit(&c->ops[NS_OP_DEALLOCATE], memory_order_relaxed);
	out->bytes_read = atomic_load_explicit(&c->bytes_read, memory_order_relaxed);
	out->bytes_written = atomic_load_explicit(&c->bytes_written, memory_order_relaxed);
	out->errors = atomic_load_explicit(&c->errors, memory_order_relaxed);
}

const struct ns_format *ns_get_format(const struct ns *ns)
{
	return &ns->fmt;
}

enum ns_backend ns_get_backend(const struct ns *ns)
{
	return ns->backend;
}

const char *ns_get_path(const struct ns *ns)
{
	return ns->path;
}

/*
 * /dev/nvmeXnY -> /dev/ngXnY. The kernel names a namespace's generic device after the same
 * controller (or subsystem, with multipath) and namespace-head instances as its block device,
 * and lists it under /sys/class/nvme-generic; a partition or a path device has no ng twin.
 */
static int ns_map_block_to_generic(const char *path, char *out, size_t size)
{
	char real[PATH_MAX], sys[PATH_MAX];
	const char *name;
	unsigned ctrl, nsid;
	int end = 0;

	if (!realpath(path, real))
		return -errno;
	name = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
	if (sscanf(name, "nvme%un%u%n", &ctrl, &nsid, &end) != 2 || name[end] != '\0') {
		gfs_err("%s: block device %s is not an NVMe namespace (/dev/nvmeXnY)", path, name);
		return -ENODEV;
	}
	snprintf(sys, sizeof(sys), "/sys/class/nvme-generic/ng%un%u", ctrl, nsid);
	if (access(sys, F_OK)) {
		gfs_err("%s: no NVMe generic device ng%un%u in sysfs (kernel older than 5.13?)",
			path, ctrl, nsid);
		return -ENODEV;
	}
	snprintf(out, size, "/dev/ng%un%u", ctrl, nsid);
	return 0;
}

/* A character device must be an NVMe generic device, /dev/ngXnY (symlinks resolved). */
static bool ns_is_generic_name(const char *path)
{
	char real[PATH_MAX];
	const char *name;
	unsigned ctrl, nsid;
	int end = 0;

	if (!realpath(path, real))
		return false;
	name = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
	if (sscanf(name, "ng%un%u%n", &ctrl, &nsid, &end) == 2 && name[end] == '\0')
		return true;
	gfs_err("%s: character device %s is not an NVMe generic device (/dev/ngXnY)", path, name);
	return false;
}

static int ns_open_backend(struct ns *ns, const char *path, const struct ns_options *opts)
{
	char generic[64];
	struct stat st;
	int ret;

	if (stat(path, &st)) {
		ret = -errno;
		gfs_err("%s: cannot open namespace: %s", path, strerror(-ret));
		return ret;
	}
	if (S_ISREG(st.st_mode))
		return ns_file_open(ns, path, opts);
	if (S_ISCHR(st.st_mode))
		return ns_is_generic_name(path) ? ns_nvme_open(ns, path, opts) : -ENODEV;
	if (S_ISBLK(st.st_mode)) {
		ret = ns_map_block_to_generic(path, generic, sizeof(generic));
		return ret ? ret : ns_nvme_open(ns, generic, opts);
	}
	gfs_err("%s: not a regular file, /dev/ngXnY or /dev/nvmeXnY", path);
	return -ENODEV;
}

int ns_open(const char *path, const struct ns_options *opts, struct ns **out)
{
	static const struct ns_options defaults;
	struct ns *ns;
	int ret;

	if (!path || !out)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	ns->path = strdup(path);
	if (!ns->path) {
		ret = -ENOMEM;
		goto out_free;
	}
	ns->read_only = opts->read_only;
	ns->strict = opts->strict;
	ret = ns_open_backend(ns, path, opts);
	if (ret)
		goto out_free;
	ns->fmt.pi.layout = PI_MD_SEPARATE;
	ret = pi_ctx_init(&ns->pi, &ns->fmt.pi);
	if (ret) {
		gfs_err("%s: unsupported format %u+%u PI type %d: %s", path, ns->fmt.pi.lba_size,
			ns->fmt.pi.md_size, ns->fmt.pi.type, strerror(-ret));
		goto out_close;
	}
	*out = ns;
	return 0;

out_close:
	ns_ring_destroy(ns->ring);
	ns->ring = NULL;
	ns->ops->close(ns);
out_free:
	free(ns->path);
	free(ns);
	return ret;
}

void ns_close(struct ns *ns)
{
	if (!ns)
		return;
	/* Destroying the ring waits for everything in flight; only then may the backend go. */
	ns_ring_destroy(ns->ring);
	ns->ring = NULL;
	ns->ops->close(ns);
	free(ns->path);
	free(ns);
}
