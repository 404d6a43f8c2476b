/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests: the connection table of security groups (tsw_ct).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "tsw_ct.h"

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

	rte_thread_register();          /* rte_hash's per-lcore slot caches */
	pthread_barrier_wait(r->start);
	for (uint32_t n = 0; n < N_KEYS; n++) {
		struct tsw_ct_key k;
		bool from_b, created;
		key_n(&k, n, r->reversed, &from_b);
		r->got[n] = tsw_ct_create_conn(r->ct, &k, TSW_CT_SYN_SENT |
					       (from_b ? TSW_CT_INIT_B : 0), &created);
		if (r->got[n] == NULL)
			r->full++;
		r->created += created;
	}
	rte_thread_unregister();
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
		bool from_b, created;
		struct tsw_ct_conn *c;
		key_n(&k, n, false, &from_b);
		k.proto = 17;
		c = tsw_ct_create_conn(ct, &k, n % 2 ? TSW_CT_UDP_NEW : TSW_CT_ESTABLISHED, &created);
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
		bool from_b, created;
		key_n(&k, 5000, false, &from_b);
		CU_ASSERT_PTR_NOT_NULL(tsw_ct_create_conn(ct, &k, TSW_CT_SYN_SENT, &created));
		CU_ASSERT_TRUE(created);
	}
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
}
