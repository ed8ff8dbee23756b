/* SPDX-License-Identifier: MIT */
/*
 * nvme_test.h - what the host side (nvme_host) and the guest side (nvme_guest) of the QEMU
 * NVMe test must agree on: the format spellings, the data pattern, the app tags, and which
 * LBAs and bytes a seed picks for corruption. Both sides compute these from the same
 * functions, so the guest can say exactly which LBA must fail and with which tag.
 *
 * Format spelling: "LBA+MS:tTYPE[:g64][:first]", e.g. "4096+16:t1:g64".
 */
#ifndef GUARDFS_TESTS_QEMU_NVME_TEST_H
#define GUARDFS_TESTS_QEMU_NVME_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pi/pi.h"

/* Blocks per test namespace: small, because QEMU checks PI with a bytewise CRC under TCG. */
#define QT_NLB 1024u

/* Salts of the two patterns: written by the guest, and written on the host (cross-check). */
#define QT_SALT_GUEST 0x6775u
#define QT_SALT_HOST  0x686fu

/* Blocks at the end of a cross-check image that the host leaves unwritten (PI reads as FFh). */
#define QT_HOST_UNWRITTEN 16u

static inline int qt_parse_format(const char *spec, struct pi_format *fmt)
{
	unsigned lba, md, type;
	const char *p;
	int used = 0;

	memset(fmt, 0, sizeof(*fmt));
	if (sscanf(spec, "%u+%u:t%u%n", &lba, &md, &type, &used) != 3 || type > 3)
		return -1;
	fmt->lba_size = lba;
	fmt->md_size = md;
	fmt->type = (enum pi_type)type;
	fmt->guard = PI_GUARD_16;
	fmt->layout = PI_MD_SEPARATE;
	for (p = spec + used; *p == ':'; p = strchrnul(p + 1, ':')) {
		if (!strncmp(p, ":g64", 4))
			fmt->guard = PI_GUARD_64;
		else if (!strncmp(p, ":first", 6))
			fmt->pi_first = true;
		else
			return -1;
	}
	return *p ? -1 : 0;
}

/* The app tag of every block of a namespace: never the FFFFh escape. */
static inline uint16_t qt_app_tag(unsigned ns_index, uint32_t salt)
{
	return (uint16_t)(0x4700 + ((salt & 0xff) << 4) + ns_index);
}

static inline uint64_t qt_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* The expected content of len bytes of a block (data, or metadata outside the tuple). */
static inline void qt_fill(uint8_t *buf, size_t len, uint64_t lba, uint32_t salt, uint32_t kind)
{
	uint64_t x = qt_mix(lba * 0x9e3779b97f4a7c15ull + ((uint64_t)salt << 32) + kind);
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			x = qt_mix(x + i);
		buf[i] = (uint8_t)(x >> (8 * (i % 8)));
	}
}

/*
 * The ref tag of LBA lba. Type 1 must use the LBA; Type 2 may start anywhere, and a base with
 * bits above 32 makes a 64-bit-guard namespace depend on CDW3 carrying ref tag bits 47:32.
 * (Type 3 never checks it; the LBA keeps blocks distinguishable on the host.)
 */
static inline uint64_t qt_ref_tag(const struct pi_format *fmt, uint64_t lba)
{
	if (fmt->type != PI_TYPE_2)
		return lba;
	return (fmt->guard == PI_GUARD_64 ? 0x5a5a00000000ull : 0x5a5a0000ull) + lba;
}

/* Offset of the PI tuple inside a block's metadata. */
static inline uint32_t qt_pi_offset(const struct pi_format *fmt)
{
	return fmt->pi_first ? 0 : fmt->md_size - pi_tuple_size(fmt->guard);
}

/*
 * The corruption a seed picks for namespace ns_index: one data byte of LBA data_lba, and one
 * byte of the field md_field of LBA pi_lba's tuple. Both stay away from the blocks a guest
 * kernel reads when it scans for partitions (the first and last few).
 */
struct qt_corruption {
	uint64_t data_lba;
	uint32_t data_byte; /* offset inside the block's data */
	uint64_t pi_lba;
	enum pi_field md_field;
	uint32_t md_byte; /* offset inside the block's metadata */
	uint8_t xor_mask; /* never 0 */
	enum pi_tag expect_tag;
};

static inline void qt_pick_corruption(const struct pi_format *fmt, unsigned ns_index, uint64_t seed,
				      struct qt_corruption *c)
{
	uint64_t r = qt_mix(seed * 131 + ns_index);
	uint32_t tuple = pi_tuple_size(fmt->guard);
	uint32_t guard_len = tuple == 16 ? 8 : 2;
	uint32_t ref_len = tuple == 16 ? 6 : 4;
	uint32_t field_off, field_len;

	c->data_lba = 8 + r % (QT_NLB / 2 - 16);
	c->data_byte = (uint32_t)((r >> 16) % fmt->lba_size);
	c->pi_lba = QT_NLB / 2 + (r >> 24) % (QT_NLB / 2 - 16);
	c->md_field = (enum pi_field)(1 + (ns_index + (r >> 40)) % 3);
	if (fmt->type == PI_TYPE_3 && c->md_field == PI_FIELD_REF)
		c->md_field = PI_FIELD_APP; /* Type 3 never checks the ref tag */
	switch (c->md_field) {
	case PI_FIELD_GUARD:
		field_off = 0, field_len = guard_len, c->expect_tag = PI_TAG_GUARD;
		break;
	case PI_FIELD_APP:
		field_off = guard_len, field_len = 2, c->expect_tag = PI_TAG_APP;
		break;
	default:
		field_off = guard_len + 2, field_len = ref_len, c->expect_tag = PI_TAG_REF;
		break;
	}
	c->md_byte = qt_pi_offset(fmt) + field_off + (uint32_t)((r >> 48) % field_len);
	c->xor_mask = (uint8_t)(1u << ((r >> 56) % 8));
}

/* Byte offsets in a QEMU nvme-ns backing image (DESIGN.md section 3). */
static inline uint64_t qt_data_offset(const struct pi_format *fmt, uint64_t lba)
{
	return lba * fmt->lba_size;
}

static inline uint64_t qt_md_offset(const struct pi_format *fmt, uint64_t nlb, uint64_t lba)
{
	return nlb * fmt->lba_size + lba * fmt->md_size;
}

#endif /* GUARDFS_TESTS_QEMU_NVME_TEST_H */
