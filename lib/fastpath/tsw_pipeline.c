/* SPDX-License-Identifier: BSD-3-Clause
 * The forwarding pipeline. See tsw_pipeline.h and semantics.md (R-*).
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_malloc.h>

#include <rte_prefetch.h>

#include "tsw_encap.h"
#include "tsw_offload.h"
#include "tsw_pipeline.h"
#include "tsw_portsec.h"
#include "tsw_sg.h"

struct tsw_worker *
tsw_worker_create(uint16_t id, const struct tsw_dp *dp, struct rte_ring *learn_ring,
		  struct rte_mempool *pool, tsw_tx_fn tx, void *tx_arg, int socket)
{
	struct tsw_worker *w = rte_zmalloc_socket("tsw_worker", sizeof(*w),
						  RTE_CACHE_LINE_SIZE, socket);
	if (w == NULL)
		return NULL;
	w->cnt = rte_zmalloc_socket("tsw_counters", sizeof(*w->cnt), RTE_CACHE_LINE_SIZE, socket);
	if (w->cnt == NULL) {
		rte_free(w);
		return NULL;
	}
	w->id = id;
	w->ip_id = (uint16_t)(id << 12);
	w->dp = dp;
	w->learn_ring = learn_ring;
	w->pool = pool;
	w->tx = tx;
	w->tx_arg = tx_arg;
	return w;
}

void
tsw_worker_free(struct tsw_worker *w)
{
	if (w == NULL)
		return;
	for (uint16_t o = 0; o < TSW_N_OUTS; o++)
		rte_pktmbuf_free_bulk(w->out[o], w->out_n[o]);
	if (w->spare_n > 0)
		rte_mempool_put_bulk(w->pool, (void **)w->spare, w->spare_n);
	rte_free(w->cnt);
	rte_free(w);
}

/* ---- output ---- */

static void
flush_out(struct tsw_worker *w, uint16_t o)
{
	uint16_t n = w->out_n[o], sent;
	struct tsw_port_counters *pc = &w->cnt->port[o];
	uint64_t bytes = 0;

	if (n == 0)
		return;
	if (tsw_out_is_port(o) && w->coalesce != NULL && n > 1)
		n = w->coalesce(w->tx_arg, w, o, w->out[o], n);
	for (uint16_t i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(w->out[o][i]);
	sent = w->tx(w->tx_arg, w, o, w->out[o], n);
	for (uint16_t i = sent; i < n; i++) {
		bytes -= rte_pktmbuf_pkt_len(w->out[o][i]);
		rte_pktmbuf_free(w->out[o][i]);
	}
	pc->tx_pkts += sent;
	pc->tx_bytes += bytes;
	if (sent < n) {
		pc->drops += (uint64_t)(n - sent);
		w->cnt->drop[TSW_DROP_tx_full] += (uint64_t)(n - sent);
	}
	w->out_n[o] = 0;
}

void
tsw_pipeline_flush(struct tsw_worker *w)
{
	for (uint16_t i = 0; i < w->n_dirty; i++)
		flush_out(w, w->dirty[i]);
	w->n_dirty = 0;
}

static inline void
emit(struct tsw_worker *w, uint16_t o, struct rte_mbuf *m)
{
	if (w->out_n[o] == TSW_OUT_BUF)
		flush_out(w, o);   /* stays on the dirty list */
	else if (w->out_n[o] == 0)
		w->dirty[w->n_dirty++] = o;
	w->out[o][w->out_n[o]++] = m;
}

static inline void
drop(struct tsw_worker *w, uint16_t in, struct rte_mbuf *m, enum tsw_drop why)
{
	w->cnt->drop[why]++;
	w->cnt->port[in].drops++;
	rte_pktmbuf_free(m);
}

/* A frame's fields for the security groups' filters, read when one first
 * needs them (once for all the copies of a flood). */
struct sg_frame {
	struct tsw_sg_pkt p;
	bool parsed;
};

static inline struct tsw_sg_pkt *
sg_fields(struct sg_frame *f, const struct rte_mbuf *m)
{
	if (!f->parsed) {
		tsw_sg_parse(m, &f->p);
		f->parsed = true;
	}
	return &f->p;
}

static inline struct tsw_sg_ctx
sg_ctx(const struct tsw_worker *w)
{
	return (struct tsw_sg_ctx){ .ct = __atomic_load_n(&w->dp->ct, __ATOMIC_ACQUIRE),
				    .members = w->dp->members, .dry = w->sg_why != NULL };
}

/* m to VM port o of network zone, through o's ingress filter when o has
 * security groups (R-G5, R-G9: floods too). */
static inline void
emit_vm(struct tsw_worker *w, uint16_t in, uint16_t o, struct rte_mbuf *m, struct sg_frame *f,
	uint16_t zone, uint64_t now_ms)
{
	const struct tsw_sg_ruleset *rs = __atomic_load_n(&w->dp->ports[o].sg, __ATOMIC_ACQUIRE);

	if (unlikely(rs != NULL)) {
		struct tsw_sg_ctx x = sg_ctx(w);
		enum tsw_drop d = tsw_sg_ingress(&x, rs, o, zone, sg_fields(f, m), now_ms,
						 w->sg_why);
		if (d != TSW_DROP_MAX) {
			drop(w, in, m, d);
			return;
		}
	}
	emit(w, o, m);
}

/* Hand m to the management thread (tag: see struct tsw_worker). */
static inline void
punt(struct tsw_worker *w, uint16_t in, struct rte_mbuf *m, uint32_t tag, enum tsw_drop full)
{
	m->hash.usr = tag;
	if (w->punt_ring == NULL || rte_ring_sp_enqueue(w->punt_ring, m) != 0) {
		drop(w, in, m, full);
		return;
	}
	w->cnt->punted++;
}

void
tsw_pipeline_inject(struct tsw_worker *w)
{
	struct rte_mbuf *m[TSW_BURST];
	unsigned int n;

	if (w->inject_ring == NULL)
		return;
	n = rte_ring_sc_dequeue_burst(w->inject_ring, (void **)m, TSW_BURST, NULL);
	for (unsigned int i = 0; i < n; i++)
		emit(w, TSW_OUT_UPLINK, m[i]);
	w->cnt->injected += n;
}

void
tsw_pipeline_ring_drain(struct rte_ring *r)
{
	struct rte_mbuf *m[TSW_BURST];
	unsigned int n;

	while (r != NULL && (n = rte_ring_sc_dequeue_burst(r, (void **)m, TSW_BURST, NULL)) > 0)
		rte_pktmbuf_free_bulk(m, n);
}

/* ARP, or ICMP to local_ip (decap_parse said so through r): the slow path. */
static inline bool
for_management(const struct rte_mbuf *m, enum tsw_drop r)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	if (r == TSW_DROP_uplink_not_ip)
		return eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	if (r == TSW_DROP_ip_bad_proto)
		return ((const struct rte_ipv4_hdr *)(eth + 1))->next_proto_id == IPPROTO_ICMP;
	return false;
}

