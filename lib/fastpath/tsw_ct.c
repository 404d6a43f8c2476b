/* SPDX-License-Identifier: BSD-3-Clause
 * The connection table (see tsw_ct.h).
 */
#include <stddef.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_prefetch.h>
#include <rte_malloc.h>
#include <rte_spinlock.h>

#include "tsw_ct.h"
#include "tsw_keyhash.h"
#include "tsw_types.h"

const char *const tsw_ct_state_names[TSW_CT_NSTATES] = {
	"none", "syn_sent", "syn_recv", "established", "fin_wait", "close_wait", "last_ack",
	"time_wait", "close", "udp", "udp_replied", "icmp", "other",
};

#define CT_PORTS (1u << 10)              /* tsw_ct_port_of()'s range */

struct tsw_ct {
	/* read by every lookup: a line of its own */
	struct tsw_ct_conn *slot;       /* n_slots lines */
	uint32_t n_slots;               /* 2 x max */
	uint32_t hash_init;             /* the hash's secret (key_sig) */
	uint64_t hash_mul[5];           /* odd (tsw_mix64) */
	uint32_t max;
	struct tsw_ct_timeouts to;
	/* written by inserting workers */
	rte_spinlock_t lock __rte_cache_aligned;   /* inserts, turning reusable slots empty */
	uint32_t added;                 /* atomic, written under the lock */
	uint32_t port_max;              /* a port's connections at most, 0: no limit */
	uint32_t port_made[CT_PORTS];   /* atomic, written under the lock */
	/* the writer's (the expiry walk, flushes) */
	uint32_t deleted __rte_cache_aligned;      /* atomic, written by the writer alone */
	uint32_t port_gone[CT_PORTS];   /* atomic, written by the writer alone */
	struct rte_rcu_qsbr *qsbr;
	uint32_t expire_it;             /* the walk, downwards: slots left in this sweep */
	uint16_t epoch;                 /* deletions are stamped with it */
	uint16_t token_epoch;           /* the epoch the pending token closes */
	uint16_t reclaim_upto;          /* deletions of this epoch or before are reclaimable */
	bool reclaim_any;               /* reclaim_upto is set */
	bool token_set;
	bool dirty;                     /* deletions in this epoch */
	uint64_t token;                 /* QSBR token taken when token_epoch closed */
};

/* st of a slot deleted by the writer and reusable (after a grace period);
 * 0: never used, the end of a probe */
#define ST_FREE          0xfeu
#define ST_EPOCH_SHIFT   16           /* a deleted slot: the epoch that deleted it */

_Static_assert(sizeof(struct tsw_ct_key) == 40, "40-byte connection keys");
_Static_assert(sizeof(struct tsw_ct_conn) == RTE_CACHE_LINE_SIZE, "a connection is one line");
_Static_assert(TSW_CT_DELETED < (1u << ST_EPOCH_SHIFT), "flags below the epoch");
_Static_assert(TSW_CT_PORT_SHIFT == ST_EPOCH_SHIFT, "a live connection's port where a deleted "
	       "slot's epoch goes");
_Static_assert(TSW_CT_NSTATES < ST_FREE, "state numbers below the slot markers");
_Static_assert(TSW_MAX_PORTS <= 1024, "a side's port has 10 bits");

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

/* Word i of a key (memcpy: the key is bytes and 16-bit fields, never read
 * through another type's pointer). Loaded straight from the key, one word
 * at a time: a copy of the key into an array went through the stack as
 * 16-byte stores read back in 8-byte halves, and a load from the upper
 * half of a wider store waits for it to reach the cache. */
static inline uint64_t
kw(const struct tsw_ct_key *k, unsigned int i)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)k + 8 * i, sizeof(v));
	return v;
}

/* The key's hash, keyed with the table's own secret (tsw_keyhash.h: a CRC
 * alone would let a VM compute addresses and ports whose connections all
 * share one probe run: up to TSW_CT_PROBE lines read for each of their
 * packets, and new connections there refused). */
