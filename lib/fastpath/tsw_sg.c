/* SPDX-License-Identifier: BSD-3-Clause
 * Security groups in the fast path (see tsw_sg.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>

#include "tsw_pkt.h"
#include "tsw_portsec.h"
#include "tsw_sg.h"

#define P_ICMP   1
#define P_TCP    6
#define P_UDP    17
#define P_ICMPV6 58
#define P_SCTP   132
#define P_UDPLITE 136

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* ---- rule sets: rte_acl ------------------------------------------------- */

/* What the ACL reads (network order): protocol, the remote groups the
 * remote address is in (bit i: rgroups[i]), the remote address, then the
 * destination port (ICMP: type) and the source port (ICMP: code). */
struct acl_in4 {
	uint8_t proto, pad[3];
	uint32_t groups;
	uint32_t remote;
	uint16_t p1, p2;
};
struct acl_in6 {
	uint8_t proto, pad[3];
	uint32_t groups;
	uint32_t remote[4];
	uint16_t p1, p2;
};

enum { F_PROTO, F_GROUPS, F_REMOTE };
#define N_FIELDS4 5
#define N_FIELDS6 8

RTE_ACL_RULE_DEF(acl_rule4, N_FIELDS4);
RTE_ACL_RULE_DEF(acl_rule6, N_FIELDS6);

static void
field_defs(bool v6, struct rte_acl_field_def *f)
{
	unsigned int i = 0;

	f[i++] = (struct rte_acl_field_def){ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1,
		.field_index = F_PROTO, .input_index = 0, .offset = 0 };
	f[i++] = (struct rte_acl_field_def){ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 4,
		.field_index = F_GROUPS, .input_index = 1, .offset = 4 };
	for (unsigned int w = 0; w < (v6 ? 4u : 1u); w++, i++)
		f[i] = (struct rte_acl_field_def){ .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4,
			.field_index = (uint8_t)i, .input_index = (uint8_t)(2 + w),
			.offset = 8 + 4 * w };
	f[i] = (struct rte_acl_field_def){ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2,
		.field_index = (uint8_t)i, .input_index = (uint8_t)(v6 ? 6 : 3),
		.offset = v6 ? 24 : 12 };
	i++;
	f[i] = (struct rte_acl_field_def){ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2,
		.field_index = (uint8_t)i, .input_index = (uint8_t)(v6 ? 6 : 3),
		.offset = v6 ? 26 : 14 };
}

static bool
has_ports(int proto)
{
	return proto == P_TCP || proto == P_UDP || proto == P_SCTP || proto == P_UDPLITE;
}

static bool
is_icmp(int proto, bool v6)
{
	return proto == (v6 ? P_ICMPV6 : P_ICMP);
}

/* The ACL fields of rule r (bit: its remote group's bit, 0 none). */
static void
rule_fields(const struct tsw_sg_rule *r, uint32_t bit, struct rte_acl_field *f)
{
	unsigned int i = 0, nw = r->v6 ? 4 : 1;

	f[F_PROTO].value.u8 = r->proto >= 0 ? (uint8_t)r->proto : 0;
	f[F_PROTO].mask_range.u8 = r->proto >= 0 ? 0xff : 0;
	f[F_GROUPS].value.u32 = bit;
	f[F_GROUPS].mask_range.u32 = bit;
	for (i = 0; i < nw; i++) {
		uint32_t w;
		int bits = (int)r->remote_len - 32 * (int)i;
		memcpy(&w, r->remote + 4 * i, 4);
		f[F_REMOTE + i].value.u32 = rte_be_to_cpu_32(w);
		f[F_REMOTE + i].mask_range.u32 = bits <= 0 ? 0 : bits >= 32 ? 32 : (uint32_t)bits;
	}
	i = F_REMOTE + nw;
	if (is_icmp(r->proto, r->v6)) {
		f[i].value.u16 = r->icmp_type >= 0 ? (uint16_t)r->icmp_type : 0;
		f[i].mask_range.u16 = r->icmp_type >= 0 ? (uint16_t)r->icmp_type : 255;
		f[i + 1].value.u16 = r->icmp_code >= 0 ? (uint16_t)r->icmp_code : 0;
		f[i + 1].mask_range.u16 = r->icmp_code >= 0 ? (uint16_t)r->icmp_code : 255;
	} else {
		bool ports = has_ports(r->proto);
		f[i].value.u16 = ports ? r->pmin : 0;
		f[i].mask_range.u16 = ports ? r->pmax : 0xffff;
		f[i + 1].value.u16 = 0;
		f[i + 1].mask_range.u16 = 0xffff;
	}
}