/* Encapsulate m with network net's id towards tunnel idx and queue it;
 * hash: m's inner flow hash (VXLAN source port). */
static void
to_tunnel_hashed(struct tsw_worker *w, uint16_t in, struct rte_mbuf *m,
		 const struct tsw_network *net, uint16_t idx, uint32_t hash)
{
	const struct tsw_encap_hdr *h = tsw_dp_tunnel_hdr(w->dp, net->type, idx);
	struct tsw_tun_counters *tc = &w->cnt->tun[net->type][idx];
	uint32_t len = rte_pktmbuf_pkt_len(m);
	enum tsw_drop r;

	if (h == NULL) {
		tc->drops++;
		drop(w, in, m, TSW_DROP_no_route);
		return;
	}
	r = tsw_encap_hashed(m, h, net->seg_id, w->ip_id++, hash);
	if (r != TSW_OK) {
		tc->drops++;
		drop(w, in, m, r);
		return;
	}
	tc->tx_pkts++;
	tc->tx_bytes += len;
	if (unlikely(h->unresolved))
		punt(w, in, m, h->nh_ip, TSW_DROP_no_neighbor);   /* waits for ARP */
	else
		emit(w, TSW_OUT_UPLINK, m);
}

static inline uint32_t
flow_hash_for(const struct tsw_network *net, const struct rte_mbuf *m)
{
	return net->type == TSW_TUN_VXLAN ? tsw_inner_flow_hash(m) : 0;
}

static inline void
to_tunnel(struct tsw_worker *w, uint16_t in, struct rte_mbuf *m, const struct tsw_network *net,
	  uint16_t idx)
{
	to_tunnel_hashed(w, in, m, net, idx, flow_hash_for(net, m));
}

/* m, of provider network net, to its physical network (R-V1): tagged with
 * the network's VLAN id and the priority of the VM's own priority tag
 * (taken off at classification, kept in the mbuf's stripped-VLAN
 * metadata), else 0; untagged on a flat network; bounded by P's MTU, the
 * tag not counted (R-V5). */
static void
to_phys(struct tsw_worker *w, uint16_t in, struct rte_mbuf *m, const struct tsw_network *net)
{
	const struct tsw_physnet *ph = &w->dp->phys[net->phys];

	if (unlikely(rte_pktmbuf_pkt_len(m) - RTE_ETHER_HDR_LEN > ph->mtu)) {
		drop(w, in, m, TSW_DROP_phys_too_big);
		return;
	}
	if (net->kind == TSW_NET_VLAN) {
		uint16_t pcp = m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED ? m->vlan_tci & 0xe000 : 0;
		struct rte_ether_hdr *eth;
		struct rte_vlan_hdr *vh;
		char *p = NULL;

		if (likely(RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1))
			p = rte_pktmbuf_prepend(m, sizeof(*vh));
		if (unlikely(p == NULL)) {
			drop(w, in, m, TSW_DROP_no_headroom);
			return;
		}
		memmove(p, p + sizeof(*vh), 2 * RTE_ETHER_ADDR_LEN);
		eth = (struct rte_ether_hdr *)p;
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
		vh = (struct rte_vlan_hdr *)(eth + 1);
		/* the inner ethertype is where it was */
		vh->vlan_tci = rte_cpu_to_be_16((uint16_t)(pcp | net->vlan));
	}
	emit(w, ph->out, m);
}

/* The outer VLAN tag off m, whose first 18 bytes are contiguous. */
static inline void
pop_vlan_tag(struct rte_mbuf *m)
{
	char *p = rte_pktmbuf_mtod(m, char *);

	memmove(p + sizeof(struct rte_vlan_hdr), p, 2 * RTE_ETHER_ADDR_LEN);
	rte_pktmbuf_adj(m, sizeof(struct rte_vlan_hdr));
}

/* A priority tag (VID 0) off a VM's frame, as OVS's access port takes it
 * (other VMs and tunnels get the frame untagged; a VLAN provider network's
 * tag gets its priority, R-V1): the tag goes to the mbuf's stripped-VLAN
 * metadata. The header's first 18 bytes are contiguous. */
static inline void
strip_priority_tag(struct rte_mbuf *m)
{
	const char *p = rte_pktmbuf_mtod(m, const char *);

	m->vlan_tci = rte_be_to_cpu_16(((const struct rte_vlan_hdr *)(p + RTE_ETHER_HDR_LEN))
					       ->vlan_tci);
	m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
	pop_vlan_tag(m);
}

/* Prefetch, for writing, the lines a copy will write in mbuf m fresh from
 * the pool: its header (both lines: rte_pktmbuf_reset() writes both), the
 * data room's first line and the headroom line before it (an outer header
 * goes there). data: where a pktmbuf pool's data room starts (a hint
 * only: computed, not read from the mbuf, so as not to wait for it). */
static inline void
prefetch_fresh(struct rte_mbuf *m, size_t data)
{
	rte_prefetch0_write(m);
	rte_prefetch0_write((char *)m + RTE_CACHE_LINE_SIZE);
	rte_prefetch0_write((char *)m + data - RTE_CACHE_LINE_SIZE);
	rte_prefetch0_write((char *)m + data);
}

static inline size_t
data_room_offset(const struct rte_mempool *pool)
{
	return sizeof(struct rte_mbuf) + rte_pktmbuf_priv_size((struct rte_mempool *)(uintptr_t)pool) +
	       RTE_PKTMBUF_HEADROOM;
}

/* n raw mbufs into c[]: the spares first (prefetched by an earlier flood),
 * then from the pool. Then n new spares are taken and prefetched for the
 * next flood of the burst. Returns false (nothing taken) when the pool is
 * short. */
