/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw-bench: cycles per packet and Mpps of tunsw's forwarding paths on one
 * worker core, beside the cost of plain I/O forwarding on the same devices,
 * measured in the same run.
 *
 *   tunsw-bench [EAL options] -- [--quick] [--json FILE] [--only TEXT[$][|TEXT[$]...]]
 *               [--harness vhost|ring] [--macs N] [--tunnels N] [--bytes N]
 *               [--window S] [--no-baseline] [--no-components] [--sg-passes N]
 *
 * Two lcores: the measured worker (the daemon's own worker loop,
 * app/tunsw/workers.c) and a generator lcore that feeds the input port
 * (a virtio-user guest of tunsw's vhost-user port, or a net_ring's RX ring)
 * with prepared frames, takes back what comes out, and runs the management
 * work (learn events, ageing) as the daemon's management lcore would. The
 * worker accounts busy and idle TSC cycles itself (like OVS pmd-stats-show):
 * cycles per packet = busy cycles / packets received over a steady window.
 * Each path is measured in pairs of windows, its I/O-forwarding baseline
 * on the same devices and then the path, and reported as medians.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_udp.h>

#include "tsw_dp.h"
#include "tsw_ethdev.h"
#include "tsw_vhost.h"
#include "tsw_mgmt.h"
#include "tsw_pipeline.h"
#include "tsw_portsec.h"
#include "tsw_sg.h"
#include "../tunsw/workers.h"

#define N_RINGS 3              /* uplink, vm1, vm2 */
#define RING_SZ 4096
#define INFLIGHT 2048
#define LOCAL_IP RTE_IPV4(198, 18, 0, 1)

enum path { P_VM_VXLAN, P_VM_GRE, P_TUN_VM, P_VM_VM, P_BCAST8, P_ARP, P_IOFWD, P_IOFWD_UP,
	    P_IOFWD_VM, P_VM_VXLAN_1SRC, P_VM_VXLAN_PS, P_VM_VXLAN_SG, P_VM_VXLAN_SGL,
	    P_TUN_VM_SG, P_VM_VLAN, P_VLAN_VM };
static const char *const path_names[] = {
	"vm->tunnel vxlan", "vm->tunnel gre", "tunnel->vm vxlan (decap+learn)", "vm->vm local",
	"vm broadcast -> 8 tunnels", "arp responder", "io forwarding vm->uplink",
	"io forwarding uplink->vm", "io forwarding vm->vm",
	"vm->tunnel vxlan, one VM source", "vm->tunnel vxlan, port security",
	"vm->tunnel vxlan, security groups", "vm->tunnel vxlan, stateless group",
	"tunnel->vm vxlan, security groups",
	"vm->vlan provider (tag)", "vlan provider->vm (untag+learn)",
};

/* The port security path's policy, as Neutron gives it: the port's MAC and
 * fixed IPs, a few allowed pairs; the frames' sources match the last IPv4
 * entry (the longest walk a passing frame makes). */
#define PS_IPS   "10.0.0.1, fd00::1"
#define PS_PAIRS "10.9.1.0/24, 10.9.2.0/24, 10.9.3.7@fa:16:3e:00:00:99, 10.0.0.0/23"

/* One VM's frames (one MAC, addresses of 10.0.0.0/23): what a port with
 * port security sends; the same frames with and without a policy. */
static bool
one_source(enum path p)
{
	return p == P_VM_VXLAN_1SRC || p == P_VM_VXLAN_PS || p == P_VM_VXLAN_SG ||
	       p == P_VM_VXLAN_SGL;
}

/* The security groups' paths: the port security path's policy and frames
 * (64 K distinct UDP flows, one connection each), and the rules of
 * Neutron's default group (egress anywhere, ingress from the group's own
 * members) with a web group's (SSH, HTTP, HTTPS, ICMP from anywhere). */
static bool
with_groups(enum path p)
{
	return p == P_VM_VXLAN_SG || p == P_VM_VXLAN_SGL || p == P_TUN_VM_SG;
}

/* A bench rule: ICMP type -1 any; remote prefix net.0.0.0/len, len 0 any. */
struct bench_rule {
	uint8_t dir;
	bool v6;
	int16_t proto;
	uint16_t pmin, pmax;
	int16_t rgroup, icmp_type;
	uint8_t net, len;
};

static struct tsw_sg_ruleset *
bench_rules_build(const struct bench_rule *r, uint32_t n, bool stateful)
{
	struct tsw_sg_rule rules[32];
	char why[128];
	struct tsw_sg_ruleset *rs;

	RTE_VERIFY(n <= RTE_DIM(rules));
	memset(rules, 0, sizeof(rules));
	for (uint32_t i = 0; i < n; i++) {
		rules[i].dir = r[i].dir;
		rules[i].v6 = r[i].v6;
		rules[i].proto = r[i].proto;
		rules[i].pmin = r[i].pmin;
		rules[i].pmax = r[i].pmax;
		rules[i].icmp_type = r[i].icmp_type;
		rules[i].icmp_code = -1;
		rules[i].rgroup = r[i].rgroup;
		rules[i].remote[0] = r[i].net;
		rules[i].remote_len = r[i].len;
		rules[i].ref.rule = (uint16_t)i;
	}
	rs = tsw_sg_ruleset_build(rules, n, stateful, 1, (int)rte_socket_id(), why, sizeof(why));
	if (rs == NULL)
		fprintf(stderr, "tunsw-bench: security groups: %s\n", why);
	return rs;
}

static struct tsw_sg_ruleset *
bench_ruleset(bool stateful)
{
	static const struct bench_rule r[] = {
		{ TSW_SG_EGRESS, false, -1, 0, 65535, -1, -1, 0, 0 },
		{ TSW_SG_EGRESS, true, -1, 0, 65535, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, -1, 0, 65535, 0, -1, 0, 0 },
		{ TSW_SG_INGRESS, true, -1, 0, 65535, 0, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 6, 22, 22, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 6, 80, 80, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 6, 443, 443, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 1, 0, 65535, -1, -1, 0, 0 },
		/* from 10.0.0.0/16: the tunnel->vm path's sources */
		{ TSW_SG_INGRESS, false, 17, 5001, 5001, -1, -1, 10, 16 },
	};

	return bench_rules_build(r, RTE_DIM(r), stateful);
}

/* A realistic port's groups (the benchmark): Neutron's default
 * group, and a service group of 16 rules, three of them naming a remote
 * group of 500 members (an application tier: the sources of the tunnel->vm
 * path's flows are among them), one ICMP type, prefixes, port ranges. */
#define RG_MEMBERS 500
static struct tsw_sg_ruleset *
bench_ruleset20(void)
{
	static const struct bench_rule r[] = {
		{ TSW_SG_EGRESS, false, -1, 0, 65535, -1, -1, 0, 0 },
		{ TSW_SG_EGRESS, true, -1, 0, 65535, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, -1, 0, 65535, 0, -1, 0, 0 },
		{ TSW_SG_INGRESS, true, -1, 0, 65535, 0, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 6, 22, 22, -1, -1, 10, 8 },
		{ TSW_SG_INGRESS, false, 6, 80, 80, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 6, 443, 443, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 6, 8080, 8090, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 17, 53, 53, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 17, 123, 123, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 1, 0, 65535, -1, 8, 0, 0 },
		{ TSW_SG_INGRESS, false, 1, 0, 65535, -1, -1, 192, 16 },
		{ TSW_SG_INGRESS, false, 6, 3306, 3306, 1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 6, 5432, 5432, 1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 17, 5001, 5001, 1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 6, 6379, 6379, -1, -1, 11, 16 },
		{ TSW_SG_INGRESS, false, 6, 9000, 9100, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, true, 6, 22, 22, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, true, 58, 0, 65535, -1, -1, 0, 0 },
		{ TSW_SG_INGRESS, false, 17, 161, 161, -1, -1, 12, 16 },
	};

	return bench_rules_build(r, RTE_DIM(r), true);
}

/* Group 1's members: 10.0.0.1 on (the flows' sources, 10.0.0.1-10.0.1.0,
 * among them); group 0's: the VM's own address. */
static int
bench_members(struct tsw_dp *dp)
{
	uint8_t a[16] = { 10, 0, 0, 1 };

	if (tsw_dp_sg_member_set(dp, 0, false, a, 32, true) < 0)
		return -1;
	for (uint32_t i = 0; i < RG_MEMBERS; i++) {
		uint32_t v = RTE_IPV4(10, 0, 0, 1) + i;
		a[0] = (uint8_t)(v >> 24); a[1] = (uint8_t)(v >> 16);
		a[2] = (uint8_t)(v >> 8); a[3] = (uint8_t)v;
		if (tsw_dp_sg_member_set(dp, 1, false, a, 32, true) < 0)
			return -1;
	}
	return 0;
}

static struct tsw_sg_ruleset *bench_rs;   /* the current tables' (freed with them) */

/* Milliseconds to build a rule set of n rules (both directions, IPv4 and
 * IPv6, TCP and UDP port ranges from distinct /24 and /64 prefixes, a
 * quarter naming one of 8 remote groups): what a security_group_set or a
 * port's groups cost the thread that builds. */
