/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: a guest's TCP offloads, done in software on the worker.
 *
 * Contract:
 *  - Frames from a VM port may carry two offloads a guest asked for over
 *    virtio-net (DPDK's compliant ol_flags, what net_vhost delivers):
 *    a partial L4 checksum (RTE_MBUF_F_RX_L4_CKSUM_NONE: the checksum field
 *    holds the pseudo-header sum) and TSO (RTE_MBUF_F_RX_LRO with
 *    tso_segsz: one TCP "super-frame" of up to 64 KB for segments of
 *    tso_segsz payload bytes).
 *  - tsw_offload_csum_complete() writes the full TCP or UDP checksum of a
 *    frame with a partial one (any L2/L3 DPDK's rte_net_get_ptype parses:
 *    VLAN, IPv4 with options, IPv6 with extension headers) and marks it
 *    RTE_MBUF_F_RX_L4_CKSUM_GOOD; other frames are left as they are.
 *  - tsw_offload_tso_segment() cuts a TCP/IPv4 or TCP/IPv6 super-frame into
 *    frames of at most tso_segsz payload bytes, new mbufs from pool (chained
 *    where one mbuf is too small), as the guest's kernel would have sent
 *    them: IPv4 total length, ID (+1 per segment) and header checksum, IPv6
 *    payload length, TCP sequence numbers, FIN/PSH on the last segment only,
 *    CWR on the first only, full TCP checksums. The segments carry no
 *    offload flag. A frame whose payload fits one segment is given back
 *    as it is, its checksum completed.
 *  - tsw_offload_gro() coalesces the TCP/IPv4 segments of a burst bound for
 *    one guest that takes TSO frames (GUEST_TSO4 and GUEST_CSUM negotiated)
 *    with DPDK's rte_gro, into frames marked for the guest as TSO with a
 *    partial checksum (RTE_MBUF_F_TX_TCP_SEG, tso_segsz: the first
 *    segment's payload). Only segments whose IPv4 and TCP checksums are
 *    right are merged (the guest does not check a merged frame again);
 *    the others, and every frame that is not TCP/IPv4, pass unchanged.
 *  - Nothing here blocks, logs or allocates outside the given mempool.
 */
#ifndef TSW_OFFLOAD_H
#define TSW_OFFLOAD_H

#include <stdint.h>
#include <rte_mbuf.h>

#include "tsw_counters.h"

/* A TSO frame that would need more segments than this is dropped
 * (tso_bad): at a 64 KB frame, an MSS below 256 bytes. */
#define TSW_TSO_MAX_SEGS 256

static inline bool
tsw_offload_is_tso(const struct rte_mbuf *m)
{
	return (m->ol_flags & RTE_MBUF_F_RX_LRO) != 0;
}

static inline bool
tsw_offload_csum_partial(const struct rte_mbuf *m)
{
	return (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE;
}

void tsw_offload_csum_complete(struct rte_mbuf *m);

/* Returns the number of frames written to out[0..TSW_TSO_MAX_SEGS): the
 * segments (m freed), or m itself alone when it needs no cutting; or 0
 * with the reason in *why and m untouched: TSW_DROP_tso_bad for a frame
 * that is not TCP over IPv4/IPv6 or whose segment size is 0 or would take
 * more than TSW_TSO_MAX_SEGS segments, TSW_DROP_no_mbuf when the pool is
 * short. */
uint16_t tsw_offload_tso_segment(struct rte_mbuf *m, struct rte_mempool *pool,
				 struct rte_mbuf **out, enum tsw_drop *why);

/* pkts[0..n) in, the frames to send out in pkts[0..return); frames are
 * reordered across flows (rte_gro's order), never within one; *merged
 * counts the frames folded into others. */
uint16_t tsw_offload_gro(struct rte_mbuf **pkts, uint16_t n, uint64_t *merged);

#endif
