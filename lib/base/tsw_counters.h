/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: counters and drop reasons.
 *
 * Contract: each worker owns one struct tsw_counters and is its only writer
 * (plain increments, no atomics); readers (management, stats, state dump)
 * sum the workers' copies with tsw_counters_sum(), which tolerates torn
 * reads of counters still moving. Every dropped frame is counted under
 * exactly one reason of TSW_DROP_REASONS and against its ingress port.
 */
#ifndef TSW_COUNTERS_H
#define TSW_COUNTERS_H

#include <stdint.h>
#include <stdio.h>
#include "tsw_types.h"

/* X(name, description) */
#define TSW_DROP_REASONS(X) \
	X(runt,              "frame shorter than an Ethernet header") \
	X(vm_vlan_tagged,    "frame from a VM port carries an 802.1Q tag with VID != 0 (R-C1)") \
	X(ps_src_mac,        "port security: source MAC not allowed on the port (R-S1)") \
	X(ps_src_ip,         "port security: source IPv4/IPv6 address not allowed for that MAC (R-S2)") \
	X(ps_arp_spoof,      "port security: ARP sender MAC/IP not an allowed pair (R-S3)") \
	X(ps_ethertype,      "port security: ethertype other than IPv4, IPv6 and ARP (R-S3)") \
	X(ps_dhcp_server,    "port security: DHCP or DHCPv6 server traffic from a VM (R-S4)") \
	X(ps_router_adv,     "port security: ICMPv6 router advertisement or redirect from a VM (R-S4)") \
	X(ps_ipv6_chain,     "port security: IPv6 extension-header chain that cannot be walked to its upper layer within the packet (truncated, or a first fragment without the whole chain) (R-S4)") \
	X(sg_deny,           "security groups: no rule of the port allows a new connection, or the packet (stateless) (R-G5, R-G6, R-G8)") \
	X(ct_invalid,        "security groups: invalid for connection tracking (R-G3)") \
	X(ct_full,           "security groups: the connection table is full, new connection refused") \
	X(ct_port_limit,     "security groups: the port holds max_connections_per_port, new connection refused") \
	X(ct_revoked,        "security groups: the connection was cut by a rule or membership change (R-G7)") \
	X(port_no_network,   "ingress VM port is not attached to a network") \
	X(same_port,         "destination MAC was learned on the ingress port (R-F2)") \
	X(no_destination,    "flood with no other port and an empty flood set") \
	X(uplink_other_mac,  "uplink frame to a unicast MAC that is not the uplink MAC") \
	X(uplink_not_ip,     "uplink frame is neither IPv4 nor tunnel traffic") \
	X(ip_truncated,      "outer IPv4 header truncated") \
	X(ip_bad_version,    "outer IP version is not 4") \
	X(ip_bad_hlen,       "outer IPv4 header length below 20 bytes") \
	X(ip_bad_len,        "outer IPv4 total length inconsistent with the frame") \
	X(ip_bad_csum,       "outer IPv4 header checksum invalid") \
	X(ip_fragment,       "outer IPv4 packet is a fragment (R-C4)") \
	X(ip_not_local,      "outer IPv4 destination is not local_ip") \
	X(ip_bad_proto,      "outer IPv4 protocol is neither UDP to vxlan_udp_port nor GRE") \
	X(udp_truncated,     "UDP or VXLAN header truncated") \
	X(udp_bad_len,       "UDP length inconsistent with the IP payload") \
	X(udp_bad_csum,      "non-zero outer UDP checksum invalid") \
	X(vxlan_bad_flags,   "VXLAN I flag not set") \
	X(gre_truncated,     "GRE header truncated") \
	X(gre_bad_version,   "GRE version is not 0 (R-C4)") \
	X(gre_routing,       "GRE routing bit set (R-C4)") \
	X(gre_no_key,        "GRE without the K bit") \
	X(gre_bad_proto,     "GRE protocol type is not 0x6558") \
	X(gre_bad_csum,      "GRE checksum invalid") \
	X(tunnel_type_off,   "tunnel type not enabled in [tunnel] types") \
	X(unknown_id,        "VNI or GRE key maps to no network (R-C2)") \
	X(unknown_vtep,      "outer source IP is not a remote VTEP of that type (R-C3)") \
	X(inner_truncated,   "inner Ethernet header truncated") \
	X(inner_vlan_tagged, "inner frame carries an 802.1Q tag (R-T3)") \
	X(split_horizon,     "frame from a tunnel to a MAC behind a tunnel (R-T2)") \
	X(too_big,           "inner frame exceeds uplink MTU minus overhead (R-E4)") \
	X(tso_bad,           "TSO frame from a guest that cannot be segmented: not TCP over IPv4/IPv6, segment size 0 or below 1/256 of the payload") \
	X(no_route,          "no underlay route to the remote VTEP") \
	X(no_neighbor,       "next hop unresolved and the ARP queue could not take the frame") \
	X(punt_full,         "ARP/ICMP for local_ip: the management queue is full") \
	X(no_headroom,       "mbuf headroom too small for the outer header") \
	X(no_mbuf,           "mempool empty while copying a flooded frame") \
	X(tx_full,           "transmit queue full") \
	X(phys_unknown_vlan, "frame from a physical network whose VLAN tag (or no tag) is no network of it (R-V2)") \
	X(phys_too_big,      "frame to or from a physical network exceeds its MTU (R-V5)") \
	X(port_down,         "output port is gone")

enum tsw_drop {
#define TSW_X_ENUM(n, d) TSW_DROP_##n,
	TSW_DROP_REASONS(TSW_X_ENUM)
#undef TSW_X_ENUM
	TSW_DROP_MAX
};

extern const char *const tsw_drop_names[TSW_DROP_MAX];
extern const char *const tsw_drop_descr[TSW_DROP_MAX];

struct tsw_port_counters {
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes, drops;
	uint64_t tx_retries;        /* sends retried on a full guest ring */
};

struct tsw_net_counters {
	uint64_t from_vm_pkts, from_vm_bytes;
	uint64_t from_tun_pkts, from_tun_bytes;
	uint64_t from_phys_pkts, from_phys_bytes;   /* provider networks: from P */
	uint64_t flooded, drops;
};

struct tsw_tun_counters {
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes, drops;
};

struct tsw_counters {
	uint64_t drop[TSW_DROP_MAX];
	uint64_t learn_posted;      /* learn events put on the ring */
	uint64_t learn_ring_full;   /* learn events lost to a full ring */
	uint64_t learn_coalesced;   /* learn events suppressed by the cache */
	uint64_t arp_replies;       /* ARP responder answers */
	uint64_t punted;            /* frames handed to the management thread */
	uint64_t injected;          /* frames the management thread sent through us */
	uint64_t tso_frames;        /* guests' TSO frames segmented (tsw_offload) */
	uint64_t tso_segments;      /* ...into this many frames */
	uint64_t csum_completed;    /* guests' partial L4 checksums completed */
	uint64_t gro_merged;        /* segments to guests folded into TSO frames */
	uint64_t bursts, busy_cycles, idle_cycles, pkts; /* worker load */
	struct tsw_port_counters port[TSW_N_OUTS];
	struct tsw_net_counters net[TSW_MAX_NETS];
	struct tsw_tun_counters tun[TSW_TUN_NTYPES][TSW_MAX_TUNNELS];
};

/* dst = sum of n copies in srcs[] (dst may be one of them only if n == 1). */
void tsw_counters_sum(struct tsw_counters *dst,
		      struct tsw_counters *const *srcs, unsigned int n);
uint64_t tsw_counters_total_drops(const struct tsw_counters *c);

#endif
