/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: capture taps on the workers' outputs — what a port received and
 * what was sent on it, copied for the management thread, which writes them
 * to a file (the daemon's capture request). dpdk-dumpcap sees ethdevs only;
 * a vhost-user VM port is none.
 *
 * Contract:
 *  - The management thread starts a capture on an output (a VM port index
 *    or TSW_OUT_UPLINK): tsw_capture_create() then tsw_taps_set(); it ends
 *    it with tsw_taps_set(NULL), which returns after a grace period of the
 *    workers (no worker copies into it any more), then drains and frees it.
 *  - Workers call tsw_taps_burst() on every received burst and before
 *    every transmit: one load when nothing is captured. A captured frame
 *    is copied (at most snaplen bytes) into the capture's own mempool, so a
 *    capture never takes mbufs from forwarding, with a small header in its
 *    headroom (time, direction, length on the wire), and put on the
 *    capture's ring; a full ring or an empty pool counts the frame as lost.
 *    After `limit` frames nothing more is copied.
 *  - The management thread takes copies with tsw_capture_take().
 */
#ifndef TSW_CAPTURE_H
#define TSW_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "tsw_types.h"

struct tsw_capture {
	struct rte_ring *ring;       /* copies, workers to the management thread */
	struct rte_mempool *pool;    /* the copies' own */
	uint32_t snaplen;
	uint64_t limit;              /* frames to copy at most */
	uint64_t copied;             /* atomic: frames copied (or lost) so far */
	uint64_t lost;               /* atomic: ring full or no mbuf */
};

/* What a copy carries in front of the frame (removed by tsw_capture_take). */
struct tsw_capture_hdr {
	tsw_ns_t ts;
	uint32_t wire_len;           /* the frame's length before snaplen */
	uint8_t dir;                 /* 1 received, 2 sent (pcapng epb_flags) */
	uint8_t pad[3];
};

struct tsw_taps {
	struct tsw_capture *cap[TSW_N_OUTS];   /* RCU-published; NULL: not captured */
	struct rte_rcu_qsbr *qsbr;
};

/* A capture of up to limit frames (of at most snaplen bytes each) with
 * ring_size copies in flight; NULL when out of memory. */
struct tsw_capture *tsw_capture_create(const char *name, uint32_t ring_size, uint32_t snaplen,
				       uint64_t limit, int socket);
/* Free c (its ring drained first); only once no worker can reach it. */
void tsw_capture_free(struct tsw_capture *c);

/* Management thread: capture output out into c (NULL: stop). Returns the
 * capture replaced (its copies still on its ring), after a grace period. */
struct tsw_capture *tsw_taps_set(struct tsw_taps *t, uint16_t out, struct tsw_capture *c);

/* Management thread: up to n copies (header stripped into h[]). */
unsigned int tsw_capture_take(struct tsw_capture *c, struct rte_mbuf **m,
			      struct tsw_capture_hdr *h, unsigned int n);
/* Frames copied or lost so far, and lost. */
static inline uint64_t tsw_capture_copied(const struct tsw_capture *c)
{
	return __atomic_load_n(&c->copied, __ATOMIC_RELAXED);
}
static inline uint64_t tsw_capture_lost(const struct tsw_capture *c)
{
	return __atomic_load_n(&c->lost, __ATOMIC_RELAXED);
}

void tsw_capture_copy(struct tsw_capture *c, struct rte_mbuf *const *pkts, uint16_t n,
		      uint8_t dir, tsw_ns_t now);

/* Worker: copy the burst if output out is captured (dir 1: received on
 * it, 2: about to be sent on it). */
static inline void
tsw_taps_burst(struct tsw_taps *t, uint16_t out, struct rte_mbuf *const *pkts, uint16_t n,
	       uint8_t dir, tsw_ns_t now)
{
	struct tsw_capture *c = __atomic_load_n(&t->cap[out], __ATOMIC_ACQUIRE);

	if (unlikely(c != NULL))
		tsw_capture_copy(c, pkts, n, dir, now);
}

#endif
