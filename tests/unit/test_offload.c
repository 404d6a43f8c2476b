/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests: a guest's TCP offloads done in software (tsw_offload.h).
 * The oracle is independent of the code under test: a byte-wise RFC 1071
 * sum over a flat copy of each frame (tests/csum_oracle.h).
 */
#include <string.h>

#include <CUnit/Basic.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "tsw_offload.h"

#include "../csum_oracle.h"

#include "test_offload.h"

extern struct rte_mempool *pool;

#define MAXF 70000
static uint8_t flat[MAXF];

/* A frame of len bytes from src as a chain cut at the given lengths
 * (0-terminated; then 1 900-byte pieces). */
static struct rte_mbuf *
chain(const uint8_t *src, uint32_t len, const uint16_t *cuts)
{
	struct rte_mbuf *head = NULL;
	uint32_t off = 0;

	for (int i = 0; off < len; i += cuts[i] != 0) {
		uint32_t k = RTE_MIN(cuts[i] != 0 ? (uint32_t)cuts[i] : 1900u, len - off);
		struct rte_mbuf *s = rte_pktmbuf_alloc(pool);

		CU_ASSERT_FATAL(s != NULL);
		memcpy(rte_pktmbuf_append(s, (uint16_t)k), src + off, k);
		if (head == NULL)
			head = s;
		else if (rte_pktmbuf_chain(head, s) != 0)
			CU_FAIL_FATAL("chain");
		off += k;
	}
	return head;
}

static uint8_t super[MAXF];

/* A TCP super-frame: Ethernet, IPv4 (id 0x1234) or IPv6, TCP with 12
 * bytes of options (seq 1000, flags CWR|PSH|FIN|ACK), payload of pay bytes
 * (i * 7 + 3). The TCP checksum holds the pseudo-header sum, as a guest
 * asking for checksum offload leaves it. Returns the frame length. */
static uint32_t
build_tcp(bool v6, uint32_t pay)
{
	uint32_t l3 = v6 ? 40 : 20, l4 = 32, len = 14 + l3 + l4 + pay, sum;
	uint8_t *f = super, *t;

	memset(f, 0, 14 + l3 + l4);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (!v6) {
		f[12] = 0x08;
		f[14] = 0x45;
		f[16] = (uint8_t)((l3 + l4 + pay) >> 8);
		f[17] = (uint8_t)(l3 + l4 + pay);
		f[18] = 0x12;
		f[19] = 0x34;
		f[20] = 0x40;      /* DF */
		f[22] = 64;
		f[23] = IPPROTO_TCP;
		memcpy(f + 26, "\xc6\x13\x01\x01\xc6\x13\x01\x02", 8);
		sum = oracle_sum16(f + 14, 20, 0);
		f[24] = (uint8_t)(~sum >> 8);
		f[25] = (uint8_t)~sum;
		sum = oracle_sum16(f + 26, 8, 0);
	} else {
		f[12] = 0x86;
		f[13] = 0xdd;
		f[14] = 0x60;
		f[18] = (uint8_t)((l4 + pay) >> 8);
		f[19] = (uint8_t)(l4 + pay);
		f[20] = IPPROTO_TCP;
		f[21] = 64;
		for (int i = 0; i < 32; i++)
			f[22 + i] = (uint8_t)(0x20 + i);
		sum = oracle_sum16(f + 22, 32, 0);
	}
	t = f + 14 + l3;
	t[0] = 0x80;      /* ports 32768 -> 5201 */
	t[2] = 0x14;
	t[3] = 0x51;
	t[7] = 0xe8;      /* seq 1000 */
	t[6] = 0x03;
	t[12] = 0x80;     /* data offset 8 words */
	t[13] = 0x80 | 0x10 | 0x08 | 0x01;
	t[14] = 0xfa;
	t[20] = 1;        /* NOP NOP timestamps */
	t[21] = 1;
	t[22] = 8;
	t[23] = 10;
	for (uint32_t i = 0; i < pay; i++)
		t[l4 + i] = (uint8_t)(i * 7 + 3);
	sum += IPPROTO_TCP + l4 + pay;
	sum = oracle_sum16(NULL, 0, sum);
	t[16] = (uint8_t)(sum >> 8);       /* partial: the pseudo-header sum */
	t[17] = (uint8_t)sum;
	return len;
}

