// SPDX-License-Identifier: MIT
/*
 * ns_file_md.c - the file backend's metadata region: nlb * md_size bytes after the data region
 * (DESIGN.md section 3), one md_size entry per LBA.
 *
 * The region is mapped shared (file_md_map), and commands move their metadata with a memcpy:
 * a write stores it into the page cache before its data SQE goes out (file_md_store; a FUA
 * write uses a metadata SQE with RWF_DSYNC instead, ns_file.c), a read copies it once its data
 * is back (file_md_complete_read), without a second SQE, CQE and system call per command on
 * the completion thread, which is the engine's bottleneck for small requests. The page cache
 * absorbs sub-page metadata writes, so there is no read-modify-write of the region, and a flush
 * (one fdatasync, ns_file.c) makes them durable with the data: descriptors and mapping share
 * the inode. Every access to the mapping is guarded (core/mapguard.h): where one faults
 * (SIGBUS), the same transfer is made by pread or pwrite, which report the real error. Where
 * the region cannot be mapped, reads use a metadata SQE (ns_file.c) and writes a pwrite.
 *
 * Never-written blocks (the QEMU rule, nvme_dif_mangle_mdata()): a read returns a block's PI
 * tuple as all 0xFF (the escape; other metadata bytes stay zero, as QEMU returns them) when the
 * stored metadata is all zeros and the block's data range is a hole in the image (lseek
 * SEEK_DATA). Write zeroes and deallocate store that same escaped metadata. Stored metadata
 * that is not all zeros is returned as is, which spares written blocks the lseek. A fresh
 * ftruncate'd image therefore reads as escaped PI everywhere.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mapguard.h"
#include "core/ns_file_internal.h"

static bool mem_is_zero(const uint8_t *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* SEEK_DATA results for [from, data) hole, [data, data_end) data; reused along one read. */
struct hole_cursor {
	bool valid;
	uint64_t from;
	uint64_t data;
	uint64_t data_end;
};

static bool file_range_is_hole(int fd, struct hole_cursor *c, uint64_t start, uint64_t end)
{
	if (!c->valid || start < c->from || start >= c->data_end) {
		off_t data = lseek(fd, (off_t)start, SEEK_DATA);

		if (data < 0 && errno != ENXIO) {
			c->valid = false;
			return false; /* cannot tell: keep what is stored */
		}
		c->valid = true;
		c->from = start;
		c->data = c->data_end = UINT64_MAX;
		if (data >= 0) {
			off_t hole = lseek(fd, data, SEEK_HOLE);

			c->data = (uint64_t)data;
			c->data_end = hole < 0 ? UINT64_MAX : (uint64_t)hole;
		}
	}
	return end <= c->data;
}

/* What QEMU returns for a deallocated block; without PI there is nothing to escape. */
void file_md_escape(const struct ns *ns, uint8_t *md)
{
	memset(md, 0, ns->fmt.pi.md_size);
	if (ns->pi.tuple_size)
		memset(md + ns->pi.pi_offset, 0xFF, ns->pi.tuple_size);
}

static void file_md_fix_unwritten(struct ns *ns, struct ns_cmd *cmd)
{
	const struct file_ns *f = ns->backend_private;
	uint32_t lba_size = ns->fmt.pi.lba_size, md_size = ns->fmt.pi.md_size;
	struct hole_cursor cursor = {.valid = false};

	for (uint32_t i = 0; i < cmd->nlb; i++) {
		uint8_t *md = (uint8_t *)cmd->md + (size_t)i * md_size;
		uint64_t start = (cmd->slba + i) * lba_size;

		if (mem_is_zero(md, md_size) &&
		    file_range_is_hole(f->buf_fd, &cursor, start, start + lba_size))
			file_md_escape(ns, md);
	}
}

/*
 * Map the metadata region shared (read-only on a read-only namespace, which never gets a write:
 * ns_submit refuses them), so that commands move their metadata with a memcpy instead of a
 * second SQE or a system call. A fault in the mapping (SIGBUS: an unreadable page, a store
 * into a hole of a full host filesystem, an image shrunk under us) is caught by core/mapguard
 * and the transfer repeated by pread or pwrite, so the errors stay what the system calls say.
 * A region that cannot be mapped, or a process where the SIGBUS handler cannot be installed,
 * moves metadata by I/O as before.
 */
