/* SPDX-License-Identifier: BSD-3-Clause
 * Keyed hashes (see tsw_keyhash.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>

#include "tsw_keyhash.h"

struct tsw_keyhash_secret tsw_keyhash_secret;

uint64_t
tsw_keyhash_random(void)
{
	uint64_t v;
	size_t got = 0;

	while (got < sizeof(v)) {
		ssize_t n = getrandom((uint8_t *)&v + got, sizeof(v) - got, 0);
		if (n > 0) {
			got += (size_t)n;
		} else if (n < 0 && errno != EINTR) {
			/* no getrandom (a kernel before 3.17): not secret, but
			 * different every run */
			return rte_rdtsc() * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid() << 32;
		}
	}
	return v;
}

RTE_INIT(tsw_keyhash_init)
{
	tsw_keyhash_secret.mul = tsw_keyhash_random() | 1;
	tsw_keyhash_secret.init = (uint32_t)tsw_keyhash_random();
}

uint32_t
tsw_hash8(const void *key, uint32_t len, uint32_t init)
{
	RTE_SET_USED(len);
	RTE_SET_USED(init);
	return tsw_hash_sig8(key);
}
