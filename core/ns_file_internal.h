/* SPDX-License-Identifier: MIT */
/*
 * ns_file_internal.h - what the file backend's two files share: ns_file.c (commands, SQEs,
 * completion) and ns_file_md.c (the metadata region: its mapping, the metadata of reads and
 * writes, the never-written rule). Not for use outside the backend.
 */
#ifndef GUARDFS_NS_FILE_INTERNAL_H
#define GUARDFS_NS_FILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/ns_fault.h"
#include "core/ns_internal.h"
#include "core/ns_order.h"

struct file_ns {
	int data_fd; /* O_DIRECT when direct, else the same as buf_fd */
	int buf_fd;  /* buffered: metadata, unaligned data, hole queries */
	bool direct;
	uint32_t mem_align; /* O_DIRECT buffer alignment */
	uint64_t md_offset; /* nlb * lba_size */
	uint8_t *md_map;    /* the metadata region, mapped shared; NULL: by I/O */
	void *map_base;	    /* what munmap needs */
	size_t map_len;
	struct ns_order order; /* commands over the same LBAs, one after the other */
};

/* Per-command state beyond struct ns_cmd, allocated only for commands that need it. */
struct file_cmd {
	struct ns_fault_plan plan;
	struct pi_error pe;
	bool has_pe;
	uint64_t target;  /* write: LBA where it lands */
	uint32_t written; /* write: blocks that reach the file */
	void *bounce;	  /* write: the data (and after it the metadata) that reach the file */
	struct iovec bounce_iov;
	void *bounce_md;
	void *ones;	/* write zeroes/deallocate: nlb blocks of escaped metadata */
	size_t durable; /* flush with a write log: records complete at submission */
};

/* Map the metadata region (read-only for a read-only namespace); unmapped, it moves by I/O. */
void file_md_map(struct file_ns *f, const char *path, uint64_t file_size, bool read_only);
void file_md_unmap(struct file_ns *f);

/* Submitting thread: put a plain write's metadata into the page cache; failure sets cmd->error. */
void file_md_store(struct ns *ns, struct ns_cmd *cmd);
/* Submitting thread: fault in the mapped metadata a read will copy on completion. */
void file_md_prefault(const struct ns *ns, const struct ns_cmd *cmd);
/* Completion thread: a read's metadata into cmd->md, never-written blocks escaped. 0 or -errno. */
int file_md_complete_read(struct ns *ns, struct ns_cmd *cmd);

/* The metadata of a deallocated block: the PI tuple all 0xFF, the other bytes zero. */
void file_md_escape(const struct ns *ns, uint8_t *md);

#endif /* GUARDFS_NS_FILE_INTERNAL_H */
