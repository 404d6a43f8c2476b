/* SPDX-License-Identifier: BSD-3-Clause
 * VXLAN/GRE encapsulation with precomputed outer headers. See tsw_encap.h.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_gre.h>
#include <rte_hash_crc.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "tsw_encap.h"
#include "tsw_pkt.h"

#define GRE_C 0x8000
#define GRE_R 0x4000
#define GRE_K 0x2000
#define GRE_S 0x1000
#define GRE_VER_MASK 0x0007
#define ETH_P_TEB 0x6558

/* UDP over IPv4: the sum of the pseudo header and the ulen bytes at l4. */
static uint16_t
udp_sum(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, uint32_t l4, uint16_t ulen)
{
	uint32_t addrs = __rte_raw_cksum(&ip->src_addr, 8, 0);   /* src and dst */

	return tsw_cksum_fold(tsw_cksum_mbuf(m, l4, ulen) + addrs +
			      rte_cpu_to_be_16(IPPROTO_UDP) + rte_cpu_to_be_16(ulen));
}

uint16_t
tsw_encap_max_inner(enum tsw_tun_type t, bool csum, uint16_t mtu)
{
	uint16_t ip_overhead = t == TSW_TUN_VXLAN ? 20 + 8 + 8 :
			       (uint16_t)(20 + 8 + (csum ? TSW_GRE_CSUM_LEN : 0));
	return (uint16_t)(mtu - ip_overhead);
}

void
tsw_encap_hdr_build(struct tsw_encap_hdr *h, const struct tsw_encap_params *p)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)h->data;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

	memset(h, 0, sizeof(*h));
	rte_ether_addr_copy(&p->dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(&p->src_mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = (uint8_t)(p->dscp << 2);
	ip->fragment_offset = p->dont_fragment ? rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) : 0;
	ip->time_to_live = p->ttl;
	ip->src_addr = p->local_ip;
	ip->dst_addr = p->remote_ip;
	if (p->type == TSW_TUN_VXLAN) {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		struct rte_vxlan_hdr *vx = (struct rte_vxlan_hdr *)(udp + 1);

		ip->next_proto_id = IPPROTO_UDP;
		udp->dst_port = rte_cpu_to_be_16(p->vxlan_port);
		vx->vx_flags = rte_cpu_to_be_32(0x08000000);
		h->len = TSW_VXLAN_HDR_LEN;
	} else {
		rte_be16_t *gre = (rte_be16_t *)(ip + 1);

		ip->next_proto_id = IPPROTO_GRE;
		gre[0] = rte_cpu_to_be_16(GRE_K | (p->csum ? GRE_C : 0));
		gre[1] = rte_cpu_to_be_16(ETH_P_TEB);
		h->len = (uint16_t)(TSW_GRE_HDR_LEN + (p->csum ? TSW_GRE_CSUM_LEN : 0));
	}
	h->ip_sum = __rte_raw_cksum(ip, sizeof(*ip), 0);
	h->max_inner = tsw_encap_max_inner(p->type, p->csum, p->mtu);
	h->type = (uint8_t)p->type;
	h->csum = p->csum;
	h->dscp_inherit = p->dscp_inherit;
}

uint32_t
tsw_inner_flow_hash(const struct rte_mbuf *m)
{
	/* the headers, wherever the segments of a chain split them (the
	 * same frame hashes the same, linear or chained) */
	uint8_t buf[14 + 60 + 4];
	uint32_t len = RTE_MIN(rte_pktmbuf_pkt_len(m), (uint32_t)sizeof(buf));
	const uint8_t *f;
	uint64_t w64;
	uint32_t w32, h;

	if (len < 12) {
		memset(buf, 0, sizeof(buf));
		f = rte_pktmbuf_read(m, 0, len, buf);
		if (f != buf && f != NULL)
			memcpy(buf, f, len);
		f = buf;
	} else {
		f = rte_pktmbuf_read(m, 0, len, buf);
	}

	/* Packet bytes are not aligned: hash aligned copies. */
	memcpy(&w64, f, 8);
	memcpy(&w32, f + 8, 4);
	h = rte_hash_crc_4byte(w32, rte_hash_crc_8byte(w64, 0x9e3779b9));
	if (len >= 14 + 20 && f[12] == 0x08 && f[13] == 0x00) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + 14);
		uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;

		memcpy(&w64, f + 14 + 12, 8);   /* source and destination address */
		h = rte_hash_crc_8byte(w64, h);
		h = rte_hash_crc_1byte(ip->next_proto_id, h);
		if ((ip->next_proto_id == IPPROTO_UDP || ip->next_proto_id == IPPROTO_TCP) &&
		    ihl >= 20 && len >= 14 + ihl + 4 &&
		    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) == 0) {
			memcpy(&w32, f + 14 + ihl, 4);   /* ports */
			h = rte_hash_crc_4byte(w32, h);
		}
	}
	return h;
}

