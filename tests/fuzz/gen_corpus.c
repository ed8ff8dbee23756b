/* SPDX-License-Identifier: MIT */
/*
 * gen_corpus.c - writes fuzz_meta's seed corpus from a real filesystem: mkfs on a scratch
 * image, records appended and committed, a checkpoint, then the raw bytes of the superblock,
 * the log batches and the checkpoint headers, each prefixed with fuzz_meta's selector and
 * block-size bytes. Usage: gen_corpus OUTDIR SCRATCHDIR
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/journal.h"
#include "core/journal_fmt.h"
#include "core/ns.h"
#include "core/sb.h"

static void die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s failed\n", what);
	exit(1);
}

static void emit(const char *dir, const char *name, uint8_t sel, uint8_t bscode, const void *buf,
		 size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fputc(sel, f) == EOF || fputc(bscode, f) == EOF ||
	    fwrite(buf, 1, len, f) != len || fclose(f))
		die(path);
}

static int emit_state(struct journal_ckpt *ck, void *arg)
{
	char rec[300];

	for (int i = 0; i < 40; i++) {
		memset(rec, 'a' + i % 26, sizeof(rec));
		if (journal_ckpt_add(ck, (uint16_t)(1 + i % 3), rec, (uint32_t)(i * 7)))
			return -1;
	}
	return 0;
}

/* Append three multi-block batches and write a checkpoint; returns the log blocks used. */
static uint64_t fill_journal(struct ns *ns, const struct sb *sb)
{
	struct journal_stats st;
	struct journal *j;
	uint8_t rec[5000];
	uint64_t seq = 0;

	if (journal_open(ns, sb, NULL, NULL, &j))
		die("journal_open");
	for (int batch = 0; batch < 3; batch++) {
		for (int i = 0; i < 4; i++) {
			memset(rec, 'A' + i, sizeof(rec));
			if (journal_append(j, (uint16_t)(1 + i), rec,
					   (uint32_t)(batch * 1500 + i * 10), &seq))
				die("append");
		}
		if (journal_commit(j, seq))
			die("commit");
	}
	if (journal_checkpoint(j, emit_state, NULL))
		die("checkpoint");
	journal_get_stats(j, &st);
	if (journal_close(j))
		die("close");
	return st.log_blocks_used;
}

static void dump_structures(const char *out, int fd, const struct sb *sb, uint64_t log_used,
			    uint8_t bscode)
{
	uint32_t bs = sb->block_size;
	uint8_t *buf = malloc((size_t)bs * 64);
	char name[64];
	const char *tag = sb->pi.md_size ? "pi" : "nopi";
	uint8_t zs[100];

	if (!buf || pread(fd, buf, 512, 0) != 512)
		die("read sb");
	snprintf(name, sizeof(name), "sb-%s-%u", tag, bs);
	emit(out, name, 0, bscode, buf, 512);
	if (pread(fd, buf, (size_t)bs * log_used, (off_t)bs) != (ssize_t)(bs * log_used))
		die("read log");
	snprintf(name, sizeof(name), "log-%s-%u", tag, bs);
	emit(out, name, 1, bscode, buf, (size_t)bs * log_used);
	for (int a = 0; a < 2; a++) {
		if (pread(fd, buf, bs, (off_t)(sb->ckpt_start[a] * bs)) != (ssize_t)bs)
			die("read ckpt");
		snprintf(name, sizeof(name), "ckpt%c-%s-%u", 'A' + a, tag, bs);
		emit(out, name, 2, bscode, buf, bs);
	}
	/* A bare record stream: count, then records. */
	md_put_le32(buf, 3);
	jfmt_rec_encode(buf + 4, 1, "hello", 5);
	jfmt_rec_encode(buf + 17, 2, NULL, 0);
	memset(zs, 'z', sizeof(zs));
	jfmt_rec_encode(buf + 25, 3, zs, sizeof(zs));
	emit(out, "stream-3", 3, 0, buf, 133);
	free(buf);
}

static void gen_one(const char *out, const char *scratch, uint32_t lba, uint32_t md, uint32_t bs,
		    uint8_t bscode)
{
	struct pi_format fmt = {.lba_size = lba, .md_size = md, .type = md ? PI_TYPE_1 : 0};
	struct sb_params p = {.block_size = bs, .log_blocks = 64, .label = "corpus"};
	struct ns_options opts = {.format = &fmt};
	uint64_t nlb = 16384, used;
	char path[512];
	struct ns *ns;
	struct sb sb;
	int fd;

	snprintf(path, sizeof(path), "%s/gen-corpus-XXXXXX", scratch);
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)(nlb * (lba + md))))
		die("image");
	if (ns_open(path, &opts, &ns))
		die("ns_open");
	if (sb_format(ns, &p, &sb) || journal_format(ns, &sb))
		die("mkfs");
	used = fill_journal(ns, &sb);
	ns_close(ns);
	dump_structures(out, fd, &sb, used, bscode);
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gen_corpus OUTDIR SCRATCHDIR\n");
		return 2;
	}
	gen_one(argv[1], argv[2], 512, 8, 512, 0);
	gen_one(argv[1], argv[2], 4096, 8, 4096, 3);
	gen_one(argv[1], argv[2], 4096, 0, 4096, 3);
	return 0;
}
