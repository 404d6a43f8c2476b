/* SPDX-License-Identifier: BSD-3-Clause
 * CUnit tests of the library modules: config parser, encapsulation and
 * checksums, outer-header parsing, FDB semantics.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_udp.h>

#include "tsw_config.h"
#include "tsw_encap.h"
#include "tsw_fdb.h"

#include "crafted.h"
#include "test_ct.h"
#include "test_ctlexec.h"
#include "test_hostile.h"
#include "test_txq.h"
#include "test_offload.h"
#include "test_pcap.h"
#include "test_sgparse.h"

struct rte_mempool *pool;     /* shared with the other unit test files */
static struct tsw_config *cfg;
static char err[512];

/* ---- config ---- */

static const char *base_conf =
	"[tunnel]\nlocal_ip = 198.18.0.1\ntypes = vxlan, gre\n"
	"[uplink]\ndevargs = net_null0\n"
	"[network blue]\ntype = vxlan\nsegmentation_id = 1001\n";

static int
load_text(const char *extra)
{
	char path[] = "/tmp/tswunitXXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	int rc;

	fputs(base_conf, f);
	fputs(extra, f);
	fclose(f);
	rc = tsw_config_load(path, cfg, err, sizeof(err));
	unlink(path);
	return rc;
}

static void
test_config_defaults(void)
{
	CU_ASSERT_EQUAL_FATAL(load_text(""), 0);
	CU_ASSERT_EQUAL(cfg->agent.mac_ageing, 300);
	CU_ASSERT_EQUAL(cfg->agent.tunnel_learn_timeout, 300);
	CU_ASSERT_FALSE(cfg->agent.l2_population);
	CU_ASSERT_EQUAL(cfg->tunnel.vxlan_udp_port, 4789);
	CU_ASSERT_EQUAL(cfg->tunnel.ttl, 64);
	CU_ASSERT_TRUE(cfg->tunnel.dont_fragment);
	CU_ASSERT_FALSE(cfg->tunnel.tunnel_csum);
	CU_ASSERT_EQUAL(cfg->uplink.mtu, 1500);
	CU_ASSERT_EQUAL(cfg->n_networks, 1);
	CU_ASSERT_EQUAL(cfg->networks[0].seg_id, 1001);
	CU_ASSERT_EQUAL(cfg->tunnel.local_ip, inet_addr("198.18.0.1"));
	CU_ASSERT_EQUAL(cfg->dataplane.idle_queue_poll_us, 500);
	CU_ASSERT_STRING_EQUAL(cfg->control.capture_dir, "/run/tunsw/capture");
	CU_ASSERT_EQUAL(cfg->security.max_connections, 1048576);
	CU_ASSERT_EQUAL(cfg->security.max_connections_per_port, 0);     /* no limit */
	CU_ASSERT_EQUAL_FATAL(load_text("[security]\nmax_connections_per_port = 5000\n"), 0);
	CU_ASSERT_EQUAL(cfg->security.max_connections_per_port, 5000);
	CU_ASSERT_EQUAL_FATAL(load_text(""), 0);
	CU_ASSERT_EQUAL_FATAL(load_text("[dataplane]\nidle_queue_poll_us = 0\n"
					"[control]\ncapture_dir = /var/tmp/caps/\n"), 0);
	CU_ASSERT_EQUAL(cfg->dataplane.idle_queue_poll_us, 0);
	CU_ASSERT_STRING_EQUAL(cfg->control.capture_dir, "/var/tmp/caps");
	CU_ASSERT_NOT_EQUAL(load_text("[dataplane]\nidle_queue_poll_us = 100001\n"), 0);
	CU_ASSERT_NOT_EQUAL(load_text("[control]\ncapture_dir = caps\n"), 0);
}

static void
test_config_full(void)
{
	CU_ASSERT_EQUAL_FATAL(load_text(
		"[agent]\nl2_population = true\narp_responder = yes\nmac_ageing = 60\n"
		"[neighbor 198.18.0.2]\nmac = 02:00:00:00:00:02\n"
		"[remote 198.18.0.2]\ntype = vxlan\n"
		"[port vm1]\ndevargs = net_vhost0,iface=/tmp/a.sock\nnetwork = blue\n"
		"[fdb blue fa:16:3e:00:00:09]\nremote = 198.18.0.3\nip = 10.0.0.9\n"
		"[flood blue]\nremotes = 198.18.0.2, 198.18.0.3\n"), 0);
	CU_ASSERT_TRUE(cfg->agent.l2_population);
	CU_ASSERT_TRUE(cfg->agent.arp_responder);
	CU_ASSERT_EQUAL(cfg->agent.mac_ageing, 60);
	CU_ASSERT_EQUAL(cfg->n_ports, 1);
	CU_ASSERT_EQUAL(cfg->n_fdb, 1);
	CU_ASSERT_EQUAL(cfg->fdb[0].ip, inet_addr("10.0.0.9"));
	/* 198.18.0.2 declared, 198.18.0.3 only through [fdb]/[flood] */
	CU_ASSERT_EQUAL_FATAL(cfg->n_remotes, 2);
	CU_ASSERT_TRUE(cfg->remotes[0].declared);
	CU_ASSERT_FALSE(cfg->remotes[1].declared);
	CU_ASSERT_EQUAL(cfg->flood[0].n_remotes, 2);
}

struct bad_case { const char *text; const char *want; };

