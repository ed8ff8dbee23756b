/* SPDX-License-Identifier: MIT */
/*
 * pi-bench - throughput of the PI library against its baselines, side by side in one run.
 *
 * For 4 KiB and 512 B blocks, over a 1 MiB working set (cache-resident) and a 64 MiB one
 * (memory-bound, like streaming I/O), in GB/s of block data: memcpy, ISA-L crc16_t10dif,
 * three ways to copy and CRC-16 a block (ISA-L's fused crc16_t10dif_copy, memcpy then
 * crc16_t10dif, our fused VPCLMULQDQ kernel: the choice pi_copy.c makes) and our fused CRC-64,
 * CRC-64/NVME through each of our paths, ISA-L crc64_ecma_refl (same folding technique,
 * another polynomial: the reference for our kernels), ISA-L crc32_iscsi, and generate /
 * verify / copy+generate / verify+copy for the 8-byte (4096+8 / 512+8) and 16-byte
 * (4096+16 / 512+16) formats, type 1, separate metadata (as core/ns hands them over), one
 * call per 128 KiB run; copy+generate also interleaved (extended-LBA bounce).
 *
 * The machine is shared and noisy: every case of a configuration runs once per round, rounds
 * repeat, and each case keeps its best round. ISA-L's AVX-512 kernels return with dirty upper
 * vector state, which slows the next legacy-SSE code (our PCLMULQDQ path) by 2x, so a
 * vzeroupper separates cases. The last two lines are the ratios the project tracks, each the
 * median over 21 back-to-back pairs of the two cases (see paired_ratio):
 *   crc64_vs_isal_ratio     = best CRC-64/NVME path / crc64_ecma_refl, 4 KiB blocks, 1 MiB
 *   copygen_vs_memcpy_ratio = copy+generate 4096+8 type 1 (separate metadata) / memcpy,
 *                             4 KiB blocks, 64 MiB
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/crc.h>
#include <isa-l/crc64.h>

#include "bench/bench_util.h"
#include "pi/crc64.h"
#include "pi/crc_copy.h"
#include "pi/pi.h"

#define RUN_BYTES     (128u << 10) /* data bytes per PI call */
#define MIN_SAMPLE    (32u << 20)  /* bytes processed per timed sample */
#define ROUNDS	      11
#define PAIRED_ROUNDS 21

struct config {
	size_t ws;   /* working set: bytes of block data */
	uint32_t bs; /* block size */
};

struct bufs {
	uint8_t *src, *dst, *md, *ext; /* ext: interleaved bounce, ws / bs * (bs + 16) */
	struct pi_ctx c8, c16, c8i, c16i;
};

enum bench_case {
	C_MEMCPY,
	C_CRC16,
	C_CRC16_COPY,
	C_MEMCPY_CRC16,
	C_OUR_CRC16_COPY,
	C_OUR_CRC64_COPY,
	C_CRC64_TABLE,
	C_CRC64_PCLMUL,
	C_CRC64_VPCLMUL,
	C_ISAL_CRC64,
	C_CRC32C,
	C_GEN8,
	C_VER8,
	C_COPYGEN8,
	C_VERCOPY8,
	C_COPYGEN8_INT,
	C_GEN16,
	C_VER16,
	C_COPYGEN16,
	C_VERCOPY16,
	C_COPYGEN16_INT,
	C_NR,
};

static const char *const case_names[C_NR] = {
	[C_MEMCPY] = "memcpy",
	[C_CRC16] = "crc16_t10dif (ISA-L)",
	[C_CRC16_COPY] = "crc16_t10dif_copy (ISA-L fused)",
	[C_MEMCPY_CRC16] = "memcpy + crc16_t10dif per block",
	[C_OUR_CRC16_COPY] = "pi_crc16_t10dif_copy (ours, fused)",
	[C_OUR_CRC64_COPY] = "pi_crc64_nvme_copy (ours, fused)",
	[C_CRC64_TABLE] = "crc64_nvme table",
	[C_CRC64_PCLMUL] = "crc64_nvme pclmul",
	[C_CRC64_VPCLMUL] = "crc64_nvme vpclmul",
	[C_ISAL_CRC64] = "crc64_ecma_refl (ISA-L)",
	[C_CRC32C] = "crc32_iscsi (ISA-L)",
	[C_GEN8] = "generate 8B tuple",
	[C_VER8] = "verify 8B tuple",
	[C_COPYGEN8] = "copy+generate 8B tuple",
	[C_VERCOPY8] = "verify+copy 8B tuple",
	[C_COPYGEN8_INT] = "copy+generate 8B interleaved",
	[C_GEN16] = "generate 16B tuple",
	[C_VER16] = "verify 16B tuple",
	[C_COPYGEN16] = "copy+generate 16B tuple",
	[C_VERCOPY16] = "verify+copy 16B tuple",
	[C_COPYGEN16_INT] = "copy+generate 16B interleaved",
};

