/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests: capture files (tsw_pcap.h). pcapng images are built here
 * byte by byte, in either byte order, independently of tsw_pcap's writer;
 * the writer's files are read back through libpcap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <rte_mbuf.h>

#include "tsw_capture.h"
#include "tsw_pcap.h"

#include "test_pcap.h"

extern struct rte_mempool *pool;

/* ---- a pcapng image builder ---- */

struct img {
	uint8_t b[8192];
	size_t n;
	bool be;          /* the current section is big-endian */
};

static void
u32(struct img *m, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		m->b[m->n + (size_t)i] = (uint8_t)(m->be ? v >> (24 - 8 * i) : v >> (8 * i));
	m->n += 4;
}

static void
u16(struct img *m, uint16_t v)
{
	m->b[m->n] = (uint8_t)(m->be ? v >> 8 : v);
	m->b[m->n + 1] = (uint8_t)(m->be ? v : v >> 8);
	m->n += 2;
}

static void
bytes(struct img *m, const void *p, size_t len)
{
	if (len > 0)
		memcpy(m->b + m->n, p, len);
	m->n += len;
	while (m->n % 4)
		m->b[m->n++] = 0;
}

static void
opt(struct img *m, uint16_t code, const void *v, uint16_t len)
{
	u16(m, code);
	u16(m, len);
	bytes(m, v, len);
}

/* Close the block begun at start: its two lengths. */
static void
end_block(struct img *m, size_t start)
{
	size_t save = m->n;
	uint32_t len = (uint32_t)(m->n - start + 4);

	m->n = start + 4;
	u32(m, len);
	m->n = save;
	u32(m, len);
}

static void
shb(struct img *m, bool be)
{
	size_t s = m->n;

	m->be = be;
	u32(m, 0x0A0D0D0A);
	u32(m, 0);
	u32(m, 0x1A2B3C4D);
	u16(m, 1);
	u16(m, 0);
	u32(m, 0xffffffff);
	u32(m, 0xffffffff);
	end_block(m, s);
}

static void
idb(struct img *m, const char *name, const char *hw)
{
	size_t s = m->n;
	uint8_t res = 9;

	u32(m, 1);
	u32(m, 0);
	u16(m, 1);
	u16(m, 0);
	u32(m, 0);
	if (name)
		opt(m, 2, name, (uint16_t)strlen(name));
	if (hw)
		opt(m, 15, hw, (uint16_t)strlen(hw));
	opt(m, 9, &res, 1);
	opt(m, 0, NULL, 0);
	end_block(m, s);
}

/* An enhanced packet block; flags < 0: no flags option. */
static void
epb(struct img *m, uint32_t iface, const void *data, uint32_t len, int flags)
{
	size_t s = m->n;

	u32(m, 6);
	u32(m, 0);
	u32(m, iface);
	u32(m, 0);
	u32(m, 1000);
	u32(m, len);
	u32(m, len);
	bytes(m, data, len);
	if (flags >= 0) {
		u16(m, 2);     /* epb_flags: the direction */
		u16(m, 4);
		u32(m, (uint32_t)flags);
		opt(m, 0, NULL, 0);
	}
	end_block(m, s);
}

static void
spb(struct img *m, const void *data, uint32_t len)
{
	size_t s = m->n;

	u32(m, 3);
	u32(m, 0);
	u32(m, len);
	bytes(m, data, len);
	end_block(m, s);
}

/* Two sections: little-endian with two interfaces, big-endian with one;
 * five packets. Block boundaries in *bounds (n_bounds). */
static void
sample(struct img *m, size_t *bounds, int *n_bounds)
{
	static const uint8_t fr[61] = { 1, 2, 3 };

	*n_bounds = 0;
	memset(m, 0, sizeof(*m));
#define B() (bounds[(*n_bounds)++] = m->n)
	shb(m, false); B();
	idb(m, "dpdk:0", "vdev-net_vhost0"); B();
	idb(m, "eth7", NULL); B();
	epb(m, 1, fr, 61, 1); B();
	epb(m, 0, fr, 60, 2); B();
	shb(m, true); B();
	idb(m, "dpdk:0", "vdev-net_af_packet0"); B();
	epb(m, 0, fr, 14, 1); B();
	spb(m, fr, 3); B();
	epb(m, 0, fr, 1, -1); B();
#undef B
}

