/* SPDX-License-Identifier: BSD-3-Clause
 * Slow path of the uplink: ARP responder and resolver, ICMP echo. See
 * tsw_underlay.h.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "tsw_parse.h"
#include "tsw_underlay.h"

#define MAX_ENTRIES TSW_MAX_NEIGH

enum nstate { ST_FREE, ST_INCOMPLETE, ST_REACHABLE, ST_PROBE };

struct entry {
	enum nstate state;
	uint32_t ip;
	uint32_t tries;
	uint64_t confirmed_ms, next_ms;
	uint16_t nq;
	struct rte_mbuf *q[TSW_ARP_QUEUE];
};

struct tsw_underlay {
	struct tsw_dp *dp;
	struct tsw_underlay_conf c;
	struct rte_mempool *pool;
	tsw_underlay_tx tx;
	void *arg;
	struct tsw_underlay_stats st;
	struct entry e[MAX_ENTRIES];
};

struct tsw_underlay *
tsw_underlay_create(struct tsw_dp *dp, const struct tsw_underlay_conf *c,
		    struct rte_mempool *pool, tsw_underlay_tx tx, void *arg)
{
	struct tsw_underlay *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	u->dp = dp;
	u->c = *c;
	u->pool = pool;
	u->tx = tx;
	u->arg = arg;
	return u;
}

static void
drop_queue(struct tsw_underlay *u, struct entry *e)
{
	rte_pktmbuf_free_bulk(e->q, e->nq);
	u->st.dropped_unresolved += e->nq;
	e->nq = 0;
}

void
tsw_underlay_free(struct tsw_underlay *u)
{
	if (u == NULL)
		return;
	for (int i = 0; i < MAX_ENTRIES; i++)
		rte_pktmbuf_free_bulk(u->e[i].q, u->e[i].nq);
	free(u);
}

/* The entry of next hop ip, or NULL. */
static struct entry *
find(const struct tsw_underlay *u, uint32_t ip)
{
	for (int i = 0; i < MAX_ENTRIES; i++)
		if (u->e[i].state != ST_FREE && u->e[i].ip == ip)
			return (struct entry *)(uintptr_t)&u->e[i];
	return NULL;
}

static struct entry *
create(struct tsw_underlay *u, uint32_t ip)
{
	for (int i = 0; i < MAX_ENTRIES; i++)
		if (u->e[i].state == ST_FREE) {
			memset(&u->e[i], 0, sizeof(u->e[i]));
			u->e[i].ip = ip;
			u->e[i].state = ST_INCOMPLETE;
			return &u->e[i];
		}
	return NULL;
}

static void
ul_send(struct tsw_underlay *u, struct rte_mbuf *m)
{
	if (!u->tx(u->arg, m)) {
		u->st.tx_failed++;
		rte_pktmbuf_free(m);
	}
}

/* An ARP request for ip: broadcast, or unicast to mac when re-checking. */
static void
send_request(struct tsw_underlay *u, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(u->pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *a;

	if (m == NULL) {
		u->st.tx_failed++;
		return;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*a));
	a = (struct rte_arp_hdr *)(eth + 1);
	if (mac != NULL)
		eth->dst_addr = *mac;
	else
		memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr = u->c.mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	a->arp_data.arp_sha = u->c.mac;
	a->arp_data.arp_sip = u->c.local_ip;
	memset(&a->arp_data.arp_tha, 0, sizeof(a->arp_data.arp_tha));
	a->arp_data.arp_tip = ip;
	u->st.arp_requests_sent++;
	ul_send(u, m);
}

/* Frames that waited for e's next hop: give them its MAC and send them. */
static void
release_queue(struct tsw_underlay *u, struct entry *e, const struct rte_ether_addr *mac)
{
	for (uint16_t i = 0; i < e->nq; i++) {
		rte_pktmbuf_mtod(e->q[i], struct rte_ether_hdr *)->dst_addr = *mac;
		ul_send(u, e->q[i]);
	}
	e->nq = 0;
}