void file_md_map(struct file_ns *f, const char *path, uint64_t file_size, bool read_only)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = f->md_offset / page * page;
	int prot = read_only ? PROT_READ : PROT_READ | PROT_WRITE;
	void *base;
	int ret;

	if (file_size <= f->md_offset)
		return;
	ret = mapguard_init();
	if (ret) {
		gfs_info("%s: cannot catch SIGBUS (%s), moving metadata by I/O", path,
			 strerror(-ret));
		return;
	}
	base = mmap(NULL, file_size - start, prot, MAP_SHARED, f->buf_fd, (off_t)start);
	if (base == MAP_FAILED) {
		gfs_info("%s: cannot map the metadata region (%s), moving it by I/O", path,
			 strerror(errno));
		return;
	}
	f->map_base = base;
	f->map_len = file_size - start;
	f->md_map = (uint8_t *)base + (f->md_offset - start);
}

void file_md_unmap(struct file_ns *f)
{
	if (f->map_base)
		munmap(f->map_base, f->map_len);
	f->map_base = NULL;
	f->md_map = NULL;
}

/*
 * Move nlb entries of metadata at slba between buf and the region (store: into the region):
 * through the mapping where there is one, else, or where the mapping faults, by pwrite or
 * pread, which then say what went wrong (ENOSPC on a full host filesystem, EIO, a short
 * transfer past a shrunken end) or succeed. 0 or -errno, with one log line.
 */
static int file_md_move(struct ns *ns, bool store, uint64_t slba, uint32_t nlb, void *buf)
{
	const struct file_ns *f = ns->backend_private;
	uint32_t md_size = ns->fmt.pi.md_size;
	size_t len = (size_t)nlb * md_size;
	off_t off = (off_t)(f->md_offset + slba * md_size);
	ssize_t done;
	int err;

	if (f->md_map) {
		uint8_t *map = f->md_map + slba * md_size;

		if (!(store ? mapguard_copy(map, buf, len) : mapguard_copy(buf, map, len)))
			return 0;
	}
	done = store ? pwrite(f->buf_fd, buf, len, off) : pread(f->buf_fd, buf, len, off);
	if (done == (ssize_t)len)
		return 0;
	err = done < 0 ? -errno : -EIO; /* before gfs_err can change errno */
	gfs_err("%s: %s of metadata at LBA %llu+%u failed: %s", ns->path, store ? "write" : "read",
		(unsigned long long)slba, nlb, done < 0 ? strerror(-err) : "short transfer");
	return err;
}

/*
 * The metadata of a write goes to the page cache right here: a store into the mapping, or one
 * pwrite where there is no mapping or the store faulted (the pwrite then says why,
 * ENOSPC on a full host filesystem, say, or succeeds). Through io_uring it would be punted to
 * an io-wq worker on filesystems without non-blocking buffered writes (ext4), a thread hop that
 * costs more than the write; and the pwrite itself held 4 KiB PI writes at QD 16 to 0.79 -
 * 0.94 of the no-PI format, where the store reaches 0.94 - 1.14 (docs/PERFORMANCE.md). A FUA
 * write keeps its metadata SQE (RWF_DSYNC), so the submitter never waits for the disk.
 */
void file_md_store(struct ns *ns, struct ns_cmd *cmd)
{
	const struct file_cmd *fc = cmd->backend_private;
	uint64_t slba = fc ? fc->target : cmd->slba;
	uint32_t nlb = fc ? fc->written : cmd->nlb;
	const void *md = fc && fc->bounce ? fc->bounce_md : cmd->md;

	if (!ns->fmt.pi.md_size || !nlb || cmd->rq->fua || cmd->error)
		return;
	/* A store only reads md. A failed command then completes through a NOP. */
	cmd->error = file_md_move(ns, true, slba, nlb, (void *)md);
}

/*
 * A read's metadata is copied from the mapping on the completion thread: touch its pages here,
 * on the submitting thread, so that a page not in the page cache is read from disk now rather
 * than by a page fault that would stall every completion behind it.
 */
void file_md_prefault(const struct ns *ns, const struct ns_cmd *cmd)
{
	const struct file_ns *f = ns->backend_private;
	uint32_t md_size = ns->fmt.pi.md_size;

	/* A page that faults here faults again at completion, which reports it. */
	if (f->md_map && md_size)
		(void)mapguard_touch(f->md_map + cmd->slba * md_size, (size_t)cmd->nlb * md_size);
}

int file_md_complete_read(struct ns *ns, struct ns_cmd *cmd)
{
	const struct file_ns *f = ns->backend_private;
	int err;

	if (!ns->fmt.pi.md_size)
		return 0;
	/* Unmapped, the metadata came with its own SQE (ns_file.c). */
	if (f->md_map) {
		err = file_md_move(ns, false, cmd->slba, cmd->nlb, cmd->md);
		if (err)
			return err;
	}
	file_md_fix_unwritten(ns, cmd);
	return 0;
}
