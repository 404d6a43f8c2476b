/* SPDX-License-Identifier: BSD-3-Clause
 * The connection table (see tsw_ct.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash.h>
#include <rte_prefetch.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "tsw_ct.h"

const char *const tsw_ct_state_names[TSW_CT_NSTATES] = {
	"none", "syn_sent", "syn_recv", "established", "fin_wait", "close_wait", "last_ack",
	"time_wait", "close", "udp", "udp_replied", "icmp", "other",
};

struct tsw_ct {
	struct rte_hash *h;
	struct tsw_ct_conn *conn;       /* by key position */
	uint32_t n_pos;
	struct rte_rcu_qsbr *qsbr;
	uint32_t count;                 /* atomic: workers add, the writer deletes */
	uint32_t expire_it;             /* the writer's walk */
	struct tsw_ct_timeouts to;
};

_Static_assert(sizeof(struct tsw_ct_key) == 48, "48-byte connection keys");

void
tsw_ct_default_timeouts(struct tsw_ct_timeouts *t)
{
	/* Linux's nf_conntrack defaults (net.netfilter.nf_conntrack_*_timeout*) */
	static const uint32_t d[TSW_CT_NSTATES] = {
		[TSW_CT_SYN_SENT] = 120, [TSW_CT_SYN_RECV] = 60, [TSW_CT_ESTABLISHED] = 432000,
		[TSW_CT_FIN_WAIT] = 120, [TSW_CT_CLOSE_WAIT] = 60, [TSW_CT_LAST_ACK] = 30,
		[TSW_CT_TIME_WAIT] = 120, [TSW_CT_CLOSE] = 10, [TSW_CT_UDP_NEW] = 30,
		[TSW_CT_UDP_REPLIED] = 120, [TSW_CT_ICMP] = 30, [TSW_CT_OTHER] = 600,
	};
	memcpy(t->s, d, sizeof(d));
}

static inline uint32_t
key_sig(const struct tsw_ct_key *k)
{
	const uint64_t *w = (const uint64_t *)(const void *)k;
	uint32_t h = 0;

	for (int i = 0; i < 5; i++)
		h = rte_hash_crc_8byte(w[i], h);
	return h;
}

/* RCU reclaim of a deleted key: its slot is clean for the next connection
 * (no worker can still hold it: a grace period has passed). */
static void
slot_free(void *p, void *key_data)
{
	struct tsw_ct_conn *c = key_data;

	(void)p;
	if (c != NULL)
		__atomic_store_n(&c->st, TSW_CT_NONE, __ATOMIC_RELEASE);
}

static uint32_t
hash_fn(const void *key, uint32_t len, uint32_t init)
{
	(void)len;
	(void)init;
	return key_sig(key);
}

struct tsw_ct *
tsw_ct_create(const char *name, uint32_t entries, int socket, struct rte_rcu_qsbr *qsbr,
	      const struct tsw_ct_timeouts *to)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = entries,
		.key_len = sizeof(struct tsw_ct_key),
		.hash_func = hash_fn,
		.socket_id = socket,
		/* lock-free lookups; inserts from every worker (under the
		 * hash's writer lock); no extendable buckets: a full bucket
		 * pair is a full table for that connection */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD,
	};
	struct rte_hash_rcu_config rc = { .v = qsbr, .mode = RTE_HASH_QSBR_MODE_DQ,
					  .free_key_data_func = slot_free };
	struct tsw_ct *ct = rte_zmalloc_socket(name, sizeof(*ct), RTE_CACHE_LINE_SIZE, socket);

	if (ct == NULL)
		return NULL;
	ct->qsbr = qsbr;
	ct->to = *to;
	ct->h = rte_hash_create(&hp);
	if (ct->h == NULL)
		goto fail;
	ct->n_pos = (uint32_t)rte_hash_max_key_id(ct->h) + 1;
	ct->conn = rte_zmalloc_socket(name, sizeof(*ct->conn) * ct->n_pos, RTE_CACHE_LINE_SIZE,
				      socket);
	if (ct->conn == NULL || (qsbr != NULL && rte_hash_rcu_qsbr_add(ct->h, &rc) != 0))
		goto fail;
	return ct;
fail:
	tsw_ct_free(ct);
	return NULL;
}

void
tsw_ct_free(struct tsw_ct *ct)
{
	if (ct == NULL)
		return;
	rte_hash_free(ct->h);
	rte_free(ct->conn);
	rte_free(ct);
}