static bool
take_raw(struct tsw_worker *w, struct rte_mbuf **c, unsigned int n)
{
	unsigned int got = RTE_MIN(n, (unsigned int)w->spare_n);
	size_t data = data_room_offset(w->pool);

	if (got < n && rte_mempool_get_bulk(w->pool, (void **)(c + got), n - got) != 0)
		return false;
	memcpy(c, w->spare, got * sizeof(*c));
	memmove(w->spare, w->spare + got, (w->spare_n - got) * sizeof(*c));
	w->spare_n = (uint16_t)(w->spare_n - got);
	for (unsigned int i = got; i < n; i++)
		prefetch_fresh(c[i], data);
	n = RTE_MIN(n, (unsigned int)RTE_DIM(w->spare) - w->spare_n);
	if (n > 0 && rte_mempool_get_bulk(w->pool, (void **)(w->spare + w->spare_n), n) == 0) {
		for (unsigned int i = 0; i < n; i++)
			prefetch_fresh(w->spare[w->spare_n + i], data);
		w->spare_n = (uint16_t)(w->spare_n + n);
	}
	return true;
}

/* The spares go back to the pool: at the end of every burst. */
static inline void
release_spares(struct tsw_worker *w)
{
	if (w->spare_n > 0) {
		rte_mempool_put_bulk(w->pool, (void **)w->spare, w->spare_n);
		w->spare_n = 0;
	}
}

/* Up to n copies of m into c[]; returns how many were made, c[0..made)
 * (the rest: no_mbuf). A frame of one segment is copied as a burst into
 * mbufs whose lines were prefetched before any is written (take_raw()):
 * the mbufs come back from whichever core freed them, and written one by
 * one each would cost a full cache miss. */
static unsigned int
copy_burst(struct tsw_worker *w, const struct rte_mbuf *m, struct rte_mbuf **c, unsigned int n)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	unsigned int made = 0;

	if (n == 0)
		return 0;
	if (m->nb_segs == 1 && take_raw(w, c, n)) {
		const char *src = rte_pktmbuf_mtod(m, const char *);

		for (unsigned int i = 0; i < n; i++) {
			struct rte_mbuf *d = c[i];

			rte_pktmbuf_reset(d);
			if (len > rte_pktmbuf_tailroom(d)) {    /* a pool with less room */
				rte_mempool_put_bulk(w->pool, (void **)c, n);
				goto one_by_one;
			}
			rte_memcpy(rte_pktmbuf_mtod(d, char *), src, len);
			d->data_len = (uint16_t)len;
			d->pkt_len = len;
			d->port = m->port;
			d->vlan_tci = m->vlan_tci;
			d->vlan_tci_outer = m->vlan_tci_outer;
			d->tx_offload = m->tx_offload;
			d->hash = m->hash;
			d->packet_type = m->packet_type;
			d->ol_flags = m->ol_flags & ~(RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL);
			rte_mbuf_dynfield_copy(d, m);
		}
		return n;
	}
one_by_one:
	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *d = rte_pktmbuf_copy(m, w->pool, 0, UINT32_MAX);
		if (d == NULL)
			break;          /* c[i] stays the copy for destination i */
		c[made++] = d;
	}
	return made;
}

/* Flood m in network net: every member port but `except`, and, when
 * with_tunnels (never from a tunnel or from P: split horizon), every tunnel
 * of the flood set, or a provider network's physical network P (R-V3).
 * The last destination gets m itself, the others copies. */
#define TO_PHYS 0xffffu
static void
flood(struct tsw_worker *w, uint16_t in, struct rte_mbuf *m, uint16_t netidx,
      int except, bool with_tunnels, struct sg_frame *f, uint64_t now_ms)
{
	const struct tsw_network *net = &w->dp->nets[netidx];
	const struct tsw_members *mb = tsw_dp_members(w->dp, netidx);
	uint32_t n_tun, total, dest = 0;
	uint16_t to[TSW_BURST];            /* a chunk's destinations: port, or tunnel | bit 15 */
	struct rte_mbuf *c[TSW_BURST];
	uint32_t hash;

	if (mb == NULL) {
		drop(w, in, m, TSW_DROP_port_no_network);
		return;
	}
	n_tun = with_tunnels ? mb->n_flood : 0;
	bool phys = with_tunnels && net->kind != TSW_NET_TUNNEL;
	total = n_tun + phys;
	for (uint16_t i = 0; i < mb->n_ports; i++)
		total += (int)mb->ports[i] != except;
	if (total == 0) {
		w->cnt->net[netidx].drops++;
		drop(w, in, m, TSW_DROP_no_destination);
		return;
	}
	w->cnt->net[netidx].flooded++;
	/* every copy of the frame has the same inner flow */
	hash = n_tun > 0 ? flow_hash_for(net, m) : 0;
	/* destinations in order (ports, then tunnels), in chunks of copies */
	uint32_t pi = 0, ti = 0;
	while (dest < total - 1) {
		unsigned int k = 0, made;

		while (k < TSW_BURST && dest + k < total - 1) {
			if (pi < mb->n_ports) {
				uint16_t p = mb->ports[pi++];
				if ((int)p != except)
					to[k++] = p;
			} else if (ti < n_tun) {
				to[k++] = (uint16_t)(TSW_DEST_TUNNEL_BIT | mb->flood[ti++]);
			} else {
				to[k++] = TO_PHYS;
			}
		}
		made = copy_burst(w, m, c, k);
		if (made < k) {
			w->cnt->drop[TSW_DROP_no_mbuf] += k - made;
			w->cnt->port[in].drops += k - made;
		}
		for (unsigned int i = 0; i < made; i++) {
			if (to[i] == TO_PHYS)
				to_phys(w, in, c[i], net);
			else if (to[i] & TSW_DEST_TUNNEL_BIT)
				to_tunnel_hashed(w, in, c[i], net,
						 (uint16_t)(to[i] & ~TSW_DEST_TUNNEL_BIT), hash);
			else
				emit_vm(w, in, to[i], c[i], f, netidx, now_ms);
		}
		dest += k;
	}
	/* the last destination: m itself */
	while (pi < mb->n_ports && (int)mb->ports[pi] == except)
		pi++;
	if (pi < mb->n_ports)
		emit_vm(w, in, mb->ports[pi], m, f, netidx, now_ms);
	else if (ti < n_tun)
		to_tunnel_hashed(w, in, m, net, mb->flood[ti], hash);
	else
		to_phys(w, in, m, net);
}

