/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the dataplane's tables (networks, VM ports, tunnels, flood
 * members, ARP entries, FDB) and their single writer.
 *
 * Contract:
 *  - Workers only read, lock-free: scalar fields with atomic loads, and
 *    RCU-published objects (a network's members, a tunnel's outer header)
 *    through the tsw_dp_*() inline readers. A worker must not hold any of
 *    them across a quiescent-state report.
 *  - Exactly one thread (the management thread, or the replay harness
 *    between bursts) calls the tsw_dp_* writer functions. A writer function
 *    returns only when the change is visible to workers; objects replaced
 *    are freed after an RCU grace period.
 *  - Writer functions validate their arguments and return a negative errno
 *    leaving the tables unchanged.
 *  - What a deleted owner leaves behind (the FDB and ARP entries of a
 *    network, a port or a tunnel) is not deleted by the call that deletes
 *    the owner: it is queued, and tsw_dp_drain() deletes it in steps, each
 *    entry in O(1) (the tables list their keys by owner), so that the
 *    writer can cut the work into slices with learning in between. The
 *    owner is gone for the workers at once (a frame to one of its entries
 *    meanwhile is dropped: port_down, or no_route for a tunnel); its index is not reused before
 *    its entries are. Callers that want the old all-at-once behaviour call
 *    tsw_dp_drain(dp, UINT_MAX) after the change.
 */
#ifndef TSW_DP_H
#define TSW_DP_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#include "tsw_encap.h"
#include "tsw_fdb.h"
#include "tsw_keylist.h"
#include "tsw_route.h"
#include "tsw_sg.h"
#include "tsw_types.h"

struct tsw_members {
	uint16_t n_ports;
	uint16_t n_flood;
	uint16_t ports[TSW_MAX_PORTS];        /* VM port indexes */
	uint16_t flood[];                     /* tunnel indexes (network's type) */
};

struct tsw_network {
	bool in_use;
	bool draining;                        /* writer: its entries are being deleted */
	uint8_t kind;                         /* enum tsw_net_kind */
	uint8_t phys;                         /* provider network: its physical network */
	uint16_t vlan;                        /* provider network: VLAN id, 0 flat */
	enum tsw_tun_type type;               /* tunnel network's type */
	uint32_t seg_id;                      /* VNI / GRE key; VLAN id; 0 flat */
	char name[TSW_NAME_LEN];
	struct tsw_members *members;          /* RCU-published, never NULL in use */
};

struct tsw_portsec;

struct tsw_vm_port {
	bool in_use;
	bool draining;                        /* writer: its entries are being deleted */
	uint16_t net;
	uint16_t eth_port;                    /* DPDK port id */
	char name[TSW_NAME_LEN];
	const struct tsw_portsec *sec;        /* RCU-published; NULL: no port security */
	const struct tsw_sg_ruleset *sg;      /* RCU-published; NULL: no security groups */
};

struct tsw_tunnel {
	bool in_use;
	uint32_t remote_ip;                   /* network order */
	struct tsw_encap_hdr *hdr;            /* RCU-published; NULL: no route */
	/* writer only */
	uint32_t nh_ip;                       /* next hop (route), 0 = none */
	uint32_t static_refs;                 /* static FDB/flood entries using it */
	bool configured;                      /* declared by [remote] / remote add */
	bool quarantined;                     /* deleted: reusable once reuse_token passed */
	bool draining;                        /* deleted: its entries are being deleted */
	uint64_t reuse_token;                 /* QSBR token of the deletion */
};

/* A physical network (Neutron's physnet, the OVS agent's bridge_mappings):
 * a device, or the uplink itself, whose frames belong to the provider
 * networks on it by their VLAN tag (R-V1..R-V5). */
#define TSW_VID_NONE 0xffffu
struct tsw_physnet {
	bool in_use;
	uint16_t out;                          /* its output: TSW_OUT_UPLINK or TSW_OUT_PHYS0 + i */
	uint16_t mtu;                          /* R-V5 */
	char name[TSW_NAME_LEN];
	char device[TSW_NAME_LEN];             /* "uplink" or its device's name */
	/* network by VLAN id (0: untagged, the flat network), TSW_VID_NONE:
	 * none; entries stored atomically by the writer */
	uint16_t net_of_vid[4096];
};

