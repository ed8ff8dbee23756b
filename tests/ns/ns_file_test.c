// SPDX-License-Identifier: MIT
/*
 * ns_file_test.c - the file backend: QEMU nvme-ns layout at hand-computed offsets, the
 * never-written rule, metadata by mapping and by I/O (and by I/O when the mapping faults),
 * write zeroes/deallocate, flush/FUA, request counters, unaligned buffers, and bad input (right
 * errno, one log line).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ns.h"
#include "ns_test_util.h"

/* Offsets worked out by hand from nlb = S / (lba + md), data i*lba, md nlb*lba + i*md. */
struct layout_case {
	uint32_t lba, md;
	enum pi_guard guard;
	bool pi_first;
	uint64_t image_size; /* bytes; not always a multiple of lba + md */
	uint64_t nlb;	     /* expected */
	uint64_t lba_probe;
	uint64_t data_off, md_off;
};

static const struct layout_case layout_cases[] = {
	/* 512+8: 100 * 520 = 52000; LBA 7: 7*512 = 3584, 100*512 + 7*8 = 51256. */
	{512, 8, PI_GUARD_16, false, 52000, 100, 7, 3584, 51256},
	/* 4096+8 with 4000 spare bytes: 64 * 4104 + 4000 = 266656 -> nlb 64; LBA 9. */
	{4096, 8, PI_GUARD_16, false, 266656, 64, 9, 36864, 262216},
	/* 4096+16, 64-bit guard: 64 * 4112 = 263168; LBA 10: 40960, 262144 + 160 = 262304. */
	{4096, 16, PI_GUARD_64, false, 263168, 64, 10, 40960, 262304},
	/* 4096+64, PI first: 32 * 4160 = 133120; LBA 3: 12288, 131072 + 192 = 131264. */
	{4096, 64, PI_GUARD_16, true, 133120, 32, 3, 12288, 131264},
};

START_TEST(layout_matches_qemu_offsets)
{
	const struct layout_case *c = &layout_cases[_i];
	struct pi_format fmt = test_format(c->lba, c->md, PI_TYPE_1, c->guard, c->pi_first);
	struct nst_buf buf, back;
	uint8_t raw_data[4096], raw_md[64];
	char path[256];
	struct ns *ns;
	int fd;

	nst_seed("layout_matches_qemu_offsets");
	test_make_file("NS_TEST_DIR", "ns-test", c->image_size, path, sizeof(path));
	ns = test_ns_open(path, &fmt, true);
	ck_assert_uint_eq(ns_get_format(ns)->nlb, c->nlb);
	nst_buf_alloc(&buf, &fmt, 3);
	nst_buf_alloc(&back, &fmt, 3);
	/* Blocks probe-1 .. probe+1, so the neighbours' offsets are checked too. */
	nst_buf_fill(&buf, &fmt, c->lba_probe - 1, 0x1234);
	struct ns_pi_params pi = nst_pi(c->lba_probe - 1, 0x1234, PI_CHECK_ALL);
	ck_assert_int_eq(ns_write_sync(ns, c->lba_probe - 1, 3, buf.data, buf.md, &pi), 0);

	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 3; i++) {
		uint64_t data_off = c->data_off + (uint64_t)(i - 1) * c->lba;
		uint64_t md_off = c->md_off + (uint64_t)(i - 1) * c->md;

		ck_assert_int_eq(pread(fd, raw_data, c->lba, (off_t)data_off), (ssize_t)c->lba);
		ck_assert_int_eq(pread(fd, raw_md, c->md, (off_t)md_off), (ssize_t)c->md);
		ck_assert_mem_eq(raw_data, buf.data + (size_t)i * c->lba, c->lba);
		ck_assert_mem_eq(raw_md, buf.md + (size_t)i * c->md, c->md);
	}
	close(fd);
	ck_assert_int_eq(ns_read_sync(ns, c->lba_probe - 1, 3, back.data, back.md, &pi), 0);
	ck_assert_mem_eq(back.data, buf.data, 3 * (size_t)c->lba);
	ck_assert_mem_eq(back.md, buf.md, 3 * (size_t)c->md);
	nst_buf_free(&buf);
	nst_buf_free(&back);
	ns_close(ns);
	unlink(path);
}
END_TEST