static inline bool
vlan_tpid(uint16_t et_be)
{
	return et_be == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN) ||
	       et_be == rte_cpu_to_be_16(RTE_ETHER_TYPE_QINQ);
}

/* The FDB keys of a burst, looked up in one bulk call: every frame's
 * destination, and its source only when it is to be learned and was not
 * posted recently (then tsw_learn_post() would do nothing: not looking the
 * source up at all halves the lookups of steady traffic). */
struct burst_keys {
	struct tsw_fdb_key k[2 * TSW_BURST];      /* 2i: source, 2i + 1: destination */
	const struct tsw_fdb_key *kp[2 * TSW_BURST];
	int16_t at[2 * TSW_BURST];                 /* position in kp, -1: not looked up */
	tsw_fdb_entry_t ent[2 * TSW_BURST];        /* results, in kp order */
	uint16_t n;
};

static inline void
set_keys(struct tsw_worker *w, struct burst_keys *b, uint16_t i, uint16_t net,
	 const struct rte_ether_hdr *eth, uint16_t src_dest, uint64_t now_ms)
{
	/* the 14-byte header is there: 8 bytes readable at either MAC */
	uint64_t src = tsw_fdb_key_word(net, &eth->src_addr);
	uint64_t dst = tsw_fdb_key_word(net, &eth->dst_addr);

	memcpy(&b->k[2 * i], &src, sizeof(src));
	memcpy(&b->k[2 * i + 1], &dst, sizeof(dst));
	b->at[2 * i] = -1;
	if (tsw_fdb_key_word_learnable(src) && !tsw_learn_recent(&w->cache, src, src_dest, now_ms)) {
		b->at[2 * i] = (int16_t)b->n;
		b->kp[b->n++] = &b->k[2 * i];
	}
	b->at[2 * i + 1] = (int16_t)b->n;
	b->kp[b->n++] = &b->k[2 * i + 1];
}

/* Frame i's source is to be learned: post it (R-F1, R-T1). */
static inline void
learn_source(struct tsw_worker *w, const struct burst_keys *b, uint16_t i, enum tsw_fdb_kind kind,
	     uint16_t dest, uint64_t now_ms)
{
	if (b->at[2 * i] >= 0)
		tsw_learn_post(w->learn_ring, &w->cache, w->cnt, &b->k[2 * i], b->ent[b->at[2 * i]],
			       kind, dest, now_ms);
}

/* R-F6: answer an ARP request for a known IP of the network on port in.
 * Returns true when answered. */
static bool
arp_respond(struct tsw_worker *w, uint16_t in, uint16_t net, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_arp_hdr *req;
	struct rte_ether_addr mac;
	struct rte_ether_hdr *reth;
	struct rte_arp_hdr *rep;
	struct rte_mbuf *r;
	uint32_t len;

	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) ||
	    !rte_is_broadcast_ether_addr(&eth->dst_addr) ||
	    !tsw_pkt_head(m, sizeof(*eth) + sizeof(*req)))
		return false;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	req = (const struct rte_arp_hdr *)(eth + 1);
	if (req->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    req->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    req->arp_hlen != RTE_ETHER_ADDR_LEN || req->arp_plen != 4 ||
	    req->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST))
		return false;
	if (!tsw_dp_arp_lookup(w->dp, net, req->arp_data.arp_tip, &mac))
		return false;
	r = rte_pktmbuf_alloc(w->pool);
	if (r == NULL) {
		w->cnt->drop[TSW_DROP_no_mbuf]++;
		return false;
	}
	/* As long as the request, its bytes past the ARP header kept (OVS
	 * rewrites the request in place: a 60-byte padded request gets a
	 * 60-byte reply), within one mbuf. */
	len = RTE_MIN(rte_pktmbuf_pkt_len(m), (uint32_t)rte_pktmbuf_tailroom(r));
	reth = (struct rte_ether_hdr *)rte_pktmbuf_append(r, (uint16_t)len);
	rep = (struct rte_arp_hdr *)(reth + 1);
	if (len > sizeof(*reth) + sizeof(*rep)) {
		uint8_t *tail = (uint8_t *)(rep + 1);
		const void *t = rte_pktmbuf_read(m, sizeof(*reth) + sizeof(*rep),
						 len - sizeof(*reth) - sizeof(*rep), tail);
		if (t != tail)
			memcpy(tail, t, len - sizeof(*reth) - sizeof(*rep));
	}
	rte_ether_addr_copy(&eth->src_addr, &reth->dst_addr);
	rte_ether_addr_copy(&mac, &reth->src_addr);
	reth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	rep->arp_hardware = req->arp_hardware;
	rep->arp_protocol = req->arp_protocol;
	rep->arp_hlen = RTE_ETHER_ADDR_LEN;
	rep->arp_plen = 4;
	rep->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&mac, &rep->arp_data.arp_sha);
	rep->arp_data.arp_sip = req->arp_data.arp_tip;
	rte_ether_addr_copy(&req->arp_data.arp_sha, &rep->arp_data.arp_tha);
	rep->arp_data.arp_tip = req->arp_data.arp_sip;
	w->cnt->arp_replies++;
	emit(w, in, r);
	return true;
}

/* ---- from a VM port ---- */

/* Security groups, egress (R-G*): the connection lookups of the burst's
 * frames that passed port security started (their fields parsed), before
 * the FDB's lookups, whose misses theirs then overlap. */
static void
egress_prefetch(struct tsw_worker *w, const struct tsw_sg_ruleset *rs, uint16_t net,
		struct rte_mbuf **ok, struct sg_frame *sgf, uint16_t n)
{
	const struct tsw_ct *ct = rs->stateful ? __atomic_load_n(&w->dp->ct, __ATOMIC_ACQUIRE)
					       : NULL;

	for (uint16_t i = 0; i < n; i++)
		sg_fields(&sgf[i], ok[i]);
	if (ct != NULL)
		for (uint16_t i = 0; i < n; i++)
			tsw_sg_prefetch(ct, &sgf[i].p, net);
}

/* ...then each frame judged; the ones that pass are compacted to the front
 * of ok, their fields and FDB keys and results with them. Returns how
 * many passed. */
