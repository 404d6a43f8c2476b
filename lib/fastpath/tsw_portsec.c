/* SPDX-License-Identifier: BSD-3-Clause
 * Port security: the per-frame check (R-S1..R-S4) and policy parsing.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "tsw_parse.h"
#include "tsw_pkt.h"
#include "tsw_portsec.h"

#define ET_IPV4 RTE_BE16(RTE_ETHER_TYPE_IPV4)
#define ET_IPV6 RTE_BE16(RTE_ETHER_TYPE_IPV6)
#define ET_ARP  RTE_BE16(RTE_ETHER_TYPE_ARP)
#define ET_VLAN RTE_BE16(RTE_ETHER_TYPE_VLAN)

#define IPPROTO_UDP_    17
#define IPPROTO_ICMPV6_ 58
#define ICMP6_ROUTER_ADV    134
#define ICMP6_REDIRECT      137
#define ICMP6_NEIGH_SOLICIT 135
#define ICMP6_MLD_REPORT    131
#define ICMP6_MLD2_REPORT   143

/* ---- the check ---------------------------------------------------------- */

static inline uint64_t
mac_word(const struct rte_ether_addr *mac)
{
	uint32_t hi;
	uint16_t lo;

	memcpy(&hi, mac->addr_bytes, 4);
	memcpy(&lo, mac->addr_bytes + 4, 2);
	return (uint64_t)hi << 16 | lo;
}

static inline int
mac_index(const struct tsw_portsec *ps, const struct rte_ether_addr *mac)
{
	uint64_t w = mac_word(mac);

	for (int i = 0; i < ps->n_macs; i++)
		if (ps->mac_words[i] == w)
			return i;
	return -1;
}

static inline bool
v4_allowed(const struct tsw_portsec *ps, int mac, uint32_t ip)
{
	for (int i = 0; i < ps->n_v4; i++)
		if (ps->v4[i].mac == mac && (ip & ps->v4[i].mask) == ps->v4[i].addr)
			return true;
	return false;
}

