/* SPDX-License-Identifier: MIT */
/*
 * ns_nvme_id.c - the format of an NVMe namespace, from Identify.
 *
 * Mirrors what the Linux NVMe driver does in nvme_configure_metadata()/nvme_init_ms(): the
 * LBA format in use is flbas bits 3:0 plus bits 6:5 as the high bits; its data size is
 * 2^lbaf.ds and its metadata size lbaf.ms; the PI type is dps bits 2:0 and dps bit 3 puts the
 * tuple first; the guard format comes from the NVM command set Identify Namespace elbaf[fmt]
 * bits 8:7 only when Identify Controller CTRATT bit 15 (ELBAS) is set, else it is the 16-bit
 * guard. guardfs drives separate metadata only, so extended-LBA formats are refused, as are
 * storage tags (STS != 0; neither the kernel nor QEMU supports them) and the 32-bit guard.
 *
 * Max transfer: MDTS counts in units of the controller's minimum page size CAP.MPSMIN, a
 * register that passthrough cannot read; we assume 4 KiB (the only value x86 hosts see in
 * practice, and what QEMU reports). The kernel also refuses a passthrough command larger than
 * the queue's max_hw_sectors, or one whose user pages need more than max_segments segments,
 * so the limit is capped by /sys/block/nvmeXnY/queue/{max_hw_sectors_kb,max_segments}: one
 * page of the segment budget is kept for a buffer that does not start on a page boundary.
 * Without sysfs (e.g. a container) we fall back to 128 KiB, well inside every real limit.
 */
#include "core/ns_nvme_id.h"

#include <libnvme.h>

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

#define NVME_FALLBACK_MAX_TRANSFER (128u << 10)
#define NVME_UNLIMITED_TRANSFER	   (1u << 30)
#define NVME_MAX_NLB		   65536u /* the 16-bit NLB field of one command */

const char *ns_nvme_format_name(const struct pi_format *fmt, char *buf, size_t len)
{
	if (fmt->type == PI_TYPE_NONE)
		snprintf(buf, len, "%" PRIu32 "+%" PRIu32 " no PI", fmt->lba_size, fmt->md_size);
	else
		snprintf(buf, len, "%" PRIu32 "+%" PRIu32 " type %d, %d-bit guard, PI %s",
			 fmt->lba_size, fmt->md_size, (int)fmt->type,
			 fmt->guard == PI_GUARD_64 ? 64 : 16, fmt->pi_first ? "first" : "last");
	return buf;
}

bool ns_nvme_format_matches(const struct pi_format *a, const struct pi_format *b)
{
	if (a->lba_size != b->lba_size || a->md_size != b->md_size || a->type != b->type ||
	    a->layout != b->layout)
		return false;
	if (a->type == PI_TYPE_NONE)
		return true;
	return a->guard == b->guard && a->pi_first == b->pi_first;
}

/* The guard format of LBA format fmt_idx, or -ENOTSUP. */
static int nvme_parse_guard(const char *path, const struct nvme_nvm_id_ns *nvm, unsigned fmt_idx,
			    enum pi_guard *guard)
{
	uint32_t elbaf, sts, pif;

	*guard = PI_GUARD_16;
	if (!nvm)
		return 0; /* no ELBAS: 16-bit guard, no storage tag */
	elbaf = le32toh(nvm->elbaf[fmt_idx]);
	sts = elbaf & NVME_NVM_ELBAF_STS_MASK;
	pif = (elbaf & NVME_NVM_ELBAF_PIF_MASK) >> 7;
	if (sts) {
		gfs_err("%s: LBA format %u uses %" PRIu32 "-bit storage tags, which guardfs does "
			"not support",
			path, fmt_idx, sts);
		return -ENOTSUP;
	}
	if (pif != 0 && pif != 2) {
		gfs_err("%s: LBA format %u has protection information format %" PRIu32
			" (only the 16-bit and 64-bit guards are supported)",
			path, fmt_idx, pif);
		return -ENOTSUP;
	}
	*guard = pif == 2 ? PI_GUARD_64 : PI_GUARD_16;
	return 0;
}

static uint32_t nvme_mdts_bytes(uint8_t mdts)
{
	if (mdts == 0 || mdts > 18) /* 0: no limit; 2^18 pages is beyond any queue limit */
		return NVME_UNLIMITED_TRANSFER;
	return NS_NVME_MIN_PAGE << mdts;
}

