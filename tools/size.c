// SPDX-License-Identifier: MIT
/*
 * size.c - parsing and printing byte counts with binary suffixes (size.h).
 *
 * Parsing is exact: the number is read as an integer part and up to 18 fraction digits, and
 * the result must be a whole number of bytes ("1.5K" is 1536, "1.1K" is refused, since 1126.4
 * bytes cannot be asked for). Overflow is detected before it happens, never after.
 */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/size.h"

static int size_shift(char c, unsigned *shift)
{
	static const char units[] = "KMGTPE";
	const char *p;

	p = strchr(units, toupper((unsigned char)c));
	if (!c || !p)
		return -EINVAL;
	*shift = 10u * (unsigned)(p - units + 1);
	return 0;
}

/* Multiply a fraction given as num / den (den a power of ten) by 2^shift; must be whole. */
static int size_fraction(uint64_t num, uint64_t den, unsigned shift, uint64_t *out)
{
	unsigned __int128 v = (unsigned __int128)num << shift;

	if (v % den)
		return -EINVAL;
	*out = (uint64_t)(v / den);
	return 0;
}

int size_parse(const char *s, uint64_t *out)
{
	uint64_t whole = 0, num = 0, den = 1, frac;
	unsigned shift = 0;
	const char *p = s;
	bool has_frac = false;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		has_frac = true;
		for (p++; isdigit((unsigned char)*p); p++) {
			if (den >= 1000000000000000000ull)
				return -EINVAL;
			num = num * 10 + (uint64_t)(*p - '0');
			den *= 10;
		}
	}
	if (*p) {
		if (size_shift(*p, &shift))
			return -EINVAL;
		p++;
		if ((p[0] == 'i' || p[0] == 'I') && (p[1] == 'B' || p[1] == 'b'))
			p += 2;
		else if (p[0] == 'B' || p[0] == 'b')
			p++;
		if (*p)
			return -EINVAL;
	}
	if (has_frac && !shift && num)
		return -EINVAL;
	if (shift && whole > (UINT64_MAX >> shift))
		return -ERANGE;
	whole <<= shift;
	if (size_fraction(num, den, shift, &frac))
		return -EINVAL;
	if (whole > UINT64_MAX - frac)
		return -ERANGE;
	*out = whole + frac;
	return 0;
}

const char *size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024.0 && u < 6) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.*f %s", v < 10.0 ? 2 : 1, v, units[u]);
	return buf;
}
