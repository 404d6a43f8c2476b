/* SPDX-License-Identifier: BSD-3-Clause
 * l2population payloads: validate into a plan, then apply the plan.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsw_parse.h"
#include "tsw_l2pop.h"

enum act_kind { A_FLOOD_ADD, A_FDB_ADD, A_ARP_ADD, A_ARP_DEL, A_FDB_DEL, A_FLOOD_DEL };

struct act {
	enum act_kind kind;
	enum tsw_tun_type type;
	uint16_t net;
	uint32_t vtep;                 /* network order */
	uint32_t ip;                   /* network order */
	struct rte_ether_addr mac;
	uint32_t group;                /* its (network, agent IP) in the payload */
};

struct tsw_l2pop_plan {
	struct act *a;
	size_t n, cap;
	json_t *skipped;
	size_t *order;                 /* a[] in the order of application */
	size_t next;                   /* actions applied so far */
	unsigned int fdb, flood, arp, created, deleted;
	enum tsw_l2pop_op op;
	uint32_t n_groups;             /* (network, agent IP) members planned */
	uint8_t *group_skipped;        /* [n_groups]: listed in skipped already */
	uint8_t net_skipped[TSW_MAX_NETS];
};

static int
plan_add(struct tsw_l2pop_plan *p, const struct act *a, struct tsw_jerr *e)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct act *na = realloc(p->a, cap * sizeof(*na));
		if (na == NULL)
			return tsw_jerr_set(e, "fdb_entries", "out of memory");
		p->a = na;
		p->cap = cap;
	}
	p->a[p->n++] = *a;
	return 0;
}

static void
skip(struct tsw_l2pop_plan *p, const char *what, const char *key, const char *reason)
{
	json_t *o = json_pack("{s:s, s:s}", what, key, "reason", reason);
	if (o != NULL)
		json_array_append_new(p->skipped, o);
}

/* One (mac, ip) pair: [MAC, IP] or {"mac_address": MAC, "ip_address": IP}.
 * *flood: it is the flooding entry. *ip = 0: no IPv4 address. */
static int
parse_pair(const json_t *v, const char *path, struct rte_ether_addr *mac, uint32_t *ip,
	   bool *flood, struct tsw_jerr *e)
{
	const json_t *jm, *ji;
	const char *ms, *is, *why;
	char f[160];

	if (json_is_array(v) && json_array_size(v) == 2) {
		jm = json_array_get(v, 0);
		ji = json_array_get(v, 1);
	} else if (json_is_object(v)) {
		jm = json_object_get(v, "mac_address");
		ji = json_object_get(v, "ip_address");
	} else {
		return tsw_jerr_set(e, path, "must be [MAC, IP] or {\"mac_address\", \"ip_address\"}");
	}
	tsw_jpath(f, sizeof(f), "%s.mac", path);
	if (!json_is_string(jm))
		return tsw_jerr_set(e, f, "must be a string");
	ms = json_string_value(jm);
	if (tsw_parse_mac(ms, mac, &why) < 0)
		return tsw_jerr_set(e, f, "'%.64s' is %s", ms, why);
	tsw_jpath(f, sizeof(f), "%s.ip", path);
	*ip = 0;
	is = json_is_string(ji) ? json_string_value(ji) : NULL;
	if (ji != NULL && !json_is_null(ji) && is == NULL)
		return tsw_jerr_set(e, f, "must be a string");
	if (is != NULL && *is != '\0') {
		struct in6_addr a6;
		if (tsw_parse_ipv4(is, ip, &why) < 0 && inet_pton(AF_INET6, is, &a6) != 1)
			return tsw_jerr_set(e, f, "'%.64s' is neither an IPv4 nor an IPv6 address", is);
	}
	*flood = rte_is_zero_ether_addr(mac);
	if (*flood) {
		if (*ip != 0)
			return tsw_jerr_set(e, f, "the flooding entry's IP must be 0.0.0.0");
		return 0;
	}
	tsw_jpath(f, sizeof(f), "%s.mac", path);
	if (!rte_is_unicast_ether_addr(mac))
		return tsw_jerr_set(e, f, "'%s' is not a unicast MAC", ms);
	if (*ip != 0 && !tsw_ipv4_is_unicast(*ip))
		return tsw_jerr_set(e, f, "'%s' is not a unicast address", is);
	return 0;
}

