/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: Neutron's security groups in the fast path (R-G1..R-G9).
 *
 * A filtered port (port security on and its groups given) has a rule set:
 * its groups' rules compiled, per direction and IP version, into DPDK ACL
 * contexts (rte_acl), and the remote groups its rules name (at most
 * TSW_SG_MAX_RGROUPS), whose membership is looked up per new connection in
 * the members table and handed to the ACL as a bitmask field, so that a
 * 1 000-member group is one rule, not 1 000. Rule sets are built off the
 * workers' path, immutable once published (RCU), and carry a generation
 * that is new with every set: a connection remembers, per end, the
 * generation its verdict was taken under, and a packet of a connection
 * whose generation is old is judged again at once (R-G7: revocation from
 * the change on, without a walk of the table).
 *
 * Contract:
 *  - tsw_sg_parse() reads a frame's headers once (chains fine, nothing
 *    changed); tsw_sg_egress() (from a VM port) and tsw_sg_ingress() (to
 *    one) decide with the connection table (tsw_ct) for stateful rule
 *    sets, with the rules alone for stateless ones (R-G8); both return
 *    TSW_DROP_MAX to pass or the drop reason (sg_deny, ct_invalid, ct_full,
 *    ct_revoked), never block, never allocate outside the connection table.
 *  - *why (may be NULL) says what decided: a rule (its index in the rule
 *    set, 1-based), a connection, or an always-allowed kind (R-G2).
 */
#ifndef TSW_SG_H
#define TSW_SG_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_acl.h>
#include <rte_hash.h>
#include <rte_mbuf.h>

#include "tsw_counters.h"
#include "tsw_ct.h"

#define TSW_SG_MAX_GROUPS   4096   /* security groups and address groups */
#define TSW_SG_MAX_RGROUPS  32     /* remote groups one rule set may name */

enum tsw_sg_dir { TSW_SG_INGRESS = 0, TSW_SG_EGRESS = 1 };

/* What one compiled rule came from (trace, show_security_groups). */
struct tsw_sg_ruleref {
	uint16_t group;            /* group index */
	uint16_t rule;             /* the rule's index in its group */
};

struct tsw_sg_ruleset {
	uint32_t gen;              /* new with every rule set ever built */
	bool stateful;
	uint8_t n_rgroups;
	uint16_t rgroups[TSW_SG_MAX_RGROUPS];   /* bit i of the ACL's group field */
	struct rte_acl_ctx *acl[2][2];          /* [direction][IPv6]; NULL: no rule */
	uint32_t n_refs;
	struct tsw_sg_ruleref refs[];           /* ACL userdata - 1 */
};

/* One rule as the rule-set builder takes it (host order). */
struct tsw_sg_rule {
	uint8_t dir;               /* enum tsw_sg_dir */
	bool v6;
	int16_t proto;             /* -1: any */
	uint16_t pmin, pmax;       /* TCP/UDP/SCTP/UDP-Lite destination ports */
	int16_t icmp_type, icmp_code;   /* -1: any (ICMP, ICMPv6) */
	uint8_t remote[16];        /* remote prefix (IPv4: first 4 bytes) */
	uint8_t remote_len;        /* 0: any */
	int16_t rgroup;            /* remote group index, -1: none */
	struct tsw_sg_ruleref ref;
};

/* Build a rule set from n rules (stateful or not) with generation gen;
 * NULL with the reason (more than TSW_SG_MAX_RGROUPS remote groups, out of
 * memory, an ACL error). Runs on any thread (rte_acl_build can take
 * milliseconds: the daemon builds off the management lcore). */
struct tsw_sg_ruleset *tsw_sg_ruleset_build(const struct tsw_sg_rule *rules, uint32_t n,
					    bool stateful, uint32_t gen, int socket,
					    char *why, size_t whylen);
void tsw_sg_ruleset_free(struct tsw_sg_ruleset *rs);

/* Remote-group membership: (group, address) for host addresses in a hash,
 * shorter prefixes (allowed address pairs with a prefix) in a small list
 * per group. Workers read; one writer (the tables' writer). */
struct tsw_sg_members;
struct tsw_sg_members *tsw_sg_members_create(const char *name, uint32_t entries, int socket,
					     struct rte_rcu_qsbr *qsbr);
