/* SPDX-License-Identifier: MIT */
/*
 * ex_model.c - the exerciser's oracle: every file's bytes and size as POSIX defines them after
 * each operation, the fsync'd image of each file for crash checks, and damaged blocks.
 * Invariant: bytes at or past a file's size are zero, so growing a file exposes zeros.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/exerciser/ex.h"

int ex_model_init(struct ex_model *m, unsigned files, uint64_t max_size, unsigned block_size)
{
	m->nr_files = files;
	m->max_size = max_size;
	m->block_size = block_size;
	m->files = calloc(files, sizeof(*m->files));
	if (!m->files)
		return -ENOMEM;
	for (unsigned i = 0; i < files; i++) {
		struct ex_file *f = &m->files[i];

		f->data = calloc(1, max_size);
		f->synced_data = calloc(1, max_size);
		f->damaged = calloc(1, max_size / block_size + 1);
		if (!f->data || !f->synced_data || !f->damaged)
			return -ENOMEM;
		f->synced = true;
	}
	return 0;
}

void ex_model_fini(struct ex_model *m)
{
	for (unsigned i = 0; i < m->nr_files; i++) {
		free(m->files[i].data);
		free(m->files[i].synced_data);
		free(m->files[i].damaged);
	}
	free(m->files);
}

/* Blocks wholly inside [off, off + len) are no longer damaged (rewritten or freed). */
static void model_heal(struct ex_model *m, unsigned f, uint64_t off, uint64_t len)
{
	uint64_t bs = m->block_size;
	uint64_t first = (off + bs - 1) / bs, end = (off + len) / bs;

	for (uint64_t b = first; b < end && b <= m->max_size / bs; b++)
		m->files[f].damaged[b] = 0;
}

void ex_model_write(struct ex_model *m, unsigned f, const void *buf, uint64_t len, uint64_t off)
{
	struct ex_file *file = &m->files[f];

	memcpy(file->data + off, buf, len);
	if (off + len > file->size)
		file->size = off + len;
	model_heal(m, f, off, len);
	file->synced = false;
}

void ex_model_truncate(struct ex_model *m, unsigned f, uint64_t size)
{
	struct ex_file *file = &m->files[f];

	if (size < file->size) {
		memset(file->data + size, 0, file->size - size);
		model_heal(m, f, size, m->max_size - size);
	}
	file->size = size;
	file->synced = false;
}

static void model_shift(struct ex_model *m, unsigned f, uint64_t from, uint64_t to, uint64_t n)
{
	struct ex_file *file = &m->files[f];
	uint64_t bs = m->block_size;

	memmove(file->data + to, file->data + from, n);
	memmove(file->damaged + to / bs, file->damaged + from / bs, (n + bs - 1) / bs);
}

void ex_model_fallocate(struct ex_model *m, unsigned f, int mode, uint64_t off, uint64_t len)
{
	struct ex_file *file = &m->files[f];
	uint64_t end = off + len, bs = m->block_size;

	file->synced = false;
	switch (mode) {
	case 0:
		if (end > file->size)
			file->size = end;
		break;
	case EX_FALLOC_PUNCH_HOLE | EX_FALLOC_KEEP_SIZE:
	case EX_FALLOC_ZERO_RANGE:
	case EX_FALLOC_ZERO_RANGE | EX_FALLOC_KEEP_SIZE: {
		uint64_t zend = end;

		if (mode & EX_FALLOC_KEEP_SIZE && zend > file->size)
			zend = file->size > off ? file->size : off;
		memset(file->data + off, 0, zend - off);
		model_heal(m, f, off, len);
		if (!(mode & EX_FALLOC_KEEP_SIZE) && end > file->size)
			file->size = end;
		break;
	}
	case EX_FALLOC_COLLAPSE_RANGE:
		model_shift(m, f, end, off, file->size - end);
		memset(file->data + file->size - len, 0, len);
		memset(file->damaged + (file->size - len) / bs, 0, len / bs);
		file->size -= len;
		break;
	case EX_FALLOC_INSERT_RANGE:
		model_shift(m, f, off, end, file->size - off);
		memset(file->data + off, 0, len);
		memset(file->damaged + off / bs, 0, len / bs);
		file->size += len;
		break;
	default:
		break;
	}
}

void ex_model_synced(struct ex_model *m, unsigned f)
{
	struct ex_file *file = &m->files[f];

	memcpy(file->synced_data, file->data, m->max_size);
	file->synced_size = file->size;
	file->synced = true;
}

bool ex_model_range_damaged(const struct ex_model *m, unsigned f, uint64_t off, uint64_t len)
{
	uint64_t bs = m->block_size;

	if (!len)
		return false;
	for (uint64_t b = off / bs; b <= (off + len - 1) / bs; b++)
		if (m->files[f].damaged[b])
			return true;
	return false;
}

void ex_model_damage(struct ex_model *m, unsigned f, uint64_t off)
{
	m->files[f].damaged[off / m->block_size] = 1;
}

void ex_model_relearn(struct ex_model *m, unsigned f, const uint8_t *data, uint64_t size)
{
	struct ex_file *file = &m->files[f];

	memset(file->data, 0, m->max_size);
	memcpy(file->data, data, size);
	file->size = size;
	memset(file->damaged, 0, m->max_size / m->block_size + 1);
	ex_model_synced(m, f);
}