static void
test_config_errors(void)
{
	static const struct bad_case cases[] = {
		{ "[agent]\nmac_ageing = -5\n", "[agent] mac_ageing: '-5' is not a non-negative integer" },
		{ "[agent]\nmac_ageing = 0\n", "[agent] mac_ageing: '0' is out of range" },
		{ "[agent]\nl2pop = true\n", "[agent] l2pop: unknown key" },
		{ "[agent]\narp_responder = maybe\n", "[agent] arp_responder: 'maybe' is not a boolean" },
		{ "[network red]\ntype = vxlan\nsegmentation_id = 16777216\n",
		  "[network red] segmentation_id: '16777216' is out of range" },
		{ "[network red]\ntype = vxlan\nsegmentation_id = 1001\n",
		  "[network red] segmentation_id: 1001 already used by network blue" },
		{ "[network red]\ntype = geneve\nsegmentation_id = 5\n", "[network red] type: 'geneve' is not a tunnel type" },
		{ "[port vm1]\ndevargs = x\nnetwork = nosuch\n", "[port vm1] network: no [network nosuch] is declared" },
		{ "[port vm1]\nnetwork = blue\n", "[port vm1] devargs: missing (required)" },
		{ "[fdb blue 01:00:5e:00:00:01]\nremote = 198.18.0.2\n", "is not a unicast MAC" },
		{ "[fdb blue fa:16:3e:00:00:01]\nremote = 198.18.0.999\n", "[fdb blue fa:16:3e:00:00:01] remote: '198.18.0.999' is not a dotted-quad" },
		{ "[fdb blue fa:16:3e:00:00:01]\nremote = 198.18.0.1\n", "remote VTEP equals local_ip" },
		{ "[neighbor 198.18.0.2]\nmac = 02:00:00:00:00\n", "[neighbor 198.18.0.2] mac: '02:00:00:00:00' is not a MAC" },
		{ "[remote 198.18.0.2]\ntype = gre, gre\n", "[remote 198.18.0.2] type: gre listed twice" },
		{ "[bogus]\n", "[bogus]: unknown section" },
		{ "[network]\n", "[network]: section name must be [network NAME]" },
		{ "[dataplane]\nlearn_ring_size = 1000\n", "[dataplane] learn_ring_size: 1000 is not a power of two" },
		{ "[tunnel]\nlocal_ip = 1.2.3.4\n", "[tunnel]: section given twice" },
		{ "[security]\nmax_connections = 1000\nmax_connections_per_port = 1001\n",
		  "[security] max_connections_per_port: 1001 is more than max_connections (1000)" },
		{ "[security]\nmax_connections_per_port = -1\n",
		  "[security] max_connections_per_port: '-1' is not a non-negative integer" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = load_text(cases[i].text);
		CU_ASSERT_EQUAL(rc, -1);
		if (strstr(err, cases[i].want) == NULL) {
			fprintf(stderr, "\ncase %zu: error '%s' lacks '%s'\n", i, err, cases[i].want);
			CU_FAIL("error message");
		}
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "/tmp/tswunit"));   /* names the file */
	}
}

static void
test_config_missing_file(void)
{
	CU_ASSERT_EQUAL(tsw_config_load("/nonexistent/x.conf", cfg, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/x.conf: cannot open"));
}

/* ---- encapsulation ---- */

static struct rte_mbuf *
mk_frame(uint16_t len, uint8_t fill)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, len);

	memset(p, fill, len);
	memcpy(p, "\xfa\x16\x3e\x00\x00\x02\xfa\x16\x3e\x00\x00\x01\x08\x06", 14);
	return m;
}

static void
params(struct tsw_encap_params *p, enum tsw_tun_type t)
{
	static const struct rte_ether_addr s = { { 2, 0, 0, 0, 0, 1 } }, d = { { 2, 0, 0, 0, 0, 2 } };

	memset(p, 0, sizeof(*p));
	p->type = t;
	p->src_mac = s;
	p->dst_mac = d;
	p->local_ip = inet_addr("198.18.0.1");
	p->remote_ip = inet_addr("198.18.0.2");
	p->ttl = 64;
	p->dont_fragment = true;
	p->vxlan_port = 4789;
	p->mtu = 1500;
}

static void
test_encap_vxlan_bytes(void)
{
	static const uint8_t want_hdr[50 - 8] = {
		2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,                 /* eth */
		0x45, 0x00, 0x00, 0x60, 0x12, 0x34, 0x40, 0x00, 64, 17, 0, 0,  /* ip, csum below */
		198, 18, 0, 1, 198, 18, 0, 2,
		0, 0, 0x12, 0xb5, 0x00, 0x4c, 0x00, 0x00,                       /* udp, sport below */
	};
	static const uint8_t want_vx[8] = { 0x08, 0, 0, 0, 0x00, 0x03, 0xe9, 0 };
	struct tsw_encap_params p;
	struct tsw_encap_hdr h;
	struct rte_mbuf *m = mk_frame(60, 0xab);
	const uint8_t *o;
	uint16_t sport;

	params(&p, TSW_TUN_VXLAN);
	tsw_encap_hdr_build(&h, &p);
	CU_ASSERT_EQUAL(h.len, 50);
	CU_ASSERT_EQUAL(h.max_inner, 1464);
	CU_ASSERT_EQUAL(tsw_encap(m, &h, 1001, 0x1234), TSW_OK);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), 110);
	o = rte_pktmbuf_mtod(m, const uint8_t *);
	CU_ASSERT_EQUAL(memcmp(o, want_hdr, 24), 0);
	CU_ASSERT_EQUAL(memcmp(o + 26, want_hdr + 26, 8), 0);
	CU_ASSERT_EQUAL(memcmp(o + 36, want_hdr + 36, 6), 0);
	CU_ASSERT_EQUAL(memcmp(o + 42, want_vx, 8), 0);
	/* incremental checksum equals the full computation */
	{
		struct rte_ipv4_hdr ip;
		memcpy(&ip, o + 14, sizeof(ip));
		ip.hdr_checksum = 0;
		uint16_t got;
		memcpy(&got, o + 24, 2);
		CU_ASSERT_EQUAL(rte_ipv4_cksum(&ip), got);
	}
	CU_ASSERT_EQUAL(rte_raw_cksum(o + 14, 20), 0xffff);
	sport = (uint16_t)(o[34] << 8 | o[35]);
	CU_ASSERT(sport >= 49152);
	CU_ASSERT_EQUAL(o[50], 0xfa);     /* inner frame follows untouched */
	CU_ASSERT_EQUAL(o[109], 0xab);
	rte_pktmbuf_free(m);

	/* a given flow hash (the copies of a flooded frame) is the source port's */
	m = mk_frame(60, 0xab);
	uint32_t fh = tsw_inner_flow_hash(m);
	CU_ASSERT_EQUAL(tsw_encap_hashed(m, &h, 1001, 0x1234, fh), TSW_OK);
	o = rte_pktmbuf_mtod(m, const uint8_t *);
	CU_ASSERT_EQUAL((uint16_t)(o[34] << 8 | o[35]), sport);
	CU_ASSERT_EQUAL((uint16_t)(o[34] << 8 | o[35]), 0xc000 | (fh & 0x3fff));
	rte_pktmbuf_free(m);
	m = mk_frame(60, 0xab);
	CU_ASSERT_EQUAL(tsw_encap_hashed(m, &h, 1001, 0x1234, 0x1234567), TSW_OK);
	o = rte_pktmbuf_mtod(m, const uint8_t *);
	CU_ASSERT_EQUAL((uint16_t)(o[34] << 8 | o[35]), 0xc000 | 0x0567);
	rte_pktmbuf_free(m);
}

