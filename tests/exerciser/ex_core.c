/* SPDX-License-Identifier: MIT */
/*
 * ex_core.c - the exerciser backend on the core API: an image file formatted with meta_mkfs,
 * mounted with gfs_mount (small cache budgets, so eviction, background writeback and writer
 * throttling run all the time), files created with meta_create and opened with gfs_open.
 * Crash = gfs_abandon; damage = flip a data byte of a mapped, uncached block in the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dio.h"
#include "core/gfs.h"
#include "core/meta.h"
#include "core/ns.h"
#include "tests/exerciser/ex.h"

struct ex_core {
	char path[512];
	struct gfs *gfs;
	uint64_t *inos;
	struct gfs_file **fh;
	struct gfs_file **fhd; /* GFS_O_DIRECT handles (--dio), else NULL */
	uint64_t nlb;
	uint32_t lba_size;
};

static int core_mkfs(struct ex_core *c, const struct ex_config *cfg)
{
	struct pi_format fmt = {
		.lba_size = 4096,
		.md_size = 8,
		.type = PI_TYPE_1,
		.guard = PI_GUARD_16,
		.layout = PI_MD_SEPARATE,
	};
	struct ns_options o = {.format = &fmt};
	struct meta_mkfs_params p = {0};
	struct ns *ns;
	int fd, ret;

	snprintf(c->path, sizeof(c->path), "%s/gfs-exerciser-XXXXXX", cfg->dir);
	fd = mkstemp(c->path);
	if (fd < 0)
		return -errno;
	c->nlb = cfg->image_size / (fmt.lba_size + fmt.md_size);
	c->lba_size = fmt.lba_size;
	ret = ftruncate(fd, (off_t)(c->nlb * (fmt.lba_size + fmt.md_size))) ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	ret = ns_open(c->path, &o, &ns);
	if (ret)
		return ret;
	p.sb.block_size = cfg->block_size;
	ret = meta_mkfs(ns, &p, NULL);
	ns_close(ns);
	return ret;
}

static bool core_dio(const struct ex_backend *b)
{
	return b->cfg->dio && strcmp(b->cfg->dio, "off");
}

/*
 * --dio: aligned reads and writes go through a GFS_O_DIRECT handle (core/dio), all of them in
 * "direct" mode, about half of them in "mixed" mode (chosen from the request, so a seed
 * replays), beside buffered I/O on the same files.
 */
static struct gfs_file *core_handle(struct ex_backend *b, unsigned f, size_t len, uint64_t off)
{
	struct ex_core *c = b->priv;
	uint64_t h = (off ^ (len << 20)) * 0x9E3779B97F4A7C15ull;

	if (!core_dio(b) || (off | len) % c->lba_size || !len)
		return c->fh[f];
	if (!strcmp(b->cfg->dio, "mixed") && (h >> 63))
		return c->fh[f];
	return c->fhd[f];
}

static int core_mount(struct ex_backend *b)
{
	struct ex_core *c = b->priv;
	struct gfs_opts o = {
		.cache_size = b->cfg->cache_size,
		.folio_size = b->cfg->folio_size,
		.dirty_expire_ms = 200,
		.flusher_interval_ms = 50,
	};
	int ret = gfs_mount(c->path, &o, &c->gfs);

	for (unsigned i = 0; !ret && i < b->cfg->files; i++)
		ret = gfs_open(c->gfs, c->inos[i], 0, &c->fh[i]);
	for (unsigned i = 0; !ret && core_dio(b) && i < b->cfg->files; i++)
		ret = gfs_open(c->gfs, c->inos[i], GFS_O_DIRECT, &c->fhd[i]);
	return ret;
}

static int core_init(struct ex_backend *b)
{
	struct ex_core *c = calloc(1, sizeof(*c));
	struct meta_owner owner = {0, 0};
	int ret;

	if (!c)
		return -ENOMEM;
	b->priv = c;
	c->inos = calloc(b->cfg->files, sizeof(*c->inos));
	c->fh = calloc(b->cfg->files, sizeof(*c->fh));
	c->fhd = calloc(b->cfg->files, sizeof(*c->fhd));
	if (!c->inos || !c->fh || !c->fhd)
		return -ENOMEM;
	ret = core_mkfs(c, b->cfg);
	if (ret)
		return ret;
	ret = gfs_mount(c->path, NULL, &c->gfs);
	for (unsigned i = 0; !ret && i < b->cfg->files; i++) {
		struct meta_attr attr;
		char name[32];

		snprintf(name, sizeof(name), "f%u", i);
		ret = meta_create(gfs_meta(c->gfs), META_ROOT_INO, name, S_IFREG | 0644, &owner,
				  &attr);
		c->inos[i] = attr.ino;
	}
	if (!ret)
		ret = gfs_unmount(c->gfs);
	return ret ? ret : core_mount(b);
}

static void core_close_files(struct ex_core *c, unsigned files)
{
	for (unsigned i = 0; i < files; i++) {
		if (c->fh[i])
			gfs_release(c->fh[i]);
		if (c->fhd[i])
			gfs_release(c->fhd[i]);
		c->fh[i] = c->fhd[i] = NULL;
	}
}

static int core_remount(struct ex_backend *b, bool crash)
{
	struct ex_core *c = b->priv;
	int ret = 0;

	core_close_files(c, b->cfg->files);
	if (crash)
		gfs_abandon(c->gfs);
	else
		ret = gfs_unmount(c->gfs);
	c->gfs = NULL;
	if (ret)
		return ret;
	return core_mount(b);
}