static uint16_t
egress_filter(struct tsw_worker *w, uint16_t port, const struct tsw_portsec *ps,
	      const struct tsw_sg_ruleset *rs, uint16_t net, struct rte_mbuf **ok,
	      struct sg_frame *sgf, uint16_t n, struct burst_keys *b, uint64_t *ok_bytes,
	      uint64_t now_ms)
{
	struct tsw_sg_ctx x = sg_ctx(w);
	uint16_t kept = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = ok[i];
		enum tsw_drop why = tsw_sg_egress(&x, rs, port, ps, net, &sgf[i].p, now_ms,
						  w->sg_why);
		if (why != TSW_DROP_MAX) {
			drop(w, port, m, why);
			continue;
		}
		if (kept != i) {
			ok[kept] = m;
			sgf[kept] = sgf[i];
			/* the keys' lookup is done: its results stay where at says */
			b->k[2 * kept] = b->k[2 * i];
			b->k[2 * kept + 1] = b->k[2 * i + 1];
			b->at[2 * kept] = b->at[2 * i];
			b->at[2 * kept + 1] = b->at[2 * i + 1];
		}
		*ok_bytes += rte_pktmbuf_pkt_len(m);
		kept++;
	}
	return kept;
}

static void
vm_rx(struct tsw_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n, tsw_ns_t now)
{
	const struct tsw_dp *dp = w->dp;
	const uint64_t now_ms = now / TSW_NS_PER_MS;
	struct burst_keys b;
	struct rte_mbuf *ok[TSW_BURST];
	struct sg_frame sgf[TSW_BURST];
	struct tsw_port_counters *pc = &w->cnt->port[port];
	const struct tsw_network *net;
	const struct tsw_portsec *ps;
	const struct tsw_sg_ruleset *rs;
	uint16_t nok = 0;
	int netidx = tsw_dp_port_net(dp, port);

	uint64_t bytes = 0, ok_bytes = 0;

	b.n = 0;
	for (uint16_t i = 0; i < n; i++) {
		/* the headers, and the headroom line an outer header would be
		 * written to: in cache by the time the burst gets there */
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], char *));
		rte_prefetch0_write(rte_pktmbuf_mtod(pkts[i], char *) - RTE_CACHE_LINE_SIZE);
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
	}
	/* counters once per burst: per-frame increments through memory form a
	 * dependency chain the compiler cannot keep in registers */
	pc->rx_pkts += n;
	pc->rx_bytes += bytes;
	if (netidx < 0) {
		for (uint16_t i = 0; i < n; i++)
			drop(w, port, pkts[i], TSW_DROP_port_no_network);
		return;
	}
	net = &dp->nets[netidx];
	ps = __atomic_load_n(&dp->ports[port].sec, __ATOMIC_ACQUIRE);
	rs = __atomic_load_n(&dp->ports[port].sg, __ATOMIC_ACQUIRE);

	/* classify (R-C1), port security (R-S1..R-S4), build the lookup keys */
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eth;

		if (!tsw_pkt_head(m, RTE_ETHER_HDR_LEN)) {
			drop(w, port, m, TSW_DROP_runt);
			continue;
		}
		eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		if (vlan_tpid(eth->ether_type)) {
			const struct rte_vlan_hdr *vh;
			if (!tsw_pkt_head(m, RTE_ETHER_HDR_LEN + sizeof(*vh))) {
				drop(w, port, m, TSW_DROP_runt);
				continue;
			}
			eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
			vh = (const struct rte_vlan_hdr *)(eth + 1);
			if ((rte_be_to_cpu_16(vh->vlan_tci) & 0xfff) != 0) {
				drop(w, port, m, TSW_DROP_vm_vlan_tagged);
				continue;
			}
			strip_priority_tag(m);
			eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		}
		if (ps != NULL) {
			enum tsw_drop why = tsw_portsec_check(ps, m);
			if (why != TSW_DROP_MAX) {
				drop(w, port, m, why);
				continue;
			}
		}
		sgf[nok].parsed = false;
		set_keys(w, &b, nok, (uint16_t)netidx, eth, tsw_dest_port(port), now_ms);
		ok[nok++] = m;
		if (likely(rs == NULL))
			ok_bytes += rte_pktmbuf_pkt_len(m);   /* else: the ones that pass */
	}
	/* security groups, egress: the connections' lines and the FDB's on
	 * their way together, then the verdicts */
	if (unlikely(rs != NULL))
		egress_prefetch(w, rs, (uint16_t)netidx, ok, sgf, nok);
	tsw_fdb_lookup_bulk(dp->fdb, b.kp, b.n, now_ms, b.ent);
	if (unlikely(rs != NULL))
		nok = egress_filter(w, port, ps, rs, (uint16_t)netidx, ok, sgf, nok, &b, &ok_bytes,
				    now_ms);
	const struct tsw_fdb_timeouts *to = tsw_fdb_timeouts(dp->fdb);
	tsw_fdb_entry_t dsts[TSW_BURST];

	/* the destinations resolved, and the outer headers of the tunnels
	 * they name on their way (a burst's frames spread over up to 64 of
	 * them: out of L1 by the time a frame gets there) */
	for (uint16_t i = 0; i < nok; i++) {
		tsw_fdb_entry_t dst = tsw_fdb_resolve(b.ent[b.at[2 * i + 1]], now_ms, to);
		uint16_t d = tsw_fdb_entry_dest(dst);

		dsts[i] = dst;
		if (dst != 0 && tsw_dest_is_tunnel(d)) {
			const struct tsw_encap_hdr *h = tsw_dp_tunnel_hdr(dp, net->type,
									 tsw_dest_index(d));
			if (h != NULL) {        /* NULL: no route (to_tunnel counts it) */
				rte_prefetch0(h);
				rte_prefetch0((const char *)h + RTE_CACHE_LINE_SIZE);
			}
		}
	}
	w->cnt->net[netidx].from_vm_pkts += nok;
	w->cnt->net[netidx].from_vm_bytes += ok_bytes;
	for (uint16_t i = 0; i < nok; i++) {
		struct rte_mbuf *m = ok[i];
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		tsw_fdb_entry_t dst = dsts[i];

		/* R-F1: learn unicast sources (under a static entry: its learned part) */
		learn_source(w, &b, i, TSW_FDB_LOCAL, tsw_dest_port(port), now_ms);

		if (!rte_is_unicast_ether_addr(&eth->dst_addr)) {
			/* R-F6: answer, then only local ports get the request */
			if (dp->conf.arp_responder && arp_respond(w, port, (uint16_t)netidx, m)) {
				const struct tsw_members *mb = tsw_dp_members(dp, (uint16_t)netidx);
				if (mb != NULL && mb->n_ports > 1)
					flood(w, port, m, (uint16_t)netidx, port, false, &sgf[i],
					      now_ms);
				else
					rte_pktmbuf_free(m);
				continue;
			}
			flood(w, port, m, (uint16_t)netidx, port, true, &sgf[i], now_ms); /* R-F4 */
			continue;
		}
		/* R-F2: the source is learned on this port before the destination
		 * is looked up: a frame to its own source MAC goes nowhere */
		if (rte_is_same_ether_addr(&eth->dst_addr, &eth->src_addr)) {
			drop(w, port, m, TSW_DROP_same_port);
			continue;
		}
		if (dst == 0) {
			flood(w, port, m, (uint16_t)netidx, port, true, &sgf[i], now_ms); /* R-F4 */
			continue;
		}
		uint16_t d = tsw_fdb_entry_dest(dst);
		if (tsw_dest_is_tunnel(d)) {                              /* R-F3 */
			to_tunnel(w, port, m, net, tsw_dest_index(d));
		} else if (tsw_dest_is_phys(d)) {                         /* R-V1 */
			if (net->kind != TSW_NET_TUNNEL)
				to_phys(w, port, m, net);
			else
				drop(w, port, m, TSW_DROP_port_down);
		} else if (d == port) {                                   /* R-F2 */
			drop(w, port, m, TSW_DROP_same_port);
		} else if (tsw_dp_port_net(dp, d) != netidx) {
			drop(w, port, m, TSW_DROP_port_down);
		} else {
			emit_vm(w, port, d, m, &sgf[i], (uint16_t)netidx, now_ms);   /* R-F2 */
		}
	}
	release_spares(w);      /* the burst's floods are done */
}