static void
test_walk_sections_and_directions(void)
{
	struct img m;
	size_t bounds[16], n;
	int nb;
	struct tsw_pcap_iface *ifc;
	struct tsw_pcapng_pkt *pk;
	uint32_t nif;
	char err[128];

	sample(&m, bounds, &nb);
	CU_ASSERT_EQUAL_FATAL(tsw_pcapng_walk(m.b, m.n, &ifc, &nif, &pk, &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(nif, 3);
	CU_ASSERT_STRING_EQUAL(ifc[0].name, "dpdk:0");
	CU_ASSERT_STRING_EQUAL(ifc[0].hw, "vdev-net_vhost0");
	CU_ASSERT_STRING_EQUAL(ifc[1].name, "eth7");
	CU_ASSERT_STRING_EQUAL(ifc[1].hw, "");
	CU_ASSERT_STRING_EQUAL(ifc[2].hw, "vdev-net_af_packet0");
	CU_ASSERT_EQUAL_FATAL(n, 5);
	/* interface ids start again in the second section */
	CU_ASSERT_EQUAL(pk[0].iface, 1);
	CU_ASSERT_EQUAL(pk[0].dir, TSW_PCAP_DIR_IN);
	CU_ASSERT_EQUAL(pk[1].iface, 0);
	CU_ASSERT_EQUAL(pk[1].dir, TSW_PCAP_DIR_OUT);
	CU_ASSERT_EQUAL(pk[2].iface, 2);
	CU_ASSERT_EQUAL(pk[2].dir, TSW_PCAP_DIR_IN);
	CU_ASSERT_EQUAL(pk[3].iface, 2);   /* simple packet block: interface 0 */
	CU_ASSERT_EQUAL(pk[4].dir, TSW_PCAP_DIR_UNKNOWN);
	free(ifc);
	free(pk);
}

/* Cut anywhere: a cut at a block boundary is a shorter valid file, any
 * other cut is refused; nothing is read past the end (ASan). */
static void
test_walk_truncated(void)
{
	struct img m;
	size_t bounds[16], n;
	int nb;
	char err[128];

	sample(&m, bounds, &nb);
	for (size_t len = 0; len < m.n; len++) {
		struct tsw_pcap_iface *ifc;
		struct tsw_pcapng_pkt *pk;
		uint32_t nif;
		uint8_t *cut = malloc(len ? len : 1);   /* exact size: overreads show */
		bool boundary = len == 0;
		int rc;

		for (int i = 0; i < nb; i++)
			boundary = boundary || bounds[i] == len;
		if (len > 0)
			memcpy(cut, m.b, len);
		rc = tsw_pcapng_walk(cut, len, &ifc, &nif, &pk, &n, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, boundary ? 0 : -1);
		if (rc == 0) {
			free(ifc);
			free(pk);
		} else {
			CU_ASSERT_PTR_NULL(ifc);
			CU_ASSERT_PTR_NULL(pk);
			CU_ASSERT_PTR_NOT_NULL(strstr(err, "offset"));
		}
		free(cut);
	}
}

/* Every byte changed to every value of a few: walked or refused, never
 * out of bounds; whatever is returned refers to interfaces that exist. */
static void
test_walk_corrupted(void)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x03, 0x7f, 0x80, 0xfc, 0xff };
	struct img m;
	size_t bounds[16];
	int nb;
	char err[128];

	sample(&m, bounds, &nb);
	for (size_t at = 0; at < m.n; at++)
		for (size_t v = 0; v < sizeof(vals); v++) {
			uint8_t *c = malloc(m.n);
			struct tsw_pcap_iface *ifc;
			struct tsw_pcapng_pkt *pk;
			uint32_t nif;
			size_t n;

			memcpy(c, m.b, m.n);
			c[at] = vals[v];
			if (tsw_pcapng_walk(c, m.n, &ifc, &nif, &pk, &n, err, sizeof(err)) == 0) {
				for (size_t i = 0; i < n; i++)
					CU_ASSERT(pk[i].iface < nif && pk[i].dir <= 3);
				for (uint32_t i = 0; i < nif; i++)
					CU_ASSERT(strlen(ifc[i].name) < TSW_PCAP_IFNAME_LEN);
				free(ifc);
				free(pk);
			}
			free(c);
		}
}