/* The tunsw network for a payload key: by name, else by (type, id). */
static int
resolve_net(const struct tsw_dp *dp, const char *key, const json_t *v, const char *path,
	    struct tsw_l2pop_plan *p, struct tsw_jerr *e)
{
	const char *ts;
	enum tsw_tun_type t;
	uint32_t id;
	int n;
	char f[160];
	struct tsw_jerr sub;

	if (!json_is_object(v))
		return tsw_jerr_set(e, path, "must be an object");
	if (tsw_jarg_str(v, "network_type", true, &ts, &sub) != 0 ||
	    tsw_jarg_u32(v, "segment_id", true, 0, UINT32_MAX, &id, &sub) != 0) {
		tsw_jpath(f, sizeof(f), "%s.%s", path, sub.field);
		return tsw_jerr_set(e, f, "%s", sub.reason);
	}
	if (strcmp(ts, "vxlan") == 0)
		t = TSW_TUN_VXLAN;
	else if (strcmp(ts, "gre") == 0)
		t = TSW_TUN_GRE;
	else {
		skip(p, "network", key, "network_type is not tunnelled by tunsw");
		return -ENOENT;
	}
	n = tsw_dp_net_find(dp, key);
	if (n >= 0) {
		if (dp->nets[n].kind != TSW_NET_TUNNEL || dp->nets[n].type != t ||
		    dp->nets[n].seg_id != id) {
			tsw_jpath(f, sizeof(f), "%s.segment_id", path);
			return tsw_jerr_set(e, f, "network '%s' is %s %u here, not %s %u", key,
					    tsw_net_type_name(&dp->nets[n]), dp->nets[n].seg_id,
					    ts, id);
		}
		return n;
	}
	n = tsw_dp_net_by_id(dp, t, id);
	if (n < 0)
		skip(p, "network", key, "no such network on this host");
	return n >= 0 ? n : -ENOENT;
}

static int
plan_pairs(const struct tsw_dp *dp, const json_t *list, const char *path, bool add,
	   uint16_t net, uint32_t vtep, struct tsw_l2pop_plan *p, struct tsw_jerr *e)
{
	size_t i;
	const json_t *v;
	char f[160];

	if (!json_is_array(list))
		return tsw_jerr_set(e, path, "must be a list of [MAC, IP]");
	json_array_foreach(list, i, v) {
		struct act a = { .type = dp->nets[net].type, .net = net, .vtep = vtep,
				 .group = p->n_groups - 1 };
		bool flood;

		tsw_jpath(f, sizeof(f), "%s[%zu]", path, i);
		if (parse_pair(v, f, &a.mac, &a.ip, &flood, e) < 0)
			return -1;
		if (flood) {
			a.kind = add ? A_FLOOD_ADD : A_FLOOD_DEL;
			if (plan_add(p, &a, e) < 0)
				return -1;
			continue;
		}
		a.kind = add ? A_FDB_ADD : A_FDB_DEL;
		if (plan_add(p, &a, e) < 0)
			return -1;
		if (a.ip != 0) {
			a.kind = add ? A_ARP_ADD : A_ARP_DEL;
			if (plan_add(p, &a, e) < 0)
				return -1;
		}
	}
	return 0;
}

static int
vtep_of(const struct tsw_dp *dp, const char *key, const char *path, enum tsw_tun_type t,
	uint32_t *ip, struct tsw_l2pop_plan *p, struct tsw_jerr *e)
{
	const char *why;

	if (tsw_parse_ipv4(key, ip, &why) < 0 || !tsw_ipv4_is_unicast(*ip))
		return tsw_jerr_set(e, path, "agent IP '%.64s' is not a unicast IPv4 address", key);
	if (*ip == dp->conf.encap.local_ip) {
		skip(p, "agent_ip", key, "this host's own local_ip");
		return 1;
	}
	if (!dp->conf.decap.type_enabled[t])
		return tsw_jerr_set(e, path, "tunnel type %s is not enabled in [tunnel] types",
				    tsw_tun_type_name(t));
	return 0;
}

