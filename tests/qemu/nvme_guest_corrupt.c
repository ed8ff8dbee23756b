/* SPDX-License-Identifier: MIT */
/*
 * nvme_guest_corrupt.c - check-corruption and the open-time refusals.
 *
 * Between two boots the host flipped one data byte of one LBA and one PI byte of another in
 * the backing image, at the offsets tests/qemu/nvme_test.h computes from the seed. Here each
 * damaged LBA must fail, alone and inside a larger read, with the tag the damage implies and
 * the NVMe status the controller returns for it; its neighbours and every other block must
 * pass; and read without checks, the block must differ from what was written in exactly the
 * byte the host flipped, which pins QEMU's image layout to ours.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "tests/qemu/nvme_guest.h"

static const char *qg_tag_status(enum pi_tag tag)
{
	switch (tag) {
	case PI_TAG_GUARD:
		return "0x282";
	case PI_TAG_APP:
		return "0x283";
	default:
		return "0x284";
	}
}

/* Exactly one byte differs, at off, by mask. */
static bool qg_one_byte_differs(const uint8_t *got, const uint8_t *want, size_t len, size_t off,
				uint8_t mask)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((got[i] ^ want[i]) != (i == off ? mask : 0))
			return false;
	return true;
}

struct qg_damage {
	uint64_t lba;
	enum pi_tag tag;
	bool in_data; /* else in the metadata */
	size_t offset;
	uint8_t mask;
};

/* The damaged block read without checks shows the flipped byte and nothing else. */
static void qg_check_damage_bytes(struct qg_dev *dev, const struct qg_damage *d, uint8_t *data,
				  uint8_t *md, const uint8_t *want_data, const uint8_t *want_md)
{
	const struct pi_format *f = &dev->fmt;
	struct ns_pi_params pi = qg_pi_params(dev, QT_SALT_GUEST, d->lba);
	bool data_ok, md_ok;
	int ret;

	pi.checks = 0;
	ret = qg_read(dev, d->lba, 1, data, md, &pi, NULL);
	if (ret) {
		qg_fail(dev, d->lba, "read without PI checks failed: %s", strerror(-ret));
		return;
	}
	data_ok = d->in_data ? qg_one_byte_differs(data, want_data, f->lba_size, d->offset, d->mask)
			     : !memcmp(data, want_data, f->lba_size);
	md_ok = d->in_data ? !memcmp(md, want_md, f->md_size)
			   : qg_one_byte_differs(md, want_md, f->md_size, d->offset, d->mask);
	if (!data_ok || !md_ok)
		qg_fail(dev, d->lba,
			"read without checks: expected only %s byte %zu flipped by "
			"0x%02x",
			d->in_data ? "data" : "metadata", d->offset, d->mask);
	else
		printf("ok %s LBA %" PRIu64
		       ": unchecked read shows exactly the flipped %s byte %zu\n",
		       dev->spec, d->lba, d->in_data ? "data" : "metadata", d->offset);
}

static void qg_check_damaged_block(struct qg_dev *dev, const struct qg_damage *d)
{
	const struct pi_format *f = &dev->fmt;
	uint8_t *want_data = malloc(5 * f->lba_size), *want_md = malloc(5 * f->md_size);
	uint8_t *data = malloc(5 * f->lba_size), *md = malloc(5 * f->md_size);
	struct ns_pi_params pi;
	struct pi_error pe;
	char what[96];
	int i, ret;

	qg_expect_run(dev, QT_SALT_GUEST, d->lba - 2, 5, want_data, want_md);
	for (i = -1; i <= 1; i += 2) { /* the neighbours pass */
		pi = qg_pi_params(dev, QT_SALT_GUEST, d->lba + i);
		ret = qg_read(dev, d->lba + i, 1, data, md, &pi, NULL);
		if (ret)
			qg_fail(dev, d->lba + i, "neighbour of a damaged block failed: %s",
				strerror(-ret));
		else
			qg_compare(dev, "neighbour", d->lba + i, 1, data, md,
				   want_data + (2 + i) * f->lba_size,
				   want_md + (2 + i) * f->md_size);
	}
	pi = qg_pi_params(dev, QT_SALT_GUEST, d->lba);
	ret = qg_read(dev, d->lba, 1, data, md, &pi, &pe);
	snprintf(what, sizeof(what), "read of damaged LBA %" PRIu64, d->lba);
	qg_expect_pi_failure(dev, what, ret, &pe, -EIO, d->tag, d->lba, qg_tag_status(d->tag));
	/* inside a 5-block read the host must still name the one bad block */
	pi = qg_pi_params(dev, QT_SALT_GUEST, d->lba - 2);
	ret = qg_read(dev, d->lba - 2, 5, data, md, &pi, &pe);
	snprintf(what, sizeof(what), "5-block read around damaged LBA %" PRIu64, d->lba);
	qg_expect_pi_failure(dev, what, ret, &pe, -EIO, d->tag, d->lba, qg_tag_status(d->tag));
	qg_check_damage_bytes(dev, d, data, md, want_data + 2 * f->lba_size,
			      want_md + 2 * f->md_size);
	free(md);
	free(data);
	free(want_md);
	free(want_data);
}