void
tsw_ct_key_make(struct tsw_ct_key *k, uint16_t zone, bool v6, uint8_t proto,
		const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
		bool *from_b)
{
	int c;

	/* which end is lower: the addresses as big-endian numbers (memcmp's
	 * order, without a call per packet) */
	if (v6) {
		uint64_t s0, s1, d0, d1;
		memcpy(&s0, src, 8);
		memcpy(&s1, src + 8, 8);
		memcpy(&d0, dst, 8);
		memcpy(&d1, dst + 8, 8);
		s0 = rte_be_to_cpu_64(s0);
		d0 = rte_be_to_cpu_64(d0);
		s1 = rte_be_to_cpu_64(s1);
		d1 = rte_be_to_cpu_64(d1);
		c = s0 != d0 ? (s0 > d0 ? 1 : -1) : s1 != d1 ? (s1 > d1 ? 1 : -1) : 0;
	} else {
		uint32_t s4, d4;
		memcpy(&s4, src, 4);
		memcpy(&d4, dst, 4);
		s4 = rte_be_to_cpu_32(s4);
		d4 = rte_be_to_cpu_32(d4);
		c = s4 != d4 ? (s4 > d4 ? 1 : -1) : 0;
	}
	memset(k, 0, sizeof(*k));
	*from_b = c > 0 || (c == 0 && sport > dport);
	memcpy(k->a, *from_b ? dst : src, v6 ? 16 : 4);
	memcpy(k->b, *from_b ? src : dst, v6 ? 16 : 4);
	k->pa = *from_b ? dport : sport;
	k->pb = *from_b ? sport : dport;
	k->zone = zone;
	k->proto = proto;
	k->v6 = v6;
}

/* The connection at a key's position, or NULL: a slot being set up by
 * another worker is no connection yet. */
static inline struct tsw_ct_conn *
conn_at(const struct tsw_ct *ct, int32_t pos)
{
	struct tsw_ct_conn *c;
	uint32_t st;

	if (pos < 0)
		return NULL;
	c = &ct->conn[pos];
	st = __atomic_load_n(&c->st, __ATOMIC_ACQUIRE);
	return st != TSW_CT_NONE && (st & 0xff) < TSW_CT_NSTATES ? c : NULL;
}

struct tsw_ct_conn *
tsw_ct_lookup(const struct tsw_ct *ct, const struct tsw_ct_key *k)
{
	return conn_at(ct, rte_hash_lookup_with_hash(ct->h, k, key_sig(k)));
}

void
tsw_ct_lookup_bulk(const struct tsw_ct *ct, const struct tsw_ct_key *const *k, unsigned int n,
		   struct tsw_ct_conn **out)
{
	hash_sig_t sig[TSW_CT_BULK];
	int32_t pos[TSW_CT_BULK];

	if (n == 0)
		return;
	for (unsigned int i = 0; i < n; i++)
		sig[i] = key_sig(k[i]);
	rte_hash_lookup_with_hash_bulk(ct->h, (const void **)(uintptr_t)k, sig, n, pos);
	/* the connections' lines, all in flight before the first is read */
	for (unsigned int i = 0; i < n; i++)
		if (pos[i] >= 0)
			rte_prefetch0(&ct->conn[pos[i]]);
	for (unsigned int i = 0; i < n; i++)
		out[i] = conn_at(ct, pos[i]);
}