static inline uint32_t
key_sig(const struct tsw_ct *ct, const struct tsw_ct_key *k)
{
	uint64_t w4 = kw(k, 4);
	uint32_t h;

	if (likely((w4 >> 56) == 0)) {
		/* IPv4: the two addresses are one word's worth (words 1 and
		 * 3 are zero), hashed as one */
		h = rte_hash_crc_8byte(tsw_mix64(kw(k, 0) | kw(k, 2) << 32, ct->hash_mul[0]),
				       ct->hash_init);
		return rte_hash_crc_8byte(tsw_mix64(w4, ct->hash_mul[4]), h);
	}
	h = rte_hash_crc_8byte(tsw_mix64(kw(k, 0), ct->hash_mul[0]), ct->hash_init);
	h = rte_hash_crc_8byte(tsw_mix64(kw(k, 1), ct->hash_mul[1]), h);
	h = rte_hash_crc_8byte(tsw_mix64(kw(k, 2), ct->hash_mul[2]), h);
	h = rte_hash_crc_8byte(tsw_mix64(kw(k, 3), ct->hash_mul[3]), h);
	return rte_hash_crc_8byte(tsw_mix64(w4, ct->hash_mul[4]), h);
}

static inline bool
key_eq(const struct tsw_ct_key *x, const struct tsw_ct_key *y)
{
	return ((kw(x, 0) ^ kw(y, 0)) | (kw(x, 1) ^ kw(y, 1)) | (kw(x, 2) ^ kw(y, 2)) |
		(kw(x, 3) ^ kw(y, 3)) | (kw(x, 4) ^ kw(y, 4))) == 0;
}

/* A connection lookups find: a state, not deleted. */
static inline bool
live(uint32_t st)
{
	return st != 0 && (st & 0xff) < TSW_CT_NSTATES && !(st & TSW_CT_DELETED);
}

/* The key's first slot: its hash scaled to the table (no power of two
 * needed) */
static inline uint32_t
home(const struct tsw_ct *ct, uint32_t sig)
{
	return (uint32_t)(((uint64_t)sig * ct->n_slots) >> 32);
}

static inline uint32_t
next(const struct tsw_ct *ct, uint32_t i)
{
	return i + 1 == ct->n_slots ? 0 : i + 1;
}

struct tsw_ct *
tsw_ct_create(const char *name, uint32_t entries, int socket, struct rte_rcu_qsbr *qsbr,
	      const struct tsw_ct_timeouts *to)
{
	struct tsw_ct *ct;

	if (entries < 64 || entries > (1u << 30))
		return NULL;
	ct = rte_zmalloc_socket(name, sizeof(*ct), RTE_CACHE_LINE_SIZE, socket);
	if (ct == NULL)
		return NULL;
	ct->qsbr = qsbr;
	ct->to = *to;
	ct->max = entries;
	ct->hash_init = (uint32_t)tsw_keyhash_random();
	for (unsigned int i = 0; i < RTE_DIM(ct->hash_mul); i++)
		ct->hash_mul[i] = tsw_keyhash_random() | 1;
	ct->n_slots = 2 * entries;
	rte_spinlock_init(&ct->lock);
	ct->slot = rte_zmalloc_socket(name, (size_t)ct->n_slots * sizeof(*ct->slot),
				      RTE_CACHE_LINE_SIZE, socket);
	if (ct->slot == NULL) {
		tsw_ct_free(ct);
		return NULL;
	}
	return ct;
}

void
tsw_ct_free(struct tsw_ct *ct)
{
	if (ct == NULL)
		return;
	rte_free(ct->slot);
	rte_free(ct);
}

/* The key's last word: the ports, zone, protocol and version as the
 * struct lays them out (little-endian: pa first) */
#if RTE_BYTE_ORDER != RTE_LITTLE_ENDIAN
#error "tsw_ct_key_make() builds the key's words for a little-endian CPU"
#endif
_Static_assert(offsetof(struct tsw_ct_key, pa) == 32 && offsetof(struct tsw_ct_key, pb) == 34 &&
	       offsetof(struct tsw_ct_key, zone) == 36 && offsetof(struct tsw_ct_key, proto) == 38 &&
	       offsetof(struct tsw_ct_key, v6) == 39, "the key's last word");

