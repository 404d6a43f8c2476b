/* SPDX-License-Identifier: BSD-3-Clause
 * Keys crafted against a plain CRC (see crafted.h).
 */
#include <string.h>

#include <rte_hash_crc.h>

#include "crafted.h"

uint32_t
crafted_crc(const uint64_t *w, unsigned int n)
{
	uint32_t h = 0;

	for (unsigned int i = 0; i < n; i++)
		h = rte_hash_crc_8byte(w[i], h);
	return h;
}

unsigned int
crafted_kernel(const uint64_t *w, unsigned int n, unsigned int wi, uint64_t free_mask,
	       unsigned int top, uint64_t *kern)
{
	uint64_t wj[8], piv_c[32] = { 0 };
	uint32_t piv_v[32] = { 0 }, base = crafted_crc(w, n) >> (32 - top);
	unsigned int nk = 0;

	if (n > 8 || top == 0 || top > 32)
		return 0;
	for (unsigned int j = 0; j < 64; j++) {
		uint64_t c = 1ull << j;
		uint32_t v;
		if (!(free_mask & c))
			continue;
		memcpy(wj, w, n * sizeof(*w));
		wj[wi] ^= c;
		v = (crafted_crc(wj, n) >> (32 - top)) ^ base;
		for (int b = (int)top - 1; b >= 0 && v != 0; b--)
			if ((v >> b) & 1 && piv_v[b] != 0) {
				v ^= piv_v[b];
				c ^= piv_c[b];
			}
		if (v == 0) {
			kern[nk++] = c;        /* these bits leave the top bits alone */
		} else {
			int b = 31 - __builtin_clz(v);
			piv_v[b] = v;
			piv_c[b] = c;
		}
	}
	return nk;
}

void
crafted_key(const uint64_t *w, unsigned int n, unsigned int wi, const uint64_t *kern,
	    unsigned int nk, uint32_t j, uint64_t *out)
{
	memcpy(out, w, n * sizeof(*w));
	for (unsigned int i = 0; i < nk && i < 32; i++)
		if ((j >> i) & 1)
			out[wi] ^= kern[i];
}