static volatile uint64_t sink;

/* vzeroupper where the CPU has AVX (executing it elsewhere would fault). */
static void clear_upper_state(void)
{
	if (__builtin_cpu_supports("avx"))
		__asm__ volatile("vzeroupper" ::: "memory");
}

static void *xalloc(size_t len)
{
	void *p = aligned_alloc(4096, (len + 4095) & ~(size_t)4095);

	if (!p) {
		fprintf(stderr, "pi-bench: out of memory (%zu bytes)\n", len);
		exit(1);
	}
	memset(p, 0x5A, len); /* fault the pages in */
	return p;
}

static void ctx_init(struct pi_ctx *ctx, uint32_t bs, enum pi_guard guard, enum pi_md_layout layout)
{
	struct pi_format f = {.lba_size = bs,
			      .md_size = pi_tuple_size(guard),
			      .type = PI_TYPE_1,
			      .guard = guard,
			      .layout = layout};

	if (pi_ctx_init(ctx, &f)) {
		fprintf(stderr, "pi-bench: pi_ctx_init failed\n");
		exit(1);
	}
}

static uint64_t crc_blocks(enum bench_case c, const uint8_t *p, size_t ws, uint32_t bs)
{
	uint64_t acc = 0;

	for (size_t off = 0; off < ws; off += bs) {
		switch (c) {
		case C_CRC16:
			acc += crc16_t10dif(0, p + off, bs);
			break;
		case C_CRC64_TABLE:
		case C_CRC64_PCLMUL:
		case C_CRC64_VPCLMUL:
			acc += pi_crc64_nvme_impl(c - C_CRC64_TABLE, 0, p + off, bs);
			break;
		case C_ISAL_CRC64:
			acc += crc64_ecma_refl(0, p + off, bs);
			break;
		default:
			acc += crc32_iscsi((unsigned char *)p + off, (int)bs, 0);
			break;
		}
	}
	return acc;
}

/* One PI operation over the working set in RUN_BYTES calls. */
static int pi_pass(enum bench_case c, struct bufs *b, const struct config *cf)
{
	bool wide = c >= C_GEN16;
	const struct pi_ctx *ctx = wide ? &b->c16 : &b->c8;
	const struct pi_ctx *ctxi = wide ? &b->c16i : &b->c8i;
	uint32_t nb = RUN_BYTES / cf->bs, tsz = wide ? 16 : 8;
	struct pi_io io = {.app_tag = 0x1234, .app_mask = 0xFFFF, .checks = PI_CHECK_ALL};
	int ret = 0;

	for (size_t off = 0; off < cf->ws && !ret; off += RUN_BYTES) {
		size_t blk = off / cf->bs;
		struct iovec s = {b->src + off, RUN_BYTES}, d = {b->dst + off, RUN_BYTES};
		uint8_t *md = b->md + blk * tsz;

		io.lba = io.ref_tag = blk;
		switch (wide ? c - (C_GEN16 - C_GEN8) : c) {
		case C_GEN8:
			ret = pi_generate(ctx, &d, 1, md, nb, &io);
			break;
		case C_VER8:
			ret = pi_verify(ctx, &d, 1, md, nb, &io, NULL);
			break;
		case C_COPYGEN8:
			ret = pi_copy_generate(ctx, &s, 1, b->dst + off, md, nb, &io);
			break;
		case C_VERCOPY8:
			ret = pi_verify_copy(ctx, b->dst + off, md, &s, 1, nb, &io, NULL);
			break;
		default:
			ret = pi_copy_generate(ctxi, &s, 1, b->ext + blk * ctxi->stride, NULL, nb,
					       &io);
			break;
		}
	}
	return ret;
}