static bool
prefix_match(const uint8_t *a, const uint8_t *p, uint8_t len)
{
	uint8_t full = len / 8, rest = len % 8;

	if (memcmp(a, p, full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ p[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* fe80::/64 with the modified EUI-64 interface id of mac */
static bool
is_eui64_link_local(const uint8_t *a, const struct rte_ether_addr *mac)
{
	const uint8_t *m = mac->addr_bytes;
	static const uint8_t ll[8] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0 };

	return memcmp(a, ll, 8) == 0 && a[8] == (m[0] ^ 0x02) && a[9] == m[1] &&
	       a[10] == m[2] && a[11] == 0xff && a[12] == 0xfe && a[13] == m[3] &&
	       a[14] == m[4] && a[15] == m[5];
}

static bool
v6_allowed(const struct tsw_portsec *ps, int mac, const uint8_t *ip)
{
	if (is_eui64_link_local(ip, &ps->macs[mac]))
		return true;
	for (int i = 0; i < ps->n_v6; i++)
		if (ps->v6[i].mac == mac && prefix_match(ip, ps->v6[i].addr, ps->v6[i].len))
			return true;
	return false;
}

bool
tsw_portsec_owns_v6(const struct tsw_portsec *ps, const uint8_t *addr)
{
	for (int i = 0; i < ps->n_macs; i++)
		if (v6_allowed(ps, i, addr))
			return true;
	return false;
}

static enum tsw_drop
check_ipv4(const struct tsw_portsec *ps, int mac, const struct rte_mbuf *m, uint32_t off)
{
	struct rte_ipv4_hdr buf;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_read(m, off, sizeof(buf), &buf);
	uint16_t sport = 0, dport = 0;
	bool udp = false;

	if (ip == NULL)
		return TSW_DROP_ps_src_ip;           /* too short to tell its source */
	if (ip->next_proto_id == IPPROTO_UDP_ &&
	    (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) == 0) {
		struct rte_udp_hdr ub;
		uint32_t ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;
		const struct rte_udp_hdr *uh = rte_pktmbuf_read(m, off + ihl, sizeof(ub), &ub);
		if (uh != NULL) {
			udp = true;
			sport = rte_be_to_cpu_16(uh->src_port);
			dport = rte_be_to_cpu_16(uh->dst_port);
		}
	}
	if (udp && sport == 67 && dport == 68)
		return TSW_DROP_ps_dhcp_server;      /* R-S4 */
	if (ip->src_addr == 0 && udp && sport == 68 && dport == 67)
		return TSW_DROP_MAX;                 /* DHCP discover/request (R-S2) */
	return v4_allowed(ps, mac, ip->src_addr) ? TSW_DROP_MAX : TSW_DROP_ps_src_ip;
}

static enum tsw_drop
check_ipv6(const struct tsw_portsec *ps, int mac, const struct rte_mbuf *m, uint32_t off)
{
	struct rte_ipv6_hdr buf;
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_read(m, off, sizeof(buf), &buf);
	static const uint8_t unspec[16];
	uint32_t l4, end;
	uint8_t proto, l4b[4];
	const uint8_t *h;
	int icmp_type = -1;

	if (ip == NULL)
		return TSW_DROP_ps_src_ip;
	/* The upper layer behind the whole extension-header chain (an RA behind
	 * any number of options, or behind AH, is still an RA); a chain that
	 * cannot be walked to its end is not let through (R-S4). */
	switch (tsw_ip6_upper(m, off, &proto, &l4, &end)) {
	case TSW_IP6_TRUNCATED:
		return TSW_DROP_ps_ipv6_chain;
	case TSW_IP6_LATER_FRAGMENT:
		proto = 255;                         /* no upper-layer header here */
		break;
	case TSW_IP6_UPPER:
		break;
	}
	if (proto == IPPROTO_ICMPV6_ || proto == IPPROTO_UDP_) {
		h = rte_pktmbuf_read(m, l4, sizeof(l4b), l4b);   /* present: tsw_ip6_upper */
		if (h == NULL)
			return TSW_DROP_ps_ipv6_chain;
		if (proto == IPPROTO_ICMPV6_)
			icmp_type = h[0];
		else if ((h[0] << 8 | h[1]) == 547 && (h[2] << 8 | h[3]) == 546)
			return TSW_DROP_ps_dhcp_server;      /* R-S4: DHCPv6 server */
	}
	if (icmp_type == ICMP6_ROUTER_ADV || icmp_type == ICMP6_REDIRECT)
		return TSW_DROP_ps_router_adv;       /* R-S4 */
	if (memcmp(ip->src_addr, unspec, 16) == 0)   /* DAD and MLD from :: (R-S2) */
		return icmp_type == ICMP6_NEIGH_SOLICIT || icmp_type == ICMP6_MLD_REPORT ||
		       icmp_type == ICMP6_MLD2_REPORT ? TSW_DROP_MAX : TSW_DROP_ps_src_ip;
	return v6_allowed(ps, mac, ip->src_addr) ? TSW_DROP_MAX : TSW_DROP_ps_src_ip;
}

static enum tsw_drop
check_arp(const struct tsw_portsec *ps, const struct rte_mbuf *m, uint32_t off)
{
	struct rte_arp_hdr buf;
	const struct rte_arp_hdr *a = rte_pktmbuf_read(m, off, sizeof(buf), &buf);
	int mac;

	/* rte_arp_hdr is 2-aligned; a chain may put it at an odd address */
	if (a != NULL && a != &buf && ((uintptr_t)a & 1) != 0) {
		memcpy(&buf, a, sizeof(buf));
		a = &buf;
	}
	if (a == NULL || a->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != ET_IPV4 || a->arp_hlen != 6 || a->arp_plen != 4)
		return TSW_DROP_ps_arp_spoof;
	mac = mac_index(ps, &a->arp_data.arp_sha);
	if (mac < 0)
		return TSW_DROP_ps_arp_spoof;
	/* a probe (RFC 5227: sender IP 0.0.0.0) claims no address */
	if (a->arp_data.arp_sip != 0 && !v4_allowed(ps, mac, a->arp_data.arp_sip))
		return TSW_DROP_ps_arp_spoof;
	return TSW_DROP_MAX;
}

enum tsw_drop
tsw_portsec_check(const struct tsw_portsec *ps, const struct rte_mbuf *m)
{
	struct rte_ether_hdr eb;
	const struct rte_ether_hdr *eth = rte_pktmbuf_read(m, 0, sizeof(eb), &eb);
	uint32_t off = sizeof(*eth);
	uint16_t et;
	int mac;

	if (eth == NULL)
		return TSW_DROP_runt;
	mac = mac_index(ps, &eth->src_addr);
	if (mac < 0)
		return TSW_DROP_ps_src_mac;              /* R-S1 */
	et = eth->ether_type;
	if (et == ET_VLAN) {                         /* priority tag (VID 0, R-C1) */
		struct rte_vlan_hdr vb;
		const struct rte_vlan_hdr *vh = rte_pktmbuf_read(m, off, sizeof(vb), &vb);
		if (vh == NULL)
			return TSW_DROP_runt;
		et = vh->eth_proto;
		off += sizeof(*vh);
	}
	if (et == ET_IPV4)
		return check_ipv4(ps, mac, m, off);
	if (et == ET_IPV6)
		return check_ipv6(ps, mac, m, off);
	if (et == ET_ARP)
		return check_arp(ps, m, off);
	return TSW_DROP_ps_ethertype;                /* R-S3: RARP and the rest */
}

/* ---- building a policy ------------------------------------------------- */

int
tsw_portsec_add_mac(struct tsw_portsec *ps, const struct rte_ether_addr *mac)
{
	int i = mac_index(ps, mac);

	if (i >= 0)
		return i;
	if (ps->n_macs == TSW_PORTSEC_MAX_MACS)
		return -1;
	ps->macs[ps->n_macs] = *mac;
	ps->mac_words[ps->n_macs] = mac_word(mac);
	return ps->n_macs++;
}

int
tsw_portsec_add_addr(struct tsw_portsec *ps, const char *text, int mi, char *why, size_t whylen)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	uint8_t a6[16];
	uint32_t a4;
	long len = -1;

	if (n == 0 || n >= sizeof(buf)) {
		snprintf(why, whylen, "'%.64s' is not an IP address or prefix", text);
		return -1;
	}
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (slash != NULL) {
		char *end;
		len = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || len < 0) {
			snprintf(why, whylen, "'%.64s' has a bad prefix length", text);
			return -1;
		}
	}
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		struct tsw_portsec_v4 *v;
		if (len > 32) {
			snprintf(why, whylen, "'%.64s': prefix length above 32", text);
			return -1;
		}
		if (ps->n_v4 == TSW_PORTSEC_MAX_PAIRS) {
			snprintf(why, whylen, "more than %d IPv4 pairs", TSW_PORTSEC_MAX_PAIRS);
			return -1;
		}
		v = &ps->v4[ps->n_v4++];
		v->mask = len < 0 || len == 32 ? UINT32_MAX
			  : len == 0 ? 0 : htonl(UINT32_MAX << (32 - len));
		v->addr = a4 & v->mask;
		v->mac = (uint8_t)mi;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a6) == 1) {
		struct tsw_portsec_v6 *v;
		if (len > 128) {
			snprintf(why, whylen, "'%.64s': prefix length above 128", text);
			return -1;
		}
		if (ps->n_v6 == TSW_PORTSEC_MAX_PAIRS) {
			snprintf(why, whylen, "more than %d IPv6 pairs", TSW_PORTSEC_MAX_PAIRS);
			return -1;
		}
		v = &ps->v6[ps->n_v6++];
		v->len = (uint8_t)(len < 0 ? 128 : len);
		memset(v->addr, 0, sizeof(v->addr));
		for (int bit = 0; bit < v->len; bit++)      /* host bits cleared */
			v->addr[bit / 8] |= a6[bit / 8] & (uint8_t)(0x80 >> (bit % 8));
		v->mac = (uint8_t)mi;
		return 0;
	}
	snprintf(why, whylen, "'%.64s' is neither an IPv4 nor an IPv6 address", text);
	return -1;
}

