/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw daemon: worker lcores and the RX queues each one polls.
 *
 * Contract: the management thread creates workers, gives them RX queues
 * (workers_give) and takes them back (workers_take) at any time, also
 * while they run: each worker's queue list is an RCU-published array that
 * the worker re-reads every poll round; workers_take returns only after a
 * grace period, so no worker polls, or holds buffered frames for, the
 * queues taken. Queues go to the worker with the fewest; a port's queues
 * are given in one change per worker (one grace period each).
 */
#ifndef TSW_WORKERS_H
#define TSW_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "tsw_dp.h"
#include "tsw_pipeline.h"
#include "tsw_capture.h"
#include "tsw_txq.h"

struct tsw_rxq {
	struct tsw_vhost *vh;  /* a vhost-user port (queue: its queue pair), else NULL */
	uint16_t eth_port;     /* ...or this ethdev */
	uint16_t queue;
	uint16_t index;        /* VM port index, TSW_OUT_UPLINK, TSW_OUT_PHYS0 + i */
	/* the polling worker's own */
	bool hot;              /* in the set's hot list */
	uint64_t busy_tsc;     /* when it last had frames (or joined the set) */
};

/* Busy and idle queues. A queue that had no frame for TSW_IDLE_AFTER_MS
 * leaves the hot list, polled every round, for the idle ones, which share
 * a budget of polls spread over time: each idle queue is polled about
 * every idle_poll_us ([dataplane] idle_queue_poll_us: a first frame after
 * a silence waits that long at most), and the first poll that finds frames
 * makes it hot again. A thousand idle guests then cost the busy ones' core
 * two polls a microsecond (500 us) instead of a thousand every round; a
 * guest that sends now and then (a ping every 50 ms) stays hot. 0: every
 * queue every round. */
#define TSW_IDLE_AFTER_MS 100

struct tsw_rxq_set {
	uint16_t n;
	/* the polling worker's own, fresh in every new set (all hot) */
	uint16_t n_hot;        /* hot[0..n_hot): positions in q[] polled every round */
	uint16_t cursor;       /* the next idle queue's turn */
	uint16_t *hot;         /* n entries, after q[] */
	struct tsw_rxq q[];
};

struct tsw_dworker {
	struct tsw_worker *w;
	struct rte_ring *ring;        /* learn events to the management thread */
	struct rte_ring *punt;        /* slow-path frames to it */
	struct rte_ring *inject;      /* frames from it to the uplink (worker 0) */
	unsigned int lcore;
	struct tsw_rxq_set *set;      /* RCU-published */
};

struct tsw_workers {
	uint16_t n;
	struct rte_rcu_qsbr *qsbr;
	struct tsw_dworker wk[TSW_MAX_WORKERS];
	volatile bool quit;
	uint64_t tsc0;
	double ns_per_tsc;
	uint16_t uplink_port;
	uint32_t idle_sleep_us;       /* after IDLE_ROUNDS empty rounds; 0 = never */
	uint32_t idle_poll_us;        /* an idle queue's poll period; 0 = every round */
	const struct tsw_dp *dp;
	struct tsw_txq txq;           /* each port's TX queue per worker */
	struct tsw_taps taps;         /* captures of outputs (VM ports, uplink) */
};

/* Create n workers on the lcores after the main one, with learn rings of
 * ring_size. Returns 0 or -1 with a reason in err. */
int workers_create(struct tsw_workers *ws, uint16_t n, const struct tsw_dp *dp,
		   struct rte_rcu_qsbr *qsbr, struct rte_mempool *pool, uint32_t ring_size,
		   uint16_t uplink_port, char *err, size_t errlen);
/* The n_rxq RX queues of ethdev eth_port, or the n_rxq queue pairs of the
 * vhost-user port vh (vh != NULL), feeding output index (a VM port index or
 * TSW_OUT_UPLINK), spread over the workers. 0, or -1: out of memory. */
int workers_give(struct tsw_workers *ws, struct tsw_vhost *vh, uint16_t eth_port,
		 uint16_t n_rxq, uint16_t index);
/* Every queue of output index taken back (-1: out of memory). */
int workers_take(struct tsw_workers *ws, uint16_t index);
int workers_launch(struct tsw_workers *ws);
void workers_stop(struct tsw_workers *ws);   /* idempotent; waits for them */
void workers_free(struct tsw_workers *ws);
tsw_ns_t workers_now_ns(const struct tsw_workers *ws);
/* The management thread's uplink transmit (tsw_underlay_tx): through
 * worker 0's inject ring. */
bool workers_inject(void *arg, struct rte_mbuf *m);

#endif