static void run_case(enum bench_case c, struct bufs *b, const struct config *cf)
{
	switch (c) {
	case C_MEMCPY:
		for (size_t off = 0; off < cf->ws; off += cf->bs)
			memcpy(b->dst + off, b->src + off, cf->bs);
		break;
	case C_CRC16_COPY:
		for (size_t off = 0; off < cf->ws; off += cf->bs)
			sink += crc16_t10dif_copy(0, b->dst + off, b->src + off, cf->bs);
		break;
	case C_OUR_CRC16_COPY:
		for (size_t off = 0; off < cf->ws; off += cf->bs)
			sink += pi_crc16_t10dif_copy(0, b->dst + off, b->src + off, cf->bs);
		break;
	case C_OUR_CRC64_COPY:
		for (size_t off = 0; off < cf->ws; off += cf->bs)
			sink += pi_crc64_nvme_copy(0, b->dst + off, b->src + off, cf->bs);
		break;
	case C_MEMCPY_CRC16:
		for (size_t off = 0; off < cf->ws; off += cf->bs) {
			memcpy(b->dst + off, b->src + off, cf->bs);
			sink += crc16_t10dif(0, b->dst + off, cf->bs);
		}
		break;
	case C_CRC16:
	case C_CRC64_TABLE:
	case C_CRC64_PCLMUL:
	case C_CRC64_VPCLMUL:
	case C_ISAL_CRC64:
	case C_CRC32C:
		sink += crc_blocks(c, b->src, cf->ws, cf->bs);
		break;
	default:
		if (pi_pass(c, b, cf)) {
			fprintf(stderr, "pi-bench: %s failed\n", case_names[c]);
			exit(1);
		}
		break;
	}
}

static bool case_available(enum bench_case c)
{
	if (c >= C_CRC64_TABLE && c <= C_CRC64_VPCLMUL)
		return pi_crc64_impl_available(c - C_CRC64_TABLE);
	return true;
}

static double time_case(enum bench_case c, struct bufs *b, const struct config *cf,
			unsigned int passes)
{
	double t0;

	clear_upper_state();
	t0 = bench_now();
	for (unsigned int i = 0; i < passes; i++)
		run_case(c, b, cf);
	return bench_now() - t0;
}

/* Best GB/s of every case for one configuration, cases interleaved within each round. */
static void measure(struct bufs *b, const struct config *cf, double gbps[C_NR])
{
	unsigned int passes = cf->ws >= MIN_SAMPLE ? 1 : MIN_SAMPLE / cf->ws;

	memset(gbps, 0, sizeof(double) * C_NR);
	for (int round = 0; round < ROUNDS; round++) {
		for (int k = 0; k < C_NR; k++) {
			/* the two cases of copygen_vs_memcpy_ratio run back to back */
			int c = k == 0		  ? C_MEMCPY
				: k == 1	  ? C_COPYGEN8
				: k <= C_COPYGEN8 ? k - 1
						  : k;

			unsigned int n = c == C_CRC64_TABLE ? (passes + 7) / 8 : passes;
			double t;

			if (!case_available(c))
				continue;
			/* verify checks what the matching generate wrote last */
			if (c == C_VER8 || c == C_VERCOPY8 || c == C_VER16 || c == C_VERCOPY16) {
				enum bench_case g = c <= C_VERCOPY8 ? C_GEN8 : C_GEN16;

				run_case(g, b, cf);
			}
			t = time_case(c, b, cf, n);
			if ((double)cf->ws * n / t / 1e9 > gbps[c])
				gbps[c] = (double)cf->ws * n / t / 1e9;
		}
	}
}

/*
 * Speed of case num over case den, as the median over rounds of back-to-back pairs (their order
 * alternating): a neighbour that loads the memory bus for a while slows both sides of a pair,
 * so the ratio holds where the best-of figures of the table can land in different weather.
 */
