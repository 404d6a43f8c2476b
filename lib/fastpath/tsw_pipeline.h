/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the run-to-completion forwarding pipeline of one worker.
 *
 * Contract:
 *  - tsw_pipeline_vm_rx() and tsw_pipeline_uplink_rx() take a burst
 *    (<= TSW_BURST) received on one port and, for each frame: classify,
 *    look up the FDB in bulk, then deliver, encapsulate, flood or drop it,
 *    exactly as ../shared/reference/semantics.md says. They take ownership
 *    of every mbuf. Output frames are grouped per output port; frames are
 *    handed to the worker's tx callback by tsw_pipeline_flush() (call it
 *    once per poll round) or when a group fills up.
 *  - Nothing here blocks, locks, logs or allocates outside the mempool.
 *    Learned MACs go to the writer through tsw_learn_post().
 *  - Frames from a VM port may carry a guest's offloads (a partial L4
 *    checksum, TSO): tsw_pipeline_vm_rx() completes and segments them first
 *    (tsw_offload.h); everything after sees frames as on the wire.
 *  - now is the dataplane clock for the burst (ns).
 */
#ifndef TSW_PIPELINE_H
#define TSW_PIPELINE_H

#include <stdint.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "tsw_counters.h"
#include "tsw_dp.h"
#include "tsw_learn.h"
#include "tsw_types.h"

#define TSW_OUT_BUF 256

struct tsw_worker;

/* Optional: coalesce the n frames queued for VM port `out` just before
 * they are sent (a guest that takes TSO frames: tsw_offload_gro());
 * returns how many frames are left in pkts[]. */
typedef uint16_t (*tsw_coalesce_fn)(void *arg, struct tsw_worker *w, uint16_t out,
				    struct rte_mbuf **pkts, uint16_t n);

/* Transmit n frames on output `out` (VM port index, TSW_OUT_UPLINK, or a
 * physical network's device TSW_OUT_PHYS0 + i);
 * returns how many were taken. The pipeline frees and counts the rest. */
typedef uint16_t (*tsw_tx_fn)(void *arg, struct tsw_worker *w, uint16_t out,
			      struct rte_mbuf **pkts, uint16_t n);

struct tsw_worker {
	uint16_t id;
	uint16_t ip_id;
	const struct tsw_dp *dp;
	struct rte_ring *learn_ring;
	/* Slow path (optional, set after create): frames for the management
	 * thread (ARP and ICMP for local_ip, tag 0 in m->hash.usr; encapsulated
	 * frames waiting for next hop tag's MAC) and frames it wants sent on
	 * the uplink. */
	struct rte_ring *punt_ring;
	struct rte_ring *inject_ring;
	struct rte_mempool *pool;
	tsw_tx_fn tx;
	void *tx_arg;
	tsw_coalesce_fn coalesce;           /* optional, set after create; gets tx_arg */
	struct tsw_counters *cnt;
	struct tsw_learn_cache cache;
	/* Free mbufs taken from the pool (raw) and prefetched by one flood for
	 * the copies of the next one in the same burst; back to the pool at
	 * the end of every burst. */
	uint16_t spare_n;
	struct rte_mbuf *spare[TSW_BURST];
	uint16_t n_dirty;
	uint16_t dirty[TSW_N_OUTS];
	uint16_t out_n[TSW_N_OUTS];
	struct rte_mbuf *out[TSW_N_OUTS][TSW_OUT_BUF];
	/* trace: what the security groups' filters decided (NULL: nobody asks;
	 * set, the filters change no connection) */
	struct tsw_sg_why *sg_why;
};

/* Allocate a worker context (rte_zmalloc); counters are allocated with it. */
struct tsw_worker *tsw_worker_create(uint16_t id, const struct tsw_dp *dp,
				     struct rte_ring *learn_ring, struct rte_mempool *pool,
				     tsw_tx_fn tx, void *tx_arg, int socket);
void tsw_worker_free(struct tsw_worker *w);

void tsw_pipeline_vm_rx(struct tsw_worker *w, uint16_t port, struct rte_mbuf **pkts,
			uint16_t n, tsw_ns_t now);
void tsw_pipeline_uplink_rx(struct tsw_worker *w, struct rte_mbuf **pkts, uint16_t n,
			    tsw_ns_t now);
/* A burst from physical network ph's own device (R-V2, R-V3, R-V5). A
 * physical network on the uplink gets its frames through
 * tsw_pipeline_uplink_rx() (R-V4). */
void tsw_pipeline_phys_rx(struct tsw_worker *w, uint16_t ph, struct rte_mbuf **pkts, uint16_t n,
			  tsw_ns_t now);
void tsw_pipeline_flush(struct tsw_worker *w);
/* Queue the management thread's frames (inject_ring) for the uplink. */
void tsw_pipeline_inject(struct tsw_worker *w);
/* Free the mbufs still on a ring of mbufs (punt, inject, a ring port's);
 * r may be NULL. The caller is its only consumer. */
void tsw_pipeline_ring_drain(struct rte_ring *r);

#endif
