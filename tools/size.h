/* SPDX-License-Identifier: MIT */
/*
 * size.h - byte counts on the command line and in reports: "4096", "64K", "1.5G", "2T" in,
 * "1.5 GiB" out. Suffixes are binary (K = 1024) and case-insensitive, an optional "iB" or "B"
 * may follow; a fraction is allowed with a suffix as long as the result is a whole number of
 * bytes. Shared by mkfs.guardfs, fsck.guardfs and the benchmarks.
 */
#ifndef GUARDFS_TOOLS_SIZE_H
#define GUARDFS_TOOLS_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Parse @s into *@out. -EINVAL for anything but a number with an optional suffix, -ERANGE
 * when the value does not fit 64 bits. */
int size_parse(const char *s, uint64_t *out);

/* Format @bytes with a binary unit ("512 B", "4.0 KiB", "1.50 GiB") into @buf. */
const char *size_format(uint64_t bytes, char *buf, size_t len);

#endif /* GUARDFS_TOOLS_SIZE_H */