struct tsw_dp_conf {
	bool l2_population;
	bool arp_responder;
	uint32_t mac_ageing_s;
	uint32_t tunnel_learn_timeout_s;
	uint32_t fdb_size;
	uint32_t mac_limit_port, mac_limit_network;   /* 0: no cap */
	struct tsw_encap_params encap;        /* local ip, ttl, dscp... (not remote/dst) */
	uint8_t prefix_len;                   /* of local_ip: the connected prefix */
	struct tsw_decap_params decap;
	uint32_t max_connections;             /* security groups' connection table */
	uint32_t max_connections_per_port;    /* 0: no limit */
	struct tsw_ct_timeouts ct_timeouts;
};

struct tsw_dp {
	struct tsw_dp_conf conf;
	struct rte_rcu_qsbr *qsbr;
	unsigned int writer_thread;           /* its QSBR id, or RTE_QSBR_THRID_INVALID */
	struct rte_rcu_qsbr_dq *retired;      /* unpublished memory, freed after a grace period */
	int socket;
	struct tsw_fdb *fdb;
	struct rte_hash *net_by_id;           /* (type << 32 | id) -> net index */
	struct rte_hash *tun_by_ip;           /* (type << 32 | ip) -> tunnel index */
	struct rte_hash *arp;                 /* (net, ip) -> MAC */
	struct tsw_keylist *arp_by_net;       /* writer: ARP keys by network */
	struct tsw_ct *ct;                    /* security groups' connections; made with
					       * the first filtered port (atomic) */
	struct tsw_sg_members *members;       /* remote groups' members */
	struct rte_rcu_qsbr_dq *retired_rs;   /* rule sets, freed after a grace period */
	struct tsw_network nets[TSW_MAX_NETS];
	struct tsw_vm_port ports[TSW_MAX_PORTS];
	struct tsw_tunnel tunnels[TSW_TUN_NTYPES][TSW_MAX_TUNNELS];
	struct tsw_physnet phys[TSW_MAX_PHYSNETS];
	int16_t uplink_phys;                   /* the physical network on the uplink, or -1 */
	/* writer only */
	uint64_t gen;                          /* bumped when a net/port/tunnel is created */
	uint32_t port_gen[TSW_MAX_PORTS];      /* ...and its index's own count */
	uint32_t net_gen[TSW_MAX_NETS];
	uint32_t tun_gen[TSW_TUN_NTYPES][TSW_MAX_TUNNELS];
	uint16_t *flood_explicit[TSW_MAX_NETS];  /* l2population flood sets */
	uint16_t n_flood_explicit[TSW_MAX_NETS];
	struct tsw_routes *routes;
	/* what deleted owners leave behind, deleted in steps (tsw_dp_drain) */
	struct tsw_drain { uint8_t kind; uint16_t id; } *drain;
	uint32_t drain_head, drain_len;
	uint16_t n_neigh;
	struct tsw_neigh {
		uint32_t ip;
		struct rte_ether_addr mac;
		bool is_static;
	} neigh[TSW_MAX_NEIGH];
};

/* ---- reader helpers (workers) ---- */

static inline uint64_t
tsw_dp_id_key(enum tsw_tun_type t, uint32_t v)
{
	return ((uint64_t)t << 32) | v;
}

struct tsw_arp_key {
	uint16_t net;
	uint16_t pad;
	uint32_t ip;
};

static inline const struct tsw_members *
tsw_dp_members(const struct tsw_dp *dp, uint16_t net)
{
	return __atomic_load_n(&dp->nets[net].members, __ATOMIC_ACQUIRE);
}

static inline const struct tsw_encap_hdr *
tsw_dp_tunnel_hdr(const struct tsw_dp *dp, enum tsw_tun_type t, uint16_t idx)
{
	return __atomic_load_n(&dp->tunnels[t][idx].hdr, __ATOMIC_ACQUIRE);
}

/* Network of port p, or -1 when the port is gone. */
static inline int
tsw_dp_port_net(const struct tsw_dp *dp, uint16_t p)
{
	if (p >= TSW_MAX_PORTS || !__atomic_load_n(&dp->ports[p].in_use, __ATOMIC_ACQUIRE))
		return -1;
	return __atomic_load_n(&dp->ports[p].net, __ATOMIC_RELAXED);
}

