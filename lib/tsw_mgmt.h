/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the management thread's periodic work (single table writer).
 *
 * Contract: tsw_mgmt_poll() is called by the one writer thread, often
 * (the daemon's management lcore loop; the replay harness between bursts).
 * It applies the workers' learn events and, once per second of dataplane
 * time, removes expired learned FDB entries (R-A1, R-A2).
 */
#ifndef TSW_MGMT_H
#define TSW_MGMT_H

#include <stdint.h>
#include <rte_ring.h>
#include "tsw_dp.h"
#include "tsw_learn.h"

struct tsw_mgmt {
	struct tsw_dp *dp;
	uint16_t n_rings;
	struct rte_ring *rings[TSW_MAX_WORKERS];
	uint64_t next_age_ms;
	uint64_t aged;
	struct tsw_learn_stats learn;
};

void tsw_mgmt_init(struct tsw_mgmt *mg, struct tsw_dp *dp, struct rte_ring *const *rings,
		   uint16_t n_rings);
/* Returns the number of learn events applied. */
unsigned int tsw_mgmt_poll(struct tsw_mgmt *mg, uint64_t now_ms);
/* Run ageing now regardless of the once-per-second schedule. */
void tsw_mgmt_age_now(struct tsw_mgmt *mg, uint64_t now_ms);

#endif
