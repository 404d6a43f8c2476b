/* SPDX-License-Identifier: BSD-3-Clause
 * Dataplane tables and their single writer. See tsw_dp.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "tsw_dp.h"
#include "tsw_portsec.h"

static struct rte_hash *
mk_hash(const char *prefix, const void *dp, uint32_t entries, uint32_t key_len,
	int socket, struct rte_rcu_qsbr *qsbr)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = entries,
		.key_len = key_len,
		.hash_func = tsw_hash8,   /* keyed; tsw_hash_sig8() is the same inline */
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_hash_rcu_config rc = { .v = qsbr, .mode = RTE_HASH_QSBR_MODE_DQ };
	struct rte_hash *h;

	snprintf(name, sizeof(name), "%s%p", prefix, dp);
	h = rte_hash_create(&hp);
	if (h != NULL && key_len == 8)
		rte_hash_set_cmp_func(h, tsw_key8_cmp);
	if (h != NULL && qsbr != NULL && rte_hash_rcu_qsbr_add(h, &rc) != 0) {
		rte_hash_free(h);
		h = NULL;
	}
	return h;
}

#define RETIRE_QUEUE 4096   /* pointers awaiting their grace period */
/* every owner at most once in the drain queue */
#define DRAIN_CAP (TSW_MAX_NETS + TSW_MAX_PORTS + TSW_TUN_NTYPES * TSW_MAX_TUNNELS)
enum { DRAIN_NET, DRAIN_DEST };

static void
free_retired(void *p, void *e, unsigned int n)
{
	void **ptrs = e;

	(void)p;
	for (unsigned int i = 0; i < n; i++)
		rte_free(ptrs[i]);
}

static void
free_retired_rs(void *p, void *e, unsigned int n)
{
	struct tsw_sg_ruleset **rs = e;

	(void)p;
	for (unsigned int i = 0; i < n; i++)
		tsw_sg_ruleset_free(rs[i]);
}

