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
 *  - Workers create connections themselves, several at once (rte_hash's
 *    multi-writer add, a lock taken for inserts only), and look them up
 *    lock-free; the two directions of one connection may be handled by two
 *    workers. A connection's slot is the hash key's position; whoever moves
 *    its state word from 0 initializes it, so two workers adding the same
 *    connection at once end with one connection.
 *  - Per packet a worker updates the state word with compare-and-swap and
 *    stores the time it was seen; it never waits.
 *  - Expiry is the table writer's (tsw_ct_expire, a slice at a time):
 *    entries idle past their state's timeout (and revoked ones) are deleted:
 *    gone for lookups at once, their slots cleared and reused after an RCU
 *    grace period (the workers' QSBR variable), so a worker that still
 *    holds one within its burst never writes into a reused slot. When the
 *    table is full, tsw_ct_create() fails: new connections are refused,
 *    established ones go on.
 */
#ifndef TSW_CT_H
#define TSW_CT_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_rcu_qsbr.h>

/* The canonical key (addresses: IPv4 in the first 4 bytes), 48 bytes:
 * rte_hash compares keys of 16, 32, 48... bytes with vector code, other
 * lengths with memcmp(), a call per probe */
struct tsw_ct_key {
	uint8_t a[16], b[16];
	uint16_t pa, pb;          /* ports; ICMP echo: pa = pb = id */
	uint16_t zone;
	uint8_t proto;
	uint8_t v6;
	uint64_t zero;            /* always 0 */
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

/* One end's filter verdict: valid, allowed, the local port, the rule set's
 * generation, as one word (0: no filtered port at this end). */
typedef uint64_t tsw_ct_side_t;
static inline tsw_ct_side_t
tsw_ct_side(uint16_t port, bool allowed, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint64_t)port << 16 | (allowed ? 2u : 0u) | 1u;
}
static inline bool tsw_ct_side_valid(tsw_ct_side_t s) { return s & 1; }
static inline bool tsw_ct_side_allowed(tsw_ct_side_t s) { return (s & 2) != 0; }
static inline uint16_t tsw_ct_side_port(tsw_ct_side_t s) { return (uint16_t)(s >> 16); }
static inline uint32_t tsw_ct_side_gen(tsw_ct_side_t s) { return (uint32_t)(s >> 32); }

/* The state word: state (8 bits), which end started it (bit 8), flags.
 * TSW_CT_INIT: a worker is setting the slot up (not a connection yet). */
#define TSW_CT_INIT      0xffu
#define TSW_CT_INIT_B    (1u << 8)   /* the b end started it */
#define TSW_CT_REVOKED   (1u << 9)   /* cut by a rule change (R-G7) */
#define TSW_CT_SEEN_A    (1u << 10)  /* a packet from the a end */
#define TSW_CT_SEEN_B    (1u << 11)
#define TSW_CT_FIN_INIT  (1u << 12)  /* TCP: a FIN from the initiator */
#define TSW_CT_FIN_RESP  (1u << 13)  /* ...from the other end */

struct tsw_ct_conn {
	uint32_t st;              /* atomic: state | flags */
	uint32_t rule[2];         /* the rule that allowed each side (trace), 0 none */
	uint32_t pad;
	tsw_ct_side_t side[2];    /* atomic: the a and b ends */
	uint64_t seen_ms;         /* last packet */
} __rte_cache_aligned;        /* one cache line each (40 bytes would straddle two) */

struct tsw_ct;

/* entries: the table's size (max_connections); qsbr: the workers' (NULL:
 * no concurrent readers, slots reused at once). */
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
/* Worker: the connections of n keys (n <= TSW_CT_BULK) at once, rte_hash's
 * bulk lookup: the buckets' cache misses overlap. */
#define TSW_CT_BULK 64
void tsw_ct_lookup_bulk(const struct tsw_ct *ct, const struct tsw_ct_key *const *k,
			unsigned int n, struct tsw_ct_conn **out);

/* Worker: the connection of k, created in state st (with flags) when
 * absent; *created tells which. NULL when the table is full. */
struct tsw_ct_conn *tsw_ct_create_conn(struct tsw_ct *ct, const struct tsw_ct_key *k,
				       uint32_t st, bool *created);

/* Writer: delete connections idle past their timeout (and revoked ones),
 * walking at most budget entries from where the last call stopped; returns
 * how many went. counts (may be NULL): the ones that stay, added by state.
 * *swept: the walk reached the end. */
unsigned int tsw_ct_expire(struct tsw_ct *ct, uint64_t now_ms, unsigned int budget,
			   uint64_t *counts, bool *swept);
/* Writer: delete every connection (zone < 0: any) whose key match() accepts;
 * returns how many. */
unsigned int tsw_ct_flush(struct tsw_ct *ct, bool (*match)(const struct tsw_ct_key *,
							   const struct tsw_ct_conn *, void *),
			  void *arg);
uint32_t tsw_ct_count(const struct tsw_ct *ct);
uint32_t tsw_ct_capacity(const struct tsw_ct *ct);
const struct tsw_ct_timeouts *tsw_ct_timeouts(const struct tsw_ct *ct);

/* Iterate (show_connections): *it starts at 0; 0 and the entry, -1 at end. */
int tsw_ct_iterate(const struct tsw_ct *ct, uint32_t *it, const struct tsw_ct_key **k,
		   const struct tsw_ct_conn **c);

#endif