START_TEST(never_written_blocks_read_ff_metadata)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(0, 0x77, PI_CHECK_ALL);
	struct nst_buf buf;
	char path[256];
	struct ns *ns;

	nst_seed("never_written_blocks_read_ff_metadata");
	ns = nst_open_new(&fmt, 64, true, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 64);
	/* A fresh sparse image: zeros everywhere on disk, escaped PI through the namespace. */
	ck_assert_int_eq(ns_read_sync(ns, 0, 64, buf.data, buf.md, &pi), 0);
	ck_assert(test_all_bytes(buf.data, 64 * 4096, 0));
	ck_assert(test_all_bytes(buf.md, 64 * 8, 0xFF));
	/* Write blocks 8..15; 0..7 and 16.. stay never-written. */
	nst_buf_fill(&buf, &fmt, 8, 0x77);
	pi = nst_pi(8, 0x77, PI_CHECK_ALL);
	ck_assert_int_eq(ns_write_sync(ns, 8, 8, buf.data, buf.md, &pi), 0);
	pi = nst_pi(0, 0x77, PI_CHECK_ALL);
	ck_assert_int_eq(ns_read_sync(ns, 0, 64, buf.data, buf.md, &pi), 0);
	ck_assert(test_all_bytes(buf.md, 8 * 8, 0xFF));
	ck_assert(!test_all_bytes(buf.md + 8 * 8, 8 * 8, 0xFF));
	ck_assert(test_all_bytes(buf.md + 16 * 8, 48 * 8, 0xFF));
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
}
END_TEST

/* The rule is about holes, not zeros: written zero metadata reads back as zeros. */
START_TEST(written_zero_metadata_is_not_escaped)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(0, 0, PI_CHECK_ALL);
	struct nst_buf buf;
	char path[256];
	struct ns *ns;

	ns = nst_open_new(&fmt, 16, true, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 1);
	/* LBA 0, zero data, app 0: guard 0, app 0, ref 0 is a valid all-zero tuple. */
	memset(buf.data, 0, 4096);
	memset(buf.md, 0, 8);
	ck_assert_int_eq(ns_write_sync(ns, 0, 1, buf.data, buf.md, &pi), 0);
	memset(buf.md, 0xAA, 8);
	ck_assert_int_eq(ns_read_sync(ns, 0, 1, buf.data, buf.md, &pi), 0);
	ck_assert(test_all_bytes(buf.md, 8, 0));
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
}
END_TEST

/*
 * Reads take their metadata from a mapping of the metadata region, or by I/O where it cannot be
 * mapped (md_by_io forces that path): both must return what is in the file, escaped PI for
 * never-written blocks included, and see metadata written through the descriptor at once.
 */
START_TEST(metadata_reads_by_mapping_and_by_io_agree)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(4, 0x55, PI_CHECK_ALL);
	struct ns_options by_io = {.format = &fmt, .strict = true, .md_by_io = true};
	struct nst_buf buf, back;
	uint8_t raw_md[8];
	char path[256];
	struct ns *ns, *ns_io;
	int fd;

	nst_seed("metadata_reads_by_mapping_and_by_io_agree");
	ns = nst_open_new(&fmt, 32, true, path, sizeof(path));
	ck_assert_int_eq(ns_open(path, &by_io, &ns_io), 0);
	nst_buf_alloc(&buf, &fmt, 8);
	nst_buf_alloc(&back, &fmt, 8);
	nst_buf_fill(&buf, &fmt, 4, 0x55);
	ck_assert_int_eq(ns_write_sync(ns, 4, 8, buf.data, buf.md, &pi), 0);
	for (int i = 0; i < 2; i++) {
		struct ns *n = i ? ns_io : ns;

		memset(back.md, 0xAA, 8 * 8);
		ck_assert_int_eq(ns_read_sync(n, 4, 8, back.data, back.md, &pi), 0);
		ck_assert_mem_eq(back.md, buf.md, 8 * 8);
		ck_assert_mem_eq(back.data, buf.data, 8 * 4096);
		/* Blocks 12..19 were never written: escaped PI either way. */
		pi = nst_pi(12, 0x55, PI_CHECK_ALL);
		ck_assert_int_eq(ns_read_sync(n, 12, 8, back.data, back.md, &pi), 0);
		ck_assert(test_all_bytes(back.md, 8 * 8, 0xFF));
		pi = nst_pi(4, 0x55, PI_CHECK_ALL);
	}
	/* Damage block 6's app tag behind both namespaces' backs: both see it at once. */
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	nst_raw_read(path, &fmt, 32, 6, NULL, raw_md);
	raw_md[2] ^= 0x01;
	ck_assert_int_eq(pwrite(fd, raw_md, 8, (off_t)(32 * 4096 + 6 * 8)), 8);
	close(fd);
	for (int i = 0; i < 2; i++) {
		struct ns *n = i ? ns_io : ns;
		struct ns_request rq;
		struct iovec iov;

		rq = nst_request(NS_OP_READ, 4, 8, &back, 4096, &iov, &pi);
		ck_assert_int_eq(ns_submit_wait(n, &rq), -EIO);
		ck_assert_int_eq(rq.pi_error.tag, PI_TAG_APP);
		ck_assert_uint_eq(rq.pi_error.lba, 6);
	}
	nst_buf_free(&buf);
	nst_buf_free(&back);
	ns_close(ns_io);
	ns_close(ns);
	unlink(path);
}
END_TEST