static void
test_walk_refusals(void)
{
	static const uint8_t fr[8];
	struct img m;
	size_t n;
	struct tsw_pcap_iface *ifc;
	struct tsw_pcapng_pkt *pk;
	uint32_t nif;
	char err[128];

	/* a packet on an interface the section has not defined */
	memset(&m, 0, sizeof(m));
	shb(&m, false);
	idb(&m, "a", NULL);
	epb(&m, 1, fr, 8, 1);
	CU_ASSERT_EQUAL(tsw_pcapng_walk(m.b, m.n, &ifc, &nif, &pk, &n, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "undefined interface"));
	/* interfaces of an earlier section are not this one's */
	memset(&m, 0, sizeof(m));
	shb(&m, false);
	idb(&m, "a", NULL);
	shb(&m, true);
	epb(&m, 0, fr, 8, 1);
	CU_ASSERT_EQUAL(tsw_pcapng_walk(m.b, m.n, &ifc, &nif, &pk, &n, err, sizeof(err)), -1);
	/* no section header first */
	memset(&m, 0, sizeof(m));
	idb(&m, "a", NULL);
	CU_ASSERT_EQUAL(tsw_pcapng_walk(m.b, m.n, &ifc, &nif, &pk, &n, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no section header"));
	/* the two lengths of a block disagree */
	memset(&m, 0, sizeof(m));
	shb(&m, false);
	idb(&m, "a", NULL);
	m.b[m.n - 4]++;
	CU_ASSERT_EQUAL(tsw_pcapng_walk(m.b, m.n, &ifc, &nif, &pk, &n, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "disagree"));
	/* a captured length beyond the block */
	memset(&m, 0, sizeof(m));
	shb(&m, false);
	idb(&m, "a", NULL);
	size_t at = m.n;
	epb(&m, 0, fr, 8, -1);
	m.b[at + 20] = 200;
	CU_ASSERT_EQUAL(tsw_pcapng_walk(m.b, m.n, &ifc, &nif, &pk, &n, err, sizeof(err)), -1);
	/* an option running past its block */
	memset(&m, 0, sizeof(m));
	shb(&m, false);
	at = m.n;
	idb(&m, "abcdefgh", NULL);
	m.b[at + 18] = 40;   /* if_name's length */
	CU_ASSERT_EQUAL(tsw_pcapng_walk(m.b, m.n, &ifc, &nif, &pk, &n, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "interface options"));
}

/* tsw_pcapng_create/add_iface/write, then read back through libpcap and
 * the walker: frames, times, interfaces, lengths that need padding. */
static void
test_pcapng_write_read_back(void)
{
	char path[] = "/tmp/tswpcapXXXXXX", err[256];
	int fd = mkstemp(path);
	struct tsw_pcap_out *o;
	struct tsw_pcap_file f;
	uint8_t fr[300];

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(fr); i++)
		fr[i] = (uint8_t)(i * 7 + 1);
	o = tsw_pcapng_create(path, "unit", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(tsw_pcapng_add_iface(o, "uplink", "net_null0"), 0);
	CU_ASSERT_EQUAL(tsw_pcapng_add_iface(o, "vm1", ""), 1);
	for (uint32_t i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(tsw_pcap_write(o, i % 2, 5000000000ULL + i * 1001, fr, 57 + i * 31),
				0);
	CU_ASSERT_EQUAL(tsw_pcap_write(o, 2, 1, fr, 60), -1);   /* no such interface */
	CU_ASSERT_EQUAL(tsw_pcapng_add_iface(o, "vm1", "again"), 2);
	CU_ASSERT_EQUAL(tsw_pcap_write(o, 2, 6000000000ULL, fr, 14), 0);
	CU_ASSERT_EQUAL(tsw_pcap_close(o), 0);

	CU_ASSERT_EQUAL_FATAL(tsw_pcap_read(path, &f, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(f.n, 9);
	CU_ASSERT_EQUAL_FATAL(f.n_ifaces, 3);
	CU_ASSERT_STRING_EQUAL(f.ifaces[0].name, "uplink");
	CU_ASSERT_STRING_EQUAL(f.ifaces[0].descr, "net_null0");
	CU_ASSERT_STRING_EQUAL(f.ifaces[1].name, "vm1");
	CU_ASSERT_STRING_EQUAL(f.ifaces[2].descr, "again");
	for (uint32_t i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(f.recs[i].iface, i % 2);
		CU_ASSERT_EQUAL(f.recs[i].len, 57 + i * 31);
		CU_ASSERT_EQUAL(f.recs[i].ts, 5000000000ULL + i * 1001);
		CU_ASSERT_EQUAL(memcmp(f.recs[i].data, fr, f.recs[i].len), 0);
	}
	CU_ASSERT_EQUAL(f.recs[8].iface, 2);
	CU_ASSERT_EQUAL(f.recs[8].len, 14);
	CU_ASSERT(tsw_pcap_iface_match(&f, 0, "net_null0", false));
	CU_ASSERT(tsw_pcap_iface_match(&f, 1, "vm1", false));
	CU_ASSERT(tsw_pcap_iface_match(&f, 1, "1", true));
	CU_ASSERT(!tsw_pcap_iface_match(&f, 1, "1", false));
	CU_ASSERT(!tsw_pcap_iface_match(&f, 0, "vm1", true));
	CU_ASSERT(!tsw_pcap_iface_match(&f, 3, "vm1", true));   /* no interface 3 */
	tsw_pcap_free(&f);
	unlink(path);
}

/* dumpcap's way of naming: the device is the part of if_hardware after
 * the bus; a classic pcap file is one unnamed interface. */
static void
test_iface_match_dumpcap_names(void)
{
	struct img m;
	size_t bounds[16];
	int nb;
	char path[] = "/tmp/tswpcapXXXXXX", err[256];
	int fd = mkstemp(path);
	struct tsw_pcap_file f;

	CU_ASSERT_FATAL(fd >= 0);
	sample(&m, bounds, &nb);
	CU_ASSERT_EQUAL_FATAL(write(fd, m.b, bounds[4]), (ssize_t)bounds[4]);  /* 1st section */
	close(fd);
	CU_ASSERT_EQUAL_FATAL(tsw_pcap_read(path, &f, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(f.n, 2);
	CU_ASSERT(tsw_pcap_iface_match(&f, 0, "net_vhost0", false));
	CU_ASSERT(tsw_pcap_iface_match(&f, 0, "vdev-net_vhost0", false));
	CU_ASSERT(tsw_pcap_iface_match(&f, 0, "dpdk:0", false));
	CU_ASSERT(!tsw_pcap_iface_match(&f, 0, "net_vhost", false));
	CU_ASSERT(!tsw_pcap_iface_match(&f, 1, "", false));
	CU_ASSERT_EQUAL(f.recs[0].iface, 1);
	CU_ASSERT_EQUAL(f.recs[0].dir, TSW_PCAP_DIR_IN);
	CU_ASSERT_EQUAL(f.recs[1].dir, TSW_PCAP_DIR_OUT);
	tsw_pcap_free(&f);

	struct tsw_pcap_out *o = tsw_pcap_create(path, err, sizeof(err));
	uint8_t fr[60] = { 0 };
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(tsw_pcap_write(o, 0, 7, fr, 60), 0);
	CU_ASSERT_EQUAL(tsw_pcap_close(o), 0);
	CU_ASSERT_EQUAL_FATAL(tsw_pcap_read(path, &f, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(f.n, 1);
	CU_ASSERT_EQUAL(f.n_ifaces, 1);
	CU_ASSERT_EQUAL(f.recs[0].ts, 7);
	CU_ASSERT_EQUAL(f.recs[0].iface, 0);
	tsw_pcap_free(&f);
	unlink(path);
}

/* Capture taps (tsw_capture): a burst copied up to the limit, direction,
 * time and wire length in the header, snaplen applied, a full ring counted
 * as lost; the copies written with tsw_pcapng_write_epb and walked back
 * with their directions, caplen and origlen. */
static void
test_capture_taps_to_pcapng(void)
{
	struct tsw_taps taps = { .qsbr = NULL };
	struct tsw_capture *c = tsw_capture_create("ut_cap", 8, 100, 6, SOCKET_ID_ANY);
	struct rte_mbuf *in[5], *got[16];
	struct tsw_capture_hdr h[16];
	char path[] = "/tmp/tsw_ut_capXXXXXX";
	struct tsw_pcap_out *o;
	struct tsw_pcap_iface *ifs = NULL;
	struct tsw_pcapng_pkt *pk = NULL;
	uint32_t nif = 0;
	size_t npk = 0, len;
	unsigned int n;
	uint8_t *buf;
	FILE *f;
	char err[256];
	int fd;

	CU_ASSERT_FATAL(c != NULL);
	for (int i = 0; i < 5; i++) {
		in[i] = rte_pktmbuf_alloc(pool);
		CU_ASSERT_FATAL(in[i] != NULL);
		memset(rte_pktmbuf_append(in[i], (uint16_t)(60 + i * 40)), 0xa0 + i, 60 + i * 40);
	}
	/* not captured: nothing copied */
	tsw_taps_burst(&taps, 3, in, 5, 1, 1000);
	CU_ASSERT_EQUAL(tsw_capture_copied(c), 0);
	CU_ASSERT_PTR_NULL(tsw_taps_set(&taps, 3, c));
	tsw_taps_burst(&taps, 3, in, 5, 1, 1000);          /* 5 received */
	tsw_taps_burst(&taps, 3, in, 5, 2, 2000);          /* 1 more sent: the limit (6) */
	tsw_taps_burst(&taps, 3, in, 5, 2, 3000);          /* nothing more */
	CU_ASSERT_EQUAL(tsw_capture_copied(c), 6);
	CU_ASSERT_EQUAL(tsw_capture_lost(c), 0);
	n = tsw_capture_take(c, got, h, 16);
	CU_ASSERT_EQUAL_FATAL(n, 6);
	for (unsigned int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(h[i].dir, 1);
		CU_ASSERT_EQUAL(h[i].ts, 1000);
		CU_ASSERT_EQUAL(h[i].wire_len, 60 + i * 40);
		CU_ASSERT_EQUAL(got[i]->pkt_len, RTE_MIN(60 + i * 40, 100u));   /* snaplen */
		CU_ASSERT_EQUAL(*rte_pktmbuf_mtod(got[i], uint8_t *), 0xa0 + i);
	}
	CU_ASSERT(h[5].dir == 2 && h[5].ts == 2000 && h[5].wire_len == 60);
	/* written as pcapng, read back: directions and lengths */
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	o = tsw_pcapng_fdopen(fd, path, "unit", err, sizeof(err));
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(tsw_pcapng_add_iface(o, "vm1", "net_vhost0"), 0);
	for (unsigned int i = 0; i < n; i++)
		CU_ASSERT_EQUAL(tsw_pcapng_write_epb(o, 0, h[i].ts, (enum tsw_pcap_dir)h[i].dir,
						     rte_pktmbuf_mtod(got[i], void *), got[i]->pkt_len,
						     h[i].wire_len), 0);
	CU_ASSERT_EQUAL(tsw_pcapng_write_epb(o, 0, 1, TSW_PCAP_DIR_IN, "x", 2, 1), -1);  /* cap > orig */
	CU_ASSERT_EQUAL(tsw_pcap_close(o), 0);
	rte_pktmbuf_free_bulk(got, n);
	f = fopen(path, "rb");
	CU_ASSERT_FATAL(f != NULL);
	buf = malloc(1 << 16);
	len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(tsw_pcapng_walk(buf, len, &ifs, &nif, &pk, &npk, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(nif, 1);
	CU_ASSERT_STRING_EQUAL(ifs[0].name, "vm1");
	CU_ASSERT_EQUAL_FATAL(npk, 6);
	CU_ASSERT(pk[0].dir == TSW_PCAP_DIR_IN && pk[5].dir == TSW_PCAP_DIR_OUT);
	free(ifs);
	free(pk);
	free(buf);
	unlink(path);
	/* a full ring: what does not fit is lost, counted */
	CU_ASSERT_PTR_EQUAL(tsw_taps_set(&taps, 3, NULL), c);
	tsw_capture_free(c);
	c = tsw_capture_create("ut_cap2", 4, 65535, 100, SOCKET_ID_ANY);
	CU_ASSERT_FATAL(c != NULL);
	tsw_taps_set(&taps, 3, c);
	tsw_taps_burst(&taps, 3, in, 5, 1, 1);               /* a ring of 4 holds 3 */
	CU_ASSERT_EQUAL(tsw_capture_copied(c), 5);
	CU_ASSERT_EQUAL(tsw_capture_lost(c), 2);
	tsw_taps_set(&taps, 3, NULL);
	tsw_capture_free(c);                                  /* drains its ring */
	rte_pktmbuf_free_bulk(in, 5);
}

void
register_pcap_tests(void)
{
	CU_pSuite s = CU_add_suite("pcap", NULL, NULL);

	CU_add_test(s, "pcapng walk: sections, byte orders, directions",
		    test_walk_sections_and_directions);
	CU_add_test(s, "pcapng walk: every truncation", test_walk_truncated);
	CU_add_test(s, "pcapng walk: corrupted bytes", test_walk_corrupted);
	CU_add_test(s, "pcapng walk: refusals name the reason", test_walk_refusals);
	CU_add_test(s, "pcapng written, read back through libpcap", test_pcapng_write_read_back);
	CU_add_test(s, "interfaces matched by dumpcap's names; classic pcap",
		    test_iface_match_dumpcap_names);
	CU_add_test(s, "capture taps: limit, direction, snaplen, lost; written as pcapng",
		    test_capture_taps_to_pcapng);
}
