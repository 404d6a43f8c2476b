/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: limits and small shared types.
 *
 * Contract: every index used by the dataplane (port, network, tunnel,
 * worker) is a small integer below the limits here; a "destination" is one
 * 32-bit word naming either a VM port or a tunnel so that it can be stored
 * and read atomically by the single-writer tables.
 */
#ifndef TSW_TYPES_H
#define TSW_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#define TSW_MAX_PORTS    1024   /* VM ports (the vhost library holds 1024 devices) */
#define TSW_MAX_NETS     4096   /* tenant networks */
#define TSW_MAX_TUNNELS  4096   /* remote VTEPs (per type) */
#define TSW_MAX_WORKERS  16
#define TSW_MAX_NEIGH    4096
#define TSW_MAX_PHYSNETS 8      /* physical networks (provider networks' devices) */
#define TSW_BURST        32
#define TSW_NAME_LEN     48     /* fits a Neutron UUID (36) */

/* Output index space used by the pipeline: VM ports are 0..TSW_MAX_PORTS-1,
 * the uplink is TSW_OUT_UPLINK, a physical network with a device of its own
 * TSW_OUT_PHYS0 + its index (one on the uplink uses TSW_OUT_UPLINK). */
#define TSW_OUT_UPLINK   TSW_MAX_PORTS
#define TSW_OUT_PHYS0    (TSW_MAX_PORTS + 1)
#define TSW_N_OUTS       (TSW_MAX_PORTS + 1 + TSW_MAX_PHYSNETS)

static inline bool tsw_out_is_port(uint32_t out) { return out < TSW_MAX_PORTS; }

enum tsw_tun_type {
	TSW_TUN_VXLAN = 0,
	TSW_TUN_GRE = 1,
	TSW_TUN_NTYPES
};

/* What a network is: a tunnel network (VXLAN VNI or GRE key), or a
 * provider network on a physical network, VLAN (tagged) or flat (untagged). */
enum tsw_net_kind {
	TSW_NET_TUNNEL = 0,
	TSW_NET_VLAN = 1,
	TSW_NET_FLAT = 2,
};

static inline const char *
tsw_tun_type_name(enum tsw_tun_type t)
{
	return t == TSW_TUN_VXLAN ? "vxlan" : "gre";
}

/* Time is nanoseconds on the dataplane clock: TSC-derived in the daemon,
 * pcap timestamps in the replay harness. */
typedef uint64_t tsw_ns_t;
#define TSW_NS_PER_MS  1000000ULL
#define TSW_NS_PER_SEC 1000000000ULL

#endif
