/* SPDX-License-Identifier: MIT */
/*
 * hugemem.h - device-facing buffers in transparent huge pages.
 *
 * A 1 MiB buffer in one physically contiguous huge page goes to the device as one data
 * segment instead of up to 256: fewer PRP/SG entries for a controller, one descriptor for a
 * virtio disk instead of hundreds (1 MiB reads ran at 1.5 GB/s from 4 KiB pages and 3 GB/s
 * from huge ones on the VM guardfs is measured on). The direct I/O bounce pool and the FUSE
 * workers' request buffers both take their memory from here.
 */
#ifndef GUARDFS_HUGEMEM_H
#define GUARDFS_HUGEMEM_H

#include <stddef.h>

/*
 * An anonymous private mapping of bytes, zero filled and committed as it is touched. From
 * GFS_HUGE_PAGE up it starts on a huge page boundary and is advised for transparent huge
 * pages; where THP is off the advice fails and the region keeps small pages, which nothing
 * depends on. A smaller region could never get a huge page and is mapped as it is.
 * NULL when out of memory or bytes is 0. Free with gfs_huge_free(p, bytes).
 */
void *gfs_huge_alloc(size_t bytes);
void gfs_huge_free(void *p, size_t bytes);

#define GFS_HUGE_PAGE ((size_t)2 << 20) /* x86-64 and arm64 (4 KiB base pages) PMD size */

#endif /* GUARDFS_HUGEMEM_H */
