/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>
#include "tsw_mgmt.h"

#define LEARN_BUDGET 4096  /* events per ring per poll: bounds one poll's time */
#define AGE_BUDGET 16384   /* FDB entries walked per poll (~0.2 ms) while a sweep runs */

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
	bool swept = false;

	while (!swept)
		mg->aged += tsw_fdb_age(mg->dp->fdb, now_ms, UINT32_MAX, &swept);
	mg->sweeping = false;
	mg->next_age_ms = now_ms + 1000;
}

void
tsw_mgmt_set_underlay(struct tsw_mgmt *mg, struct tsw_underlay *ul, struct rte_ring *const *punt,
		      uint16_t n)
{
	mg->ul = ul;
	for (uint16_t i = 0; i < n; i++)
		mg->punt[i] = punt[i];
}

unsigned int
tsw_mgmt_poll(struct tsw_mgmt *mg, uint64_t now_ms)
{
	unsigned int n = 0;

	for (uint16_t i = 0; i < mg->n_rings; i++)
		n += tsw_learn_drain(mg->dp, mg->rings[i], LEARN_BUDGET, &mg->learn);
	for (uint16_t i = 0; mg->ul != NULL && i < mg->n_rings; i++) {
		struct rte_mbuf *m[64];
		unsigned int k = rte_ring_sc_dequeue_burst(mg->punt[i], (void **)m, RTE_DIM(m), NULL);
		for (unsigned int j = 0; j < k; j++)
			tsw_underlay_input(mg->ul, m[j], now_ms);
		n += k;
	}
	if (mg->ul != NULL && now_ms >= mg->next_tick_ms) {
		tsw_underlay_tick(mg->ul, now_ms);
		mg->next_tick_ms = now_ms + 100;
	}
	/* once a second a sweep of the FDB starts; it walks a slice a poll */
	if (!mg->sweeping && now_ms >= mg->next_age_ms) {
		mg->sweeping = true;
		mg->next_age_ms = now_ms + 1000;
		tsw_dp_reclaim(mg->dp);
	}
	if (mg->sweeping) {
		bool swept = false;
		mg->aged += tsw_fdb_age(mg->dp->fdb, now_ms, AGE_BUDGET, &swept);
		mg->sweeping = !swept;
	}
	/* security groups' connections: idle ones expire, a slice a poll */
	struct tsw_ct *ct = __atomic_load_n(&mg->dp->ct, __ATOMIC_ACQUIRE);
	if (ct != NULL && (mg->ct_sweeping || now_ms >= mg->next_ct_ms)) {
		bool swept = false;
		if (!mg->ct_sweeping) {
			mg->next_ct_ms = now_ms + 1000;
			memset(mg->ct_counting, 0, sizeof(mg->ct_counting));
		}
		mg->ct_expired += tsw_ct_expire(ct, now_ms, AGE_BUDGET, mg->ct_counting, &swept);
		mg->ct_sweeping = !swept;
		if (swept)       /* connections by state, as the last whole sweep found them */
			memcpy(mg->ct_states, mg->ct_counting, sizeof(mg->ct_states));
	}
	return n;
}
