/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: vhost-user VM ports on DPDK's vhost library (rte_vhost), not one
 * ethdev each, so that a host is not bound by RTE_MAX_ETHPORTS (32 in
 * Debian's DPDK) but by the library's RTE_MAX_VHOST_DEVICE (1024), as
 * OVS-DPDK is.
 *
 * A port is opened from the same devargs a net_vhost ethdev takes
 * ("net_vhost0,iface=PATH[,client=1][,queues=N][,tso=1]..."), which keeps
 * the config file, the control socket and the agent unchanged.
 *
 * Contract:
 *  - tsw_vhost_open() and tsw_vhost_close() run on the main or management
 *    thread; open registers the socket with the library (server or client
 *    mode, reconnecting) and starts it; close unregisters it, and returns
 *    once the library is done with it.
 *  - The library's callbacks run in its own thread and only change a
 *    port's atomic state: the guest's device (vid), which vrings it
 *    enabled, whether it takes TSO frames, a "changed" flag for the
 *    management thread. destroy_device() unpublishes the device and waits
 *    for a grace period of the workers (tsw_vhost_set_qsbr) before it
 *    returns, so no worker touches a device the library frees. The
 *    management thread must therefore not be an online reader of that QSBR
 *    variable (in tunsw it is not).
 *  - Workers receive and transmit with tsw_vhost_rx()/tsw_vhost_tx(),
 *    lock-free on their side (the library locks each virtqueue); a queue
 *    pair the guest has not enabled is never touched.
 *  - A client-mode socket is pinned as tsw_ethdev pins it (tsw_sockpath):
 *    tsw_vhost_sock_refresh() follows a restarted guest's socket.
 */
#ifndef TSW_VHOST_H
#define TSW_VHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_vhost.h>

#include "tsw_sockpath.h"

/* Queue pairs a port can use (bit masks of 64). */
#define TSW_VHOST_MAX_QP 64

struct tsw_vhost {
	/* read by workers */
	int vid;                  /* atomic: the guest's device, -1 while none */
	uint64_t rx_on;           /* atomic: queue pairs whose guest TX vring is enabled */
	uint64_t tx_on;           /* atomic: ...whose guest RX vring is enabled */
	struct rte_mempool *pool; /* what frames from the guest are received into */
	/* the library's thread and the management thread */
	bool changed;             /* atomic: vrings or device changed since looked at */
	bool guest_tso;           /* atomic: GUEST_TSO4 and GUEST_CSUM negotiated */
	uint16_t n_qp;            /* queue pairs polled (devargs queues=, default 1) */
	uint64_t flags;           /* rte_vhost_driver_register's */
	bool registered;
	char name[64];            /* the device name of the devargs (net_vhost...) */
	char sock[TSW_SOCKPATH_MAX + 1];  /* the socket path */
	char path[TSW_SOCKPATH_MAX + 1];  /* the path registered (client: the pin) */
	bool client;
	struct tsw_sockpin pin;
	uint64_t connects;        /* atomic: guest devices come (show_ports) */
	uint64_t unserved;        /* atomic: pairs the guest enabled beyond n_qp (bit 63: any
				   * higher), never read: logged, shown by show_ports */
};

/* The workers' QSBR variable, waited on when a guest's device goes (NULL:
 * no workers yet). Set once before workers start. */
void tsw_vhost_set_qsbr(struct rte_rcu_qsbr *qsbr);

/* 1 when devargs name a vhost-user port (net_vhost... with an iface),
 * else 0. */
int tsw_vhost_is_vhost(const char *devargs);

/* Open the vhost-user port of devargs; frames from its guest are received
 * into pool. 0, or -1 with the reason (naming the devargs field) and
 * nothing left behind. *out must stay where it is until closed. */
int tsw_vhost_open(const char *devargs, struct rte_mempool *pool, struct tsw_vhost *out,
		   char *err, size_t errlen);
void tsw_vhost_close(struct tsw_vhost *v);
/* Client mode: look at the socket path again (without following links);
 * true when the library's next connect goes to a new socket. */
bool tsw_vhost_sock_refresh(struct tsw_vhost *v);

/* Management thread: true (once) when the port's device or vrings changed
 * since the last call. */
static inline bool
tsw_vhost_take_changed(struct tsw_vhost *v)
{
	return __atomic_load_n(&v->changed, __ATOMIC_ACQUIRE) &&
	       __atomic_exchange_n(&v->changed, false, __ATOMIC_ACQ_REL);
}

/* Worker: frames the guest sent on queue pair qp (0 when it has none or
 * the pair is not enabled). */
static inline uint16_t
tsw_vhost_rx(struct tsw_vhost *v, uint16_t qp, struct rte_mbuf **pkts, uint16_t n)
{
	int vid = __atomic_load_n(&v->vid, __ATOMIC_ACQUIRE);

	if (vid < 0 || !(__atomic_load_n(&v->rx_on, __ATOMIC_RELAXED) >> qp & 1))
		return 0;
	return rte_vhost_dequeue_burst(vid, (uint16_t)(qp * 2 + 1), v->pool, pkts, n);
}

/* Worker: copy frames into the guest's RX vring of queue pair qp; the ones
 * taken are freed, the rest (returned count on) stay the caller's. */
static inline uint16_t
tsw_vhost_tx(struct tsw_vhost *v, uint16_t qp, struct rte_mbuf **pkts, uint16_t n)
{
	int vid = __atomic_load_n(&v->vid, __ATOMIC_ACQUIRE);
	uint16_t sent;

	if (vid < 0 || !(__atomic_load_n(&v->tx_on, __ATOMIC_RELAXED) >> qp & 1))
		return 0;
	sent = rte_vhost_enqueue_burst(vid, (uint16_t)(qp * 2), pkts, n);
	if (sent > 0)
		rte_pktmbuf_free_bulk(pkts, sent);
	return sent;
}

#endif