void
tsw_ct_key_make(struct tsw_ct_key *k, uint16_t zone, bool v6, uint8_t proto,
		const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
		bool *from_b)
{
	/* the key is built in registers and stored as five 64-bit words: its
	 * hash and compare read it back as such, and a load that spans
	 * several narrower stores still in flight waits for them to reach
	 * the cache instead of taking its data from them */
	uint64_t s0, s1 = 0, d0, d1 = 0, w[5];
	bool b;

	if (v6) {
		memcpy(&s0, src, 8);
		memcpy(&s1, src + 8, 8);
		memcpy(&d0, dst, 8);
		memcpy(&d1, dst + 8, 8);
	} else {
		uint32_t s4, d4;
		memcpy(&s4, src, 4);
		memcpy(&d4, dst, 4);
		s0 = s4;
		d0 = d4;
	}
	/* which end is lower: the addresses as big-endian numbers (memcmp's
	 * order, without a call per packet), then the ports */
	{
		uint64_t hs0 = rte_be_to_cpu_64(s0), hd0 = rte_be_to_cpu_64(d0);
		uint64_t hs1 = rte_be_to_cpu_64(s1), hd1 = rte_be_to_cpu_64(d1);
		int c = hs0 != hd0 ? (hs0 > hd0 ? 1 : -1) : hs1 != hd1 ? (hs1 > hd1 ? 1 : -1) : 0;
		b = c > 0 || (c == 0 && sport > dport);
	}
	*from_b = b;
	w[0] = b ? d0 : s0;
	w[1] = b ? d1 : s1;
	w[2] = b ? s0 : d0;
	w[3] = b ? s1 : d1;
	w[4] = (uint64_t)(b ? dport : sport) | (uint64_t)(b ? sport : dport) << 16 |
	       (uint64_t)zone << 32 | (uint64_t)proto << 48 | (uint64_t)(v6 ? 1 : 0) << 56;
	/* word by word (kw() reads them back so) */
	for (unsigned int i = 0; i < 5; i++)
		memcpy((uint8_t *)k + 8 * i, &w[i], sizeof(w[i]));
}

/* Probe from slot i for k: the live connection, or NULL (an empty slot
 * ends the probe; deleted and reusable slots do not). */
static inline struct tsw_ct_conn *
probe(const struct tsw_ct *ct, const struct tsw_ct_key *k, uint32_t i)
{
	for (unsigned int n = 0; n < TSW_CT_PROBE; n++) {
		struct tsw_ct_conn *c = &ct->slot[i];
		uint32_t st = __atomic_load_n(&c->st, __ATOMIC_ACQUIRE);

		if (st == 0)
			return NULL;
		if (live(st) && key_eq(&c->key, k))
			return c;
		i = next(ct, i);
	}
	return NULL;
}

struct tsw_ct_conn *
tsw_ct_lookup(const struct tsw_ct *ct, const struct tsw_ct_key *k)
{
	return probe(ct, k, home(ct, key_sig(ct, k)));
}

uint32_t
tsw_ct_prefetch(const struct tsw_ct *ct, const struct tsw_ct_key *k)
{
	uint32_t at = home(ct, key_sig(ct, k));

	rte_prefetch0(&ct->slot[at]);
	return at;
}

struct tsw_ct_conn *
tsw_ct_lookup_at(const struct tsw_ct *ct, const struct tsw_ct_key *k, uint32_t at)
{
	return probe(ct, k, at < ct->n_slots ? at : home(ct, key_sig(ct, k)));
}

struct tsw_ct_conn *
tsw_ct_create_conn(struct tsw_ct *ct, const struct tsw_ct_key *k, uint32_t st, uint64_t now_ms,
		   enum tsw_ct_made *made)
{
	uint32_t i = home(ct, key_sig(ct, k)), free_at = UINT32_MAX;
	uint16_t port = tsw_ct_port_of(st);
	struct tsw_ct_conn *c;

	*made = TSW_CT_TABLE_FULL;
	rte_spinlock_lock(&ct->lock);
	/* the whole probe again under the lock: another worker may have
	 * made this connection since our lookup */
	for (unsigned int n = 0; n < TSW_CT_PROBE; n++) {
		uint32_t s;

		c = &ct->slot[i];
		s = __atomic_load_n(&c->st, __ATOMIC_ACQUIRE);
		if (s == 0) {
			if (free_at == UINT32_MAX)
				free_at = i;
			break;
		}
		if (s == ST_FREE) {
			if (free_at == UINT32_MAX)
				free_at = i;
		} else if (live(s) && key_eq(&c->key, k)) {
			rte_spinlock_unlock(&ct->lock);
			*made = TSW_CT_FOUND;          /* another worker's, at this moment */
			return c;
		}
		i = next(ct, i);
	}
	if (free_at == UINT32_MAX || tsw_ct_count(ct) >= ct->max) {
		rte_spinlock_unlock(&ct->lock);
		return NULL;                           /* full */
	}
	if (ct->port_max != 0 && tsw_ct_port_count(ct, port) >= ct->port_max) {
		rte_spinlock_unlock(&ct->lock);
		*made = TSW_CT_PORT_FULL;
		return NULL;
	}
	c = &ct->slot[free_at];
	/* no lookup reads a slot that is not live: the key and the rest
	 * first, then the state word publishes them */
	c->key = *k;
	__atomic_store_n(&c->side[0], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->side[1], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->seen_ms, (uint32_t)now_ms, __ATOMIC_RELAXED);
	/* counted before it is published: the writer, who may delete it as
	 * soon as it sees it, then finds it counted (no locked add: the lock
	 * orders the inserts, and a locked instruction would wait for the new
	 * line's stores to reach the cache) */
	__atomic_store_n(&ct->added, ct->added + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&ct->port_made[port], ct->port_made[port] + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&c->st, (st & 0xffffu & ~(uint32_t)TSW_CT_DELETED) | tsw_ct_st_port(port),
			 __ATOMIC_RELEASE);
	rte_spinlock_unlock(&ct->lock);
	*made = TSW_CT_MADE;
	return c;
}

