/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests: the connection table of security groups (tsw_ct).
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "tsw_ct.h"

#include "crafted.h"
#include "test_ct.h"

#define N_KEYS 20000

static void
key_n(struct tsw_ct_key *k, uint32_t n, bool reversed, bool *from_b)
{
	uint8_t a[16] = { 10, 1, (uint8_t)(n >> 8), (uint8_t)n };
	uint8_t b[16] = { 10, 2, 0, 1 };

	if (!reversed)
		tsw_ct_key_make(k, 3, false, 6, a, b, (uint16_t)(1024 + n % 50000), 80, from_b);
	else
		tsw_ct_key_make(k, 3, false, 6, b, a, 80, (uint16_t)(1024 + n % 50000), from_b);
}

/* both directions of one connection find one entry: the key is canonical */
static void
test_ct_key_is_canonical(void)
{
	struct tsw_ct_key k1, k2, k3;
	bool b1, b2, b3;
	uint8_t x[16] = { 10, 0, 0, 1 }, y[16] = { 10, 0, 0, 2 };

	key_n(&k1, 7, false, &b1);
	key_n(&k2, 7, true, &b2);
	CU_ASSERT_EQUAL(memcmp(&k1, &k2, sizeof(k1)), 0);
	CU_ASSERT_NOT_EQUAL(b1, b2);
	/* same addresses, ports decide; another zone is another key */
	tsw_ct_key_make(&k1, 3, false, 17, x, x, 5000, 53, &b1);
	tsw_ct_key_make(&k2, 3, false, 17, x, x, 53, 5000, &b2);
	CU_ASSERT_EQUAL(memcmp(&k1, &k2, sizeof(k1)), 0);
	CU_ASSERT_NOT_EQUAL(b1, b2);
	tsw_ct_key_make(&k3, 4, false, 17, x, y, 53, 5000, &b3);
	tsw_ct_key_make(&k2, 3, false, 17, x, y, 53, 5000, &b2);
	CU_ASSERT_NOT_EQUAL(memcmp(&k3, &k2, sizeof(k2)), 0);
	/* its fields, as show_connections reads them: the lower end first */
	{
		static const uint8_t zero[16];
		uint8_t v6a[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 };
		uint8_t v6b[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

		tsw_ct_key_make(&k1, 7, false, 6, y, x, 443, 40000, &b1);
		CU_ASSERT_TRUE(b1);                     /* y > x: the packet's source is b */
		CU_ASSERT_EQUAL(memcmp(k1.a, x, 4), 0);
		CU_ASSERT_EQUAL(memcmp(k1.b, y, 4), 0);
		CU_ASSERT_EQUAL(memcmp(k1.a + 4, zero, 12), 0);
		CU_ASSERT_EQUAL(memcmp(k1.b + 4, zero, 12), 0);
		CU_ASSERT(k1.pa == 40000 && k1.pb == 443 && k1.zone == 7 && k1.proto == 6 &&
			  k1.v6 == 0);
		tsw_ct_key_make(&k1, 9, true, 58, v6b, v6a, 5, 5, &b1);
		CU_ASSERT_FALSE(b1);
		CU_ASSERT_EQUAL(memcmp(k1.a, v6b, 16), 0);
		CU_ASSERT_EQUAL(memcmp(k1.b, v6a, 16), 0);
		CU_ASSERT(k1.pa == 5 && k1.pb == 5 && k1.zone == 9 && k1.proto == 58 && k1.v6 == 1);
	}
}

struct racer {
	struct tsw_ct *ct;
	pthread_barrier_t *start;
	bool reversed;
	unsigned int created, full;
	struct tsw_ct_conn *got[N_KEYS];
};

static void *
race(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->start);
	for (uint32_t n = 0; n < N_KEYS; n++) {
		struct tsw_ct_key k;
		bool from_b;
		enum tsw_ct_made created;
		key_n(&k, n, r->reversed, &from_b);
		r->got[n] = tsw_ct_create_conn(r->ct, &k, TSW_CT_SYN_SENT |
					       (from_b ? TSW_CT_INIT_B : 0), 0, &created);
		if (r->got[n] == NULL)
			r->full++;
		r->created += created == TSW_CT_MADE;
	}
	return NULL;
}

