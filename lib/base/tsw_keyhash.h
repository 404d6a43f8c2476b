/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: keyed hashes for tables whose keys a sender chooses.
 *
 * A CRC alone is linear: the CRCs of two keys differ by the CRC of their
 * difference, whatever its initial value, so anyone who can choose keys
 * (a VM's source MACs without port security, a remote host's MACs learned
 * from a tunnel, a VM's connections' addresses and ports) can compute
 * thousands that share one hash: in an rte_hash with extendable buckets
 * they chain into one bucket that every lookup of theirs (and of any key
 * hashing there) walks, in an open-addressing table into one probe run.
 * Each key word is first mixed with a secret (tsw_mix64: multiplied by a
 * secret odd number, the 128-bit product's halves folded together), which
 * makes every bit of the hash depend on the secret and on the key's bits
 * non-linearly; such keys cannot be computed without the secret.
 *
 * Contract:
 *  - tsw_hash_sig8() is the signature of an 8-byte key in every tunsw
 *    rte_hash of 8-byte keys (the FDB, networks by id, tunnels by address,
 *    the ARP table); those tables are made with hash_func = tsw_hash8 so
 *    that rte_hash's own hashing and the inline one agree.
 *  - The secret is drawn from the kernel (getrandom) once per process,
 *    before main() runs; it never changes, so a table keeps its layout.
 */
#ifndef TSW_KEYHASH_H
#define TSW_KEYHASH_H

#include <stdint.h>
#include <string.h>
#include <rte_hash_crc.h>

static inline uint64_t
tsw_mix64(uint64_t w, uint64_t secret)
{
	__extension__ unsigned __int128 p = (unsigned __int128)w * secret;

	return (uint64_t)p ^ (uint64_t)(p >> 64);
}

/* The process's secret for the 8-byte-key tables. */
struct tsw_keyhash_secret {
	uint64_t mul;             /* odd */
	uint32_t init;
};
extern struct tsw_keyhash_secret tsw_keyhash_secret;

/* The signature of the 8-byte key at key (any alignment), computed inline
 * for the rte_hash_lookup_with_hash_bulk*() calls (rte_hash would call its
 * hash function through a pointer for every key). */
static inline uint32_t
tsw_hash_sig8(const void *key)
{
	uint64_t w;

	memcpy(&w, key, sizeof(w));
	return rte_hash_crc_8byte(tsw_mix64(w, tsw_keyhash_secret.mul), tsw_keyhash_secret.init);
}

/* The same as an rte_hash_function (len must be 8; init unused). */
uint32_t tsw_hash8(const void *key, uint32_t len, uint32_t init);

/* A fresh random 64-bit number from the kernel (a table's own secrets). */
uint64_t tsw_keyhash_random(void);

#endif