static void
check_tso(bool v6, uint32_t pay, uint16_t mss, const uint16_t *cuts)
{
	const uint32_t l3 = v6 ? 40 : 20, hdr = 14 + l3 + 32;
	uint32_t len = build_tcp(v6, pay), nseg = (pay + mss - 1) / mss, got_pay = 0;
	unsigned int before = rte_mempool_in_use_count(pool);
	struct rte_mbuf *m = chain(super, len, cuts), *out[TSW_TSO_MAX_SEGS];
	enum tsw_drop why = TSW_DROP_MAX;
	uint16_t n;

	m->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	m->tso_segsz = mss;
	n = tsw_offload_tso_segment(m, pool, out, &why);
	CU_ASSERT_EQUAL_FATAL(n, nseg);
	for (uint16_t i = 0; i < n; i++) {
		uint32_t sl = rte_pktmbuf_pkt_len(out[i]), want = RTE_MIN((uint32_t)mss, pay - got_pay);
		const uint8_t *t;

		CU_ASSERT_EQUAL(sl, hdr + want);
		CU_ASSERT_EQUAL(out[i]->ol_flags & (RTE_MBUF_F_RX_LRO | RTE_MBUF_F_TX_TCP_SEG), 0);
		if (rte_pktmbuf_read(out[i], 0, sl, flat) != flat)
			memcpy(flat, rte_pktmbuf_mtod(out[i], const void *), sl);
		CU_ASSERT(oracle_l4_ok(flat, sl, IPPROTO_TCP));
		/* headers as the guest's, but for lengths, id, seq, flags, sums */
		CU_ASSERT_EQUAL(memcmp(flat, super, 14), 0);
		if (!v6) {
			CU_ASSERT_EQUAL(flat[18] << 8 | flat[19], 0x1234 + i);
			CU_ASSERT_EQUAL(memcmp(flat + 20, super + 20, 4), 0);   /* DF, TTL, proto */
			CU_ASSERT_EQUAL(memcmp(flat + 26, super + 26, 8), 0);
		} else {
			CU_ASSERT_EQUAL(memcmp(flat + 20, super + 20, 34), 0);
		}
		t = flat + 14 + l3;
		CU_ASSERT_EQUAL((uint32_t)(t[4] << 24 | t[5] << 16 | t[6] << 8 | t[7]), 1000 + got_pay);
		CU_ASSERT_EQUAL(t[13], (uint8_t)(0x10 | (i == 0 ? 0x80 : 0) |
						(i + 1 == n ? 0x08 | 0x01 : 0)));
		CU_ASSERT_EQUAL(memcmp(t + 18, super + 14 + l3 + 18, 14), 0);   /* urg, options */
		CU_ASSERT_EQUAL(memcmp(flat + hdr, super + hdr + got_pay, want), 0);
		got_pay += want;
	}
	CU_ASSERT_EQUAL(got_pay, pay);
	rte_pktmbuf_free_bulk(out, n);
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(pool), before);
}

static void
test_tso_ipv4(void)
{
	static const uint16_t linear[] = { 0 }, odd[] = { 33, 1001, 77, 0 };

	check_tso(false, 10000, 1398, linear);    /* 8 segments, the last short */
	check_tso(false, 10000, 1398, odd);       /* headers cut, odd boundaries */
	check_tso(false, 65000, 1448, odd);       /* a 64 KB frame */
	check_tso(false, 2796, 1398, linear);     /* exactly two */
}

static void
test_tso_ipv6(void)
{
	static const uint16_t linear[] = { 0 }, odd[] = { 61, 999, 0 };

	check_tso(true, 10000, 1378, linear);
	check_tso(true, 30001, 1378, odd);
}

static void
test_tso_jumbo_segments_chain(void)
{
	static const uint16_t odd[] = { 101, 0 };

	/* 8 900-byte segments do not fit a 2 KB mbuf: chained */
	check_tso(false, 40000, 8898, odd);
	check_tso(true, 40000, 8878, odd);
}