static double paired_ratio(enum bench_case num, enum bench_case den, struct bufs *b,
			   const struct config *cf)
{
	unsigned int passes = cf->ws >= MIN_SAMPLE ? 1 : MIN_SAMPLE / cf->ws;
	double r[PAIRED_ROUNDS];

	for (int i = 0; i < PAIRED_ROUNDS; i++) {
		double tn, td;

		if (i & 1) {
			tn = time_case(num, b, cf, passes);
			td = time_case(den, b, cf, passes);
		} else {
			td = time_case(den, b, cf, passes);
			tn = time_case(num, b, cf, passes);
		}
		r[i] = td / tn;
	}
	return bench_median(r, PAIRED_ROUNDS);
}

static void bufs_init(struct bufs *b, size_t ws, uint32_t bs)
{
	b->src = xalloc(ws);
	b->dst = xalloc(ws);
	b->md = xalloc(ws / bs * 16);
	b->ext = xalloc(ws / bs * (bs + 16));
	for (size_t i = 0; i < ws; i++)
		b->src[i] = (uint8_t)(i * 131 + (i >> 12));
	ctx_init(&b->c8, bs, PI_GUARD_16, PI_MD_SEPARATE);
	ctx_init(&b->c16, bs, PI_GUARD_64, PI_MD_SEPARATE);
	ctx_init(&b->c8i, bs, PI_GUARD_16, PI_MD_INTERLEAVED);
	ctx_init(&b->c16i, bs, PI_GUARD_64, PI_MD_INTERLEAVED);
}

static void bufs_free(struct bufs *b)
{
	free(b->src);
	free(b->dst);
	free(b->md);
	free(b->ext);
}

int main(int argc, char **argv)
{
	static const struct config cfs[] = {
		{1u << 20, 4096},
		{1u << 20, 512},
		{64u << 20, 4096},
		{64u << 20, 512},
	};
	enum { NCF = sizeof(cfs) / sizeof(cfs[0]) };
	double gbps[NCF][C_NR];
	enum bench_case best = C_CRC64_TABLE + pi_crc64_impl_best();
	double crc64_ratio = 0, copygen_ratio = 0;
	char model[128] = "unknown";
	FILE *f;

	if (argc > 1) {
		fprintf(stderr, "usage: %s (no arguments)\n", argv[0]);
		return 2;
	}
	f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[256];

		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
				snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
				model[strcspn(model, "\n")] = 0;
				break;
			}
		fclose(f);
	}
	printf("pi-bench: %s; CRC-64/NVME in use: %s; copy+CRC fused: %s; best of %d interleaved "
	       "rounds; GB/s of block data\n",
	       model, pi_crc64_impl_name(pi_crc64_impl_best()),
	       pi_crc_copy_is_fused() ? "yes" : "no", ROUNDS);
	for (int i = 0; i < NCF; i++) {
		struct bufs b;

		bufs_init(&b, cfs[i].ws, cfs[i].bs);
		measure(&b, &cfs[i], gbps[i]);
		if (i == 0)
			crc64_ratio = paired_ratio(best, C_ISAL_CRC64, &b, &cfs[i]);
		if (i == 2)
			copygen_ratio = paired_ratio(C_COPYGEN8, C_MEMCPY, &b, &cfs[i]);
		bufs_free(&b);
	}
	printf("%-34s", "case");
	for (int i = 0; i < NCF; i++)
		printf(" %6s/%-4s", cfs[i].bs == 4096 ? "4K" : "512",
		       cfs[i].ws >> 20 == 1 ? "1M" : "64M");
	printf("\n");
	for (int c = 0; c < C_NR; c++) {
		if (!case_available(c))
			continue;
		printf("%-34s", case_names[c]);
		for (int i = 0; i < NCF; i++)
			printf(" %11.2f", gbps[i][c]);
		printf("\n");
	}
	printf("best-of ratios from the table: crc64/isal %.2f (4K/1M), copy+generate 8B/memcpy "
	       "%.2f (4K/64M); below: median of %d back-to-back pairs\n",
	       gbps[0][best] / gbps[0][C_ISAL_CRC64], gbps[2][C_COPYGEN8] / gbps[2][C_MEMCPY],
	       PAIRED_ROUNDS);
	printf("crc64_vs_isal_ratio=%.2f\n", crc64_ratio);
	printf("copygen_vs_memcpy_ratio=%.2f\n", copygen_ratio);
	return 0;
}
