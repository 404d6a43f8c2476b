/* SPDX-License-Identifier: BSD-3-Clause
 * TX queue maps: workers spread over a port's usable queues, locks where
 * shared, vhost-user vring state followed.
 */
#include <errno.h>
#include <string.h>

#include <linux/virtio_net.h>
#include <rte_eth_vhost.h>
#include <rte_vhost.h>
#include <rte_malloc.h>

#include "tsw_txq.h"

void
tsw_txq_init(struct tsw_txq *t, uint16_t n_workers, struct rte_rcu_qsbr *qsbr)
{
	memset(t, 0, sizeof(*t));
	t->n_workers = n_workers;
	t->qsbr = qsbr;
	for (unsigned int i = 0; i < RTE_MAX_ETHPORTS; i++)
		for (unsigned int q = 0; q < TSW_MAX_WORKERS; q++)
			rte_spinlock_init(&t->port[i].lock[q]);
}

/* Workers over the usable queues, round-robin; locked where a queue has
 * more than one worker (or all, with all_locked). No usable queue (no
 * guest yet): every worker on queue 0, locked (sends fail until one). */
static void
build(const struct tsw_txq *t, const struct tsw_txq_port *p, bool all_locked,
      struct tsw_txq_map *m)
{
	uint16_t use[TSW_MAX_WORKERS], n = 0, users[TSW_MAX_WORKERS] = { 0 };

	for (uint16_t q = 0; q < p->n_txq && q < TSW_MAX_WORKERS; q++)
		if (p->enabled >> q & 1)
			use[n++] = q;
	for (uint16_t w = 0; w < t->n_workers; w++) {
		m->q[w] = n ? use[w % n] : 0;
		users[m->q[w]]++;
	}
	for (uint16_t w = 0; w < t->n_workers; w++)
		m->locked[w] = all_locked || n == 0 || users[m->q[w]] > 1;
	m->guest_tso = p->guest_tso;
}

/* The guest's virtio-net features allow TCP/IPv4 TSO frames with a
 * partial checksum (VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_CSUM). */
static bool
guest_takes_tso(uint16_t port)
{
	int vid = rte_eth_vhost_get_vid_from_port_id(port);
	uint64_t f = 0;

	return vid >= 0 && rte_vhost_get_negotiated_features(vid, &f) == 0 &&
	       (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4)) && (f & (1ULL << VIRTIO_NET_F_GUEST_CSUM));
}

static void
publish(struct tsw_txq *t, struct tsw_txq_port *p, const struct tsw_txq_map *m)
{
	struct tsw_txq_map *nm = rte_malloc("tsw_txq_map", sizeof(*nm), 0), *old;

	if (nm == NULL) {
		/* keep the old map: it stays safe (at worst a disabled queue) */
		return;
	}
	*nm = *m;
	old = __atomic_exchange_n(&p->map, nm, __ATOMIC_ACQ_REL);
	if (t->qsbr != NULL)
		rte_rcu_qsbr_synchronize(t->qsbr, RTE_QSBR_THRID_INVALID);
	rte_free(old);
}

/* Move p to the map its enabled queues call for, through maps in which
 * every worker locks: first the current assignment all locked, then the
 * new one all locked, then the new one as it is. A worker still on an
 * older map uses a queue no other worker uses unlocked at any step. */
static void
remap(struct tsw_txq *t, struct tsw_txq_port *p)
{
	struct tsw_txq_map m;

	if (p->map != NULL) {
		m = *p->map;
		for (uint16_t w = 0; w < t->n_workers; w++)
			m.locked[w] = true;
		publish(t, p, &m);
	}
	build(t, p, true, &m);
	publish(t, p, &m);
	build(t, p, false, &m);
	publish(t, p, &m);
}

static int
on_vring(uint16_t port, enum rte_eth_event_type ev, void *arg, void *ret)
{
	struct tsw_txq *t = arg;

	(void)ev;
	(void)ret;
	/* the vhost-user thread: only note it, the management thread reads */
	__atomic_store_n(&t->port[port].dirty, true, __ATOMIC_RELEASE);
	return 0;
}

