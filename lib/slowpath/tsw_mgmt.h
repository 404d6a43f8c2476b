/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the management thread's periodic work (single table writer).
 *
 * Contract: tsw_mgmt_poll() is called by the one writer thread, often
 * (the daemon's management lcore loop; the replay harness between bursts).
 * It applies the workers' learn events, hands punted frames to the
 * underlay slow path and runs its timers (every 100 ms), and, once per
 * second of dataplane time, starts a sweep that removes expired learned FDB
 * entries (R-A1, R-A2), a slice of the table per poll (a lookup already
 * treats an expired entry as a miss), and frees table memory retired a
 * grace period ago; the same for security groups' connections (idle past
 * their state's timeout, or revoked).
 */
#ifndef TSW_MGMT_H
#define TSW_MGMT_H

#include <stdint.h>
#include <rte_ring.h>
#include "tsw_dp.h"
#include "tsw_learn.h"
#include "tsw_underlay.h"

struct tsw_mgmt {
	struct tsw_dp *dp;
	uint16_t n_rings;
	struct rte_ring *rings[TSW_MAX_WORKERS];
	uint64_t next_age_ms;          /* the next FDB sweep's start */
	bool sweeping;                 /* a sweep is walking the FDB, a slice a poll */
	uint64_t next_ct_ms;           /* the same for the connection table */
	bool ct_sweeping;
	uint64_t ct_expired;
	uint64_t ct_states[TSW_CT_NSTATES];     /* by state, at the last whole sweep */
	uint64_t ct_counting[TSW_CT_NSTATES];   /* ...the sweep going on */
	uint64_t aged;
	struct tsw_learn_stats learn;
	/* slow path (optional) */
	struct tsw_underlay *ul;
	struct rte_ring *punt[TSW_MAX_WORKERS];
	uint64_t next_tick_ms;
};

void tsw_mgmt_init(struct tsw_mgmt *mg, struct tsw_dp *dp, struct rte_ring *const *rings,
		   uint16_t n_rings);
/* Give punted frames of the workers' punt rings to ul (ARP, ICMP, frames
 * waiting for a next hop) and run its timers. */
void tsw_mgmt_set_underlay(struct tsw_mgmt *mg, struct tsw_underlay *ul,
			   struct rte_ring *const *punt, uint16_t n);
/* Returns the number of learn events and punted frames handled. */
unsigned int tsw_mgmt_poll(struct tsw_mgmt *mg, uint64_t now_ms);
/* Run a whole ageing sweep now regardless of the once-per-second schedule. */
void tsw_mgmt_age_now(struct tsw_mgmt *mg, uint64_t now_ms);

#endif