/*
 * The metadata mapping faults when the image shrinks under the namespace (as it does for an
 * unreadable page or a full host filesystem). The daemon must live: a read's metadata falls
 * back to pread, which finds nothing and fails the read with EIO and one line; a write's falls
 * back to pwrite, which succeeds, and a read then returns what was written.
 */
START_TEST(metadata_mapping_faults_fall_back_to_io)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(0, 0x31, PI_CHECK_ALL);
	struct nst_buf buf, back;
	char path[256];
	struct ns *ns;

	nst_seed("metadata_mapping_faults_fall_back_to_io");
	ns = nst_open_new(&fmt, 64, true, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 4);
	nst_buf_alloc(&back, &fmt, 4);
	nst_buf_fill(&buf, &fmt, 0, 0x31);
	ck_assert_int_eq(truncate(path, 64 * 4096), 0); /* the metadata region is gone */
	test_log_capture();
	ck_assert_int_eq(ns_read_sync(ns, 0, 4, back.data, back.md, &pi), -EIO);
	ck_assert_uint_eq(test_log_errors(), 1);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "read of metadata at LBA 0+4"));
	ck_assert_int_eq(ns_write_sync(ns, 0, 4, buf.data, buf.md, &pi), 0);
	ck_assert_int_eq(ns_read_sync(ns, 0, 4, back.data, back.md, &pi), 0);
	ck_assert_mem_eq(back.md, buf.md, 4 * 8);
	ck_assert_mem_eq(back.data, buf.data, 4 * 4096);
	ck_assert_uint_eq(test_log_errors(), 1);
	nst_buf_free(&buf);
	nst_buf_free(&back);
	ns_close(ns);
	unlink(path);
}
END_TEST