int
tsw_txq_port_set(struct tsw_txq *t, uint16_t eth_port, uint16_t n_txq, bool vhost,
		 uint16_t retries)
{
	struct tsw_txq_port *p;

	if (eth_port >= RTE_MAX_ETHPORTS || n_txq == 0)
		return -EINVAL;
	p = &t->port[eth_port];
	p->n_txq = RTE_MIN(n_txq, (uint16_t)TSW_MAX_WORKERS);
	p->vhost = vhost;
	p->guest_tso = false;      /* until this port's guest says so */
	p->retries = vhost ? retries : 0;
	/* a NIC's queues are all usable; a guest's once it enables them */
	p->enabled = vhost ? 0 : (p->n_txq >= 64 ? UINT64_MAX : (1ULL << p->n_txq) - 1);
	if (vhost) {
		int rc = rte_eth_dev_callback_register(eth_port, RTE_ETH_EVENT_QUEUE_STATE,
						       on_vring, t);
		/* the guest's features are readable once its device is up
		 * (net_vhost's new_device: link up), after its vrings' events */
		if (rc == 0)
			rc = rte_eth_dev_callback_register(eth_port, RTE_ETH_EVENT_INTR_LSC,
							   on_vring, t);
		if (rc < 0) {
			rte_eth_dev_callback_unregister(eth_port, RTE_ETH_EVENT_QUEUE_STATE,
							on_vring, t);
			return rc;
		}
		p->dirty = true;   /* what the guest did before we listened */
	}
	remap(t, p);
	if (vhost)
		tsw_txq_poll(t);
	return p->map != NULL ? 0 : -ENOMEM;
}

void
tsw_txq_port_unset(struct tsw_txq *t, uint16_t eth_port)
{
	struct tsw_txq_port *p;
	struct tsw_txq_map *old;

	if (eth_port >= RTE_MAX_ETHPORTS)
		return;
	p = &t->port[eth_port];
	if (p->vhost) {
		rte_eth_dev_callback_unregister(eth_port, RTE_ETH_EVENT_QUEUE_STATE, on_vring, t);
		rte_eth_dev_callback_unregister(eth_port, RTE_ETH_EVENT_INTR_LSC, on_vring, t);
	}
	old = __atomic_exchange_n(&p->map, NULL, __ATOMIC_ACQ_REL);
	if (t->qsbr != NULL)
		rte_rcu_qsbr_synchronize(t->qsbr, RTE_QSBR_THRID_INVALID);
	rte_free(old);
	p->vhost = false;
	p->dirty = false;
}

unsigned int
tsw_txq_poll(struct tsw_txq *t)
{
	unsigned int changed = 0;

	for (uint16_t i = 0; i < RTE_MAX_ETHPORTS; i++) {
		struct tsw_txq_port *p = &t->port[i];
		struct rte_eth_vhost_queue_event ev;
		uint64_t was;
		bool tso;

		if (!__atomic_load_n(&p->dirty, __ATOMIC_ACQUIRE))
			continue;
		__atomic_store_n(&p->dirty, false, __ATOMIC_RELEASE);
		was = p->enabled;
		while (rte_eth_vhost_get_queue_event(i, &ev) == 0) {
			if (ev.rx || ev.queue_id >= p->n_txq)
				continue;   /* the guest's TX vrings are our RX queues */
			if (ev.enable)
				p->enabled |= 1ULL << ev.queue_id;
			else
				p->enabled &= ~(1ULL << ev.queue_id);
		}
		tso = p->enabled != 0 && guest_takes_tso(i);
		if (p->enabled != was || tso != p->guest_tso) {
			p->guest_tso = tso;
			remap(t, p);
			changed++;
		}
	}
	return changed;
}

uint64_t
tsw_txq_enabled(const struct tsw_txq *t, uint16_t eth_port)
{
	return eth_port < RTE_MAX_ETHPORTS ? t->port[eth_port].enabled : 0;
}