static struct rte_acl_ctx *
build_ctx(const struct tsw_sg_rule *rules, uint32_t n, uint8_t dir, bool v6,
	  const struct tsw_sg_ruleset *rs, int socket, char *why, size_t whylen)
{
	static uint32_t seq;
	char name[RTE_ACL_NAMESIZE];
	uint32_t nf = v6 ? N_FIELDS6 : N_FIELDS4, count = 0;
	struct rte_acl_param prm = { .name = name, .socket_id = socket,
				     .rule_size = RTE_ACL_RULE_SZ(nf), .max_rule_num = n };
	struct rte_acl_config cfg = { .num_categories = 1, .num_fields = nf };
	struct rte_acl_ctx *ctx;
	int rc;

	for (uint32_t i = 0; i < n; i++)
		count += rules[i].dir == dir && rules[i].v6 == v6;
	if (count == 0)
		return NULL;                   /* no rule: nothing matches */
	snprintf(name, sizeof(name), "tswsg%u", __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	ctx = rte_acl_create(&prm);
	if (ctx == NULL) {
		snprintf(why, whylen, "rte_acl_create: out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct tsw_sg_rule *r = &rules[i];
		uint32_t bit = 0;
		if (r->dir != dir || r->v6 != v6)
			continue;
		if (r->rgroup >= 0)
			for (uint32_t b = 0; b < rs->n_rgroups; b++)
				if (rs->rgroups[b] == r->rgroup)
					bit = 1u << b;
		if (v6) {
			struct acl_rule6 ar = { .data = { .category_mask = 1, .priority = 1,
							  .userdata = i + 1 } };
			rule_fields(r, bit, ar.field);
			rc = rte_acl_add_rules(ctx, (const struct rte_acl_rule *)&ar, 1);
		} else {
			struct acl_rule4 ar = { .data = { .category_mask = 1, .priority = 1,
							  .userdata = i + 1 } };
			rule_fields(r, bit, ar.field);
			rc = rte_acl_add_rules(ctx, (const struct rte_acl_rule *)&ar, 1);
		}
		if (rc != 0) {
			snprintf(why, whylen, "rte_acl_add_rules: %s", strerror(-rc));
			rte_acl_free(ctx);
			return NULL;
		}
	}
	field_defs(v6, cfg.defs);
	rc = rte_acl_build(ctx, &cfg);
	if (rc != 0) {
		snprintf(why, whylen, "rte_acl_build: %s", strerror(-rc));
		rte_acl_free(ctx);
		return NULL;
	}
	return ctx;
}

struct tsw_sg_ruleset *
tsw_sg_ruleset_build(const struct tsw_sg_rule *rules, uint32_t n, bool stateful, uint32_t gen,
		     int socket, char *why, size_t whylen)
{
	struct tsw_sg_ruleset *rs = rte_zmalloc_socket("tsw_sg_rs", sizeof(*rs) +
						       n * sizeof(rs->refs[0]),
						       RTE_CACHE_LINE_SIZE, socket);

	if (rs == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	rs->gen = gen;
	rs->stateful = stateful;
	rs->n_refs = n;
	for (uint32_t i = 0; i < n; i++) {
		bool known = rules[i].rgroup < 0;
		rs->refs[i] = rules[i].ref;
		for (uint32_t b = 0; b < rs->n_rgroups && !known; b++)
			known = rs->rgroups[b] == rules[i].rgroup;
		if (known)
			continue;
		if (rs->n_rgroups == TSW_SG_MAX_RGROUPS) {
			snprintf(why, whylen, "the port's groups name more than %d remote groups",
				 TSW_SG_MAX_RGROUPS);
			tsw_sg_ruleset_free(rs);
			return NULL;
		}
		rs->rgroups[rs->n_rgroups++] = (uint16_t)rules[i].rgroup;
	}
	why[0] = '\0';
	for (uint8_t d = 0; d < 2; d++)
		for (uint8_t v = 0; v < 2; v++) {
			rs->acl[d][v] = build_ctx(rules, n, d, v, rs, socket, why, whylen);
			if (rs->acl[d][v] == NULL && why[0] != '\0') {
				tsw_sg_ruleset_free(rs);
				return NULL;
			}
		}
	return rs;
}

void
tsw_sg_ruleset_free(struct tsw_sg_ruleset *rs)
{
	if (rs == NULL)
		return;
	for (int d = 0; d < 2; d++)
		for (int v = 0; v < 2; v++)
			rte_acl_free(rs->acl[d][v]);
	rte_free(rs);
}

/* ---- remote-group members ---------------------------------------------- */

struct mkey {
	uint16_t group;
	uint8_t v6, pad;
	uint8_t addr[16];
	uint32_t pad2;
};

struct pfx_list {
	uint32_t n;
	struct { uint8_t v6, len; uint8_t addr[16]; } p[];
};

struct tsw_sg_members {
	struct rte_hash *h;
	struct rte_rcu_qsbr *qsbr;
	const struct pfx_list *pfx[TSW_SG_MAX_GROUPS];   /* RCU-published */
};

struct tsw_sg_members *
tsw_sg_members_create(const char *name, uint32_t entries, int socket, struct rte_rcu_qsbr *qsbr)
{
	struct rte_hash_parameters hp = {
		.name = name, .entries = entries, .key_len = sizeof(struct mkey),
		.socket_id = socket, .extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
						   RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_hash_rcu_config rc = { .v = qsbr, .mode = RTE_HASH_QSBR_MODE_DQ };
	struct tsw_sg_members *m = rte_zmalloc_socket(name, sizeof(*m), RTE_CACHE_LINE_SIZE,
						      socket);

	if (m == NULL)
		return NULL;
	m->qsbr = qsbr;
	m->h = rte_hash_create(&hp);
	if (m->h == NULL || (qsbr != NULL && rte_hash_rcu_qsbr_add(m->h, &rc) != 0)) {
		tsw_sg_members_free(m);
		return NULL;
	}
	return m;
}

void
tsw_sg_members_free(struct tsw_sg_members *m)
{
	if (m == NULL)
		return;
	for (int g = 0; g < TSW_SG_MAX_GROUPS; g++)
		rte_free((void *)(uintptr_t)m->pfx[g]);
	rte_hash_free(m->h);
	rte_free(m);
}

static void
mkey_set(struct mkey *k, uint16_t group, bool v6, const uint8_t *addr)
{
	memset(k, 0, sizeof(*k));
	k->group = group;
	k->v6 = v6;
	memcpy(k->addr, addr, v6 ? 16 : 4);
}

static bool
in_prefix(const uint8_t *a, const uint8_t *p, uint8_t len)
{
	uint8_t full = len / 8, rest = len % 8;

	if (memcmp(a, p, full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ p[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int
tsw_sg_member_set(struct tsw_sg_members *m, uint16_t group, bool v6, const uint8_t *addr,
		  uint8_t len, bool add, void (*retire)(void *arg, void *p), void *arg)
{
	const struct pfx_list *old;
	struct pfx_list *n;
	uint32_t have = 0, at = UINT32_MAX;

	if (group >= TSW_SG_MAX_GROUPS)
		return -EINVAL;
	if (len == (v6 ? 128 : 32)) {
		struct mkey k;
		int32_t pos;
		mkey_set(&k, group, v6, addr);
		if (add) {
			if (rte_hash_lookup(m->h, &k) >= 0)
				return 0;
			return rte_hash_add_key(m->h, &k) < 0 ? -ENOSPC : 1;
		}
		pos = rte_hash_del_key(m->h, &k);
		if (pos < 0)
			return 0;
		if (m->qsbr == NULL)
			rte_hash_free_key_with_position(m->h, pos);
		return 1;
	}
	old = m->pfx[group];
	have = old != NULL ? old->n : 0;
	for (uint32_t i = 0; i < have; i++)
		if (old->p[i].v6 == v6 && old->p[i].len == len &&
		    memcmp(old->p[i].addr, addr, v6 ? 16 : 4) == 0)
			at = i;
	if ((at != UINT32_MAX) == add)
		return 0;
	n = rte_zmalloc("tsw_sg_pfx", sizeof(*n) + (have + 1) * sizeof(n->p[0]), 0);
	if (n == NULL)
		return -ENOSPC;
	for (uint32_t i = 0; i < have; i++)
		if (i != at)
			n->p[n->n++] = old->p[i];
	if (add) {
		n->p[n->n].v6 = v6;
		n->p[n->n].len = len;
		memcpy(n->p[n->n].addr, addr, v6 ? 16 : 4);
		n->n++;
	}
	__atomic_store_n(&m->pfx[group], n->n > 0 ? n : NULL, __ATOMIC_RELEASE);
	if (n->n == 0)
		rte_free(n);
	if (old != NULL)
		retire(arg, (void *)(uintptr_t)old);
	return 1;
}

bool
tsw_sg_is_member(const struct tsw_sg_members *m, uint16_t group, bool v6, const uint8_t *addr)
{
	const struct pfx_list *l;
	struct mkey k;

	mkey_set(&k, group, v6, addr);
	if (rte_hash_lookup(m->h, &k) >= 0)
		return true;
	l = __atomic_load_n(&m->pfx[group], __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; l != NULL && i < l->n; i++)
		if (l->p[i].v6 == v6 && in_prefix(addr, l->p[i].addr, l->p[i].len))
			return true;
	return false;
}

/* ---- classification --------------------------------------------------- */

bool
tsw_sg_allows(const struct tsw_sg_members *m, const struct tsw_sg_ruleset *rs, uint8_t dir,
	      bool v6, uint8_t proto, const uint8_t *remote, uint16_t p1, uint16_t p2,
	      uint32_t *rule)
{
	const struct rte_acl_ctx *ctx = rs->acl[dir][v6];
	uint32_t groups = 0, res = 0;
	const uint8_t *in[1];

	*rule = 0;
	if (ctx == NULL)
		return false;
	for (uint32_t b = 0; b < rs->n_rgroups; b++)
		if (tsw_sg_is_member(m, rs->rgroups[b], v6, remote))
			groups |= 1u << b;
	if (v6) {
		struct acl_in6 a = { .proto = proto, .groups = rte_cpu_to_be_32(groups),
				     .p1 = rte_cpu_to_be_16(p1), .p2 = rte_cpu_to_be_16(p2) };
		memcpy(a.remote, remote, 16);
		in[0] = (const uint8_t *)&a;
		rte_acl_classify(ctx, in, &res, 1, 1);
	} else {
		struct acl_in4 a = { .proto = proto, .groups = rte_cpu_to_be_32(groups),
				     .p1 = rte_cpu_to_be_16(p1), .p2 = rte_cpu_to_be_16(p2) };
		memcpy(&a.remote, remote, 4);
		in[0] = (const uint8_t *)&a;
		rte_acl_classify(ctx, in, &res, 1, 1);
	}
	*rule = res;
	return res != 0;
}

/* The ACL's two port fields for a packet of proto with these ports, ICMP
 * type and code. */
static inline void
acl_ports(bool v6, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t type, uint8_t code,
	  uint16_t *p1, uint16_t *p2)
{
	if (is_icmp(proto, v6)) {
		*p1 = type;
		*p2 = code;
	} else {
		*p1 = dport;
		*p2 = sport;
	}
}

/* ---- parsing ----------------------------------------------------------- */

#define ICMP4_ECHO_REPLY   0
#define ICMP4_ECHO         8
#define ICMP6_ECHO         128
#define ICMP6_ECHO_REPLY   129

/* ICMPv4 types that are queries (their replies included) and errors */
static bool
icmp4_query(uint8_t t)
{
	return t == 0 || t == 8 || t == 13 || t == 14 || t == 15 || t == 16 || t == 17 || t == 18;
}
static bool
icmp4_error(uint8_t t)
{
	return t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
}
static bool
icmp6_error(uint8_t t)
{
	return t >= 1 && t <= 4;
}

/* Both ports in one store: what reads them back (always(), the key) may
 * read both at once, and a load that spans two narrower stores waits for
 * them to leave the store buffer instead of taking their data from it. */
_Static_assert(offsetof(struct tsw_sg_pkt, dport) == offsetof(struct tsw_sg_pkt, sport) + 2,
	       "sport and dport side by side");

static inline void
set_ports(struct tsw_sg_pkt *p, uint16_t sport, uint16_t dport)
{
	uint16_t v[2] = { sport, dport };

	memcpy(&p->sport, v, sizeof(v));
}

/* The quoted packet of an ICMP error at off (its IP header). */
static void
parse_quoted(const struct rte_mbuf *m, uint32_t off, bool v6, struct tsw_sg_pkt *p)
{
	uint8_t b[48];
	const uint8_t *h;
	uint32_t l4;

	p->in_sport = p->in_dport = 0;
	if (!v6) {
		h = rte_pktmbuf_read(m, off, 20, b);
		if (h == NULL || (h[0] >> 4) != 4)
			return;
		l4 = off + (uint32_t)(h[0] & 0xf) * 4;
		p->in_proto = h[9];
		memcpy(p->in_src, h + 12, 4);
		memcpy(p->in_dst, h + 16, 4);
	} else {
		uint8_t proto;
		uint32_t end;
		h = rte_pktmbuf_read(m, off, 40, b);
		if (h == NULL || (h[0] >> 4) != 6)
			return;
		memcpy(p->in_src, h + 8, 16);
		memcpy(p->in_dst, h + 24, 16);
		if (tsw_ip6_upper(m, off, &proto, &l4, &end) != TSW_IP6_UPPER) {
			/* quoting may cut the packet: the first 8 bytes are enough */
			proto = h[6];
			l4 = off + 40;
		}
		p->in_proto = proto;
	}
	h = rte_pktmbuf_read(m, l4, 8, b);
	if (h == NULL)
		return;
	if (has_ports(p->in_proto)) {
		p->in_sport = (uint16_t)(h[0] << 8 | h[1]);
		p->in_dport = (uint16_t)(h[2] << 8 | h[3]);
	} else if (is_icmp(p->in_proto, v6)) {
		p->in_sport = p->in_dport = (uint16_t)(h[4] << 8 | h[5]);   /* echo id */
	}
	p->icmp_error = true;
}

static void
parse_l4(const struct rte_mbuf *m, uint32_t l4, uint32_t end, struct tsw_sg_pkt *p)
{
	uint8_t b[24];
	const uint8_t *h;

	if (has_ports(p->proto)) {
		h = rte_pktmbuf_read(m, l4, p->proto == P_TCP ? 14 : 4, b);
		if (h == NULL || l4 + 4 > end) {
			p->invalid = true;
			return;
		}
		set_ports(p, (uint16_t)(h[0] << 8 | h[1]), (uint16_t)(h[2] << 8 | h[3]));
		if (p->proto == P_TCP)
			p->tcp_flags = h[13];
		return;
	}
	if (!is_icmp(p->proto, p->v6))
		return;
	h = rte_pktmbuf_read(m, l4, 24, b);
	if (h == NULL) {
		h = rte_pktmbuf_read(m, l4, 8, b);
		if (h == NULL) {
			p->invalid = true;
			return;
		}
	}
	p->icmp_type = h[0];
	p->icmp_code = h[1];
	if (p->v6 ? (h[0] == ICMP6_ECHO || h[0] == ICMP6_ECHO_REPLY)
		  : icmp4_query(h[0]))
		set_ports(p, (uint16_t)(h[4] << 8 | h[5]), (uint16_t)(h[4] << 8 | h[5]));
	if (p->v6 ? icmp6_error(h[0]) : icmp4_error(h[0]))
		parse_quoted(m, l4 + 8, p->v6, p);
	if (p->v6 && h[0] == 136) {
		if (rte_pktmbuf_pkt_len(m) >= l4 + 24)
			memcpy(p->nd_target, h + 8, 16);
		else
			memset(p->nd_target, 0, sizeof(p->nd_target));
	}
}

/* R-G2: what passes whatever the rules (bit 0 egress, bit 1 ingress; the
 * egress neighbour advertisement's target is checked at the port). */
static uint8_t
always(const struct tsw_sg_pkt *p)
{
	if (p->proto == P_UDP && !p->later_fragment) {
		if ((!p->v6 && p->sport == 68 && p->dport == 67) ||
		    (p->v6 && p->sport == 546 && p->dport == 547))
			return 1;                         /* DHCP client */
		if ((!p->v6 && p->sport == 67 && p->dport == 68) ||
		    (p->v6 && p->sport == 547 && p->dport == 546))
			return 2;                         /* DHCP server's replies */
	}
	if (p->v6 && p->proto == P_ICMPV6 && !p->later_fragment) {
		switch (p->icmp_type) {
		case 130: case 135: case 136: return 3;   /* MLD query, NS, NA */
		case 133: return 1;                      /* router solicitation */
		case 134: return 2;                      /* router advertisement */
		default: break;
		}
	}
	return 0;
}

/* Most frames: untagged IPv4 without options, TCP or UDP, not a later
 * fragment, headers in the first segment. Read in place, as the walk
 * below would read them; false: not such a frame, p untouched but for
 * what the walk writes again. */
#define FAST_LEN (RTE_ETHER_HDR_LEN + 20 + 14)
static inline bool
parse_fast(const struct rte_mbuf *m, struct tsw_sg_pkt *p)
{
	const uint8_t *e = rte_pktmbuf_mtod(m, const uint8_t *), *h = e + RTE_ETHER_HDR_LEN;
	const uint8_t *l4 = h + 20;
	uint32_t tot;

	if (m->data_len < FAST_LEN || e[12] != 0x08 || e[13] != 0x00 || h[0] != 0x45 ||
	    (h[9] != P_TCP && h[9] != P_UDP) || ((h[6] << 8 | h[7]) & 0x1fff) != 0 ||
	    !tsw_ip4_sum_ok(h, 20))
		return false;
	p->kind = TSW_SGP_IP;
	p->proto = h[9];
	memcpy(p->src, h + 12, 4);
	memcpy(p->dst, h + 16, 4);
	tot = (uint32_t)(h[2] << 8 | h[3]);
	if (tot < 20 + 4) {                   /* the ports beyond the packet's end */
		p->invalid = true;
		return true;
	}
	set_ports(p, (uint16_t)(l4[0] << 8 | l4[1]), (uint16_t)(l4[2] << 8 | l4[3]));
	if (p->proto == P_TCP)
		p->tcp_flags = l4[13];
	p->always = always(p);
	return true;
}

void
tsw_sg_parse(const struct rte_mbuf *m, struct tsw_sg_pkt *p)
{
	uint8_t b[40];
	const uint8_t *h;
	uint32_t off = RTE_ETHER_HDR_LEN, end;
	uint16_t et;

	memset(p, 0, offsetof(struct tsw_sg_pkt, in_proto));   /* not the whole: ~200 bytes */
	if (likely(parse_fast(m, p)))
		return;
	h = rte_pktmbuf_read(m, 12, 2, b);
	if (h == NULL) {
		p->kind = TSW_SGP_OTHER;
		return;
	}
	et = (uint16_t)(h[0] << 8 | h[1]);
	if (et == RTE_ETHER_TYPE_VLAN) {               /* a priority tag (R-C1) */
		h = rte_pktmbuf_read(m, 16, 2, b);
		if (h == NULL) {
			p->kind = TSW_SGP_OTHER;
			return;
		}
		et = (uint16_t)(h[0] << 8 | h[1]);
		off += 4;
	}
	if (et == RTE_ETHER_TYPE_ARP) {
		p->kind = TSW_SGP_ARP;
		return;
	}
	if (et != RTE_ETHER_TYPE_IPV4 && et != RTE_ETHER_TYPE_IPV6) {
		p->kind = TSW_SGP_OTHER;
		return;
	}
	p->kind = TSW_SGP_IP;
	if (et == RTE_ETHER_TYPE_IPV4) {
		uint32_t ihl;
		h = rte_pktmbuf_read(m, off, 20, b);
		if (h == NULL || (h[0] >> 4) != 4 || (ihl = (uint32_t)(h[0] & 0xf) * 4) < 20) {
			p->invalid = true;
			return;
		}
		{
			uint8_t hb[60];
			const void *hd = rte_pktmbuf_read(m, off, ihl, hb);
			/* R-G3: a bad header checksum is invalid (the sum over
			 * the header, its checksum included, is all ones) */
			if (hd == NULL || !tsw_ip4_sum_ok(hd, ihl)) {
				p->invalid = true;
				return;
			}
		}
		p->proto = h[9];
		memcpy(p->src, h + 12, 4);
		memcpy(p->dst, h + 16, 4);
		p->later_fragment = ((h[6] << 8 | h[7]) & 0x1fff) != 0;
		end = off + (uint32_t)(h[2] << 8 | h[3]);
		if (!p->later_fragment)
			parse_l4(m, off + ihl, end, p);
	} else {
		uint8_t proto;
		uint32_t l4;
		enum tsw_ip6_walk w;
		h = rte_pktmbuf_read(m, off, 40, b);
		if (h == NULL) {
			p->invalid = true;
			return;
		}
		p->v6 = 1;
		memcpy(p->src, h + 8, 16);
		memcpy(p->dst, h + 24, 16);
		w = tsw_ip6_upper(m, off, &proto, &l4, &end);
		if (w == TSW_IP6_TRUNCATED) {
			p->invalid = true;
			return;
		}
		p->later_fragment = w == TSW_IP6_LATER_FRAGMENT;
		p->proto = w == TSW_IP6_UPPER ? proto : h[6];
		if (w == TSW_IP6_UPPER)
			parse_l4(m, l4, end, p);
	}
	p->always = always(p);
}

/* ---- the filter -------------------------------------------------------- */

/* The first packet of a connection may start one (R-G3): TCP SYN, or a
 * mid-stream segment (ACK without SYN, FIN or RST; Linux's "loose"
 * pick-up), never a SYN-ACK, RST or FIN alone; ICMP echo requests with
 * code 0 only (other queries of ICMPv4 too); everything of UDP and other
 * protocols. */
static bool
may_start(const struct tsw_sg_pkt *p)
{
	if (p->proto == P_TCP) {
		uint8_t f = p->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN);
		return f == TCP_SYN || f == TCP_ACK;
	}
	if (p->proto == P_ICMP && !p->v6)
		return p->icmp_code == 0 && (p->icmp_type == ICMP4_ECHO || p->icmp_type == 13 ||
					     p->icmp_type == 15 || p->icmp_type == 17);
	if (p->proto == P_ICMPV6 && p->v6)
		return p->icmp_code == 0 && p->icmp_type == ICMP6_ECHO;
	return true;
}

static uint32_t
first_state(const struct tsw_sg_pkt *p)
{
	if (p->proto == P_TCP)
		return p->tcp_flags & TCP_SYN ? TSW_CT_SYN_SENT : TSW_CT_ESTABLISHED;
	if (p->proto == P_UDP || p->proto == P_UDPLITE)
		return TSW_CT_UDP_NEW;
	if (is_icmp(p->proto, p->v6))
		return TSW_CT_ICMP;
	return TSW_CT_OTHER;
}

/* The state after packet p from the end `from_init` (the initiator or
 * not); false: invalid in this state (R-G3). Idempotent for a packet seen
 * twice (egress, then ingress of a local port). */
static bool
next_state(uint32_t st, const struct tsw_sg_pkt *p, bool from_init, uint32_t *out)
{
	uint32_t s = st & 0xff, flags = st & ~0xffu;
	uint8_t f = p->tcp_flags;

	*out = st;
	if (p->proto == P_TCP) {
		if (f & TCP_RST) {
			s = TSW_CT_CLOSE;
		} else if ((f & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
			if (from_init && (s == TSW_CT_SYN_SENT || s == TSW_CT_SYN_RECV))
				return false;                  /* a SYN-ACK from the one who sent SYN */
			if (s == TSW_CT_SYN_SENT)
				s = TSW_CT_SYN_RECV;
		} else if (f & TCP_SYN) {
			if (from_init && (s == TSW_CT_CLOSE || s == TSW_CT_TIME_WAIT))
				s = TSW_CT_SYN_SENT;           /* reopened */
		} else {
			if (f & TCP_FIN)
				flags |= from_init ? TSW_CT_FIN_INIT : TSW_CT_FIN_RESP;
			if ((flags & (TSW_CT_FIN_INIT | TSW_CT_FIN_RESP)) ==
			    (TSW_CT_FIN_INIT | TSW_CT_FIN_RESP))
				s = (f & TCP_FIN) ? TSW_CT_LAST_ACK : TSW_CT_TIME_WAIT;
			else if (flags & (TSW_CT_FIN_INIT | TSW_CT_FIN_RESP))
				s = (flags & TSW_CT_FIN_INIT) ? TSW_CT_FIN_WAIT : TSW_CT_CLOSE_WAIT;
			else if (s == TSW_CT_SYN_RECV && from_init && (f & TCP_ACK))
				s = TSW_CT_ESTABLISHED;
			else if (s == TSW_CT_SYN_SENT && !from_init && (f & TCP_ACK))
				s = TSW_CT_ESTABLISHED;        /* picked up late */
		}
	} else if (p->proto == P_UDP || p->proto == P_UDPLITE) {
		if (!from_init)
			s = TSW_CT_UDP_REPLIED;
	}
	*out = flags | s;
	return true;
}

/* Update c's state for packet p; false when p is invalid in it. */
static bool
track(struct tsw_ct_conn *c, const struct tsw_sg_pkt *p, bool from_b, uint64_t now_ms)
{
	uint32_t st = __atomic_load_n(&c->st, __ATOMIC_ACQUIRE), nst;

	do {
		bool from_init = from_b == ((st & TSW_CT_INIT_B) != 0);
		if (!next_state(st, p, from_init, &nst))
			return false;
		nst |= from_b ? TSW_CT_SEEN_B : TSW_CT_SEEN_A;
		if (nst == st)
			break;
	} while (!__atomic_compare_exchange_n(&c->st, &st, nst, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	tsw_ct_touch(c, now_ms);
	return true;
}

/* The verdict of port's rules (rs) for end e of connection (k, c): the
 * original packet, from the initiator to the other end, judged as the
 * initiator's egress or the other end's ingress. */
static bool
judge_end(const struct tsw_sg_ctx *x, const struct tsw_sg_ruleset *rs,
	  const struct tsw_ct_key *k, uint32_t st, int e, uint32_t *rule)
{
	bool init_b = (st & TSW_CT_INIT_B) != 0;
	const uint8_t *init = init_b ? k->b : k->a, *resp = init_b ? k->a : k->b;
	uint16_t isport = init_b ? k->pb : k->pa, irport = init_b ? k->pa : k->pb;
	bool e_is_init = (e == 1) == init_b;
	uint16_t p1, p2;
	uint8_t type = k->v6 ? ICMP6_ECHO : ICMP4_ECHO;

	acl_ports(k->v6, k->proto, isport, irport, type, 0, &p1, &p2);
	if (e_is_init)
		return tsw_sg_allows(x->members, rs, TSW_SG_EGRESS, k->v6, k->proto, resp, p1, p2,
				     rule);
	return tsw_sg_allows(x->members, rs, TSW_SG_INGRESS, k->v6, k->proto, init, p1, p2, rule);
}

/* A packet of connection (k, c) at end e, port `port` with rule set rs:
 * the end's verdict, taken again when the rule set is not the one it was
 * taken under (R-G7). */
static enum tsw_drop
judge_known(const struct tsw_sg_ctx *x, const struct tsw_sg_ruleset *rs, uint16_t port,
	    const struct tsw_ct_key *k, struct tsw_ct_conn *c, int e, struct tsw_sg_why *why)
{
	uint32_t rule;
	tsw_ct_side_t side = __atomic_load_n(&c->side[e], __ATOMIC_ACQUIRE);
	uint32_t st = __atomic_load_n(&c->st, __ATOMIC_ACQUIRE);

	if (st & TSW_CT_REVOKED)
		return TSW_DROP_ct_revoked;
	uint32_t gen = __atomic_load_n(&rs->gen, __ATOMIC_ACQUIRE);

	if (!tsw_ct_side_valid(side) || tsw_ct_side_port(side) != port ||
	    tsw_ct_side_gen(side) != gen) {
		bool ok = judge_end(x, rs, k, st, e, &rule);
		if (!ok && tsw_ct_side_valid(side) && tsw_ct_side_allowed(side) &&
		    tsw_ct_side_port(side) == port) {
			/* allowed before, not any more: cut in both directions */
			if (!x->dry)
				__atomic_fetch_or(&c->st, TSW_CT_REVOKED, __ATOMIC_ACQ_REL);
			return TSW_DROP_ct_revoked;
		}
		side = tsw_ct_side(port, ok, gen, rule);
		if (!x->dry)
			__atomic_store_n(&c->side[e], side, __ATOMIC_RELEASE);
	} else {
		rule = tsw_ct_side_rule(side);
	}
	if (why != NULL) {
		why->by = 2;
		why->ct_state = (uint8_t)(st & 0xff);
		why->rule = rule;
	}
	return tsw_ct_side_allowed(side) ? TSW_DROP_MAX : TSW_DROP_sg_deny;
}

/* The connection an ICMP error quotes (its original packet came from the
 * error's destination, or went there): related (R-G4), else invalid. */
static enum tsw_drop
related(const struct tsw_sg_ctx *x, uint16_t zone, const struct tsw_sg_pkt *p,
	struct tsw_sg_why *why)
{
	struct tsw_ct_key k;
	struct tsw_ct_conn *c;
	bool from_b;

	tsw_ct_key_make(&k, zone, p->v6, p->in_proto, p->in_src, p->in_dst, p->in_sport,
			p->in_dport, &from_b);
	c = tsw_ct_lookup(x->ct, &k);
	if (c == NULL)
		return TSW_DROP_ct_invalid;
	if (__atomic_load_n(&c->st, __ATOMIC_ACQUIRE) & TSW_CT_REVOKED)
		return TSW_DROP_ct_revoked;
	if (why != NULL)
		why->by = 2;
	return TSW_DROP_MAX;
}

/* Whether filter() looks up p's connection (what it judges otherwise: the
 * rules alone, an invalid or related packet). */
static inline bool
tracked(const struct tsw_sg_pkt *p)
{
	return p->kind == TSW_SGP_IP && !p->invalid && !p->later_fragment && !p->icmp_error &&
	       p->always == 0 &&
	       !(p->v6 && p->proto == P_ICMPV6 && p->icmp_type != ICMP6_ECHO &&
		 p->icmp_type != ICMP6_ECHO_REPLY);
}

void
tsw_sg_prefetch(const struct tsw_ct *ct, struct tsw_sg_pkt *p, uint16_t zone)
{
	if (ct == NULL || !tracked(p))
		return;
	tsw_ct_key_make(&p->key, zone, p->v6, p->proto, p->src, p->dst, p->sport, p->dport,
			&p->from_b);
	p->ct_at = tsw_ct_prefetch(ct, &p->key);
	p->ct_of = ct;
	p->keyed = true;
}

/* dir: the direction of rs's port; port's end of the packet's connection is
 * its source (egress) or its destination (ingress). */
static enum tsw_drop
filter(const struct tsw_sg_ctx *x, const struct tsw_sg_ruleset *rs, uint16_t port,
       uint16_t zone, const struct tsw_sg_pkt *p, uint8_t dir, uint64_t now_ms,
       struct tsw_sg_why *why)
{
	const uint8_t *remote = dir == TSW_SG_EGRESS ? p->dst : p->src;
	uint16_t p1, p2;
	uint32_t rule;
	struct tsw_ct_key kb;
	const struct tsw_ct_key *k;
	struct tsw_ct_conn *c;
	enum tsw_ct_made made;
	bool from_b;
	int e;

	if (p->invalid)
		return TSW_DROP_ct_invalid;
	acl_ports(p->v6, p->proto, p->sport, p->dport, p->icmp_type, p->icmp_code, &p1, &p2);
	if (!rs->stateful) {                  /* R-G8: the rules, every packet */
		bool ok = tsw_sg_allows(x->members, rs, dir, p->v6, p->proto, remote, p1, p2,
					&rule);
		if (why != NULL) {
			why->by = 1;
			why->rule = rule;
		}
		return ok ? TSW_DROP_MAX : TSW_DROP_sg_deny;
	}
	if (p->later_fragment)
		return TSW_DROP_ct_invalid;       /* no ports: no reassembly (yet) */
	if (p->icmp_error)
		return related(x, zone, p, why);
	if (p->v6 && p->proto == P_ICMPV6 && p->icmp_type != ICMP6_ECHO &&
	    p->icmp_type != ICMP6_ECHO_REPLY) {
		/* the rest of ICMPv6 (MLD reports...) is judged by the rules,
		 * untracked (R-G2) */
		bool ok = tsw_sg_allows(x->members, rs, dir, true, P_ICMPV6, remote, p1, p2, &rule);
		if (why != NULL) {
			why->by = ok;
			why->rule = rule;
		}
		return ok ? TSW_DROP_MAX : TSW_DROP_sg_deny;
	}
	if (x->ct == NULL)
		return TSW_DROP_ct_full;
	if (p->keyed && p->key.zone == zone && p->ct_of == x->ct) {
		/* the lookup tsw_sg_prefetch started */
		k = &p->key;
		from_b = p->from_b;
		c = tsw_ct_lookup_at(x->ct, k, p->ct_at);
	} else {
		tsw_ct_key_make(&kb, zone, p->v6, p->proto, p->src, p->dst, p->sport, p->dport,
				&from_b);
		k = &kb;
		c = tsw_ct_lookup(x->ct, k);
	}
	e = dir == TSW_SG_EGRESS ? from_b : !from_b;
	if (c != NULL) {
		enum tsw_drop d = judge_known(x, rs, port, k, c, e, why);
		uint32_t nst;
		if (d != TSW_DROP_MAX)
			return d;
		if (x->dry)
			return next_state(__atomic_load_n(&c->st, __ATOMIC_ACQUIRE), p,
					  from_b == ((c->st & TSW_CT_INIT_B) != 0), &nst)
			       ? TSW_DROP_MAX : TSW_DROP_ct_invalid;
		return track(c, p, from_b, now_ms) ? TSW_DROP_MAX : TSW_DROP_ct_invalid;
	}
	/* a new connection (R-G5) */
	if (!may_start(p))
		return TSW_DROP_ct_invalid;
	if (!tsw_sg_allows(x->members, rs, dir, p->v6, p->proto, remote, p1, p2, &rule)) {
		if (why != NULL) {
			why->by = 0;
			why->rule = 0;
		}
		return TSW_DROP_sg_deny;
	}
	if (why != NULL) {
		why->by = 1;
		why->rule = rule;
	}
	if (x->dry)
		return TSW_DROP_MAX;
	c = tsw_ct_create_conn(x->ct, k, first_state(p) | (from_b ? TSW_CT_INIT_B : 0) |
			       (from_b ? TSW_CT_SEEN_B : TSW_CT_SEEN_A) | tsw_ct_st_port(port),
			       now_ms, &made);
	if (c == NULL)
		return made == TSW_CT_PORT_FULL ? TSW_DROP_ct_port_limit : TSW_DROP_ct_full;
	if (made != TSW_CT_MADE)              /* another worker's, at this moment */
		return TSW_DROP_MAX;
	__atomic_store_n(&c->side[e],
			 tsw_ct_side(port, true, __atomic_load_n(&rs->gen, __ATOMIC_ACQUIRE), rule),
			 __ATOMIC_RELEASE);
	return TSW_DROP_MAX;
}

enum tsw_drop
tsw_sg_egress(const struct tsw_sg_ctx *x, const struct tsw_sg_ruleset *rs, uint16_t port,
	      const struct tsw_portsec *ps, uint16_t zone, const struct tsw_sg_pkt *p,
	      uint64_t now_ms, struct tsw_sg_why *why)
{
	if (why != NULL) {
		why->port = port;
		why->rs = rs;
	}
	if (p->kind != TSW_SGP_IP)
		return TSW_DROP_MAX;           /* ARP: R-S3 alone (R-G2); others: R-S3 */
	if (p->always & 1) {
		/* a neighbour advertisement only for the port's own addresses */
		if (p->v6 && p->proto == P_ICMPV6 && p->icmp_type == 136 && ps != NULL &&
		    !tsw_portsec_owns_v6(ps, p->nd_target))
			return TSW_DROP_sg_deny;
		if (why != NULL)
			why->by = 3;
		return TSW_DROP_MAX;
	}
	return filter(x, rs, port, zone, p, TSW_SG_EGRESS, now_ms, why);
}

enum tsw_drop
tsw_sg_ingress(const struct tsw_sg_ctx *x, const struct tsw_sg_ruleset *rs, uint16_t port,
	       uint16_t zone, const struct tsw_sg_pkt *p, uint64_t now_ms, struct tsw_sg_why *why)
{
	if (why != NULL) {
		why->port = port;
		why->rs = rs;
	}
	if (p->kind == TSW_SGP_ARP || (p->kind == TSW_SGP_IP && (p->always & 2))) {
		if (why != NULL)
			why->by = 3;
		return TSW_DROP_MAX;           /* R-G2 */
	}
	if (p->kind != TSW_SGP_IP)
		return TSW_DROP_sg_deny;       /* not IP, not ARP (the OVS firewall's too) */
	return filter(x, rs, port, zone, p, TSW_SG_INGRESS, now_ms, why);
}
