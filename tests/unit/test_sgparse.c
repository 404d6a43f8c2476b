/* SPDX-License-Identifier: BSD-3-Clause
 * The security groups' parse (tsw_sg_parse): its in-place path for the
 * common frame (untagged IPv4 without options, TCP or UDP, headers in the
 * first segment) must read what the general walk reads. Every frame is
 * parsed whole and again cut into two segments before the end of its
 * headers (which only the walk can read). And the IPv4 header sum every
 * stage checks with (tsw_ip4_sum_ok) against rte_raw_cksum.
 */
#include <stdint.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "tsw_pkt.h"
#include "tsw_sg.h"
#include "test_sgparse.h"

extern struct rte_mempool *pool;

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A frame of len bytes: mostly what the in-place path takes, with every
 * one of its conditions broken now and then. */
static void
make_frame(uint8_t *f, uint32_t len, uint64_t *s)
{
	uint8_t *h = f + 14;
	uint32_t r = (uint32_t)rnd(s);
	static const uint8_t protos[] = { 6, 17, 6, 17, 1, 132, 136, 58, 47 };

	for (uint32_t i = 0; i < len; i++)
		f[i] = (uint8_t)rnd(s);
	f[12] = 0x08;
	f[13] = 0x00;
	if (r % 16 == 0) {
		f[12] = 0x81;                       /* a priority tag in front */
		f[13] = 0x00;
		f[14] = f[15] = 0;
		f[16] = 0x08;
		f[17] = 0x00;
		h = f + 18;
	} else if (r % 16 == 1) {
		f[13] = 0x06;                       /* ARP */
	}
	h[0] = (r >> 4) % 8 == 0 ? (uint8_t)(0x40 | (5 + (r >> 8) % 3)) : 0x45;
	h[9] = protos[(r >> 10) % sizeof(protos)];
	/* not a fragment, the first one, a later one */
	h[6] = (r >> 14) % 4 == 0 ? (uint8_t)(r >> 16) : (r >> 14) % 4 == 1 ? 0x20 : 0x40;
	h[7] = (r >> 14) % 4 == 0 ? (uint8_t)(r >> 24) : 0;
	{
		uint32_t tot = (r >> 20) % 8 == 0 ? (r >> 23) % 30 : len - (uint32_t)(h - f);
		h[2] = (uint8_t)(tot >> 8);
		h[3] = (uint8_t)tot;
	}
	h[10] = h[11] = 0;
	if ((r >> 27) % 8 != 0) {                   /* a good header checksum */
		uint32_t hl = (uint32_t)(h[0] & 0xf) * 4;
		uint16_t c = (uint16_t)~rte_raw_cksum(h, hl);
		memcpy(h + 10, &c, 2);
	}
}

static struct rte_mbuf *
frame_mbuf(const uint8_t *f, uint32_t len, uint32_t cut)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool), *t;

	if (m == NULL)
		return NULL;
	if (cut == 0) {
		memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
		return m;
	}
	t = rte_pktmbuf_alloc(pool);
	if (t == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(rte_pktmbuf_append(m, (uint16_t)cut), f, cut);
	memcpy(rte_pktmbuf_append(t, (uint16_t)(len - cut)), f + cut, len - cut);
	if (rte_pktmbuf_chain(m, t) != 0) {
		rte_pktmbuf_free(m);
		rte_pktmbuf_free(t);
		return NULL;
	}
	return m;
}

/* The fields a parse writes: the zeroed part, the quoted packet's when
 * there is one, the NA's target */
static bool
same_fields(const struct tsw_sg_pkt *a, const struct tsw_sg_pkt *b)
{
	if (memcmp(a, b, offsetof(struct tsw_sg_pkt, in_proto)) != 0)
		return false;
	if (a->icmp_error &&
	    (a->in_proto != b->in_proto || a->in_sport != b->in_sport ||
	     a->in_dport != b->in_dport || memcmp(a->in_src, b->in_src, 16) != 0 ||
	     memcmp(a->in_dst, b->in_dst, 16) != 0))
		return false;
	return true;
}

static void
test_sgparse_in_place_equals_walk(void)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	unsigned int common = 0, differ = 0;

	for (int i = 0; i < 20000; i++) {
		uint8_t f[96];
		uint32_t len = 42 + (uint32_t)(rnd(&s) % 50);
		uint32_t cut = 1 + (uint32_t)(rnd(&s) % (14 + 20 + 14 - 1));
		struct tsw_sg_pkt whole, split;
		struct rte_mbuf *a, *b;

		make_frame(f, len, &s);
		if (cut >= len)
			cut = len - 1;
		a = frame_mbuf(f, len, 0);
		b = frame_mbuf(f, len, cut);
		CU_ASSERT_FATAL(a != NULL && b != NULL);
		/* garbage in both first: only what the parse writes may count */
		memset(&whole, 0xa5, sizeof(whole));
		memset(&split, 0x5a, sizeof(split));
		tsw_sg_parse(a, &whole);
		tsw_sg_parse(b, &split);
		if (f[12] == 0x08 && f[13] == 0x00 && f[14] == 0x45 && (f[23] == 6 || f[23] == 17) &&
		    ((f[20] << 8 | f[21]) & 0x1fff) == 0 && !whole.invalid)
			common++;
		if (!same_fields(&whole, &split))
			differ++;
		rte_pktmbuf_free(a);
		rte_pktmbuf_free(b);
	}
	CU_ASSERT_EQUAL(differ, 0);
	CU_ASSERT(common > 3000);        /* the in-place path's frames were among them */
}

