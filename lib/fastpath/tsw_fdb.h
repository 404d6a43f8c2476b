/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the forwarding database, (network, MAC) -> destination.
 *
 * Contract:
 *  - One writer (the management thread) calls every function that changes
 *    the table; any number of workers call tsw_fdb_lookup_bulk() lock-free
 *    (rte_hash RW_CONCURRENCY_LF). Deleted key slots are reclaimed through
 *    the RCU QSBR variable given at creation, so a worker must report a
 *    quiescent state between bursts and never keep an entry across one.
 *  - An entry is one 64-bit word (kind, destination, last-seen time in ms)
 *    updated atomically in place; workers read it with tsw_fdb_entry_*().
 *  - Learned entries are valid until last_seen + their timeout; a lookup
 *    treats an expired entry as a miss even before tsw_fdb_age() removes it.
 *  - Static entries are never overwritten by learning and never age. A
 *    static entry also remembers what learning found for its MAC (a
 *    "composite" entry, one word all the same): learned on a local port,
 *    that port gets the MAC's frames while the learned part is valid (R-F1:
 *    br-int's MAC table beats br-tun's static entries; a VM that has just
 *    migrated here); learned from a tunnel, the static destination still
 *    governs (R-T1) and the learned part becomes the entry when the static
 *    one is removed (br-tun's learned flow under l2population's). A learned
 *    part ages like a learned entry; ageing takes it off the static entry.
 */
#ifndef TSW_FDB_H
#define TSW_FDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_rcu_qsbr.h>
#include "tsw_keyhash.h"
#include "tsw_types.h"

struct tsw_fdb;

enum tsw_fdb_kind {
	TSW_FDB_NONE = 0,
	TSW_FDB_STATIC = 1,
	TSW_FDB_LOCAL = 2,     /* local-learned, dest is a VM port */
	TSW_FDB_TUNNEL = 3,    /* tunnel-learned, dest is a tunnel */
};

/* Destination: a VM port index or a tunnel (type, index). */
#define TSW_DEST_TUNNEL_BIT  (1u << 15)
#define TSW_DEST_TYPE_BIT    (1u << 14)  /* tunnel type: 0 vxlan, 1 gre */
#define TSW_DEST_INDEX_MASK  0x3fffu

/* Learned behind the network's physical network (R-V3): the network says
 * which one, and its VLAN. A local kind (ages as local learning, counts
 * against the network's MAC limit, not a port's). */
#define TSW_DEST_PHYS        0x2000u

static inline uint16_t tsw_dest_port(uint16_t port) { return port; }
static inline bool tsw_dest_is_phys(uint16_t d) { return d == TSW_DEST_PHYS; }
static inline uint16_t tsw_dest_tunnel(enum tsw_tun_type t, uint16_t idx)
{
	return (uint16_t)(TSW_DEST_TUNNEL_BIT | (t == TSW_TUN_GRE ? TSW_DEST_TYPE_BIT : 0) | idx);
}
static inline bool tsw_dest_is_tunnel(uint16_t d) { return (d & TSW_DEST_TUNNEL_BIT) != 0; }
static inline enum tsw_tun_type tsw_dest_tun_type(uint16_t d)
{
	return (d & TSW_DEST_TYPE_BIT) ? TSW_TUN_GRE : TSW_TUN_VXLAN;
}
static inline uint16_t tsw_dest_index(uint16_t d) { return d & TSW_DEST_INDEX_MASK; }

/* 8 bytes, 8-aligned: hashed (tsw_hash_sig8) and compared as one 64-bit word. */
struct tsw_fdb_key {
	uint16_t net;
	uint8_t mac[RTE_ETHER_ADDR_LEN];
} __attribute__((aligned(8)));

/* Entry word layout: [63:20] last seen ms, [19:18] kind, [15:0] dest. */
typedef uint64_t tsw_fdb_entry_t;

static inline enum tsw_fdb_kind tsw_fdb_entry_kind(tsw_fdb_entry_t e)
{
	return (enum tsw_fdb_kind)((e >> 18) & 3);
}
static inline uint16_t tsw_fdb_entry_dest(tsw_fdb_entry_t e) { return (uint16_t)e; }
static inline uint64_t tsw_fdb_entry_ms(tsw_fdb_entry_t e) { return e >> 20; }
static inline tsw_fdb_entry_t
tsw_fdb_entry_make(enum tsw_fdb_kind k, uint16_t dest, uint64_t ms)
{
	return (ms << 20) | ((uint64_t)k << 18) | dest;
}

/* A composite entry: kind STATIC, bit 17 set, [15:0] the static
 * destination; its learned part: [16] local (1) or tunnel (0), [20] the
 * tunnel type (1: GRE), [32:21] the port or tunnel index, [63:33] when it
 * was last seen, in ms modulo 2^31 (timeouts are at most 10 days). */
