/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "tsw_learn.h"
#include "tsw_pipeline.h"
#include "tsw_state.h"
#include "tsw_trace.h"

#define TRACE_MAX_OUT 256

struct tsw_trace {
	const struct tsw_dp *dp;
	struct rte_mempool *pool;
	struct rte_ring *ring;
	struct rte_ring *punt;    /* what the pipeline hands the slow path */
	struct tsw_worker *w;
	json_t *out;              /* outputs of the current run */
};

static uint16_t
trace_tx(void *arg, struct tsw_worker *w, uint16_t out, struct rte_mbuf **pkts, uint16_t n);

struct tsw_trace *
tsw_trace_create(const struct tsw_dp *dp, struct rte_mempool *pool)
{
	struct tsw_trace *t = calloc(1, sizeof(*t));
	char name[RTE_RING_NAMESIZE];

	if (t == NULL)
		return NULL;
	t->dp = dp;
	t->pool = pool;
	snprintf(name, sizeof(name), "trace%p", (void *)t);
	t->ring = tsw_learn_ring_create(name, 64, SOCKET_ID_ANY);
	snprintf(name, sizeof(name), "tracep%p", (void *)t);
	t->punt = rte_ring_create(name, 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	t->w = tsw_worker_create(TSW_MAX_WORKERS - 1, dp, t->ring, pool, trace_tx, t,
				 SOCKET_ID_ANY);
	if (t->w != NULL)
		t->w->punt_ring = t->punt;
	if (t->ring == NULL || t->punt == NULL || t->w == NULL) {
		tsw_trace_free(t);
		return NULL;
	}
	return t;
}

void
tsw_trace_free(struct tsw_trace *t)
{
	if (t == NULL)
		return;
	tsw_worker_free(t->w);
	rte_ring_free(t->ring);
	rte_ring_free(t->punt);
	free(t);
}

/* Outer headers of a frame tunsw built: remote, type and id. */
static json_t *
tunnel_of(const uint8_t *f, uint32_t len)
{
	char ip[INET_ADDRSTRLEN];
	uint32_t dst, ihl;

	if (len < 34 || f[12] != 0x08 || f[13] != 0x00)
		return NULL;
	ihl = (uint32_t)(f[14] & 0xf) * 4;
	memcpy(&dst, f + 30, 4);
	if (f[23] == IPPROTO_UDP && len >= 14 + ihl + 16) {
		const uint8_t *v = f + 14 + ihl + 8;
		return json_pack("{s:s, s:s, s:i}", "type", "vxlan", "remote", tsw_ip_str(dst, ip),
				 "id", (v[4] << 16) | (v[5] << 8) | v[6]);
	}
	if (f[23] == IPPROTO_GRE && len >= 14 + ihl + 8) {
		const uint8_t *g = f + 14 + ihl;
		uint32_t off = (g[0] & 0x80) ? 8 : 4, key;
		if (len < 14 + ihl + off + 4)
			return NULL;
		memcpy(&key, g + off, 4);
		return json_pack("{s:s, s:s, s:I}", "type", "gre", "remote", tsw_ip_str(dst, ip),
				 "id", (json_int_t)ntohl(key));
	}
	return NULL;
}

static uint16_t
trace_tx(void *arg, struct tsw_worker *w, uint16_t out, struct rte_mbuf **pkts, uint16_t n)
{
	struct tsw_trace *t = arg;
	static uint8_t buf[16384];
	static char hex[2 * sizeof(buf) + 1];

	(void)w;
	for (uint16_t i = 0; i < n; i++) {
		uint32_t len = RTE_MIN(rte_pktmbuf_pkt_len(pkts[i]), (uint32_t)sizeof(buf));
		const uint8_t *d = rte_pktmbuf_read(pkts[i], 0, len, buf);
		json_t *o;

		for (uint32_t b = 0; b < len; b++)
			snprintf(hex + 2 * b, 3, "%02x", d[b]);
		hex[2 * len] = '\0';
		o = json_pack("{s:s, s:i, s:s}", "port", tsw_dp_out_name(t->dp, out), "len", (int)len,
			      "frame", hex);
		if (o != NULL && out == TSW_OUT_UPLINK) {
			json_t *tu = tunnel_of(d, len);
			if (tu != NULL)
				json_object_set_new(o, "tunnel", tu);
		}
		if (o != NULL && json_array_size(t->out) < TRACE_MAX_OUT)
			json_array_append_new(t->out, o);
		else
			json_decref(o);
		rte_pktmbuf_free(pkts[i]);
	}
	return n;
}

static const char *
rule_of_drop(enum tsw_drop d)
{
	switch (d) {
	case TSW_DROP_vm_vlan_tagged: return "R-C1";
	case TSW_DROP_ps_src_mac: return "R-S1";
	case TSW_DROP_ps_src_ip: return "R-S2";
	case TSW_DROP_ps_arp_spoof: case TSW_DROP_ps_ethertype: return "R-S3";
	case TSW_DROP_ps_dhcp_server: case TSW_DROP_ps_router_adv:
	case TSW_DROP_ps_ipv6_chain: return "R-S4";
	case TSW_DROP_unknown_id: case TSW_DROP_tunnel_type_off: return "R-C2";
	case TSW_DROP_unknown_vtep: return "R-C3";
	case TSW_DROP_same_port: return "R-F2";
	case TSW_DROP_no_destination: return "R-F4";
	case TSW_DROP_split_horizon: return "R-T2";
	case TSW_DROP_inner_vlan_tagged: return "R-T3";
	case TSW_DROP_too_big: return "R-E4";
	case TSW_DROP_sg_deny: return "R-G6";
	case TSW_DROP_ct_invalid: case TSW_DROP_ct_full: case TSW_DROP_ct_port_limit: return "R-G3";
	case TSW_DROP_ct_revoked: return "R-G7";
	default: return "R-C4";
	}
}

static json_t *
learn_json(const struct tsw_dp *dp, const struct tsw_learn_ev *ev)
{
	char mac[18], ip[INET_ADDRSTRLEN];
	json_t *o = json_pack("{s:s, s:s, s:s}", "network", dp->nets[ev->key.net].name,
			      "mac", tsw_mac_str(ev->key.mac, mac),
			      "kind", ev->kind == TSW_FDB_LOCAL ? "local" : "tunnel");
	if (o == NULL)
		return NULL;
	if (tsw_dest_is_tunnel(ev->dest))
		json_object_set_new(o, "tunnel", json_string(tsw_ip_str(
			dp->tunnels[tsw_dest_tun_type(ev->dest)][tsw_dest_index(ev->dest)].remote_ip,
			ip)));
	else
		json_object_set_new(o, "port", json_string(dp->ports[ev->dest].name));
	return o;
}

/* The forwarding rule for a frame that was not dropped. */
static const char *
rule_of(const struct tsw_dp *dp, uint16_t in, const uint8_t *f, size_t len, uint64_t now_ms,
	bool answered)
{
	struct rte_ether_addr dst;
	struct tsw_fdb_key k;
	tsw_fdb_entry_t e;
	int net;

	if (in == TSW_OUT_UPLINK)
		return "R-T2";
	if (answered)
		return "R-F6";
	net = tsw_dp_port_net(dp, in);
	if (net < 0 || len < RTE_ETHER_HDR_LEN)
		return "R-C1";
	memcpy(dst.addr_bytes, f, 6);
	if (!rte_is_unicast_ether_addr(&dst))
		return "R-F4";
	tsw_fdb_key_set(&k, (uint16_t)net, &dst);
	e = tsw_fdb_resolve(tsw_fdb_get(dp->fdb, &k, now_ms), now_ms, tsw_fdb_timeouts(dp->fdb));
	if (e == 0)
		return "R-F4";
	return tsw_dest_is_tunnel(tsw_fdb_entry_dest(e)) ? "R-F3" : "R-F2";
}

json_t *
tsw_trace_run(struct tsw_trace *t, uint16_t in, const uint8_t *frame, size_t len,
	      uint64_t now_ms, struct tsw_sg_why *why, char *err, size_t errlen)
{
	struct rte_mbuf *m;
	struct tsw_learn_ev ev;
	json_t *res, *learn = json_array(), *drops = json_object();
	enum tsw_drop first = TSW_DROP_MAX;
	uint64_t answered;
	bool punted = false;
	char *p;

	if (len > UINT16_MAX ||
	    len + RTE_PKTMBUF_HEADROOM > (size_t)rte_pktmbuf_data_room_size(t->pool)) {
		snprintf(err, errlen, "frame of %zu bytes does not fit an mbuf", len);
		goto fail;
	}
	m = rte_pktmbuf_alloc(t->pool);
	if (m == NULL || (p = rte_pktmbuf_append(m, (uint16_t)len)) == NULL) {
		rte_pktmbuf_free(m);
		snprintf(err, errlen, "no mbuf available");
		goto fail;
	}
	memcpy(p, frame, len);
	memset(t->w->cnt, 0, sizeof(*t->w->cnt));
	memset(&t->w->cache, 0, sizeof(t->w->cache));
	memset(why, 0, sizeof(*why));
	t->w->sg_why = why;         /* and the filters change no connection */
	t->out = json_array();
	if (in == TSW_OUT_UPLINK)
		tsw_pipeline_uplink_rx(t->w, &m, 1, now_ms * TSW_NS_PER_MS);
	else
		tsw_pipeline_vm_rx(t->w, in, &m, 1, now_ms * TSW_NS_PER_MS);
	tsw_pipeline_flush(t->w);
	while (rte_ring_sc_dequeue_elem(t->ring, &ev, sizeof(ev)) == 0)
		json_array_append_new(learn, learn_json(t->dp, &ev));
	/* what the slow path would get: ARP/ICMP for local_ip (answered by the
	 * management thread), or an encapsulated frame waiting for ARP */
	while (rte_ring_sc_dequeue(t->punt, (void **)&m) == 0) {
		char ip[INET_ADDRSTRLEN];
		uint32_t nh = m->hash.usr;
		json_t *o;

		trace_tx(t, t->w, TSW_OUT_UPLINK, &m, 1);   /* records and frees it */
		o = json_array_get(t->out, json_array_size(t->out) - 1);
		if (o == NULL)
			continue;
		if (nh != 0) {
			json_object_set_new(o, "waits_for_arp", json_string(tsw_ip_str(nh, ip)));
		} else {
			json_object_set_new(o, "port", json_string("management"));
			json_object_del(o, "tunnel");
		}
		punted = true;
	}
	for (int d = 0; d < TSW_DROP_MAX; d++)
		if (t->w->cnt->drop[d] != 0) {
			json_object_set_new(drops, tsw_drop_names[d], json_integer(
				(json_int_t)t->w->cnt->drop[d]));
			if (first == TSW_DROP_MAX)
				first = (enum tsw_drop)d;
		}
	answered = t->w->cnt->arp_replies;
	res = json_pack("{s:s, s:s, s:o, s:o, s:o}",
			"input", tsw_dp_out_name(t->dp, in),
			"rule", json_array_size(t->out) == 0 && first != TSW_DROP_MAX
				? rule_of_drop(first)
				: punted && in == TSW_OUT_UPLINK ? "underlay (ARP/ICMP for local_ip)"
				: rule_of(t->dp, in, frame, len, now_ms, answered != 0),
			"drops", drops, "learn", learn, "outputs", t->out);
	t->out = NULL;
	if (res != NULL && first != TSW_DROP_MAX)
		json_object_set_new(res, "drop_reason", json_string(tsw_drop_descr[first]));
	if (res == NULL)
		snprintf(err, errlen, "out of memory");
	return res;
fail:
	json_decref(learn);
	json_decref(drops);
	return NULL;
}
