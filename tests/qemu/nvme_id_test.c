/* SPDX-License-Identifier: MIT */
/*
 * nvme_id_test.c - Check suite "nvme_id": the NVMe backend's reading of Identify data
 * (core/ns_nvme_id.c), including the formats it must refuse, which QEMU cannot produce
 * (storage tags, 32-bit guard, extended LBA with PI checks through passthrough), and opening
 * something that is not an NVMe namespace. The QEMU test covers the formats QEMU can emulate.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <libnvme.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/ns.h"
#include "core/ns_nvme_id.h"

static struct nvme_id_ctrl ctrl;
static struct nvme_id_ns id;
static struct nvme_nvm_id_ns nvm;
static char last_line[1024];

static void capture_log(enum gfs_log_level level, const char *line, void *arg)
{
	snprintf(last_line, sizeof(last_line), "%s", line);
}

/* A controller like QEMU's: VWC, write zeroes + DSM, MDTS 7; one 4096+8 Type 1 format. */
static void setup(void)
{
	memset(&ctrl, 0, sizeof(ctrl));
	memset(&id, 0, sizeof(id));
	memset(&nvm, 0, sizeof(nvm));
	ctrl.vwc = NVME_CTRL_VWC_PRESENT;
	ctrl.oncs = htole16(NVME_CTRL_ONCS_WRITE_ZEROES | NVME_CTRL_ONCS_DSM);
	ctrl.mdts = 7;
	id.nsze = htole64(1000);
	id.nlbaf = 3;
	id.lbaf[0].ds = 9;
	id.lbaf[1].ds = 9;
	id.lbaf[1].ms = htole16(8);
	id.lbaf[2].ds = 12;
	id.lbaf[2].ms = htole16(8);
	id.lbaf[3].ds = 12;
	id.lbaf[3].ms = htole16(16);
	id.flbas = 2;
	id.dps = NVME_NS_DPS_PI_TYPE1;
	last_line[0] = '\0';
	gfs_log_set_hook(capture_log, NULL);
}

static void teardown(void)
{
	gfs_log_set_hook(NULL, NULL);
}

static void set_elbaf(unsigned fmt, unsigned pif, unsigned sts)
{
	nvm.elbaf[fmt] = htole32(pif << 7 | sts);
}

START_TEST(reads_separate_metadata_type1_without_elbas)
{
	struct ns_format f;

	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, NULL, &f), 0);
	ck_assert_uint_eq(f.pi.lba_size, 4096);
	ck_assert_uint_eq(f.pi.md_size, 8);
	ck_assert_int_eq(f.pi.type, PI_TYPE_1);
	ck_assert_int_eq(f.pi.guard, PI_GUARD_16);
	ck_assert(!f.pi.pi_first);
	ck_assert_int_eq(f.pi.layout, PI_MD_SEPARATE);
	ck_assert_uint_eq(f.nlb, 1000);
	ck_assert(f.volatile_cache && f.write_zeroes && f.deallocate);
	ck_assert_uint_eq(f.max_transfer, 4096u << 7);
}
END_TEST

START_TEST(takes_guard_format_from_elbaf_when_ctrl_has_elbas)
{
	struct ns_format f;

	id.flbas = 3;
	set_elbaf(3, 2, 0);
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, &nvm, &f), 0);
	ck_assert_int_eq(f.pi.guard, PI_GUARD_64);
	ck_assert_uint_eq(f.pi.md_size, 16);
	/* another format's elbaf is not consulted */
	set_elbaf(3, 0, 0);
	set_elbaf(2, 2, 0);
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, &nvm, &f), 0);
	ck_assert_int_eq(f.pi.guard, PI_GUARD_16);
}
END_TEST

START_TEST(reads_pi_first_type3_and_no_capabilities)
{
	struct ns_format f;

	id.flbas = 3;
	id.dps = NVME_NS_DPS_PI_TYPE3 | NVME_NS_DPS_PI_FIRST;
	ctrl.vwc = 0;
	ctrl.oncs = 0;
	ctrl.mdts = 0;
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, NULL, &f), 0);
	ck_assert_int_eq(f.pi.type, PI_TYPE_3);
	ck_assert(f.pi.pi_first);
	ck_assert(!f.volatile_cache && !f.write_zeroes && !f.deallocate);
	ck_assert_uint_ge(f.max_transfer, 1u << 20); /* MDTS 0: no limit of its own */
}
END_TEST

START_TEST(caps_max_transfer_by_mdts_and_nlb_field)
{
	struct ns_format f;

	ctrl.mdts = 5;
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, NULL, &f), 0);
	ck_assert_uint_eq(f.max_transfer, 128u << 10);
	/* MDTS 0 (no limit) with 512-byte blocks: 65536 blocks per command at most */
	ctrl.mdts = 0;
	id.flbas = 1;
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, NULL, &f), 0);
	ck_assert_uint_eq(f.max_transfer, 65536u * 512);
}
END_TEST

