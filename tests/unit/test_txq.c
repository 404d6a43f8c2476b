/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests: TX queues shared by workers (tsw_txq) on net_ring ports.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "test_txq.h"
#include "tsw_txq.h"

extern struct rte_mempool *pool;

/* A started net_ring port with n_tx TX queues, each into its own ring. */
static int
ring_port(const char *name, unsigned int n_tx, unsigned int ring_size, struct rte_ring **tx)
{
	struct rte_eth_conf conf;
	struct rte_ring *rx;
	char rn[32];
	int port;

	memset(&conf, 0, sizeof(conf));
	snprintf(rn, sizeof(rn), "%s_rx", name);
	rx = rte_ring_create(rn, 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	for (unsigned int q = 0; q < n_tx; q++) {
		snprintf(rn, sizeof(rn), "%s_tx%u", name, q);
		tx[q] = rte_ring_create(rn, ring_size, SOCKET_ID_ANY, 0);
	}
	port = rte_eth_from_rings(name, &rx, 1, tx, n_tx, SOCKET_ID_ANY);
	if (port < 0 || rte_eth_dev_configure((uint16_t)port, 1, (uint16_t)n_tx, &conf) < 0 ||
	    rte_eth_rx_queue_setup((uint16_t)port, 0, 64, SOCKET_ID_ANY, NULL, pool) < 0)
		return -1;
	for (unsigned int q = 0; q < n_tx; q++)
		if (rte_eth_tx_queue_setup((uint16_t)port, (uint16_t)q, 64, SOCKET_ID_ANY, NULL) < 0)
			return -1;
	return rte_eth_dev_start((uint16_t)port) < 0 ? -1 : port;
}

static uint16_t
send_one(struct tsw_txq *t, uint16_t out, uint16_t worker, uint64_t *retried)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint16_t n;

	rte_pktmbuf_append(m, 60);
	n = tsw_txq_send(t, out, worker, &m, 1, retried);
	if (n == 0)
		rte_pktmbuf_free(m);
	return n;
}

static void
drain(struct rte_ring *r)
{
	void *m;

	while (rte_ring_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
}

static void
test_shared_and_owned_queues(void)
{
	static struct tsw_txq t;
	struct rte_ring *one[1], *two[2], *small[1];
	int p1 = ring_port("txq1", 1, 64, one), p2 = ring_port("txq2", 2, 64, two);
	int p3 = ring_port("txq3", 1, 4, small);
	uint64_t retried = 0;

	CU_ASSERT_FATAL(p1 >= 0 && p2 >= 0 && p3 >= 0);
	tsw_txq_init(&t, 2, NULL);
	/* one queue, two workers: both on queue 0, locked */
	CU_ASSERT_EQUAL(tsw_txq_port_set(&t, 0, (uint16_t)p1, 1), 0);
	CU_ASSERT_EQUAL(t.port[0].map->q[1], 0);
	CU_ASSERT(t.port[0].map->locked[0] && t.port[0].map->locked[1]);
	CU_ASSERT_EQUAL(send_one(&t, 0, 0, &retried), 1);
	CU_ASSERT_EQUAL(send_one(&t, 0, 1, &retried), 1);
	CU_ASSERT_EQUAL(rte_ring_count(one[0]), 2);
	/* two queues, two workers: one each, lock-free */
	CU_ASSERT_EQUAL(tsw_txq_port_set(&t, 1, (uint16_t)p2, 2), 0);
	CU_ASSERT(!t.port[1].map->locked[0] && !t.port[1].map->locked[1]);
	CU_ASSERT_EQUAL(send_one(&t, 1, 1, &retried), 1);
	CU_ASSERT_EQUAL(rte_ring_count(two[0]), 0);
	CU_ASSERT_EQUAL(rte_ring_count(two[1]), 1);
	/* a full queue that takes nothing more is not retried (no spinning),
	 * also with retries allowed (non-vhost ports never retry anyway) */
	CU_ASSERT_EQUAL(tsw_txq_port_set(&t, 2, (uint16_t)p3, 1), 0);
	CU_ASSERT_EQUAL(t.port[2].retries, 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(send_one(&t, 2, (uint16_t)(i & 1), &retried), 1);
	CU_ASSERT_EQUAL(send_one(&t, 2, 0, &retried), 0);   /* ring of 4 holds 3 */
	CU_ASSERT_EQUAL(retried, 0);
	/* a port being removed takes nothing */
	tsw_txq_port_unset(&t, 0);
	CU_ASSERT_EQUAL(send_one(&t, 0, 0, &retried), 0);
	tsw_txq_port_unset(&t, 1);
	tsw_txq_port_unset(&t, 2);
	drain(one[0]);
	drain(two[0]);
	drain(two[1]);
	drain(small[0]);
	rte_eth_dev_stop((uint16_t)p1);
	rte_eth_dev_stop((uint16_t)p2);
	rte_eth_dev_stop((uint16_t)p3);
}

void
register_txq_tests(void)
{
	CU_pSuite s = CU_add_suite("TX queues shared by workers", NULL, NULL);

	CU_add_test(s, "one queue shared and locked, own queues lock-free, no spinning",
		    test_shared_and_owned_queues);
}