int
tsw_portsec_init(struct tsw_portsec *ps, const struct rte_ether_addr *mac, char *why,
		 size_t whylen)
{
	memset(ps, 0, sizeof(*ps));
	if (!rte_is_unicast_ether_addr(mac) || rte_is_zero_ether_addr(mac)) {
		snprintf(why, whylen, "not a unicast MAC");
		return -1;
	}
	tsw_portsec_add_mac(ps, mac);
	return 0;
}

/* One comma-separated list item, trimmed, into buf; returns the rest. */
static const char *
next_item(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	while (*s != '\0' && *s != ',') {
		if (n + 1 < len)
			buf[n++] = *s;
		s++;
	}
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	return *s == ',' ? s + 1 : NULL;
}

int
tsw_portsec_from_text(const struct rte_ether_addr *mac, const char *ips, const char *pairs,
		      struct tsw_portsec *ps, char *why, size_t whylen)
{
	char item[96];
	const char *s;

	if (tsw_portsec_init(ps, mac, why, whylen) < 0)
		return -1;
	for (s = ips; s != NULL && *s != '\0';) {
		s = next_item(s, item, sizeof(item));
		if (item[0] == '\0' || strchr(item, '/') != NULL) {
			snprintf(why, whylen, "'%s' is not an IP address", item);
			return -1;
		}
		if (tsw_portsec_add_addr(ps, item, 0, why, whylen) < 0)
			return -1;
	}
	for (s = pairs; s != NULL && *s != '\0';) {
		struct rte_ether_addr pm = *mac;
		char *at;
		int mi;
		s = next_item(s, item, sizeof(item));
		at = strchr(item, '@');
		if (at != NULL) {
			const char *mwhy;
			*at = '\0';
			if (tsw_parse_mac(at + 1, &pm, &mwhy) < 0 || !rte_is_unicast_ether_addr(&pm) ||
			    rte_is_zero_ether_addr(&pm)) {
				snprintf(why, whylen, "'%s' is not a unicast MAC", at + 1);
				return -1;
			}
		}
		mi = tsw_portsec_add_mac(ps, &pm);
		if (mi < 0) {
			snprintf(why, whylen, "more than %d MACs", TSW_PORTSEC_MAX_MACS);
			return -1;
		}
		if (tsw_portsec_add_addr(ps, item, mi, why, whylen) < 0)
			return -1;
	}
	return 0;
}
