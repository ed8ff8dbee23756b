/* SPDX-License-Identifier: MIT */
/*
 * crc_isal.c - CRC-16/T10-DIF and CRC-32C through ISA-L.
 *
 * ISA-L picks its fastest kernel (PCLMULQDQ, VPCLMULQDQ) at run time. The wrappers give both
 * CRCs the chaining convention of pi.h: pass the previous result (0 to start) and get the
 * standard check value back, so crc(crc(0, a), b) == crc(0, a || b).
 *  - crc16_t10dif(init, buf, len) has no reflection and no final xor: it chains as is.
 *  - crc32_iscsi(buf, len, init) neither inverts its input nor its output, and takes an int
 *    length: CRC-32C (init and xorout all ones) is ~crc32_iscsi(buf, len, ~crc), fed in
 *    chunks below INT_MAX.
 */
#include <limits.h>

#include <isa-l/crc.h>

#include "pi/pi.h"

uint16_t pi_crc16_t10dif(uint16_t crc, const void *buf, size_t len)
{
	return crc16_t10dif(crc, buf, len);
}

uint32_t pi_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t state = ~crc;

	while (len) {
		int chunk = len > (size_t)INT_MAX ? INT_MAX & ~4095 : (int)len;

		/* ISA-L's prototype lacks const; it does not write the buffer. */
		state = crc32_iscsi((unsigned char *)p, chunk, state);
		p += chunk;
		len -= (size_t)chunk;
	}
	return ~state;
}