/* Two workers create the same 20 000 connections at the same moment (one
 * from each direction, as a VM port's worker and the uplink's would): one
 * entry each, the same slot for both, exactly one creator each. */
static void
test_ct_two_workers_create_the_same_connections(void)
{
	struct tsw_ct_timeouts to;
	struct tsw_ct *ct;
	pthread_barrier_t start;
	pthread_t th[2];
	struct racer *r = calloc(2, sizeof(*r));
	unsigned int same = 0;

	tsw_ct_default_timeouts(&to);
	ct = tsw_ct_create("uct_race", 2 * N_KEYS, SOCKET_ID_ANY, NULL, &to);
	CU_ASSERT_FATAL(ct != NULL && r != NULL);
	pthread_barrier_init(&start, NULL, 2);
	for (int i = 0; i < 2; i++) {
		r[i].ct = ct;
		r[i].start = &start;
		r[i].reversed = i == 1;
		pthread_create(&th[i], NULL, race, &r[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (uint32_t n = 0; n < N_KEYS; n++)
		same += r[0].got[n] != NULL && r[0].got[n] == r[1].got[n];
	CU_ASSERT_EQUAL(r[0].full + r[1].full, 0);
	CU_ASSERT_EQUAL(same, N_KEYS);
	CU_ASSERT_EQUAL(r[0].created + r[1].created, N_KEYS);
	CU_ASSERT_EQUAL(tsw_ct_count(ct), N_KEYS);
	{
		/* every one found again, from either direction */
		unsigned int found = 0;
		for (uint32_t n = 0; n < N_KEYS; n++) {
			struct tsw_ct_key k;
			bool from_b;
			key_n(&k, n, n & 1, &from_b);
			found += tsw_ct_lookup(ct, &k) == r[0].got[n];
		}
		CU_ASSERT_EQUAL(found, N_KEYS);
	}
	pthread_barrier_destroy(&start);
	free(r);
	tsw_ct_free(ct);
}

/* Idle connections expire by their state's timeout, a slice at a time; a
 * full table refuses new ones and keeps the old. */
static void
test_ct_expiry_in_slices_and_a_full_table(void)
{
	struct tsw_ct_timeouts to;
	struct tsw_ct *ct;
	uint64_t counts[TSW_CT_NSTATES] = { 0 };
	unsigned int gone = 0, made = 0, refused = 0;
	bool swept = false;

	tsw_ct_default_timeouts(&to);
	to.s[TSW_CT_UDP_NEW] = 30;
	ct = tsw_ct_create("uct_exp", 256, SOCKET_ID_ANY, NULL, &to);
	CU_ASSERT_FATAL(ct != NULL);
	for (uint32_t n = 0; n < 1000; n++) {
		struct tsw_ct_key k;
		bool from_b;
		enum tsw_ct_made created;
		struct tsw_ct_conn *c;
		key_n(&k, n, false, &from_b);
		k.proto = 17;
		c = tsw_ct_create_conn(ct, &k, n % 2 ? TSW_CT_UDP_NEW : TSW_CT_ESTABLISHED, 0, &created);
		if (c == NULL) {
			refused++;
			continue;
		}
		made++;
		c->seen_ms = 1000;
	}
	CU_ASSERT(refused > 0 && made <= 256 && made == tsw_ct_count(ct));
	/* at +31 s the UDP ones go, the established stay; 16 entries a call */
	for (int i = 0; i < 1000 && !swept; i++)
		gone += tsw_ct_expire(ct, 1000 + 31000, 16, counts, &swept);
	CU_ASSERT_TRUE(swept);
	CU_ASSERT(gone > 0);
	CU_ASSERT_EQUAL(tsw_ct_count(ct), made - gone);
	CU_ASSERT_EQUAL(counts[TSW_CT_ESTABLISHED], made - gone);
	CU_ASSERT_EQUAL(counts[TSW_CT_UDP_NEW], 0);
	/* their slots serve new connections again */
	{
		struct tsw_ct_key k;
		bool from_b;
		enum tsw_ct_made created;
		key_n(&k, 5000, false, &from_b);
		CU_ASSERT_PTR_NOT_NULL(tsw_ct_create_conn(ct, &k, TSW_CT_SYN_SENT, 0, &created));
		CU_ASSERT_EQUAL(created, TSW_CT_MADE);
	}
	tsw_ct_free(ct);
}

static struct rte_rcu_qsbr *
qsbr_for(unsigned int threads)
{
	size_t sz = rte_rcu_qsbr_get_memsize(threads);
	struct rte_rcu_qsbr *v = rte_zmalloc("uct_qsbr", sz, RTE_CACHE_LINE_SIZE);

	if (v != NULL)
		rte_rcu_qsbr_init(v, threads);
	return v;
}

/* One sweep of the expiry walk over the whole table. */
static unsigned int
sweep(struct tsw_ct *ct, uint64_t now_ms)
{
	bool swept = false;
	unsigned int gone = 0;

	for (int i = 0; i < 1000 && !swept; i++)
		gone += tsw_ct_expire(ct, now_ms, 1u << 20, NULL, &swept);
	return gone;
}

static bool
of_port(const struct tsw_ct_key *k, const struct tsw_ct_conn *c, void *arg)
{
	(void)k;
	return tsw_ct_port_of(c->st) == *(const uint16_t *)arg;
}

/* A port's connections are counted (made by its filter, gone when deleted);
 * with a limit its new connections stop there while its existing ones are
 * still found and another port's are still made; as its connections are
 * flushed or expire its count falls and it makes new ones again; without a
 * limit only the table's size stops it. */
static void
test_ct_per_port_limit(void)
{
	struct tsw_ct_timeouts to;
	struct tsw_ct_conn *c;
	struct tsw_ct_key k;
	struct tsw_ct *ct;
	enum tsw_ct_made made;
	uint16_t three = 3;
	bool from_b;
	unsigned int n;

	tsw_ct_default_timeouts(&to);
	ct = tsw_ct_create("uct_port", 256, SOCKET_ID_ANY, NULL, &to);
	CU_ASSERT_FATAL(ct != NULL);
	CU_ASSERT_EQUAL(tsw_ct_port_limit(ct), 0);
	tsw_ct_set_port_limit(ct, 5);
	CU_ASSERT_EQUAL(tsw_ct_port_limit(ct), 5);
	for (n = 0; n < 8; n++) {
		key_n(&k, n, false, &from_b);
		c = tsw_ct_create_conn(ct, &k, TSW_CT_UDP_NEW | tsw_ct_st_port(3), 1000, &made);
		CU_ASSERT_EQUAL(c != NULL, n < 5);
		CU_ASSERT_EQUAL(made, n < 5 ? TSW_CT_MADE : TSW_CT_PORT_FULL);
	}
	CU_ASSERT_EQUAL(tsw_ct_port_count(ct, 3), 5);
	key_n(&k, 0, false, &from_b);                      /* its own: still there */
	CU_ASSERT_PTR_NOT_NULL(tsw_ct_create_conn(ct, &k, TSW_CT_UDP_NEW | tsw_ct_st_port(3),
						  1000, &made));
	CU_ASSERT_EQUAL(made, TSW_CT_FOUND);
	key_n(&k, 100, false, &from_b);                    /* another port's */
	c = tsw_ct_create_conn(ct, &k, TSW_CT_UDP_NEW | tsw_ct_st_port(7), 1000, &made);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(made, TSW_CT_MADE);
	CU_ASSERT_EQUAL(tsw_ct_port_of(c->st), 7);
	CU_ASSERT_EQUAL(c->st & 0xff, TSW_CT_UDP_NEW);
	CU_ASSERT_EQUAL(tsw_ct_port_count(ct, 7), 1);
	CU_ASSERT_EQUAL(tsw_ct_count(ct), 6);

	/* flushed: its count falls, it makes new ones again */
	CU_ASSERT_EQUAL(tsw_ct_flush(ct, of_port, &three), 5);
	CU_ASSERT_EQUAL(tsw_ct_port_count(ct, 3), 0);
	CU_ASSERT_EQUAL(tsw_ct_port_count(ct, 7), 1);
	for (n = 0; n < 5; n++) {
		key_n(&k, 200 + n, false, &from_b);
		CU_ASSERT_PTR_NOT_NULL(tsw_ct_create_conn(ct, &k, TSW_CT_UDP_NEW | tsw_ct_st_port(3),
							  1000, &made));
	}
	CU_ASSERT_EQUAL(tsw_ct_port_count(ct, 3), 5);
	/* expired (UDP one way: 30 s): the same */
	CU_ASSERT_EQUAL(sweep(ct, 1000 + 31000), 6);
	CU_ASSERT_EQUAL(tsw_ct_port_count(ct, 3), 0);
	CU_ASSERT_EQUAL(tsw_ct_port_count(ct, 7), 0);

	/* no limit: the table's size alone */
	tsw_ct_set_port_limit(ct, 0);
	for (n = 0; n < 1000; n++) {
		key_n(&k, 1000 + n, false, &from_b);
		if (tsw_ct_create_conn(ct, &k, TSW_CT_UDP_NEW | tsw_ct_st_port(3), 40000,
				       &made) == NULL)
			break;
	}
	CU_ASSERT_EQUAL(made, TSW_CT_TABLE_FULL);
	CU_ASSERT_EQUAL(tsw_ct_port_count(ct, 3), n);
	CU_ASSERT_EQUAL(tsw_ct_count(ct), n);
	tsw_ct_free(ct);
}

/* A deleted connection's slot is not reused while a worker may still hold
 * it (no quiescent state since the deletion): the same key made again
 * goes elsewhere and the held one keeps its key; after a grace period the
 * slots are reusable, and the walk empties them again (probes end early). */
static void
test_ct_deleted_slots_wait_for_a_grace_period(void)
{
	struct rte_rcu_qsbr *v = qsbr_for(1);
	struct tsw_ct_timeouts to;
	struct tsw_ct_slot_use u;
	struct tsw_ct_conn *held = NULL, *again;
	struct tsw_ct_key k0;
	struct tsw_ct *ct;
	bool from_b;
	enum tsw_ct_made created;

	CU_ASSERT_FATAL(v != NULL);
	rte_rcu_qsbr_thread_register(v, 0);
	rte_rcu_qsbr_thread_online(v, 0);
	tsw_ct_default_timeouts(&to);
	ct = tsw_ct_create("uct_grace", 64, SOCKET_ID_ANY, v, &to);
	CU_ASSERT_FATAL(ct != NULL);
	for (uint32_t n = 0; n < 64; n++) {
		struct tsw_ct_key k;
		struct tsw_ct_conn *c;
		key_n(&k, n, false, &from_b);
		c = tsw_ct_create_conn(ct, &k, TSW_CT_UDP_NEW, 0, &created);
		CU_ASSERT_FATAL(c != NULL && created == TSW_CT_MADE);
		c->seen_ms = 1000;
		if (n == 0) {
			held = c;
			k0 = k;
		}
	}
	/* the same key finds its connection; a 65th is refused */
	CU_ASSERT_PTR_EQUAL(tsw_ct_create_conn(ct, &k0, TSW_CT_UDP_NEW, 0, &created), held);
	CU_ASSERT_EQUAL(created, TSW_CT_FOUND);
	{
		struct tsw_ct_key k;
		key_n(&k, 64, false, &from_b);
		CU_ASSERT_PTR_NULL(tsw_ct_create_conn(ct, &k, TSW_CT_UDP_NEW, 0, &created));
	}
	CU_ASSERT_EQUAL(sweep(ct, 1000 + 31000), 64);
	CU_ASSERT_EQUAL(tsw_ct_count(ct), 0);
	CU_ASSERT_PTR_NULL(tsw_ct_lookup(ct, &k0));
	/* the held one: deleted, its key and state intact */
	CU_ASSERT_EQUAL(memcmp(&held->key, &k0, sizeof(k0)), 0);
	CU_ASSERT_EQUAL(held->st & 0xff, TSW_CT_UDP_NEW);
	again = tsw_ct_create_conn(ct, &k0, TSW_CT_SYN_SENT, 40000, &created);
	CU_ASSERT_EQUAL(created, TSW_CT_MADE);
	CU_ASSERT_FATAL(again != NULL && again != held);
	CU_ASSERT_EQUAL(tsw_ct_idle_ms(again, 40000), 0);     /* born with its time */
	for (int i = 0; i < 3; i++)
		sweep(ct, 40000);
	tsw_ct_slot_use(ct, &u);
	CU_ASSERT_EQUAL(u.live, 1);
	CU_ASSERT_EQUAL(u.deleted, 64);          /* no quiescent state yet */
	CU_ASSERT_EQUAL(memcmp(&held->key, &k0, sizeof(k0)), 0);

	/* the worker passes a quiescent state: reusable, then empty */
	for (int i = 0; i < 4; i++) {
		rte_rcu_qsbr_quiescent(v, 0);
		sweep(ct, 40000);
	}
	tsw_ct_slot_use(ct, &u);
	CU_ASSERT_EQUAL(u.live, 1);
	CU_ASSERT_EQUAL(u.deleted, 0);
	CU_ASSERT_EQUAL(u.live + u.reusable + u.empty, 128);
	CU_ASSERT(u.empty >= 64);
	/* the last one goes too: every slot empty again */
	CU_ASSERT_EQUAL(sweep(ct, 40000 + 121000), 1);
	for (int i = 0; i < 4; i++) {
		rte_rcu_qsbr_quiescent(v, 0);
		sweep(ct, 40000 + 121000);
	}
	tsw_ct_slot_use(ct, &u);
	CU_ASSERT_EQUAL(u.empty, 128);
	CU_ASSERT_EQUAL(tsw_ct_count(ct), 0);
	/* flushed: reusable at once by tsw_ct_reclaim() when the worker has
	 * been quiescent since, not before */
	for (uint32_t n = 0; n < 10; n++) {
		struct tsw_ct_key k;
		key_n(&k, 100 + n, false, &from_b);
		CU_ASSERT_PTR_NOT_NULL(tsw_ct_create_conn(ct, &k, TSW_CT_UDP_NEW, 0, &created));
	}
	CU_ASSERT_EQUAL(tsw_ct_flush(ct, NULL, NULL), 10);
	tsw_ct_reclaim(ct);
	tsw_ct_slot_use(ct, &u);
	CU_ASSERT_EQUAL(u.deleted, 10);
	rte_rcu_qsbr_quiescent(v, 0);
	tsw_ct_reclaim(ct);
	tsw_ct_slot_use(ct, &u);
	CU_ASSERT_EQUAL(u.deleted, 0);
	CU_ASSERT_EQUAL(u.empty, 128);
	tsw_ct_free(ct);
	rte_rcu_qsbr_thread_offline(v, 0);
	rte_rcu_qsbr_thread_unregister(v, 0);
	rte_free(v);
}

struct churn_reader {
	struct tsw_ct *ct;
	struct rte_rcu_qsbr *v;
	volatile bool stop;
	uint64_t found, rounds, torn;    /* rounds: atomic */
};

/* Let the calling thread run on every CPU (EAL pinned the test's main
 * thread, and the threads it makes, to one); *old: what it had. */
static void
any_cpu(cpu_set_t *old)
{
	cpu_set_t all;

	if (old != NULL)
		pthread_getaffinity_np(pthread_self(), sizeof(*old), old);
	CPU_ZERO(&all);
	for (int i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &all);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
}

static void *
churn_read(void *arg)
{
	struct churn_reader *r = arg;

	any_cpu(NULL);

	rte_rcu_qsbr_thread_register(r->v, 0);
	rte_rcu_qsbr_thread_online(r->v, 0);
	while (!r->stop) {
		/* a burst: look up, hold, read the held ones again at its end */
		struct tsw_ct_conn *held[32];
		struct tsw_ct_key k[32];
		for (uint32_t n = 0; n < 32; n++) {
			bool from_b;
			key_n(&k[n], (uint32_t)(r->rounds * 7 + n) % 1024, false, &from_b);
			k[n].proto = 17;
			held[n] = tsw_ct_lookup(r->ct, &k[n]);
		}
		for (volatile int spin = 0; spin < 200; spin++)
			;
		for (uint32_t n = 0; n < 32; n++) {
			if (held[n] == NULL)
				continue;
			r->found++;
			r->torn += memcmp(&held[n]->key, &k[n], sizeof(k[n])) != 0;
		}
		rte_rcu_qsbr_quiescent(r->v, 0);
		__atomic_store_n(&r->rounds, r->rounds + 1, __ATOMIC_RELEASE);
	}
	rte_rcu_qsbr_thread_offline(r->v, 0);
	rte_rcu_qsbr_thread_unregister(r->v, 0);
	return NULL;
}

/* A worker holds connections within its burst while the writer deletes
 * them and workers make new ones in their slots, thousands of times: a
 * held connection never changes its key under the worker (slots are
 * reused only after a grace period). */
static void
test_ct_held_connections_survive_churn(void)
{
	struct churn_reader r = { .v = qsbr_for(1) };
	struct tsw_ct_timeouts to;
	struct tsw_ct_slot_use u;
	pthread_t th;
	uint64_t made = 0;
	cpu_set_t pinned;

	CU_ASSERT_FATAL(r.v != NULL);
	any_cpu(&pinned);
	tsw_ct_default_timeouts(&to);
	r.ct = tsw_ct_create("uct_churn", 256, SOCKET_ID_ANY, r.v, &to);
	CU_ASSERT_FATAL(r.ct != NULL);
	pthread_create(&th, NULL, churn_read, &r);
	for (uint64_t cycle = 0; cycle < 3000; cycle++) {
		uint64_t now = 1000 + cycle * 100000;
		uint64_t rounds = __atomic_load_n(&r.rounds, __ATOMIC_RELAXED);
		for (uint32_t n = 0; n < 256; n++) {
			struct tsw_ct_key k;
			struct tsw_ct_conn *c;
			bool from_b;
			enum tsw_ct_made created;
			/* other keys each cycle, in slots freed by earlier ones */
			key_n(&k, (uint32_t)(cycle % 4) * 256 + n, false, &from_b);
			k.proto = 17;
			c = tsw_ct_create_conn(r.ct, &k, TSW_CT_UDP_NEW, now, &created);
			made += c != NULL && created == TSW_CT_MADE;
		}
		/* the reader goes on meanwhile (its bursts end in quiescent
		 * states: the slots deleted before become reusable) */
		while (__atomic_load_n(&r.rounds, __ATOMIC_RELAXED) < rounds + 2)
			sched_yield();         /* a machine of one CPU */
		sweep(r.ct, now + 31000);      /* every one idle past udp_timeout */
	}
	r.stop = true;
	pthread_join(th, NULL);
	pthread_setaffinity_np(pthread_self(), sizeof(pinned), &pinned);
	tsw_ct_slot_use(r.ct, &u);
	printf("\n  churn: %" PRIu64 " made, %" PRIu64 " found by the reader in %" PRIu64
	       " bursts, %" PRIu64 " changed under it\n", made, r.found, r.rounds, r.torn);
	CU_ASSERT(made > 2 * 512);               /* slots were reused many times */
	CU_ASSERT(r.found > 0);
	CU_ASSERT_EQUAL(r.torn, 0);
	CU_ASSERT_EQUAL(u.live, 0);
	tsw_ct_free(r.ct);
	rte_free(r.v);
}

/* A connection's time: a packet stores it only when the stored one is
 * TSW_CT_TOUCH_MS old (no write to the line per packet), expiry allows that
 * lag, a time stored by a worker after the walk read its clock is not an
 * idle of 49 days, and a connection idle longer than 2^31 ms (a timeout up
 * to 30 days) is still refreshed by its next packet. */
static void
test_ct_seen_time(void)
{
	struct tsw_ct_timeouts to;
	struct tsw_ct *ct;
	struct tsw_ct_key k;
	struct tsw_ct_conn *c;
	enum tsw_ct_made made;
	bool from_b;
	const uint64_t day = 86400000;

	tsw_ct_default_timeouts(&to);
	to.s[TSW_CT_UDP_NEW] = 30;
	to.s[TSW_CT_ESTABLISHED] = 2592000;      /* 30 days, the configured maximum */
	ct = tsw_ct_create("uct_seen", 64, SOCKET_ID_ANY, NULL, &to);
	CU_ASSERT_FATAL(ct != NULL);
	key_n(&k, 1, false, &from_b);
	k.proto = 17;
	c = tsw_ct_create_conn(ct, &k, TSW_CT_UDP_NEW, 1000, &made);
	CU_ASSERT_FATAL(c != NULL && made == TSW_CT_MADE);
	CU_ASSERT_EQUAL(c->seen_ms, 1000);
	tsw_ct_touch(c, 1000 + TSW_CT_TOUCH_MS - 1);     /* not yet: unchanged */
	CU_ASSERT_EQUAL(c->seen_ms, 1000);
	CU_ASSERT_EQUAL(tsw_ct_idle_ms(c, 1000 + TSW_CT_TOUCH_MS - 1), TSW_CT_TOUCH_MS - 1);
	tsw_ct_touch(c, 1000 + TSW_CT_TOUCH_MS);
	CU_ASSERT_EQUAL(c->seen_ms, 1000 + TSW_CT_TOUCH_MS);

	/* a worker's packet after the walk read its clock: seen 5 ms ahead */
	c->seen_ms = 5000;
	CU_ASSERT_EQUAL(tsw_ct_idle_ms(c, 4995), 0);
	tsw_ct_touch(c, 4995);                           /* an older clock leaves it */
	CU_ASSERT_EQUAL(c->seen_ms, 5000);
	CU_ASSERT_EQUAL(sweep(ct, 4995), 0);
	CU_ASSERT_EQUAL(tsw_ct_count(ct), 1);
	/* expiry: the timeout plus the touch lag */
	CU_ASSERT_EQUAL(sweep(ct, 5000 + 30000 + TSW_CT_TOUCH_MS - 1), 0);
	CU_ASSERT_EQUAL(tsw_ct_count(ct), 1);
	CU_ASSERT_EQUAL(sweep(ct, 5000 + 30000 + TSW_CT_TOUCH_MS), 1);
	CU_ASSERT_EQUAL(tsw_ct_count(ct), 0);

	/* 25 days idle under a 30-day timeout: the next packet refreshes it */
	key_n(&k, 2, false, &from_b);
	c = tsw_ct_create_conn(ct, &k, TSW_CT_ESTABLISHED, 1000, &made);
	CU_ASSERT_FATAL(c != NULL && made == TSW_CT_MADE);
	CU_ASSERT_EQUAL(tsw_ct_idle_ms(c, 1000 + 25 * day), 25 * day);
	CU_ASSERT_EQUAL(sweep(ct, 1000 + 25 * day), 0);
	tsw_ct_touch(c, 1000 + 25 * day);
	CU_ASSERT_EQUAL(c->seen_ms, (uint32_t)(1000 + 25 * day));
	CU_ASSERT_EQUAL(sweep(ct, 1000 + 25 * day + 29 * day), 0);
	CU_ASSERT_EQUAL(sweep(ct, 1000 + 25 * day + 30 * day + TSW_CT_TOUCH_MS), 1);
	tsw_ct_free(ct);
}

/* Keys a VM could send that all hash to one slot under a plain CRC (it is
 * linear: the keys' port words differ by vectors whose CRC has its top
 * bits zero, found by Gaussian elimination over 32 port bits) land apart
 * with the table's secret: all 2 000 are made and found. On the plain CRC
 * all would share one probe run and all but 128 be refused. */
static void
test_ct_hash_resists_crafted_collisions(void)
{
	enum { ENTRIES = 1 << 16, TOP = 17, N = 2000 };   /* home = sig >> (32 - TOP) */
	const uint64_t w[5] = { 0x0100000a, 0, 0x0200000a, 0, 17ull << 48 | 1ull << 32 };
	uint64_t kern[64], wn[5];
	unsigned int nk, made_n = 0, found = 0, same_home = 0;
	struct tsw_ct_timeouts to;
	struct tsw_ct *ct;
	struct tsw_ct_key k;

	nk = crafted_kernel(w, 5, 4, 0xffffffffu, TOP, kern);
	CU_ASSERT_FATAL(nk >= 11);                     /* 32 unknowns, 17 equations */
	tsw_ct_default_timeouts(&to);
	ct = tsw_ct_create("uct_hash", ENTRIES, SOCKET_ID_ANY, NULL, &to);
	CU_ASSERT_FATAL(ct != NULL);
	for (uint32_t n = 0; n < N; n++) {
		enum tsw_ct_made made;

		crafted_key(w, 5, 4, kern, nk, n, wn);
		same_home += crafted_crc(wn, 5) >> (32 - TOP) == crafted_crc(w, 5) >> (32 - TOP);
		memcpy(&k, wn, sizeof(k));
		made_n += tsw_ct_create_conn(ct, &k, TSW_CT_UDP_NEW, 0, &made) != NULL &&
			  made == TSW_CT_MADE;
	}
	CU_ASSERT_EQUAL(same_home, N);                 /* the attack is real */
	CU_ASSERT_EQUAL(made_n, N);
	for (uint32_t n = 0; n < N; n++) {
		crafted_key(w, 5, 4, kern, nk, n, wn);
		memcpy(&k, wn, sizeof(k));
		found += tsw_ct_lookup(ct, &k) != NULL;
	}
	CU_ASSERT_EQUAL(found, N);
	tsw_ct_free(ct);
}

void
register_ct_tests(void)
{
	CU_pSuite s = CU_add_suite("connection table", NULL, NULL);

	CU_add_test(s, "R-G3 one key for both directions, zones apart", test_ct_key_is_canonical);
	CU_add_test(s, "two workers create the same connections at once: one each",
		    test_ct_two_workers_create_the_same_connections);
	CU_add_test(s, "idle connections expire in slices; a full table refuses new ones",
		    test_ct_expiry_in_slices_and_a_full_table);
	CU_add_test(s, "deleted slots wait for a grace period, then empty again",
		    test_ct_deleted_slots_wait_for_a_grace_period);
	CU_add_test(s, "held connections keep their keys while slots churn",
		    test_ct_held_connections_survive_churn);
	CU_add_test(s, "a port's connections counted; over its limit its new ones refused",
		    test_ct_per_port_limit);
	CU_add_test(s, "R-G3 R-G4 a connection's time: stored per 100 ms, never ahead of the walk",
		    test_ct_seen_time);
	CU_add_test(s, "R-G3 keys crafted to collide under a plain CRC land apart",
		    test_ct_hash_resists_crafted_collisions);
}