enum tsw_drop
tsw_encap(struct rte_mbuf *m, const struct tsw_encap_hdr *h, uint32_t id, uint16_t ip_id)
{
	return tsw_encap_hashed(m, h, id, ip_id,
				h->type == TSW_TUN_VXLAN ? tsw_inner_flow_hash(m) : 0);
}

enum tsw_drop
tsw_encap_hashed(struct rte_mbuf *m, const struct tsw_encap_hdr *h, uint32_t id, uint16_t ip_id,
		 uint32_t hash)
{
	uint32_t inner_len = rte_pktmbuf_pkt_len(m);
	const uint8_t tos0 = h->data[RTE_ETHER_HDR_LEN + 1];   /* the configured DSCP */
	uint8_t tos = tos0;
	uint8_t *p;
	struct rte_ipv4_hdr *ip;
	uint16_t ip_len;

	if (inner_len > h->max_inner)
		return TSW_DROP_too_big;
	if (h->dscp_inherit) {
		const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
		if (rte_pktmbuf_data_len(m) >= 14 + 20 && f[12] == 0x08 && f[13] == 0x00)
			tos = (uint8_t)(tos | (f[15] & 0xfc));
	}
	p = (uint8_t *)rte_pktmbuf_prepend(m, h->len);
	if (p == NULL)
		return TSW_DROP_no_headroom;
	/* Constant-size copies (inlined vector moves), then plain stores of the
	 * variable fields: no read-modify-write of the just-copied header, which
	 * would wait for the copy to reach the cache line. */
	if (h->type == TSW_TUN_VXLAN)
		memcpy(p, h->data, TSW_VXLAN_HDR_LEN);
	else if (h->csum)
		memcpy(p, h->data, TSW_GRE_HDR_LEN + TSW_GRE_CSUM_LEN);
	else
		memcpy(p, h->data, TSW_GRE_HDR_LEN);
	ip = (struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);
	ip_len = (uint16_t)(inner_len + h->len - RTE_ETHER_HDR_LEN);
	ip->total_length = rte_cpu_to_be_16(ip_len);
	ip->packet_id = rte_cpu_to_be_16(ip_id);
	ip->type_of_service = tos;
	/* h->ip_sum covers the configured DSCP; tos only adds bits to it */
	ip->hdr_checksum = (uint16_t)~tsw_cksum_fold(h->ip_sum + rte_cpu_to_be_16(ip_len) +
						     rte_cpu_to_be_16(ip_id) +
						     rte_cpu_to_be_16((uint16_t)(tos - tos0)));
	if (h->type == TSW_TUN_VXLAN) {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		struct rte_vxlan_hdr *vx = (struct rte_vxlan_hdr *)(udp + 1);

		udp->src_port = rte_cpu_to_be_16((uint16_t)(0xc000 | (hash & 0x3fff)));
		udp->dgram_len = rte_cpu_to_be_16((uint16_t)(ip_len - 20));
		vx->vx_vni = rte_cpu_to_be_32(id << 8);
		if (h->csum) {
			uint16_t c;
			udp->dgram_cksum = 0;
			c = (uint16_t)~udp_sum(m, ip, RTE_ETHER_HDR_LEN + sizeof(*ip),
					       (uint16_t)(ip_len - 20));
			udp->dgram_cksum = c == 0 ? 0xffff : c;
		}
	} else {
		uint8_t *gre = (uint8_t *)(ip + 1);
		rte_be32_t key = rte_cpu_to_be_32(id);

		/* packet bytes are 2-aligned at best: memcpy, not casts */
		memcpy(gre + 4 + (h->csum ? 4 : 0), &key, sizeof(key));
		if (h->csum) {
			uint16_t off = RTE_ETHER_HDR_LEN + sizeof(*ip);
			uint16_t sum = (uint16_t)~tsw_cksum_mbuf(m, off, rte_pktmbuf_pkt_len(m) - off);

			memcpy(gre + 4, &sum, sizeof(sum));
		}
	}
	return TSW_OK;
}

enum tsw_drop
tsw_decap_parse(struct rte_mbuf *m, const struct tsw_decap_params *p,
		struct tsw_decap_info *out)
{
	const struct rte_ether_hdr *eth;
	const struct rte_ipv4_hdr *ip;
	uint32_t pkt_len = rte_pktmbuf_pkt_len(m), ihl, ip_len, l4;

