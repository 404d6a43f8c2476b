/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: MAC learning events from workers to the table writer.
 *
 * Contract:
 *  - Each worker owns one single-producer/single-consumer rte_ring of
 *    struct tsw_learn_ev and one struct tsw_learn_cache. tsw_learn_post()
 *    never blocks: a full ring is counted and the event is retried by the
 *    next frame from that MAC.
 *  - A MAC whose entry already points to the same destination is re-posted
 *    at most once per TSW_LEARN_REFRESH_MS (per worker), which bounds the
 *    ring load of a steady stream and the ageing precision alike.
 *  - tsw_learn_drain() runs on the writer only; it revalidates every event
 *    against the current tables (a port or tunnel removed since is ignored).
 */
#ifndef TSW_LEARN_H
#define TSW_LEARN_H

#include <stdint.h>
#include <rte_ring.h>
#include "tsw_counters.h"
#include "tsw_dp.h"
#include "tsw_fdb.h"

#define TSW_LEARN_REFRESH_MS 100
#define TSW_LEARN_CACHE_SIZE 1024

struct tsw_learn_ev {
	struct tsw_fdb_key key;   /* 8 bytes */
	uint16_t dest;
	uint8_t kind;             /* TSW_FDB_LOCAL or TSW_FDB_TUNNEL */
	uint8_t pad[5];
	uint64_t seen_ms;         /* dataplane time the frame was seen */
};

struct tsw_learn_cache {
	struct {
		uint64_t key;     /* net | mac, 0 = empty */
		uint64_t ms;
		uint16_t dest;
	} slot[TSW_LEARN_CACHE_SIZE];
};

_Static_assert(sizeof(struct tsw_learn_ev) == 24, "learn event layout");

struct rte_ring *tsw_learn_ring_create(const char *name, unsigned int size, int socket);

/* The cache slot of key word kw (tsw_fdb_key_word()); *tag is what the slot
 * holds for it (never 0: 0 marks an empty slot). */
static inline uint32_t
tsw_learn_slot(uint64_t kw, uint64_t *tag)
{
	*tag = kw | 1ULL << 63;
	return (uint32_t)((*tag * 0x9E3779B97F4A7C15ULL) >> 54) & (TSW_LEARN_CACHE_SIZE - 1);
}

static inline uint64_t
tsw_learn_key_word(const struct tsw_fdb_key *k)
{
	uint64_t kw;

	memcpy(&kw, k, sizeof(kw));
	return kw;
}

/* Worker: the key (word kw) was posted as seen at dest less than
 * TSW_LEARN_REFRESH_MS ago. Then tsw_learn_post() would post nothing
 * whatever its FDB entry is, so the entry need not even be looked up. */
static inline bool
tsw_learn_slot_fresh(const struct tsw_learn_cache *c, uint32_t s, uint64_t tag, uint16_t dest,
		     uint64_t now_ms)
{
	return c->slot[s].key == tag && c->slot[s].dest == dest &&
	       now_ms - c->slot[s].ms < TSW_LEARN_REFRESH_MS;
}

static inline bool
tsw_learn_recent(const struct tsw_learn_cache *c, uint64_t kw, uint16_t dest, uint64_t now_ms)
{
	uint64_t tag;
	uint32_t s = tsw_learn_slot(kw, &tag);

	return tsw_learn_slot_fresh(c, s, tag, dest, now_ms);
}

/* Worker: note that key k was seen at dest; e is its current FDB entry
 * (0 = none). Posts a learn event unless the entry (or, for a static one,
 * what was learned under it) already says so and is fresh, or the cache
 * says it was posted recently. */
static inline void
tsw_learn_post(struct rte_ring *r, struct tsw_learn_cache *c, struct tsw_counters *cnt,
	       const struct tsw_fdb_key *k, tsw_fdb_entry_t e, enum tsw_fdb_kind kind,
	       uint16_t dest, uint64_t now_ms)
{
	struct tsw_learn_ev ev;
	uint64_t kv;
	uint32_t s;

	if (e != 0) {
		/* under a static entry, what learning found for it (R-F1, R-T1) */
		if (tsw_fdb_entry_composite(e))
			e = tsw_fdb_learned_part(e, now_ms, NULL, false);
		else if (tsw_fdb_entry_kind(e) == TSW_FDB_STATIC)
			e = 0;
		if (e != 0 && tsw_fdb_entry_dest(e) == dest && tsw_fdb_entry_kind(e) == kind &&
		    now_ms - tsw_fdb_entry_ms(e) < TSW_LEARN_REFRESH_MS)
			return;
	}
	s = tsw_learn_slot(tsw_learn_key_word(k), &kv);
	if (tsw_learn_slot_fresh(c, s, kv, dest, now_ms)) {
		cnt->learn_coalesced++;
		return;
	}
	ev.key = *k;
	ev.dest = dest;
	ev.kind = (uint8_t)kind;
	memset(ev.pad, 0, sizeof(ev.pad));
	ev.seen_ms = now_ms;
	if (rte_ring_sp_enqueue_elem(r, &ev, sizeof(ev)) != 0) {
		cnt->learn_ring_full++;
		return;
	}
	c->slot[s].key = kv;
	c->slot[s].dest = dest;
	c->slot[s].ms = now_ms;
	cnt->learn_posted++;
}

struct tsw_learn_stats {
	uint64_t applied_new, applied_moved, applied_refresh;
	uint64_t ignored_static, ignored_stale, table_full;
	uint64_t limited;         /* not learned: a port's or network's MAC cap */
};

/* Writer: apply up to max events from r, each at the time it was seen;
 * returns how many. */
unsigned int tsw_learn_drain(struct tsw_dp *dp, struct rte_ring *r, unsigned int max,
			     struct tsw_learn_stats *st);

#endif