#define TSW_FDB_COMPOSITE     (1ULL << 17)
#define TSW_FDB_SEEN_MASK     0x7fffffffULL
#define TSW_FDB_MAX_TIMEOUT_S 864000u
_Static_assert(TSW_MAX_TUNNELS <= 4096 && TSW_MAX_PORTS <= 4096, "12-bit learned index");
_Static_assert(TSW_MAX_PORTS <= TSW_DEST_PHYS, "a port index is not TSW_DEST_PHYS");
_Static_assert(TSW_FDB_MAX_TIMEOUT_S * 1000ULL < (1ULL << 30), "seen time modulo 2^31");

static inline bool tsw_fdb_entry_composite(tsw_fdb_entry_t e)
{
	return (e & TSW_FDB_COMPOSITE) != 0;
}

static inline tsw_fdb_entry_t
tsw_fdb_composite_make(uint16_t static_dest, enum tsw_fdb_kind learned, uint16_t dest,
		       uint64_t seen_ms)
{
	bool local = learned == TSW_FDB_LOCAL;
	uint64_t gre = !local && tsw_dest_tun_type(dest) == TSW_TUN_GRE;

	return (seen_ms & TSW_FDB_SEEN_MASK) << 33 | (uint64_t)(tsw_dest_index(dest) & 0xfff) << 21 |
	       gre << 20 | (uint64_t)TSW_FDB_STATIC << 18 | TSW_FDB_COMPOSITE |
	       (uint64_t)local << 16 | static_dest;
}

/* Ageing parameters in ms; shared by readers (validity) and the writer. */
struct tsw_fdb_timeouts {
	uint64_t local_ms;
	uint64_t tunnel_ms;
};

static inline void
tsw_fdb_key_set(struct tsw_fdb_key *k, uint16_t net, const struct rte_ether_addr *mac)
{
	k->net = net;
	memcpy(k->mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
}

/* The key of (net, the MAC at mac8) as one 64-bit word, the bytes of a
 * struct tsw_fdb_key; mac8 must have 8 readable bytes (a MAC inside an
 * Ethernet header). One load and one store instead of three of each: a key
 * built field by field and read back as a word stalls on store forwarding. */
static inline uint64_t
tsw_fdb_key_word(uint16_t net, const void *mac8)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	uint64_t v;

	memcpy(&v, mac8, sizeof(v));
	return (v << 16) | net;
#else
	struct tsw_fdb_key k;
	uint64_t v;

	tsw_fdb_key_set(&k, net, (const struct rte_ether_addr *)mac8);
	memcpy(&v, &k, sizeof(v));
	return v;
#endif
}

/* The MAC of a key word is a unicast address other than 00:00:00:00:00:00. */
static inline bool
tsw_fdb_key_word_learnable(uint64_t kw)
{
	struct tsw_fdb_key k;

	memcpy(&k, &kw, sizeof(k));
	return (k.mac[0] & 1) == 0 &&
	       (k.mac[0] | k.mac[1] | k.mac[2] | k.mac[3] | k.mac[4] | k.mac[5]) != 0;
}

/* True when e is a present entry that has not expired at now_ms. */
static inline bool
tsw_fdb_entry_valid(tsw_fdb_entry_t e, uint64_t now_ms, const struct tsw_fdb_timeouts *to)
{
	switch (tsw_fdb_entry_kind(e)) {
	case TSW_FDB_STATIC: return true;
	case TSW_FDB_LOCAL: return now_ms - tsw_fdb_entry_ms(e) < to->local_ms;
	case TSW_FDB_TUNNEL: return now_ms - tsw_fdb_entry_ms(e) < to->tunnel_ms;
	default: return false;
	}
}

/* The learned part of a composite entry e as a plain learned entry seen
 * at its time (relative to now_ms); with valid_only, 0 once it expired
 * (to is read only then). */
static inline tsw_fdb_entry_t
tsw_fdb_learned_part(tsw_fdb_entry_t e, uint64_t now_ms, const struct tsw_fdb_timeouts *to,
		     bool valid_only)
{
	bool local = (e >> 16) & 1;
	uint16_t idx = (uint16_t)((e >> 21) & 0xfff);
	uint16_t dest = local ? tsw_dest_port(idx)
			      : tsw_dest_tunnel((e >> 20) & 1 ? TSW_TUN_GRE : TSW_TUN_VXLAN, idx);
	uint64_t age = (now_ms - (e >> 33)) & TSW_FDB_SEEN_MASK;

	if (age > TSW_FDB_SEEN_MASK / 2)
		age = 0;   /* seen by a worker a moment ahead of this clock */
	if (valid_only && age >= (local ? to->local_ms : to->tunnel_ms))
		return 0;
	return tsw_fdb_entry_make(local ? TSW_FDB_LOCAL : TSW_FDB_TUNNEL, dest,
				  now_ms >= age ? now_ms - age : 0);
}

/* Where a frame to the entry's MAC goes: e itself, or for a composite its
 * local learned part while valid (R-F1), else its static destination. */
static inline tsw_fdb_entry_t
tsw_fdb_resolve(tsw_fdb_entry_t e, uint64_t now_ms, const struct tsw_fdb_timeouts *to)
{
	tsw_fdb_entry_t l;

	if (likely(!tsw_fdb_entry_composite(e)))
		return e;
	l = tsw_fdb_learned_part(e, now_ms, to, true);
	if (l != 0 && tsw_fdb_entry_kind(l) == TSW_FDB_LOCAL)
		return l;
	return tsw_fdb_entry_make(TSW_FDB_STATIC, (uint16_t)e, 0);
}