static double
ruleset_build_ms(uint32_t n)
{
	struct tsw_sg_rule *rules = calloc(n, sizeof(*rules));
	struct tsw_sg_ruleset *rs;
	char why[128];
	uint64_t t;

	if (rules == NULL)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct tsw_sg_rule *r = &rules[i];
		r->dir = (uint8_t)(i & 1);
		r->v6 = (i & 2) != 0;
		r->proto = (i & 4) ? 17 : 6;
		r->pmin = (uint16_t)(1000 + 10 * i);
		r->pmax = (uint16_t)(r->pmin + (i % 7));
		r->icmp_type = r->icmp_code = -1;
		r->rgroup = (i % 4 == 0) ? (int16_t)(i / 4 % 8) : -1;
		if (r->rgroup < 0) {
			r->remote[0] = r->v6 ? 0xfd : 10;
			r->remote[1] = (uint8_t)(i >> 8);
			r->remote[2] = (uint8_t)i;
			r->remote_len = r->v6 ? 64 : 24;
		}
		r->ref.rule = (uint16_t)i;
	}
	t = rte_rdtsc();
	rs = tsw_sg_ruleset_build(rules, n, true, 1, (int)rte_socket_id(), why, sizeof(why));
	t = rte_rdtsc() - t;
	free(rules);
	if (rs == NULL) {
		fprintf(stderr, "tunsw-bench: rule set of %u: %s\n", n, why);
		return -1;
	}
	tsw_sg_ruleset_free(rs);
	return (double)t * 1000.0 / (double)rte_get_tsc_hz();
}

struct scenario {
	enum path path;
	uint32_t macs;          /* FDB entries the flows spread over */
	uint32_t tunnels;
	uint16_t frame_len;     /* inner frame length (bytes, no FCS) */
	uint32_t flows;         /* distinct UDP flows (connections); 0: 65 536 */
	bool realistic;         /* security groups: 20 rules, a 500-member remote group */
	bool fresh;             /* every frame a new connection (short window, no warm-up) */
};

#define DEFAULT_FLOWS 65536u

/* A path's baseline: I/O forwarding in the same direction. */
static bool
from_uplink(enum path p)
{
	return p == P_TUN_VM || p == P_IOFWD_UP || p == P_TUN_VM_SG || p == P_VLAN_VM;
}

static bool
is_baseline(enum path p)
{
	return p == P_IOFWD || p == P_IOFWD_UP || p == P_IOFWD_VM;
}

/* A path's baseline: I/O forwarding between the same kinds of devices, in
 * the same direction, with the same frames (the ARP responder's replies
 * and vm->vm frames leave on a vhost-user port, as io vm->vm's do). */
static struct scenario
baseline_of(const struct scenario *s)
{
	struct scenario b = *s;

	b.path = from_uplink(s->path) ? P_IOFWD_UP
		 : s->path == P_VM_VM || s->path == P_ARP ? P_IOFWD_VM : P_IOFWD;
	return b;
}


struct dev {
	uint16_t port;            /* what the measured worker polls / sends on */
	struct rte_ring *rx, *tx; /* ring harness: the port's rings */
	bool vhost;               /* vhost harness: a vhost-user net_vhost port (the io
				   * baseline's) ... */
	uint16_t gen;             /* ... whose guest is a virtio-user port of the generator */
	struct tsw_vhost *vh;     /* ...and tunsw's: a port on the vhost library ... */
	uint16_t vgen;            /* ... whose guest is another virtio-user port */
};

static struct rte_mempool *pool;
static struct dev devs[N_RINGS];         /* 0 uplink, 1 vm1, 2 vm2 */
static volatile bool io_quit;
static struct tsw_counters io_cnt;      /* the baseline loop's accounting */
static bool lib_ports;                  /* this run: tunsw on the vhost library's ports */

/* The generator's guest of device d in this run. */
static uint16_t
guest_of(int d)
{
	return lib_ports ? devs[d].vgen : devs[d].gen;
}

/* ---- frames ---------------------------------------------------------------- */

static void
mac_of(uint8_t *m, uint32_t prefix, uint32_t i)
{
	m[0] = 0xfa; m[1] = 0x16; m[2] = (uint8_t)prefix;
	m[3] = (uint8_t)(i >> 16); m[4] = (uint8_t)(i >> 8); m[5] = (uint8_t)i;
}

#define VM1_MAC_PREFIX 0x01
#define VM2_MAC_PREFIX 0x02
#define REMOTE_MAC_PREFIX 0x3e

/* Inner Ethernet+IPv4+UDP, dst MAC index di, src MAC index si, flow f. */
static uint16_t
build_inner(uint8_t *p, uint16_t len, uint32_t dprefix, uint32_t di, uint32_t sprefix,
	    uint32_t si, uint32_t f)
{
	/* the IP header built and summed aside, then copied: summing it in
	 * the frame would read back the line being written (a miss) */
	struct rte_ipv4_hdr ip = { 0 };
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(p + 14 + sizeof(ip));

	if (dprefix == 0xff)
		memset(p, 0xff, 6);
	else
		mac_of(p, dprefix, di);
	mac_of(p + 6, sprefix, si);
	p[12] = 0x08; p[13] = 0x00;
	ip.version_ihl = 0x45;
	ip.total_length = htons((uint16_t)(len - 14));
	ip.time_to_live = 64;
	ip.next_proto_id = IPPROTO_UDP;
	ip.src_addr = htonl(RTE_IPV4(10, 0, 0, 1) + (f & 0xff));
	/* (f & 0x3fff, f >> 8): 2^20 distinct flows */
	ip.dst_addr = htonl(RTE_IPV4(10, 0, 1, 1) + ((f >> 8) & 0xfff));
	ip.hdr_checksum = rte_ipv4_cksum(&ip);
	memcpy(p + 14, &ip, sizeof(ip));
	udp->src_port = htons((uint16_t)(1024 + (f & 0x3fff)));
	udp->dst_port = htons(5001);
	udp->dgram_len = htons((uint16_t)(len - 34));
	udp->dgram_cksum = 0;
	return len;
}

static uint16_t
build_arp(uint8_t *p, uint32_t target_i)
{
	memset(p, 0xff, 6);
	mac_of(p + 6, VM1_MAC_PREFIX, 1);
	p[12] = 0x08; p[13] = 0x06;
	static const uint8_t hdr[] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	memcpy(p + 14, hdr, sizeof(hdr));
	mac_of(p + 22, VM1_MAC_PREFIX, 1);
	uint32_t spa = htonl(RTE_IPV4(10, 0, 0, 1)), tpa = htonl(RTE_IPV4(10, 1, 0, 0) + target_i);
	memcpy(p + 28, &spa, 4);
	memset(p + 32, 0, 6);
	memcpy(p + 38, &tpa, 4);
	memset(p + 42, 0, 18);
	return 60;
}

/* Outer VXLAN from remote tunnel t around an inner frame at p + 50. */
static void
build_vxlan_outer(uint8_t *p, uint32_t t, uint16_t inner_len, uint32_t vni)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *vx = (uint8_t *)(udp + 1);

	mac_of(p, 0x00, 1);           /* uplink MAC fa:16:00:00:00:01 */
	mac_of(p + 6, 0x99, t);
	p[12] = 0x08; p[13] = 0x00;
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = htons((uint16_t)(inner_len + 36));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = htonl(RTE_IPV4(198, 18, 0, 0) + 2 + t);
	ip->dst_addr = htonl(LOCAL_IP);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = htons((uint16_t)(49152 + (t & 0x3fff)));
	udp->dst_port = htons(4789);
	udp->dgram_len = htons((uint16_t)(inner_len + 16));
	udp->dgram_cksum = 0;
	memset(vx, 0, 8);
	vx[0] = 0x08;
	vx[4] = (uint8_t)(vni >> 16); vx[5] = (uint8_t)(vni >> 8); vx[6] = (uint8_t)vni;
}

/* Prepare m as the k-th frame of scenario s; returns the input device. */
static int
prepare(struct rte_mbuf *m, const struct scenario *s, uint64_t k)
{
	uint16_t len = s->frame_len;
	uint8_t *p;
	uint32_t di = (uint32_t)((k * 2654435761u) % s->macs);   /* spread over all MACs */
	uint32_t f = (uint32_t)(k % (s->flows ? s->flows : DEFAULT_FLOWS));

	rte_pktmbuf_reset(m);
	switch (s->path) {
	case P_TUN_VM:
	case P_TUN_VM_SG:
	case P_IOFWD_UP:
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(len + 50));
		build_vxlan_outer(p, di % s->tunnels, len, 1001);
		build_inner(p + 50, len, VM1_MAC_PREFIX, 1, REMOTE_MAC_PREFIX, di, f);
		return 0;
	case P_VLAN_VM:
		/* VLAN 100 on the uplink (the physical network's device): to
		 * VM1, from the MACs behind it */
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(len + 4));
		build_inner(p + 4, len, VM1_MAC_PREFIX, 1, REMOTE_MAC_PREFIX, di, f);
		mac_of(p, VM1_MAC_PREFIX, 1);             /* the MACs again, then the tag */
		mac_of(p + 6, REMOTE_MAC_PREFIX, di);
		p[12] = 0x81; p[13] = 0x00; p[14] = 0x00; p[15] = 100;
		return 0;
	case P_ARP:
		p = (uint8_t *)rte_pktmbuf_append(m, 60);
		build_arp(p, di);
		return 1;
	case P_BCAST8:
		p = (uint8_t *)rte_pktmbuf_append(m, len);
		build_inner(p, len, 0xff, 0, VM1_MAC_PREFIX, (uint32_t)(k & 63), f);
		return 1;
	case P_VM_VM:
	case P_IOFWD_VM:
		p = (uint8_t *)rte_pktmbuf_append(m, len);
		build_inner(p, len, VM2_MAC_PREFIX, di % 64, VM1_MAC_PREFIX, (uint32_t)(k & 63), f);
		return 1;
	default:
		p = (uint8_t *)rte_pktmbuf_append(m, len);
		build_inner(p, len, REMOTE_MAC_PREFIX, di, VM1_MAC_PREFIX,
			    one_source(s->path) ? 1 : (uint32_t)(k & 63), f);
		return 1;
	}
}