static void
test_encap_gre_bytes_and_csum(void)
{
	struct tsw_encap_params p;
	struct tsw_encap_hdr h;
	struct rte_mbuf *m;
	const uint8_t *o;
	uint16_t sum = 0;

	params(&p, TSW_TUN_GRE);
	tsw_encap_hdr_build(&h, &p);
	CU_ASSERT_EQUAL(h.len, 42);
	CU_ASSERT_EQUAL(h.max_inner, 1472);
	m = mk_frame(61, 0x5a);
	CU_ASSERT_EQUAL(tsw_encap(m, &h, 0xdeadbeef, 7), TSW_OK);
	o = rte_pktmbuf_mtod(m, const uint8_t *);
	CU_ASSERT_EQUAL(o[23], 47);
	CU_ASSERT_EQUAL(memcmp(o + 34, "\x20\x00\x65\x58\xde\xad\xbe\xef", 8), 0);
	CU_ASSERT_EQUAL(rte_raw_cksum(o + 14, 20), 0xffff);
	rte_pktmbuf_free(m);

	p.csum = true;
	tsw_encap_hdr_build(&h, &p);
	CU_ASSERT_EQUAL(h.len, 46);
	CU_ASSERT_EQUAL(h.max_inner, 1468);
	m = mk_frame(61, 0x5a);
	CU_ASSERT_EQUAL(tsw_encap(m, &h, 5, 8), TSW_OK);
	o = rte_pktmbuf_mtod(m, const uint8_t *);
	CU_ASSERT_EQUAL(memcmp(o + 34, "\xa0\x00\x65\x58", 4), 0);
	CU_ASSERT_EQUAL(memcmp(o + 42, "\x00\x00\x00\x05", 4), 0);
	rte_raw_cksum_mbuf(m, 34, rte_pktmbuf_pkt_len(m) - 34, &sum);
	CU_ASSERT_EQUAL(sum, 0xffff);   /* GRE checksum covers header and payload */
	rte_pktmbuf_free(m);
}

static void
test_encap_limits(void)
{
	struct tsw_encap_params p;
	struct tsw_encap_hdr h;
	struct rte_mbuf *m;

	params(&p, TSW_TUN_VXLAN);
	tsw_encap_hdr_build(&h, &p);
	m = mk_frame(1465, 0);
	CU_ASSERT_EQUAL(tsw_encap(m, &h, 1, 0), TSW_DROP_too_big);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), 1465);     /* untouched */
	rte_pktmbuf_free(m);
	m = mk_frame(64, 0);
	rte_pktmbuf_adj(m, 0);
	m->data_off = 10;                                  /* headroom < 50 */
	CU_ASSERT_EQUAL(tsw_encap(m, &h, 1, 0), TSW_DROP_no_headroom);
	rte_pktmbuf_free(m);
}

/* R-E1: a configured DSCP and the inner frame's DSCP bits together, the IP
 * checksum updated for both; a non-IP inner frame keeps the configured one. */
static void
test_encap_dscp(void)
{
	static const uint8_t inner_ip[20] = { 0x45, 0xb8, 0, 46, 0, 0, 0, 0, 64, 17 };
	struct tsw_encap_params p;
	struct tsw_encap_hdr h;
	struct rte_mbuf *m;
	const uint8_t *o;

	for (int inherit = 0; inherit < 2; inherit++) {
		for (int t = 0; t < TSW_TUN_NTYPES; t++) {
			params(&p, (enum tsw_tun_type)t);
			p.dscp = 10;                       /* tos 0x28 */
			p.dscp_inherit = inherit;
			tsw_encap_hdr_build(&h, &p);
			m = mk_frame(80, 0);
			rte_pktmbuf_mtod(m, uint8_t *)[12] = 0x08;
			rte_pktmbuf_mtod(m, uint8_t *)[13] = 0x00;
			memcpy(rte_pktmbuf_mtod(m, uint8_t *) + 14, inner_ip, sizeof(inner_ip));
			CU_ASSERT_EQUAL_FATAL(tsw_encap(m, &h, 5, 0x4321), TSW_OK);
			o = rte_pktmbuf_mtod(m, const uint8_t *);
			/* inner tos 0xb8 (EF); ECN bits never copied */
			CU_ASSERT_EQUAL(o[15], inherit ? (0x28 | 0xb8) : 0x28);
			CU_ASSERT_EQUAL(rte_raw_cksum(o + 14, 20), 0xffff);
			rte_pktmbuf_free(m);
		}
	}
	params(&p, TSW_TUN_VXLAN);
	p.dscp = 10;
	p.dscp_inherit = true;
	tsw_encap_hdr_build(&h, &p);
	m = mk_frame(80, 0xff);                          /* ARP: no inner DSCP */
	CU_ASSERT_EQUAL_FATAL(tsw_encap(m, &h, 5, 1), TSW_OK);
	o = rte_pktmbuf_mtod(m, const uint8_t *);
	CU_ASSERT_EQUAL(o[15], 0x28);
	CU_ASSERT_EQUAL(rte_raw_cksum(o + 14, 20), 0xffff);
	rte_pktmbuf_free(m);
}