/* Equality of two 8-byte hash keys as one 64-bit word: set on every
 * 8-byte-key rte_hash of tunsw (rte_hash's default for that size is a libc
 * memcmp call, 15 % of the vm->tunnel path's cycles). */
int tsw_key8_cmp(const void *a, const void *b, size_t len);

struct tsw_fdb *tsw_fdb_create(const char *name, uint32_t entries, int socket,
			       struct rte_rcu_qsbr *qsbr, const struct tsw_fdb_timeouts *to);
void tsw_fdb_free(struct tsw_fdb *f);

/* Worker side: look up n (<= 64) keys; out[i] = entry or 0 (miss/expired).
 * A composite entry comes as it is: tsw_fdb_resolve() says where frames to
 * it go. */
void tsw_fdb_lookup_bulk(const struct tsw_fdb *f, const struct tsw_fdb_key **keys,
			 unsigned int n, uint64_t now_ms, tsw_fdb_entry_t *out);

/* Single key lookup, any thread; returns 0 on miss or expiry (a composite
 * entry as it is). */
tsw_fdb_entry_t tsw_fdb_get(const struct tsw_fdb *f, const struct tsw_fdb_key *k,
			    uint64_t now_ms);

const struct tsw_fdb_timeouts *tsw_fdb_timeouts(const struct tsw_fdb *f);

/* ---- writer side (management thread only) ---- */

enum tsw_fdb_learn_result {
	TSW_FDB_LEARN_NEW, TSW_FDB_LEARN_MOVED, TSW_FDB_LEARN_REFRESHED,
	TSW_FDB_LEARN_STATIC, TSW_FDB_LEARN_FULL,
	TSW_FDB_LEARN_LIMIT,   /* not learned: the port's or the network's cap */
};

/* Caps on learned entries (static ones are the controller's and count
 * against the table only): per VM port (local-learned) and per network
 * (local- and tunnel-learned). A MAC that would exceed one is not learned
 * (frames to it keep flooding; an entry it had elsewhere stays), so that
 * one port or one network can never exhaust the table for the others. */
void tsw_fdb_set_limits(struct tsw_fdb *f, uint32_t per_port, uint32_t per_net);
/* Learned entries now (for show and tests). */
uint32_t tsw_fdb_learned_on_port(const struct tsw_fdb *f, uint16_t port);
uint32_t tsw_fdb_learned_in_net(const struct tsw_fdb *f, uint16_t net);

/* Learn (net, mac) at dest as kind LOCAL or TUNNEL, seen at now_ms. On a
 * static entry this sets its learned part: TSW_FDB_LEARN_STATIC when that
 * part is tunnel-learned (the static destination still governs). */
enum tsw_fdb_learn_result tsw_fdb_learn(struct tsw_fdb *f, const struct tsw_fdb_key *k,
					enum tsw_fdb_kind kind, uint16_t dest, uint64_t now_ms);
/* Install or replace a static entry (what was learned for the MAC stays as
 * its learned part). 0, or -ENOSPC. */
int tsw_fdb_add_static(struct tsw_fdb *f, const struct tsw_fdb_key *k, uint16_t dest);
/* Remove an entry; if only_kind != NONE, only when it has that kind. 1 if
 * removed. Removing the static part of a composite entry leaves its
 * learned part as a learned entry. */
int tsw_fdb_del(struct tsw_fdb *f, const struct tsw_fdb_key *k, enum tsw_fdb_kind only_kind);
/* Remove expired learned entries and learned parts, walking at most budget
 * entries on from where the last call stopped (the walk is cut into
 * slices); *swept (may be NULL) is set when the walk reached the table's
 * end (the next call starts over). Returns how many changed. */
unsigned int tsw_fdb_age(struct tsw_fdb *f, uint64_t now_ms, unsigned int budget, bool *swept);
/* Remove up to max learned entries or learned parts (and, with statics,
 * static entries or parts) whose destination is dest; returns how many.
 * Each costs O(1): the table lists its keys by destination. */
unsigned int tsw_fdb_flush_dest(struct tsw_fdb *f, uint16_t dest, bool statics,
				unsigned int max);
/* How many learned entries or parts (with statics: and static entries or
 * parts) have destination dest. */
uint32_t tsw_fdb_dest_count(const struct tsw_fdb *f, uint16_t dest, bool statics);
/* A key of network net (0), or -1 when it has none; and how many it has. */
int tsw_fdb_net_first(const struct tsw_fdb *f, uint16_t net, struct tsw_fdb_key *k);
uint32_t tsw_fdb_net_count(const struct tsw_fdb *f, uint16_t net);
unsigned int tsw_fdb_count(const struct tsw_fdb *f);

/* Iterate: *it starts at 0; returns 0 and fills key/entry, or -1 at end. */
int tsw_fdb_iterate(const struct tsw_fdb *f, uint32_t *it, struct tsw_fdb_key *key,
		    tsw_fdb_entry_t *e);

#endif
