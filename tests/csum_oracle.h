/* SPDX-License-Identifier: BSD-3-Clause
 * An independent checksum oracle for the tests of tsw_offload (unit test
 * and fuzz target): RFC 1071 byte by byte over a flat copy of a frame,
 * sharing no code with what it checks.
 */
#ifndef TSW_CSUM_ORACLE_H
#define TSW_CSUM_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 1071 over bytes, big-endian words, folded, not complemented. */
static inline uint32_t
oracle_sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* A flat frame of len bytes (untagged Ethernet, IPv4 or IPv6 without
 * extension headers at offset 14 as its ethertype says, L4 protocol
 * proto) has the IP length of its size, a right IPv4 header checksum and a
 * right L4 checksum. */
static inline bool
oracle_l4_ok(const uint8_t *f, size_t len, uint8_t proto)
{
	uint32_t sum;
	size_t l4;

	if (f[12] == 0x08 && f[13] == 0x00) {
		size_t ihl = (size_t)(f[14] & 0xf) * 4, tot = (size_t)(f[16] << 8 | f[17]);
		l4 = 14 + ihl;
		if (tot + 14 != len || oracle_sum16(f + 14, ihl, 0) != 0xffff)
			return false;
		sum = oracle_sum16(f + 26, 8, 0);
	} else {
		size_t pl = (size_t)(f[18] << 8 | f[19]);
		l4 = 14 + 40;
		if (pl + 54 != len)
			return false;
		sum = oracle_sum16(f + 22, 32, 0);
	}
	sum += proto + (uint32_t)(len - l4);
	return oracle_sum16(f + l4, len - l4, sum) == 0xffff;
}

#endif