/* A burst with a guest's offloads in it (tsw_offload.h): partial checksums
 * completed, TSO frames cut into segments, then forwarded in bursts of at
 * most TSW_BURST as if the guest had sent them so. A TSO frame that cannot
 * be cut is counted as received and dropped. */
static void
vm_rx_offloads(struct tsw_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
	       tsw_ns_t now)
{
	struct rte_mbuf *stage[TSW_BURST], *seg[TSW_TSO_MAX_SEGS];
	uint16_t ns = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint16_t k = 1;

		if (tsw_offload_is_tso(m)) {
			enum tsw_drop why = TSW_DROP_MAX;

			k = tsw_offload_tso_segment(m, w->pool, seg, &why);
			if (k == 0) {
				w->cnt->port[port].rx_pkts++;
				w->cnt->port[port].rx_bytes += rte_pktmbuf_pkt_len(m);
				drop(w, port, m, why);
				continue;
			}
			if (k > 1 || seg[0] != m) {
				w->cnt->tso_frames++;
				w->cnt->tso_segments += k;
			}
		} else {
			if (tsw_offload_csum_partial(m)) {
				tsw_offload_csum_complete(m);
				w->cnt->csum_completed++;
			}
			seg[0] = m;
		}
		for (uint16_t j = 0; j < k; j++) {
			stage[ns++] = seg[j];
			if (ns == TSW_BURST) {
				vm_rx(w, port, stage, ns, now);
				ns = 0;
			}
		}
	}
	if (ns > 0)
		vm_rx(w, port, stage, ns, now);
}

void
tsw_pipeline_vm_rx(struct tsw_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
		   tsw_ns_t now)
{
	uint64_t flags = 0;

	for (uint16_t i = 0; i < n; i++)
		flags |= pkts[i]->ol_flags;
	if (unlikely(flags & (RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_MASK)))
		vm_rx_offloads(w, port, pkts, n, now);
	else
		vm_rx(w, port, pkts, n, now);
}

/* ---- from the uplink ---- */

/* Security groups, ingress (R-G*): the connection lookups of a burst's
 * unicast frames from tunnels to VM ports with stateful groups started
 * (the filter in emit_vm finishes them); every frame's fields marked
 * unparsed. */
static void
ingress_prefetch(struct tsw_worker *w, struct rte_mbuf **ok, uint16_t n, const uint16_t *netof,
		 const struct burst_keys *b, uint64_t now_ms, const struct tsw_fdb_timeouts *to,
		 struct sg_frame *sgf, const struct tsw_ct *ct)
{
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(ok[i],
								   const struct rte_ether_hdr *);
		tsw_fdb_entry_t dst = tsw_fdb_resolve(b->ent[b->at[2 * i + 1]], now_ms, to);
		const struct tsw_sg_ruleset *rs;
		uint16_t d;

		sgf[i].parsed = false;
		if (dst == 0 || !rte_is_unicast_ether_addr(&eth->dst_addr))
			continue;
		d = tsw_fdb_entry_dest(dst);
		if (!tsw_out_is_port(d))
			continue;
		rs = __atomic_load_n(&w->dp->ports[d].sg, __ATOMIC_ACQUIRE);
		if (rs == NULL || !rs->stateful)
			continue;
		tsw_sg_prefetch(ct, sg_fields(&sgf[i], ok[i]), netof[i]);
	}
}

/* A burst from outside (tunnels, P): its FDB keys looked up, and the
 * connection lookups of its frames to filtered ports started (every
 * frame's fields marked unparsed then). Returns the connection table,
 * NULL when there is none. */
static inline struct tsw_ct *
lookups(struct tsw_worker *w, struct burst_keys *b, struct rte_mbuf **ok, uint16_t n,
	const uint16_t *netof, uint64_t now_ms, struct sg_frame *sgf)
{
	const struct tsw_dp *dp = w->dp;
	struct tsw_ct *ct = __atomic_load_n(&dp->ct, __ATOMIC_ACQUIRE);

	tsw_fdb_lookup_bulk(dp->fdb, b->kp, b->n, now_ms, b->ent);
	if (unlikely(ct != NULL))
		ingress_prefetch(w, ok, n, netof, b, now_ms, tsw_fdb_timeouts(dp->fdb), sgf, ct);
	return ct;
}

/* ---- from a physical network ---- */

/* Frames of physical network ph received on input `in` (its own device, or
 * the uplink's frames that are not the underlay's): each belongs to the
 * provider network of its VLAN tag (untagged or priority-tagged: the flat
 * one) and reaches its local ports without the tag (R-V2); sources are
 * learned against P (R-V3); nothing goes back to P. */
