/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "tsw_offload.h"
#include "workers.h"

/* The dataplane clock at TSC reading tsc. */
static inline tsw_ns_t
ns_at(const struct tsw_workers *ws, uint64_t tsc)
{
	return (tsw_ns_t)((double)(tsc - ws->tsc0) * ws->ns_per_tsc);
}

tsw_ns_t
workers_now_ns(const struct tsw_workers *ws)
{
	return ns_at(ws, rte_rdtsc());
}

/* On the worker's queue of the port, or a shared one (tsw_txq). */
static uint16_t
eth_tx(void *arg, struct tsw_worker *w, uint16_t out, struct rte_mbuf **pkts, uint16_t n)
{
	struct tsw_workers *ws = arg;
	struct tsw_capture *c = __atomic_load_n(&ws->taps.cap[out], __ATOMIC_ACQUIRE);

	if (unlikely(c != NULL))
		tsw_capture_copy(c, pkts, n, 2, workers_now_ns(ws));
	return tsw_txq_send(&ws->txq, out, w->id, pkts, n, &w->cnt->port[out].tx_retries);
}

/* Segments for a guest that takes TSO frames are coalesced (rte_gro). */
static uint16_t
eth_coalesce(void *arg, struct tsw_worker *w, uint16_t out, struct rte_mbuf **pkts, uint16_t n)
{
	struct tsw_workers *ws = arg;

	if (!tsw_txq_guest_tso(&ws->txq, out))
		return n;
	return tsw_offload_gro(pkts, n, &w->cnt->gro_merged);
}

static inline uint16_t
poll_rxq(const struct tsw_rxq *q, struct rte_mbuf **pkts)
{
	return q->vh != NULL ? tsw_vhost_rx(q->vh, q->queue, pkts, TSW_BURST)
			     : rte_eth_rx_burst(q->eth_port, q->queue, pkts, TSW_BURST);
}

static inline void
deliver(struct tsw_workers *ws, struct tsw_worker *w, const struct tsw_rxq *q,
	struct rte_mbuf **pkts, uint16_t n, tsw_ns_t now)
{
	tsw_taps_burst(&ws->taps, q->index, pkts, n, 1, now);
	if (q->index == TSW_OUT_UPLINK)
		tsw_pipeline_uplink_rx(w, pkts, n, now);
	else if (q->index >= TSW_OUT_PHYS0)
		tsw_pipeline_phys_rx(w, (uint16_t)(q->index - TSW_OUT_PHYS0), pkts, n, now);
	else
		tsw_pipeline_vm_rx(w, q->index, pkts, n, now);
}

