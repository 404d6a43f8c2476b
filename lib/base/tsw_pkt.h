/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: reading a frame's headers safely, shared by every stage.
 *
 * Contract:
 *  - tsw_pkt_head() makes a frame's first bytes contiguous (linearizing a
 *    chain only when it must), tsw_pkt_trim_to() cuts a chain anywhere,
 *    tsw_cksum_mbuf() sums any range of a chain (segments of any parity),
 *    tsw_ip4_sum_ok() checks an IPv4 header's checksum (every stage that
 *    checks one: decapsulation, guest offloads, security groups).
 *  - tsw_ip6_upper() walks an IPv6 packet's whole extension-header chain
 *    (every type Linux and RFC 7045 know: hop-by-hop, routing, fragment,
 *    destination options, AH, mobility, HIP, shim6, the experimental 253
 *    and 254), bounded by the packet (the frame, and the IPv6 payload
 *    length when it is not 0), never by a count; each step advances at
 *    least 8 bytes, so the walk ends. It reads with rte_pktmbuf_read
 *    (chains are fine), changes nothing, never allocates.
 *  - The upper-layer header is reported with enough of it present to read
 *    its fixed part (ICMPv6: 4 bytes, UDP and TCP: 8 and 20), or the chain
 *    is "truncated": a header that does not end inside the packet, a first
 *    fragment that does not hold the whole chain (RFC 7112: receivers
 *    drop those), an upper-layer header cut short.
 *  - A non-first fragment has no upper-layer header: TSW_IP6_LATER_FRAGMENT.
 *  - ESP (50) and No Next Header (59) end the chain like an upper layer:
 *    what follows them cannot be read.
 */
#ifndef TSW_PKT_H
#define TSW_PKT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

/* Make the first len bytes of m contiguous (linearizing a chain if it must);
 * false when the frame is shorter or cannot be linearized. */
static inline bool
tsw_pkt_head(struct rte_mbuf *m, uint32_t len)
{
	if (rte_pktmbuf_data_len(m) >= len)
		return true;
	if (rte_pktmbuf_pkt_len(m) < len)
		return false;
	return rte_pktmbuf_linearize(m) == 0;
}

/* Cut m to its first len bytes, whichever segment they end in (DPDK's
 * rte_pktmbuf_trim trims the last segment only: it fails when the cut
 * reaches into an earlier one); segments past the end go back to their pool. */
static inline void
tsw_pkt_trim_to(struct rte_mbuf *m, uint32_t len)
{
	struct rte_mbuf *s = m, *rest;
	uint32_t acc = 0;

	if (len >= rte_pktmbuf_pkt_len(m))
		return;
	while (acc + s->data_len < len) {
		acc += s->data_len;
		s = s->next;
	}
	s->data_len = (uint16_t)(len - acc);
	rest = s->next;
	s->next = NULL;
	m->pkt_len = len;
	for (struct rte_mbuf *r = rest; r != NULL; r = r->next)
		m->nb_segs--;
	if (rest != NULL)
		rte_pktmbuf_free(rest);
}

/* A 32-bit one's-complement sum of 16-bit words folded to 16 bits. */
static inline uint16_t
tsw_cksum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The 16-bit one's-complement sum (not complemented) of len bytes of m
 * from offset off, across segments of any length and parity. */
uint16_t tsw_cksum_mbuf(const struct rte_mbuf *m, uint32_t off, uint32_t len);

/* Whether the IPv4 header of ihl bytes at h (in one piece) has a good
 * checksum: the one's complement sum of its 16-bit words, the checksum
 * included, is all ones (what rte_raw_cksum() finds). A header without
 * options, the common one, in five 32-bit adds of words loaded straight
 * from the frame (a copy into an array went through the stack: a 16-byte
 * store read back in 4-byte pieces). */
static inline bool
tsw_ip4_sum_ok(const void *h, uint32_t ihl)
{
	const uint8_t *b = h;
	uint64_t w0, w1, s;
	uint32_t w2;

	if (ihl != 20)
		return rte_raw_cksum(h, ihl) == 0xffff;
	memcpy(&w0, b, 8);
	memcpy(&w1, b + 8, 8);
	memcpy(&w2, b + 16, 4);
	s = (w0 & 0xffffffffu) + (w0 >> 32) + (w1 & 0xffffffffu) + (w1 >> 32) + w2;
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return s == 0xffffu;
}

enum tsw_ip6_walk {
	TSW_IP6_UPPER,            /* *proto and *l4_off are set */
	TSW_IP6_LATER_FRAGMENT,   /* a fragment other than the first */
	TSW_IP6_TRUNCATED,        /* the chain does not end inside the packet */
};

/* The upper-layer protocol of the IPv6 packet whose header starts at ip_off
 * in m, and the offset of its header; *end is set to the packet's end
 * (bounded by the payload length) in every case where the IPv6 header
 * itself is present. The IPv6 header must be readable (else TRUNCATED). */
enum tsw_ip6_walk tsw_ip6_upper(const struct rte_mbuf *m, uint32_t ip_off, uint8_t *proto,
				uint32_t *l4_off, uint32_t *end);

#endif
