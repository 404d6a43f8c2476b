/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: VXLAN and GRE encapsulation and outer-header parsing.
 *
 * Contract:
 *  - tsw_encap_hdr_build() precomputes a tunnel's whole outer header
 *    (Ethernet, IPv4, UDP+VXLAN or GRE+key) and the partial IPv4 checksum;
 *    per packet tsw_encap() only prepends it and patches lengths, IP ID,
 *    checksum, VXLAN UDP source port, VNI/key (and, when enabled, the
 *    outer UDP/GRE checksum and inherited DSCP). The built header is
 *    immutable: changing it means building and publishing a new one.
 *  - tsw_decap_parse() validates an uplink frame's outer headers (R-C2,
 *    R-C4) without modifying it and returns TSW_OK or the drop reason.
 */
#ifndef TSW_ENCAP_H
#define TSW_ENCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include "tsw_counters.h"
#include "tsw_pkt.h"
#include "tsw_types.h"

#define TSW_OK TSW_DROP_MAX

#define TSW_VXLAN_HDR_LEN  (14 + 20 + 8 + 8)
#define TSW_GRE_HDR_LEN    (14 + 20 + 4 + 4)
#define TSW_GRE_CSUM_LEN   4
#define TSW_ENCAP_MAX_LEN  64

struct tsw_encap_params {
	enum tsw_tun_type type;
	struct rte_ether_addr src_mac, dst_mac;
	uint32_t local_ip, remote_ip;        /* network order */
	uint8_t ttl;
	uint8_t dscp;                        /* 0..63, static */
	bool dscp_inherit;
	bool dont_fragment;
	bool csum;                           /* tunnel_csum */
	uint16_t vxlan_port;                 /* host order */
	uint16_t mtu;                        /* uplink MTU */
};

struct tsw_encap_hdr {
	uint8_t data[TSW_ENCAP_MAX_LEN];
	uint16_t len;                        /* outer header bytes */
	uint16_t max_inner;                  /* R-E4: largest inner frame */
	uint32_t ip_sum;                     /* partial sum, len/id/csum = 0 */
	uint8_t type;
	bool csum;
	bool dscp_inherit;
	bool unresolved;                     /* next hop's MAC unknown: punt */
	uint32_t nh_ip;                      /* next hop, network order */
};

void tsw_encap_hdr_build(struct tsw_encap_hdr *h, const struct tsw_encap_params *p);

/* Largest inner frame (Ethernet header included) a tunnel of this type can
 * carry on an uplink with this MTU. */
uint16_t tsw_encap_max_inner(enum tsw_tun_type t, bool csum, uint16_t mtu);

/* Hash of the inner flow (MACs, and IPv4 addresses/protocol/ports when
 * present) used for the VXLAN UDP source port. */
uint32_t tsw_inner_flow_hash(const struct rte_mbuf *m);

/* Encapsulate m in place with segmentation id `id` (VNI or key).
 * Returns TSW_OK, TSW_DROP_too_big or TSW_DROP_no_headroom (m untouched). */
enum tsw_drop tsw_encap(struct rte_mbuf *m, const struct tsw_encap_hdr *h,
			uint32_t id, uint16_t ip_id);

/* The same with the inner flow hash of m given (tsw_inner_flow_hash(); used
 * for VXLAN only): the copies of a flooded frame share their original's. */
enum tsw_drop tsw_encap_hashed(struct rte_mbuf *m, const struct tsw_encap_hdr *h,
			       uint32_t id, uint16_t ip_id, uint32_t flow_hash);

struct tsw_decap_info {
	enum tsw_tun_type type;
	uint32_t id;          /* VNI or GRE key, host order */
	uint32_t src_ip;      /* outer source, network order */
	uint16_t outer_len;   /* bytes to strip */
};

struct tsw_decap_params {
	uint32_t local_ip;                   /* network order */
	uint16_t vxlan_port_be;
	bool type_enabled[TSW_TUN_NTYPES];
	struct rte_ether_addr mac;           /* uplink MAC */
};

enum tsw_drop tsw_decap_parse(struct rte_mbuf *m, const struct tsw_decap_params *p,
			      struct tsw_decap_info *out);

#endif