/* The dataplane clock of the current run (the workers' own). */
static struct tsw_workers *clock_ws;

static uint64_t
ms_now(void)
{
	return clock_ws != NULL ? workers_now_ns(clock_ws) / TSW_NS_PER_MS : 0;
}

/* FEED new frames of scenario s (the k-th on) onto a ring (what is not
 * taken is freed), or sent on the generator's virtio-user port when ring is
 * NULL. Returns how many were taken.
 *
 * A guest whose TX ring is full keeps the frames it could not send and
 * sends them first next time (a Linux guest's stopped queue does) instead of
 * building and freeing a new burst on every attempt; it retries at once, as
 * testpmd's txonly engine does. (Pausing ~1 us after a refused burst, as
 * a guest waiting for its TX interrupt would, lowered the worker's cycles
 * per frame by 4-6 % here: the ring's used index bounces less.) */
#define FEED 32

static struct {
	struct rte_mbuf *b[FEED];
	unsigned int off, n;
} pending;

static void
feed_reset(void)
{
	rte_pktmbuf_free_bulk(pending.b + pending.off, pending.n);
	pending.off = pending.n = 0;
}

static unsigned int
feed(const struct scenario *s, uint64_t *k, struct rte_ring *ring, uint16_t port)
{
	struct rte_mbuf *b[FEED];
	unsigned int q;

	if (ring == NULL && pending.n > 0) {
		q = rte_eth_tx_burst(port, 0, pending.b + pending.off, (uint16_t)pending.n);
		pending.off += q;
		pending.n -= q;
		return q;
	}
	/* raw mbufs, their lines fetched together before any is written
	 * (prepare() resets each): the ones a cleanup returned long ago are
	 * cold, and the frame's lines were last read by the switch's core —
	 * one miss at a time was most of the generator's time (perf) */
	if (rte_mempool_get_bulk(pool, (void **)b, FEED) != 0)
		return 0;
	for (unsigned int j = 0; j < FEED; j++) {
		/* where the data is, without reading the (cold) mbuf */
		char *data = rte_mbuf_buf_addr(b[j], pool) + RTE_PKTMBUF_HEADROOM;

		rte_prefetch0_write(b[j]);
		rte_prefetch0_write((char *)b[j] + RTE_CACHE_LINE_SIZE);
		rte_prefetch0_write(data - RTE_CACHE_LINE_SIZE);  /* a virtio-net header */
		rte_prefetch0_write(data);
	}
	for (unsigned int j = 0; j < FEED; j++)
		prepare(b[j], s, (*k)++);
	if (ring != NULL) {
		q = rte_ring_sp_enqueue_burst(ring, (void **)b, FEED, NULL);
		if (q < FEED)
			rte_pktmbuf_free_bulk(b + q, FEED - q);
		return q;
	}
	q = rte_eth_tx_burst(port, 0, b, FEED);
	memcpy(pending.b, b, sizeof(b));
	pending.off = q;
	pending.n = FEED - q;
	return q;
}

/* One round of the generator: feed the path's input, take back every
 * output (ring outputs are prepared again and reused, vhost outputs freed). */
static void
gen_round(const struct scenario *s, int in, uint64_t *k)
{
	struct rte_mbuf *b[64];

	if (devs[in].vhost)
		feed(s, k, NULL, guest_of(in));
	for (int d = 0; d < N_RINGS; d++) {
		if (devs[d].vhost) {
			uint16_t n = rte_eth_rx_burst(guest_of(d), 0, b, 64);
			rte_pktmbuf_free_bulk(b, n);
			continue;
		}
		unsigned int n = rte_ring_sc_dequeue_burst(devs[d].tx, (void **)b, 64, NULL);
		unsigned int keep = devs[in].vhost ? 0 : RTE_MIN(n, rte_ring_free_count(devs[in].rx));

		for (unsigned int j = 0; j < keep; j++)
			prepare(b[j], s, (*k)++);
		if (keep > 0)
			keep = rte_ring_sp_enqueue_burst(devs[in].rx, (void **)b, keep, NULL);
		if (keep < n)
			rte_pktmbuf_free_bulk(b + keep, n - keep);
	}
	/* keep the ring input's population up when frames were consumed */
	if (!devs[in].vhost && rte_ring_count(devs[in].rx) < 256)
		feed(s, k, devs[in].rx, 0);
}

/* ---- the baseline: I/O forwarding on the same devices ----------------------- */

static int
io_forward(void *arg)
{
	const struct scenario *s = arg;
	struct rte_mbuf *b[TSW_BURST];
	uint64_t t_prev = rte_rdtsc();
	uint16_t in = devs[from_uplink(s->path) ? 0 : 1].port;
	uint16_t out = devs[from_uplink(s->path) ? 1 : s->path == P_IOFWD_VM ? 2 : 0].port;

	while (!io_quit) {
		uint16_t n = rte_eth_rx_burst(in, 0, b, TSW_BURST), sent = 0;
		if (n > 0) {
			sent = rte_eth_tx_burst(out, 0, b, n);
			if (sent < n)
				rte_pktmbuf_free_bulk(b + sent, n - sent);
		}
		uint64_t t = rte_rdtsc();
		if (n) {
			io_cnt.busy_cycles += t - t_prev;
			io_cnt.pkts += n;
		} else {
			io_cnt.idle_cycles += t - t_prev;
		}
		t_prev = t;
	}
	return 0;
}

/* ---- tables for a scenario ---------------------------------------------------- */

static struct tsw_dp *
build_tables(const struct scenario *s, struct rte_rcu_qsbr *qsbr)
{
	struct tsw_dp_conf dc = { 0 };
	struct tsw_dp *dp;
	struct rte_ether_addr m;
	int net;

	dc.l2_population = s->path == P_BCAST8;
	dc.arp_responder = s->path == P_ARP;
	dc.mac_ageing_s = dc.tunnel_learn_timeout_s = 300;
	dc.fdb_size = RTE_MAX(s->macs * 2 + 4096, 65536u);
	dc.max_connections = 1u << 20;
	mac_of(dc.encap.src_mac.addr_bytes, 0x00, 1);
	dc.encap.local_ip = htonl(LOCAL_IP);
	dc.encap.ttl = 64;
	dc.encap.dont_fragment = true;
	dc.encap.vxlan_port = 4789;
	dc.encap.mtu = 9000;
	dc.prefix_len = 8;
	dc.decap.local_ip = dc.encap.local_ip;
	dc.decap.vxlan_port_be = htons(4789);
	dc.decap.mac = dc.encap.src_mac;
	dc.decap.type_enabled[TSW_TUN_VXLAN] = dc.decap.type_enabled[TSW_TUN_GRE] = true;
	dp = tsw_dp_create(&dc, qsbr, RTE_QSBR_THRID_INVALID, (int)rte_socket_id());
	if (dp == NULL)
		return NULL;
	enum tsw_tun_type t = s->path == P_VM_GRE ? TSW_TUN_GRE : TSW_TUN_VXLAN;
	if (s->path == P_VM_VLAN || s->path == P_VLAN_VM) {
		/* a VLAN provider network on the uplink (R-V*): the MACs behind
		 * it learned (before the window, in measure()) */
		int ph = tsw_dp_physnet_add(dp, "physnet1", "uplink", TSW_OUT_UPLINK, 9000);
		net = ph < 0 ? ph : tsw_dp_net_add_provider(dp, "bench", (uint16_t)ph, 100);
	} else {
		net = tsw_dp_net_add(dp, "bench", t, 1001);
	}
	if (net < 0) {
		tsw_dp_free(dp);
		return NULL;
	}
	tsw_dp_port_add(dp, "vm1", devs[1].port, (uint16_t)net, NULL);
	if (s->path == P_VM_VM)
		tsw_dp_port_add(dp, "vm2", devs[2].port, (uint16_t)net, NULL);
	for (uint32_t i = 0; i < s->tunnels; i++) {
		uint32_t ip = htonl(RTE_IPV4(198, 18, 0, 0) + 2 + i);
		mac_of(m.addr_bytes, 0x99, i);
		tsw_dp_neighbor_set(dp, ip, &m, true);
		int ti = tsw_dp_tunnel_add(dp, t, ip, true);
		if (s->path == P_BCAST8)
			tsw_dp_flood_add(dp, (uint16_t)net, (uint16_t)ti);
	}
	/* FDB: remote MACs behind the tunnels (static, as l2population pushes) */
	if (s->path == P_VM_VXLAN || s->path == P_VM_GRE || s->path == P_ARP ||
	    one_source(s->path)) {
		for (uint32_t i = 0; i < s->macs; i++) {
			int ti;
			mac_of(m.addr_bytes, REMOTE_MAC_PREFIX, i);
			ti = tsw_dp_tunnel_find(dp, t, htonl(RTE_IPV4(198, 18, 0, 0) + 2 + i % s->tunnels));
			if (tsw_dp_fdb_static_add(dp, (uint16_t)net, &m, (uint16_t)ti) < 0)
				break;
			if (s->path == P_ARP)
				tsw_dp_arp_add(dp, (uint16_t)net, htonl(RTE_IPV4(10, 1, 0, 0) + i), &m);
		}
	}
	if (s->path == P_VM_VXLAN_PS || (with_groups(s->path) && s->path != P_TUN_VM_SG)) {
		struct tsw_portsec ps;
		char why[128];
		mac_of(m.addr_bytes, VM1_MAC_PREFIX, 1);
		if (tsw_portsec_from_text(&m, PS_IPS, PS_PAIRS, &ps, why, sizeof(why)) < 0 ||
		    tsw_dp_port_security_set(dp, 0, &ps) < 0) {
			fprintf(stderr, "tunsw-bench: port security: %s\n", why);
			tsw_dp_free(dp);
			return NULL;
		}
	}
	if (with_groups(s->path)) {
		bench_rs = s->realistic ? bench_ruleset20() : bench_ruleset(s->path != P_VM_VXLAN_SGL);
		if (bench_rs == NULL || (s->realistic && bench_members(dp) < 0) ||
		    tsw_dp_port_sg_set(dp, 0, bench_rs) < 0) {
			tsw_dp_free(dp);
			tsw_sg_ruleset_free(bench_rs);
			bench_rs = NULL;
			return NULL;
		}
	}
	return dp;
}

