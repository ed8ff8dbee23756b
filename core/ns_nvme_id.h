/* SPDX-License-Identifier: MIT */
/*
 * ns_nvme_id.h - the format of an NVMe namespace, read with Identify (internal to core/ns*).
 *
 * Split in two so the decisions can be tested without a device: ns_nvme_id_parse() turns the
 * Identify data into a struct ns_format (or refuses a format guardfs cannot drive), and
 * ns_nvme_identify() fetches that data from an open /dev/ngXnY with libnvme 1.3 and caps the
 * max transfer by what the kernel will map for one passthrough command.
 */
#ifndef GUARDFS_NS_NVME_ID_H
#define GUARDFS_NS_NVME_ID_H

#include "core/ns.h"

struct nvme_id_ctrl;
struct nvme_id_ns;
struct nvme_nvm_id_ns;

/* The controller's minimum memory page size that MDTS counts in (CAP.MPSMIN, see the .c). */
#define NS_NVME_MIN_PAGE 4096u

/*
 * Derive the format from Identify Controller, Identify Namespace and (when the controller
 * sets CTRATT.ELBAS; NULL otherwise) the NVM command set Identify Namespace. Refuses with
 * -ENOTSUP and one log line naming path: extended-LBA formats (metadata interleaved with
 * data), storage tags, the 32-bit guard, a PI tuple larger than the metadata, data sizes
 * other than 512 and 4096. The max transfer here comes from MDTS and the 16-bit NLB field.
 */
int ns_nvme_id_parse(const char *path, const struct nvme_id_ctrl *ctrl, const struct nvme_id_ns *id,
		     const struct nvme_nvm_id_ns *nvm, struct ns_format *out);

/* Two formats describe the same layout (everything but capacity and capabilities). */
bool ns_nvme_format_matches(const struct pi_format *a, const struct pi_format *b);

/* "4096+8 type 1 guard16 pi-last" into buf; returns buf. */
const char *ns_nvme_format_name(const struct pi_format *fmt, char *buf, size_t len);

/*
 * Read the namespace id and format of the open generic device fd (path names it in log
 * lines). Also caps fmt->max_transfer by the block queue limits in sysfs.
 */
int ns_nvme_identify(int fd, const char *path, uint32_t *nsid, struct ns_format *out);

#endif /* GUARDFS_NS_NVME_ID_H */
