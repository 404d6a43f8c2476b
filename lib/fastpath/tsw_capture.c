/* SPDX-License-Identifier: BSD-3-Clause
 * Capture taps (see tsw_capture.h).
 */
#include <string.h>

#include <rte_malloc.h>

#include "tsw_capture.h"

struct tsw_capture *
tsw_capture_create(const char *name, uint32_t ring_size, uint32_t snaplen, uint64_t limit,
		   int socket)
{
	struct tsw_capture *c = rte_zmalloc_socket(name, sizeof(*c), RTE_CACHE_LINE_SIZE, socket);
	char n[RTE_RING_NAMESIZE];
	/* a copy's data room: the header and the frame up to snaplen (longer
	 * frames chain more mbufs of the pool) */
	uint16_t room = (uint16_t)(RTE_PKTMBUF_HEADROOM + 2048);

	if (c == NULL)
		return NULL;
	c->snaplen = snaplen;
	c->limit = limit;
	snprintf(n, sizeof(n), "%s_r", name);
	c->ring = rte_ring_create(n, ring_size, socket, RING_F_SC_DEQ);
	snprintf(n, sizeof(n), "%s_p", name);
	c->pool = rte_pktmbuf_pool_create(n, ring_size * 2 - 1, 0, 0, room, socket);
	if (c->ring == NULL || c->pool == NULL) {
		tsw_capture_free(c);
		return NULL;
	}
	return c;
}

void
tsw_capture_free(struct tsw_capture *c)
{
	struct rte_mbuf *m;

	if (c == NULL)
		return;
	while (c->ring != NULL && rte_ring_dequeue(c->ring, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(c->ring);
	rte_mempool_free(c->pool);
	rte_free(c);
}

struct tsw_capture *
tsw_taps_set(struct tsw_taps *t, uint16_t out, struct tsw_capture *c)
{
	struct tsw_capture *old;

	if (out >= TSW_N_OUTS)
		return NULL;
	old = __atomic_exchange_n(&t->cap[out], c, __ATOMIC_ACQ_REL);
	if (old != NULL && t->qsbr != NULL)
		rte_rcu_qsbr_synchronize(t->qsbr, RTE_QSBR_THRID_INVALID);
	return old;
}

#define CHUNK 64

static void
copy_chunk(struct tsw_capture *c, struct rte_mbuf *const *pkts, uint16_t n, uint8_t dir,
	   tsw_ns_t now)
{
	struct rte_mbuf *cp[CHUNK];
	unsigned int k = 0, q;
	uint64_t first;
	/* claim n of the frames still to copy, at once for the burst */
	first = __atomic_fetch_add(&c->copied, n, __ATOMIC_RELAXED);
	if (first >= c->limit) {
		__atomic_fetch_sub(&c->copied, n, __ATOMIC_RELAXED);
		return;
	}
	if (first + n > c->limit) {
		__atomic_fetch_sub(&c->copied, first + n - c->limit, __ATOMIC_RELAXED);
		n = (uint16_t)(c->limit - first);
	}
	for (uint16_t i = 0; i < n; i++) {
		uint32_t len = RTE_MIN(pkts[i]->pkt_len, c->snaplen);
		struct rte_mbuf *m = rte_pktmbuf_copy(pkts[i], c->pool, 0, len);
		struct tsw_capture_hdr *h;

		if (m == NULL)
			continue;
		h = (struct tsw_capture_hdr *)rte_pktmbuf_prepend(m, sizeof(*h));
		if (h == NULL) {
			rte_pktmbuf_free(m);
			continue;
		}
		h->ts = now;
		h->wire_len = pkts[i]->pkt_len;
		h->dir = dir;
		memset(h->pad, 0, sizeof(h->pad));
		cp[k++] = m;
	}
	q = k ? rte_ring_mp_enqueue_burst(c->ring, (void **)cp, k, NULL) : 0;
	if (q < k)
		rte_pktmbuf_free_bulk(cp + q, k - q);
	if (q < n)
		__atomic_fetch_add(&c->lost, n - q, __ATOMIC_RELAXED);
}

void
tsw_capture_copy(struct tsw_capture *c, struct rte_mbuf *const *pkts, uint16_t n, uint8_t dir,
		 tsw_ns_t now)
{
	for (uint16_t i = 0; i < n; i += CHUNK)
		copy_chunk(c, pkts + i, (uint16_t)RTE_MIN(CHUNK, n - i), dir, now);
}

unsigned int
tsw_capture_take(struct tsw_capture *c, struct rte_mbuf **m, struct tsw_capture_hdr *h,
		 unsigned int n)
{
	unsigned int got = rte_ring_sc_dequeue_burst(c->ring, (void **)m, n, NULL);

	for (unsigned int i = 0; i < got; i++) {
		memcpy(&h[i], rte_pktmbuf_mtod(m[i], const void *), sizeof(h[i]));
		rte_pktmbuf_adj(m[i], sizeof(h[i]));
	}
	return got;
}
