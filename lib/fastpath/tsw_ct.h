/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the connection table of stateful security groups (R-G3, R-G4,
 * R-G7).
 *
 * A connection is (zone = network, IP version, protocol, the two addresses
 * and ports, or an ICMP echo's id), stored once under a canonical key: the
 * lower (address, port) end first, so a packet of either direction finds it
 * with one lookup and learns from the key which end sent it. Each end may
 * be a local VM port with security groups ("a side"): its port, whether its
 * rules allowed the connection and the generation of the rule set that
 * said so, all in one 64-bit word, so that a worker reads or replaces a
 * side at once.
 *
 * Contract:
 *  - The table is tunsw's own open-addressing table of connections, one
 *    cache line each holding the key and the state together: a lookup of
 *    an established connection reads one line (the line its hash points
 *    at, or the few after it: linear probing at most TSW_CT_PROBE lines;
 *    the table has two slots per connection allowed, so it is at most half
 *    full). The hash is keyed with a secret drawn when the table is made,
 *    so that no sender can choose keys that share one probe run.
 *  - Workers create connections themselves (tsw_ct_create_conn), one at a
 *    time under the table's insert lock (held for the probe and the
 *    slot's stores, never by a lookup), so two workers adding the same
 *    connection at once end with one connection; lookups take no lock
 *    (a slot is published by a release store of its state word after its
 *    key), and the two directions of one connection may be handled by two
 *    workers.
 *  - Per packet a worker updates the state word with compare-and-swap when
 *    the state changes and stores the time it was seen when the stored one
 *    is TSW_CT_TOUCH_MS old (an established connection's line is not
 *    written per packet); it never waits.
 *  - Expiry is the table writer's (tsw_ct_expire, a slice at a time):
 *    entries idle past their state's timeout (and revoked ones) are
 *    deleted: flagged TSW_CT_DELETED (gone for lookups at once, their
 *    state kept for a worker that still holds them within its burst) and
 *    made reusable after an RCU grace period (the workers' QSBR variable).
 *    The walk also turns reusable slots back into empty ones where that
 *    shortens probes. When the table holds max_connections, or a key's
 *    TSW_CT_PROBE lines are all taken, tsw_ct_create_conn() fails: new
 *    connections are refused, established ones go on.
 *  - Each connection remembers the port whose filter made it (in its
 *    state word); the table counts a port's connections (made under the
 *    insert lock, gone by the writer) and, with a per-port limit set,
 *    refuses a port's new connection once it holds that many: one VM
 *    cannot take the table from the others.
 */
#ifndef TSW_CT_H
#define TSW_CT_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_common.h>
#include <rte_rcu_qsbr.h>

/* The canonical key (addresses: IPv4 in the first 4 bytes, the rest 0),
 * 40 bytes: five 64-bit words, compared and hashed as such */
struct tsw_ct_key {
	uint8_t a[16], b[16];
	uint16_t pa, pb;          /* ports; ICMP echo: pa = pb = id */
	uint16_t zone;
	uint8_t proto;
	uint8_t v6;
} __attribute__((aligned(8)));

/* TCP states as Linux's conntrack names them, and the others' */
enum tsw_ct_state {
	TSW_CT_NONE = 0,          /* a free slot */
	TSW_CT_SYN_SENT, TSW_CT_SYN_RECV, TSW_CT_ESTABLISHED, TSW_CT_FIN_WAIT,
	TSW_CT_CLOSE_WAIT, TSW_CT_LAST_ACK, TSW_CT_TIME_WAIT, TSW_CT_CLOSE,
	TSW_CT_UDP_NEW,           /* one direction seen */
	TSW_CT_UDP_REPLIED,       /* both ("stream") */
	TSW_CT_ICMP,
	TSW_CT_OTHER,
	TSW_CT_NSTATES
};

extern const char *const tsw_ct_state_names[TSW_CT_NSTATES];

/* Seconds a connection may stay idle in each state (Linux's defaults). */
struct tsw_ct_timeouts {
	uint32_t s[TSW_CT_NSTATES];
};
void tsw_ct_default_timeouts(struct tsw_ct_timeouts *t);

/* One end's filter verdict: valid (bit 0), allowed (bit 1), the local
 * port (bits 2..11), the rule that allowed it (bits 12..31: the rule
 * set's index + 1, 0 none or beyond 2^20 - 1; trace), the rule set's
 * generation (bits 32..63), as one word (0: no filtered port at this
 * end). */
typedef uint64_t tsw_ct_side_t;
#define TSW_CT_SIDE_RULE_MAX 0xfffffu
static inline tsw_ct_side_t
tsw_ct_side(uint16_t port, bool allowed, uint32_t gen, uint32_t rule)
{
	return (uint64_t)gen << 32 | (uint64_t)(rule <= TSW_CT_SIDE_RULE_MAX ? rule : 0) << 12 |
	       (uint64_t)(port & 0x3ffu) << 2 | (allowed ? 2u : 0u) | 1u;
}
static inline bool tsw_ct_side_valid(tsw_ct_side_t s) { return s & 1; }
static inline bool tsw_ct_side_allowed(tsw_ct_side_t s) { return (s & 2) != 0; }
static inline uint16_t tsw_ct_side_port(tsw_ct_side_t s) { return (uint16_t)((s >> 2) & 0x3ff); }
static inline uint32_t tsw_ct_side_rule(tsw_ct_side_t s) { return (uint32_t)(s >> 12) & 0xfffff; }
static inline uint32_t tsw_ct_side_gen(tsw_ct_side_t s) { return (uint32_t)(s >> 32); }

/* The state word: state (8 bits), which end started it (bit 8), flags.
 * A slot without a live connection is 0 (never used, or emptied again: the
 * end of every probe), reusable (a state byte of TSW_CT_NSTATES or more),
 * or deleted (TSW_CT_DELETED, the epoch that deleted it in bits 16..31).
 * A live connection's bits 16..25 hold the port that made it
 * (tsw_ct_st_port). */
#define TSW_CT_INIT_B    (1u << 8)   /* the b end started it */
#define TSW_CT_REVOKED   (1u << 9)   /* cut by a rule change (R-G7) */
#define TSW_CT_SEEN_A    (1u << 10)  /* a packet from the a end */
#define TSW_CT_SEEN_B    (1u << 11)
#define TSW_CT_FIN_INIT  (1u << 12)  /* TCP: a FIN from the initiator */
#define TSW_CT_FIN_RESP  (1u << 13)  /* ...from the other end */
#define TSW_CT_DELETED   (1u << 14)  /* expired or flushed: no lookup finds it */
#define TSW_CT_PORT_SHIFT 16

/* The state word's bits of the port that makes a connection, and back. */
static inline uint32_t
tsw_ct_st_port(uint16_t port)
{
	return (uint32_t)(port & 0x3ffu) << TSW_CT_PORT_SHIFT;
}
static inline uint16_t
tsw_ct_port_of(uint32_t st)
{
	return (uint16_t)((st >> TSW_CT_PORT_SHIFT) & 0x3ffu);
}

/* One connection: its key and its state in one cache line. */
struct tsw_ct_conn {
	struct tsw_ct_key key;
	uint32_t st;              /* atomic: state | flags */
	uint32_t seen_ms;         /* atomic: the dataplane's ms clock at the last
				   * packet, its low 32 bits (tsw_ct_idle_ms) */
	tsw_ct_side_t side[2];    /* atomic: the a and b ends */
} __rte_cache_aligned;

/* Milliseconds from seen to now_ms on the dataplane's clock, low 32 bits
 * (they wrap every 49 days; timeouts are at most 30 days and expiry walks
 * the table far more often, so a connection is never that old). 0 when
 * seen is after now_ms by up to a minute: a worker stored its clock after
 * the caller read its own (the expiry walk reads it once per slice). */
#define TSW_CT_AHEAD_MS 60000u
static inline uint32_t
tsw_ct_ms_since(uint32_t seen, uint64_t now_ms)
{
	uint32_t d = (uint32_t)now_ms - seen;

	return d > UINT32_MAX - TSW_CT_AHEAD_MS ? 0 : d;
}

/* Milliseconds since c's last packet, to within TSW_CT_TOUCH_MS. */
static inline uint32_t
tsw_ct_idle_ms(const struct tsw_ct_conn *c, uint64_t now_ms)
{
	return tsw_ct_ms_since(__atomic_load_n(&c->seen_ms, __ATOMIC_RELAXED), now_ms);
}
/* A packet stores its time only when the stored one is TSW_CT_TOUCH_MS old
 * or more: an established connection's packets then write nothing to its
 * line (it stays clean, shared by the workers of its two directions, never
 * written back to memory per packet); expiry allows the lag. */
#define TSW_CT_TOUCH_MS 100u
static inline void
tsw_ct_touch(struct tsw_ct_conn *c, uint64_t now_ms)
{
	if (tsw_ct_idle_ms(c, now_ms) >= TSW_CT_TOUCH_MS)
		__atomic_store_n(&c->seen_ms, (uint32_t)now_ms, __ATOMIC_RELAXED);
}

struct tsw_ct;

/* entries: the table's size (max_connections, 64 or more); qsbr: the
 * workers' (NULL: no concurrent readers, slots reused at once). */
struct tsw_ct *tsw_ct_create(const char *name, uint32_t entries, int socket,
			     struct rte_rcu_qsbr *qsbr, const struct tsw_ct_timeouts *to);
void tsw_ct_free(struct tsw_ct *ct);

/* Build the canonical key of a packet from src to dst; *from_b tells
 * whether the packet's source is the key's b end. */
void tsw_ct_key_make(struct tsw_ct_key *k, uint16_t zone, bool v6, uint8_t proto,
		     const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
		     bool *from_b);

/* Worker: the connection of k, or NULL. */
struct tsw_ct_conn *tsw_ct_lookup(const struct tsw_ct *ct, const struct tsw_ct_key *k);
/* Worker: a lookup in two steps, so that the miss of k's line overlaps
 * other work: tsw_ct_prefetch() returns k's first slot with its line
 * on its way to the cache; tsw_ct_lookup_at() later, with that slot,
 * finds what tsw_ct_lookup() would. A slot means something only in the
 * table that gave it (the caller keeps them together). */
uint32_t tsw_ct_prefetch(const struct tsw_ct *ct, const struct tsw_ct_key *k);
struct tsw_ct_conn *tsw_ct_lookup_at(const struct tsw_ct *ct, const struct tsw_ct_key *k,
				     uint32_t at);

/* Worker: the connection of k, created when absent in state st (with
 * flags, and tsw_ct_st_port() of the port whose filter makes it), seen at
 * now_ms (so that the expiry walk never finds it without a time); *made
 * tells which, or why none was made (NULL): the table is full, or the
 * port holds its limit of connections. */
enum tsw_ct_made {
	TSW_CT_FOUND = 0,         /* another worker's, made at this moment */
	TSW_CT_MADE,
	TSW_CT_TABLE_FULL,
	TSW_CT_PORT_FULL,
};
struct tsw_ct_conn *tsw_ct_create_conn(struct tsw_ct *ct, const struct tsw_ct_key *k,
				       uint32_t st, uint64_t now_ms, enum tsw_ct_made *made);

/* The most connections one port may make and hold (0: no limit, the
 * default). Set before workers use the table. */
void tsw_ct_set_port_limit(struct tsw_ct *ct, uint32_t max);
uint32_t tsw_ct_port_limit(const struct tsw_ct *ct);
/* The connections port made that are still in the table. */
uint32_t tsw_ct_port_count(const struct tsw_ct *ct, uint16_t port);


/* Writer: delete connections idle past their timeout (and revoked ones),
 * walking at most budget entries from where the last call stopped; returns
 * how many went. counts (may be NULL): the ones that stay, added by state.
 * *swept: the walk reached the end. */
unsigned int tsw_ct_expire(struct tsw_ct *ct, uint64_t now_ms, unsigned int budget,
			   uint64_t *counts, bool *swept);
/* Writer: delete every connection whose key match() accepts (match NULL:
 * every connection); returns how many. */
unsigned int tsw_ct_flush(struct tsw_ct *ct, bool (*match)(const struct tsw_ct_key *,
							   const struct tsw_ct_conn *, void *),
			  void *arg);
/* Writer: every deleted slot whose grace period has passed (every worker
 * quiescent since its deletion) made reusable now, in one walk of the
 * whole table (tsw_ct_expire does it a slice at a time). Never waits. */
void tsw_ct_reclaim(struct tsw_ct *ct);
uint32_t tsw_ct_count(const struct tsw_ct *ct);
uint32_t tsw_ct_capacity(const struct tsw_ct *ct);
const struct tsw_ct_timeouts *tsw_ct_timeouts(const struct tsw_ct *ct);

/* Iterate (show_connections): *it starts at 0; 0 and the entry, -1 at end. */
int tsw_ct_iterate(const struct tsw_ct *ct, uint32_t *it, const struct tsw_ct_key **k,
		   const struct tsw_ct_conn **c);

/* What the table's slots hold (tests, show_info): connections, deleted
 * ones waiting for their grace period, reusable ones, never used or
 * emptied again. Walks the whole table. */
struct tsw_ct_slot_use {
	uint32_t live, deleted, reusable, empty;
};
void tsw_ct_slot_use(const struct tsw_ct *ct, struct tsw_ct_slot_use *u);

/* Lines a lookup probes at most (and an insert looks at for a free slot). */
#define TSW_CT_PROBE 128

#endif