/* R-L3: one agent's {"before": [...], "after": [...]} as ARP changes. */
static int
plan_chg_ip(const struct tsw_dp *dp, const json_t *av, const char *path, uint16_t net,
	    uint32_t vtep, struct tsw_l2pop_plan *p, struct tsw_jerr *e)
{
	if (!json_is_object(av))
		return tsw_jerr_set(e, path, "must be {\"before\": [...], \"after\": [...]}");
	for (int pass = 0; pass < 2; pass++) {
		const char *k = pass == 0 ? "before" : "after";
		const json_t *list = json_object_get(av, k), *pv;
		size_t i;
		char f[200];

		if (list == NULL)
			continue;
		tsw_jpath(f, sizeof(f), "%s.%s", path, k);
		if (!json_is_array(list))
			return tsw_jerr_set(e, f, "must be a list of [MAC, IP]");
		json_array_foreach(list, i, pv) {
			struct act a = { .kind = pass == 0 ? A_ARP_DEL : A_ARP_ADD,
					 .type = dp->nets[net].type, .net = net, .vtep = vtep,
					 .group = p->n_groups - 1 };
			bool flood;
			char pf[220];

			tsw_jpath(pf, sizeof(pf), "%s[%zu]", f, i);
			if (parse_pair(pv, pf, &a.mac, &a.ip, &flood, e) < 0)
				return -1;
			if (flood)
				return tsw_jerr_set(e, pf, "the flooding entry has no IP to change");
			if (a.ip != 0 && plan_add(p, &a, e) < 0)
				return -1;
		}
	}
	return 0;
}

/* Every AGENT_IP -> value member of agents, planned by kind. */
static int
plan_agents(const struct tsw_dp *dp, const json_t *agents, const char *prefix, uint16_t net,
	    enum tsw_l2pop_op op, struct tsw_l2pop_plan *p, struct tsw_jerr *e)
{
	const char *akey;
	const json_t *av;
	char path[160];