static int
worker_main(void *arg)
{
	struct tsw_workers *ws = arg;
	unsigned int me = rte_lcore_id();
	struct tsw_dworker *d = NULL;
	struct rte_mbuf *pkts[TSW_BURST];
	uint64_t t_prev = rte_rdtsc(), t_round = t_prev, idle_credit = 0;
	uint64_t idle_period = rte_get_tsc_hz() / 1000000 * ws->idle_poll_us;
	const uint64_t idle_after = rte_get_tsc_hz() / 1000 * TSW_IDLE_AFTER_MS;
	unsigned int idle_rounds = 0;

	for (uint16_t i = 0; i < ws->n; i++)
		if (ws->wk[i].lcore == me)
			d = &ws->wk[i];
	if (d == NULL)
		return -1;
	struct tsw_worker *w = d->w;
	rte_rcu_qsbr_thread_register(ws->qsbr, w->id);
	rte_rcu_qsbr_thread_online(ws->qsbr, w->id);
	while (!ws->quit) {
		struct tsw_rxq_set *set = __atomic_load_n(&d->set, __ATOMIC_ACQUIRE);
		/* one clock read a round: this round starts where the last one's
		 * accounting ended (perf: three back-to-back rdtsc were half of
		 * the loop's own samples; each costs tens of cycles here) */
		uint64_t tsc = t_prev;
		tsw_ns_t now = ns_at(ws, tsc);
		uint32_t got = 0;

		if (set != NULL) {
			/* the hot queues, every round */
			for (uint16_t j = 0; j < set->n_hot;) {
				struct tsw_rxq *q = &set->q[set->hot[j]];
				uint16_t n = poll_rxq(q, pkts);

				if (n == 0) {
					if (idle_period != 0 && tsc - q->busy_tsc > idle_after) {
						q->hot = false;       /* now idle */
						set->hot[j] = set->hot[--set->n_hot];
						continue;
					}
					j++;
					continue;
				}
				q->busy_tsc = tsc;
				j++;
				got += n;
				deliver(ws, w, q, pkts, n, now);
			}
			/* the idle queues' share of the time since the last round:
			 * each about every idle_queue_poll_us, one sweep at most */
			uint16_t n_idle = (uint16_t)(set->n - set->n_hot);
			idle_credit += (tsc - t_round) * n_idle;
			if (idle_credit > idle_period * n_idle)
				idle_credit = idle_period * n_idle;
			for (; n_idle > 0 && idle_credit >= idle_period; idle_credit -= idle_period) {
				struct tsw_rxq *q;
				uint16_t n;

				do {                       /* the next idle one */
					q = &set->q[set->cursor];
					set->cursor = (uint16_t)(set->cursor + 1 == set->n ? 0
											: set->cursor + 1);
				} while (q->hot);
				n = poll_rxq(q, pkts);
				if (n == 0)
					continue;
				q->busy_tsc = tsc;          /* busy again */
				q->hot = true;
				set->hot[set->n_hot++] = (uint16_t)(q - set->q);
				n_idle--;
				got += n;
				deliver(ws, w, q, pkts, n, now);
			}
		}
		t_round = tsc;
		tsw_pipeline_inject(w);       /* the management thread's frames */
		tsw_pipeline_flush(w);
		rte_rcu_qsbr_quiescent(ws->qsbr, w->id);
		/* load accounting, like OVS pmd-stats-show */
		uint64_t t = rte_rdtsc();
		if (got) {
			w->cnt->busy_cycles += t - t_prev;
			w->cnt->pkts += got;
			w->cnt->bursts++;
			idle_rounds = 0;
		} else {
			w->cnt->idle_cycles += t - t_prev;
			/* optional power saving: nap when nothing came for a while */
			if (ws->idle_sleep_us != 0 && ++idle_rounds > 64) {
				uint64_t t2;
				rte_delay_us_sleep(ws->idle_sleep_us);
				t2 = rte_rdtsc();
				w->cnt->idle_cycles += t2 - t;
				t = t2;
			}
		}
		t_prev = t;
	}
	rte_rcu_qsbr_thread_offline(ws->qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(ws->qsbr, w->id);
	return 0;
}

int
workers_create(struct tsw_workers *ws, uint16_t n, const struct tsw_dp *dp,
	       struct rte_rcu_qsbr *qsbr, struct rte_mempool *pool, uint32_t ring_size,
	       uint16_t uplink_port, char *err, size_t errlen)
{
	unsigned int lcore = rte_get_next_lcore(-1, 1, 0);

	memset(ws, 0, sizeof(*ws));
	tsw_txq_init(&ws->txq, n, qsbr);
	ws->taps.qsbr = qsbr;
	ws->qsbr = qsbr;
	ws->dp = dp;
	ws->uplink_port = uplink_port;
	ws->tsc0 = rte_rdtsc();
	ws->ns_per_tsc = 1e9 / (double)rte_get_tsc_hz();
	for (uint16_t i = 0; i < n; i++) {
		struct tsw_dworker *d = &ws->wk[i];
		char name[32];

		snprintf(name, sizeof(name), "tsw_learn%u", i);
		d->ring = tsw_learn_ring_create(name, ring_size, (int)rte_socket_id());
		snprintf(name, sizeof(name), "tsw_punt%u", i);
		d->punt = rte_ring_create(name, 1024, (int)rte_socket_id(),
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (i == 0)
			d->inject = rte_ring_create("tsw_inject", 1024, (int)rte_socket_id(),
						    RING_F_SP_ENQ | RING_F_SC_DEQ);
		d->w = tsw_worker_create(i, dp, d->ring, pool, eth_tx, ws, (int)rte_socket_id());
		d->lcore = lcore;
		ws->n = (uint16_t)(i + 1);
		if (d->ring == NULL || d->punt == NULL || (i == 0 && d->inject == NULL) ||
		    d->w == NULL) {
			snprintf(err, errlen, "cannot allocate worker %u", i);
			return -1;
		}
		d->w->punt_ring = d->punt;
		d->w->inject_ring = d->inject;
		d->w->coalesce = eth_coalesce;
		lcore = rte_get_next_lcore(lcore, 1, 0);
	}
	return 0;
}

bool
workers_inject(void *arg, struct rte_mbuf *m)
{
	struct tsw_workers *ws = arg;

	return ws->n > 0 && rte_ring_sp_enqueue(ws->wk[0].inject, m) == 0;
}

/* Replace worker d's set with set (may be NULL) and free the old one after
 * a grace period. */
static void
publish(struct tsw_workers *ws, struct tsw_dworker *d, struct tsw_rxq_set *set)
{
	struct tsw_rxq_set *old = d->set;

	__atomic_store_n(&d->set, set, __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(ws->qsbr, RTE_QSBR_THRID_INVALID);
	rte_free(old);
}

/* A set for n queues, with room for its hot list (entries to be filled). */
static struct tsw_rxq_set *
set_alloc(uint16_t n)
{
	struct tsw_rxq_set *s = rte_zmalloc("tsw_rxq_set", sizeof(*s) + n * sizeof(s->q[0]) +
					    n * sizeof(uint16_t) + 1, 0);

	if (s != NULL)
		s->hot = (uint16_t *)(void *)&s->q[n];
	return s;
}

/* Every queue of s hot, as a fresh set starts. */
static void
set_all_hot(struct tsw_rxq_set *s)
{
	uint64_t now = rte_rdtsc();

	for (uint16_t i = 0; i < s->n; i++) {
		s->q[i].busy_tsc = now;
		s->q[i].hot = true;
		s->hot[i] = i;
	}
	s->n_hot = s->n;
	s->cursor = 0;
}

/* The worker-independent part of a queue entry. */
static struct tsw_rxq
rxq_copy(const struct tsw_rxq *q)
{
	return (struct tsw_rxq){ .vh = q->vh, .eth_port = q->eth_port, .queue = q->queue,
				 .index = q->index };
}

static uint16_t
set_len(const struct tsw_rxq_set *s)
{
	return s != NULL ? s->n : 0;
}

/* The worker with the fewest queues, add[] more each counted. */
static uint16_t
least_loaded(const struct tsw_workers *ws, const uint16_t *add)
{
	uint16_t best = 0;

	for (uint16_t i = 1; i < ws->n; i++)
		if (set_len(ws->wk[i].set) + add[i] < set_len(ws->wk[best].set) + add[best])
			best = i;
	return best;
}

int
workers_give(struct tsw_workers *ws, struct tsw_vhost *vh, uint16_t eth_port, uint16_t n_rxq,
	     uint16_t index)
{
	struct tsw_rxq_set *set[TSW_MAX_WORKERS] = { NULL };
	uint16_t add[TSW_MAX_WORKERS] = { 0 };

	/* each queue to the worker with the fewest, counting what it gets now */
	for (uint16_t q = 0; q < n_rxq; q++)
		add[least_loaded(ws, add)]++;
	/* every new list first: all or nothing */
	for (uint16_t i = 0; i < ws->n; i++) {
		uint16_t have = set_len(ws->wk[i].set);
		if (add[i] == 0)
			continue;
		set[i] = set_alloc((uint16_t)(have + add[i]));
		if (set[i] == NULL) {
			for (uint16_t j = 0; j < i; j++)
				rte_free(set[j]);
			return -1;
		}
		for (uint16_t j = 0; j < have; j++)
			set[i]->q[j] = rxq_copy(&ws->wk[i].set->q[j]);
		set[i]->n = have;
	}
	memset(add, 0, sizeof(add));
	for (uint16_t q = 0; q < n_rxq; q++) {
		uint16_t best = least_loaded(ws, add);
		add[best]++;
		set[best]->q[set[best]->n++] = (struct tsw_rxq){ .vh = vh, .eth_port = eth_port,
								  .queue = q, .index = index };
	}
	for (uint16_t i = 0; i < ws->n; i++)
		if (set[i] != NULL) {
			set_all_hot(set[i]);
			publish(ws, &ws->wk[i], set[i]);
		}
	return 0;
}

int
workers_take(struct tsw_workers *ws, uint16_t index)
{
	struct tsw_rxq_set *set[TSW_MAX_WORKERS] = { NULL };

	/* allocate every new set first: all or nothing */
	for (uint16_t i = 0; i < ws->n; i++) {
		const struct tsw_rxq_set *cur = ws->wk[i].set;
		uint16_t n = set_len(cur);

		set[i] = set_alloc(n);
		if (set[i] == NULL) {
			for (uint16_t j = 0; j < i; j++)
				rte_free(set[j]);
			return -1;
		}
		for (uint16_t j = 0; j < n; j++)
			if (cur->q[j].index != index)
				set[i]->q[set[i]->n++] = rxq_copy(&cur->q[j]);
	}
	for (uint16_t i = 0; i < ws->n; i++) {
		if (set[i]->n == set_len(ws->wk[i].set)) {
			rte_free(set[i]);      /* nothing of it here */
			continue;
		}
		set_all_hot(set[i]);
		publish(ws, &ws->wk[i], set[i]);
	}
	return 0;
}

int
workers_launch(struct tsw_workers *ws)
{
	for (uint16_t i = 0; i < ws->n; i++)
		if (rte_eal_remote_launch(worker_main, ws, ws->wk[i].lcore) != 0) {
			workers_stop(ws);
			return -1;
		}
	return 0;
}

void
workers_stop(struct tsw_workers *ws)
{
	ws->quit = true;
	rte_eal_mp_wait_lcore();
}

void
workers_free(struct tsw_workers *ws)
{
	for (uint16_t i = 0; i < ws->n; i++) {
		tsw_worker_free(ws->wk[i].w);
		rte_ring_free(ws->wk[i].ring);
		tsw_pipeline_ring_drain(ws->wk[i].punt);
		tsw_pipeline_ring_drain(ws->wk[i].inject);
		rte_ring_free(ws->wk[i].punt);
		rte_ring_free(ws->wk[i].inject);
		rte_free(ws->wk[i].set);
		ws->wk[i] = (struct tsw_dworker){ 0 };
	}
	ws->n = 0;
}
