// SPDX-License-Identifier: MIT
/*
 * ns_wlog.c - the file backend's write log and its replay (crash-consistency test hook).
 *
 * Records are appended by the completion thread as commands finish, so the log is in completion
 * order; each write record holds a copy of the data and metadata that reached the file (after
 * fault hooks: a misdirected write is logged where it landed, a torn one with its prefix, a lost
 * one not at all). A flush record carries `durable`, the record count when it was submitted.
 *
 * Replay writes records into a fresh image with pwrite/fallocate; nothing here touches a live
 * namespace. An allocation failure while recording marks the log incomplete, and replay of an
 * incomplete log fails with -ENOMEM rather than build a wrong image.
 *
 * Lock order: log->lock is a leaf lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/ns_internal.h"
#include "core/ns_wlog.h"

struct wlog_rec {
	enum ns_wlog_kind kind;
	uint64_t slba;
	uint32_t nlb;
	size_t durable;
	uint8_t *buf; /* WRITE: data, then metadata */
};

struct ns_wlog {
	pthread_mutex_t lock; /* leaf lock: recs, count, cap, incomplete */
	uint32_t lba_size;
	uint32_t md_size;
	uint64_t nlb;
	uint64_t image_size;
	struct wlog_rec *recs;
	size_t count;
	size_t cap;
	bool incomplete;
};

#define WLOG_COPY_CHUNK (1u << 20)

struct ns_wlog *ns_wlog_of(struct ns *ns)
{
	return atomic_load_explicit(&ns->wlog, memory_order_acquire);
}

static int wlog_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t done = pwrite(fd, buf, len, (off_t)off);

		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0)
			return done < 0 ? -errno : -EIO;
		buf = (const char *)buf + done;
		len -= (size_t)done;
		off += (uint64_t)done;
	}
	return 0;
}

/* Copy the data extents of src into dst (already truncated to size): holes stay holes. */
static int wlog_copy_sparse(int src, int dst, uint64_t size)
{
	char *buf = malloc(WLOG_COPY_CHUNK);
	off_t pos = 0;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (!ret && (uint64_t)pos < size) {
		off_t data = lseek(src, pos, SEEK_DATA), hole;

		if (data < 0)
			break; /* ENXIO: only holes left */
		hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = (off_t)size;
		for (pos = data; !ret && pos < hole;) {
			size_t len = (size_t)(hole - pos) < WLOG_COPY_CHUNK ? (size_t)(hole - pos)
									    : WLOG_COPY_CHUNK;
			ssize_t got = pread(src, buf, len, pos);

			if (got <= 0) {
				ret = got < 0 ? -errno : -EIO;
				break;
			}
			ret = wlog_pwrite_all(dst, buf, (size_t)got, (uint64_t)pos);
			pos += got;
		}
	}
	free(buf);
	return ret;
}

static int wlog_open_image(const char *path, uint64_t size, int *out)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

static int wlog_snapshot(const struct ns *ns, const char *path, uint64_t size)
{
	int src, dst = -1, ret;

	src = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return -errno;
	ret = wlog_open_image(path, size, &dst);
	if (!ret) {
		ret = wlog_copy_sparse(src, dst, size);
		close(dst);
	}
	close(src);
	return ret;
}

int ns_wlog_start(struct ns *ns, const char *base_copy, struct ns_wlog **out)
{
	struct ns_wlog *log;
	struct stat st;
	int ret;

	if (ns->backend != NS_BACKEND_FILE || ns_wlog_of(ns))
		return ns_wlog_of(ns) ? -EBUSY : -EOPNOTSUPP;
	if (stat(ns->path, &st))
		return -errno;
	log = calloc(1, sizeof(*log));
	if (!log)
		return -ENOMEM;
	pthread_mutex_init(&log->lock, NULL);
	log->lba_size = ns->fmt.pi.lba_size;
	log->md_size = ns->fmt.pi.md_size;
	log->nlb = ns->fmt.nlb;
	log->image_size = (uint64_t)st.st_size;
	if (base_copy) {
		ret = wlog_snapshot(ns, base_copy, log->image_size);
		if (ret) {
			gfs_err("%s: cannot copy the image to %s: %s", ns->path, base_copy,
				strerror(-ret));
			ns_wlog_free(log);
			return ret;
		}
	}
	atomic_store_explicit(&ns->wlog, log, memory_order_release);
	*out = log;
	return 0;
}