/* The receiving side of params(): local_ip 198.18.0.2, both types. */
static struct tsw_decap_params
decap_params(void)
{
	struct tsw_decap_params dp = { .local_ip = inet_addr("198.18.0.2"),
				       .vxlan_port_be = rte_cpu_to_be_16(4789),
				       .type_enabled = { true, true },
				       .mac = { { 2, 0, 0, 0, 0, 2 } } };
	return dp;
}

static void
test_decap_roundtrip(void)
{
	struct tsw_decap_params dp = decap_params();
	struct tsw_encap_params p;
	struct tsw_encap_hdr h;
	struct tsw_decap_info info;

	for (int t = 0; t < TSW_TUN_NTYPES; t++) {
		for (int csum = 0; csum < 2; csum++) {
			struct rte_mbuf *m = mk_frame(100, 0x11);
			params(&p, (enum tsw_tun_type)t);
			p.csum = csum;
			tsw_encap_hdr_build(&h, &p);
			CU_ASSERT_EQUAL_FATAL(tsw_encap(m, &h, 77, 1), TSW_OK);
			CU_ASSERT_EQUAL(tsw_decap_parse(m, &dp, &info), TSW_OK);
			CU_ASSERT_EQUAL(info.type, (enum tsw_tun_type)t);
			CU_ASSERT_EQUAL(info.id, 77);
			CU_ASSERT_EQUAL(info.src_ip, inet_addr("198.18.0.1"));
			CU_ASSERT_EQUAL(info.outer_len, h.len);
			/* flip one payload byte: checksummed tunnels must notice */
			rte_pktmbuf_mtod(m, uint8_t *)[rte_pktmbuf_pkt_len(m) - 1] ^= 1;
			CU_ASSERT_EQUAL(tsw_decap_parse(m, &dp, &info),
					csum ? (t == TSW_TUN_VXLAN ? TSW_DROP_udp_bad_csum
								   : TSW_DROP_gre_bad_csum)
					     : TSW_OK);
			rte_pktmbuf_free(m);
		}
	}
}

/* A copy of linear frame lin as a two-segment chain split at byte k. */
static struct rte_mbuf *
chain_at(const struct rte_mbuf *lin, uint32_t k)
{
	struct rte_mbuf *a = rte_pktmbuf_alloc(pool), *b = rte_pktmbuf_alloc(pool);
	uint32_t len = rte_pktmbuf_pkt_len(lin);

	if (a == NULL || b == NULL)
		return NULL;
	memcpy(rte_pktmbuf_append(a, (uint16_t)k), rte_pktmbuf_mtod(lin, const uint8_t *), k);
	memcpy(rte_pktmbuf_append(b, (uint16_t)(len - k)),
	       rte_pktmbuf_mtod(lin, const uint8_t *) + k, len - k);
	if (rte_pktmbuf_chain(a, b) != 0)
		return NULL;
	return a;
}

static bool
same_bytes(const struct rte_mbuf *x, const struct rte_mbuf *y)
{
	uint8_t bx[2048], by[2048];
	uint32_t n = rte_pktmbuf_pkt_len(x);

	return n == rte_pktmbuf_pkt_len(y) && n <= sizeof(bx) &&
	       memcmp(rte_pktmbuf_read(x, 0, n, bx), rte_pktmbuf_read(y, 0, n, by), n) == 0;
}

/* Decapsulation of a chained frame, split anywhere (odd points included),
 * gives what the linear frame gives: the verdict, the checksum checks, the
 * trimmed length (87 bytes of Ethernet padding after a GRE packet, a UDP
 * length shorter than the IP payload) and the bytes. Encapsulating a
 * chained inner frame computes the same tunnel checksum. */
static void
test_decap_chained_equals_linear(void)
{
	struct tsw_decap_params dp = decap_params();
	struct tsw_encap_params p;
	struct tsw_encap_hdr h;

	for (int c = 0; c < 4; c++) {
		enum tsw_tun_type t = c < 2 ? TSW_TUN_VXLAN : TSW_TUN_GRE;
		struct rte_mbuf *lin = mk_frame(101, (uint8_t)(0x21 + c));
		uint32_t len;

		params(&p, t);
		p.csum = c % 2 == 0;
		tsw_encap_hdr_build(&h, &p);
		CU_ASSERT_EQUAL_FATAL(tsw_encap(lin, &h, 77, 1), TSW_OK);
		memset(rte_pktmbuf_append(lin, 87), 0, 87);      /* Ethernet padding */
		len = rte_pktmbuf_pkt_len(lin);
		for (uint32_t k = 1; k < len; k++) {
			struct rte_mbuf *x = rte_pktmbuf_clone(lin, pool), *y = chain_at(lin, k);
			struct tsw_decap_info ix, iy;
			struct rte_mbuf *xl;
			enum tsw_drop rx, ry;

			CU_ASSERT_FATAL(x != NULL && y != NULL);
			xl = rte_pktmbuf_copy(x, pool, 0, UINT32_MAX);   /* writable linear */
			rte_pktmbuf_free(x);
			rx = tsw_decap_parse(xl, &dp, &ix);
			ry = tsw_decap_parse(y, &dp, &iy);
			if (rx != TSW_OK || ry != TSW_OK || !same_bytes(xl, y) ||
			    ix.id != iy.id || ix.outer_len != iy.outer_len) {
				fprintf(stderr, "\ncase %d split %u: %d/%d, len %u/%u\n", c, k, rx, ry,
					rte_pktmbuf_pkt_len(xl), rte_pktmbuf_pkt_len(y));
				CU_FAIL("chained differs from linear");
				k = len;
			}
			CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(y), len - 87);
			rte_pktmbuf_free(xl);
			rte_pktmbuf_free(y);
		}
		rte_pktmbuf_free(lin);
	}
	/* encapsulation of a chained inner frame: the same checksums */
	for (int t = 0; t < TSW_TUN_NTYPES; t++) {
		struct rte_mbuf *lin = mk_frame(99, 0x5a);
		struct rte_mbuf *ch = chain_at(lin, 33);

		params(&p, (enum tsw_tun_type)t);
		p.csum = true;
		tsw_encap_hdr_build(&h, &p);
		CU_ASSERT_EQUAL_FATAL(tsw_encap(lin, &h, 5, 9), TSW_OK);
		CU_ASSERT_EQUAL_FATAL(tsw_encap(ch, &h, 5, 9), TSW_OK);
		CU_ASSERT(same_bytes(lin, ch));
		rte_pktmbuf_free(lin);
		rte_pktmbuf_free(ch);
	}
}

