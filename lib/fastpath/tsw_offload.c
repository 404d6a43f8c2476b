/* SPDX-License-Identifier: BSD-3-Clause
 * A guest's TCP offloads in software: checksum completion and TSO
 * segmentation. See tsw_offload.h.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_gro.h>
#include <rte_ip.h>
#include <rte_net.h>
#include <rte_tcp.h>

#include "tsw_offload.h"
#include "tsw_pkt.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6
/* the headers of a TSO frame copied into every segment: Ethernet with two
 * tags, IPv6 with extension headers or IPv4 with options, TCP with options */
#define MAX_HDR 256

static uint32_t
l4_ptype(struct rte_mbuf *m, struct rte_net_hdr_lens *hl)
{
	return rte_net_get_ptype(m, hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK);
}

/* Write the 2 bytes v at offset off of m, whichever segments hold them. */
static void
put16(struct rte_mbuf *m, uint32_t off, uint16_t v)
{
	uint8_t b[2];

	memcpy(b, &v, sizeof(b));
	for (int i = 0; i < 2; i++) {
		struct rte_mbuf *s = m;
		uint32_t o = off + (uint32_t)i;

		while (o >= s->data_len) {
			o -= s->data_len;
			s = s->next;
		}
		*rte_pktmbuf_mtod_offset(s, uint8_t *, o) = b[i];
	}
}

/* The L4 length the IP header states, within the frame (0 when the
 * headers rte_net_get_ptype() measured do not fit the frame: it does not
 * read a UDP header, and a truncated frame may still name its protocol). */
static uint32_t
l4_len_of(const struct rte_mbuf *m, uint32_t ptype, const struct rte_net_hdr_lens *hl)
{
	uint32_t l4 = (uint32_t)hl->l2_len + hl->l3_len, ip_len, stated, avail;
	uint8_t buf[6];
	const uint8_t *p;

	if (l4 >= rte_pktmbuf_pkt_len(m))
		return 0;
	avail = rte_pktmbuf_pkt_len(m) - l4;
	p = rte_pktmbuf_read(m, hl->l2_len, sizeof(buf), buf);
	if (p == NULL)
		return 0;
	if (RTE_ETH_IS_IPV4_HDR(ptype))
		ip_len = (uint32_t)(p[2] << 8 | p[3]);                 /* header included */
	else
		ip_len = (uint32_t)(p[4] << 8 | p[5]) + 40;            /* payload + base header */
	stated = ip_len > hl->l3_len ? ip_len - hl->l3_len : 0;
	return RTE_MIN(stated, avail);
}

void
tsw_offload_csum_complete(struct rte_mbuf *m)
{
	struct rte_net_hdr_lens hl;
	uint32_t ptype = l4_ptype(m, &hl), l4 = hl.l2_len + hl.l3_len, len, off;
	uint16_t sum;
	bool udp = false;

	switch (ptype & RTE_PTYPE_L4_MASK) {
	case RTE_PTYPE_L4_TCP:
		off = TCP_CSUM_OFF;
		break;
	case RTE_PTYPE_L4_UDP:
		off = UDP_CSUM_OFF;
		udp = true;
		break;
	default:
		return;         /* not ours to know where its checksum is */
	}
	len = l4_len_of(m, ptype, &hl);
	if (len < off + 2)
		return;
	/* the field holds the pseudo-header's sum: summing the whole L4
	 * segment over it gives the full sum */
	sum = (uint16_t)~tsw_cksum_mbuf(m, l4, len);
	if (udp && sum == 0)
		sum = 0xffff;
	put16(m, l4 + off, sum);
	m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_L4_CKSUM_MASK) | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
}

/* The sum (not complemented) of the len-byte TCP segment at offset l4 of m
 * with its pseudo-header: IPv4's from DPDK (the lengths of the IP header
 * ip, which must be right already), IPv6's with len as upper-layer length
 * (extension headers are not part of it). */