void ns_wlog_stop(struct ns *ns)
{
	atomic_store_explicit(&ns->wlog, NULL, memory_order_release);
}

void ns_wlog_free(struct ns_wlog *log)
{
	if (!log)
		return;
	for (size_t i = 0; i < log->count; i++)
		free(log->recs[i].buf);
	free(log->recs);
	pthread_mutex_destroy(&log->lock);
	free(log);
}

size_t ns_wlog_count(const struct ns_wlog *log)
{
	size_t count;

	pthread_mutex_lock((pthread_mutex_t *)&log->lock);
	count = log->count;
	pthread_mutex_unlock((pthread_mutex_t *)&log->lock);
	return count;
}

int ns_wlog_get(const struct ns_wlog *log, size_t index, struct ns_wlog_entry *out)
{
	const struct wlog_rec *rec;

	if (index >= ns_wlog_count(log))
		return -ENOENT;
	rec = &log->recs[index];
	out->kind = rec->kind;
	out->slba = rec->slba;
	out->nlb = rec->nlb;
	out->durable = rec->durable;
	out->data = rec->kind == NS_WLOG_WRITE ? rec->buf : NULL;
	out->md = rec->kind == NS_WLOG_WRITE && log->md_size
			  ? rec->buf + (size_t)rec->nlb * log->lba_size
			  : NULL;
	return 0;
}

size_t ns_wlog_mark(struct ns_wlog *log)
{
	return ns_wlog_count(log);
}

/* Under log->lock. */
static struct wlog_rec *wlog_append(struct ns_wlog *log)
{
	if (log->count == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 256;
		struct wlog_rec *recs = realloc(log->recs, cap * sizeof(*recs));

		if (!recs) {
			log->incomplete = true;
			return NULL;
		}
		log->recs = recs;
		log->cap = cap;
	}
	return &log->recs[log->count];
}

static void wlog_add(struct ns_wlog *log, const struct wlog_rec *rec)
{
	struct wlog_rec *slot;

	pthread_mutex_lock(&log->lock);
	slot = wlog_append(log);
	if (slot) {
		*slot = *rec;
		log->count++;
	} else {
		free(rec->buf);
	}
	pthread_mutex_unlock(&log->lock);
}

void ns_wlog_add_write(struct ns_wlog *log, uint64_t slba, uint32_t nlb, const struct iovec *iov,
		       int iovcnt, const void *md)
{
	size_t data_len = (size_t)nlb * log->lba_size, md_len = (size_t)nlb * log->md_size;
	struct wlog_rec rec = {.kind = NS_WLOG_WRITE, .slba = slba, .nlb = nlb};
	size_t copied = 0;

	rec.buf = malloc(data_len + md_len + 1);
	if (!rec.buf) {
		pthread_mutex_lock(&log->lock);
		log->incomplete = true;
		pthread_mutex_unlock(&log->lock);
		return;
	}
	for (int i = 0; i < iovcnt && copied < data_len; i++) {
		size_t len =
			iov[i].iov_len < data_len - copied ? iov[i].iov_len : data_len - copied;

		memcpy(rec.buf + copied, iov[i].iov_base, len);
		copied += len;
	}
	if (md_len)
		memcpy(rec.buf + data_len, md, md_len);
	wlog_add(log, &rec);
}

void ns_wlog_add_zeroes(struct ns_wlog *log, uint64_t slba, uint32_t nlb)
{
	struct wlog_rec rec = {.kind = NS_WLOG_ZEROES, .slba = slba, .nlb = nlb};

	wlog_add(log, &rec);
}