static void
phys_rx(struct tsw_worker *w, uint16_t ph, uint16_t in, struct rte_mbuf **pkts, uint16_t n,
	tsw_ns_t now)
{
	const struct tsw_dp *dp = w->dp;
	const uint64_t now_ms = now / TSW_NS_PER_MS;
	const uint16_t mtu = dp->phys[ph].mtu;
	struct burst_keys b;
	struct rte_mbuf *ok[TSW_BURST];
	uint16_t netof[TSW_BURST], nin = 0;

	b.n = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_ether_hdr *eth;
		uint32_t hl = RTE_ETHER_HDR_LEN;
		uint16_t vid = 0;
		int net;

		if (!tsw_pkt_head(m, RTE_ETHER_HDR_LEN)) {
			drop(w, in, m, TSW_DROP_runt);
			continue;
		}
		eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		if (unlikely(m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED)) {
			/* a PMD that took the (outer) tag off itself */
			vid = m->vlan_tci & 0xfff;
			m->ol_flags &= ~(RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
		} else if (vlan_tpid(eth->ether_type)) {
			if (!tsw_pkt_head(m, RTE_ETHER_HDR_LEN + sizeof(struct rte_vlan_hdr))) {
				drop(w, in, m, TSW_DROP_runt);
				continue;
			}
			eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
			vid = rte_be_to_cpu_16(((const struct rte_vlan_hdr *)(eth + 1))->vlan_tci) &
			      0xfff;
			hl += sizeof(struct rte_vlan_hdr);
		}
		net = tsw_dp_phys_net(dp, ph, vid);
		if (net < 0) {
			drop(w, in, m, TSW_DROP_phys_unknown_vlan);
			continue;
		}
		if (rte_pktmbuf_pkt_len(m) - hl > mtu) {                  /* R-V5 */
			drop(w, in, m, TSW_DROP_phys_too_big);
			continue;
		}
		if (hl != RTE_ETHER_HDR_LEN) {                            /* R-V2: untagged */
			pop_vlan_tag(m);
			eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		}
		set_keys(w, &b, nin, (uint16_t)net, eth, TSW_DEST_PHYS, now_ms);
		netof[nin] = (uint16_t)net;
		ok[nin++] = m;
	}
	const struct tsw_fdb_timeouts *to = tsw_fdb_timeouts(dp->fdb);
	struct sg_frame sgf[TSW_BURST];
	struct tsw_ct *ct = lookups(w, &b, ok, nin, netof, now_ms, sgf);
	for (uint16_t i = 0; i < nin; i++) {
		struct rte_mbuf *m = ok[i];
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		uint16_t netidx = netof[i];
		tsw_fdb_entry_t dst = tsw_fdb_resolve(b.ent[b.at[2 * i + 1]], now_ms, to);
		struct sg_frame *f = &sgf[i];

		w->cnt->net[netidx].from_phys_pkts++;
		w->cnt->net[netidx].from_phys_bytes += rte_pktmbuf_pkt_len(m);
		learn_source(w, &b, i, TSW_FDB_LOCAL, TSW_DEST_PHYS, now_ms);   /* R-V3 */
		if (likely(ct == NULL))
			f->parsed = false;
		if (!rte_is_unicast_ether_addr(&eth->dst_addr) || dst == 0) {
			flood(w, in, m, netidx, -1, false, f, now_ms);   /* local ports only */
			continue;
		}
		uint16_t d = tsw_fdb_entry_dest(dst);
		if (!tsw_out_is_port(d))
			drop(w, in, m, TSW_DROP_same_port);   /* behind P itself: not back */
		else if (tsw_dp_port_net(dp, d) != netidx)
			drop(w, in, m, TSW_DROP_port_down);
		else
			emit_vm(w, in, d, m, f, netidx, now_ms);
	}
	release_spares(w);
}

void
tsw_pipeline_phys_rx(struct tsw_worker *w, uint16_t ph, struct rte_mbuf **pkts, uint16_t n,
		     tsw_ns_t now)
{
	const uint16_t in = w->dp->phys[ph].out;
	struct tsw_port_counters *pc = &w->cnt->port[in];
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++) {
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], char *));
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
	}
	pc->rx_pkts += n;
	pc->rx_bytes += bytes;
	phys_rx(w, ph, in, pkts, n, now);
}

/* On an uplink that also carries a physical network (R-V4): the underlay's
 * frames are the untagged ones to the uplink's MAC, and a copy of every
 * untagged broadcast ARP (the underlay answers for local_ip and follows its
 * next hops); everything else is the physical network's. */
static inline bool
underlay_frame(struct tsw_worker *w, struct rte_mbuf *m, const struct rte_ether_addr *mac)
{
	const struct rte_ether_hdr *eth;

	if (!tsw_pkt_head(m, RTE_ETHER_HDR_LEN) || (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED))
		return false;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (vlan_tpid(eth->ether_type))
		return false;
	if (rte_is_same_ether_addr(&eth->dst_addr, mac))
		return true;
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) &&
	    rte_is_broadcast_ether_addr(&eth->dst_addr)) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, w->pool, 0, UINT32_MAX);

		if (c == NULL)
			w->cnt->drop[TSW_DROP_no_mbuf]++;
		else
			punt(w, TSW_OUT_UPLINK, c, 0, TSW_DROP_punt_full);
	}
	return false;
}