static uint16_t
tcp_sum(const struct rte_mbuf *m, const void *ip, bool v4, uint32_t l4, uint32_t len)
{
	const struct rte_ipv6_hdr *ip6 = ip;
	uint32_t sum = v4 ? rte_ipv4_phdr_cksum(ip, 0) :
		       tsw_cksum_fold(__rte_raw_cksum(ip6->src_addr, 32, 0) +
				      rte_cpu_to_be_16(IPPROTO_TCP) +
				      rte_cpu_to_be_16((uint16_t)len));

	return tsw_cksum_fold(sum + tsw_cksum_mbuf(m, l4, len));
}

/* Append len bytes of src from offset off to the frame s, chaining mbufs
 * from pool when the last one is full. */
static bool
append_from(struct rte_mbuf *s, struct rte_mempool *pool, const struct rte_mbuf *src,
	    uint32_t off, uint32_t len)
{
	struct rte_mbuf *t = rte_pktmbuf_lastseg(s);

	while (len > 0) {
		uint32_t k = RTE_MIN((uint32_t)rte_pktmbuf_tailroom(t), len);
		uint8_t *d;
		const uint8_t *p;

		if (k == 0) {
			struct rte_mbuf *n = rte_pktmbuf_alloc(pool);
			if (n == NULL)
				return false;
			n->data_off = 0;        /* no headroom inside a chain */
			t->next = n;
			s->nb_segs++;
			t = n;
			continue;
		}
		d = rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len);
		p = rte_pktmbuf_read(src, off, k, d);
		if (p != d)
			rte_memcpy(d, p, k);
		t->data_len = (uint16_t)(t->data_len + k);
		s->pkt_len += k;
		off += k;
		len -= k;
	}
	return true;
}

uint16_t
tsw_offload_tso_segment(struct rte_mbuf *m, struct rte_mempool *pool, struct rte_mbuf **out,
			enum tsw_drop *why)
{
	struct rte_net_hdr_lens hl;
	uint32_t ptype = l4_ptype(m, &hl);
	const bool v4 = RTE_ETH_IS_IPV4_HDR(ptype);
	const uint32_t l3 = hl.l2_len, l4 = hl.l2_len + hl.l3_len;
	const uint32_t hdr = l4 + hl.l4_len, mss = m->tso_segsz;
	uint32_t pay, nseg, seq0;
	uint16_t id0 = 0;
	uint8_t h[MAX_HDR];

	if ((ptype & RTE_PTYPE_L4_MASK) != RTE_PTYPE_L4_TCP || (!v4 && !RTE_ETH_IS_IPV6_HDR(ptype)) ||
	    hl.l4_len < sizeof(struct rte_tcp_hdr) || hdr > sizeof(h) ||
	    hdr > rte_pktmbuf_pkt_len(m)) {
		*why = TSW_DROP_tso_bad;
		return 0;
	}
	pay = l4_len_of(m, ptype, &hl);
	pay = pay > hl.l4_len ? pay - hl.l4_len : 0;
	if (mss != 0 && pay <= mss) {          /* nothing to cut */
		m->ol_flags &= ~RTE_MBUF_F_RX_LRO;
		m->tso_segsz = 0;
		if (tsw_offload_csum_partial(m))
			tsw_offload_csum_complete(m);
		out[0] = m;
		return 1;
	}
	if (mss == 0 || (pay + mss - 1) / mss > TSW_TSO_MAX_SEGS) {
		*why = TSW_DROP_tso_bad;
		return 0;
	}
	nseg = (pay + mss - 1) / mss;
	if (rte_pktmbuf_read(m, 0, hdr, h) != h)
		memcpy(h, rte_pktmbuf_mtod(m, const void *), hdr);
	if (v4) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(h + l3);
		id0 = rte_be_to_cpu_16(ip->packet_id);
	}
	seq0 = rte_be_to_cpu_32(((const struct rte_tcp_hdr *)(h + l4))->sent_seq);
	if (rte_pktmbuf_alloc_bulk(pool, out, nseg) != 0) {
		*why = TSW_DROP_no_mbuf;
		return 0;
	}
	for (uint32_t i = 0; i < nseg; i++) {
		struct rte_mbuf *s = out[i];
		uint32_t len = RTE_MIN(mss, pay - i * mss);
		uint8_t *d = (uint8_t *)rte_pktmbuf_append(s, (uint16_t)hdr);
		struct rte_tcp_hdr *tcp;

		if (d == NULL || !append_from(s, pool, m, hdr + i * mss, len)) {
			rte_pktmbuf_free_bulk(out, nseg);
			*why = TSW_DROP_no_mbuf;
			return 0;
		}
		memcpy(d, h, hdr);
		s->port = m->port;
		if (v4) {
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + l3);

			ip->total_length = rte_cpu_to_be_16((uint16_t)(hl.l3_len + hl.l4_len + len));
			ip->packet_id = rte_cpu_to_be_16((uint16_t)(id0 + i));
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		} else {
			struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(d + l3);

			ip6->payload_len = rte_cpu_to_be_16((uint16_t)(hl.l3_len - 40 + hl.l4_len + len));
		}
		tcp = (struct rte_tcp_hdr *)(d + l4);
		tcp->sent_seq = rte_cpu_to_be_32(seq0 + i * mss);
		if (i + 1 < nseg)
			tcp->tcp_flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i > 0)
			tcp->tcp_flags &= (uint8_t)~TCP_CWR;
		tcp->cksum = 0;
		tcp->cksum = (uint16_t)~tcp_sum(s, d + l3, v4, l4, hl.l4_len + len);
	}
	rte_pktmbuf_free(m);
	return (uint16_t)nseg;
}