/* ---- one measurement ---------------------------------------------------------- */

struct result {
	double mpps, cpp, cpp_all, busy_pct;
	uint64_t drops;
	uint64_t ps_drops;        /* of them, by port security (R-S*) */
	uint64_t tx_full;         /* of them, refused by the output device */
	uint64_t ct_full;         /* of them, refused by a full connection table */
	uint64_t frames;          /* received by the worker, warm-up included */
	uint64_t sent;            /* taken by the output devices, the same */
};

static int
measure(const struct scenario *s, double warm_s, double win_s, struct result *r)
{
	struct rte_rcu_qsbr *qsbr = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), 64);
	struct tsw_workers ws;
	struct tsw_mgmt mg;
	struct tsw_dp *dp = NULL;
	unsigned int wl = rte_get_next_lcore(-1, 1, 0);
	uint64_t hz = rte_get_tsc_hz(), p0, b0, i0, t0;
	char err[128];
	const struct tsw_counters *c;

	memset(&io_cnt, 0, sizeof(io_cnt));
	io_quit = false;
	if (qsbr == NULL || rte_rcu_qsbr_init(qsbr, 1) != 0)
		return -1;
	if (!is_baseline(s->path)) {
		dp = build_tables(s, qsbr);
		if (dp == NULL || workers_create(&ws, 1, dp, qsbr, pool, 65536, devs[0].port, err,
						 sizeof(err)) < 0) {
			fprintf(stderr, "tunsw-bench: cannot set up: %s\n", dp ? err : "tables");
			return -1;
		}
		/* every device transmits on its one queue (a full vring drops at
		 * once, as the io baseline does, no retries); a vhost-user VM
		 * port is one on the vhost library, as in the daemon */
		lib_ports = devs[1].vh != NULL;
		tsw_vhost_set_qsbr(qsbr);
		for (int d = 0; d < N_RINGS; d++) {
			uint16_t out = d == 0 ? TSW_OUT_UPLINK
					      : (uint16_t)tsw_dp_port_find(dp, d == 1 ? "vm1" : "vm2");
			if (d > 0 && out >= TSW_MAX_PORTS)
				continue;
			if ((devs[d].vh != NULL ? tsw_txq_vhost_set(&ws.txq, out, devs[d].vh, 0)
						: tsw_txq_port_set(&ws.txq, out, devs[d].port, 1)) < 0) {
				fprintf(stderr, "tunsw-bench: cannot set up TX queues\n");
				return -1;
			}
		}
		workers_give(&ws, NULL, devs[0].port, 1, TSW_OUT_UPLINK);
		for (int d = 1; d <= (s->path == P_VM_VM ? 2 : 1); d++)
			workers_give(&ws, devs[d].vh, devs[d].port, 1,
				     (uint16_t)tsw_dp_port_find(dp, d == 1 ? "vm1" : "vm2"));
		tsw_mgmt_init(&mg, dp, &ws.wk[0].ring, 1);
		clock_ws = &ws;
		if (s->path == P_VM_VLAN) {
			/* the hosts behind the physical network are known */
			struct tsw_fdb_key k;
			struct rte_ether_addr m;
			for (uint32_t i = 0; i < s->macs; i++) {
				mac_of(m.addr_bytes, REMOTE_MAC_PREFIX, i);
				tsw_fdb_key_set(&k, 0, &m);
				tsw_fdb_learn(dp->fdb, &k, TSW_FDB_LOCAL, TSW_DEST_PHYS, ms_now());
			}
		}
		if (s->path == P_VM_VM || s->path == P_TUN_VM || s->path == P_TUN_VM_SG ||
		    s->path == P_VLAN_VM) {
			/* the VM MACs are known (learned before the window) */
			struct tsw_fdb_key k;
			struct rte_ether_addr m;
			for (uint32_t i = 0; i < 64; i++) {
				mac_of(m.addr_bytes, s->path == P_VM_VM ? VM2_MAC_PREFIX : VM1_MAC_PREFIX,
				       s->path == P_VM_VM ? i : 1);
				tsw_fdb_key_set(&k, 0, &m);
				tsw_fdb_learn(dp->fdb, &k, TSW_FDB_LOCAL,
					      tsw_dest_port((uint16_t)tsw_dp_port_find(dp, s->path == P_VM_VM
										     ? "vm2" : "vm1")),
					      ms_now());
			}
		}
		c = ws.wk[0].w->cnt;
		workers_launch(&ws);
	} else {
		c = &io_cnt;
		lib_ports = false;             /* io forwarding between net_vhost ports */
		rte_eal_remote_launch(io_forward, (void *)(uintptr_t)s, wl);
	}
	/* The generator runs on the main lcore: a fixed population of frames
	 * circulates (sent, forwarded, returned, prepared again); it also does
	 * the management lcore's work. Counters are sampled at the window's
	 * edges. */
	{
		uint64_t end_warm, end;
		bool sampled = false;

		end_warm = rte_rdtsc() + (uint64_t)(warm_s * (double)hz);
		end = end_warm + (uint64_t)(win_s * (double)hz);
		p0 = b0 = i0 = t0 = 0;
		{
			uint64_t k = 0, iter = 0;
			struct rte_mbuf *probe = rte_pktmbuf_alloc(pool);
			int in = prepare(probe, s, 0);   /* which device the path starts on */

			rte_pktmbuf_free(probe);
			/* a broadcast frame comes back as 8 */
			unsigned int fill = INFLIGHT / (s->path == P_BCAST8 ? 8 : 1);

			for (unsigned int i = 0; !devs[in].vhost && i < fill / FEED; i++)
				feed(s, &k, devs[in].rx, 0);
			for (;;) {
				uint64_t now = rte_rdtsc();
				if (!sampled && now >= end_warm) {
					p0 = c->pkts; b0 = c->busy_cycles; i0 = c->idle_cycles; t0 = now;
					sampled = true;
				}
				if (now >= end)
					break;
				gen_round(s, in, &k);
				if (dp != NULL && (++iter & 63) == 0)
					tsw_mgmt_poll(&mg, ms_now());
			}
		}
	}
	{
		uint64_t t1 = rte_rdtsc();
		uint64_t dp_ = c->pkts - p0, db = c->busy_cycles - b0, di = c->idle_cycles - i0;
		double secs = (double)(t1 - t0) / (double)hz;

		r->mpps = (double)dp_ / secs / 1e6;
		r->cpp = dp_ ? (double)db / (double)dp_ : 0;
		r->cpp_all = dp_ ? (double)(db + di) / (double)dp_ : 0;
		r->busy_pct = db + di ? 100.0 * (double)db / (double)(db + di) : 0;
		r->drops = dp != NULL ? tsw_counters_total_drops(c) : 0;
		r->tx_full = dp != NULL ? c->drop[TSW_DROP_tx_full] : 0;
		r->ct_full = dp != NULL ? c->drop[TSW_DROP_ct_full] : 0;
		r->frames = c->pkts;
		r->sent = 0;
		for (uint16_t o = 0; dp != NULL && o < TSW_N_OUTS; o++)
			r->sent += c->port[o].tx_pkts;
		r->ps_drops = 0;
		for (int d = TSW_DROP_ps_src_mac; dp != NULL && d <= TSW_DROP_ps_ipv6_chain; d++)
			r->ps_drops += c->drop[d];
		for (int d = 0; getenv("TSW_BENCH_DEBUG") && dp != NULL && d < TSW_DROP_MAX; d++)
			if (c->drop[d])
				fprintf(stderr, "  drop %s: %lu\n", tsw_drop_names[d], c->drop[d]);
	}
	if (dp != NULL) {
		workers_stop(&ws);
		tsw_txq_port_unset(&ws.txq, TSW_OUT_UPLINK);
		for (uint16_t o = 0; o < TSW_MAX_PORTS; o++)
			tsw_txq_port_unset(&ws.txq, o);
		workers_free(&ws);
		tsw_vhost_set_qsbr(NULL);
		clock_ws = NULL;
	} else {
		io_quit = true;
		rte_eal_wait_lcore(wl);
	}
	/* drain everything back to the pool */
	feed_reset();
	for (int d = 0; d < N_RINGS; d++) {
		struct rte_mbuf *b[64];
		for (int tries = 0; devs[d].vhost && tries < 100; tries++) {
			uint16_t n = rte_eth_rx_burst(devs[d].gen, 0, b, 64);
			rte_pktmbuf_free_bulk(b, n);
			n = rte_eth_rx_burst(devs[d].port, 0, b, 64);
			rte_pktmbuf_free_bulk(b, n);
			n = rte_eth_rx_burst(devs[d].vgen, 0, b, 64);
			rte_pktmbuf_free_bulk(b, n);
			n = tsw_vhost_rx(devs[d].vh, 0, b, 64);
			rte_pktmbuf_free_bulk(b, n);
		}
		tsw_pipeline_ring_drain(devs[d].rx);    /* NULL for vhost ports */
		tsw_pipeline_ring_drain(devs[d].tx);
	}
	tsw_dp_free(dp);
	tsw_sg_ruleset_free(bench_rs);
	bench_rs = NULL;
	rte_free(qsbr);
	return 0;
}