static void
test_tso_refused_untouched(void)
{
	static const uint16_t linear[] = { 0 };
	unsigned int before = rte_mempool_in_use_count(pool);
	struct rte_mbuf *m, *out[TSW_TSO_MAX_SEGS];
	enum tsw_drop why = TSW_DROP_MAX;
	uint32_t len = build_tcp(false, 10000);

	/* segment size 0; too many segments */
	m = chain(super, len, linear);
	m->ol_flags = RTE_MBUF_F_RX_LRO;
	m->tso_segsz = 0;
	CU_ASSERT_EQUAL(tsw_offload_tso_segment(m, pool, out, &why), 0);
	CU_ASSERT_EQUAL(why, TSW_DROP_tso_bad);
	m->tso_segsz = 39;                /* 257 segments */
	why = TSW_DROP_MAX;
	CU_ASSERT_EQUAL(tsw_offload_tso_segment(m, pool, out, &why), 0);
	CU_ASSERT_EQUAL(why, TSW_DROP_tso_bad);
	m->tso_segsz = 40;                /* 250: cut */
	CU_ASSERT_EQUAL(tsw_offload_tso_segment(m, pool, out, &why), 250);
	rte_pktmbuf_free_bulk(out, 250);
	/* not TCP: UDP */
	len = build_tcp(false, 3000);
	super[23] = IPPROTO_UDP;
	m = chain(super, len, linear);
	m->ol_flags = RTE_MBUF_F_RX_LRO;
	m->tso_segsz = 1000;
	why = TSW_DROP_MAX;
	CU_ASSERT_EQUAL(tsw_offload_tso_segment(m, pool, out, &why), 0);
	CU_ASSERT_EQUAL(why, TSW_DROP_tso_bad);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), len);
	if (rte_pktmbuf_read(m, 0, len, flat) != flat)
		memcpy(flat, rte_pktmbuf_mtod(m, const void *), len);
	CU_ASSERT_EQUAL(memcmp(flat, super, len), 0);
	rte_pktmbuf_free(m);
	/* truncated: IPv4 header only */
	build_tcp(false, 0);
	m = chain(super, 30, linear);
	m->ol_flags = RTE_MBUF_F_RX_LRO;
	m->tso_segsz = 1000;
	CU_ASSERT_EQUAL(tsw_offload_tso_segment(m, pool, out, &why), 0);
	rte_pktmbuf_free(m);
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(pool), before);
}

static void
test_tso_small_frame_passes(void)
{
	static const uint16_t cuts[] = { 21, 0 };
	uint32_t len = build_tcp(false, 1000);
	struct rte_mbuf *m = chain(super, len, cuts), *out[TSW_TSO_MAX_SEGS];
	enum tsw_drop why = TSW_DROP_MAX;

	m->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	m->tso_segsz = 1398;
	CU_ASSERT_EQUAL_FATAL(tsw_offload_tso_segment(m, pool, out, &why), 1);
	CU_ASSERT_PTR_EQUAL(out[0], m);
	CU_ASSERT_EQUAL(m->ol_flags & RTE_MBUF_F_RX_LRO, 0);
	CU_ASSERT_EQUAL(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
	CU_ASSERT_PTR_NOT_NULL(rte_pktmbuf_read(m, 0, len, flat));
	if (rte_pktmbuf_read(m, 0, len, flat) != flat)
		memcpy(flat, rte_pktmbuf_mtod(m, const void *), len);
	CU_ASSERT(oracle_l4_ok(flat, len, IPPROTO_TCP));
	rte_pktmbuf_free(m);
}

static void
test_csum_complete(void)
{
	static const uint16_t odd[] = { 15, 37, 101, 0 }, linear[] = { 0 };
	const uint16_t *cutsets[] = { linear, odd };

	for (int c = 0; c < 2; c++)
		for (int v6 = 0; v6 < 2; v6++)
			for (int udp = 0; udp < 2; udp++) {
				uint32_t len = build_tcp(v6, 777);
				struct rte_mbuf *m;
				uint8_t *t = super + 14 + (v6 ? 40 : 20);

				if (udp) {      /* the same bytes as UDP: length, partial sum */
					uint32_t l4len = len - 14 - (v6 ? 40 : 20), sum;
					super[v6 ? 20 : 23] = IPPROTO_UDP;
					if (!v6) {
						super[24] = super[25] = 0;
						sum = oracle_sum16(super + 14, 20, 0);
						super[24] = (uint8_t)(~sum >> 8);
						super[25] = (uint8_t)~sum;
					}
					t[4] = (uint8_t)(l4len >> 8);
					t[5] = (uint8_t)l4len;
					sum = oracle_sum16(super + (v6 ? 22 : 26), v6 ? 32 : 8,
						      IPPROTO_UDP + l4len);
					t[6] = (uint8_t)(sum >> 8);
					t[7] = (uint8_t)sum;
				}
				m = chain(super, len, cutsets[c]);
				m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
				CU_ASSERT(tsw_offload_csum_partial(m));
				tsw_offload_csum_complete(m);
				CU_ASSERT(!tsw_offload_csum_partial(m));
				if (rte_pktmbuf_read(m, 0, len, flat) != flat)
					memcpy(flat, rte_pktmbuf_mtod(m, const void *), len);
				CU_ASSERT(oracle_l4_ok(flat, len, udp ? IPPROTO_UDP : IPPROTO_TCP));
				/* nothing else changed */
				CU_ASSERT_EQUAL(memcmp(flat, super, 14 + (v6 ? 40 : 20) + (udp ? 6 : 16)), 0);
				rte_pktmbuf_free(m);
			}
}

/* Found by fuzz_offload: a frame cut inside its UDP header, flagged with a
 * partial checksum (rte_net_get_ptype names UDP without reading its
 * header): left as it is, nothing written past its end. */
static void
test_csum_truncated(void)
{
	static const uint16_t linear[] = { 0 };

	for (uint32_t cut = 14 + 20; cut < 14 + 20 + 8; cut++) {
		struct rte_mbuf *m;

		build_tcp(false, 100);
		super[23] = IPPROTO_UDP;
		m = chain(super, cut, linear);
		m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
		tsw_offload_csum_complete(m);
		CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), cut);
		CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(m, const void *), super, cut), 0);
		rte_pktmbuf_free(m);
	}
}