/* Fill the filesystem under dir with a file of its own; its path goes to fill. */
static void fill_filesystem(const char *dir, char *fill, size_t size)
{
	static const uint8_t chunk[65536];
	int fd;

	snprintf(fill, size, "%s/fill", dir);
	fd = open(fill, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	while (write(fd, chunk, sizeof(chunk)) > 0)
		;
	ck_assert_int_eq(errno, ENOSPC);
	close(fd);
}

/*
 * What the guard is for: the host filesystem is full and a write's metadata lands in a hole
 * of a sparse image. The store through the mapping faults (SIGBUS); the pwrite that repeats it
 * says ENOSPC, and the write fails with ENOSPC and one line naming its metadata. With room
 * again, the same write goes through. The full filesystem is a 1 MiB tmpfs (mounting it needs
 * root, which the suite has in CI; elsewhere the test says so and does nothing).
 */
START_TEST(metadata_store_on_a_full_host_filesystem_fails_with_enospc)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(0, 0x42, PI_CHECK_ALL);
	char dir[] = "/var/tmp/gfs-full-XXXXXX", path[256], fill[256];
	struct nst_buf buf, back;
	struct ns *ns;
	int fd;

	nst_seed("metadata_store_on_a_full_host_filesystem_fails_with_enospc");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	if (mount("guardfs-test", dir, "tmpfs", 0, "size=1m")) {
		ck_assert_int_eq(errno, EPERM);
		printf("metadata_store_on_a_full_host_filesystem_fails_with_enospc: not root, "
		       "cannot mount a tmpfs: not run\n");
		rmdir(dir);
		return;
	}
	/* 1024 blocks: 4 MiB of data and 8 KiB of metadata, none of it allocated. */
	snprintf(path, sizeof(path), "%s/img", dir);
	fd = open(path, O_CREAT | O_RDWR, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1024 * (4096 + 8)), 0);
	close(fd);
	ns = test_ns_open(path, &fmt, false);
	nst_buf_alloc(&buf, &fmt, 4);
	nst_buf_alloc(&back, &fmt, 4);
	nst_buf_fill(&buf, &fmt, 0, 0x42);
	fill_filesystem(dir, fill, sizeof(fill));
	test_log_capture();
	ck_assert_int_eq(ns_write_sync(ns, 0, 4, buf.data, buf.md, &pi), -ENOSPC);
	ck_assert_uint_ge(test_log_errors(), 1);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "write of metadata at LBA 0+4"));
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), strerror(ENOSPC)));
	ck_assert_int_eq(unlink(fill), 0);
	ck_assert_int_eq(ns_write_sync(ns, 0, 4, buf.data, buf.md, &pi), 0);
	ck_assert_int_eq(ns_read_sync(ns, 0, 4, back.data, back.md, &pi), 0);
	ck_assert_mem_eq(back.md, buf.md, 4 * 8);
	ck_assert_mem_eq(back.data, buf.data, 4 * 4096);
	nst_buf_free(&buf);
	nst_buf_free(&back);
	ns_close(ns);
	ck_assert_int_eq(umount2(dir, MNT_DETACH), 0);
	rmdir(dir);
}
END_TEST

static int submit_simple(struct ns *ns, enum ns_op op, uint64_t slba, uint32_t nlb)
{
	struct ns_request rq = {.op = op, .slba = slba, .nlb = nlb};

	return ns_submit_wait(ns, &rq);
}

START_TEST(write_zeroes_and_deallocate_read_zeros_and_ff)
{
	struct pi_format fmt = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(0, 0x5, PI_CHECK_ALL);
	uint8_t raw_md[8];
	struct nst_buf buf;
	char path[256];
	struct ns *ns;

	nst_seed("write_zeroes_and_deallocate_read_zeros_and_ff");
	ns = nst_open_new(&fmt, 256, true, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 256);
	nst_buf_fill(&buf, &fmt, 0, 0x5);
	ck_assert_int_eq(ns_write_sync(ns, 0, 256, buf.data, buf.md, &pi), 0);
	ck_assert_int_eq(submit_simple(ns, NS_OP_WRITE_ZEROES, 16, 16), 0);
	ck_assert_int_eq(submit_simple(ns, NS_OP_DEALLOCATE, 100, 3), 0);
	ck_assert_int_eq(ns_read_sync(ns, 0, 256, buf.data, buf.md, &pi), 0);
	ck_assert(test_all_bytes(buf.data + 16 * 512, 16 * 512, 0));
	ck_assert(test_all_bytes(buf.md + 16 * 8, 16 * 8, 0xFF));
	ck_assert(test_all_bytes(buf.data + 100 * 512, 3 * 512, 0));
	ck_assert(test_all_bytes(buf.md + 100 * 8, 3 * 8, 0xFF));
	ck_assert(!test_all_bytes(buf.md + 15 * 8, 8, 0xFF));
	ck_assert(!test_all_bytes(buf.md + 32 * 8, 8, 0xFF));
	ck_assert(!test_all_bytes(buf.md + 103 * 8, 8, 0xFF));
	/* On disk too: the metadata region holds the escape, whatever the hole rule says. */
	nst_raw_read(path, &fmt, 256, 101, NULL, raw_md);
	ck_assert(test_all_bytes(raw_md, 8, 0xFF));
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
}
END_TEST