/* ---- FDB ---- */

/* The one-load key word the pipeline builds equals the struct key, and its
 * "learnable" test equals unicast and non-zero. */
static void
test_fdb_key_word(void)
{
	uint8_t frame[14];
	uint32_t x = 12345;

	for (int i = 0; i < 1000; i++) {
		struct tsw_fdb_key k;
		uint64_t kw, want;
		uint16_t net = (uint16_t)(x >> 7);

		for (int b = 0; b < 14; b++) {
			x = x * 1103515245u + 12345u;
			frame[b] = (uint8_t)(x >> 16);
		}
		if (i % 5 == 0)
			memset(frame + 6, 0, 6);             /* zero source MAC */
		for (int at = 0; at <= 6; at += 6) {
			const struct rte_ether_addr *a = (const struct rte_ether_addr *)(frame + at);
			tsw_fdb_key_set(&k, net, a);
			memcpy(&want, &k, sizeof(want));
			kw = tsw_fdb_key_word(net, frame + at);
			CU_ASSERT_EQUAL(kw, want);
			CU_ASSERT_EQUAL(tsw_fdb_key_word_learnable(kw),
					rte_is_unicast_ether_addr(a) && !rte_is_zero_ether_addr(a));
		}
	}
}

/* MACs a sender could choose (a VM without port security, a remote host
 * behind a tunnel) that share one plain CRC: in an rte_hash with
 * extendable buckets they chain into one bucket that every lookup of
 * theirs walks. With the process's secret their signatures are spread
 * (on the plain CRC: one), and every one is learned and found by the
 * bulk lookup (the inline signature and rte_hash's own hash agree). */
static void
test_fdb_hash_resists_crafted_macs(void)
{
	enum { N = 2000 };
	struct tsw_fdb_timeouts to = { .local_ms = 300000, .tunnel_ms = 300000 };
	struct tsw_fdb *f = tsw_fdb_create("ufdbx", 4 * N, SOCKET_ID_ANY, NULL, &to);
	/* net 7, MAC fa:16:3e:00:00:01 (the key word: MAC << 16 | net) */
	const uint64_t w = 0x0100003e16fa0007ull;
	uint64_t kern[64], kw[N];
	uint32_t sig[N];
	unsigned int nk, same = 0, distinct = 0, found = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	tsw_fdb_set_limits(f, 0, 0);
	/* every MAC bit but the group bit (the first byte's lowest) */
	nk = crafted_kernel(&w, 1, 0, 0xffffffffffff0000ull & ~(1ull << 16), 32, kern);
	CU_ASSERT_FATAL(nk >= 11);                     /* 47 unknowns, 32 equations */
	for (uint32_t j = 0; j < N; j++) {
		struct tsw_fdb_key k;

		crafted_key(&w, 1, 0, kern, nk, j, &kw[j]);
		same += crafted_crc(&kw[j], 1) == crafted_crc(&w, 1);
		sig[j] = tsw_hash_sig8(&kw[j]);
		memcpy(&k, &kw[j], sizeof(k));
		CU_ASSERT_EQUAL(tsw_fdb_learn(f, &k, TSW_FDB_LOCAL, 1, 1000), TSW_FDB_LEARN_NEW);
	}
	CU_ASSERT_EQUAL(same, N);                      /* the attack is real */
	for (uint32_t j = 0; j < N; j++) {
		bool seen = false;
		for (uint32_t i = 0; i < j && !seen; i++)
			seen = sig[i] == sig[j];
		distinct += !seen;
	}
	CU_ASSERT(distinct >= N - 2);                  /* ~0.0005 collisions expected */
	CU_ASSERT_EQUAL(tsw_hash8(&kw[0], 8, 0), sig[0]);
	for (uint32_t j = 0; j < N; j += 32) {
		struct tsw_fdb_key keys[32];
		const struct tsw_fdb_key *kp[32];
		tsw_fdb_entry_t e[32];
		unsigned int n = RTE_MIN(32u, (unsigned int)(N - j));

		for (unsigned int i = 0; i < n; i++) {
			memcpy(&keys[i], &kw[j + i], sizeof(keys[i]));
			kp[i] = &keys[i];
		}
		tsw_fdb_lookup_bulk(f, kp, n, 2000, e);
		for (unsigned int i = 0; i < n; i++)
			found += e[i] != 0 && tsw_fdb_entry_dest(e[i]) == 1;
	}
	CU_ASSERT_EQUAL(found, N);
	tsw_fdb_free(f);
}

