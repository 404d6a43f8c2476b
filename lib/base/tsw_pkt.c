/* SPDX-License-Identifier: BSD-3-Clause
 * Reading a frame's headers safely: checksums over chains, the IPv6
 * extension-header chain.
 */
#include <stdbool.h>

#include <rte_ip.h>

#include "tsw_pkt.h"

/* The 16-bit one's-complement sum of len bytes of m from off, across
 * segments of any length (DPDK 22.11's rte_raw_cksum_mbuf gets odd segment
 * boundaries wrong: a segment starting at an odd offset of the range has
 * its bytes in the other half of each word, so its partial sum is
 * byte-swapped). Not complemented. */
uint16_t
tsw_cksum_mbuf(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	const struct rte_mbuf *s = m;
	uint64_t sum = 0;
	uint32_t done = 0;

	while (s != NULL && off >= s->data_len) {
		off -= s->data_len;
		s = s->next;
	}
	for (; s != NULL && done < len; s = s->next, off = 0) {
		uint32_t n = RTE_MIN((uint32_t)s->data_len - off, len - done);
		uint32_t part = tsw_cksum_fold(
			__rte_raw_cksum(rte_pktmbuf_mtod_offset(s, const void *, off), n, 0));

		if (done & 1)
			part = ((part & 0xff) << 8) | (part >> 8);
		sum += part;
		done += n;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

#define NH_HOPOPTS   0
#define NH_TCP       6
#define NH_UDP       17
#define NH_ROUTING   43
#define NH_FRAGMENT  44
#define NH_AH        51
#define NH_ICMPV6    58
#define NH_DSTOPTS   60
#define NH_MOBILITY  135
#define NH_HIP       139
#define NH_SHIM6     140
#define NH_EXP1      253
#define NH_EXP2      254

static inline bool
is_ext_header(uint8_t nh)
{
	switch (nh) {
	case NH_HOPOPTS: case NH_ROUTING: case NH_FRAGMENT: case NH_AH: case NH_DSTOPTS:
	case NH_MOBILITY: case NH_HIP: case NH_SHIM6: case NH_EXP1: case NH_EXP2:
		return true;
	default:
		return false;
	}
}

/* bytes of the upper-layer header that must be present to read it */
static inline uint32_t
upper_min_len(uint8_t proto)
{
	switch (proto) {
	case NH_ICMPV6: return 4;
	case NH_UDP: return 8;
	case NH_TCP: return 20;
	default: return 0;
	}
}

enum tsw_ip6_walk
tsw_ip6_upper(const struct rte_mbuf *m, uint32_t ip_off, uint8_t *proto, uint32_t *l4_off,
	      uint32_t *end)
{
	struct rte_ipv6_hdr ib;
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_read(m, ip_off, sizeof(ib), &ib);
	uint32_t at = ip_off + (uint32_t)sizeof(*ip), stop, plen;
	uint8_t nh;

	*end = rte_pktmbuf_pkt_len(m);
	if (ip == NULL)
		return TSW_IP6_TRUNCATED;
	plen = rte_be_to_cpu_16(ip->payload_len);
	if (plen != 0 && at + plen < *end)       /* 0: a jumbogram, bounded by the frame */
		*end = at + plen;
	stop = *end;
	nh = ip->proto;
	while (is_ext_header(nh)) {
		uint8_t hb[8];
		const uint8_t *h;
		uint32_t len;

		if (stop - at < 8)               /* every extension header has >= 8 bytes */
			return TSW_IP6_TRUNCATED;
		h = rte_pktmbuf_read(m, at, sizeof(hb), hb);
		if (h == NULL)
			return TSW_IP6_TRUNCATED;
		if (nh == NH_FRAGMENT) {
			if ((((uint32_t)h[2] << 8 | h[3]) & 0xfff8) != 0)
				return TSW_IP6_LATER_FRAGMENT;
			len = 8;
		} else if (nh == NH_AH) {
			len = ((uint32_t)h[1] + 2) * 4;   /* RFC 4302: 32-bit words - 2 */
		} else {
			len = ((uint32_t)h[1] + 1) * 8;   /* RFC 8200 / 6564: 8-octet units - 1 */
		}
		if (len > stop - at)
			return TSW_IP6_TRUNCATED;
		nh = h[0];
		at += len;
	}
	if (upper_min_len(nh) > stop - at)
		return TSW_IP6_TRUNCATED;
	*proto = nh;
	*l4_off = at;
	return TSW_IP6_UPPER;
}