void
tsw_pipeline_uplink_rx(struct tsw_worker *w, struct rte_mbuf **pkts, uint16_t n, tsw_ns_t now)
{
	const struct tsw_dp *dp = w->dp;
	const uint64_t now_ms = now / TSW_NS_PER_MS;
	const uint16_t in = TSW_OUT_UPLINK;
	struct tsw_port_counters *pc = &w->cnt->port[in];
	struct tsw_decap_info info[TSW_BURST];
	struct rte_mbuf *ok[TSW_BURST];
	uint64_t idk[2 * TSW_BURST];
	const void *idkp[2 * TSW_BURST];
	void *idv[2 * TSW_BURST];
	uint64_t hits = 0;
	struct burst_keys b;
	uint16_t netof[TSW_BURST], tunof[TSW_BURST];
	uint16_t nok = 0, nin = 0, nphys = 0;
	uint64_t bytes = 0;
	int16_t uph = __atomic_load_n(&dp->uplink_phys, __ATOMIC_ACQUIRE);
	struct rte_mbuf *phys[TSW_BURST];

	b.n = 0;
	/* Frames from a NIC (or the ring of another core) were written by
	 * another agent: their mbufs and headers are cache misses. Ask for
	 * the lines of every frame of the burst at once (mbuf, and the outer
	 * and inner headers, which span two), so that the misses overlap
	 * instead of following each other frame by frame. */
	{
		/* where a PMD puts the frame: computed, not read from the mbuf,
		 * so that no prefetch waits for another's miss (a hint only) */
		const size_t data = data_room_offset(w->pool);

		for (uint16_t i = 0; i < n; i++) {
			rte_prefetch0(pkts[i]);
			/* line 1 (next, tx_offload): read when the frame is sent */
			rte_prefetch0((char *)pkts[i] + RTE_CACHE_LINE_SIZE);
			rte_prefetch0((char *)pkts[i] + data);
			rte_prefetch0((char *)pkts[i] + data + RTE_CACHE_LINE_SIZE);
		}
	}
	/* outer headers (R-C2, R-C4) */
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		enum tsw_drop r;

		bytes += rte_pktmbuf_pkt_len(m);
		if (uph >= 0 && !underlay_frame(w, m, &dp->conf.decap.mac)) {
			phys[nphys++] = m;                                /* R-V4 */
			continue;
		}
		r = tsw_decap_parse(m, &dp->conf.decap, &info[nok]);
		if (r != TSW_OK) {
			if (for_management(m, r))
				punt(w, in, m, 0, TSW_DROP_punt_full);
			else
				drop(w, in, m, r);
			continue;
		}
		/* network by id (R-C2), tunnel by source VTEP (R-C3) */
		idk[nok] = tsw_dp_id_key(info[nok].type, info[nok].id);
		idk[TSW_BURST + nok] = tsw_dp_id_key(info[nok].type, info[nok].src_ip);
		idkp[nok] = &idk[nok];
		idkp[TSW_BURST + nok] = &idk[TSW_BURST + nok];
		ok[nok++] = m;
	}
	pc->rx_pkts += n;
	pc->rx_bytes += bytes;
	if (nphys > 0)
		phys_rx(w, (uint16_t)uph, in, phys, nphys, now);
	if (nok == 0)
		return;
	hash_sig_t sig[2 * TSW_BURST];
	for (uint16_t i = 0; i < nok; i++) {
		sig[i] = tsw_hash_sig8(&idk[i]);
		sig[TSW_BURST + i] = tsw_hash_sig8(&idk[TSW_BURST + i]);
	}
	rte_hash_lookup_with_hash_bulk_data(dp->net_by_id, idkp, sig, nok, &hits, idv);
	uint64_t hits_t = 0;
	rte_hash_lookup_with_hash_bulk_data(dp->tun_by_ip, &idkp[TSW_BURST], &sig[TSW_BURST], nok,
					    &hits_t, &idv[TSW_BURST]);

	for (uint16_t i = 0; i < nok; i++) {
		struct rte_mbuf *m = ok[i];
		const struct rte_ether_hdr *eth;

		if (!((hits >> i) & 1)) {
			drop(w, in, m, TSW_DROP_unknown_id);
			continue;
		}
		if (!((hits_t >> i) & 1)) {
			drop(w, in, m, TSW_DROP_unknown_vtep);
			continue;
		}
		netof[nin] = (uint16_t)(uintptr_t)idv[i];
		tunof[nin] = (uint16_t)(uintptr_t)idv[TSW_BURST + i];
		rte_pktmbuf_adj(m, info[i].outer_len);
		if (!tsw_pkt_head(m, RTE_ETHER_HDR_LEN)) {
			w->cnt->tun[info[i].type][tunof[nin]].drops++;
			drop(w, in, m, TSW_DROP_inner_truncated);
			continue;
		}
		eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		if (vlan_tpid(eth->ether_type)) {                        /* R-T3 */
			w->cnt->tun[info[i].type][tunof[nin]].drops++;
			drop(w, in, m, TSW_DROP_inner_vlan_tagged);
			continue;
		}
		set_keys(w, &b, nin, netof[nin], eth,
			 tsw_dest_tunnel(info[i].type, tunof[nin]), now_ms);
		ok[nin++] = m;
	}
	const struct tsw_fdb_timeouts *to = tsw_fdb_timeouts(dp->fdb);
	struct sg_frame sgf[TSW_BURST];
	struct tsw_ct *ct = lookups(w, &b, ok, nin, netof, now_ms, sgf);
	for (uint16_t i = 0; i < nin; i++) {
		struct rte_mbuf *m = ok[i];
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		uint16_t netidx = netof[i];
		enum tsw_tun_type t = dp->nets[netidx].type;
		struct tsw_tun_counters *tc = &w->cnt->tun[t][tunof[i]];
		tsw_fdb_entry_t dst = tsw_fdb_resolve(b.ent[b.at[2 * i + 1]], now_ms, to);

		tc->rx_pkts++;
		tc->rx_bytes += rte_pktmbuf_pkt_len(m);
		w->cnt->net[netidx].from_tun_pkts++;
		w->cnt->net[netidx].from_tun_bytes += rte_pktmbuf_pkt_len(m);
		/* R-T1 */
		learn_source(w, &b, i, TSW_FDB_TUNNEL, tsw_dest_tunnel(t, tunof[i]), now_ms);
		/* R-T4: the source was just learned behind this tunnel, so a
		 * frame to itself is known behind a tunnel: split horizon */
		if (rte_is_same_ether_addr(&eth->dst_addr, &eth->src_addr) &&
		    rte_is_unicast_ether_addr(&eth->dst_addr)) {
			drop(w, in, m, TSW_DROP_split_horizon);
			continue;
		}
		/* R-T2 */
		struct sg_frame *f = &sgf[i];
		if (likely(ct == NULL))
			f->parsed = false;
		if (!rte_is_unicast_ether_addr(&eth->dst_addr) || dst == 0) {
			flood(w, in, m, netidx, -1, false, f, now_ms);
			continue;
		}
		uint16_t d = tsw_fdb_entry_dest(dst);
		if (tsw_dest_is_tunnel(d))
			drop(w, in, m, TSW_DROP_split_horizon);
		else if (tsw_dp_port_net(dp, d) != netidx)
			drop(w, in, m, TSW_DROP_port_down);
		else
			emit_vm(w, in, d, m, f, netidx, now_ms);
	}
	release_spares(w);      /* the burst's floods are done */
}