START_TEST(flush_and_fua_write_reach_the_file)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(3, 0x9, PI_CHECK_ALL);
	uint8_t raw[4096], raw_md[8];
	struct nst_buf buf;
	char path[256];
	struct ns *ns;

	nst_seed("flush_and_fua_write_reach_the_file");
	ns = nst_open_new(&fmt, 16, false, path, sizeof(path));
	ck_assert(ns_get_format(ns)->volatile_cache);
	ck_assert_uint_eq(ns_get_format(ns)->max_transfer, 1u << 20);
	nst_buf_alloc(&buf, &fmt, 1);
	nst_buf_fill(&buf, &fmt, 3, 0x9);
	struct iovec iov;
	struct ns_request rq = nst_request(NS_OP_WRITE, 3, 1, &buf, 4096, &iov, &pi);
	rq.fua = true;
	ck_assert_int_eq(ns_submit_wait(ns, &rq), 0);
	ck_assert_int_eq(ns_flush_sync(ns), 0);
	nst_raw_read(path, &fmt, 16, 3, raw, raw_md);
	ck_assert_mem_eq(raw, buf.data, 4096);
	ck_assert_mem_eq(raw_md, buf.md, 8);
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
}
END_TEST

START_TEST(stats_count_requests_per_op)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(0, 0, 0);
	struct ns_stats st;
	struct nst_buf buf;
	char path[256];
	struct ns *ns;

	ns = nst_open_new(&fmt, 1024, false, path, sizeof(path));
	ns_get_stats(ns, &st);
	ck_assert_uint_eq(st.reads + st.writes + st.flushes + st.bytes_read + st.bytes_written, 0);
	nst_buf_alloc(&buf, &fmt, 512);
	memset(buf.data, 1, 512 * 4096);
	memset(buf.md, 0, 512 * 8);
	/* 2 MiB: two pieces at the 1 MiB max transfer, still one request. */
	ck_assert_int_eq(ns_write_sync(ns, 0, 512, buf.data, buf.md, &pi), 0);
	ck_assert_int_eq(ns_read_sync(ns, 0, 2, buf.data, buf.md, &pi), 0);
	ck_assert_int_eq(ns_read_sync(ns, 5, 1, buf.data, buf.md, &pi), 0);
	ck_assert_int_eq(ns_flush_sync(ns), 0);
	ck_assert_int_eq(submit_simple(ns, NS_OP_DEALLOCATE, 0, 1), 0);
	ck_assert_int_eq(ns_read_sync(ns, 2000, 1, buf.data, buf.md, &pi), -ERANGE);
	ns_get_stats(ns, &st);
	ck_assert_uint_eq(st.writes, 1);
	ck_assert_uint_eq(st.reads, 2);
	ck_assert_uint_eq(st.flushes, 1);
	ck_assert_uint_eq(st.deallocates, 1);
	ck_assert_uint_eq(st.write_zeroes, 0);
	ck_assert_uint_eq(st.bytes_written, 512 * 4096);
	ck_assert_uint_eq(st.bytes_read, 3 * 4096);
	ck_assert_uint_eq(st.errors, 0);
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
}
END_TEST

/* Buffers O_DIRECT would refuse take the buffered descriptor instead of failing. */
START_TEST(unaligned_and_split_iovecs_round_trip)
{
	struct pi_format fmt = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(40, 0x3, PI_CHECK_ALL);
	struct nst_buf buf;
	uint8_t *odd = malloc(32 * 512 + 1), *back = malloc(32 * 512 + 3);
	struct iovec iov[3];
	char path[256];
	struct ns *ns;

	nst_seed("unaligned_and_split_iovecs_round_trip");
	ns = nst_open_new(&fmt, 128, true, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 32);
	nst_buf_fill(&buf, &fmt, 40, 0x3);
	memcpy(odd + 1, buf.data, 32 * 512);
	/* Split at byte 700 and 9001: blocks straddle iovecs. */
	iov[0] = (struct iovec){odd + 1, 700};
	iov[1] = (struct iovec){odd + 701, 8301};
	iov[2] = (struct iovec){odd + 9002, 32 * 512 - 9001};
	struct ns_request wr = {.op = NS_OP_WRITE,
				.slba = 40,
				.nlb = 32,
				.iov = iov,
				.iovcnt = 3,
				.md = buf.md,
				.pi = pi};
	ck_assert_int_eq(ns_submit_wait(ns, &wr), 0);
	ck_assert_int_eq(ns_read_sync(ns, 40, 32, back + 3, buf.md, &pi), 0);
	ck_assert_mem_eq(back + 3, buf.data, 32 * 512);
	free(odd);
	free(back);
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
}
END_TEST

