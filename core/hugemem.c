// SPDX-License-Identifier: MIT
/*
 * hugemem.c - anonymous regions aligned and advised for transparent huge pages (hugemem.h).
 *
 * mmap only promises page alignment, so a region that wants huge pages is mapped one huge page
 * larger than asked and trimmed at both ends to a huge-page-aligned start: the kernel can back
 * an aligned 2 MiB range with a huge page only if the range is aligned in the address space.
 */
#include "core/hugemem.h"

#include <stdint.h>
#include <sys/mman.h>

void *gfs_huge_alloc(size_t bytes)
{
	size_t len = bytes < GFS_HUGE_PAGE ? bytes : bytes + GFS_HUGE_PAGE;
	char *p, *start;

	if (!bytes || len < bytes) /* the slack wrapped around: no system maps that */
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (bytes < GFS_HUGE_PAGE)
		return p;
	start = (char *)(((uintptr_t)p + GFS_HUGE_PAGE - 1) & ~(uintptr_t)(GFS_HUGE_PAGE - 1));
	if (start > p)
		munmap(p, (size_t)(start - p));
	if (p + len > start + bytes)
		munmap(start + bytes, (size_t)(p + len - (start + bytes)));
	madvise(start, bytes, MADV_HUGEPAGE); /* fails where THP is off: small pages then */
	return start;
}

void gfs_huge_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}