/* A TCP/IPv4 segment rte_gro may merge: Ethernet without a tag, the
 * headers in the first mbuf, no padding, payload, both checksums right.
 * Sets the lengths and packet type rte_gro reads, and tso_segsz to the
 * payload length (a merged frame's head keeps its own). */
static bool
gro_candidate(struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ipv4_hdr *ip;
	uint32_t ihl, thl, len = rte_pktmbuf_pkt_len(m);

	if (m->data_len < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return false;
	ip = (const struct rte_ipv4_hdr *)(f + 14);
	ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	if ((ip->version_ihl >> 4) != 4 || ihl < 20 || ip->next_proto_id != IPPROTO_TCP ||
	    rte_be_to_cpu_16(ip->total_length) + 14u != len ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
						    RTE_IPV4_HDR_OFFSET_MASK)) != 0 ||
	    m->data_len < 14 + ihl + 20)
		return false;
	thl = (uint32_t)(f[14 + ihl + 12] >> 4) * 4;
	if (thl < 20 || m->data_len < 14 + ihl + thl || len <= 14 + ihl + thl ||
	    !tsw_ip4_sum_ok(ip, ihl) || tcp_sum(m, ip, true, 14 + ihl, len - 14 - ihl) != 0xffff)
		return false;
	m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_TCP;
	m->l2_len = 14;
	m->l3_len = ihl;
	m->l4_len = thl;
	m->tso_segsz = (uint16_t)(len - 14 - ihl - thl);
	return true;
}

uint16_t
tsw_offload_gro(struct rte_mbuf **pkts, uint16_t n, uint64_t *merged)
{
	uint16_t out = 0, cand = 0;

	for (uint16_t i = 0; i < n; i++) {
		pkts[i]->packet_type = 0;
		cand += gro_candidate(pkts[i]);
	}
	if (cand < 2)
		return n;
	/* rte_gro takes at most RTE_GRO_MAX_BURST_ITEM_NUM frames a call */
	for (uint16_t at = 0; at < n; ) {
		uint16_t k = (uint16_t)RTE_MIN((uint32_t)(n - at), RTE_GRO_MAX_BURST_ITEM_NUM);
		const struct rte_gro_param p = { .gro_types = RTE_GRO_TCP_IPV4,
						 .max_flow_num = k, .max_item_per_flow = k };
		uint16_t got = rte_gro_reassemble_burst(pkts + at, k, &p);

		*merged += (uint64_t)(k - got);
		memmove(pkts + out, pkts + at, got * sizeof(*pkts));
		out = (uint16_t)(out + got);
		at = (uint16_t)(at + k);
	}
	for (uint16_t i = 0; i < out; i++) {
		struct rte_mbuf *m = pkts[i];

		if (m->packet_type != 0 &&
		    rte_pktmbuf_pkt_len(m) > (uint32_t)m->l2_len + m->l3_len + m->l4_len + m->tso_segsz)
			m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 |
				       RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
	}
	return out;
}