START_TEST(bad_input_gets_errno_and_one_log_line)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_options ro = {.format = &fmt, .read_only = true};
	struct ns_options noformat = {.format = NULL};
	struct ns_pi_params pi = nst_pi(0, 0, 0);
	struct nst_buf buf;
	char path[256], tiny[256];
	struct ns *ns, *rons, *none = NULL;

	ns = nst_open_new(&fmt, 16, false, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 2);
	memset(buf.data, 0, 2 * 4096);
	memset(buf.md, 0, 16);
	test_log_capture();
	ck_assert_int_eq(ns_read_sync(ns, 0, 0, buf.data, buf.md, &pi), -EINVAL);
	ck_assert_uint_eq(test_log_errors(), 1);
	ck_assert_int_eq(ns_read_sync(ns, 15, 2, buf.data, buf.md, &pi), -ERANGE);
	ck_assert_uint_eq(test_log_errors(), 2);
	ck_assert_int_eq(ns_read_sync(ns, UINT64_MAX, 1, buf.data, buf.md, &pi), -ERANGE);
	ck_assert_uint_eq(test_log_errors(), 3);
	ck_assert_int_eq(ns_write_sync(ns, 0, 1, buf.data, NULL, &pi), -EINVAL);
	ck_assert_uint_eq(test_log_errors(), 4);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), path));
	ck_assert_int_eq(ns_open(path, &ro, &rons), 0);
	ck_assert_int_eq(ns_write_sync(rons, 0, 1, buf.data, buf.md, &pi), -EROFS);
	ck_assert_int_eq(submit_simple(rons, NS_OP_DEALLOCATE, 0, 1), -EROFS);
	ck_assert_uint_eq(test_log_errors(), 6);
	ck_assert_int_eq(ns_read_sync(rons, 0, 1, buf.data, buf.md, &pi), 0);
	ns_close(rons);
	ck_assert_int_eq(ns_open("/nonexistent/guardfs.img", &ro, &none), -ENOENT);
	ck_assert_uint_eq(test_log_errors(), 7);
	ck_assert_int_eq(ns_open("/dev/null", &ro, &none), -ENODEV);
	ck_assert_uint_eq(test_log_errors(), 8);
	ck_assert_int_eq(ns_open(path, &noformat, &none), -EINVAL);
	ck_assert_uint_eq(test_log_errors(), 9);
	test_make_file("NS_TEST_DIR", "ns-test", 4000, tiny, sizeof(tiny));
	ck_assert_int_eq(ns_open(tiny, &ro, &none), -EINVAL);
	ck_assert_uint_eq(test_log_errors(), 10);
	ck_assert_ptr_null(none);
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
	unlink(tiny);
}
END_TEST

START_TEST(unsupported_format_is_refused)
{
	/* 64-bit guard needs 16 bytes of metadata. */
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_64, false);
	struct ns_options opts = {.format = &fmt};
	char path[256];
	struct ns *ns = NULL;

	nst_make_image(&fmt, 16, path, sizeof(path));
	test_log_capture();
	ck_assert_int_eq(ns_open(path, &opts, &ns), -EINVAL);
	ck_assert_uint_eq(test_log_errors(), 1);
	ck_assert_ptr_null(ns);
	unlink(path);
}
END_TEST

static Suite *ns_file_suite(void)
{
	Suite *s = suite_create("ns_file");
	TCase *tc = tcase_create("file");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, layout_matches_qemu_offsets, 0,
			    (int)(sizeof(layout_cases) / sizeof(layout_cases[0])));
	tcase_add_test(tc, never_written_blocks_read_ff_metadata);
	tcase_add_test(tc, written_zero_metadata_is_not_escaped);
	tcase_add_test(tc, metadata_reads_by_mapping_and_by_io_agree);
	tcase_add_test(tc, metadata_mapping_faults_fall_back_to_io);
	tcase_add_test(tc, metadata_store_on_a_full_host_filesystem_fails_with_enospc);
	tcase_add_test(tc, write_zeroes_and_deallocate_read_zeros_and_ff);
	tcase_add_test(tc, flush_and_fua_write_reach_the_file);
	tcase_add_test(tc, stats_count_requests_per_op);
	tcase_add_test(tc, unaligned_and_split_iovecs_round_trip);
	tcase_add_test(tc, bad_input_gets_errno_and_one_log_line);
	tcase_add_test(tc, unsupported_format_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(ns_file_suite());
}