	json_object_foreach((json_t *)agents, akey, av) {
		uint32_t vtep;
		int rc;

		tsw_jpath(path, sizeof(path), "%s.%.40s", prefix, akey);
		rc = vtep_of(dp, akey, path, dp->nets[net].type, &vtep, p, e);
		if (rc < 0)
			return -1;
		if (rc > 0)
			continue;
		p->n_groups++;   /* the group of this agent's actions */
		if (op == TSW_L2POP_UPDATE)
			rc = plan_chg_ip(dp, av, path, net, vtep, p, e);
		else
			rc = plan_pairs(dp, av, path, op == TSW_L2POP_ADD, net, vtep, p, e);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
plan_add_remove(const struct tsw_dp *dp, const json_t *entries, enum tsw_l2pop_op op,
		struct tsw_l2pop_plan *p, struct tsw_jerr *e)
{
	const char *nkey;
	const json_t *nv;
	char path[160];

	json_object_foreach((json_t *)entries, nkey, nv) {
		const json_t *ports;
		int net;

		tsw_jpath(path, sizeof(path), "fdb_entries.%.48s", nkey);
		net = resolve_net(dp, nkey, nv, path, p, e);
		if (net == -ENOENT)
			continue;
		if (net < 0)
			return -1;
		ports = json_object_get(nv, "ports");
		tsw_jpath(path, sizeof(path), "fdb_entries.%.48s.ports", nkey);
		if (!json_is_object(ports))
			return tsw_jerr_set(e, path, "missing or not an object of agent IP -> entries");
		if (plan_agents(dp, ports, path, (uint16_t)net, op, p, e) < 0)
			return -1;
	}
	return 0;
}

static int
plan_update(const struct tsw_dp *dp, const json_t *entries, struct tsw_l2pop_plan *p, struct tsw_jerr *e)
{
	const char *key, *nkey;
	const json_t *v, *nv;
	char path[160];

	json_object_foreach((json_t *)entries, key, v) {
		if (strcmp(key, "chg_ip") != 0) {
			tsw_jpath(path, sizeof(path), "fdb_entries.%.48s", key);
			return tsw_jerr_set(e, path, "unknown update (only chg_ip is defined)");
		}
		if (!json_is_object(v))
			return tsw_jerr_set(e, "fdb_entries.chg_ip", "must be an object");
		json_object_foreach((json_t *)v, nkey, nv) {
			int net = tsw_dp_net_find(dp, nkey);

			tsw_jpath(path, sizeof(path), "fdb_entries.chg_ip.%.48s", nkey);
			if (!json_is_object(nv))
				return tsw_jerr_set(e, path, "must be an object of agent IP -> changes");
			if (net < 0) {
				skip(p, "network", nkey, "no such network on this host");
				continue;
			}
			if (plan_agents(dp, nv, path, (uint16_t)net, TSW_L2POP_UPDATE, p, e) < 0)
				return -1;
		}
	}
	return 0;
}

#define N_KINDS (A_FLOOD_DEL + 1)

/* The plan in kind order, stable within a kind, in O(n): adds go flood,
 * FDB, ARP; removes ARP, FDB, flood, so that a tunnel is deleted with its
 * last user (R-L2). Returns the order as indexes (NULL: out of memory). */
static size_t *
order_plan(const struct tsw_l2pop_plan *p)
{
	size_t start[N_KINDS + 1] = { 0 };
	size_t *idx = malloc((p->n ? p->n : 1) * sizeof(*idx));

	if (idx == NULL)
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		start[p->a[i].kind + 1]++;
	for (int k = 0; k < N_KINDS; k++)
		start[k + 1] += start[k];
	for (size_t i = 0; i < p->n; i++)
		idx[start[p->a[i].kind]++] = i;
	return idx;
}

void
tsw_l2pop_plan_free(struct tsw_l2pop_plan *p)
{
	if (p == NULL)
		return;
	json_decref(p->skipped);
	free(p->order);
	free(p->group_skipped);
	free(p->a);
	free(p);
}

struct tsw_l2pop_plan *
tsw_l2pop_prepare(const struct tsw_dp *dp, enum tsw_l2pop_op op, const json_t *entries,
		  struct tsw_jerr *e)
{
	struct tsw_l2pop_plan *p = calloc(1, sizeof(*p));
	int rc;

	if (p == NULL || (p->skipped = json_array()) == NULL) {
		tsw_jerr_set(e, "fdb_entries", "out of memory");
		goto fail;
	}
	p->op = op;
	if (!json_is_object(entries)) {
		tsw_jerr_set(e, "fdb_entries", "missing or not an object");
		goto fail;
	}
	if (op == TSW_L2POP_UPDATE)
		rc = plan_update(dp, entries, p, e);
	else
		rc = plan_add_remove(dp, entries, op, p, e);
	if (rc < 0)
		goto fail;
	p->order = order_plan(p);
	p->group_skipped = calloc(p->n_groups ? p->n_groups : 1, 1);
	if (p->order == NULL || p->group_skipped == NULL) {
		tsw_jerr_set(e, "fdb_entries", "out of memory");
		goto fail;
	}
	return p;
fail:
	tsw_l2pop_plan_free(p);
	return NULL;
}

/* The MAC of a's removal is static behind another tunnel by now: a VM
 * that moved, whose old host's removal came after the new host's add.
 * Its ARP entry stays with it, as its FDB entry does. */
static bool
moved_elsewhere(const struct tsw_dp *dp, const struct act *a, int tun)
{
	struct tsw_fdb_key k;
	tsw_fdb_entry_t e;

	tsw_fdb_key_set(&k, a->net, &a->mac);
	e = tsw_fdb_get(dp->fdb, &k, 0);
	return tsw_fdb_entry_kind(e) == TSW_FDB_STATIC &&
	       tsw_fdb_entry_dest(e) != tsw_dest_tunnel(a->type, (uint16_t)tun);
}

static bool
has_local_port(const struct tsw_dp *dp, uint16_t net)
{
	const struct tsw_members *mb = tsw_dp_members(dp, net);

	return mb != NULL && mb->n_ports > 0;
}

/* List what was skipped while applying: once per network, or with
 * per_remote once per (network, agent IP) of the payload. */
static void
skip_at_apply(const struct tsw_dp *dp, struct tsw_l2pop_plan *p, const struct act *a,
	      bool per_remote, const char *reason)
{
	uint8_t *listed = per_remote ? &p->group_skipped[a->group] : &p->net_skipped[a->net];
	char ip[INET_ADDRSTRLEN];

	if (*listed)
		return;
	*listed = 1;
	if (!per_remote)
		skip(p, "network", dp->nets[a->net].name, reason);
	else
		json_array_append_new(p->skipped, json_pack("{s:s, s:s, s:s}", "network",
			dp->nets[a->net].name, "agent_ip", inet_ntop(AF_INET, &a->vtep, ip, sizeof(ip)), "reason", reason));
}

int
tsw_l2pop_step(struct tsw_dp *dp, struct tsw_l2pop_plan *p, size_t max, struct tsw_jerr *e)
{
	size_t end = p->n - p->next > max ? p->next + max : p->n;

	for (; p->next < end; p->next++) {
		const struct act *a = &p->a[p->order[p->next]];
		int tun = tsw_dp_tunnel_find(dp, a->type, a->vtep);
		int rc;

		/* Decided now, not when planned: requests before this one may
		 * have changed ports and tunnels meanwhile. Like the OVS agent:
		 * a network without a local port has no local VLAN there, so
		 * nothing of it is installed (nor removed: its entries went with
		 * its last port); a removal naming a remote without a tunnel is
		 * skipped whole, ARP entries included. */
		if (!has_local_port(dp, a->net)) {
			skip_at_apply(dp, p, a, false, "no local port on this network");
			continue;
		}
		if (p->op == TSW_L2POP_REMOVE && tun < 0) {
			skip_at_apply(dp, p, a, true, "no tunnel to this remote");
			continue;
		}

		switch (a->kind) {
		case A_FLOOD_ADD:
		case A_FDB_ADD:
			if (tun < 0) {
				tun = tsw_dp_tunnel_add(dp, a->type, a->vtep, false);
				p->created += tun >= 0;
			}
			if (tun >= 0)
				rc = a->kind == A_FLOOD_ADD
					? tsw_dp_flood_add(dp, a->net, (uint16_t)tun)
					: tsw_dp_fdb_static_add(dp, a->net, &a->mac, (uint16_t)tun);
			else
				rc = tun;
			break;
		case A_ARP_ADD:
			rc = tsw_dp_arp_add(dp, a->net, a->ip, &a->mac);
			break;
		case A_ARP_DEL:
			rc = 0;
			if (p->op == TSW_L2POP_REMOVE && moved_elsewhere(dp, a, tun))
				break;   /* the old host's late removal (tunsw choice) */
			rc = tsw_dp_arp_del(dp, a->net, a->ip, &a->mac);
			break;
		case A_FDB_DEL:
		case A_FLOOD_DEL:
		default:
			rc = 0;
			if (tun < 0)
				break;   /* nothing of ours there (R-L4) */
			rc = a->kind == A_FLOOD_DEL ? tsw_dp_flood_del(dp, a->net, (uint16_t)tun)
						   : tsw_dp_fdb_static_del(dp, a->net, &a->mac, tun);
			if (tsw_dp_tunnel_find(dp, a->type, a->vtep) < 0) {
				p->deleted++;
				end = p->next + 1;   /* a tunnel's removal scans the FDB: end the step */
			}
			break;
		}
		if (rc < 0) {
			/* Only resource exhaustion gets here: validation passed. */
			tsw_jerr_set(e, "fdb_entries", "table full after %zu of %zu changes: %s",
				     p->next, p->n, strerror(-rc));
			return -1;
		}
		/* what changed, not what was asked: repeated adds and removes of
		 * what is absent count nothing */
		if (rc > 0) {
			p->fdb += a->kind == A_FDB_ADD || a->kind == A_FDB_DEL;
			p->flood += a->kind == A_FLOOD_ADD || a->kind == A_FLOOD_DEL;
			p->arp += a->kind == A_ARP_ADD || a->kind == A_ARP_DEL;
		}
	}
	return p->next == p->n;
}

json_t *
tsw_l2pop_result(const struct tsw_l2pop_plan *p, struct tsw_jerr *e)
{
	json_t *res = json_pack("{s:i, s:i, s:i, s:i, s:i, s:O}", "fdb", p->fdb, "flood",
				p->flood, "arp", p->arp, "tunnels_created", p->created,
				"tunnels_deleted", p->deleted, "skipped", p->skipped);

	if (res == NULL)
		tsw_jerr_set(e, "fdb_entries", "out of memory");
	return res;
}

json_t *
tsw_l2pop_apply(struct tsw_dp *dp, enum tsw_l2pop_op op, const json_t *entries,
		struct tsw_jerr *e)
{
	struct tsw_l2pop_plan *p = tsw_l2pop_prepare(dp, op, entries, e);
	json_t *res = NULL;
	int rc = 0;

	while (p != NULL && rc == 0)
		rc = tsw_l2pop_step(dp, p, SIZE_MAX, e);
	if (rc == 1)
		res = tsw_l2pop_result(p, e);
	tsw_l2pop_plan_free(p);
	return res;
}