/* ip is at mac (an ARP from it): learn it if it is a next hop we want. */
static void
learn(struct tsw_underlay *u, uint32_t ip, const struct rte_ether_addr *mac, uint64_t now_ms)
{
	struct entry *e = find(u, ip);
	const struct tsw_neigh *n = tsw_dp_neighbor_get(u->dp, ip);

	if (n != NULL && n->is_static)
		return;
	if (e == NULL) {
		if (n == NULL && !tsw_dp_next_hop_used(u->dp, ip))
			return;       /* not a next hop of ours: do not cache the world */
		e = create(u, ip);
		if (e == NULL)
			return;
	}
	if (tsw_dp_neighbor_set(u->dp, ip, mac, false) < 0)
		return;
	if (e->state == ST_INCOMPLETE)
		u->st.resolved++;
	release_queue(u, e, mac);
	e->state = ST_REACHABLE;
	e->tries = 0;
	e->confirmed_ms = now_ms;
	e->next_ms = now_ms + u->c.reachable_ms;
}

static void
arp_input(struct tsw_underlay *u, struct rte_mbuf *m, uint64_t now_ms)
{
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *a;
	uint32_t sip, tip;
	struct rte_ether_addr sha;

	if (rte_pktmbuf_pkt_len(m) < sizeof(*eth) + sizeof(*a) ||
	    (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*a) && rte_pktmbuf_linearize(m) < 0))
		goto ignore;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	a = (struct rte_arp_hdr *)(eth + 1);
	if (a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    a->arp_hlen != RTE_ETHER_ADDR_LEN || a->arp_plen != 4)
		goto ignore;
	sip = a->arp_data.arp_sip;
	tip = a->arp_data.arp_tip;
	sha = a->arp_data.arp_sha;
	if (!rte_is_unicast_ether_addr(&sha) || rte_is_zero_ether_addr(&sha) ||
	    sip == u->c.local_ip)
		goto ignore;
	if (a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY))
		u->st.arp_replies_received++;
	if (sip != 0)
		learn(u, sip, &sha, now_ms);
	if (a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) && tip == u->c.local_ip &&
	    sip != tip) {
		/* answer in place */
		eth->dst_addr = sha;
		eth->src_addr = u->c.mac;
		a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
		a->arp_data.arp_tha = sha;
		a->arp_data.arp_tip = sip;
		a->arp_data.arp_sha = u->c.mac;
		a->arp_data.arp_sip = u->c.local_ip;
		u->st.arp_replies_sent++;
		ul_send(u, m);
		return;
	}
	rte_pktmbuf_free(m);
	return;
ignore:
	u->st.ignored++;
	rte_pktmbuf_free(m);
}

static void
icmp_input(struct tsw_underlay *u, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *ic;
	uint32_t ihl, len, a;

	if (rte_pktmbuf_linearize(m) < 0)
		goto ignore;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	len = rte_be_to_cpu_16(ip->total_length);   /* validated by decap_parse */
	if (len < ihl + sizeof(*ic))
		goto ignore;
	ic = (struct rte_icmp_hdr *)((uint8_t *)ip + ihl);
	if (ic->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || ic->icmp_code != 0 ||
	    rte_raw_cksum(ic, len - ihl) != 0xffff)
		goto ignore;
	/* an echo sent to a group address or from one is not answered (a
	 * reply never carries a multicast source) */
	if (!rte_is_unicast_ether_addr(&eth->dst_addr) ||
	    !rte_is_unicast_ether_addr(&eth->src_addr))
		goto ignore;
	eth->dst_addr = eth->src_addr;
	eth->src_addr = u->dp->conf.encap.src_mac;
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ic->icmp_cksum = 0;
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, len - ihl);
	u->st.icmp_echo_replies++;
	ul_send(u, m);
	return;
ignore:
	u->st.ignored++;
	rte_pktmbuf_free(m);
}

/* An encapsulated frame waiting for next hop nh's MAC. */
static void
queue_input(struct tsw_underlay *u, struct rte_mbuf *m, uint32_t nh, uint64_t now_ms)
{
	const struct tsw_neigh *n = tsw_dp_neighbor_get(u->dp, nh);
	struct entry *e;

	if (n != NULL) {    /* resolved while the frame was on its way */
		rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr = n->mac;
		ul_send(u, m);
		return;
	}
	e = find(u, nh);
	if (e == NULL) {
		e = create(u, nh);
		if (e == NULL) {
			u->st.dropped_unresolved++;
			rte_pktmbuf_free(m);
			return;
		}
		send_request(u, nh, NULL);
		e->tries = 1;
		e->next_ms = now_ms + 1000;
	}
	if (e->nq == TSW_ARP_QUEUE) {
		u->st.queue_full++;
		rte_pktmbuf_free(m);
		return;
	}
	e->q[e->nq++] = m;
	u->st.queued++;
}

