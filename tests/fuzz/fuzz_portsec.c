/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: port security's per-frame check (R-S1..R-S4), what a
 * hostile tenant controls directly. Input: [policy][split a][split b]
 * [frame...].
 * Oracles: nothing crashes; linear and chained frames get the same
 * verdict; the verdict equals an independent reference written here from
 * the rules over the flat input frame: it walks the whole IPv6
 * extension-header chain recursively, bounded by the packet (payload
 * length, frame) and by nothing else, with its own table of allowed
 * (MAC, prefix) pairs. The policies are built by tsw_portsec_from_text
 * from text; the reference holds the same pairs as numbers.
 */
#include <string.h>

#include "harness.h"
#include "tsw_portsec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define M1 { 0xfa, 0x16, 0x3e, 0, 0, 1 }
#define M5 { 0xfa, 0x16, 0x3e, 0, 0, 5 }

struct ref_pair {
	uint8_t mac[6];
	int v6;                  /* 0: IPv4, 1: IPv6 */
	uint8_t addr[16];        /* network order; IPv4 in the first 4 */
	int plen;
};

struct ref_policy {
	const char *mac, *ips, *pairs;          /* the text the code under test parses */
	uint8_t macs[4][6];
	int n_macs;
	struct ref_pair pair[8];
	int n_pairs;
};

static const struct ref_policy policies[] = {
	{ "fa:16:3e:00:00:01", "10.0.0.1, fd00::1",
	  "10.1.0.0/24, 10.2.0.5@fa:16:3e:00:00:05, fd00:1::/64, fd00:2::7@fa:16:3e:00:00:05",
	  { M1, M5 }, 2,
	  { { M1, 0, { 10, 0, 0, 1 }, 32 },
	    { M1, 1, { 0xfd, 0, [15] = 1 }, 128 },
	    { M1, 0, { 10, 1, 0, 0 }, 24 },
	    { M5, 0, { 10, 2, 0, 5 }, 32 },
	    { M1, 1, { 0xfd, 0, 0, 1 }, 64 },
	    { M5, 1, { 0xfd, 0, 0, 2, [15] = 7 }, 128 } }, 6 },
	{ "fa:16:3e:00:00:01", "10.0.0.1", "", { M1 }, 1,
	  { { M1, 0, { 10, 0, 0, 1 }, 32 } }, 1 },
};
#define N_POLICIES (sizeof(policies) / sizeof(policies[0]))

static struct tsw_portsec built[N_POLICIES];

static void
build_policies(void)
{
	static int done;
	char why[256];

	if (done)
		return;
	for (size_t i = 0; i < N_POLICIES; i++) {
		struct rte_ether_addr mac;
		if (rte_ether_unformat_addr(policies[i].mac, &mac) != 0 ||
		    tsw_portsec_from_text(&mac, policies[i].ips, policies[i].pairs, &built[i], why,
					  sizeof(why)) != 0)
			fz_fail("policy %zu: %s", i, why);
	}
	done = 1;
}

/* ---- the reference ----------------------------------------------------- */

static unsigned int
be16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static int
ref_mac_known(const struct ref_policy *p, const uint8_t *mac)
{
	for (int i = 0; i < p->n_macs; i++)
		if (memcmp(p->macs[i], mac, 6) == 0)
			return 1;
	return 0;
}

static int
ref_in_prefix(const uint8_t *a, const uint8_t *net, int plen)
{
	for (int bit = 0; bit < plen; bit++) {
		int mask = 0x80 >> (bit % 8);
		if ((a[bit / 8] & mask) != (net[bit / 8] & mask))
			return 0;
	}
	return 1;
}

/* (mac, address) allowed: a pair of the policy, or for IPv6 the EUI-64
 * link-local address of an allowed MAC */