/* A vhost-user port for the worker and its guest, a virtio-user port of
 * the generator, connected through a socket in dir. */
static int
make_vhost(struct dev *d, int i, const char *dir)
{
	struct tsw_ethdev_conf ec = { .want_rxq = 1, .want_txq = 1, .promiscuous = true };
	struct tsw_ethdev host, guest, lguest;
	char args[256], err[256];

	snprintf(args, sizeof(args), "net_vhost%d,iface=%s/bench-vm%d.sock,queues=1", i, dir, i);
	if (tsw_ethdev_open(args, &ec, pool, &host, err, sizeof(err)) < 0) {
		fprintf(stderr, "tunsw-bench: %s\n", err);
		return -1;
	}
	snprintf(args, sizeof(args), "virtio_user%d,path=%s/bench-vm%d.sock,queues=1,queue_size=1024",
		 i, dir, i);
	if (tsw_ethdev_open(args, &ec, pool, &guest, err, sizeof(err)) < 0) {
		fprintf(stderr, "tunsw-bench: %s\n", err);
		return -1;
	}
	/* tunsw's own: a port on the vhost library, with its guest */
	d->vh = rte_zmalloc("bench_vhost", sizeof(*d->vh), RTE_CACHE_LINE_SIZE);
	snprintf(args, sizeof(args), "net_vhost_lib%d,iface=%s/bench-lib%d.sock,queues=1", i, dir,
		 i);
	if (d->vh == NULL || tsw_vhost_open(args, pool, d->vh, err, sizeof(err)) < 0) {
		fprintf(stderr, "tunsw-bench: %s\n", d->vh ? err : "out of memory");
		return -1;
	}
	snprintf(args, sizeof(args), "virtio_user%d,path=%s/bench-lib%d.sock,queues=1,queue_size=1024",
		 i + 10, dir, i);
	if (tsw_ethdev_open(args, &ec, pool, &lguest, err, sizeof(err)) < 0) {
		fprintf(stderr, "tunsw-bench: %s\n", err);
		return -1;
	}
	for (int t = 0; t < 500; t++) {
		struct rte_eth_link l;
		if (rte_eth_link_get_nowait(host.port_id, &l) == 0 && l.link_status &&
		    __atomic_load_n(&d->vh->vid, __ATOMIC_ACQUIRE) >= 0 &&
		    (__atomic_load_n(&d->vh->rx_on, __ATOMIC_ACQUIRE) & 1) &&
		    (__atomic_load_n(&d->vh->tx_on, __ATOMIC_ACQUIRE) & 1))
			break;
		rte_delay_ms(10);
	}
	d->port = host.port_id;
	d->gen = guest.port_id;
	d->vgen = lguest.port_id;
	d->vhost = true;
	return 0;
}

