/* SPDX-License-Identifier: MIT */
/*
 * describe.h - how the tools name a namespace format and a filesystem in their output, so that
 * mkfs.guardfs's summary and fsck.guardfs's header read the same.
 */
#ifndef GUARDFS_TOOLS_DESCRIBE_H
#define GUARDFS_TOOLS_DESCRIBE_H

#include <stddef.h>
#include <stdio.h>

#include "core/sb.h"
#include "pi/pi.h"

/* "4096+8" */
const char *describe_lbaf(const struct pi_format *f, char *buf, size_t len);
/* "type 1, 16-bit guard (CRC-16/T10-DIF), tuple in the last metadata bytes" or "none" */
const char *describe_pi(const struct pi_format *f, char *buf, size_t len);
/* RFC 4122 text form. */
const char *describe_uuid(const uint8_t uuid[SB_UUID_LEN], char *buf, size_t len);
/* The multi-line summary of a filesystem (mkfs.guardfs prints it after formatting). */
void describe_sb(FILE *out, const char *source, const struct sb *sb);

#endif /* GUARDFS_TOOLS_DESCRIBE_H */