static int
ref_allowed(const struct ref_policy *p, const uint8_t *mac, int v6, const uint8_t *a)
{
	if (v6) {
		uint8_t ll[16] = { 0xfe, 0x80 };
		ll[8] = mac[0] ^ 2;
		ll[9] = mac[1];
		ll[10] = mac[2];
		ll[11] = 0xff;
		ll[12] = 0xfe;
		ll[13] = mac[3];
		ll[14] = mac[4];
		ll[15] = mac[5];
		if (memcmp(a, ll, 16) == 0)
			return 1;
	}
	for (int i = 0; i < p->n_pairs; i++) {
		const struct ref_pair *r = &p->pair[i];
		if (r->v6 == v6 && memcmp(r->mac, mac, 6) == 0 && ref_in_prefix(a, r->addr, r->plen))
			return 1;
	}
	return 0;
}

static enum tsw_drop
ref_ipv4(const struct ref_policy *p, const uint8_t *mac, const uint8_t *f, size_t off,
	 size_t len)
{
	const uint8_t *ip = f + off;
	size_t ihl;
	int udp = 0;
	unsigned int sport = 0, dport = 0;
	static const uint8_t zero[4];

	if (len - off < 20)
		return TSW_DROP_ps_src_ip;           /* no source to judge */
	ihl = (size_t)(ip[0] & 0x0f) * 4;            /* as the header says */
	if (ip[9] == 17 && (be16(ip + 6) & 0x1fff) == 0 && len - off >= ihl + 8) {
		udp = 1;
		sport = be16(ip + ihl);
		dport = be16(ip + ihl + 2);
	}
	if (udp && sport == 67 && dport == 68)
		return TSW_DROP_ps_dhcp_server;      /* R-S4 */
	if (udp && sport == 68 && dport == 67 && memcmp(ip + 12, zero, 4) == 0)
		return TSW_DROP_MAX;                 /* R-S2: DHCP from 0.0.0.0 */
	return ref_allowed(p, mac, 0, ip + 12) ? TSW_DROP_MAX : TSW_DROP_ps_src_ip;
}

enum walk { W_UPPER, W_LATER, W_CUT };

/* The chain from header type nh at f[at], packet ending at end: recursive,
 * one call per header (each at least 8 bytes, so at most FZ_SNAP / 8). */
static enum walk
ref_walk(const uint8_t *f, size_t at, size_t end, int nh, int *proto, size_t *l4)
{
	size_t hl;

	switch (nh) {
	case 0: case 43: case 60: case 135: case 139: case 140: case 253: case 254:
		if (end - at < 8)
			return W_CUT;
		hl = 8 * ((size_t)f[at + 1] + 1);
		break;
	case 44:
		if (end - at < 8)
			return W_CUT;
		if ((be16(f + at + 2) >> 3) != 0)
			return W_LATER;
		hl = 8;
		break;
	case 51:
		if (end - at < 8)
			return W_CUT;
		hl = 4 * ((size_t)f[at + 1] + 2);
		break;
	default:
		*proto = nh;
		*l4 = at;
		if ((nh == 58 && end - at < 4) || (nh == 17 && end - at < 8) ||
		    (nh == 6 && end - at < 20))
			return W_CUT;
		return W_UPPER;
	}
	if (hl > end - at)
		return W_CUT;
	return ref_walk(f, at + hl, end, f[at], proto, l4);
}