static void
test_fdb_semantics(void)
{
	struct tsw_fdb_timeouts to = { .local_ms = 300000, .tunnel_ms = 30000 };
	struct tsw_fdb *f = tsw_fdb_create("ufdb", 1024, SOCKET_ID_ANY, NULL, &to);
	struct rte_ether_addr a = { { 0xfa, 0x16, 0x3e, 0, 0, 1 } };
	struct tsw_fdb_key k, k2;
	const struct tsw_fdb_key *kp[2] = { &k, &k2 };
	tsw_fdb_entry_t e[2];

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	tsw_fdb_key_set(&k, 3, &a);
	tsw_fdb_key_set(&k2, 4, &a);     /* same MAC, other network */
	CU_ASSERT_EQUAL(tsw_fdb_learn(f, &k, TSW_FDB_LOCAL, 1, 1000), TSW_FDB_LEARN_NEW);
	CU_ASSERT_EQUAL(tsw_fdb_learn(f, &k, TSW_FDB_LOCAL, 1, 2000), TSW_FDB_LEARN_REFRESHED);
	CU_ASSERT_EQUAL(tsw_fdb_learn(f, &k, TSW_FDB_TUNNEL, tsw_dest_tunnel(TSW_TUN_GRE, 9), 3000),
			TSW_FDB_LEARN_MOVED);
	tsw_fdb_lookup_bulk(f, kp, 2, 3000, e);
	CU_ASSERT_EQUAL(tsw_fdb_entry_kind(e[0]), TSW_FDB_TUNNEL);
	CU_ASSERT_TRUE(tsw_dest_is_tunnel(tsw_fdb_entry_dest(e[0])));
	CU_ASSERT_EQUAL(tsw_dest_tun_type(tsw_fdb_entry_dest(e[0])), TSW_TUN_GRE);
	CU_ASSERT_EQUAL(tsw_dest_index(tsw_fdb_entry_dest(e[0])), 9);
	CU_ASSERT_EQUAL(e[1], 0);        /* networks never share entries */
	/* tunnel timeout 30 s: valid at +29.999 s, gone at +30 s */
	CU_ASSERT_NOT_EQUAL(tsw_fdb_get(f, &k, 3000 + 29999), 0);
	CU_ASSERT_EQUAL(tsw_fdb_get(f, &k, 3000 + 30000), 0);
	CU_ASSERT_EQUAL(tsw_fdb_age(f, 3000 + 30000, UINT32_MAX, NULL), 1);
	CU_ASSERT_EQUAL(tsw_fdb_count(f), 0);
	/* statics: tunnel learning never overrides them (R-T1) */
	CU_ASSERT_EQUAL(tsw_fdb_add_static(f, &k, tsw_dest_tunnel(TSW_TUN_VXLAN, 2)), 0);
	CU_ASSERT_EQUAL(tsw_fdb_learn(f, &k, TSW_FDB_TUNNEL, tsw_dest_tunnel(TSW_TUN_VXLAN, 7),
				      4000), TSW_FDB_LEARN_STATIC);
	tsw_fdb_lookup_bulk(f, kp, 1, 4000, e);
	CU_ASSERT_EQUAL(tsw_fdb_resolve(e[0], 4000, &to),
			tsw_fdb_entry_make(TSW_FDB_STATIC, tsw_dest_tunnel(TSW_TUN_VXLAN, 2), 0));
	/* a local port's learning beats them while valid (R-F1) */
	CU_ASSERT_EQUAL(tsw_fdb_learn(f, &k, TSW_FDB_LOCAL, 1, 5000), TSW_FDB_LEARN_MOVED);
	tsw_fdb_lookup_bulk(f, kp, 1, 5000 + 299999, e);
	CU_ASSERT_EQUAL(tsw_fdb_entry_kind(e[0]), TSW_FDB_STATIC);
	CU_ASSERT_EQUAL(tsw_fdb_entry_dest(e[0]), tsw_dest_tunnel(TSW_TUN_VXLAN, 2));
	CU_ASSERT_EQUAL(tsw_fdb_resolve(e[0], 5000 + 299999, &to),
			tsw_fdb_entry_make(TSW_FDB_LOCAL, 1, 5000));
	CU_ASSERT_EQUAL(tsw_fdb_learned_on_port(f, 1), 1);
	/* the static destination again once the local part expired... */
	CU_ASSERT_EQUAL(tsw_fdb_resolve(e[0], 5000 + 300000, &to),
			tsw_fdb_entry_make(TSW_FDB_STATIC, tsw_dest_tunnel(TSW_TUN_VXLAN, 2), 0));
	/* ...and ageing takes the part off; statics never age */
	CU_ASSERT_EQUAL(tsw_fdb_age(f, 5000 + 300000, UINT32_MAX, NULL), 1);
	CU_ASSERT_EQUAL(tsw_fdb_learned_on_port(f, 1), 0);
	CU_ASSERT_EQUAL(tsw_fdb_age(f, 90000000, UINT32_MAX, NULL), 0);
	CU_ASSERT_EQUAL(tsw_fdb_get(f, &k, 90000000),
			tsw_fdb_entry_make(TSW_FDB_STATIC, tsw_dest_tunnel(TSW_TUN_VXLAN, 2), 0));
	/* a MAC seen from a tunnel is no longer local: the static governs */
	tsw_fdb_learn(f, &k, TSW_FDB_LOCAL, 1, 100000000);
	tsw_fdb_learn(f, &k, TSW_FDB_TUNNEL, tsw_dest_tunnel(TSW_TUN_VXLAN, 7), 100000100);
	CU_ASSERT_EQUAL(tsw_fdb_resolve(tsw_fdb_get(f, &k, 100000200), 100000200, &to),
			tsw_fdb_entry_make(TSW_FDB_STATIC, tsw_dest_tunnel(TSW_TUN_VXLAN, 2), 0));
	/* removing the static leaves what was learned, as learned (br-tun's
	 * learned flow under l2population's) */
	CU_ASSERT_EQUAL(tsw_fdb_del(f, &k, TSW_FDB_LOCAL), 0);   /* kind filter */
	CU_ASSERT_EQUAL(tsw_fdb_del(f, &k, TSW_FDB_STATIC), 1);
	CU_ASSERT_EQUAL(tsw_fdb_get(f, &k, 100000200),
			tsw_fdb_entry_make(TSW_FDB_TUNNEL, tsw_dest_tunnel(TSW_TUN_VXLAN, 7), 100000100));
	/* learned, then static: the learned part kept under it */
	CU_ASSERT_EQUAL(tsw_fdb_add_static(f, &k, tsw_dest_tunnel(TSW_TUN_VXLAN, 3)), 0);
	CU_ASSERT_EQUAL(tsw_fdb_count(f), 1);
	CU_ASSERT_EQUAL(tsw_fdb_del(f, &k, TSW_FDB_STATIC), 1);
	CU_ASSERT_EQUAL(tsw_fdb_entry_kind(tsw_fdb_get(f, &k, 100000200)), TSW_FDB_TUNNEL);
	CU_ASSERT_EQUAL(tsw_fdb_del(f, &k, TSW_FDB_NONE), 1);
	/* flushing a port takes the local part off a static entry */
	tsw_fdb_add_static(f, &k, tsw_dest_tunnel(TSW_TUN_VXLAN, 3));
	tsw_fdb_learn(f, &k, TSW_FDB_LOCAL, 4, 100100000);
	CU_ASSERT_EQUAL(tsw_fdb_flush_dest(f, 4, true, UINT32_MAX), 1);
	CU_ASSERT_EQUAL(tsw_fdb_get(f, &k, 100100000),
			tsw_fdb_entry_make(TSW_FDB_STATIC, tsw_dest_tunnel(TSW_TUN_VXLAN, 3), 0));
	CU_ASSERT_EQUAL(tsw_fdb_del(f, &k, TSW_FDB_NONE), 1);
	/* flush by destination keeps statics unless asked */
	tsw_fdb_learn(f, &k, TSW_FDB_LOCAL, 5, 0);
	tsw_fdb_add_static(f, &k2, 5);
	CU_ASSERT_EQUAL(tsw_fdb_flush_dest(f, 5, false, UINT32_MAX), 1);
	CU_ASSERT_EQUAL(tsw_fdb_flush_dest(f, 5, true, UINT32_MAX), 1);
	CU_ASSERT_EQUAL(tsw_fdb_count(f), 0);
	tsw_fdb_free(f);
}