/* Provider network of physical network ph for VLAN id vid (0: untagged),
 * or -1. */
static inline int
tsw_dp_phys_net(const struct tsw_dp *dp, uint16_t ph, uint16_t vid)
{
	uint16_t n = __atomic_load_n(&dp->phys[ph].net_of_vid[vid & 0xfff], __ATOMIC_ACQUIRE);

	return n == TSW_VID_NONE ? -1 : n;
}

/* The physical network whose own device is output out, or -1. */
static inline int
tsw_dp_out_phys(const struct tsw_dp *dp, uint16_t out)
{
	for (int i = 0; i < TSW_MAX_PHYSNETS; i++)
		if (dp->phys[i].in_use && dp->phys[i].out == out && out != TSW_OUT_UPLINK)
			return i;
	return -1;
}

/* An output's name: a VM port's, "uplink", a physical network's. */
static inline const char *
tsw_dp_out_name(const struct tsw_dp *dp, uint16_t out)
{
	int ph;

	if (tsw_out_is_port(out))
		return dp->ports[out].name;
	if (out == TSW_OUT_UPLINK)
		return "uplink";
	ph = tsw_dp_out_phys(dp, out);
	return ph >= 0 ? dp->phys[ph].name : "?";
}

static inline const char *
tsw_net_type_name(const struct tsw_network *n)
{
	return n->kind == TSW_NET_VLAN ? "vlan" : n->kind == TSW_NET_FLAT ? "flat"
				     : tsw_tun_type_name(n->type);
}

/* ARP responder lookup: MAC for (net, ip) or false. */
bool tsw_dp_arp_lookup(const struct tsw_dp *dp, uint16_t net, uint32_t ip,
		       struct rte_ether_addr *mac);

/* ---- writer ---- */

struct tsw_dp *tsw_dp_create(const struct tsw_dp_conf *conf, struct rte_rcu_qsbr *qsbr,
			     unsigned int writer_thread, int socket);
void tsw_dp_free(struct tsw_dp *dp);
/* Writer: free what was retired a grace period ago (also happens as the
 * retire queue fills; call it now and then so memory comes back soon). */
void tsw_dp_reclaim(struct tsw_dp *dp);

/* Delete up to max entries left behind by deleted owners; returns how many.
 * tsw_dp_drain_pending(): something is still to delete. */
unsigned int tsw_dp_drain(struct tsw_dp *dp, unsigned int max);
bool tsw_dp_drain_pending(const struct tsw_dp *dp);

int tsw_dp_net_add(struct tsw_dp *dp, const char *name, enum tsw_tun_type t, uint32_t id);
/* A physical network named name whose frames leave on output out
 * (TSW_OUT_UPLINK: the uplink itself, at most one such; else
 * TSW_OUT_PHYS0 + its index) with MTU mtu (R-V5); device names it for
 * operators ("uplink", or the device's name). Before any provider
 * network. Returns its index; -EEXIST, -ENOSPC, -EINVAL. */
int tsw_dp_physnet_add(struct tsw_dp *dp, const char *name, const char *device, uint16_t out,
		       uint16_t mtu);
int tsw_dp_physnet_find(const struct tsw_dp *dp, const char *name);
/* A provider network on physical network ph: VLAN vlan (1..4094), or flat
 * (vlan 0). -EEXIST: the name, or that VLAN (flat) of ph, is taken;
 * -ENOENT: no such physical network; -EINVAL. Returns its index. */
int tsw_dp_net_add_provider(struct tsw_dp *dp, const char *name, uint16_t ph, uint16_t vlan);
int tsw_dp_net_find(const struct tsw_dp *dp, const char *name);
int tsw_dp_net_by_id(const struct tsw_dp *dp, enum tsw_tun_type t, uint32_t id);
int tsw_dp_net_del(struct tsw_dp *dp, uint16_t net);

/* What filters a port's frames: port security (copied) and security
 * groups (the caller's rule set, see tsw_dp_port_sg_set). */
struct tsw_port_policy {
	const struct tsw_portsec *ps;
	const struct tsw_sg_ruleset *sg;
};

/* A VM port of net; with pol its policy is in force before the port is
 * visible to any worker. Returns its index. */
int tsw_dp_port_add(struct tsw_dp *dp, const char *name, uint16_t eth_port, uint16_t net,
		    const struct tsw_port_policy *pol);