void tsw_sg_members_free(struct tsw_sg_members *m);
/* Writer: add or remove (group, prefix); 1 changed, 0 nothing to do,
 * -ENOSPC. Prefix lists are republished, the old one freed after a grace
 * period (retire). */
int tsw_sg_member_set(struct tsw_sg_members *m, uint16_t group, bool v6, const uint8_t *addr,
		      uint8_t len, bool add, void (*retire)(void *arg, void *p), void *arg);
bool tsw_sg_is_member(const struct tsw_sg_members *m, uint16_t group, bool v6,
		      const uint8_t *addr);

/* A frame's fields for the filter, read once. */
enum tsw_sg_kind { TSW_SGP_ARP = 1, TSW_SGP_OTHER, TSW_SGP_IP };
struct tsw_sg_pkt {
	/* zeroed by tsw_sg_parse (what comes after: written before it is read) */
	uint8_t kind, v6, proto;
	uint8_t icmp_type, icmp_code;
	uint8_t tcp_flags;
	bool invalid;              /* bad IPv4 header checksum, cut short */
	bool later_fragment;
	bool icmp_error;           /* an ICMP error: in_* is the packet it quotes */
	uint8_t always;            /* R-G2: bit 0 egress, bit 1 ingress */
	bool keyed;                /* key and ct_at made by tsw_sg_prefetch for ct_of */
	bool from_b;               /* the packet's source is the key's b end */
	uint16_t sport, dport;     /* ICMP echo: the id in both; written together */
	uint8_t src[16], dst[16];
	/* written where they apply */
	uint8_t in_proto;
	uint16_t in_sport, in_dport;
	uint8_t in_src[16], in_dst[16];
	uint8_t nd_target[16];     /* ICMPv6 neighbour advertisement */
	uint32_t ct_at;
	const struct tsw_ct *ct_of;
	struct tsw_ct_key key;
};

void tsw_sg_parse(const struct rte_mbuf *m, struct tsw_sg_pkt *p);

/* The connection lookup of parsed packet p in network zone, started: its
 * key made and its line in the connection table on its way to the cache
 * (tsw_ct_prefetch); the filter finishes it. Call for each frame of a
 * burst before the first is judged, with other work between (the misses
 * overlap it). Does nothing for a packet no connection is looked up for
 * (the filter judges it otherwise). For stateful rule sets' ports. */
void tsw_sg_prefetch(const struct tsw_ct *ct, struct tsw_sg_pkt *p, uint16_t zone);

/* What decided a frame (trace). */
struct tsw_sg_why {
	uint8_t by;                /* 0 nothing matched, 1 rule, 2 connection, 3 always (R-G2) */
	uint32_t rule;             /* rule set index + 1 (by = 1, or what allowed the connection) */
	uint8_t ct_state;          /* by = 2 */
	uint16_t port;             /* whose filter */
	const struct tsw_sg_ruleset *rs;
};

struct tsw_sg_ctx {
	struct tsw_ct *ct;
	const struct tsw_sg_members *members;
	bool dry;                  /* trace: decide, change no connection */
};

/* pass: its allowed addresses (R-G2, neighbour advertisements' targets). */
struct tsw_portsec;
enum tsw_drop tsw_sg_egress(const struct tsw_sg_ctx *x, const struct tsw_sg_ruleset *rs,
			    uint16_t port, const struct tsw_portsec *ps, uint16_t zone,
			    const struct tsw_sg_pkt *p, uint64_t now_ms, struct tsw_sg_why *why);
enum tsw_drop tsw_sg_ingress(const struct tsw_sg_ctx *x, const struct tsw_sg_ruleset *rs,
			     uint16_t port, uint16_t zone, const struct tsw_sg_pkt *p,
			     uint64_t now_ms, struct tsw_sg_why *why);

/* The rules alone (no connection table) for an original packet of a
 * connection: whether rs allows it in direction dir; *rule: which. */
bool tsw_sg_allows(const struct tsw_sg_members *m, const struct tsw_sg_ruleset *rs,
		   uint8_t dir, bool v6, uint8_t proto, const uint8_t *remote, uint16_t p1,
		   uint16_t p2, uint32_t *rule);

#endif