void ns_wlog_add_flush(struct ns_wlog *log, size_t durable)
{
	struct wlog_rec rec = {.kind = NS_WLOG_FLUSH, .durable = durable};

	wlog_add(log, &rec);
}

static int wlog_apply(const struct ns_wlog *log, int fd, const struct wlog_rec *rec)
{
	uint64_t md_off = log->nlb * log->lba_size + rec->slba * log->md_size;
	size_t data_len = (size_t)rec->nlb * log->lba_size,
	       md_len = (size_t)rec->nlb * log->md_size;
	uint8_t *ones;
	int ret;

	if (rec->kind == NS_WLOG_WRITE) {
		ret = wlog_pwrite_all(fd, rec->buf, data_len, rec->slba * log->lba_size);
		if (!ret && md_len)
			ret = wlog_pwrite_all(fd, rec->buf + data_len, md_len, md_off);
		return ret;
	}
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(rec->slba * log->lba_size), (off_t)data_len))
		return -errno;
	if (!md_len)
		return 0;
	ones = malloc(md_len);
	if (!ones)
		return -ENOMEM;
	memset(ones, 0xFF, md_len);
	ret = wlog_pwrite_all(fd, ones, md_len, md_off);
	free(ones);
	return ret;
}

static uint64_t wlog_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Writes in [durable, upto): kept with probability 1/2 and/or shuffled, then applied. */
static int wlog_apply_unstable(const struct ns_wlog *log, int fd, size_t durable, size_t upto,
			       const struct ns_wlog_replay_opts *opts)
{
	uint64_t rng = opts->seed;
	size_t *order, kept = 0;
	int ret = 0;

	order = malloc((upto - durable + 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = durable; i < upto; i++) {
		if (log->recs[i].kind == NS_WLOG_FLUSH)
			continue;
		if (opts->drop_unflushed && (wlog_random(&rng) & 1))
			continue;
		order[kept++] = i;
	}
	for (size_t i = kept; opts->reorder_unflushed && i > 1; i--) {
		size_t j = wlog_random(&rng) % i, tmp = order[i - 1];

		order[i - 1] = order[j];
		order[j] = tmp;
	}
	for (size_t i = 0; !ret && i < kept; i++)
		ret = wlog_apply(log, fd, &log->recs[order[i]]);
	free(order);
	return ret;
}

static int wlog_apply_records(const struct ns_wlog *log, int fd,
			      const struct ns_wlog_replay_opts *opts)
{
	size_t durable = 0;
	int ret = 0;

	for (size_t i = 0; i < opts->upto; i++)
		if (log->recs[i].kind == NS_WLOG_FLUSH && log->recs[i].durable > durable)
			durable = log->recs[i].durable;
	if (!opts->drop_unflushed && !opts->reorder_unflushed)
		durable = opts->upto;
	for (size_t i = 0; !ret && i < durable; i++)
		if (log->recs[i].kind != NS_WLOG_FLUSH)
			ret = wlog_apply(log, fd, &log->recs[i]);
	if (!ret && durable < opts->upto)
		ret = wlog_apply_unstable(log, fd, durable, opts->upto, opts);
	return ret;
}

int ns_wlog_replay(const struct ns_wlog *log, const char *base, const char *out,
		   const struct ns_wlog_replay_opts *opts)
{
	int fd = -1, src, ret;

	if (opts->upto > ns_wlog_count(log))
		return -EINVAL;
	if (log->incomplete) {
		gfs_err("write log replay to %s refused: the log lost records (out of memory)",
			out);
		return -ENOMEM;
	}
	ret = wlog_open_image(out, log->image_size, &fd);
	if (ret)
		goto out_err;
	if (base) {
		src = open(base, O_RDONLY | O_CLOEXEC);
		ret = src < 0 ? -errno : wlog_copy_sparse(src, fd, log->image_size);
		if (src >= 0)
			close(src);
	}
	if (!ret)
		ret = wlog_apply_records(log, fd, opts);
	close(fd);
out_err:
	if (ret)
		gfs_err("write log replay to %s failed: %s", out, strerror(-ret));
	return ret;
}