int tsw_dp_port_find(const struct tsw_dp *dp, const char *name);
int tsw_dp_port_del(struct tsw_dp *dp, uint16_t port);
/* Port security policy of a port (copied; NULL: none, R-S*), published to
 * the workers, the old one freed after a grace period. */
int tsw_dp_port_security_set(struct tsw_dp *dp, uint16_t port, const struct tsw_portsec *ps);

/* Security groups (R-G*): the port's compiled rule set, published to the
 * workers (NULL: not filtered). The rule set belongs to the caller, who
 * retires it with tsw_dp_retire_ruleset() once no port has it. The
 * connection table is made with the first rule set (max_connections; it
 * takes a moment, once). -ENOENT, -ENOMEM. */
int tsw_dp_port_sg_set(struct tsw_dp *dp, uint16_t port, const struct tsw_sg_ruleset *rs);
/* Free rs once no worker can still be using it. */
void tsw_dp_retire_ruleset(struct tsw_dp *dp, struct tsw_sg_ruleset *rs);
/* A remote group's member prefix added or removed (tsw_sg_member_set). */
int tsw_dp_sg_member_set(struct tsw_dp *dp, uint16_t group, bool v6, const uint8_t *addr,
			 uint8_t len, bool add);

/* Find or create the tunnel to ip; configured marks it as declared by the
 * operator (it then survives its last static entry). Returns its index. */
int tsw_dp_tunnel_add(struct tsw_dp *dp, enum tsw_tun_type t, uint32_t ip, bool configured);
int tsw_dp_tunnel_find(const struct tsw_dp *dp, enum tsw_tun_type t, uint32_t ip);
int tsw_dp_tunnel_del(struct tsw_dp *dp, enum tsw_tun_type t, uint16_t idx);

/* Next-hop MAC of an underlay address (static: configured; else learned
 * by ARP and never replacing a static one); rebuilds the headers of the
 * tunnels using it. Returns 1 when something changed, 0 when not. */
int tsw_dp_neighbor_set(struct tsw_dp *dp, uint32_t ip, const struct rte_ether_addr *mac,
			bool is_static);
/* Forget ip's MAC (tunnels through it become unresolved). -ENOENT. */
int tsw_dp_neighbor_del(struct tsw_dp *dp, uint32_t ip);
/* The neighbor entry of ip, or NULL. */
const struct tsw_neigh *tsw_dp_neighbor_get(const struct tsw_dp *dp, uint32_t ip);
/* True when some tunnel's next hop is ip. */
bool tsw_dp_next_hop_used(const struct tsw_dp *dp, uint32_t ip);

/* Underlay routes (prefix/len via an on-link next hop); headers rebuilt. */
int tsw_dp_route_add(struct tsw_dp *dp, uint32_t prefix, uint8_t len, uint32_t via,
		     enum tsw_route_origin origin);
int tsw_dp_route_del(struct tsw_dp *dp, uint32_t prefix, uint8_t len);

/* The static table changes below return 1 when they changed something, 0
 * when there was nothing to do (already so, or absent: R-L4), -errno when
 * refused (nothing changed then). */
int tsw_dp_flood_add(struct tsw_dp *dp, uint16_t net, uint16_t tunnel);
int tsw_dp_flood_del(struct tsw_dp *dp, uint16_t net, uint16_t tunnel);

/* Static FDB entry (N, mac) -> tunnel; tracks the tunnel's users. */
int tsw_dp_fdb_static_add(struct tsw_dp *dp, uint16_t net, const struct rte_ether_addr *mac,
			  uint16_t tunnel);
/* Remove the static entry (N, mac); with tunnel >= 0 only when it still
 * points to that tunnel. Absent is not an error (R-L4). */
int tsw_dp_fdb_static_del(struct tsw_dp *dp, uint16_t net, const struct rte_ether_addr *mac,
			  int tunnel);

int tsw_dp_arp_add(struct tsw_dp *dp, uint16_t net, uint32_t ip, const struct rte_ether_addr *mac);
/* Remove (N, ip); with mac != NULL only when it still maps to mac. */
int tsw_dp_arp_del(struct tsw_dp *dp, uint16_t net, uint32_t ip, const struct rte_ether_addr *mac);

#endif