static void core_fini(struct ex_backend *b)
{
	struct ex_core *c = b->priv;

	if (!c)
		return;
	if (c->gfs) {
		core_close_files(c, b->cfg->files);
		gfs_unmount(c->gfs);
	}
	unlink(c->path);
	free(c->inos);
	free(c->fh);
	free(c->fhd);
	free(c);
}

static void core_discard(struct ex_backend *b)
{
	struct ex_core *c = b->priv;

	if (c)
		unlink(c->path);
}

static ssize_t core_pread(struct ex_backend *b, unsigned f, void *buf, size_t len, uint64_t off)
{
	return gfs_read(core_handle(b, f, len, off), buf, len, off);
}

static ssize_t core_pwrite(struct ex_backend *b, unsigned f, const void *buf, size_t len,
			   uint64_t off)
{
	return gfs_write(core_handle(b, f, len, off), buf, len, off);
}

static int core_truncate(struct ex_backend *b, unsigned f, uint64_t size)
{
	struct ex_core *c = b->priv;

	return gfs_truncate(c->gfs, c->inos[f], size);
}

static int core_fallocate(struct ex_backend *b, unsigned f, int mode, uint64_t off, uint64_t len)
{
	struct ex_core *c = b->priv;

	return gfs_fallocate(c->fh[f], mode, off, len);
}

static int core_fsync(struct ex_backend *b, unsigned f, bool datasync)
{
	struct ex_core *c = b->priv;

	return gfs_fsync(c->fh[f], datasync);
}

static ssize_t core_copy_range(struct ex_backend *b, unsigned in, uint64_t off_in, unsigned out,
			       uint64_t off_out, size_t len)
{
	struct ex_core *c = b->priv;

	return gfs_copy_file_range(c->fh[in], off_in, c->fh[out], off_out, len);
}

static int core_get_size(struct ex_backend *b, unsigned f, uint64_t *size)
{
	struct ex_core *c = b->priv;
	struct meta_attr attr;
	int ret = meta_getattr(gfs_meta(c->gfs), c->inos[f], &attr);

	*size = attr.size;
	return ret;
}

/*
 * Right after a clean remount nothing is cached: pick a random mapped block of the file and
 * flip a byte of its data in the image, behind the filesystem's back.
 */
static int core_damage_block(struct ex_backend *b, unsigned f, uint64_t *off, uint64_t *rng)
{
	struct ex_core *c = b->priv;
	uint64_t size, bs = b->cfg->block_size, pos, byte;
	struct gfs_inode *gi;
	struct meta_map map;
	uint8_t v;
	int fd, ret;

	ret = core_remount(b, false);
	if (ret || core_get_size(b, f, &size) || size < bs)
		return ret ? ret : -ENOENT;
	*rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
	pos = ((*rng >> 17) % (size / bs)) * bs;
	gi = gfs_file_inode(c->fh[f]);
	ret = meta_map_begin(gfs_inode_meta(gi), pos, bs, META_MAP_REPORT, &map);
	if (ret || map.type != META_MAP_MAPPED)
		return -ENOENT;
	byte = (map.lba + (pos - map.offset) / c->lba_size) * c->lba_size + (*rng >> 40) % bs;
	fd = open(c->path, O_RDWR);
	if (fd < 0)
		return -errno;
	ret = pread(fd, &v, 1, (off_t)byte) == 1 ? 0 : -EIO;
	v ^= 0x04;
	if (!ret)
		ret = pwrite(fd, &v, 1, (off_t)byte) == 1 && !fsync(fd) ? 0 : -EIO;
	close(fd);
	*off = pos;
	return ret;
}

static void core_report(struct ex_backend *b)
{
	struct ex_core *c = b->priv;
	struct gfs_stats st;
	struct dio_stats ds;

	gfs_get_stats(c->gfs, &st);
	dio_get_stats(c->gfs, &ds);
	printf("core: direct I/O requests %" PRIu64 " (pieces %" PRIu64 ", PI errors %" PRIu64
	       ")\n",
	       ds.requests, ds.pieces, ds.pi_errors);
	printf("core: cache peak %" PRIu64 " of %" PRIu64 " bytes, hits %" PRIu64 " misses %" PRIu64
	       " evictions %" PRIu64 ", readahead %" PRIu64 ", writeback %" PRIu64
	       " ioends %" PRIu64 " bytes, throttles %" PRIu64 ", budget waits %" PRIu64
	       ", PI errors %" PRIu64 "\n",
	       st.cache_peak_bytes, st.cache_budget, st.cache_hits, st.cache_misses, st.evictions,
	       st.readahead_folios, st.wb_ioends, st.wb_bytes, st.throttles, st.budget_waits,
	       st.pi_errors);
}

const struct ex_backend_ops ex_core_ops = {
	.name = "core",
	.init = core_init,
	.remount = core_remount,
	.fini = core_fini,
	.discard = core_discard,
	.pread = core_pread,
	.pwrite = core_pwrite,
	.truncate = core_truncate,
	.fallocate = core_fallocate,
	.fsync = core_fsync,
	.copy_range = core_copy_range,
	.get_size = core_get_size,
	.damage_block = core_damage_block,
	.report = core_report,
};