/* Counts of every owner list, recomputed by a walk of the whole table. */
struct owner_counts {
	uint32_t net[8], stat[TSW_MAX_PORTS + 2 * 8], learned[TSW_MAX_PORTS + 2 * 8];
};

static int
owner_index(uint16_t d)
{
	return tsw_dest_is_tunnel(d) ? TSW_MAX_PORTS + (int)tsw_dest_tun_type(d) * 8 +
					       tsw_dest_index(d)
				     : d;
}

static void
walk_counts(const struct tsw_fdb *f, struct owner_counts *c)
{
	struct tsw_fdb_key k;
	tsw_fdb_entry_t e;
	uint32_t it = 0;

	memset(c, 0, sizeof(*c));
	while (tsw_fdb_iterate(f, &it, &k, &e) == 0) {
		c->net[k.net]++;
		if (tsw_fdb_entry_kind(e) == TSW_FDB_STATIC)
			c->stat[owner_index(tsw_fdb_entry_dest(e))]++;
		tsw_fdb_entry_t l = tsw_fdb_entry_composite(e) ? tsw_fdb_learned_part(e, 0, NULL, false)
							      : e;
		if (tsw_fdb_entry_kind(l) == TSW_FDB_LOCAL || tsw_fdb_entry_kind(l) == TSW_FDB_TUNNEL)
			c->learned[owner_index(tsw_fdb_entry_dest(l))]++;
	}
}

static uint16_t
some_dest(unsigned int r)
{
	unsigned int i = r % (8 + 16);

	return i < 8 ? (uint16_t)i
		     : tsw_dest_tunnel(i < 16 ? TSW_TUN_VXLAN : TSW_TUN_GRE, (uint16_t)(i % 8));
}

/* #20 item 4: the FDB lists its keys by network and by destination (static
 * and learned parts apart), so that deleting what an owner has costs O(what
 * it has). After every kind of change, in random order, each list holds
 * exactly the keys a walk of the table finds for its owner; deleting an
 * owner's entries in bounded steps takes exactly what it has. */