/* Every block but the two damaged ones reads back intact with all checks. */
static void qg_check_rest(struct qg_dev *dev, uint64_t bad1, uint64_t bad2)
{
	const struct pi_format *f = &dev->fmt;
	uint64_t starts[3] = {0, bad1 + 1, bad2 + 1}, ends[3] = {bad1, bad2, QT_NLB};
	uint8_t *want_data = malloc((size_t)QT_NLB * f->lba_size);
	uint8_t *want_md = malloc((size_t)QT_NLB * f->md_size);
	uint8_t *data = malloc((size_t)QT_NLB * f->lba_size);
	uint8_t *md = malloc((size_t)QT_NLB * f->md_size);
	int i, ret, bad = 0;

	for (i = 0; i < 3; i++) {
		uint32_t nlb = (uint32_t)(ends[i] - starts[i]);
		struct ns_pi_params pi = qg_pi_params(dev, QT_SALT_GUEST, starts[i]);

		if (!nlb)
			continue;
		qg_expect_run(dev, QT_SALT_GUEST, starts[i], nlb, want_data, want_md);
		ret = qg_read(dev, starts[i], nlb, data, md, &pi, NULL);
		if (ret) {
			qg_fail(dev, starts[i], "read of %u undamaged blocks failed: %s", nlb,
				strerror(-ret));
			bad++;
			continue;
		}
		bad += qg_compare(dev, "undamaged blocks", starts[i], nlb, data, md, want_data,
				  want_md);
	}
	if (!bad)
		printf("ok %s: the other %u blocks pass all checks\n", dev->spec, QT_NLB - 2);
	free(md);
	free(data);
	free(want_md);
	free(want_data);
}

void qg_check_corruption(struct qg_dev *dev, uint64_t seed)
{
	struct qt_corruption c;
	struct qg_damage d;

	qt_pick_corruption(&dev->fmt, dev->index, seed, &c);
	printf("%s: expecting a guard error at LBA %" PRIu64 " (data byte %u) and a %s error at "
	       "LBA %" PRIu64 " (metadata byte %u)\n",
	       dev->spec, c.data_lba, c.data_byte, pi_tag_name(c.expect_tag), c.pi_lba, c.md_byte);
	d = (struct qg_damage){c.data_lba, PI_TAG_GUARD, true, c.data_byte, c.xor_mask};
	qg_check_damaged_block(dev, &d);
	d = (struct qg_damage){c.pi_lba, c.expect_tag, false, c.md_byte, c.xor_mask};
	qg_check_damaged_block(dev, &d);
	qg_check_rest(dev, c.data_lba, c.pi_lba);
}

/* A namespace opened with a format it does not have is refused, naming both. */
void qg_check_refusals(struct qg_dev *dev)
{
	struct pi_format wrong = dev->fmt;
	struct ns_options opts = {.format = &wrong};
	char line[1024], block[64];
	unsigned ctrl, nsid;
	struct ns *ns = NULL;
	int ret;

	wrong.md_size += 8;
	ret = ns_open(dev->path, &opts, &ns);
	qg_last_log_line(line, sizeof(line));
	if (ret != -EINVAL || !strstr(line, "expected"))
		qg_fail(dev, 0, "open with a wrong format returned %d, log \"%s\"", ret, line);
	else
		printf("ok %s: wrong format refused: %s\n", dev->spec, line);
	if (ns)
		ns_close(ns);
	/* /dev/nvmeXnY is driven through its generic twin */
	if (sscanf(dev->path, "/dev/ng%un%u", &ctrl, &nsid) != 2)
		return;
	snprintf(block, sizeof(block), "/dev/nvme%un%u", ctrl, nsid);
	opts.format = &dev->fmt;
	ns = NULL;
	ret = ns_open(block, &opts, &ns);
	if (ret || ns_get_backend(ns) != NS_BACKEND_NVME)
		qg_fail(dev, 0, "open of %s through its generic device failed: %d", block, ret);
	else
		printf("ok %s: %s opened through its generic device\n", dev->spec, block);
	if (ns)
		ns_close(ns);
}
