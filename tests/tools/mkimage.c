// SPDX-License-Identifier: MIT
/*
 * mkimage.c - test helper for the CLI tests: builds guardfs images with files in them through
 * the metadata API and the namespace (the way direct I/O writes: UNWRITTEN space, data with PI
 * carrying the file's owner tag and the LBA as ref tag, then conversion), tells where a file's
 * bytes and PI live in the image file, flips bytes, and crafts metadata damage with log records
 * (tools/jedit.h). Every command prints what the shell script needs, one "key=value" per line.
 *
 *   mkimage populate IMAGE           a small tree: /a/b/f1 (64 KiB), /f2 (1 MiB + 100), /d/l
 *   mkimage big IMAGE MIB            /big, MIB MiB
 *   mkimage where IMAGE PATH OFFSET  ino, lba, data_off, md_off, pi_off of the byte at OFFSET
 *   mkimage flip IMAGE BYTE          XOR one byte of the image file with 0xFF
 *   mkimage nlink IMAGE PATH N       log a record that sets PATH's link count to N
 *   mkimage orphan IMAGE PATH        log records that leave PATH's inode with a link, no entry
 *   mkimage unlink IMAGE PATH        log an unlink only: the inode stays, unlinked (as if open)
 *   mkimage size IMAGE PATH N        log an inode record with size N, extents left as they are
 *   mkimage layout IMAGE             block size and where the log and checkpoint areas start
 *   mkimage mkdir IMAGE PATH         make a directory (a read-write mount)
 *   mkimage rmdir IMAGE PATH         remove an empty directory (a read-write mount)
 *   mkimage lostdir IMAGE PATH       log records that leave directory PATH, with everything
 *                                    below it, with its links and no entry naming it; a
 *                                    read-write mount then puts that in a checkpoint
 *   mkimage cycle IMAGE DIR1 DIR2    log records that make DIR1 (lost as above) and DIR2 name
 *                                    each other: DIR2 moves into DIR1, and gets an entry for
 *                                    DIR1 (a DIRENT record); left in the log
 *   mkimage stat IMAGE PATH          ino, nlink, cookie of the entry, parent (".." of a directory)
 *   mkimage verify IMAGE PATH        read the file at PATH with PI checks, compare with what
 *                                    populate, big wrote; prints its size
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/meta.h"
#include "core/ns.h"
#include "pi/pi.h"
#include "tools/jedit.h"

#define CHUNK (1u << 20)

static int die(const char *what, int err)
{
	fprintf(stderr, "mkimage: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(2);
}

/* Write [pos, pos + len) of the UNWRITTEN mapping m with PI, then convert. */
static void write_mapped(struct meta_fs *fs, struct meta_inode *ip, const struct meta_map *m,
			 uint64_t pos, uint64_t len, uint64_t size, uint8_t *buf, uint8_t *md)
{
	struct ns *ns = meta_get_ns(fs);
	const struct pi_format *f = &ns_get_format(ns)->pi;
	uint64_t lba = m->lba + (pos - m->offset) / f->lba_size;
	uint32_t nlb = (uint32_t)(len / f->lba_size);
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct pi_io io = {.lba = lba, .ref_tag = lba, .app_tag = m->app_tag, .app_mask = 0xFFFF};
	struct ns_pi_params pp = {.ref_tag = lba, .app_tag = m->app_tag, .app_mask = 0xFFFF};
	struct pi_ctx ctx;
	int ret;

	for (uint64_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((pos + i) * 7 + meta_inode_ino(ip));
	if (f->type != PI_TYPE_NONE && f->md_size) {
		ret = pi_ctx_init(&ctx, f);
		if (!ret)
			ret = pi_generate(&ctx, &iov, 1, md, nlb, &io);
		if (ret)
			die("pi_generate", ret);
	}
	ret = ns_write_sync(ns, lba, nlb, buf, f->md_size ? md : NULL, &pp);
	if (ret)
		die("ns_write_sync", ret);
	ret = meta_convert_unwritten(ip, pos, len, pos + len < size ? pos + len : size);
	if (ret)
		die("meta_convert_unwritten", ret);
}

static uint64_t write_file(struct meta_fs *fs, uint64_t dir, const char *name, uint64_t size)
{
	struct meta_owner owner = {0, 0};
	uint32_t bsize = meta_block_size(fs);
	uint64_t pos = 0, end = (size + bsize - 1) / bsize * bsize;
	struct meta_inode *ip;
	struct meta_attr a;
	uint8_t *buf, *md;
	int ret;

	ret = meta_create(fs, dir, name, S_IFREG | 0644, &owner, &a);
	if (ret)
		die(name, ret);
	if (posix_memalign((void **)&buf, 4096, CHUNK) || !(md = calloc(1, CHUNK / 512 * 64)))
		die("memory", ENOMEM);
	ret = meta_inode_get(fs, a.ino, &ip);
	if (ret)
		die("meta_inode_get", ret);
	while (pos < end) {
		struct meta_map m;
		uint64_t len;

		ret = meta_map_begin(ip, pos, end - pos, META_MAP_WRITE | META_MAP_DIRECT, &m);
		if (ret)
			die("meta_map_begin", ret);
		len = m.offset + m.length - pos;
		if (len > end - pos)
			len = end - pos;
		if (len > CHUNK)
			len = CHUNK;
		write_mapped(fs, ip, &m, pos, len, size, buf, md);
		pos += len;
	}
	meta_inode_put(ip);
	ret = meta_fsync(fs, a.ino, false);
	if (ret)
		die("meta_fsync", ret);
	meta_forget(fs, a.ino, 1);
	free(md);
	free(buf);
	return a.ino;
}

static uint64_t make_dir(struct meta_fs *fs, uint64_t dir, const char *name)
{
	struct meta_owner owner = {0, 0};
	struct meta_attr a;
	int ret = meta_mkdir(fs, dir, name, 0755, &owner, &a);

	if (ret)
		die(name, ret);
	meta_forget(fs, a.ino, 1);
	return a.ino;
}

static struct meta_fs *mount_with(const char *image, const struct meta_mount_opts *mo)
{
	struct meta_fs *fs;
	int ret = meta_mount(image, mo, &fs);

	if (ret)
		die(image, ret);
	return fs;
}

static struct meta_fs *mount_rw(const char *image)
{
	return mount_with(image, NULL);
}

/* Read-only; strict: the namespace checks PI on every read as well. */
static struct meta_fs *mount_ro(const char *image, bool strict)
{
	struct meta_mount_opts mo = {.read_only = true, .strict = strict};

	return mount_with(image, &mo);
}

static void unmount(struct meta_fs *fs)
{
	int ret = meta_unmount(fs);

	if (ret)
		die("meta_unmount", ret);
}

/* Resolve an absolute path; *parent receives the directory holding the last component. */
static void lookup_path(struct meta_fs *fs, const char *path, struct meta_attr *out,
			uint64_t *parent)
{
	char *copy = strdup(path), *save = NULL, *tok;
	uint64_t ino = META_ROOT_INO;
	int ret;

	*parent = META_ROOT_INO;
	ret = meta_getattr(fs, ino, out);
	for (tok = strtok_r(copy, "/", &save); tok && !ret; tok = strtok_r(NULL, "/", &save)) {
		*parent = ino;
		ret = meta_lookup(fs, ino, tok, out);
		if (!ret) {
			meta_forget(fs, out->ino, 1);
			ino = out->ino;
		}
	}
	free(copy);
	if (ret)
		die(path, ret);
}

static void cmd_populate(const char *image)
{
	struct meta_fs *fs = mount_rw(image);
	struct meta_owner owner = {0, 0};
	struct meta_attr a;
	uint64_t d, ino;
	int ret;

	d = make_dir(fs, make_dir(fs, META_ROOT_INO, "a"), "b");
	ino = write_file(fs, d, "f1", 65536);
	printf("f1_ino=%" PRIu64 "\n", ino);
	ino = write_file(fs, META_ROOT_INO, "f2", (1u << 20) + 100);
	printf("f2_ino=%" PRIu64 "\n", ino);
	d = make_dir(fs, META_ROOT_INO, "d");
	ret = meta_symlink(fs, d, "l", "../f2", &owner, &a);
	if (ret)
		die("symlink", ret);
	meta_forget(fs, a.ino, 1);
	ret = meta_link(fs, ino, d, "f2link", &a);
	if (ret)
		die("link", ret);
	meta_forget(fs, a.ino, 1);
	unmount(fs);
}

static void cmd_where(const char *image, const char *path, uint64_t off)
{
	const struct pi_format *f;
	struct meta_inode *ip;
	struct meta_attr a;
	struct meta_map m;
	struct meta_fs *fs;
	uint64_t parent, lba, nlb;
	uint32_t tuple_off;
	int ret;

	fs = mount_ro(image, false);
	lookup_path(fs, path, &a, &parent);
	ret = meta_inode_get(fs, a.ino, &ip);
	if (!ret)
		ret = meta_map_begin(ip, off, 1, META_MAP_REPORT, &m);
	if (ret || m.type != META_MAP_MAPPED)
		die("not mapped", ret ? ret : EINVAL);
	f = &ns_get_format(meta_get_ns(fs))->pi;
	nlb = ns_get_format(meta_get_ns(fs))->nlb;
	lba = m.lba + (off - m.offset) / f->lba_size;
	tuple_off = f->pi_first ? 0 : f->md_size - pi_tuple_size(f->guard);
	printf("ino=%" PRIu64 "\nlba=%" PRIu64 "\nlba_size=%u\n", a.ino, lba, f->lba_size);
	printf("data_off=%" PRIu64 "\n", lba * f->lba_size + off % f->lba_size);
	printf("md_off=%" PRIu64 "\n", nlb * f->lba_size + lba * f->md_size);
	/* The app tag follows the guard: 2 bytes in, or 8 with a 64-bit guard. */
	printf("app_off=%" PRIu64 "\n", nlb * f->lba_size + lba * f->md_size + tuple_off +
						(f->guard == PI_GUARD_64 ? 8 : 2));
	meta_inode_put(ip);
	meta_unmount(fs);
}

static void cmd_flip(const char *image, uint64_t off)
{
	int fd = open(image, O_RDWR);
	uint8_t b;

	if (fd < 0 || pread(fd, &b, 1, (off_t)off) != 1)
		die(image, errno);
	b ^= 0xFF;
	if (pwrite(fd, &b, 1, (off_t)off) != 1 || fsync(fd))
		die(image, errno);
	close(fd);
}

/*
 * Craft records: N links for PATH (mode 0), an inode with one link that no entry names (1),
 * or just the unlink, which a crash while the file was open leaves behind (2).
 */
static void cmd_craft(const char *image, const char *path, long nlink, int orphan, int64_t size)
{
	const char *name = strrchr(path, '/') + 1;
	struct jedit *je;
	struct meta_fs *fs;
	struct meta_attr a;
	uint64_t parent;
	int ret;

	fs = mount_ro(image, false);
	lookup_path(fs, path, &a, &parent);
	meta_unmount(fs);
	if (size >= 0) {
		a.size = (uint64_t)size;
		nlink = a.nlink;
	}
	ret = jedit_open(image, &je);
	if (ret)
		die("jedit_open", ret);
	ret = orphan == 2 ? 0
			  : jedit_put_inode(je, &a, orphan ? a.nlink + 1 : (uint32_t)nlink, NULL);
	if (!ret && orphan)
		ret = jedit_put_unlink(je, parent, name, false);
	ret = jedit_close(je) ?: ret;
	if (ret)
		die("crafting records", ret);
	printf("ino=%" PRIu64 "\n", a.ino);
}

static void cmd_dir(const char *image, const char *path, bool make)
{
	struct meta_fs *fs = mount_rw(image);
	const char *name = strrchr(path, '/') + 1;
	struct meta_attr a;
	uint64_t parent;
	char *dir = strndup(path, (size_t)(name - path));
	int ret;

	if (!dir)
		die("memory", ENOMEM);
	lookup_path(fs, dir, &a, &parent);
	ret = make ? meta_mkdir(fs, a.ino, name, 0755, &(struct meta_owner){0, 0}, NULL)
		   : meta_rmdir(fs, a.ino, name);
	if (ret)
		die(path, ret);
	free(dir);
	unmount(fs);
}

struct names {
	char **v;
	size_t nr;
};

static int collect_name(void *arg, const struct meta_dirent_info *de)
{
	struct names *n = arg;
	char **nv = realloc(n->v, (n->nr + 1) * sizeof(*nv));

	if (!nv || !(nv[n->nr] = strndup(de->name, de->namelen)))
		die("memory", ENOMEM);
	n->v = nv;
	n->nr++;
	return 0;
}

#define PARK ".mkimage-park"

/*
 * Records that take the entry naming directory @dir (@name in @parent) away but leave the
 * directory alive with everything below it. An entry for a non-empty directory cannot be
 * removed by any record, so: move its entries to @park (an empty directory in the root), rmdir
 * it, give it back its two links (INODE), move the entries back, rmdir @park.
 */
static void lose_dir(struct jedit *je, struct meta_attr *dir, uint64_t parent, const char *name,
		     uint64_t park, const struct names *n)
{
	int ret = 0;

	for (size_t i = 0; i < n->nr && !ret; i++)
		ret = jedit_put_rename(je, dir->ino, n->v[i], park, n->v[i], 0);
	if (!ret)
		ret = jedit_put_unlink(je, parent, name, true);
	if (!ret)
		ret = jedit_put_inode(je, dir, 2, NULL);
	for (size_t i = 0; i < n->nr && !ret; i++)
		ret = jedit_put_rename(je, park, n->v[i], dir->ino, n->v[i], 0);
	if (!ret)
		ret = jedit_put_unlink(je, META_ROOT_INO, PARK, true);
	if (ret)
		die("crafting records", ret);
}

/* The state lose_dir needs, read on a read-write mount that also makes the park directory. */
static uint64_t prepare_lose(const char *image, const char *path, struct meta_attr *a,
			     uint64_t *parent, struct names *n)
{
	struct meta_fs *fs = mount_rw(image);
	uint64_t park;
	int ret;

	lookup_path(fs, path, a, parent);
	if (!S_ISDIR(a->mode))
		die(path, ENOTDIR);
	ret = meta_readdir(fs, a->ino, 2, collect_name, n);
	if (ret)
		die("readdir", ret);
	park = make_dir(fs, META_ROOT_INO, PARK);
	unmount(fs);
	return park;
}

static void free_names(struct names *n)
{
	for (size_t i = 0; i < n->nr; i++)
		free(n->v[i]);
	free(n->v);
}

static void cmd_lostdir(const char *image, const char *path)
{
	struct names n = {0};
	struct meta_attr a;
	uint64_t parent, park;
	struct jedit *je;
	int ret;

	park = prepare_lose(image, path, &a, &parent, &n);
	ret = jedit_open(image, &je);
	if (ret)
		die("jedit_open", ret);
	lose_dir(je, &a, parent, strrchr(path, '/') + 1, park, &n);
	ret = jedit_close(je);
	if (ret)
		die("crafting records", ret);
	/* Frees the park directory and writes the damage into a checkpoint. */
	unmount(mount_rw(image));
	free_names(&n);
	printf("ino=%" PRIu64 "\n", a.ino);
}

static void cmd_cycle(const char *image, const char *path1, const char *path2)
{
	const char *name1 = strrchr(path1, '/') + 1, *name2 = strrchr(path2, '/') + 1;
	struct meta_attr a1, a2;
	uint64_t parent1, parent2, park, cookie;
	struct names n = {0};
	struct meta_fs *fs;
	struct jedit *je;
	int ret;

	park = prepare_lose(image, path1, &a1, &parent1, &n);
	fs = mount_ro(image, false);
	lookup_path(fs, path2, &a2, &parent2);
	ret = meta_dir_next_cookie(fs, a2.ino, &cookie);
	if (ret)
		die("meta_dir_next_cookie", ret);
	meta_unmount(fs);
	ret = jedit_open(image, &je);
	if (ret)
		die("jedit_open", ret);
	lose_dir(je, &a1, parent1, name1, park, &n);
	/* DIR2 into DIR1 (DIR1's ".." still names its old parent: no loop for rename to see). */
	ret = jedit_put_rename(je, parent2, name2, a1.ino, name2, 0);
	if (!ret)
		ret = jedit_put_dirent(je, a2.ino, cookie, a1.ino, name1);
	if (!ret)
		ret = jedit_put_inode(je, &a2, a2.nlink + 1, NULL);
	ret = jedit_close(je) ?: ret;
	if (ret)
		die("crafting records", ret);
	free_names(&n);
	printf("ino1=%" PRIu64 "\nino2=%" PRIu64 "\n", a1.ino, a2.ino);
}

struct find_entry {
	uint64_t ino, cookie;
};

static int match_entry(void *arg, const struct meta_dirent_info *de)
{
	struct find_entry *f = arg;

	if (de->ino != f->ino)
		return 0;
	f->cookie = de->cookie;
	return 1;
}

static void cmd_stat(const char *image, const char *path)
{
	struct find_entry f = {0};
	struct meta_attr a, up;
	struct meta_fs *fs;
	uint64_t parent;
	int ret;

	fs = mount_ro(image, false);
	lookup_path(fs, path, &a, &parent);
	f.ino = a.ino;
	ret = meta_readdir(fs, parent, 2, match_entry, &f);
	if (ret)
		die("readdir", ret);
	printf("ino=%" PRIu64 "\nnlink=%u\ncookie=%" PRIu64 "\n", a.ino, a.nlink, f.cookie);
	if (S_ISDIR(a.mode)) {
		ret = meta_lookup(fs, a.ino, "..", &up);
		if (ret)
			die("..", ret);
		printf("parent=%" PRIu64 "\n", up.ino);
	}
	meta_unmount(fs);
}

/* Read every byte of the file through its mappings, PI checked, against write_file's pattern. */
static void cmd_verify(const char *image, const char *path)
{
	const struct pi_format *f;
	struct meta_inode *ip;
	struct meta_attr a;
	struct meta_fs *fs;
	uint64_t parent, pos = 0;
	uint8_t *buf, *md;
	int ret;

	fs = mount_ro(image, true);
	lookup_path(fs, path, &a, &parent);
	f = &ns_get_format(meta_get_ns(fs))->pi;
	if (posix_memalign((void **)&buf, 4096, CHUNK) || !(md = calloc(1, CHUNK / 512 * 64)))
		die("memory", ENOMEM);
	ret = meta_inode_get(fs, a.ino, &ip);
	if (ret)
		die("meta_inode_get", ret);
	while (pos < a.size) {
		struct meta_map m;
		uint64_t len, lba;
		struct ns_pi_params pp = {.app_mask = 0xFFFF};

		ret = meta_map_begin(ip, pos, a.size - pos, META_MAP_REPORT, &m);
		if (ret || m.type != META_MAP_MAPPED)
			die("not mapped", ret ? ret : EINVAL);
		len = m.offset + m.length - pos;
		if (len > CHUNK)
			len = CHUNK;
		lba = m.lba + (pos - m.offset) / f->lba_size;
		pp.ref_tag = lba;
		pp.app_tag = m.app_tag;
		pp.checks = f->type == PI_TYPE_NONE ? 0 : PI_CHECK_ALL;
		ret = ns_read_sync(meta_get_ns(fs), lba, (uint32_t)(len / f->lba_size), buf,
				   f->md_size ? md : NULL, &pp);
		if (ret)
			die("read", ret);
		for (uint64_t i = 0; i < len && pos + i < a.size; i++)
			if (buf[i] != (uint8_t)((pos + i) * 7 + a.ino))
				die("data differs from what was written", EIO);
		pos += len;
	}
	meta_inode_put(ip);
	meta_unmount(fs);
	free(md);
	free(buf);
	printf("size=%" PRIu64 "\n", a.size);
}

static void cmd_layout(const char *image)
{
	struct sb sb;
	int ret = sb_probe(image, &sb);

	if (ret)
		die(image, ret);
	printf("block_size=%u\nlog_start=%" PRIu64 "\nckpt_a=%" PRIu64 "\nckpt_b=%" PRIu64 "\n",
	       sb.block_size, sb.log_start, sb.ckpt_start[0], sb.ckpt_start[1]);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "populate"))
		cmd_populate(argv[2]);
	else if (argc == 4 && !strcmp(argv[1], "big")) {
		struct meta_fs *fs = mount_rw(argv[2]);

		write_file(fs, META_ROOT_INO, "big", strtoull(argv[3], NULL, 0) << 20);
		unmount(fs);
	} else if (argc == 5 && !strcmp(argv[1], "where"))
		cmd_where(argv[2], argv[3], strtoull(argv[4], NULL, 0));
	else if (argc == 4 && !strcmp(argv[1], "flip"))
		cmd_flip(argv[2], strtoull(argv[3], NULL, 0));
	else if (argc == 5 && !strcmp(argv[1], "nlink"))
		cmd_craft(argv[2], argv[3], strtol(argv[4], NULL, 0), 0, -1);
	else if (argc == 3 && !strcmp(argv[1], "layout"))
		cmd_layout(argv[2]);
	else if (argc == 4 && !strcmp(argv[1], "orphan"))
		cmd_craft(argv[2], argv[3], 0, 1, -1);
	else if (argc == 4 && !strcmp(argv[1], "unlink"))
		cmd_craft(argv[2], argv[3], 0, 2, -1);
	else if (argc == 5 && !strcmp(argv[1], "size"))
		cmd_craft(argv[2], argv[3], 0, 0, strtoll(argv[4], NULL, 0));
	else if (argc == 4 && !strcmp(argv[1], "mkdir"))
		cmd_dir(argv[2], argv[3], true);
	else if (argc == 4 && !strcmp(argv[1], "rmdir"))
		cmd_dir(argv[2], argv[3], false);
	else if (argc == 4 && !strcmp(argv[1], "lostdir"))
		cmd_lostdir(argv[2], argv[3]);
	else if (argc == 5 && !strcmp(argv[1], "cycle"))
		cmd_cycle(argv[2], argv[3], argv[4]);
	else if (argc == 4 && !strcmp(argv[1], "stat"))
		cmd_stat(argv[2], argv[3]);
	else if (argc == 4 && !strcmp(argv[1], "verify"))
		cmd_verify(argv[2], argv[3]);
	else {
		fprintf(stderr, "usage: see the comment at the top of mkimage.c\n");
		return 2;
	}
	return 0;
}
