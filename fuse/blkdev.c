/* SPDX-License-Identifier: MIT */
/*
 * blkdev.c - the block device a -o syncfs mount names as its source.
 *
 * The kernel forwards syncfs(2) to a FUSE daemon (FUSE_SYNCFS, loop.c) only on fuseblk mounts
 * (Linux 6.18 and later; virtiofs aside), and a fuseblk mount needs a block device as its source,
 * which the kernel opens (exclusively, for writing unless the mount is read-only) but never reads
 * or writes. For an image file that device is a loop device over the file, attached here with
 * LO_FLAGS_AUTOCLEAR so that it goes away with the mount (or when mounting fails and we close
 * it); guardfs's own I/O still goes to the file. For an NVMe namespace it is the namespace's
 * /dev/nvmeXnY, whose generic twin /dev/ngXnY the core does its I/O through.
 */
#include "fuse/gfuse.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/log.h"

/* LOOP_CTL_GET_FREE and LOOP_CONFIGURE can race with another losetup; retry that many times. */
#define BLKDEV_LOOP_TRIES 16

/* Bind one free loop device to file_fd; its open fd, or -errno (EBUSY: lost a race). */
static int blkdev_loop_bind(int ctl, int file_fd, const char *path, bool ro, char *name, size_t len)
{
	struct loop_config cfg = {.fd = (__u32)file_fd};
	int nr, fd;

	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (nr < 0)
		return -errno;
	snprintf(name, len, "/dev/loop%d", nr);
	fd = open(name, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENXIO ? -EBUSY : -errno;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (ro ? LO_FLAGS_READ_ONLY : 0);
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", path);
	if (ioctl(fd, LOOP_CONFIGURE, &cfg)) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

/* A loop device over the image file at path. */
static int blkdev_loop_attach(const char *path, bool ro, char *name, size_t len)
{
	int ctl, file_fd, fd = -EBUSY;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		fd = -errno;
		gfs_err("%s: -o syncfs: cannot open /dev/loop-control: %s", path, strerror(-fd));
		return fd;
	}
	file_fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (file_fd < 0) {
		fd = -errno;
		gfs_err("%s: -o syncfs: cannot open: %s", path, strerror(-fd));
		goto out;
	}
	for (int i = 0; i < BLKDEV_LOOP_TRIES && fd == -EBUSY; i++)
		fd = blkdev_loop_bind(ctl, file_fd, path, ro, name, len);
	if (fd < 0)
		gfs_err("%s: -o syncfs: cannot attach a loop device: %s", path, strerror(-fd));
	close(file_fd);
out:
	close(ctl);
	return fd;
}

/* /dev/nvmeXnY for a source that is /dev/nvmeXnY or /dev/ngXnY (symlinks already resolved). */
static int blkdev_nvme_name(const char *path, const struct stat *st, char *name, size_t len)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	unsigned ctrl, nsid;
	struct stat bst;
	int end = 0;

	if (S_ISBLK(st->st_mode) && sscanf(base, "nvme%un%u%n", &ctrl, &nsid, &end) == 2 &&
	    !base[end]) {
		snprintf(name, len, "%s", path);
		return 0;
	}
	if (S_ISCHR(st->st_mode) && sscanf(base, "ng%un%u%n", &ctrl, &nsid, &end) == 2 &&
	    !base[end]) {
		snprintf(name, len, "/dev/nvme%un%u", ctrl, nsid);
		if (!stat(name, &bst) && S_ISBLK(bst.st_mode))
			return 0;
		gfs_err("%s: -o syncfs: no block device %s for this namespace", path, name);
		return -ENODEV;
	}
	gfs_err("%s: -o syncfs: not a regular file, /dev/ngXnY or /dev/nvmeXnY", path);
	return -ENODEV;
}

/* Kernels before 6.18 mount fuseblk but never send it FUSE_SYNCFS: say so. */
static void blkdev_check_kernel(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return;
	if (major < 6 || (major == 6 && minor < 18))
		gfs_warn("-o syncfs: Linux %s does not forward syncfs(2) to FUSE (6.18 does); "
			 "only fsync makes data durable here",
			 u.release);
}

int gfuse_blkdev_open(const char *source, bool read_only, char *name, size_t len, int *fd)
{
	struct stat st;
	int ret;

	*fd = -1;
	blkdev_check_kernel();
	if (stat(source, &st)) {
		ret = -errno;
		gfs_err("%s: -o syncfs: %s", source, strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode))
		return blkdev_nvme_name(source, &st, name, len);
	*fd = blkdev_loop_attach(source, read_only, name, len);
	return *fd < 0 ? *fd : 0;
}