void
tsw_underlay_input(struct tsw_underlay *u, struct rte_mbuf *m, uint64_t now_ms)
{
	const struct rte_ether_hdr *eth;

	if (m->hash.usr != 0) {
		queue_input(u, m, m->hash.usr, now_ms);
		return;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		arp_input(u, m, now_ms);
	else
		icmp_input(u, m);
}

void
tsw_underlay_tick(struct tsw_underlay *u, uint64_t now_ms)
{
	for (int i = 0; i < MAX_ENTRIES; i++) {
		struct entry *e = &u->e[i];
		const struct tsw_neigh *n;

		if (e->state == ST_FREE || now_ms < e->next_ms)
			continue;
		switch (e->state) {
		case ST_INCOMPLETE:
			if (e->tries >= u->c.retries) {
				u->st.failed++;
				drop_queue(u, e);
				e->state = ST_FREE;   /* the next frame starts over */
				break;
			}
			send_request(u, e->ip, NULL);
			e->next_ms = now_ms + (1000ull << e->tries);   /* 1, 2, 4 ... s */
			e->tries++;
			break;
		case ST_REACHABLE:
			if (!tsw_dp_next_hop_used(u->dp, e->ip)) {
				tsw_dp_neighbor_del(u->dp, e->ip);   /* nobody needs it */
				e->state = ST_FREE;
				break;
			}
			e->state = ST_PROBE;
			e->tries = 0;
			/* fall through */
		case ST_PROBE:
			n = tsw_dp_neighbor_get(u->dp, e->ip);
			if (n == NULL || e->tries >= u->c.retries) {
				u->st.failed += n != NULL;
				tsw_dp_neighbor_del(u->dp, e->ip);   /* frames queue again */
				e->state = ST_FREE;
				break;
			}
			send_request(u, e->ip, &n->mac);
			e->tries++;
			e->next_ms = now_ms + 1000;
			break;
		case ST_FREE:
			break;
		}
	}
}

uint64_t
tsw_underlay_next_timer(const struct tsw_underlay *u)
{
	uint64_t t = UINT64_MAX;

	for (int i = 0; i < MAX_ENTRIES; i++)
		if (u->e[i].state != ST_FREE && u->e[i].next_ms < t)
			t = u->e[i].next_ms;
	return t;
}

json_t *
tsw_underlay_neighbors(const struct tsw_underlay *u, uint64_t now_ms)
{
	static const char *const names[] = { "free", "incomplete", "reachable", "probe" };
	json_t *a = json_array();
	char ip[INET_ADDRSTRLEN], mac[18];

	for (int i = 0; i < u->dp->n_neigh; i++) {
		const struct tsw_neigh *n = &u->dp->neigh[i];
		const struct entry *e = n->is_static ? NULL : find(u, n->ip);
		json_t *o;

		o = json_pack("{s:s, s:s, s:s}", "ip", tsw_ip_str(n->ip, ip),
			      "mac", tsw_mac_str(n->mac.addr_bytes, mac),
			      "state", n->is_static ? "static" : names[e ? e->state : ST_REACHABLE]);
		if (o != NULL && e != NULL)
			json_object_set_new(o, "age_ms", json_integer((json_int_t)(now_ms -
									  e->confirmed_ms)));
		json_array_append_new(a, o);
	}
	for (int j = 0; j < MAX_ENTRIES; j++)
		if (u->e[j].state == ST_INCOMPLETE)
			json_array_append_new(a, json_pack("{s:s, s:n, s:s, s:i}", "ip",
				tsw_ip_str(u->e[j].ip, ip), "mac", "state", "incomplete",
				"queued", u->e[j].nq));
	return a;
}

void
tsw_underlay_get_stats(const struct tsw_underlay *u, struct tsw_underlay_stats *st)
{
	*st = u->st;
}