START_TEST(uses_high_format_index_bits)
{
	struct ns_format f;

	id.nlbaf = 20;
	id.lbaf[18].ds = 12;
	id.lbaf[18].ms = htole16(64);
	id.flbas = (1 << 5) | 2; /* index 0b01_0010 = 18 */
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, NULL, &f), 0);
	ck_assert_uint_eq(f.pi.md_size, 64);
}
END_TEST

START_TEST(reads_format_without_pi)
{
	struct ns_format f;

	id.flbas = 0;
	id.dps = 0;
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, NULL, &f), 0);
	ck_assert_uint_eq(f.pi.lba_size, 512);
	ck_assert_uint_eq(f.pi.md_size, 0);
	ck_assert_int_eq(f.pi.type, PI_TYPE_NONE);
}
END_TEST

START_TEST(refuses_extended_lba_format)
{
	struct ns_format f;

	id.flbas |= NVME_NS_FLBAS_META_EXT;
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng3n2", &ctrl, &id, NULL, &f), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(last_line, "/dev/ng3n2"));
	ck_assert_ptr_nonnull(strstr(last_line, "extended-LBA"));
}
END_TEST

START_TEST(refuses_storage_tags)
{
	struct ns_format f;

	set_elbaf(2, 2, 16);
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, &nvm, &f), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(last_line, "storage tags"));
}
END_TEST

START_TEST(refuses_32bit_guard)
{
	struct ns_format f;

	id.flbas = 3;
	set_elbaf(3, 1, 0);
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, &nvm, &f), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(last_line, "protection information format 1"));
}
END_TEST

START_TEST(refuses_tuple_larger_than_metadata)
{
	struct ns_format f;

	set_elbaf(2, 2, 0); /* 64-bit guard needs 16 bytes, the format has 8 */
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, &nvm, &f), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(last_line, "16-byte PI tuple"));
}
END_TEST

START_TEST(refuses_unsupported_sizes_and_indexes)
{
	struct ns_format f;

	id.lbaf[2].ds = 13;
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, NULL, &f), -ENOTSUP);
	id.lbaf[2].ds = 12;
	id.flbas = 5; /* beyond nlbaf */
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, NULL, &f), -ENOTSUP);
	id.flbas = 2;
	id.dps = 5;
	ck_assert_int_eq(ns_nvme_id_parse("/dev/ng0n1", &ctrl, &id, NULL, &f), -ENOTSUP);
}
END_TEST

START_TEST(compares_and_names_formats)
{
	struct pi_format a = {4096, 16, PI_TYPE_1, PI_GUARD_64, false, PI_MD_SEPARATE};
	struct pi_format b = a;
	char name[96];

	ck_assert(ns_nvme_format_matches(&a, &b));
	b.pi_first = true;
	ck_assert(!ns_nvme_format_matches(&a, &b));
	b = a;
	b.guard = PI_GUARD_16;
	ck_assert(!ns_nvme_format_matches(&a, &b));
	b = a;
	b.md_size = 8;
	ck_assert(!ns_nvme_format_matches(&a, &b));
	/* without PI the guard and location do not matter */
	a.type = b.type = PI_TYPE_NONE;
	b.md_size = 16;
	b.pi_first = true;
	ck_assert(ns_nvme_format_matches(&a, &b));
	a.type = PI_TYPE_3;
	ck_assert_str_eq(ns_nvme_format_name(&a, name, sizeof(name)),
			 "4096+16 type 3, 64-bit guard, PI last");
}
END_TEST

START_TEST(refuses_a_char_device_that_is_not_nvme)
{
	struct ns *ns = NULL;
	int ret = ns_open("/dev/null", NULL, &ns);

	ck_assert_int_lt(ret, 0);
	ck_assert_ptr_null(ns);
	ck_assert_ptr_nonnull(strstr(last_line, "/dev/null"));
}
END_TEST

static Suite *nvme_id_suite(void)
{
	Suite *s = suite_create("nvme_id");
	TCase *tc = tcase_create("identify");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reads_separate_metadata_type1_without_elbas);
	tcase_add_test(tc, takes_guard_format_from_elbaf_when_ctrl_has_elbas);
	tcase_add_test(tc, reads_pi_first_type3_and_no_capabilities);
	tcase_add_test(tc, caps_max_transfer_by_mdts_and_nlb_field);
	tcase_add_test(tc, uses_high_format_index_bits);
	tcase_add_test(tc, reads_format_without_pi);
	tcase_add_test(tc, refuses_extended_lba_format);
	tcase_add_test(tc, refuses_storage_tags);
	tcase_add_test(tc, refuses_32bit_guard);
	tcase_add_test(tc, refuses_tuple_larger_than_metadata);
	tcase_add_test(tc, refuses_unsupported_sizes_and_indexes);
	tcase_add_test(tc, compares_and_names_formats);
	tcase_add_test(tc, refuses_a_char_device_that_is_not_nvme);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nvme_id_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
