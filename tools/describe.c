// SPDX-License-Identifier: MIT
/*
 * describe.c - text forms of formats, PI settings and superblocks for the tools' output.
 */
#include <inttypes.h>

#include "tools/describe.h"
#include "tools/size.h"

const char *describe_lbaf(const struct pi_format *f, char *buf, size_t len)
{
	snprintf(buf, len, "%u+%u", f->lba_size, f->md_size);
	return buf;
}

const char *describe_pi(const struct pi_format *f, char *buf, size_t len)
{
	if (f->type == PI_TYPE_NONE) {
		snprintf(buf, len, "none");
		return buf;
	}
	snprintf(buf, len, "type %d, %s guard (%s), tuple in the %s metadata bytes", (int)f->type,
		 f->guard == PI_GUARD_64 ? "64-bit" : "16-bit",
		 f->guard == PI_GUARD_64 ? "CRC-64/NVME" : "CRC-16/T10-DIF",
		 f->pi_first ? "first" : "last");
	return buf;
}

const char *describe_uuid(const uint8_t u[SB_UUID_LEN], char *buf, size_t len)
{
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
	return buf;
}

void describe_sb(FILE *out, const char *source, const struct sb *sb)
{
	char lbaf[32], pi[128], uuid[40], cap[32], data[32];
	uint64_t bytes = sb->nlb * sb->pi.lba_size;

	fprintf(out, "%s: guardfs, format version %u\n", source, sb->version);
	fprintf(out, "  format:     %s (%u-byte LBAs, %u bytes of metadata each)\n",
		describe_lbaf(&sb->pi, lbaf, sizeof(lbaf)), sb->pi.lba_size, sb->pi.md_size);
	fprintf(out, "  PI:         %s\n", describe_pi(&sb->pi, pi, sizeof(pi)));
	fprintf(out, "  capacity:   %s (%" PRIu64 " LBAs)\n", size_format(bytes, cap, sizeof(cap)),
		sb->nlb);
	fprintf(out, "  data area:  %s (%" PRIu64 " blocks from block %" PRIu64 ")\n",
		size_format(sb->data_blocks * sb->block_size, data, sizeof(data)), sb->data_blocks,
		sb->data_start);
	fprintf(out, "  block size: %u\n", sb->block_size);
	fprintf(out, "  UUID:       %s\n", describe_uuid(sb->uuid, uuid, sizeof(uuid)));
	fprintf(out, "  label:      %s\n", sb->label[0] ? sb->label : "(none)");
}
