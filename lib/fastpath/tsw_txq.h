/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: which TX queue of a port each worker transmits on, shared where a
 * port has fewer usable queues than there are workers.
 *
 * Contract: the management thread sets ports up (tsw_txq_port_set) and
 * calls tsw_txq_poll() often; workers call tsw_txq_send() lock-free on a
 * queue they own and under that queue's spinlock on a queue they share
 * (a one-queue guest on a host with two workers, a NIC with few queues).
 * A vhost-user port follows its guest: only the queues whose vring the
 * guest enabled are used (RTE_ETH_EVENT_QUEUE_STATE, read by the
 * management thread), and workers are spread over them, so a guest that
 * enables fewer queue pairs than offered, or changes their number at run
 * time (ethtool -L), still gets every frame. A queue map is RCU-published;
 * a change goes through maps in which every worker locks, so that no two
 * workers ever use one queue unlocked. On a vhost-user port a send that
 * finds the guest's ring full retries up to `retries` times while it makes
 * progress (OVS's vhost-tx-retries-max); each retry is counted. The map
 * also says whether the guest takes TSO frames (its negotiated virtio-net
 * features, read again at each vring change: a new guest renegotiates).
 */
#ifndef TSW_TXQ_H
#define TSW_TXQ_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_spinlock.h>

#include "tsw_types.h"

struct tsw_txq_map {
	uint16_t q[TSW_MAX_WORKERS];       /* the queue of each worker */
	bool locked[TSW_MAX_WORKERS];      /* that queue is (or may be) shared */
	bool guest_tso;                    /* the guest takes TCP/IPv4 TSO frames */
};

struct tsw_txq_port {
	struct tsw_txq_map *map;           /* RCU-published; NULL: port not set */
	rte_spinlock_t lock[TSW_MAX_WORKERS];   /* per queue */
	/* management thread */
	uint16_t n_txq;
	uint64_t enabled;                  /* usable queues (bit per queue) */
	uint16_t retries;
	bool vhost;
	bool guest_tso;                    /* GUEST_TSO4 and GUEST_CSUM negotiated */
	bool dirty;                        /* atomic: vring state changed */
};

struct tsw_txq {
	uint16_t n_workers;
	struct rte_rcu_qsbr *qsbr;
	struct tsw_txq_port port[RTE_MAX_ETHPORTS];
};

void tsw_txq_init(struct tsw_txq *t, uint16_t n_workers, struct rte_rcu_qsbr *qsbr);
/* A started port with n_txq TX queues; vhost: a net_vhost port (follows its
 * guest's vrings, retries up to retries times). Returns 0 or -errno. */
int tsw_txq_port_set(struct tsw_txq *t, uint16_t eth_port, uint16_t n_txq, bool vhost,
		     uint16_t retries);
/* Before the port is closed: no worker uses it any more (waits for them). */
void tsw_txq_port_unset(struct tsw_txq *t, uint16_t eth_port);
/* Management thread: follow the guests' vring changes. Returns the number
 * of ports whose map changed. */
unsigned int tsw_txq_poll(struct tsw_txq *t);
/* The queues a port uses now (for show): bitmap. */
uint64_t tsw_txq_enabled(const struct tsw_txq *t, uint16_t eth_port);

/* Worker: the guest on eth_port takes TCP/IPv4 TSO frames. */
static inline bool
tsw_txq_guest_tso(const struct tsw_txq *t, uint16_t eth_port)
{
	const struct tsw_txq_map *m = __atomic_load_n(&t->port[eth_port].map, __ATOMIC_ACQUIRE);

	return m != NULL && m->guest_tso;
}

/* Worker: transmit on eth_port; returns how many were taken. *retried
 * counts the retries made. */
static inline uint16_t
tsw_txq_send(struct tsw_txq *t, uint16_t eth_port, uint16_t worker, struct rte_mbuf **pkts,
	     uint16_t n, uint64_t *retried)
{
	struct tsw_txq_port *p = &t->port[eth_port];
	const struct tsw_txq_map *m = __atomic_load_n(&p->map, __ATOMIC_ACQUIRE);
	uint16_t q, sent, tries = 0;

	if (unlikely(m == NULL))
		return 0;   /* not set up (being removed): counted as not sent */
	q = m->q[worker];
	if (m->locked[worker])
		rte_spinlock_lock(&p->lock[q]);
	sent = rte_eth_tx_burst(eth_port, q, pkts, n);
	while (unlikely(sent < n) && tries < p->retries) {
		uint16_t more = rte_eth_tx_burst(eth_port, q, pkts + sent, (uint16_t)(n - sent));
		if (more == 0)
			break;   /* no progress: the guest is not reading, do not spin */
		sent = (uint16_t)(sent + more);
		tries++;
	}
	if (m->locked[worker])
		rte_spinlock_unlock(&p->lock[q]);
	*retried += tries;
	return sent;
}

#endif
