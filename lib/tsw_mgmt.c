/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>
#include "tsw_mgmt.h"

#define LEARN_BUDGET 4096  /* events per ring per poll: bounds one poll's time */

void
tsw_mgmt_init(struct tsw_mgmt *mg, struct tsw_dp *dp, struct rte_ring *const *rings,
	      uint16_t n_rings)
{
	memset(mg, 0, sizeof(*mg));
	mg->dp = dp;
	mg->n_rings = n_rings;
	for (uint16_t i = 0; i < n_rings; i++)
		mg->rings[i] = rings[i];
}

void
tsw_mgmt_age_now(struct tsw_mgmt *mg, uint64_t now_ms)
{
	mg->aged += tsw_fdb_age(mg->dp->fdb, now_ms);
	mg->next_age_ms = now_ms + 1000;
}

unsigned int
tsw_mgmt_poll(struct tsw_mgmt *mg, uint64_t now_ms)
{
	unsigned int n = 0;

	for (uint16_t i = 0; i < mg->n_rings; i++)
		n += tsw_learn_drain(mg->dp, mg->rings[i], LEARN_BUDGET, &mg->learn);
	if (now_ms >= mg->next_age_ms)
		tsw_mgmt_age_now(mg, now_ms);
	return n;
}