struct tsw_dp *
tsw_dp_create(const struct tsw_dp_conf *conf, struct rte_rcu_qsbr *qsbr,
	      unsigned int writer_thread, int socket)
{
	struct tsw_fdb_timeouts to = {
		.local_ms = (uint64_t)conf->mac_ageing_s * 1000,
		.tunnel_ms = (uint64_t)conf->tunnel_learn_timeout_s * 1000,
	};
	struct tsw_dp *dp = rte_zmalloc_socket("tsw_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE, socket);
	char name[RTE_HASH_NAMESIZE];

	if (dp == NULL)
		return NULL;
	dp->conf = *conf;
	if (dp->conf.ct_timeouts.s[TSW_CT_ESTABLISHED] == 0)
		tsw_ct_default_timeouts(&dp->conf.ct_timeouts);
	dp->qsbr = qsbr;
	dp->writer_thread = writer_thread;
	dp->socket = socket;
	snprintf(name, sizeof(name), "fdb%p", (void *)dp);
	dp->fdb = tsw_fdb_create(name, conf->fdb_size, socket, qsbr, &to);
	dp->net_by_id = mk_hash("nid", dp, TSW_MAX_NETS * 2, sizeof(uint64_t), socket, qsbr);
	dp->tun_by_ip = mk_hash("tip", dp, TSW_MAX_TUNNELS * 2 * 2, sizeof(uint64_t), socket, qsbr);
	dp->arp = mk_hash("arp", dp, conf->fdb_size, sizeof(struct tsw_arp_key), socket, qsbr);
	if (dp->arp != NULL)
		dp->arp_by_net = tsw_keylist_create((uint32_t)rte_hash_max_key_id(dp->arp) + 1,
						    TSW_MAX_NETS);
	dp->drain = calloc(DRAIN_CAP, sizeof(*dp->drain));
	snprintf(name, sizeof(name), "sgm%p", (void *)dp);
	dp->members = tsw_sg_members_create(name, conf->fdb_size, socket, qsbr);
	snprintf(name, sizeof(name), "rt%p", (void *)dp);
	dp->uplink_phys = -1;
	for (int i = 0; i < TSW_MAX_PHYSNETS; i++)
		memset(dp->phys[i].net_of_vid, 0xff, sizeof(dp->phys[i].net_of_vid));
	dp->routes = tsw_routes_create(name, socket, conf->encap.local_ip,
				       conf->prefix_len ? conf->prefix_len : 24);
	if (dp->fdb == NULL || dp->net_by_id == NULL || dp->tun_by_ip == NULL || dp->arp == NULL ||
	    dp->arp_by_net == NULL || dp->drain == NULL || dp->members == NULL ||
	    dp->routes == NULL) {
		tsw_dp_free(dp);
		return NULL;
	}
	if (qsbr != NULL) {
		/* Unpublished memory is freed once every worker has passed a
		 * quiescent state, without the writer waiting for it: one l2pop
		 * payload republishes a flood list per remote. */
		struct rte_rcu_qsbr_dq_parameters dqp = {
			.name = name, .size = RETIRE_QUEUE, .esize = sizeof(void *),
			.trigger_reclaim_limit = RETIRE_QUEUE / 4, .max_reclaim_size = 64,
			.free_fn = free_retired, .p = dp, .v = qsbr,
		};
		snprintf(name, sizeof(name), "rq%p", (void *)dp);
		dp->retired = rte_rcu_qsbr_dq_create(&dqp);
		snprintf(name, sizeof(name), "rr%p", (void *)dp);
		dqp.size = 1024;
		dqp.trigger_reclaim_limit = 256;
		dqp.free_fn = free_retired_rs;
		dp->retired_rs = rte_rcu_qsbr_dq_create(&dqp);
		if (dp->retired == NULL || dp->retired_rs == NULL) {
			tsw_dp_free(dp);
			return NULL;
		}
	}
	tsw_fdb_set_limits(dp->fdb, conf->mac_limit_port, conf->mac_limit_network);
	return dp;
}

void
tsw_dp_free(struct tsw_dp *dp)
{
	if (dp == NULL)
		return;
	if (dp->retired != NULL)
		rte_rcu_qsbr_dq_delete(dp->retired);   /* waits, then frees them all */
	if (dp->retired_rs != NULL)
		rte_rcu_qsbr_dq_delete(dp->retired_rs);
	for (int n = 0; n < TSW_MAX_NETS; n++) {
		rte_free(dp->nets[n].members);
		rte_free(dp->flood_explicit[n]);
	}
	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		for (int i = 0; i < TSW_MAX_TUNNELS; i++)
			rte_free(dp->tunnels[t][i].hdr);
	for (int p = 0; p < TSW_MAX_PORTS; p++)
		rte_free((void *)(uintptr_t)dp->ports[p].sec);
	tsw_fdb_free(dp->fdb);
	rte_hash_free(dp->net_by_id);
	rte_hash_free(dp->tun_by_ip);
	rte_hash_free(dp->arp);
	tsw_keylist_free(dp->arp_by_net);
	tsw_ct_free(dp->ct);
	tsw_sg_members_free(dp->members);
	free(dp->drain);
	tsw_routes_free(dp->routes);
	rte_free(dp);
}

/* Free what was unpublished once no worker can still see it: queued for
 * after a grace period (the writer does not wait), or, when the queue is
 * full, wait for one now. */
static void
retire(struct tsw_dp *dp, void *old)
{
	if (old == NULL)
		return;
	if (dp->retired != NULL && rte_rcu_qsbr_dq_enqueue(dp->retired, &old) == 0)
		return;
	if (dp->qsbr != NULL)
		rte_rcu_qsbr_synchronize(dp->qsbr, dp->writer_thread);
	rte_free(old);
}

void
tsw_dp_reclaim(struct tsw_dp *dp)
{
	unsigned int freed, pending, avail;

	if (dp->retired != NULL)
		rte_rcu_qsbr_dq_reclaim(dp->retired, RETIRE_QUEUE, &freed, &pending, &avail);
	if (dp->retired_rs != NULL)
		rte_rcu_qsbr_dq_reclaim(dp->retired_rs, 1024, &freed, &pending, &avail);
}

void
tsw_dp_retire_ruleset(struct tsw_dp *dp, struct tsw_sg_ruleset *rs)
{
	if (rs == NULL)
		return;
	if (dp->retired_rs != NULL && rte_rcu_qsbr_dq_enqueue(dp->retired_rs, &rs) == 0)
		return;
	if (dp->qsbr != NULL)
		rte_rcu_qsbr_synchronize(dp->qsbr, dp->writer_thread);
	tsw_sg_ruleset_free(rs);
}

static void
retire_cb(void *arg, void *p)
{
	retire(arg, p);
}

int
tsw_dp_sg_member_set(struct tsw_dp *dp, uint16_t group, bool v6, const uint8_t *addr,
		     uint8_t len, bool add)
{
	return tsw_sg_member_set(dp->members, group, v6, addr, len, add, retire_cb, dp);
}

/* The connection table, made with the first rule set (before any worker
 * can see one). */
static int
ct_made(struct tsw_dp *dp)
{
	char name[RTE_HASH_NAMESIZE];
	struct tsw_ct *ct;

	if (dp->ct != NULL)
		return 0;
	snprintf(name, sizeof(name), "ct%p", (void *)dp);
	ct = tsw_ct_create(name, dp->conf.max_connections ? dp->conf.max_connections : 65536,
			   dp->socket, dp->qsbr, &dp->conf.ct_timeouts);
	if (ct == NULL)
		return -ENOMEM;
	tsw_ct_set_port_limit(ct, dp->conf.max_connections_per_port);
	__atomic_store_n(&dp->ct, ct, __ATOMIC_RELEASE);
	return 0;
}

int
tsw_dp_port_sg_set(struct tsw_dp *dp, uint16_t port, const struct tsw_sg_ruleset *rs)
{
	if (port >= TSW_MAX_PORTS || !dp->ports[port].in_use)
		return -ENOENT;
	if (rs != NULL && ct_made(dp) < 0)
		return -ENOMEM;
	__atomic_store_n(&dp->ports[port].sg, rs, __ATOMIC_RELEASE);
	return 0;
}

bool
tsw_dp_arp_lookup(const struct tsw_dp *dp, uint16_t net, uint32_t ip, struct rte_ether_addr *mac)
{
	struct tsw_arp_key k = { .net = net, .ip = ip };
	void *d;
	uint64_t v;

	if (rte_hash_lookup_data(dp->arp, &k, &d) < 0)
		return false;
	v = (uint64_t)(uintptr_t)d;
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac->addr_bytes[i] = (uint8_t)(v >> (8 * (5 - i)));
	return true;
}

/* ---- members publication ---- */

static int
republish(struct tsw_dp *dp, uint16_t net)
{
	struct tsw_network *n = &dp->nets[net];
	uint16_t n_flood = 0;
	struct tsw_members *m, *old;

	if (n->kind != TSW_NET_TUNNEL) {
		n_flood = 0;                  /* P is the network's outside (R-V3) */
	} else if (dp->conf.l2_population) {
		n_flood = dp->n_flood_explicit[net];
	} else {
		for (int i = 0; i < TSW_MAX_TUNNELS; i++)
			n_flood += dp->tunnels[n->type][i].in_use;
	}
	m = rte_zmalloc_socket("tsw_members", sizeof(*m) + n_flood * sizeof(uint16_t),
			       RTE_CACHE_LINE_SIZE, dp->socket);
	if (m == NULL)
		return -ENOMEM;
	for (uint16_t p = 0; p < TSW_MAX_PORTS; p++)
		if (dp->ports[p].in_use && dp->ports[p].net == net)
			m->ports[m->n_ports++] = p;
	if (n->kind != TSW_NET_TUNNEL) {
		m->n_flood = 0;
	} else if (dp->conf.l2_population) {
		if (n_flood > 0)
			memcpy(m->flood, dp->flood_explicit[net], n_flood * sizeof(uint16_t));
		m->n_flood = n_flood;
	} else {
		for (uint16_t i = 0; i < TSW_MAX_TUNNELS; i++)
			if (dp->tunnels[n->type][i].in_use)
				m->flood[m->n_flood++] = i;
	}
	old = n->members;
	__atomic_store_n(&n->members, m, __ATOMIC_RELEASE);
	retire(dp, old);
	return 0;
}

static void
republish_type(struct tsw_dp *dp, enum tsw_tun_type t)
{
	for (uint16_t n = 0; n < TSW_MAX_NETS; n++)
		if (dp->nets[n].in_use && dp->nets[n].kind == TSW_NET_TUNNEL &&
		    dp->nets[n].type == t)
			republish(dp, n);
}

/* ---- networks ---- */

int
tsw_dp_net_find(const struct tsw_dp *dp, const char *name)
{
	for (int n = 0; n < TSW_MAX_NETS; n++)
		if (dp->nets[n].in_use && strcmp(dp->nets[n].name, name) == 0)
			return n;
	return -ENOENT;
}

int
tsw_dp_net_by_id(const struct tsw_dp *dp, enum tsw_tun_type t, uint32_t id)
{
	uint64_t k = tsw_dp_id_key(t, id);
	void *d;

	if (rte_hash_lookup_data(dp->net_by_id, &k, &d) < 0)
		return -ENOENT;
	return (int)(uintptr_t)d;
}

/* A network in a free slot, its (empty) members published. Its index, or
 * -ENOSPC, -ENOMEM. */
static int
net_create(struct tsw_dp *dp, const char *name, enum tsw_net_kind kind, uint8_t phys,
	   uint16_t vlan, enum tsw_tun_type t, uint32_t id)
{
	struct tsw_network *net;
	int n;

	for (n = 0; n < TSW_MAX_NETS && (dp->nets[n].in_use || dp->nets[n].draining); n++)
		;
	if (n == TSW_MAX_NETS)
		return -ENOSPC;
	net = &dp->nets[n];
	snprintf(net->name, sizeof(net->name), "%s", name);
	net->kind = (uint8_t)kind;
	net->phys = phys;
	net->vlan = vlan;
	net->type = t;
	net->seg_id = id;
	net->in_use = true;
	dp->gen++;
	dp->net_gen[n]++;
	if (republish(dp, (uint16_t)n) < 0) {
		net->in_use = false;
		return -ENOMEM;
	}
	return n;
}

int
tsw_dp_net_add(struct tsw_dp *dp, const char *name, enum tsw_tun_type t, uint32_t id)
{
	uint64_t k = tsw_dp_id_key(t, id);
	int n;

	if (t >= TSW_TUN_NTYPES || id == 0 || (t == TSW_TUN_VXLAN && id > 0xffffff))
		return -EINVAL;
	if (name == NULL || strlen(name) == 0 || strlen(name) >= TSW_NAME_LEN)
		return -EINVAL;
	if (tsw_dp_net_find(dp, name) >= 0 || tsw_dp_net_by_id(dp, t, id) >= 0)
		return -EEXIST;
	n = net_create(dp, name, TSW_NET_TUNNEL, 0, 0, t, id);
	if (n < 0)
		return n;
	struct tsw_network *net = &dp->nets[n];
	/* Visible to decapsulation only once complete. */
	if (rte_hash_add_key_data(dp->net_by_id, &k, (void *)(uintptr_t)n) < 0) {
		net->in_use = false;
		retire(dp, net->members);
		net->members = NULL;
		return -ENOSPC;
	}
	return n;
}

int
tsw_dp_physnet_find(const struct tsw_dp *dp, const char *name)
{
	for (int i = 0; i < TSW_MAX_PHYSNETS; i++)
		if (dp->phys[i].in_use && strcmp(dp->phys[i].name, name) == 0)
			return i;
	return -ENOENT;
}

int
tsw_dp_physnet_add(struct tsw_dp *dp, const char *name, const char *device, uint16_t out,
		   uint16_t mtu)
{
	int i;

	if (name == NULL || strlen(name) == 0 || strlen(name) >= TSW_NAME_LEN || mtu < 68)
		return -EINVAL;
	if (out != TSW_OUT_UPLINK && (out < TSW_OUT_PHYS0 || out >= TSW_N_OUTS))
		return -EINVAL;
	if (tsw_dp_physnet_find(dp, name) >= 0 || (out == TSW_OUT_UPLINK && dp->uplink_phys >= 0))
		return -EEXIST;
	for (i = 0; i < TSW_MAX_PHYSNETS; i++)
		if (dp->phys[i].in_use && dp->phys[i].out == out)
			return -EEXIST;
	for (i = 0; i < TSW_MAX_PHYSNETS && dp->phys[i].in_use; i++)
		;
	if (i == TSW_MAX_PHYSNETS)
		return -ENOSPC;
	snprintf(dp->phys[i].name, sizeof(dp->phys[i].name), "%s", name);
	snprintf(dp->phys[i].device, sizeof(dp->phys[i].device), "%s",
		 device != NULL ? device : "");
	dp->phys[i].out = out;
	dp->phys[i].mtu = mtu;
	__atomic_store_n(&dp->phys[i].in_use, true, __ATOMIC_RELEASE);
	if (out == TSW_OUT_UPLINK)
		__atomic_store_n(&dp->uplink_phys, (int16_t)i, __ATOMIC_RELEASE);
	return i;
}

int
tsw_dp_net_add_provider(struct tsw_dp *dp, const char *name, uint16_t ph, uint16_t vlan)
{
	int n;

	if (name == NULL || strlen(name) == 0 || strlen(name) >= TSW_NAME_LEN || vlan > 4094)
		return -EINVAL;
	if (ph >= TSW_MAX_PHYSNETS || !dp->phys[ph].in_use)
		return -ENOENT;
	if (tsw_dp_net_find(dp, name) >= 0 || tsw_dp_phys_net(dp, ph, vlan) >= 0)
		return -EEXIST;
	n = net_create(dp, name, vlan != 0 ? TSW_NET_VLAN : TSW_NET_FLAT, (uint8_t)ph, vlan,
		       TSW_TUN_VXLAN /* unused */, vlan);
	if (n < 0)
		return n;
	/* Visible to the physical network's frames only once complete. */
	__atomic_store_n(&dp->phys[ph].net_of_vid[vlan], (uint16_t)n, __ATOMIC_RELEASE);
	return n;
}

static bool
net_has_port(const struct tsw_dp *dp, uint16_t net)
{
	for (int p = 0; p < TSW_MAX_PORTS; p++)
		if (dp->ports[p].in_use && dp->ports[p].net == net)
			return true;
	return false;
}

static void
drain_queue(struct tsw_dp *dp, uint8_t kind, uint16_t id)
{
	dp->drain[(dp->drain_head + dp->drain_len++) % DRAIN_CAP] =
		(struct tsw_drain){ .kind = kind, .id = id };
}

/* Remove a network's flood set now, and queue its FDB entries (static ones
 * with their tunnel references) and ARP entries for tsw_dp_drain(). */
static void
drop_net_entries(struct tsw_dp *dp, uint16_t net)
{
	while (dp->n_flood_explicit[net] > 0)
		tsw_dp_flood_del(dp, net, dp->flood_explicit[net][0]);
	if (!dp->nets[net].draining) {
		dp->nets[net].draining = true;
		drain_queue(dp, DRAIN_NET, net);
	}
}

static void tunnel_unref(struct tsw_dp *dp, enum tsw_tun_type t, uint16_t idx);

/* Delete an ARP key (its slot freed at once when no worker reads: without
 * RCU, rte_hash leaves that to the caller). 1 if it was there. */
static int
arp_del_key(struct tsw_dp *dp, const struct tsw_arp_key *k)
{
	int32_t pos = rte_hash_del_key(dp->arp, k);

	if (pos < 0)
		return 0;
	tsw_keylist_move(dp->arp_by_net, (uint32_t)pos, k->net, TSW_KEYLIST_NONE);
	if (dp->qsbr == NULL)
		rte_hash_free_key_with_position(dp->arp, pos);
	return 1;
}

/* Up to max of network net's FDB and ARP entries; true when none is left. */
static bool
drain_net(struct tsw_dp *dp, uint16_t net, unsigned int max, unsigned int *done)
{
	struct tsw_fdb_key fk;

	while (*done < max && tsw_fdb_net_first(dp->fdb, net, &fk) == 0) {
		tsw_fdb_entry_t e = tsw_fdb_get(dp->fdb, &fk, 0);
		uint16_t d = tsw_fdb_entry_dest(e);
		/* a static entry and its tunnel reference, and what was learned,
		 * alone or under it */
		tsw_fdb_del(dp->fdb, &fk, TSW_FDB_NONE);
		if (tsw_fdb_entry_kind(e) == TSW_FDB_STATIC && tsw_dest_is_tunnel(d))
			tunnel_unref(dp, tsw_dest_tun_type(d), tsw_dest_index(d));
		(*done)++;
	}
	while (*done < max) {
		uint32_t pos = tsw_keylist_first(dp->arp_by_net, net);
		void *key;
		if (pos == TSW_KEYLIST_NONE ||
		    rte_hash_get_key_with_position(dp->arp, (int32_t)pos, &key) < 0)
			break;
		struct tsw_arp_key ak;
		memcpy(&ak, key, sizeof(ak));
		arp_del_key(dp, &ak);
		(*done)++;
	}
	return tsw_fdb_net_count(dp->fdb, net) == 0 &&
	       tsw_keylist_count(dp->arp_by_net, net) == 0;
}

unsigned int
tsw_dp_drain(struct tsw_dp *dp, unsigned int max)
{
	unsigned int done = 0;

	while (dp->drain_len > 0 && done < max) {
		struct tsw_drain *it = &dp->drain[dp->drain_head];
		bool finished;

		if (it->kind == DRAIN_NET) {
			finished = drain_net(dp, it->id, max, &done);
			if (finished)
				dp->nets[it->id].draining = false;
		} else {
			done += tsw_fdb_flush_dest(dp->fdb, it->id, true, max - done);
			finished = tsw_fdb_dest_count(dp->fdb, it->id, true) == 0;
			if (finished && tsw_dest_is_tunnel(it->id))
				dp->tunnels[tsw_dest_tun_type(it->id)][tsw_dest_index(it->id)]
					.draining = false;
			else if (finished)
				dp->ports[it->id].draining = false;
		}
		if (!finished)
			break;
		dp->drain_head = (dp->drain_head + 1) % DRAIN_CAP;
		dp->drain_len--;
	}
	return done;
}

bool
tsw_dp_drain_pending(const struct tsw_dp *dp)
{
	return dp->drain_len > 0;
}

int
tsw_dp_net_del(struct tsw_dp *dp, uint16_t net)
{
	struct tsw_network *n;
	uint64_t k;

	if (net >= TSW_MAX_NETS || !dp->nets[net].in_use)
		return -ENOENT;
	n = &dp->nets[net];
	if (net_has_port(dp, net))
		return -EBUSY;
	if (n->kind == TSW_NET_TUNNEL) {
		k = tsw_dp_id_key(n->type, n->seg_id);
		rte_hash_del_key(dp->net_by_id, &k);
	} else {
		__atomic_store_n(&dp->phys[n->phys].net_of_vid[n->vlan], TSW_VID_NONE,
				 __ATOMIC_RELEASE);
	}
	drop_net_entries(dp, net);
	n->in_use = false;
	struct tsw_members *old = n->members;
	__atomic_store_n(&n->members, NULL, __ATOMIC_RELEASE);
	retire(dp, old);
	return 0;
}

/* ---- VM ports ---- */

int
tsw_dp_port_find(const struct tsw_dp *dp, const char *name)
{
	for (int p = 0; p < TSW_MAX_PORTS; p++)
		if (dp->ports[p].in_use && strcmp(dp->ports[p].name, name) == 0)
			return p;
	return -ENOENT;
}

static int ct_made(struct tsw_dp *dp);

int
tsw_dp_port_add(struct tsw_dp *dp, const char *name, uint16_t eth_port, uint16_t net,
		const struct tsw_port_policy *pol)
{
	const struct tsw_portsec *ps = pol != NULL ? pol->ps : NULL;
	struct tsw_portsec *sec = NULL;
	int p;

	if (net >= TSW_MAX_NETS || !dp->nets[net].in_use)
		return -ENOENT;
	if (name == NULL || strlen(name) == 0 || strlen(name) >= TSW_NAME_LEN)
		return -EINVAL;
	if (tsw_dp_port_find(dp, name) >= 0 || tsw_dp_physnet_find(dp, name) >= 0 ||
	    strcmp(name, "uplink") == 0)
		return -EEXIST;       /* outputs are named by these too */
	for (p = 0; p < TSW_MAX_PORTS && (dp->ports[p].in_use || dp->ports[p].draining); p++)
		;
	if (p == TSW_MAX_PORTS)
		return -ENOSPC;
	if (ps != NULL) {
		sec = rte_malloc_socket("tsw_portsec", sizeof(*sec), RTE_CACHE_LINE_SIZE, dp->socket);
		if (sec == NULL)
			return -ENOMEM;
		*sec = *ps;
	}
	if (pol != NULL && pol->sg != NULL && ct_made(dp) < 0) {   /* the table first */
		rte_free(sec);
		return -ENOMEM;
	}
	snprintf(dp->ports[p].name, sizeof(dp->ports[p].name), "%s", name);
	dp->ports[p].eth_port = eth_port;
	dp->ports[p].net = net;
	dp->ports[p].sec = sec;                 /* in force before the port is */
	dp->ports[p].sg = pol != NULL ? pol->sg : NULL;
	__atomic_store_n(&dp->ports[p].in_use, true, __ATOMIC_RELEASE);
	dp->gen++;
	dp->port_gen[p]++;
	republish(dp, net);
	return p;
}

int
tsw_dp_port_del(struct tsw_dp *dp, uint16_t port)
{
	uint16_t net;

	if (port >= TSW_MAX_PORTS || !dp->ports[port].in_use)
		return -ENOENT;
	net = dp->ports[port].net;
	__atomic_store_n(&dp->ports[port].in_use, false, __ATOMIC_RELEASE);
	republish(dp, net);
	/* its entries go in steps (tsw_dp_drain), the index after them */
	dp->ports[port].draining = true;
	drain_queue(dp, DRAIN_DEST, tsw_dest_port(port));
	/* No worker may still hold the port index when it is reused. */
	if (dp->qsbr != NULL)
		rte_rcu_qsbr_synchronize(dp->qsbr, dp->writer_thread);
	rte_free((void *)(uintptr_t)dp->ports[port].sec);   /* no reader left */
	dp->ports[port].sec = NULL;
	dp->ports[port].sg = NULL;        /* the rule set is its owner's to retire */
	/* With l2population, a network's entries live as long as it has a
	 * local port (the OVS agent reclaims the network's local VLAN with its
	 * flood, unicast and ARP flows when its last port goes, and ignores
	 * the network's l2population messages while it has no port here). */
	if (dp->conf.l2_population && !net_has_port(dp, net))
		drop_net_entries(dp, net);
	return 0;
}

int
tsw_dp_port_security_set(struct tsw_dp *dp, uint16_t port, const struct tsw_portsec *ps)
{
	struct tsw_portsec *n = NULL;
	const struct tsw_portsec *old;

	if (port >= TSW_MAX_PORTS || !dp->ports[port].in_use)
		return -ENOENT;
	if (ps != NULL) {
		n = rte_malloc_socket("tsw_portsec", sizeof(*n), RTE_CACHE_LINE_SIZE, dp->socket);
		if (n == NULL)
			return -ENOMEM;
		*n = *ps;
	}
	old = dp->ports[port].sec;
	__atomic_store_n(&dp->ports[port].sec, n, __ATOMIC_RELEASE);
	retire(dp, (void *)(uintptr_t)old);
	return 0;
}

/* ---- tunnels ---- */

static const struct rte_ether_addr *
neighbor_mac(const struct tsw_dp *dp, uint32_t ip)
{
	const struct tsw_neigh *n = tsw_dp_neighbor_get(dp, ip);
	return n != NULL ? &n->mac : NULL;
}

/* The tunnel's outer header from its route and next hop: NULL without a
 * route; marked unresolved (frames punted to the writer, which resolves
 * the next hop by ARP) while the next hop's MAC is unknown. */
static int
rebuild_hdr(struct tsw_dp *dp, enum tsw_tun_type t, uint16_t idx)
{
	struct tsw_tunnel *tun = &dp->tunnels[t][idx];
	uint32_t nh = tsw_routes_next_hop(dp->routes, tun->remote_ip);
	const struct rte_ether_addr *mac = nh ? neighbor_mac(dp, nh) : NULL;
	struct tsw_encap_hdr *h = NULL, *old;

	tun->nh_ip = nh;
	if (nh != 0) {
		struct tsw_encap_params p = dp->conf.encap;

		h = rte_zmalloc_socket("tsw_hdr", sizeof(*h), RTE_CACHE_LINE_SIZE, dp->socket);
		if (h == NULL)
			return -ENOMEM;
		p.type = t;
		p.remote_ip = tun->remote_ip;
		if (mac != NULL)
			p.dst_mac = *mac;
		tsw_encap_hdr_build(h, &p);
		h->unresolved = mac == NULL;
		h->nh_ip = nh;
	}
	old = tun->hdr;
	__atomic_store_n(&tun->hdr, h, __ATOMIC_RELEASE);
	retire(dp, old);
	return 0;
}

static void
rebuild_where(struct tsw_dp *dp, uint32_t nh_ip)
{
	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		for (uint16_t j = 0; j < TSW_MAX_TUNNELS; j++)
			if (dp->tunnels[t][j].in_use &&
			    (nh_ip == 0 || dp->tunnels[t][j].nh_ip == nh_ip))
				rebuild_hdr(dp, (enum tsw_tun_type)t, j);
}

int
tsw_dp_tunnel_find(const struct tsw_dp *dp, enum tsw_tun_type t, uint32_t ip)
{
	uint64_t k = tsw_dp_id_key(t, ip);
	void *d;

	if (t >= TSW_TUN_NTYPES || rte_hash_lookup_data(dp->tun_by_ip, &k, &d) < 0)
		return -ENOENT;
	return (int)(uintptr_t)d;
}

/* A free tunnel index no worker can still be using: one deleted a grace
 * period ago or never used; when only recently deleted ones are left,
 * wait for their grace period. */
static int
free_tunnel_slot(struct tsw_dp *dp, enum tsw_tun_type t)
{
	int waiting = -1;

	for (int i = 0; i < TSW_MAX_TUNNELS; i++) {
		struct tsw_tunnel *tun = &dp->tunnels[t][i];
		if (tun->in_use || tun->draining)
			continue;
		if (!tun->quarantined || dp->qsbr == NULL ||
		    rte_rcu_qsbr_check(dp->qsbr, tun->reuse_token, false) == 1)
			return i;
		if (waiting < 0)
			waiting = i;
	}
	if (waiting >= 0)
		rte_rcu_qsbr_synchronize(dp->qsbr, dp->writer_thread);
	return waiting;
}

int
tsw_dp_tunnel_add(struct tsw_dp *dp, enum tsw_tun_type t, uint32_t ip, bool configured)
{
	uint64_t k = tsw_dp_id_key(t, ip);
	int i = tsw_dp_tunnel_find(dp, t, ip);

	if (t >= TSW_TUN_NTYPES || !dp->conf.decap.type_enabled[t])
		return -EINVAL;
	if (ip == 0 || ip == dp->conf.encap.local_ip)
		return -EINVAL;
	if (i >= 0) {
		dp->tunnels[t][i].configured |= configured;
		return i;
	}
	i = free_tunnel_slot(dp, t);
	if (i < 0)
		return -ENOSPC;
	struct tsw_tunnel *tun = &dp->tunnels[t][i];
	tun->quarantined = false;
	tun->remote_ip = ip;
	tun->static_refs = 0;
	tun->configured = configured;
	if (rebuild_hdr(dp, t, (uint16_t)i) < 0)
		return -ENOMEM;
	__atomic_store_n(&tun->in_use, true, __ATOMIC_RELEASE);
	dp->gen++;
	dp->tun_gen[t][i]++;
	if (rte_hash_add_key_data(dp->tun_by_ip, &k, (void *)(uintptr_t)i) < 0) {
		tun->in_use = false;
		rebuild_hdr(dp, t, (uint16_t)i);
		return -ENOSPC;
	}
	if (!dp->conf.l2_population)
		republish_type(dp, t);
	return i;
}

int
tsw_dp_tunnel_del(struct tsw_dp *dp, enum tsw_tun_type t, uint16_t idx)
{
	struct tsw_tunnel *tun;
	uint64_t k;

	if (t >= TSW_TUN_NTYPES || idx >= TSW_MAX_TUNNELS || !dp->tunnels[t][idx].in_use)
		return -ENOENT;
	tun = &dp->tunnels[t][idx];
	k = tsw_dp_id_key(t, tun->remote_ip);
	rte_hash_del_key(dp->tun_by_ip, &k);
	__atomic_store_n(&tun->in_use, false, __ATOMIC_RELEASE);
	for (uint16_t n = 0; n < TSW_MAX_NETS; n++) {
		if (!dp->nets[n].in_use || dp->nets[n].kind != TSW_NET_TUNNEL ||
		    dp->nets[n].type != t)
			continue;
		for (uint16_t j = 0; j < dp->n_flood_explicit[n]; j++) {
			if (dp->flood_explicit[n][j] == idx) {
				dp->flood_explicit[n][j] =
					dp->flood_explicit[n][--dp->n_flood_explicit[n]];
				break;
			}
		}
		republish(dp, n);
	}
	tun->draining = true;      /* its entries go in steps (tsw_dp_drain) */
	drain_queue(dp, DRAIN_DEST, tsw_dest_tunnel(t, idx));
	tun->static_refs = 0;
	tun->configured = false;
	struct tsw_encap_hdr *old = tun->hdr;
	__atomic_store_n(&tun->hdr, NULL, __ATOMIC_RELEASE);
	retire(dp, old);
	/* and a grace period before the index is reused (free_tunnel_slot) */
	if (dp->qsbr != NULL) {
		tun->reuse_token = rte_rcu_qsbr_start(dp->qsbr);
		tun->quarantined = true;
	}
	return 0;
}

static void
tunnel_unref(struct tsw_dp *dp, enum tsw_tun_type t, uint16_t idx)
{
	struct tsw_tunnel *tun = &dp->tunnels[t][idx];

	if (tun->static_refs > 0)
		tun->static_refs--;
	if (tun->static_refs == 0 && !tun->configured)
		tsw_dp_tunnel_del(dp, t, idx);
}

const struct tsw_neigh *
tsw_dp_neighbor_get(const struct tsw_dp *dp, uint32_t ip)
{
	for (int i = 0; i < dp->n_neigh; i++)
		if (dp->neigh[i].ip == ip)
			return &dp->neigh[i];
	return NULL;
}

bool
tsw_dp_next_hop_used(const struct tsw_dp *dp, uint32_t ip)
{
	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		for (uint16_t j = 0; j < TSW_MAX_TUNNELS; j++)
			if (dp->tunnels[t][j].in_use && dp->tunnels[t][j].nh_ip == ip)
				return true;
	return false;
}

int
tsw_dp_neighbor_set(struct tsw_dp *dp, uint32_t ip, const struct rte_ether_addr *mac,
		    bool is_static)
{
	int i;

	for (i = 0; i < dp->n_neigh && dp->neigh[i].ip != ip; i++)
		;
	if (i < dp->n_neigh) {
		if (dp->neigh[i].is_static && !is_static)
			return 0;            /* ARP never overrides a static entry */
		if (rte_is_same_ether_addr(&dp->neigh[i].mac, mac) &&
		    dp->neigh[i].is_static == is_static)
			return 0;
	} else {
		if (dp->n_neigh == TSW_MAX_NEIGH)
			return -ENOSPC;
		dp->n_neigh++;
	}
	dp->neigh[i].ip = ip;
	dp->neigh[i].mac = *mac;
	dp->neigh[i].is_static = is_static;
	rebuild_where(dp, ip);
	return 1;
}

int
tsw_dp_neighbor_del(struct tsw_dp *dp, uint32_t ip)
{
	for (int i = 0; i < dp->n_neigh; i++)
		if (dp->neigh[i].ip == ip) {
			dp->neigh[i] = dp->neigh[--dp->n_neigh];
			rebuild_where(dp, ip);
			return 0;
		}
	return -ENOENT;
}

int
tsw_dp_route_add(struct tsw_dp *dp, uint32_t prefix, uint8_t len, uint32_t via,
		 enum tsw_route_origin origin)
{
	int rc = tsw_routes_add(dp->routes, prefix, len, via, origin);

	if (rc == 0)
		rebuild_where(dp, 0);
	return rc;
}

int
tsw_dp_route_del(struct tsw_dp *dp, uint32_t prefix, uint8_t len)
{
	int rc = tsw_routes_del(dp->routes, prefix, len);

	if (rc == 0)
		rebuild_where(dp, 0);
	return rc;
}

/* ---- flood sets (l2population) ---- */

int
tsw_dp_flood_add(struct tsw_dp *dp, uint16_t net, uint16_t tunnel)
{
	enum tsw_tun_type t;
	uint16_t *a;

	if (net >= TSW_MAX_NETS || !dp->nets[net].in_use)
		return -ENOENT;
	if (dp->nets[net].kind != TSW_NET_TUNNEL)
		return -EINVAL;          /* no tunnels on a provider network */
	t = dp->nets[net].type;
	if (tunnel >= TSW_MAX_TUNNELS || !dp->tunnels[t][tunnel].in_use)
		return -ENOENT;
	for (uint16_t j = 0; j < dp->n_flood_explicit[net]; j++)
		if (dp->flood_explicit[net][j] == tunnel)
			return 0;   /* idempotent (R-L4) */
	a = rte_realloc_socket(dp->flood_explicit[net],
			       (dp->n_flood_explicit[net] + 1u) * sizeof(uint16_t), 0, dp->socket);
	if (a == NULL)
		return -ENOMEM;
	a[dp->n_flood_explicit[net]++] = tunnel;
	dp->flood_explicit[net] = a;
	dp->tunnels[t][tunnel].static_refs++;
	if (dp->conf.l2_population)
		republish(dp, net);
	return 1;
}

int
tsw_dp_flood_del(struct tsw_dp *dp, uint16_t net, uint16_t tunnel)
{
	if (net >= TSW_MAX_NETS || !dp->nets[net].in_use)
		return -ENOENT;
	for (uint16_t j = 0; j < dp->n_flood_explicit[net]; j++) {
		if (dp->flood_explicit[net][j] != tunnel)
			continue;
		dp->flood_explicit[net][j] = dp->flood_explicit[net][--dp->n_flood_explicit[net]];
		if (dp->conf.l2_population)
			republish(dp, net);
		tunnel_unref(dp, dp->nets[net].type, tunnel);
		return 1;
	}
	return 0;   /* R-L4: removing what is absent is not an error */
}

/* ---- static FDB and ARP ---- */

int
tsw_dp_fdb_static_add(struct tsw_dp *dp, uint16_t net, const struct rte_ether_addr *mac,
		      uint16_t tunnel)
{
	struct tsw_fdb_key k;
	tsw_fdb_entry_t old;
	enum tsw_tun_type t;
	uint16_t dest;

	if (net >= TSW_MAX_NETS || !dp->nets[net].in_use)
		return -ENOENT;
	if (!rte_is_unicast_ether_addr(mac) || rte_is_zero_ether_addr(mac) ||
	    dp->nets[net].kind != TSW_NET_TUNNEL)
		return -EINVAL;
	t = dp->nets[net].type;
	if (tunnel >= TSW_MAX_TUNNELS || !dp->tunnels[t][tunnel].in_use)
		return -ENOENT;
	dest = tsw_dest_tunnel(t, tunnel);
	tsw_fdb_key_set(&k, net, mac);
	old = tsw_fdb_get(dp->fdb, &k, 0);
	if (tsw_fdb_entry_kind(old) == TSW_FDB_STATIC && tsw_fdb_entry_dest(old) == dest)
		return 0;   /* idempotent (R-L4) */
	if (tsw_fdb_add_static(dp->fdb, &k, dest) < 0)
		return -ENOSPC;
	dp->tunnels[t][tunnel].static_refs++;
	if (tsw_fdb_entry_kind(old) == TSW_FDB_STATIC && tsw_dest_is_tunnel(tsw_fdb_entry_dest(old)))
		tunnel_unref(dp, t, tsw_dest_index(tsw_fdb_entry_dest(old)));
	return 1;
}

int
tsw_dp_fdb_static_del(struct tsw_dp *dp, uint16_t net, const struct rte_ether_addr *mac,
		      int tunnel)
{
	struct tsw_fdb_key k;
	tsw_fdb_entry_t old;
	uint16_t d;

	if (net >= TSW_MAX_NETS || !dp->nets[net].in_use)
		return -ENOENT;
	tsw_fdb_key_set(&k, net, mac);
	old = tsw_fdb_get(dp->fdb, &k, 0);
	d = tsw_fdb_entry_dest(old);
	if (tsw_fdb_entry_kind(old) != TSW_FDB_STATIC)
		return 0;
	if (tunnel >= 0 && d != tsw_dest_tunnel(dp->nets[net].type, (uint16_t)tunnel))
		return 0;   /* it points elsewhere now: not ours to remove */
	tsw_fdb_del(dp->fdb, &k, TSW_FDB_STATIC);
	if (tsw_dest_is_tunnel(d))
		tunnel_unref(dp, dp->nets[net].type, tsw_dest_index(d));
	return 1;
}

int
tsw_dp_arp_add(struct tsw_dp *dp, uint16_t net, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct tsw_arp_key k = { .net = net, .ip = ip };
	struct rte_ether_addr cur;
	uint64_t v = 0;

	if (net >= TSW_MAX_NETS || !dp->nets[net].in_use)
		return -ENOENT;
	if (ip == 0 || !rte_is_unicast_ether_addr(mac) || rte_is_zero_ether_addr(mac) ||
	    dp->nets[net].kind != TSW_NET_TUNNEL)
		return -EINVAL;     /* no ARP responder on a provider network */
	if (tsw_dp_arp_lookup(dp, net, ip, &cur) && rte_is_same_ether_addr(&cur, mac))
		return 0;   /* idempotent (R-L4) */
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		v = (v << 8) | mac->addr_bytes[i];
	bool fresh = rte_hash_lookup(dp->arp, &k) < 0;
	if (rte_hash_add_key_data(dp->arp, &k, (void *)(uintptr_t)v) < 0)
		return -ENOSPC;
	if (fresh)
		tsw_keylist_move(dp->arp_by_net, (uint32_t)rte_hash_lookup(dp->arp, &k),
				 TSW_KEYLIST_NONE, net);
	return 1;
}

int
tsw_dp_arp_del(struct tsw_dp *dp, uint16_t net, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct tsw_arp_key k = { .net = net, .ip = ip };
	struct rte_ether_addr cur;

	if (net >= TSW_MAX_NETS || !dp->nets[net].in_use)
		return -ENOENT;
	if (!tsw_dp_arp_lookup(dp, net, ip, &cur) ||
	    (mac != NULL && !rte_is_same_ether_addr(&cur, mac)))
		return 0;   /* absent, or it maps to another MAC now */
	return arp_del_key(dp, &k);
}