int ns_nvme_id_parse(const char *path, const struct nvme_id_ctrl *ctrl, const struct nvme_id_ns *id,
		     const struct nvme_nvm_id_ns *nvm, struct ns_format *out)
{
	struct pi_format *pf = &out->pi;
	uint8_t fmt_idx;
	uint16_t oncs;
	uint32_t ms;
	int type, ret;

	memset(out, 0, sizeof(*out));
	nvme_id_ns_flbas_to_lbaf_inuse(id->flbas, &fmt_idx);
	if (fmt_idx > id->nlbaf) {
		gfs_err("%s: LBA format index %u beyond the %u formats the namespace lists", path,
			fmt_idx, id->nlbaf + 1u);
		return -ENOTSUP;
	}
	ms = le16toh(id->lbaf[fmt_idx].ms);
	if (id->lbaf[fmt_idx].ds != 9 && id->lbaf[fmt_idx].ds != 12) {
		gfs_err("%s: LBA data size 2^%u is not supported (512 or 4096 only)", path,
			id->lbaf[fmt_idx].ds);
		return -ENOTSUP;
	}
	if (ms && (id->flbas & NVME_NS_FLBAS_META_EXT)) {
		gfs_err("%s: extended-LBA format (metadata interleaved with data) is not "
			"supported; "
			"format the namespace with separate metadata",
			path);
		return -ENOTSUP;
	}
	type = id->dps & NVME_NS_DPS_PI_MASK;
	if (type > PI_TYPE_3) {
		gfs_err("%s: unknown protection information type %d", path, type);
		return -ENOTSUP;
	}
	ret = nvme_parse_guard(path, nvm, fmt_idx, &pf->guard);
	if (ret)
		return ret;
	pf->lba_size = 1u << id->lbaf[fmt_idx].ds;
	pf->md_size = ms;
	pf->type = type;
	pf->pi_first = type != PI_TYPE_NONE && (id->dps & NVME_NS_DPS_PI_FIRST);
	pf->layout = PI_MD_SEPARATE;
	if (type != PI_TYPE_NONE && ms < pi_tuple_size(pf->guard)) {
		gfs_err("%s: %" PRIu32 " bytes of metadata cannot hold a %" PRIu32 "-byte PI tuple",
			path, ms, pi_tuple_size(pf->guard));
		return -ENOTSUP;
	}
	out->nlb = le64toh(id->nsze);
	out->volatile_cache = ctrl->vwc & NVME_CTRL_VWC_PRESENT;
	oncs = le16toh(ctrl->oncs);
	out->write_zeroes = oncs & NVME_CTRL_ONCS_WRITE_ZEROES;
	out->deallocate = oncs & NVME_CTRL_ONCS_DSM;
	out->max_transfer = nvme_mdts_bytes(ctrl->mdts);
	/* ... and what one command can address */
	if ((uint64_t)out->max_transfer > (uint64_t)NVME_MAX_NLB * pf->lba_size)
		out->max_transfer = NVME_MAX_NLB * pf->lba_size;
	return 0;
}

/* Read one unsigned number from a sysfs file; 0 when it cannot be read. */
static unsigned long nvme_read_sysfs_ulong(const char *file)
{
	unsigned long value = 0;
	FILE *f = fopen(file, "re");

	if (!f)
		return 0;
	if (fscanf(f, "%lu", &value) != 1)
		value = 0;
	fclose(f);
	return value;
}

/* What the kernel maps for one passthrough command on /dev/ngXnY (see the file comment). */
static uint32_t nvme_queue_max_transfer(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	unsigned long hw_kb, segments;
	char file[PATH_MAX];
	int ctrl, nsid;
	uint64_t limit;

	if (sscanf(base, "ng%dn%d", &ctrl, &nsid) != 2)
		return NVME_FALLBACK_MAX_TRANSFER;
	snprintf(file, sizeof(file), "/sys/block/nvme%dn%d/queue/max_hw_sectors_kb", ctrl, nsid);
	hw_kb = nvme_read_sysfs_ulong(file);
	snprintf(file, sizeof(file), "/sys/block/nvme%dn%d/queue/max_segments", ctrl, nsid);
	segments = nvme_read_sysfs_ulong(file);
	if (!hw_kb || segments < 2)
		return NVME_FALLBACK_MAX_TRANSFER;
	limit = (uint64_t)hw_kb << 10;
	if (limit > (uint64_t)(segments - 1) * NS_NVME_MIN_PAGE)
		limit = (uint64_t)(segments - 1) * NS_NVME_MIN_PAGE;
	return limit > NVME_UNLIMITED_TRANSFER ? NVME_UNLIMITED_TRANSFER : (uint32_t)limit;
}

/* libnvme returns -1 with errno, or a positive NVMe status. */
static int nvme_id_errno(const char *path, const char *what, int ret)
{
	if (ret < 0) {
		int err = errno ? errno : EIO;

		gfs_err("%s: %s failed: %s", path, what, strerror(err));
		return -err;
	}
	gfs_err("%s: %s failed with NVMe status 0x%x", path, what, ret);
	return -EIO;
}

int ns_nvme_identify(int fd, const char *path, uint32_t *nsid, struct ns_format *out)
{
	struct nvme_nvm_id_ns nvm;
	struct nvme_id_ctrl ctrl;
	struct nvme_id_ns id;
	bool elbas;
	uint32_t queue_limit;
	int ret;

	errno = 0;
	ret = nvme_get_nsid(fd, nsid);
	if (ret)
		return nvme_id_errno(path, "NVME_IOCTL_ID (is it an NVMe namespace?)", ret);
	ret = nvme_identify_ctrl(fd, &ctrl);
	if (ret)
		return nvme_id_errno(path, "Identify Controller", ret);
	ret = nvme_identify_ns(fd, *nsid, &id);
	if (ret)
		return nvme_id_errno(path, "Identify Namespace", ret);
	elbas = le32toh(ctrl.ctratt) & NVME_CTRL_CTRATT_ELBAS;
	if (elbas) {
		ret = nvme_identify_ns_csi(fd, *nsid, 0, NVME_CSI_NVM, &nvm);
		if (ret)
			return nvme_id_errno(path, "Identify Namespace (NVM command set)", ret);
	}
	ret = ns_nvme_id_parse(path, &ctrl, &id, elbas ? &nvm : NULL, out);
	if (ret)
		return ret;
	queue_limit = nvme_queue_max_transfer(path);
	if (out->max_transfer > queue_limit)
		out->max_transfer = queue_limit;
	out->max_transfer -= out->max_transfer % out->pi.lba_size;
	return 0;
}