static int
make_devs(bool vhost, const char *dir)
{
	static const char *const names[N_RINGS] = { "uplink", "vm1", "vm2" };

	for (int i = 0; i < N_RINGS; i++) {
		char n[32];
		struct rte_eth_conf conf = { 0 };

		if (vhost && i > 0) {
			if (make_vhost(&devs[i], i, dir) < 0)
				return -1;
			continue;
		}
		snprintf(n, sizeof(n), "rx_%s", names[i]);
		devs[i].rx = rte_ring_create(n, RING_SZ, (int)rte_socket_id(),
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(n, sizeof(n), "tx_%s", names[i]);
		devs[i].tx = rte_ring_create(n, RING_SZ, (int)rte_socket_id(),
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (devs[i].rx == NULL || devs[i].tx == NULL)
			return -1;
		int p = rte_eth_from_rings(names[i], &devs[i].rx, 1, &devs[i].tx, 1,
					   (unsigned int)rte_socket_id());
		if (p < 0)
			return -1;
		devs[i].port = (uint16_t)p;
		if (rte_eth_dev_configure(devs[i].port, 1, 1, &conf) < 0 ||
		    rte_eth_rx_queue_setup(devs[i].port, 0, 1024, (unsigned int)rte_socket_id(), NULL,
					   pool) < 0 ||
		    rte_eth_tx_queue_setup(devs[i].port, 0, 1024, (unsigned int)rte_socket_id(),
					   NULL) < 0 ||
		    rte_eth_dev_start(devs[i].port) < 0)
			return -1;
	}
	return 0;
}

/* Feed another switch (e.g. OVS-DPDK as a vhost-user client of sock) the
 * vm->tunnel traffic of the main table (64 K destination MACs, 64-byte
 * frames) for secs seconds, or with one_vm the security groups' paths'
 * (one VM: its MAC, sources in 10.0.0.0/23, 64 K UDP flows); report what
 * was sent. */
static int
generator_only(const char *sock, double secs, uint32_t macs, bool one_vm)
{
	struct tsw_ethdev_conf ec = { .want_rxq = 1, .want_txq = 1, .promiscuous = true };
	struct tsw_ethdev g;
	struct scenario s = { one_vm ? P_VM_VXLAN_SG : P_VM_VXLAN, macs, 64, 64 };
	char args[256], err[256];
	struct rte_mbuf *b[64];
	uint64_t k = 0, sent = 0, hz = rte_get_tsc_hz(), t0, end;

	pool = rte_pktmbuf_pool_create("bench", 65535, 512, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	snprintf(args, sizeof(args), "virtio_user0,path=%s,server=1,queues=1,queue_size=1024", sock);
	if (pool == NULL || tsw_ethdev_open(args, &ec, pool, &g, err, sizeof(err)) < 0) {
		fprintf(stderr, "tunsw-bench: %s\n", pool ? err : "no mempool");
		return 1;
	}
	printf("generator: waiting for the switch on %s\n", sock);
	fflush(stdout);
	for (int t = 0; t < 3000; t++) {
		struct rte_eth_link l;
		if (rte_eth_link_get_nowait(g.port_id, &l) == 0 && l.link_status)
			break;
		rte_delay_ms(10);
	}
	t0 = rte_rdtsc();
	end = t0 + (uint64_t)(secs * (double)hz);
	while (rte_rdtsc() < end) {
		uint16_t n = rte_eth_rx_burst(g.port_id, 0, b, 64);
		rte_pktmbuf_free_bulk(b, n);
		sent += feed(&s, &k, NULL, g.port_id);
	}
	feed_reset();
	printf("generator: sent %lu frames in %.1f s (%.2f Mpps)\n", sent,
	       (double)(rte_rdtsc() - t0) / (double)hz,
	       (double)sent / ((double)(rte_rdtsc() - t0) / (double)hz) / 1e6);
	tsw_ethdev_close(&g);
	rte_eal_cleanup();
	return 0;
}

/* ---- the machine's memory, as tables see it ------------------------------------ */

/* Dependent loads (each address read from the line before) over 64 K
 * cache lines in a random cycle: packed into 4 MB, then one line in every
 * 32 spread over 128 MB (as the live lines of a table sized for far more
 * entries than it holds). The same lines either way; what differs is how
 * many pages and neighbouring lines they bring along: on a machine whose
 * caches (or TLBs) hold the first and not the second, a table's entry
 * costs a trip to DRAM. Cycles per load, on the worker lcore. */
#define MEM_LINES 65536u
struct mem_arg {
	double packed, spread;
};

static double
mem_chase(uint8_t *base, size_t stride_lines)
{
	uint64_t *order = malloc(MEM_LINES * sizeof(*order)), p, t;
	const unsigned int loads = 1u << 20;

	if (order == NULL)
		return -1;
	for (uint32_t i = 0; i < MEM_LINES; i++)
		order[i] = ((uint64_t)i * stride_lines + rte_rand_max(stride_lines)) * 64;
	for (uint32_t i = MEM_LINES - 1; i > 0; i--) {       /* one random cycle */
		uint32_t j = (uint32_t)rte_rand_max(i + 1);
		uint64_t x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (uint32_t i = 0; i < MEM_LINES; i++)
		memcpy(base + order[i], &order[(i + 1) % MEM_LINES], sizeof(uint64_t));
	p = order[0];
	free(order);
	for (unsigned int i = 0; i < MEM_LINES; i++)          /* once round: warm */
		memcpy(&p, base + p, sizeof(p));
	t = rte_rdtsc();
	for (unsigned int i = 0; i < loads; i++)
		memcpy(&p, base + p, sizeof(p));
	t = rte_rdtsc() - t;
	return p == UINT64_MAX ? -1 : (double)t / loads;
}

static int
mem_run(void *arg)
{
	struct mem_arg *a = arg;
	const size_t spread = 32;          /* lines: 64 K of them in 128 MB */
	uint8_t *base = rte_zmalloc("bench-mem", MEM_LINES * spread * 64, RTE_CACHE_LINE_SIZE);

	a->packed = a->spread = -1;
	if (base == NULL)
		return 0;
	a->packed = mem_chase(base, 1);
	a->spread = mem_chase(base, spread);
	rte_free(base);
	return 0;
}

/* ---- components: what single steps cost on the worker core -------------------- */

struct component_arg {
	const struct scenario *s;
	struct tsw_dp *dp;
	double lookup, encap, hash;   /* cycles per frame */
	double portsec;               /* the port security check of a VM's frame */
	double sg_new, sg_est;        /* security groups: a new connection, an established one */
	double sg_est_1k;             /* ...an established one of 1 K, their lines in cache */
	double sg_est_1k_best;        /* ...the same, the quickest pass over the 1 K */
	uint32_t ct_held, ct_size;    /* connections made before the first refusal, of */
};

#define COMP_ROUNDS 20000
/* --sg-passes N: the security groups' filter over 1 K in-cache connections
 * N more times (its profile under perf without the other components') */
static uint32_t sg_more_passes;

/* On the worker lcore: the FDB bulk lookup of bursts of 32 destination keys
 * spread over all MACs (as the paths' traffic), VXLAN encapsulation of 32
 * frames already in cache (undone after each round), and the inner flow
 * hash alone. No devices, no other work: the floor each step puts under
 * a path's cycles. */
static int
components_run(void *arg)
{
	struct component_arg *a = arg;
	struct tsw_fdb_key keys[TSW_BURST];
	const struct tsw_fdb_key *kp[TSW_BURST];
	tsw_fdb_entry_t ent[TSW_BURST];
	struct rte_mbuf *m[TSW_BURST];
	const struct tsw_encap_hdr *h;
	uint64_t t, spent = 0, sink = 0, n = 0;

	/* each round's keys built outside the timed lookup */
	for (uint32_t r = 0; r < COMP_ROUNDS; r++) {
		for (int j = 0; j < TSW_BURST; j++, n++) {
			struct rte_ether_addr mac;
			mac_of(mac.addr_bytes, REMOTE_MAC_PREFIX,
			       (uint32_t)((n * 2654435761u) % a->s->macs));
			tsw_fdb_key_set(&keys[j], 0, &mac);
			kp[j] = &keys[j];
		}
		t = rte_rdtsc();
		tsw_fdb_lookup_bulk(a->dp->fdb, kp, TSW_BURST, 1, ent);
		spent += rte_rdtsc() - t;
		sink += ent[r % TSW_BURST];
	}
	a->lookup = (double)spent / (COMP_ROUNDS * TSW_BURST);
	if (rte_pktmbuf_alloc_bulk(pool, m, TSW_BURST) != 0)
		return -1;
	for (int j = 0; j < TSW_BURST; j++)
		prepare(m[j], a->s, (uint64_t)j);
	h = tsw_dp_tunnel_hdr(a->dp, TSW_TUN_VXLAN, 0);
	t = rte_rdtsc();
	for (uint32_t r = 0; r < COMP_ROUNDS && h != NULL; r++)
		for (int j = 0; j < TSW_BURST; j++) {
			sink += tsw_encap(m[j], h, 1001, (uint16_t)r);
			rte_pktmbuf_adj(m[j], TSW_VXLAN_HDR_LEN);
		}
	a->encap = (double)(rte_rdtsc() - t) / (COMP_ROUNDS * TSW_BURST);
	t = rte_rdtsc();
	for (uint32_t r = 0; r < COMP_ROUNDS; r++)
		for (int j = 0; j < TSW_BURST; j++)
			sink += tsw_inner_flow_hash(m[j]);
	a->hash = (double)(rte_rdtsc() - t) / (COMP_ROUNDS * TSW_BURST);
	{
		/* the policy and frames of the port security path */
		struct scenario ps_s = *a->s;
		struct tsw_portsec ps;
		struct rte_ether_addr vm;
		char why[128];
		ps_s.path = P_VM_VXLAN_PS;
		for (int j = 0; j < TSW_BURST; j++)
			prepare(m[j], &ps_s, (uint64_t)j);
		mac_of(vm.addr_bytes, VM1_MAC_PREFIX, 1);
		if (tsw_portsec_from_text(&vm, PS_IPS, PS_PAIRS, &ps, why, sizeof(why)) < 0)
			return -1;
		t = rte_rdtsc();
		for (uint32_t r = 0; r < COMP_ROUNDS; r++)
			for (int j = 0; j < TSW_BURST; j++)
				sink += tsw_portsec_check(&ps, m[j]);
		a->portsec = (double)(rte_rdtsc() - t) / (COMP_ROUNDS * TSW_BURST);
	}
	{
		/* security groups' egress filter (parse and judge) of the same
		 * frames, each a new connection (a table of 1 M, COMP_ROUNDS x 32
		 * connections made), then all of them again, established */
		struct scenario sg_s = *a->s;
		struct tsw_ct_timeouts to;
		struct tsw_sg_ruleset *rs = bench_ruleset(true);
		struct tsw_sg_members *mem = tsw_sg_members_create("bench-sgm", 1024,
								   (int)rte_socket_id(), NULL);
		struct tsw_ct *ct;
		struct tsw_sg_ctx x;
		uint64_t spent_new = 0, spent_est = 0, spent_1k = 0, pass_1k = 0;
		uint64_t best_1k = UINT64_MAX;

		tsw_ct_default_timeouts(&to);
		ct = tsw_ct_create("bench-ct", 1u << 20, (int)rte_socket_id(), NULL, &to);
		sg_s.path = P_VM_VXLAN_SG;
		x = (struct tsw_sg_ctx){ .ct = ct, .members = mem };
		/* pass 2: the first 32 rounds' 1 024 connections again and again:
		 * the filter's own work, its lines in cache */
		for (int pass = 0; rs != NULL && mem != NULL && ct != NULL &&
				   pass < 3 + (int)sg_more_passes; pass++)
			for (uint32_t r = 0; r < COMP_ROUNDS; r++) {
				struct tsw_sg_pkt p[TSW_BURST];
				for (int j = 0; j < TSW_BURST; j++) {
					uint64_t k = (uint64_t)(pass >= 2 ? r % 32 : r) * TSW_BURST +
						     (uint64_t)j;
					struct rte_udp_hdr *u;
					prepare(m[j], &sg_s, k);
					/* beyond the 64 K flows of f: the destination port */
					u = rte_pktmbuf_mtod_offset(m[j], struct rte_udp_hdr *, 34);
					u->dst_port = htons((uint16_t)(5001 + (k >> 16)));
				}
				/* as the pipeline: the burst parsed, its lookups
				 * started, then each frame judged */
				t = rte_rdtsc();
				for (int j = 0; j < TSW_BURST; j++)
					tsw_sg_parse(m[j], &p[j]);
				for (int j = 0; j < TSW_BURST; j++)
					tsw_sg_prefetch(ct, &p[j], 0);
				for (int j = 0; j < TSW_BURST; j++)
					sink += tsw_sg_egress(&x, rs, 0, NULL, 0, &p[j], 1000, NULL);
				t = rte_rdtsc() - t;
				*(pass == 0 ? &spent_new : pass == 1 ? &spent_est : &spent_1k) += t;
				/* the quickest pass over the 1 K: the work itself,
				 * without what the hypervisor or the other core took */
				if (pass >= 2) {
					pass_1k += t;
					if (r % 32 == 31) {
						best_1k = RTE_MIN(best_1k, pass_1k);
						pass_1k = 0;
					}
				}
			}
		a->sg_new = (double)spent_new / (COMP_ROUNDS * TSW_BURST);
		a->sg_est = (double)spent_est / (COMP_ROUNDS * TSW_BURST);
		a->sg_est_1k = (double)spent_1k / ((double)COMP_ROUNDS * TSW_BURST *
						  (1 + sg_more_passes));
		a->sg_est_1k_best = best_1k == UINT64_MAX ? 0 : (double)best_1k / (32 * TSW_BURST);
		if (ct != NULL && tsw_ct_count(ct) != COMP_ROUNDS * TSW_BURST)
			fprintf(stderr, "tunsw-bench: %u connections made, %u wanted\n",
				tsw_ct_count(ct), COMP_ROUNDS * TSW_BURST);
		/* then more, until the table refuses one: what max_connections
		 * holds (a key whose probe lines are all taken would be refused
		 * before the table holds max_connections) */
		for (uint32_t i = 0; ct != NULL; i++) {
			struct tsw_ct_key key;
			uint8_t src[16] = { 10, 200, (uint8_t)(i >> 16), (uint8_t)(i >> 8) };
			uint8_t dst[16] = { 10, 201, (uint8_t)i, 1 };
			enum tsw_ct_made made;
			bool fb;
			tsw_ct_key_make(&key, 7, false, 17, src, dst, (uint16_t)(i * 7), 53, &fb);
			if (tsw_ct_create_conn(ct, &key, TSW_CT_UDP_NEW, 1000, &made) == NULL || i > (1u << 22))
				break;
		}
		a->ct_held = ct != NULL ? tsw_ct_count(ct) : 0;
		a->ct_size = ct != NULL ? tsw_ct_capacity(ct) : 0;
		tsw_ct_free(ct);
		tsw_sg_members_free(mem);
		tsw_sg_ruleset_free(rs);
	}
	rte_pktmbuf_free_bulk(m, TSW_BURST);
	return sink == 42 ? 1 : 0;      /* keeps the loops' results alive */
}

static int
components(const struct scenario *s, struct component_arg *a)
{
	struct rte_rcu_qsbr *qsbr = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), 64);
	unsigned int wl = rte_get_next_lcore(-1, 1, 0);

	if (qsbr == NULL || rte_rcu_qsbr_init(qsbr, 1) != 0)
		return -1;
	a->s = s;
	a->dp = build_tables(s, qsbr);
	if (a->dp == NULL) {
		rte_free(qsbr);
		return -1;
	}
	rte_eal_remote_launch(components_run, a, wl);
	int rc = rte_eal_wait_lcore(wl);
	tsw_dp_free(a->dp);
	rte_free(qsbr);
	return rc < 0 ? -1 : 0;
}

/* --only: rows whose name contains text, or is text without its final
 * '$'; alternatives separated by '|' */
static bool
only_matches(const char *text, const char *label)
{
	const char *bar = strchr(text, '|');
	size_t n = bar != NULL ? (size_t)(bar - text) : strlen(text);

	if (bar != NULL && only_matches(bar + 1, label))
		return true;             /* alternatives: A|B */
	if (n > 0 && text[n - 1] == '$')
		return strlen(label) == n - 1 && strncmp(label, text, n - 1) == 0;
	return n > 0 && memmem(label, strlen(label), text, n) != NULL;
}

/* The median of n values (n <= 5). */
static double
median(const double *v, int n)
{
	double t[5];

	memcpy(t, v, (size_t)n * sizeof(*t));
	for (int a = 0; a < n; a++)
		for (int b = a + 1; b < n; b++)
			if (t[b] < t[a]) {
				double x = t[a];
				t[a] = t[b];
				t[b] = x;
			}
	return t[n / 2];
}

/* Each field of the median result is the median of that field. */
static struct result
median_result(const struct result *r, int n)
{
	double c[5], ca[5], m[5], b[5];
	struct result o = { 0 };

	for (int k = 0; k < n; k++) {
		c[k] = r[k].cpp;
		ca[k] = r[k].cpp_all;
		m[k] = r[k].mpps;
		b[k] = r[k].busy_pct;
		o.drops += r[k].drops;
		o.ps_drops += r[k].ps_drops;
		o.tx_full += r[k].tx_full;
		o.ct_full += r[k].ct_full;
		o.frames += r[k].frames;
		o.sent += r[k].sent;
	}
	o.cpp = median(c, n);
	o.cpp_all = median(ca, n);
	o.mpps = median(m, n);
	o.busy_pct = median(b, n);
	return o;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "only", required_argument, NULL, 'o' },
		{ "harness", required_argument, NULL, 'H' },
		{ "generator", required_argument, NULL, 'g' },
		{ "seconds", required_argument, NULL, 's' },
		{ "macs", required_argument, NULL, 'm' },
		{ "one-vm", no_argument, NULL, 'V' },
		{ "window", required_argument, NULL, 'w' },
		{ "tunnels", required_argument, NULL, 't' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "no-components", no_argument, NULL, 'C' },
		{ "no-baseline", no_argument, NULL, 'B' },
		{ "sg-passes", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool quick = false, no_baseline = false, no_components = false;
	double window = 0;
	const char *json_path = NULL, *only = NULL, *harness = "vhost", *gen_sock = NULL;
	double gen_secs = 5;
	uint32_t gen_macs = 65536;
	bool gen_macs_set = false, gen_one_vm = false;
	uint32_t only_tunnels = 0, only_bytes = 0;     /* 0: any */
	int n, opt;
	FILE *jf = NULL;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "tunsw-bench: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	while ((opt = getopt_long(argc, argv, "qj:o:H:g:s:m:Vw:t:b:BCh", opts, NULL)) != -1) {
		switch (opt) {
		case 'V': gen_one_vm = true; break;
		case 'H': harness = optarg; break;
		case 'g': gen_sock = optarg; break;
		case 's': gen_secs = atof(optarg); break;
		case 'm': gen_macs = (uint32_t)atoi(optarg); gen_macs_set = true; break;
		case 'q': quick = true; break;
		case 'w': window = atof(optarg); break;
		case 't': only_tunnels = (uint32_t)atoi(optarg); break;
		case 'b': only_bytes = (uint32_t)atoi(optarg); break;
		case 'B': no_baseline = true; break;
		case 'S': sg_more_passes = (uint32_t)atoi(optarg); break;
		case 'C': no_components = true; break;
		case 'j': json_path = optarg; break;
		case 'o': only = optarg; break;
		default:
			printf("usage: tunsw-bench [EAL] -- [--quick] [--json FILE] [--only TEXT[$]]\n"
			       "                   [--harness vhost|ring] [--window S] [--no-baseline]\n"
			       "                   [--macs N] [--tunnels N] [--bytes N]   (rows with these)\n"
			       "                   [--no-components] [--sg-passes N]\n"
			       "       tunsw-bench [EAL] -- --generator VHOST_SOCKET [--seconds S] [--macs N]\n"
			       "                   [--one-vm]\n"
			       "  (generator only: a virtio-user guest, vhost-user server on\n"
			       "   VHOST_SOCKET, sending the vm->tunnel traffic to another switch;\n"
			       "   --one-vm: the security groups' paths' frames, one VM's 64 K flows)\n");
			return opt == 'h' ? 0 : 1;
		}
	}
	if (gen_sock != NULL)
		return generator_only(gen_sock, gen_secs, gen_macs ? gen_macs : 1, gen_one_vm);
	if (rte_lcore_count() < 2) {
		fprintf(stderr, "tunsw-bench: needs 2 lcores (-l 0-1): generator and worker\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("bench", 65535, 512, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	if (strcmp(harness, "vhost") != 0 && strcmp(harness, "ring") != 0) {
		fprintf(stderr, "tunsw-bench: --harness: '%s' is not vhost or ring\n", harness);
		return 1;
	}
	char dir[] = "/tmp/tunsw-benchXXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (pool == NULL || make_devs(strcmp(harness, "vhost") == 0, dir) < 0) {
		fprintf(stderr, "tunsw-bench: cannot create the mempool or the ring ports\n");
		return 1;
	}
	const uint32_t big = quick ? 65536 : 1u << 20;
	const struct scenario sc[] = {
		{ P_VM_VXLAN, 65536, 64, 64 },
		{ P_VM_GRE, 65536, 64, 64 },
		{ P_TUN_VM, 65536, 64, 64 },
		{ P_VM_VM, 64, 1, 64 },
		{ P_BCAST8, 64, 8, 64 },
		{ P_ARP, 65536, 64, 60 },
		{ P_VM_VXLAN, 1024, 64, 64 },
		{ P_VM_VXLAN, big, 64, 64 },
		{ P_VM_VXLAN, 65536, 1, 64 },
		{ P_VM_VXLAN, 65536, 1024, 64 },
		{ P_VM_VXLAN, 65536, 64, 1500 },
		{ P_TUN_VM, 1024, 64, 64 },
		{ P_TUN_VM, big, 64, 64 },
		{ P_VM_VXLAN_1SRC, 65536, 64, 64 },
		{ P_VM_VXLAN_PS, 65536, 64, 64 },
		{ P_VM_VXLAN_SG, 65536, 64, 64 },
		{ P_VM_VXLAN_SGL, 65536, 64, 64 },
		{ P_TUN_VM_SG, 65536, 64, 64 },
		{ P_VM_VXLAN_SG, 1024, 64, 64 },            /* beside OVS-DPDK's firewall */
		{ P_VM_VXLAN_SG, 65536, 64, 64, 1024 },
		{ P_VM_VXLAN_SG, 65536, 64, 64, 1000000 },
		{ P_VM_VXLAN_SG, 65536, 64, 64, 100000, true },
		{ P_TUN_VM_SG, 65536, 64, 64, 100000, true },
		{ P_VM_VXLAN_SG, 65536, 64, 64, 1000000, false, true },
		{ P_VM_VLAN, 65536, 1, 64 },                /* provider networks (#23) */
		{ P_VLAN_VM, 65536, 1, 64 },
	};
	const int reps = quick ? 1 : 5;
	double warm = quick ? 0.2 : 0.3, win = window > 0 ? window : quick ? 0.3 : 1.0;

	if (json_path != NULL && (jf = fopen(json_path, "w")) == NULL) {
		perror(json_path);
		return 1;
	}
	printf("tunsw-bench: one worker core, %s harness (VM ports: %s; uplink: ring), %s mode, "
	       "%d pairs of %.1f s windows (baseline, path), TSC %.2f GHz\n", harness,
	       devs[1].vhost ? "vhost-user fed by virtio-user" : "ring", quick ? "quick" : "full",
	       reps, win, (double)rte_get_tsc_hz() / 1e9);
	printf("%-30s %7s %5s %5s %7s %7s %7s %7s %6s %7s %5s\n", "path", "MACs", "tun", "bytes",
	       "Mpps", "cyc/pkt", "io Mpps", "io cyc", "cyc/io", "Mpps/io", "busy%");
	if (jf)
		fprintf(jf, "{\"tsc_hz\": %lu, \"mode\": \"%s\", \"harness\": \"%s\", "
			"\"pairs\": %d, \"window_s\": %.2f, \"results\": [\n", rte_get_tsc_hz(),
			quick ? "quick" : "full", harness, reps, win);
	bool first = true;
	for (size_t i = 0; i < RTE_DIM(sc); i++) {
		const struct scenario *s = &sc[i];
		const struct scenario bs = baseline_of(s);
		struct result rr[5], rb[5];
		double rc[5], rm[5];

		char label[64];

		snprintf(label, sizeof(label), "%s%s", path_names[s->path],
			 s->realistic ? ", 20 rules, 100 K conns" : s->fresh ? ", new conns" :
			 s->flows == 1024 ? ", 1 K conns" : s->flows == 1000000 ? ", 1 M conns" : "");
		if ((only != NULL && !only_matches(only, label)) ||
		    (gen_macs_set && s->macs != gen_macs) ||
		    (only_tunnels && s->tunnels != only_tunnels) ||
		    (only_bytes && s->frame_len != only_bytes))
			continue;
		/* Pairs of windows, the baseline then the path, so that each
		 * ratio compares windows seconds apart: this machine's speed
		 * drifts more between minutes than between neighbouring windows.
		 * Reported: the median of each quantity over the pairs. */
		for (int k = 0; k < reps; k++) {
			/* every flow seen (its connection made) before the window;
			 * or (fresh) none: 0.1 s from the start, fewer frames than
			 * flows, each frame makes its connection */
			double w = s->fresh ? 0.01 : s->flows > DEFAULT_FLOWS ? RTE_MAX(warm, 1.5)
										  : warm;
			double wn = s->fresh ? 0.1 : win;
			if (no_baseline)
				memset(&rb[k], 0, sizeof(rb[k]));
			else if (measure(&bs, warm, win, &rb[k]) < 0)
				return 1;
			if (measure(s, w, wn, &rr[k]) < 0)
				return 1;
			rc[k] = rb[k].cpp > 0 ? rr[k].cpp / rb[k].cpp : 0;
			rm[k] = rb[k].mpps > 0 ? rr[k].mpps / rb[k].mpps : 0;
		}
		struct result r = median_result(rr, reps), b = median_result(rb, reps);
		double ratio_c = median(rc, reps), ratio_m = median(rm, reps);

		if (getenv("TSW_BENCH_DEBUG"))
			fprintf(stderr, "mbufs in use after: %u\n", rte_mempool_in_use_count(pool));
		printf("%-30s %7u %5u %5u %7.2f %7.1f %7.2f %7.1f %6.2f %7.2f %5.1f\n",
		       label, s->macs, s->tunnels, s->frame_len, r.mpps, r.cpp, b.mpps,
		       b.cpp, ratio_c, ratio_m, r.busy_pct);
		fflush(stdout);
		if (jf) {
			fprintf(jf, "%s  {\"path\": \"%s\", \"macs\": %u, \"tunnels\": %u, "
				"\"bytes\": %u, \"flows\": %u, \"ct_full\": %lu, "
				"\"mpps\": %.3f, \"cycles_per_pkt\": %.1f, "
				"\"cycles_per_pkt_all\": %.1f, \"busy_pct\": %.1f, \"drops\": %lu, "
				"\"port_security_drops\": %lu, \"tx_full\": %lu, \"frames\": %lu, \"sent\": %lu, "
				"\"baseline\": {\"path\": \"%s\", \"mpps\": %.3f, "
				"\"cycles_per_pkt\": %.1f, \"busy_pct\": %.1f}, "
				"\"ratio_to_io\": %.3f, \"mpps_ratio_to_io\": %.3f, "
				"\"pairs\": [", first ? "" : ",\n", label, s->macs,
				s->tunnels, s->frame_len, s->flows ? s->flows : DEFAULT_FLOWS, r.ct_full,
				r.mpps, r.cpp, r.cpp_all, r.busy_pct, r.drops,
				r.ps_drops, r.tx_full, r.frames, r.sent, path_names[bs.path], b.mpps, b.cpp,
				b.busy_pct, ratio_c, ratio_m);
			for (int k = 0; k < reps; k++)
				fprintf(jf, "%s[%.1f, %.1f, %.3f, %.3f]", k ? ", " : "", rr[k].cpp,
					rb[k].cpp, rr[k].mpps, rb[k].mpps);
			fprintf(jf, "]}");
			first = false;
		}
	}
	/* the floor single steps put under the vm->tunnel paths */
	if (!no_components) {
		/* quick mode spares the 1 M table's build */
		const uint32_t comp_macs[] = { 1024, quick ? 16384 : 65536, quick ? 65536 : 1u << 20 };
		bool cfirst = true;

		printf("\ncomponents on the worker core, no devices (cycles per frame): FDB bulk lookup"
		       " of one destination per frame, VXLAN encapsulation (frame in cache), inner flow"
		       " hash, port security check of a VM's frame, security groups' egress filter"
		       " (9 rules) of a new connection, of an established one (640 K of them), of one"
		       " of 1 K (in cache)\n");
		if (jf)
			fprintf(jf, "\n], \"components\": [\n");
		for (size_t i = 0; i < RTE_DIM(comp_macs); i++) {
			struct scenario cs = { P_VM_VXLAN, comp_macs[i], 64, 64 };
			struct component_arg ca;

			if (components(&cs, &ca) < 0)
				return 1;
			printf("  %7u MACs: lookup %6.1f  encap %5.1f  flow hash %5.1f  port security "
			       "%5.1f  sg new %6.1f  sg established %5.1f (1 K in cache %5.1f, best "
			       "%5.1f)  (connections held: %u of %u)\n", cs.macs, ca.lookup, ca.encap,
			       ca.hash, ca.portsec, ca.sg_new, ca.sg_est, ca.sg_est_1k, ca.sg_est_1k_best,
			       ca.ct_held, ca.ct_size);
			if (jf)
				fprintf(jf, "%s  {\"macs\": %u, \"fdb_lookup\": %.1f, \"encap\": %.1f, "
					"\"flow_hash\": %.1f, \"port_security\": %.1f, "
					"\"sg_new_connection\": %.1f, \"sg_established\": %.1f, "
					"\"sg_established_1k_cached\": %.1f, "
					"\"sg_established_1k_cached_best\": %.1f, "
					"\"connections_held\": %u, \"connections_max\": %u}",
					cfirst ? "" : ",\n", cs.macs, ca.lookup, ca.encap, ca.hash,
					ca.portsec, ca.sg_new, ca.sg_est, ca.sg_est_1k, ca.sg_est_1k_best,
					ca.ct_held, ca.ct_size);
			cfirst = false;
		}
	}
	if (!no_components) {
		/* the machine's memory, on the worker lcore */
		struct mem_arg ma;
		unsigned int wl = rte_get_next_lcore(-1, 1, 0);

		rte_eal_remote_launch(mem_run, &ma, wl);
		rte_eal_wait_lcore(wl);
		printf("\nmemory (a dependent load among 64 K lines, worker core): packed in 4 MB "
		       "%.1f cycles, spread over 128 MB %.1f cycles\n", ma.packed, ma.spread);
		if (jf)
			fprintf(jf, "\n], \"memory_load_cycles\": {\"packed_4mb\": %.1f, "
				"\"spread_128mb\": %.1f}, \"ruleset_build_ms\": {", ma.packed,
				ma.spread);
	}
	if (!no_components) {
		/* rule-set builds, on the main lcore (as on the daemon's) */
		static const uint32_t sizes[] = { 10, 100, 1000 };
		printf("rule set builds (rte_acl, 4 contexts):");
		for (size_t i = 0; i < RTE_DIM(sizes); i++) {
			double ms = ruleset_build_ms(sizes[i]);
			printf("  %u rules %.2f ms", sizes[i], ms);
			if (jf)
				fprintf(jf, "%s\"%u\": %.3f", i ? ", " : "", sizes[i], ms);
		}
		printf("\n");
		if (jf)
			fprintf(jf, "}");
	}
	if (jf) {
		fprintf(jf, no_components ? "\n]}\n" : "\n}\n");
		fclose(jf);
	}
	for (int i = 0; i < N_RINGS; i++)
		if (devs[i].vhost) {
			rte_eth_dev_stop(devs[i].gen);
			rte_eth_dev_close(devs[i].gen);
			rte_eth_dev_stop(devs[i].port);
			rte_eth_dev_close(devs[i].port);
			rte_eth_dev_stop(devs[i].vgen);
			rte_eth_dev_close(devs[i].vgen);
			tsw_vhost_close(devs[i].vh);
			rte_free(devs[i].vh);
		}
	rte_eal_cleanup();
	rmdir(dir);
	return 0;
}