/* tsw_ip4_sum_ok() (its five-add path for 20 bytes, rte_raw_cksum beyond)
 * says what rte_raw_cksum() says of 100 000 headers: random ones, ones
 * given their right checksum, and the all-zero and all-ones ones. */
static void
test_ip4_sum_matches_rte_raw_cksum(void)
{
	uint64_t s = 0x243f6a8885a308d3ull;
	unsigned int differ = 0, good = 0;

	for (int i = 0; i < 100000; i++) {
		uint8_t h[60];
		uint32_t ihl = i % 4 == 3 ? 4 * (5 + (uint32_t)(rnd(&s) % 11)) : 20;

		for (uint32_t j = 0; j < sizeof(h); j++)
			h[j] = i == 0 ? 0 : i == 1 ? 0xff : (uint8_t)rnd(&s);
		if (i > 1 && i % 2 == 0) {
			uint16_t c;
			h[10] = h[11] = 0;
			c = (uint16_t)~rte_raw_cksum(h, ihl);
			memcpy(h + 10, &c, 2);
		}
		good += tsw_ip4_sum_ok(h, ihl);
		differ += tsw_ip4_sum_ok(h, ihl) != (rte_raw_cksum(h, ihl) == 0xffff);
	}
	CU_ASSERT_EQUAL(differ, 0);
	CU_ASSERT(good >= 49999);        /* the ones given their checksum */
}

/* f's IPv4 header (at h) given its checksum (or, bad_sum, a wrong one),
 * then f parsed from one segment into p. */
static void
parse_known(uint8_t *f, uint8_t *h, bool bad_sum, struct tsw_sg_pkt *p)
{
	struct rte_mbuf *m;
	uint16_t c;

	h[10] = h[11] = 0;
	c = (uint16_t)~rte_raw_cksum(h, 20);
	if (bad_sum)
		c ^= 1;
	memcpy(h + 10, &c, 2);
	m = frame_mbuf(f, 60, 0);
	CU_ASSERT_FATAL(m != NULL);
	tsw_sg_parse(m, p);
	rte_pktmbuf_free(m);
}

/* Known answers: a TCP SYN, a UDP datagram, a bad checksum, a total
 * length too short for the ports, a later fragment. */
static void
test_sgparse_known_frames(void)
{
	uint8_t f[64] = { 0 };
	uint8_t *h = f + 14, *l4 = h + 20;
	struct tsw_sg_pkt p;

	f[12] = 0x08;
	h[0] = 0x45;
	h[3] = 40;
	h[8] = 64;
	h[9] = 6;
	memcpy(h + 12, (const uint8_t[]){ 10, 0, 0, 1 }, 4);
	memcpy(h + 16, (const uint8_t[]){ 10, 0, 0, 2 }, 4);
	l4[0] = 0x30;                               /* 12345 -> 22 */
	l4[1] = 0x39;
	l4[3] = 22;
	l4[13] = 0x02;                              /* SYN */
	parse_known(f, h, false, &p);
	CU_ASSERT_EQUAL(p.kind, TSW_SGP_IP);
	CU_ASSERT_FALSE(p.invalid);
	CU_ASSERT_EQUAL(p.proto, 6);
	CU_ASSERT_EQUAL(p.sport, 12345);
	CU_ASSERT_EQUAL(p.dport, 22);
	CU_ASSERT_EQUAL(p.tcp_flags, 0x02);
	CU_ASSERT_EQUAL(memcmp(p.src, (const uint8_t[16]){ 10, 0, 0, 1 }, 16), 0);
	CU_ASSERT_EQUAL(memcmp(p.dst, (const uint8_t[16]){ 10, 0, 0, 2 }, 16), 0);

	/* UDP from a DHCP client: always allowed out (R-G2) */
	h[9] = 17;
	l4[0] = 0;
	l4[1] = 68;
	l4[3] = 67;
	parse_known(f, h, false, &p);
	CU_ASSERT_EQUAL(p.proto, 17);
	CU_ASSERT_EQUAL(p.sport, 68);
	CU_ASSERT_EQUAL(p.dport, 67);
	CU_ASSERT_EQUAL(p.tcp_flags, 0);
	CU_ASSERT_EQUAL(p.always, 1);

	parse_known(f, h, true, &p);                 /* R-G3: a bad header checksum */
	CU_ASSERT_TRUE(p.invalid);

	h[3] = 22;                                   /* the ports past the end */
	parse_known(f, h, false, &p);
	CU_ASSERT_TRUE(p.invalid);
	CU_ASSERT_EQUAL(p.sport, 0);

	h[3] = 40;                                   /* a later fragment: no ports */
	h[7] = 8;
	parse_known(f, h, false, &p);
	CU_ASSERT_FALSE(p.invalid);
	CU_ASSERT_TRUE(p.later_fragment);
	CU_ASSERT_EQUAL(p.sport, 0);
	CU_ASSERT_EQUAL(p.always, 0);
}

void
register_sgparse_tests(void)
{
	CU_pSuite s = CU_add_suite("security groups' parse", NULL, NULL);

	CU_add_test(s, "R-G3 the in-place parse reads what the walk reads",
		    test_sgparse_in_place_equals_walk);
	CU_add_test(s, "R-G2 R-G3 known frames", test_sgparse_known_frames);
	CU_add_test(s, "R-G3 R-C4 an IPv4 header's sum as rte_raw_cksum finds it",
		    test_ip4_sum_matches_rte_raw_cksum);
}