/* The segments of a TSO frame coalesce back into it; a segment with a bad
 * checksum stays alone and splits the flow; other frames pass. */
static void
test_gro_roundtrip(void)
{
	static const uint16_t linear[] = { 0 };
	unsigned int before = rte_mempool_in_use_count(pool);
	const uint32_t pay = 14000, mss = 1400, hdr = 14 + 20 + 32;
	uint32_t len = build_tcp(false, pay);
	struct rte_mbuf *m, *seg[TSW_TSO_MAX_SEGS + 1];
	enum tsw_drop why = TSW_DROP_MAX;
	uint64_t merged = 0;
	uint16_t n, out;

	super[14 + 20 + 13] = 0x10;          /* ACK only: what rte_gro merges */
	m = chain(super, len, linear);
	m->ol_flags = RTE_MBUF_F_RX_LRO;
	m->tso_segsz = (uint16_t)mss;
	n = tsw_offload_tso_segment(m, pool, seg, &why);
	CU_ASSERT_EQUAL_FATAL(n, 10);
	out = tsw_offload_gro(seg, n, &merged);
	CU_ASSERT_EQUAL_FATAL(out, 1);
	CU_ASSERT_EQUAL(merged, 9);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(seg[0]), len);
	CU_ASSERT((seg[0]->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0);
	CU_ASSERT_EQUAL(seg[0]->tso_segsz, mss);
	CU_ASSERT_EQUAL(seg[0]->l2_len + seg[0]->l3_len + seg[0]->l4_len, hdr);
	if (rte_pktmbuf_read(seg[0], 0, len, flat) != flat)
		memcpy(flat, rte_pktmbuf_mtod(seg[0], const void *), len);
	CU_ASSERT_EQUAL(memcmp(flat + hdr, super + hdr, pay), 0);
	CU_ASSERT_EQUAL(flat[16] << 8 | flat[17], len - 14);
	rte_pktmbuf_free(seg[0]);

	/* segment 3's payload corrupted; a UDP frame behind */
	m = chain(super, len, linear);
	m->ol_flags = RTE_MBUF_F_RX_LRO;
	m->tso_segsz = (uint16_t)mss;
	n = tsw_offload_tso_segment(m, pool, seg, &why);
	CU_ASSERT_EQUAL_FATAL(n, 10);
	rte_pktmbuf_mtod(seg[3], uint8_t *)[hdr + 5] ^= 0x40;
	build_tcp(false, 100);
	super[23] = IPPROTO_UDP;
	seg[n++] = chain(super, 14 + 20 + 32 + 100, linear);
	merged = 0;
	out = tsw_offload_gro(seg, n, &merged);
	CU_ASSERT_EQUAL(out, 4);             /* 0-2, 3, 4-9, the UDP frame */
	CU_ASSERT_EQUAL(merged, 7);
	for (uint16_t i = 0; i < out; i++) {
		uint32_t l = rte_pktmbuf_pkt_len(seg[i]);
		bool tso = (seg[i]->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;

		CU_ASSERT(l == hdr + 3 * mss ? tso : l == hdr + 6 * mss ? tso : !tso);
		CU_ASSERT(l == hdr + 3 * mss || l == hdr + mss || l == hdr + 6 * mss ||
			  l == hdr + 100);
	}
	rte_pktmbuf_free_bulk(seg, out);
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(pool), before);
}

void
register_offload_tests(void)
{
	CU_pSuite s = CU_add_suite("offload", NULL, NULL);

	CU_add_test(s, "TSO TCP/IPv4 cut as the guest would send it", test_tso_ipv4);
	CU_add_test(s, "TSO TCP/IPv6", test_tso_ipv6);
	CU_add_test(s, "TSO jumbo segments are chains", test_tso_jumbo_segments_chain);
	CU_add_test(s, "TSO refused frames untouched, no mbuf lost", test_tso_refused_untouched);
	CU_add_test(s, "TSO frame within one segment passes", test_tso_small_frame_passes);
	CU_add_test(s, "partial TCP/UDP checksums completed, linear and chained", test_csum_complete);
	CU_add_test(s, "partial checksum of a truncated frame: untouched", test_csum_truncated);
	CU_add_test(s, "GRO: segments coalesce back, bad checksums stay alone", test_gro_roundtrip);
}
