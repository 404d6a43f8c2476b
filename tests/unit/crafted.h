/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests' helper: keys crafted against a plain (unkeyed) CRC, as an
 * attacker would compute them.
 */
#ifndef TSW_TEST_CRAFTED_H
#define TSW_TEST_CRAFTED_H

#include <stdint.h>

/* The CRC32-C of n 64-bit words from 0, as tunsw's tables hashed keys
 * before their hashes had a secret. */
uint32_t crafted_crc(const uint64_t *w, unsigned int n);

/* A basis of XOR masks over word wi of the n words w (bits of free_mask
 * only) that leave the top `top` bits of crafted_crc(w) unchanged (a CRC is
 * affine: Gaussian elimination over the free bits). Returns how many
 * (into kern[], at most 64). */
unsigned int crafted_kernel(const uint64_t *w, unsigned int n, unsigned int wi,
			    uint64_t free_mask, unsigned int top, uint64_t *kern);

/* Key j of the crafted set: w with word wi moved by the basis masks that
 * j's bits name (out: n words). */
void crafted_key(const uint64_t *w, unsigned int n, unsigned int wi, const uint64_t *kern,
		 unsigned int nk, uint32_t j, uint64_t *out);

#endif
