/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>
#include "tsw_counters.h"

const char *const tsw_drop_names[TSW_DROP_MAX] = {
#define TSW_X_NAME(n, d) #n,
	TSW_DROP_REASONS(TSW_X_NAME)
#undef TSW_X_NAME
};

const char *const tsw_drop_descr[TSW_DROP_MAX] = {
#define TSW_X_DESCR(n, d) d,
	TSW_DROP_REASONS(TSW_X_DESCR)
#undef TSW_X_DESCR
};

void
tsw_counters_sum(struct tsw_counters *dst, struct tsw_counters *const *srcs,
		 unsigned int n)
{
	const size_t words = sizeof(*dst) / sizeof(uint64_t);
	uint64_t *d = (uint64_t *)dst;

	memset(dst, 0, sizeof(*dst));
	for (unsigned int i = 0; i < n; i++) {
		const volatile uint64_t *s = (const volatile uint64_t *)srcs[i];
		for (size_t w = 0; w < words; w++)
			d[w] += s[w];
	}
}

uint64_t
tsw_counters_total_drops(const struct tsw_counters *c)
{
	uint64_t t = 0;
	for (int i = 0; i < TSW_DROP_MAX; i++)
		t += c->drop[i];
	return t;
}
