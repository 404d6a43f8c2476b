/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: which TX queue of an output (a VM port, the uplink) each worker
 * transmits on, shared where the output has fewer usable queues than
 * there are workers.
 *
 * Contract: the management thread sets outputs up (tsw_txq_port_set for an
 * ethdev, tsw_txq_vhost_set for a vhost-user port on the vhost library)
 * and calls tsw_txq_poll() often; workers call tsw_txq_send() lock-free on
 * a queue they own and under that queue's spinlock on a queue they share
 * (a one-queue guest on a host with two workers, a NIC with few queues).
 * A vhost-user port follows its guest: only the queue pairs whose RX vring
 * the guest enabled are used (tsw_vhost's state, read by the management
 * thread), and workers are spread over them, so a guest that enables fewer
 * queue pairs than offered, or changes their number at run time (ethtool
 * -L), still gets every frame. A queue map is RCU-published; a change goes
 * through maps in which every worker locks, so that no two workers ever
 * use one queue unlocked. On a vhost-user port a send that finds the
 * guest's ring full retries up to `retries` times while it makes progress
 * (OVS's vhost-tx-retries-max); each retry is counted. The map also says
 * whether the guest takes TSO frames (its negotiated virtio-net features,
 * read again at each change: a new guest renegotiates).
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
#include "tsw_vhost.h"

/* A worker that owns several of a guest's queues spreads its frames over
 * them by flow (at most this many). */
#define TSW_TXQ_SPREAD 8

struct tsw_txq_map {
	uint16_t q[TSW_MAX_WORKERS];       /* the queue of each worker */
	bool locked[TSW_MAX_WORKERS];      /* that queue is (or may be) shared */
	bool guest_tso;                    /* the guest takes TCP/IPv4 TSO frames */
	/* a vhost-user guest with more enabled queues than workers: each
	 * worker owns nq of them (qs, q = qs[0]) and spreads over them */
	uint8_t nq[TSW_MAX_WORKERS];
	uint16_t qs[TSW_MAX_WORKERS][TSW_TXQ_SPREAD];
};

struct tsw_txq_port {
	struct tsw_txq_map *map;           /* RCU-published; NULL: output not set */
	struct tsw_vhost *vh;              /* a vhost-user port, else NULL: an ethdev */
	uint16_t eth_port;
	uint16_t retries;
	rte_spinlock_t lock[TSW_MAX_WORKERS];   /* per queue */
	/* management thread */
	uint16_t n_txq;
	uint64_t enabled;                  /* usable queues (bit per queue) */
	bool guest_tso;                    /* GUEST_TSO4 and GUEST_CSUM negotiated */
};

struct tsw_txq {
	uint16_t n_workers;
	struct rte_rcu_qsbr *qsbr;
	struct tsw_txq_port port[TSW_N_OUTS];   /* by output: VM port index, TSW_OUT_UPLINK */
};

void tsw_txq_init(struct tsw_txq *t, uint16_t n_workers, struct rte_rcu_qsbr *qsbr);
/* Output out is the started ethdev eth_port with n_txq TX queues, all
 * usable. Returns 0 or -errno. */
int tsw_txq_port_set(struct tsw_txq *t, uint16_t out, uint16_t eth_port, uint16_t n_txq);
/* Output out is the vhost-user port vh (follows its guest's vrings,
 * retries up to retries times). Returns 0 or -errno. */
int tsw_txq_vhost_set(struct tsw_txq *t, uint16_t out, struct tsw_vhost *vh, uint16_t retries);
/* Before the output's device is closed: no worker uses it any more (waits
 * for them). */
void tsw_txq_port_unset(struct tsw_txq *t, uint16_t out);
/* Management thread: follow the guests' vring changes. Returns the number
 * of outputs whose map changed. */
unsigned int tsw_txq_poll(struct tsw_txq *t);
/* The queues an output uses now (for show): bitmap. */
uint64_t tsw_txq_enabled(const struct tsw_txq *t, uint16_t out);

/* Worker: the guest on output out takes TCP/IPv4 TSO frames. */
static inline bool
tsw_txq_guest_tso(const struct tsw_txq *t, uint16_t out)
{
	const struct tsw_txq_map *m = __atomic_load_n(&t->port[out].map, __ATOMIC_ACQUIRE);

	return m != NULL && m->guest_tso;
}

static inline uint16_t
tsw_txq_burst(const struct tsw_txq_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return p->vh != NULL ? tsw_vhost_tx(p->vh, q, pkts, n)
			     : rte_eth_tx_burst(p->eth_port, q, pkts, n);
}

/* Send on queue q, retrying up to the port's retries while the guest takes
 * frames; *tries counts the retries. */
static inline uint16_t
tsw_txq_burst_retry(const struct tsw_txq_port *p, uint16_t q, struct rte_mbuf **pkts,
		    uint16_t n, uint16_t *tries)
{
	uint16_t sent = tsw_txq_burst(p, q, pkts, n);

	while (unlikely(sent < n) && *tries < p->retries) {
		uint16_t more = tsw_txq_burst(p, q, pkts + sent, (uint16_t)(n - sent));
		if (more == 0)
			break;   /* no progress: the guest is not reading, do not spin */
		sent = (uint16_t)(sent + more);
		(*tries)++;
	}
	return sent;
}

/* Worker, a port whose queues it spreads over (map->nq[worker] > 1): the
 * frames of one flow on one queue (tsw_inner_flow_hash). Returns how many
 * were taken; the ones not taken end up at the end of pkts. */
uint16_t tsw_txq_send_spread(struct tsw_txq_port *p, const struct tsw_txq_map *m,
			     uint16_t worker, struct rte_mbuf **pkts, uint16_t n,
			     uint64_t *retried);

/* Worker: transmit on output out; returns how many were taken (the ones
 * not taken are pkts[returned..n-1]). *retried counts the retries made. */
static inline uint16_t
tsw_txq_send(struct tsw_txq *t, uint16_t out, uint16_t worker, struct rte_mbuf **pkts,
	     uint16_t n, uint64_t *retried)
{
	struct tsw_txq_port *p = &t->port[out];
	const struct tsw_txq_map *m = __atomic_load_n(&p->map, __ATOMIC_ACQUIRE);
	uint16_t q, sent, tries = 0;

	if (unlikely(m == NULL))
		return 0;   /* not set up (being removed): counted as not sent */
	if (m->nq[worker] > 1)
		return tsw_txq_send_spread(p, m, worker, pkts, n, retried);
	q = m->q[worker];
	if (m->locked[worker])
		rte_spinlock_lock(&p->lock[q]);
	sent = tsw_txq_burst_retry(p, q, pkts, n, &tries);
	if (m->locked[worker])
		rte_spinlock_unlock(&p->lock[q]);
	*retried += tries;
	return sent;
}

#endif
