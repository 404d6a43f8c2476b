/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the host side of the uplink (the slow path): ARP for local_ip,
 * ICMP echo to local_ip, and ARP resolution of next hops.
 *
 * Workers punt to the management thread what is not tunnel traffic but is
 * for tunsw itself (ARP, ICMP echo to local_ip) and encapsulated frames
 * whose next hop's MAC is unknown (struct tsw_worker). This module, run by
 * the table writer only:
 *  - answers ARP requests for local_ip and ICMP echo requests to it;
 *  - resolves next hops: an ARP request at once, retries after 1, 2, 4 ...
 *    seconds (arp_retries in all), holding up to TSW_ARP_QUEUE frames per
 *    next hop meanwhile (sent when the answer comes, dropped and counted
 *    when it never does);
 *  - keeps answers arp_reachable seconds, then re-checks with unicast ARP
 *    requests while still using the MAC; no answer: the entry goes and
 *    frames queue again;
 *  - updates entries from any ARP the next hop sends (gratuitous ARP after
 *    a failover included); never overrides a static [neighbor];
 *  - sends through the tx callback (in the daemon: worker 0's inject ring).
 * Every change of a next hop's MAC rebuilds the headers of the tunnels
 * through it (tsw_dp_neighbor_set), so workers pick it up lock-free.
 */
#ifndef TSW_UNDERLAY_H
#define TSW_UNDERLAY_H

#include <stdint.h>
#include <jansson.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "tsw_dp.h"

#define TSW_ARP_QUEUE 32
#define TSW_ARP_MAX_PENDING 256       /* next hops being resolved at once */

struct tsw_underlay_conf {
	uint32_t local_ip;                /* network order */
	struct rte_ether_addr mac;        /* uplink MAC */
	uint32_t reachable_ms;
	uint32_t retries;
};

struct tsw_underlay_stats {
	uint64_t arp_requests_sent, arp_replies_sent, arp_replies_received;
	uint64_t icmp_echo_replies, resolved, failed, queued, queue_full, dropped_unresolved;
	uint64_t tx_failed, ignored;
};

/* Queue m for the uplink; false when it cannot (m is then still ours). */
typedef bool (*tsw_underlay_tx)(void *arg, struct rte_mbuf *m);

struct tsw_underlay;

struct tsw_underlay *tsw_underlay_create(struct tsw_dp *dp, const struct tsw_underlay_conf *c,
					 struct rte_mempool *pool, tsw_underlay_tx tx, void *arg);
void tsw_underlay_free(struct tsw_underlay *u);

/* A punted frame (takes ownership). */
void tsw_underlay_input(struct tsw_underlay *u, struct rte_mbuf *m, uint64_t now_ms);
/* Retries, expiry, refresh due at now_ms. */
void tsw_underlay_tick(struct tsw_underlay *u, uint64_t now_ms);
/* When the next timer is due (UINT64_MAX: none). */
uint64_t tsw_underlay_next_timer(const struct tsw_underlay *u);

/* [{"ip", "mac", "state": "static"|"reachable"|"probe"|"incomplete",
 *   "queued", "age_ms"}] */
json_t *tsw_underlay_neighbors(const struct tsw_underlay *u, uint64_t now_ms);
void tsw_underlay_get_stats(const struct tsw_underlay *u, struct tsw_underlay_stats *st);

#endif
