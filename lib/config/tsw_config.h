/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: configuration model and INI parser.
 *
 * Contract: tsw_config_load() parses an INI file with rte_cfgfile into a
 * fully validated struct tsw_config, or returns -1 and writes into err a
 * message naming the file, the section, the key and the reason. It needs no
 * EAL. Nothing outside this module reads the INI file. Addresses are kept
 * in network byte order.
 */
#ifndef TSW_CONFIG_H
#define TSW_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <rte_ether.h>
#include "tsw_ct.h"
#include "tsw_parse.h"
#include "tsw_portsec.h"
#include "tsw_types.h"

#define TSW_DEVARGS_LEN 256
#define TSW_CFG_MAX_NEIGH   TSW_MAX_NEIGH
#define TSW_CFG_MAX_REMOTES 1024
#define TSW_CFG_MAX_FDB     4096
#define TSW_CFG_MAX_FLOOD_REMOTES 256

struct tsw_cfg_neighbor {
	uint32_t ip;
	struct rte_ether_addr mac;
};

struct tsw_cfg_route {
	uint32_t prefix;           /* network order */
	uint8_t len;
	uint32_t via;
};

#define TSW_CFG_MAX_ROUTES 256

struct tsw_cfg_remote {
	uint32_t ip;
	enum tsw_tun_type type;
	bool declared;     /* by a [remote] section, not only by [fdb]/[flood] */
};

struct tsw_cfg_network {
	char name[TSW_NAME_LEN];
	enum tsw_net_kind kind;    /* tunnel, vlan or flat */
	enum tsw_tun_type type;    /* tunnel networks */
	uint32_t seg_id;           /* VNI / GRE key; VLAN id; 0 flat */
	uint16_t physnet;          /* provider networks: index into physnets[] */
};

/* [physnet NAME]: a physical network (Neutron's physnet; the OVS agent's
 * bridge_mappings entry NAME:bridge) on a device of its own or the uplink. */
struct tsw_cfg_physnet {
	char name[TSW_NAME_LEN];
	bool on_uplink;            /* device = uplink */
	char devargs[TSW_DEVARGS_LEN];
	uint16_t mtu;              /* its networks' MTU (R-V5) */
};

struct tsw_cfg_port {
	char name[TSW_NAME_LEN];
	char devargs[TSW_DEVARGS_LEN];
	uint16_t network;          /* index into networks[] */
	bool port_security;        /* then sec is the policy (R-S*) */
	struct tsw_portsec sec;
};

struct tsw_cfg_fdb {
	uint16_t network;
	struct rte_ether_addr mac;
	uint32_t remote;           /* remote VTEP IPv4 */
	uint32_t ip;               /* 0 = no ARP entry */
};

struct tsw_cfg_flood {
	uint16_t network;
	uint16_t n_remotes;
	uint32_t remotes[TSW_CFG_MAX_FLOOD_REMOTES];
};

struct tsw_config {
	char file[256];
	struct {
		bool l2_population;
		bool arp_responder;
		uint32_t mac_ageing;            /* seconds */
		uint32_t tunnel_learn_timeout;  /* seconds */
	} agent;
	struct {
		uint32_t local_ip;
		bool type_enabled[TSW_TUN_NTYPES];
		uint16_t vxlan_udp_port;
		bool dont_fragment;
		bool tunnel_csum;
		uint8_t ttl;
		uint8_t dscp;                   /* 0..63 */
		bool dscp_inherit;
	} tunnel;
	struct {
		char devargs[TSW_DEVARGS_LEN];
		bool has_mac;
		struct rte_ether_addr mac;
		uint8_t prefix_len;
		uint16_t mtu;
		uint32_t gateway;               /* 0 = none */
		uint32_t arp_reachable;         /* seconds an ARP answer is trusted */
		uint32_t arp_retries;           /* ARP requests before giving up */
	} uplink;
	struct {
		uint16_t workers;
		uint32_t fdb_size;
		uint32_t mbufs;
		uint32_t mbuf_size;             /* data room per mbuf, bytes */
		uint32_t learn_ring_size;
		uint32_t mac_limit_port;        /* learned MACs per VM port, 0 = no cap */
		uint32_t mac_limit_network;     /* learned MACs per network, 0 = no cap */
		uint32_t stats_interval;        /* seconds, 0 = off */
		uint32_t idle_sleep_us;         /* sleep of an idle worker, 0 = busy poll */
		uint32_t idle_queue_poll_us;    /* an idle RX queue's poll period, 0 = every round */
		uint32_t vhost_tx_retries;      /* on a full guest ring, while progressing */
		bool gro;                       /* coalesce TCP for guests taking TSO frames */
	} dataplane;
	struct {
		uint32_t max_connections;       /* security groups' connection table */
		uint32_t max_connections_per_port;   /* 0: no limit */
		uint32_t timeouts[TSW_CT_NSTATES];   /* seconds, by state (tsw_ct.h) */
	} security;
	struct {
		char socket[108];               /* UNIX socket path, "" = none */
		uint32_t socket_mode;           /* permission bits, e.g. 0660 */
		char socket_group[32];          /* "" = the daemon's group */
		uint32_t max_clients;
		uint32_t max_request;           /* bytes per request line */
		uint32_t idle_timeout;          /* seconds */
		uint32_t request_timeout;       /* seconds for a request to arrive whole */
		uint32_t max_reply_memory_mb;   /* all pending replies together */
		char vhost_socket_dir[108];     /* port_add's vhost-user sockets live here */
		char vhost_socket_group[32];    /* its group when the daemon creates it */
		char capture_dir[108];          /* capture_start's files are made here */
	} control;

	uint16_t n_neighbors, n_remotes, n_networks, n_ports, n_fdb, n_flood, n_routes, n_physnets;
	struct tsw_cfg_physnet physnets[TSW_MAX_PHYSNETS];
	struct tsw_cfg_route routes[TSW_CFG_MAX_ROUTES];
	struct tsw_cfg_neighbor neighbors[TSW_CFG_MAX_NEIGH];
	struct tsw_cfg_remote remotes[TSW_CFG_MAX_REMOTES];
	struct tsw_cfg_network networks[TSW_MAX_NETS];
	struct tsw_cfg_port ports[TSW_MAX_PORTS];
	struct tsw_cfg_fdb fdb[TSW_CFG_MAX_FDB];
	struct tsw_cfg_flood flood[TSW_MAX_NETS];
};

/* Parse path into *cfg (caller allocates; the struct is large). */
int tsw_config_load(const char *path, struct tsw_config *cfg,
		    char *err, size_t errlen);



#endif