void
tsw_ct_set_port_limit(struct tsw_ct *ct, uint32_t max)
{
	ct->port_max = max;
}

uint32_t
tsw_ct_port_limit(const struct tsw_ct *ct)
{
	return ct->port_max;
}

uint32_t
tsw_ct_port_count(const struct tsw_ct *ct, uint16_t port)
{
	if (port >= CT_PORTS)
		return 0;
	/* gone first, as tsw_ct_count(): every connection counted gone was
	 * counted made before it could be deleted (both wrap alike) */
	uint32_t gone = __atomic_load_n(&ct->port_gone[port], __ATOMIC_ACQUIRE);

	return __atomic_load_n(&ct->port_made[port], __ATOMIC_ACQUIRE) - gone;
}

/* The writer deletes the connection in slot i (if it is one): gone for
 * lookups at once; a worker that holds it within its burst still finds its
 * state. The slot is reusable after a grace period (reclaim()), at once
 * without concurrent readers. */
static bool
del(struct tsw_ct *ct, uint32_t i)
{
	struct tsw_ct_conn *c = &ct->slot[i];
	uint32_t st = __atomic_load_n(&c->st, __ATOMIC_ACQUIRE);

	do {
		if (!live(st))
			return false;
	} while (!__atomic_compare_exchange_n(&c->st, &st,
					      (st & 0xffffu) | TSW_CT_DELETED |
					      (uint32_t)ct->epoch << ST_EPOCH_SHIFT,
					      false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	if (ct->qsbr == NULL)
		__atomic_store_n(&c->st, ST_FREE, __ATOMIC_RELEASE);
	ct->dirty = true;
	/* the port's count drops once the connection is gone for lookups
	 * (its slot comes back later: the table's own count likewise) */
	{
		uint16_t port = tsw_ct_port_of(st);
		__atomic_store_n(&ct->port_gone[port], ct->port_gone[port] + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&ct->deleted, ct->deleted + 1, __ATOMIC_RELAXED);
	return true;
}

/* The writer's grace periods: when the token taken after the deletions of
 * an epoch has passed (every worker has been quiescent since), the slots
 * of that epoch and the ones before are reusable; a new token closes the
 * current epoch when it had deletions. Never waits. */
static void
advance(struct tsw_ct *ct)
{
	if (ct->qsbr == NULL)
		return;
	if (ct->token_set && rte_rcu_qsbr_check(ct->qsbr, ct->token, false) == 1) {
		ct->reclaim_upto = ct->token_epoch;
		ct->reclaim_any = true;
		ct->token_set = false;
	}
	if (!ct->token_set && ct->dirty) {
		ct->token = rte_rcu_qsbr_start(ct->qsbr);
		ct->token_epoch = ct->epoch++;
		ct->token_set = true;
		ct->dirty = false;
	}
}

/* The writer's walk at slot i: a deleted slot whose grace period has
 * passed becomes reusable; a reusable one right before an empty one
 * becomes empty (no probe needs to pass it: the walk goes downwards, so a
 * run of them before an empty slot empties in one sweep). */
static void
reclaim(struct tsw_ct *ct, uint32_t i, uint32_t st)
{
	struct tsw_ct_conn *c = &ct->slot[i];

	if ((st & TSW_CT_DELETED) && st != ST_FREE) {
		uint16_t when = (uint16_t)(st >> ST_EPOCH_SHIFT);
		if (!ct->reclaim_any || (int16_t)(uint16_t)(ct->reclaim_upto - when) < 0)
			return;
		__atomic_store_n(&c->st, ST_FREE, __ATOMIC_RELEASE);
		st = ST_FREE;
	}
	if (st == ST_FREE &&
	    __atomic_load_n(&ct->slot[next(ct, i)].st, __ATOMIC_ACQUIRE) == 0) {
		/* under the insert lock: an insert that chose the empty slot
		 * after this one must not be cut off from its probe */
		rte_spinlock_lock(&ct->lock);
		if (__atomic_load_n(&ct->slot[next(ct, i)].st, __ATOMIC_ACQUIRE) == 0 &&
		    __atomic_load_n(&c->st, __ATOMIC_ACQUIRE) == ST_FREE)
			__atomic_store_n(&c->st, 0, __ATOMIC_RELEASE);
		rte_spinlock_unlock(&ct->lock);
	}
}

unsigned int
tsw_ct_expire(struct tsw_ct *ct, uint64_t now_ms, unsigned int budget, uint64_t *counts,
	      bool *swept)
{
	unsigned int gone = 0;

	advance(ct);
	if (ct->expire_it == 0)
		ct->expire_it = ct->n_slots;          /* a new sweep */
	for (unsigned int seen = 0; seen < budget && ct->expire_it > 0; seen++) {
		uint32_t i = --ct->expire_it;
		struct tsw_ct_conn *c = &ct->slot[i];
		uint32_t st = __atomic_load_n(&c->st, __ATOMIC_ACQUIRE);
		uint32_t s = st & 0xff;

		if (st == 0)
			continue;
		if (!live(st)) {
			reclaim(ct, i, st);
			continue;
		}
		if (!(st & TSW_CT_REVOKED) &&
		    tsw_ct_idle_ms(c, now_ms) < (uint64_t)ct->to.s[s] * 1000 + TSW_CT_TOUCH_MS) {
			if (counts != NULL)
				counts[s]++;
			continue;
		}
		gone += del(ct, i);
	}
	if (swept != NULL)
		*swept = ct->expire_it == 0;
	return gone;
}

unsigned int
tsw_ct_flush(struct tsw_ct *ct, bool (*match)(const struct tsw_ct_key *,
					      const struct tsw_ct_conn *, void *), void *arg)
{
	unsigned int gone = 0;

	for (uint32_t i = 0; i < ct->n_slots; i++) {
		const struct tsw_ct_conn *c = &ct->slot[i];
		if (live(__atomic_load_n(&c->st, __ATOMIC_ACQUIRE)) &&
		    (match == NULL || match(&c->key, c, arg)))
			gone += del(ct, i);
	}
	advance(ct);        /* their grace period starts now */
	return gone;
}

void
tsw_ct_reclaim(struct tsw_ct *ct)
{
	advance(ct);
	for (uint32_t i = ct->n_slots; i-- > 0;) {
		uint32_t st = __atomic_load_n(&ct->slot[i].st, __ATOMIC_ACQUIRE);
		if (st != 0 && !live(st))
			reclaim(ct, i, st);
	}
}

uint32_t
tsw_ct_count(const struct tsw_ct *ct)
{
	/* the writer reads deleted first: a deletion it counts was of an
	 * addition already counted (both wrap alike) */
	uint32_t d = __atomic_load_n(&ct->deleted, __ATOMIC_ACQUIRE);

	return __atomic_load_n(&ct->added, __ATOMIC_ACQUIRE) - d;
}

uint32_t
tsw_ct_capacity(const struct tsw_ct *ct)
{
	return ct->max;
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
	while (*it < ct->n_slots) {
		const struct tsw_ct_conn *s = &ct->slot[(*it)++];
		if (live(__atomic_load_n(&s->st, __ATOMIC_ACQUIRE))) {
			*k = &s->key;
			*c = s;
			return 0;
		}
	}
	return -1;
}

void
tsw_ct_slot_use(const struct tsw_ct *ct, struct tsw_ct_slot_use *u)
{
	memset(u, 0, sizeof(*u));
	for (uint32_t i = 0; i < ct->n_slots; i++) {
		uint32_t st = __atomic_load_n(&ct->slot[i].st, __ATOMIC_ACQUIRE);
		if (st == 0)
			u->empty++;
		else if (st == ST_FREE)
			u->reusable++;
		else if (live(st))
			u->live++;
		else
			u->deleted++;
	}
}
