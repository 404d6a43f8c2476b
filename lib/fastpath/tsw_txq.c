/* SPDX-License-Identifier: BSD-3-Clause
 * TX queue maps: workers spread over a port's usable queues, locks where
 * shared, vhost-user vring state followed.
 */
#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "tsw_encap.h"
#include "tsw_pipeline.h"
#include "tsw_txq.h"

void
tsw_txq_init(struct tsw_txq *t, uint16_t n_workers, struct rte_rcu_qsbr *qsbr)
{
	memset(t, 0, sizeof(*t));
	t->n_workers = n_workers;
	t->qsbr = qsbr;
	for (unsigned int i = 0; i < TSW_N_OUTS; i++)
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
	/* a guest with more queues than workers: every enabled queue used,
	 * worker w owning use[w], use[w + W], ... alone (frames spread by
	 * flow); a NIC's extra queues are not spread over */
	memset(m->nq, 0, sizeof(m->nq));
	for (uint16_t w = 0; p->vh != NULL && n > t->n_workers && w < t->n_workers; w++)
		for (uint16_t j = w; j < n && m->nq[w] < TSW_TXQ_SPREAD; j += t->n_workers)
			m->qs[w][m->nq[w]++] = use[j];
}

/* One burst of at most TSW_BURST frames by flow over the worker's queues;
 * what is not taken is appended to left. Returns how many were taken. */
static uint16_t
spread_chunk(struct tsw_txq_port *p, const struct tsw_txq_map *m, uint16_t worker,
	     struct rte_mbuf **pkts, uint16_t n, uint64_t *retried, struct rte_mbuf **left,
	     uint16_t *n_left)
{
	struct rte_mbuf *by_q[TSW_TXQ_SPREAD][TSW_BURST];
	uint16_t cnt[TSW_TXQ_SPREAD] = { 0 }, taken = 0;
	uint8_t k = m->nq[worker];

	for (uint16_t i = 0; i < n; i++) {
		uint8_t j = (uint8_t)(tsw_inner_flow_hash(pkts[i]) % k);
		by_q[j][cnt[j]++] = pkts[i];
	}
	for (uint8_t j = 0; j < k; j++) {
		uint16_t q = m->qs[worker][j], sent, tries = 0;

		if (cnt[j] == 0)
			continue;
		if (m->locked[worker])
			rte_spinlock_lock(&p->lock[q]);
		sent = tsw_txq_burst_retry(p, q, by_q[j], cnt[j], &tries);
		if (m->locked[worker])
			rte_spinlock_unlock(&p->lock[q]);
		*retried += tries;
		taken = (uint16_t)(taken + sent);
		for (uint16_t i = sent; i < cnt[j]; i++)
			left[(*n_left)++] = by_q[j][i];
	}
	return taken;
}

uint16_t
tsw_txq_send_spread(struct tsw_txq_port *p, const struct tsw_txq_map *m, uint16_t worker,
		    struct rte_mbuf **pkts, uint16_t n, uint64_t *retried)
{
	struct rte_mbuf *left[TSW_OUT_BUF];
	uint16_t taken = 0, n_left = 0;

	n = RTE_MIN(n, (uint16_t)TSW_OUT_BUF);   /* what the pipeline sends at most */
	for (uint16_t off = 0; off < n; off = (uint16_t)(off + TSW_BURST))
		taken = (uint16_t)(taken + spread_chunk(p, m, worker, pkts + off,
							(uint16_t)RTE_MIN(TSW_BURST, n - off),
							retried, left, &n_left));
	/* every frame was read: the ones not taken go after the taken */
	memcpy(pkts + taken, left, n_left * sizeof(*left));
	return taken;
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

/* The usable queues of a vhost-user port: the guest's enabled RX vrings. */
static bool
follow_guest(struct tsw_txq_port *p)
{
	uint64_t was = p->enabled;
	uint64_t all = p->n_txq >= 64 ? UINT64_MAX : (1ULL << p->n_txq) - 1;
	bool tso;

	p->enabled = __atomic_load_n(&p->vh->tx_on, __ATOMIC_ACQUIRE) & all;
	tso = p->enabled != 0 && __atomic_load_n(&p->vh->guest_tso, __ATOMIC_RELAXED);
	if (p->enabled == was && tso == p->guest_tso)
		return false;
	p->guest_tso = tso;
	return true;
}

int
tsw_txq_port_set(struct tsw_txq *t, uint16_t out, uint16_t eth_port, uint16_t n_txq)
{
	struct tsw_txq_port *p;

	if (out >= TSW_N_OUTS || n_txq == 0)
		return -EINVAL;
	p = &t->port[out];
	p->vh = NULL;
	p->eth_port = eth_port;
	p->n_txq = RTE_MIN(n_txq, (uint16_t)TSW_MAX_WORKERS);
	p->guest_tso = false;
	p->retries = 0;
	/* a NIC's queues are all usable */
	p->enabled = (1ULL << p->n_txq) - 1;
	remap(t, p);
	return p->map != NULL ? 0 : -ENOMEM;
}

int
tsw_txq_vhost_set(struct tsw_txq *t, uint16_t out, struct tsw_vhost *vh, uint16_t retries)
{
	struct tsw_txq_port *p;

	if (out >= TSW_N_OUTS || vh == NULL || vh->n_qp == 0)
		return -EINVAL;
	p = &t->port[out];
	p->vh = vh;
	p->eth_port = UINT16_MAX;
	p->n_txq = RTE_MIN(vh->n_qp, (uint16_t)TSW_MAX_WORKERS);
	p->retries = retries;
	p->enabled = 0;           /* the guest's once it enables them */
	p->guest_tso = false;
	follow_guest(p);          /* what the guest did already */
	remap(t, p);
	return p->map != NULL ? 0 : -ENOMEM;
}

void
tsw_txq_port_unset(struct tsw_txq *t, uint16_t out)
{
	struct tsw_txq_port *p;
	struct tsw_txq_map *old;

	if (out >= TSW_N_OUTS)
		return;
	p = &t->port[out];
	old = __atomic_exchange_n(&p->map, NULL, __ATOMIC_ACQ_REL);
	if (t->qsbr != NULL)
		rte_rcu_qsbr_synchronize(t->qsbr, RTE_QSBR_THRID_INVALID);
	rte_free(old);
	p->vh = NULL;
	p->enabled = 0;
}

unsigned int
tsw_txq_poll(struct tsw_txq *t)
{
	unsigned int changed = 0;

	for (uint16_t i = 0; i < TSW_N_OUTS; i++) {
		struct tsw_txq_port *p = &t->port[i];

		if (p->vh == NULL || p->map == NULL || !tsw_vhost_take_changed(p->vh))
			continue;
		if (follow_guest(p)) {
			remap(t, p);
			changed++;
		}
	}
	return changed;
}

uint64_t
tsw_txq_enabled(const struct tsw_txq *t, uint16_t out)
{
	return out < TSW_N_OUTS ? t->port[out].enabled : 0;
}