static void
test_fdb_owner_lists(void)
{
	struct tsw_fdb_timeouts to = { .local_ms = 5000, .tunnel_ms = 3000 };
	struct tsw_fdb *f = tsw_fdb_create("ufdb3", 4096, SOCKET_ID_ANY, NULL, &to);
	struct owner_counts want;
	unsigned int seed = 12345, bad = 0;
	uint64_t now = 1000;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	for (int step = 0; step < 20000; step++) {
		struct rte_ether_addr mac = { { 0xfa, 0x16, 0x3e, 0, 0, 0 } };
		struct tsw_fdb_key k;
		unsigned int r = (unsigned int)rand_r(&seed);
		uint16_t d = some_dest(r >> 8);

		mac.addr_bytes[5] = (uint8_t)(r >> 16);
		mac.addr_bytes[4] = (uint8_t)(r >> 24 & 1);
		tsw_fdb_key_set(&k, (uint16_t)(r >> 4 & 7), &mac);
		now += r % 7;
		switch (r % 8) {
		case 0: case 1:
			if (!tsw_dest_is_tunnel(d))
				tsw_fdb_learn(f, &k, TSW_FDB_LOCAL, d, now);
			else
				tsw_fdb_learn(f, &k, TSW_FDB_TUNNEL, d, now);
			break;
		case 2: case 3:
			tsw_fdb_add_static(f, &k, tsw_dest_is_tunnel(d) ? d : tsw_dest_tunnel(TSW_TUN_VXLAN, 1));
			break;
		case 4:
			tsw_fdb_del(f, &k, (enum tsw_fdb_kind)(r >> 12 & 3));
			break;
		case 5:
			tsw_fdb_age(f, now, 64, NULL);
			break;
		case 6:
			tsw_fdb_flush_dest(f, d, (r >> 20) & 1, r >> 24 & 7);
			break;
		default: {
			struct tsw_fdb_key first;
			if (tsw_fdb_net_first(f, k.net, &first) == 0)
				tsw_fdb_del(f, &first, TSW_FDB_NONE);
			break;
		}
		}
		if (step % 97 != 0)
			continue;
		walk_counts(f, &want);
		for (uint16_t n = 0; n < 8; n++)
			bad += tsw_fdb_net_count(f, n) != want.net[n];
		for (unsigned int i = 0; i < 24; i++) {
			uint16_t dd = some_dest(i);
			int o = owner_index(dd);
			bad += tsw_fdb_dest_count(f, dd, false) != want.learned[o];
			bad += tsw_fdb_dest_count(f, dd, true) != want.learned[o] + want.stat[o];
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(tsw_fdb_count(f) > 100);
	/* an owner's entries go in steps of at most 3, each step 3 (or the rest) */
	for (unsigned int i = 0; i < 24; i++) {
		uint16_t dd = some_dest(i);
		uint32_t had = tsw_fdb_dest_count(f, dd, true), taken = 0, n;
		while ((n = tsw_fdb_flush_dest(f, dd, true, 3)) > 0) {
			CU_ASSERT(n == 3 || tsw_fdb_dest_count(f, dd, true) == 0);
			taken += n;
		}
		/* a composite entry with both parts at dd goes in one change */
		CU_ASSERT(taken <= had);
		CU_ASSERT_EQUAL(tsw_fdb_dest_count(f, dd, true), 0);
	}
	walk_counts(f, &want);
	for (unsigned int o = 0; o < RTE_DIM(want.learned); o++)
		CU_ASSERT_EQUAL(want.learned[o] + want.stat[o], 0);
	CU_ASSERT_EQUAL(tsw_fdb_count(f), 0);
	for (uint16_t n = 0; n < 8; n++)
		CU_ASSERT_EQUAL(tsw_fdb_net_count(f, n), 0);
	tsw_fdb_free(f);
}

static void
test_fdb_bulk_many(void)
{
	struct tsw_fdb_timeouts to = { .local_ms = 300000, .tunnel_ms = 300000 };
	struct tsw_fdb *f = tsw_fdb_create("ufdb2", 65536, SOCKET_ID_ANY, NULL, &to);
	struct tsw_fdb_key keys[64];
	const struct tsw_fdb_key *kp[64];
	tsw_fdb_entry_t e[64];

	for (uint32_t i = 0; i < 50000; i++) {
		struct rte_ether_addr a = { { 0xfa, 0x16, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 7 } };
		struct tsw_fdb_key k;
		tsw_fdb_key_set(&k, (uint16_t)(i % 7), &a);
		CU_ASSERT_EQUAL_FATAL(tsw_fdb_learn(f, &k, TSW_FDB_LOCAL, (uint16_t)(i % 60), 1),
				      TSW_FDB_LEARN_NEW);
	}
	CU_ASSERT_EQUAL(tsw_fdb_count(f), 50000);
	for (uint32_t i = 0; i < 64; i++) {
		uint32_t v = i * 777 + (i & 1 ? 60000 : 0);      /* odd ones are misses */
		struct rte_ether_addr a = { { 0xfa, 0x16, (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v, 7 } };
		tsw_fdb_key_set(&keys[i], (uint16_t)(v % 7), &a);
		kp[i] = &keys[i];
	}
	tsw_fdb_lookup_bulk(f, kp, 64, 2, e);
	for (uint32_t i = 0; i < 64; i++) {
		if (i & 1)
			CU_ASSERT_EQUAL(e[i], 0)
		else
			CU_ASSERT_EQUAL(tsw_fdb_entry_dest(e[i]), (i * 777) % 60)
	}
	tsw_fdb_free(f);
}

int
main(int argc, char **argv)
{
	char prefix[64];
	char *eal[] = { argv[0], (char *)"--no-huge", (char *)"--no-shconf", (char *)"--no-pci",
			(char *)"--no-telemetry", (char *)"-l", (char *)"0", (char *)"-m", (char *)"256",
			(char *)"--log-level=lib.eal:error", prefix, NULL };
	CU_pSuite s;
	unsigned int failed;

	(void)argc;
	snprintf(prefix, sizeof(prefix), "--file-prefix=tswunit%d", (int)getpid());
	if (rte_eal_init(11, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("unit", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	cfg = calloc(1, sizeof(*cfg));
	if (pool == NULL || cfg == NULL || CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("config", NULL, NULL);
	CU_add_test(s, "defaults", test_config_defaults);
	CU_add_test(s, "every section", test_config_full);
	CU_add_test(s, "errors name file, section, key, reason", test_config_errors);
	CU_add_test(s, "missing file", test_config_missing_file);
	s = CU_add_suite("encap", NULL, NULL);
	CU_add_test(s, "R-E1 VXLAN bytes and incremental checksum", test_encap_vxlan_bytes);
	CU_add_test(s, "R-E2 GRE bytes and checksum", test_encap_gre_bytes_and_csum);
	CU_add_test(s, "R-E4 limits", test_encap_limits);
	CU_add_test(s, "R-E1 DSCP configured and inherited", test_encap_dscp);
	CU_add_test(s, "R-C2 decap parses what encap builds", test_decap_roundtrip);
	CU_add_test(s, "R-C2 R-C4 chained frames decap as linear ones", test_decap_chained_equals_linear);
	s = CU_add_suite("fdb", NULL, NULL);
	CU_add_test(s, "R-F1 R-T1 R-A1 R-A3 semantics, static and learned together",
		    test_fdb_semantics);
	CU_add_test(s, "bulk lookup over 50k entries", test_fdb_bulk_many);
	CU_add_test(s, "R-F1 MACs crafted to share a plain CRC: spread signatures, all found",
		    test_fdb_hash_resists_crafted_macs);
	CU_add_test(s, "keys listed by network and destination after every change",
		    test_fdb_owner_lists);
	CU_add_test(s, "key word equals the key", test_fdb_key_word);
	register_hostile_tests();
	register_ctlexec_tests();
	register_ct_tests();
	register_txq_tests();
	register_offload_tests();
	register_pcap_tests();
	register_sgparse_tests();
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	free(cfg);
	rte_mempool_free(pool);
	{
		char rundir[4096];
		snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		rmdir(rundir);
	}
	return failed ? 1 : 0;
}