static enum tsw_drop
ref_ipv6(const struct ref_policy *p, const uint8_t *mac, const uint8_t *f, size_t off,
	 size_t len)
{
	static const uint8_t unspec[16];
	const uint8_t *ip = f + off;
	size_t end = len, l4 = 0, plen;
	int proto = -1, type = -1;

	if (len - off < 40)
		return TSW_DROP_ps_src_ip;
	plen = be16(ip + 4);
	if (plen != 0 && off + 40 + plen < len)
		end = off + 40 + plen;
	switch (ref_walk(f, off + 40, end, ip[6], &proto, &l4)) {
	case W_CUT:
		return TSW_DROP_ps_ipv6_chain;
	case W_LATER:
		proto = -1;
		break;
	case W_UPPER:
		break;
	}
	if (proto == 58)
		type = f[l4];
	if (type == 134 || type == 137)
		return TSW_DROP_ps_router_adv;       /* R-S4 */
	if (proto == 17 && be16(f + l4) == 547 && be16(f + l4 + 2) == 546)
		return TSW_DROP_ps_dhcp_server;      /* R-S4 */
	if (memcmp(ip + 8, unspec, 16) == 0)        /* R-S2: DAD, MLD from :: */
		return type == 135 || type == 131 || type == 143 ? TSW_DROP_MAX
								 : TSW_DROP_ps_src_ip;
	return ref_allowed(p, mac, 1, ip + 8) ? TSW_DROP_MAX : TSW_DROP_ps_src_ip;
}

static enum tsw_drop
ref_arp(const struct ref_policy *p, const uint8_t *f, size_t off, size_t len)
{
	const uint8_t *a = f + off;
	static const uint8_t zero[4];

	if (len - off < 28 || be16(a) != 1 || be16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
		return TSW_DROP_ps_arp_spoof;
	if (!ref_mac_known(p, a + 8))
		return TSW_DROP_ps_arp_spoof;        /* R-S3: sender MAC */
	if (memcmp(a + 14, zero, 4) != 0 && !ref_allowed(p, a + 8, 0, a + 14))
		return TSW_DROP_ps_arp_spoof;        /* R-S3: sender IP (a probe claims none) */
	return TSW_DROP_MAX;
}

static enum tsw_drop
ref_verdict(const struct ref_policy *p, const uint8_t *f, size_t len)
{
	size_t off = 14;
	unsigned int et;

	if (len < 14)
		return TSW_DROP_runt;
	if (!ref_mac_known(p, f + 6))
		return TSW_DROP_ps_src_mac;          /* R-S1 */
	et = be16(f + 12);
	if (et == 0x8100) {                          /* the priority tag R-C1 lets in */
		if (len < 18)
			return TSW_DROP_runt;
		et = be16(f + 16);
		off = 18;
	}
	switch (et) {
	case 0x0800: return ref_ipv4(p, f + 6, f, off, len);
	case 0x86dd: return ref_ipv6(p, f + 6, f, off, len);
	case 0x0806: return ref_arp(p, f, off, len);
	default: return TSW_DROP_ps_ethertype;       /* R-S3 */
	}
}

/* ---- the target -------------------------------------------------------- */

static enum tsw_drop
check(const struct tsw_portsec *ps, const uint8_t *frame, size_t len, size_t a, size_t b)
{
	struct rte_mbuf *m = fz_mbuf(frame, len, a, b);
	enum tsw_drop d;

	if (m == NULL)
		fz_fail("out of mbufs");
	d = tsw_portsec_check(ps, m);
	rte_pktmbuf_free(m);
	return d;
}

static const char *
name(enum tsw_drop d)
{
	return d == TSW_DROP_MAX ? "pass" : tsw_drop_names[d];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *frame = data + 3;
	size_t len = size - 3;
	unsigned int pi;
	enum tsw_drop linear, chained, want;

	if (size < 3 || len > FZ_SNAP)
		return 0;
	build_policies();
	pi = data[0] % N_POLICIES;
	linear = check(&built[pi], frame, len, 0, 0);
	chained = check(&built[pi], frame, len, data[1], (size_t)data[1] + data[2]);
	if (linear != chained)
		fz_fail("linear frame: %s, chained at %u/%u: %s", name(linear), data[1],
			data[1] + data[2], name(chained));
	want = ref_verdict(&policies[pi], frame, len);
	if (linear != want)
		fz_fail("policy %u: tsw_portsec_check says %s, the reference %s", pi, name(linear),
			name(want));
	fz_check_pool("portsec");
	return 0;
}