struct tsw_ct_conn *
tsw_ct_create_conn(struct tsw_ct *ct, const struct tsw_ct_key *k, uint32_t st, bool *created)
{
	uint32_t sig = key_sig(k);
	int32_t pos = rte_hash_add_key_with_hash(ct->h, k, sig);
	struct tsw_ct_conn *c;
	uint32_t none = TSW_CT_NONE;

	*created = false;
	if (pos < 0)
		return NULL;                   /* full */
	c = &ct->conn[pos];
	/* the slot, for the RCU reclaim of the key once it is deleted */
	rte_hash_add_key_with_hash_data(ct->h, k, sig, c);
	/* the first to claim the slot sets it up; whoever comes second (the
	 * same connection from another worker at the same time) finds it
	 * being set up (TSW_CT_INIT) or set up */
	if (__atomic_compare_exchange_n(&c->st, &none, TSW_CT_INIT, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		c->rule[0] = c->rule[1] = 0;
		__atomic_store_n(&c->side[0], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&c->side[1], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&c->seen_ms, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&c->st, st, __ATOMIC_RELEASE);
		__atomic_add_fetch(&ct->count, 1, __ATOMIC_RELAXED);
		*created = true;
	}
	return c;
}

/* The writer deletes k: gone for lookups at once; its slot is cleared when
 * the key's position is reclaimed, a grace period later (slot_free), or at
 * once without concurrent readers. */
static void
del(struct tsw_ct *ct, const struct tsw_ct_key *k)
{
	int32_t p = rte_hash_del_key_with_hash(ct->h, k, key_sig(k));

	if (p < 0)
		return;
	if (ct->qsbr == NULL) {
		slot_free(NULL, &ct->conn[p]);
		rte_hash_free_key_with_position(ct->h, p);
	}
	__atomic_sub_fetch(&ct->count, 1, __ATOMIC_RELAXED);
}

unsigned int
tsw_ct_expire(struct tsw_ct *ct, uint64_t now_ms, unsigned int budget, uint64_t *counts,
	      bool *swept)
{
	struct tsw_ct_key batch[64];
	unsigned int gone = 0, seen = 0, n;
	const void *key;
	void *data;
	bool end = false;

	while (!end && seen < budget) {
		for (n = 0; n < RTE_DIM(batch) && seen < budget; seen++) {
			int32_t p = rte_hash_iterate(ct->h, &key, &data, &ct->expire_it);
			if (p < 0) {
				end = true;
				break;
			}
			const struct tsw_ct_conn *c = &ct->conn[p];
			uint32_t st = __atomic_load_n(&c->st, __ATOMIC_ACQUIRE);
			uint64_t seen_ms = __atomic_load_n(&c->seen_ms, __ATOMIC_RELAXED);
			uint32_t s = st & 0xff;
			if (st == TSW_CT_NONE || st == TSW_CT_INIT)
				continue;      /* being set up */
			if (!(st & TSW_CT_REVOKED) && s < TSW_CT_NSTATES &&
			    (now_ms < seen_ms || now_ms - seen_ms < (uint64_t)ct->to.s[s] * 1000)) {
				if (counts != NULL)
					counts[s]++;
				continue;
			}
			memcpy(&batch[n++], key, sizeof(batch[0]));
		}
		for (unsigned int i = 0; i < n; i++)
			del(ct, &batch[i]);
		gone += n;
	}
	if (end)
		ct->expire_it = 0;
	if (swept != NULL)
		*swept = end;
	return gone;
}

unsigned int
tsw_ct_flush(struct tsw_ct *ct, bool (*match)(const struct tsw_ct_key *,
					      const struct tsw_ct_conn *, void *), void *arg)
{
	struct tsw_ct_key batch[64];
	unsigned int gone = 0, n;
	uint32_t it = 0;
	const void *key;
	void *data;
	int32_t p = 0;

	/* the walk goes on from where it is: deleting never moves the other
	 * keys of this table (no extendable buckets) */
	while (p >= 0) {
		for (n = 0; n < RTE_DIM(batch);) {
			p = rte_hash_iterate(ct->h, &key, &data, &it);
			if (p < 0)
				break;
			if (!match(key, &ct->conn[p], arg))
				continue;
			memcpy(&batch[n++], key, sizeof(batch[0]));
		}
		for (unsigned int i = 0; i < n; i++)
			del(ct, &batch[i]);
		gone += n;
	}
	return gone;
}

uint32_t
tsw_ct_count(const struct tsw_ct *ct)
{
	return __atomic_load_n(&ct->count, __ATOMIC_RELAXED);
}

uint32_t
tsw_ct_capacity(const struct tsw_ct *ct)
{
	return ct->n_pos - 1;
}

const struct tsw_ct_timeouts *
tsw_ct_timeouts(const struct tsw_ct *ct)
{
	return &ct->to;
}

int
tsw_ct_iterate(const struct tsw_ct *ct, uint32_t *it, const struct tsw_ct_key **k,
	       const struct tsw_ct_conn **c)
{
	const void *key;
	void *data;
	int32_t p;

	do {
		p = rte_hash_iterate(ct->h, &key, &data, it);
		if (p < 0)
			return -1;
	} while ((__atomic_load_n(&ct->conn[p].st, __ATOMIC_ACQUIRE) & 0xff) >= TSW_CT_NSTATES ||
		 __atomic_load_n(&ct->conn[p].st, __ATOMIC_ACQUIRE) == TSW_CT_NONE);
	*k = key;
	*c = &ct->conn[p];
	return 0;
}
