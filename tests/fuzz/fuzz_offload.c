/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: a guest's offloads done in software (tsw_offload.h), what a
 * hostile guest controls directly: the frame, the TSO flag and segment size,
 * the partial-checksum flag. Input: [flags][mss lo][mss hi][split a]
 * [split b][frame...]; flags bit 0: TSO, bit 1: partial checksum, bit 2:
 * coalesce the results again (GRO).
 * Oracles: nothing crashes; every mbuf returns to the pool; linear and
 * chained frames give the same frames and the same refusal; segments carry
 * at most mss payload bytes, the frame's payload in order, and right IPv4
 * header and TCP checksums (checked here byte by byte, independently of
 * the code under test); GRO gives every frame back or folds it into
 * another, and keeps every payload byte.
 */
#include <string.h>

#include <rte_ip.h>

#include "harness.h"
#include "tsw_offload.h"

#include "../csum_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t flat_a[70000], flat_b[70000];

static const uint8_t *
flat(const struct rte_mbuf *m, uint8_t *buf)
{
	const uint8_t *p = rte_pktmbuf_read(m, 0, rte_pktmbuf_pkt_len(m), buf);

	if (p == NULL)
		fz_fail("cannot read a frame");
	return p;
}

/* Header length of a plain TCP frame (untagged Ethernet, IPv4 or IPv6
 * without extension headers); 0 for anything else. */
static size_t
tcp_hdr_len(const uint8_t *f, size_t len)
{
	size_t l3;

	if (len < 14 + 40 + 20)
		return 0;
	if (f[12] == 0x08 && f[13] == 0x00 && (f[14] >> 4) == 4 && f[23] == 6) {
		l3 = (size_t)(f[14] & 0xf) * 4;
	} else if (f[12] == 0x86 && f[13] == 0xdd && f[20] == 6) {
		l3 = 40;
	} else {
		return 0;
	}
	if (l3 < 20 || 14 + l3 + 20 > len)
		return 0;
	return 14 + l3 + (size_t)(f[14 + l3 + 12] >> 4) * 4;
}

static void
check_segment(const uint8_t *s, size_t len, size_t hdr)
{
	if (hdr > len)
		fz_fail("segment shorter than its headers");
	if (!oracle_l4_ok(s, len, IPPROTO_TCP))
		fz_fail("segment's IP length, IPv4 header checksum or TCP checksum wrong");
}

static uint16_t
process(struct rte_mbuf *m, uint8_t flags, uint16_t mss, struct rte_mbuf **out,
	enum tsw_drop *why)
{
	m->ol_flags = (flags & 1 ? RTE_MBUF_F_RX_LRO : 0) |
		      (flags & 2 ? RTE_MBUF_F_RX_L4_CKSUM_NONE : 0);
	m->tso_segsz = mss;
	if (tsw_offload_is_tso(m))
		return tsw_offload_tso_segment(m, FZ.pool, out, why);
	if (tsw_offload_csum_partial(m))
		tsw_offload_csum_complete(m);
	out[0] = m;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rte_mbuf *oa[TSW_TSO_MAX_SEGS], *ob[TSW_TSO_MAX_SEGS];
	const uint8_t *frame = data + 5;
	size_t len = size - 5, hdr, at;
	enum tsw_drop wa = TSW_DROP_MAX, wb = TSW_DROP_MAX;
	struct rte_mbuf *a, *b;
	uint16_t mss, na, nb;
	uint8_t flags;

	if (size < 5 || len > FZ_SNAP)    /* fz_mbuf: one mbuf per piece */
		return 0;
	flags = data[0];
	mss = (uint16_t)(data[1] | data[2] << 8);
	a = fz_mbuf(frame, len, 0, 0);
	b = fz_mbuf(frame, len, data[3], (size_t)data[3] + data[4] * 8u);
	if (a == NULL || b == NULL)
		fz_fail("out of mbufs");
	na = process(a, flags, mss, oa, &wa);
	nb = process(b, flags, mss, ob, &wb);
	if (na != nb || wa != wb)
		fz_fail("linear: %u frames (%d), chained: %u (%d)", na, wa, nb, wb);
	if (na == 0) {                      /* refused: untouched */
		if (memcmp(flat(a, flat_a), frame, len) != 0)
			fz_fail("a refused TSO frame was changed");
		rte_pktmbuf_free(a);
		rte_pktmbuf_free(b);
		fz_check_pool("after a refused frame");
		return 0;
	}
	for (uint16_t i = 0; i < na; i++) {
		uint32_t l = rte_pktmbuf_pkt_len(oa[i]);
		if (l != rte_pktmbuf_pkt_len(ob[i]) ||
		    memcmp(flat(oa[i], flat_a), flat(ob[i], flat_b), l) != 0)
			fz_fail("frame %u differs between linear and chained", i);
	}
	hdr = tcp_hdr_len(frame, len);
	if (na > 1 && hdr != 0) {
		at = hdr;
		for (uint16_t i = 0; i < na; i++) {
			uint32_t l = rte_pktmbuf_pkt_len(oa[i]);
			const uint8_t *s = flat(oa[i], flat_a);

			if (l - hdr > mss || l < hdr || at + (l - hdr) > len)
				fz_fail("segment %u: %u bytes for mss %u", i, l, mss);
			if (memcmp(s + hdr, frame + at, l - hdr) != 0)
				fz_fail("segment %u: payload out of place", i);
			check_segment(s, l, hdr);
			at += l - hdr;
		}
	}
	rte_pktmbuf_free_bulk(ob, nb);
	if (flags & 4) {
		uint64_t merged = 0, before = 0, after = 0;
		uint16_t n;

		for (uint16_t i = 0; i < na; i++)
			before += rte_pktmbuf_pkt_len(oa[i]);
		n = tsw_offload_gro(oa, na, &merged);
		for (uint16_t i = 0; i < n; i++)
			after += rte_pktmbuf_pkt_len(oa[i]);
		if (n + merged != na)
			fz_fail("GRO: %u frames + %lu merged from %u", n, (unsigned long)merged, na);
		/* every payload byte kept: a frame folded into another loses
		 * only its headers (all alike: segments of one frame) */
		if ((merged == 0 || (na > 1 && hdr != 0)) && after + merged * hdr != before)
			fz_fail("GRO: %lu bytes in, %lu out, %lu merged", (unsigned long)before,
				(unsigned long)after, (unsigned long)merged);
		na = n;
	}
	rte_pktmbuf_free_bulk(oa, na);
	fz_check_pool("after offloads");
	return 0;
}