	if (!tsw_pkt_head(m, RTE_ETHER_HDR_LEN))
		return TSW_DROP_runt;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (rte_is_unicast_ether_addr(&eth->dst_addr) &&
	    !rte_is_same_ether_addr(&eth->dst_addr, &p->mac))
		return TSW_DROP_uplink_other_mac;
	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return TSW_DROP_uplink_not_ip;
	if (!tsw_pkt_head(m, RTE_ETHER_HDR_LEN + sizeof(*ip)))
		return TSW_DROP_ip_truncated;
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	if ((ip->version_ihl >> 4) != 4)
		return TSW_DROP_ip_bad_version;
	ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	if (ihl < sizeof(*ip))
		return TSW_DROP_ip_bad_hlen;
	if (!tsw_pkt_head(m, RTE_ETHER_HDR_LEN + ihl))
		return TSW_DROP_ip_truncated;
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	ip_len = rte_be_to_cpu_16(ip->total_length);
	if (ip_len < ihl || ip_len > pkt_len - RTE_ETHER_HDR_LEN)
		return TSW_DROP_ip_bad_len;
	switch (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
	case RTE_MBUF_F_RX_IP_CKSUM_GOOD:
		break;
	case RTE_MBUF_F_RX_IP_CKSUM_BAD:
		return TSW_DROP_ip_bad_csum;
	default:
		if (!tsw_ip4_sum_ok(ip, ihl))
			return TSW_DROP_ip_bad_csum;
	}
	if (ip->dst_addr != p->local_ip)
		return TSW_DROP_ip_not_local;
	if ((ip->fragment_offset &
	     rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return TSW_DROP_ip_fragment;
	/* Ethernet padding beyond the IP packet is not part of the tunnel. */
	if (pkt_len > RTE_ETHER_HDR_LEN + ip_len)
		tsw_pkt_trim_to(m, RTE_ETHER_HDR_LEN + ip_len);
	l4 = RTE_ETHER_HDR_LEN + ihl;
	out->src_ip = ip->src_addr;

	if (ip->next_proto_id == IPPROTO_UDP) {
		const struct rte_udp_hdr *udp;
		const struct rte_vxlan_hdr *vx;
		uint32_t ulen;

		if (!tsw_pkt_head(m, l4 + sizeof(*udp)))
			return TSW_DROP_udp_truncated;
		ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
		udp = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, l4);
		if (udp->dst_port != p->vxlan_port_be)
			return TSW_DROP_ip_bad_proto;
		if (!p->type_enabled[TSW_TUN_VXLAN])
			return TSW_DROP_tunnel_type_off;
		ulen = rte_be_to_cpu_16(udp->dgram_len);
		if (ulen < sizeof(*udp) || ulen > ip_len - ihl)
			return TSW_DROP_udp_bad_len;
		if (ulen < sizeof(*udp) + sizeof(*vx) || !tsw_pkt_head(m, l4 + 16))
			return TSW_DROP_udp_truncated;
		ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
		udp = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, l4);
		if (udp->dgram_cksum != 0 && udp_sum(m, ip, l4, (uint16_t)ulen) != 0xffff)
			return TSW_DROP_udp_bad_csum;
		vx = (const struct rte_vxlan_hdr *)(udp + 1);
		if (ulen < ip_len - ihl)
			tsw_pkt_trim_to(m, l4 + ulen);
		if ((vx->vx_flags & rte_cpu_to_be_32(0x08000000)) == 0)
			return TSW_DROP_vxlan_bad_flags;
		out->type = TSW_TUN_VXLAN;
		out->id = rte_be_to_cpu_32(vx->vx_vni) >> 8;
		out->outer_len = (uint16_t)(l4 + 16);
		return TSW_OK;
	}
	if (ip->next_proto_id == IPPROTO_GRE) {
		uint16_t flags, proto;
		uint32_t glen = 4;
		const uint8_t *g;

		if (!tsw_pkt_head(m, l4 + 4))
			return TSW_DROP_gre_truncated;
		g = rte_pktmbuf_mtod_offset(m, const uint8_t *, l4);
		flags = (uint16_t)(g[0] << 8 | g[1]);
		proto = (uint16_t)(g[2] << 8 | g[3]);
		if ((flags & GRE_VER_MASK) != 0)
			return TSW_DROP_gre_bad_version;
		if (flags & GRE_R)
			return TSW_DROP_gre_routing;
		if (!p->type_enabled[TSW_TUN_GRE])
			return TSW_DROP_tunnel_type_off;
		if (!(flags & GRE_K))
			return TSW_DROP_gre_no_key;
		if (proto != ETH_P_TEB)
			return TSW_DROP_gre_bad_proto;
		glen += (flags & GRE_C ? 4u : 0u) + 4u + (flags & GRE_S ? 4u : 0u);
		if (glen > ip_len - ihl || !tsw_pkt_head(m, l4 + glen))
			return TSW_DROP_gre_truncated;
		g = rte_pktmbuf_mtod_offset(m, const uint8_t *, l4);
		if ((flags & GRE_C) && tsw_cksum_mbuf(m, l4, ip_len - ihl) != 0xffff)
			return TSW_DROP_gre_bad_csum;
		out->type = TSW_TUN_GRE;
		{
			rte_be32_t key;
			memcpy(&key, g + 4 + (flags & GRE_C ? 4 : 0), sizeof(key));
			out->id = rte_be_to_cpu_32(key);
		}
		out->outer_len = (uint16_t)(l4 + glen);
		return TSW_OK;
	}
	return TSW_DROP_ip_bad_proto;
}
