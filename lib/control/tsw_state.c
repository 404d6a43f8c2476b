/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "tsw_parse.h"
#include "tsw_portsec.h"
#include "tsw_state.h"

/* A port's policy for show_ports: {"mac", "allowed": [{"mac", "ip"}]}. */
static void
fmt_mac(char *buf, size_t len, const struct rte_ether_addr *m)
{
	const uint8_t *b = m->addr_bytes;

	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

static json_t *
portsec_json(const struct tsw_portsec *ps)
{
	json_t *a = json_array();
	char mac[RTE_ETHER_ADDR_FMT_SIZE], ip[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];

	for (int i = 0; i < ps->n_v4; i++) {
		int len = __builtin_popcount(ps->v4[i].mask);
		fmt_mac(mac, sizeof(mac), &ps->macs[ps->v4[i].mac]);
		inet_ntop(AF_INET, &ps->v4[i].addr, ip, sizeof(ip));
		snprintf(buf, sizeof(buf), len == 32 ? "%s" : "%s/%d", ip, len);
		json_array_append_new(a, json_pack("{s:s, s:s}", "mac", mac, "ip", buf));
	}
	for (int i = 0; i < ps->n_v6; i++) {
		fmt_mac(mac, sizeof(mac), &ps->macs[ps->v6[i].mac]);
		inet_ntop(AF_INET6, ps->v6[i].addr, ip, sizeof(ip));
		snprintf(buf, sizeof(buf), ps->v6[i].len == 128 ? "%s" : "%s/%d", ip,
			 ps->v6[i].len);
		json_array_append_new(a, json_pack("{s:s, s:s}", "mac", mac, "ip", buf));
	}
	for (int i = 0; i < ps->n_macs; i++) {        /* MACs with no address */
		bool used = false;
		for (int j = 0; j < ps->n_v4 && !used; j++)
			used = ps->v4[j].mac == i;
		for (int j = 0; j < ps->n_v6 && !used; j++)
			used = ps->v6[j].mac == i;
		if (!used) {
			fmt_mac(mac, sizeof(mac), &ps->macs[i]);
			json_array_append_new(a, json_pack("{s:s, s:n}", "mac", mac, "ip"));
		}
	}
	fmt_mac(mac, sizeof(mac), &ps->macs[0]);
	return json_pack("{s:s, s:o}", "mac", mac, "allowed", a);
}

static const char *const kind_names[] = { "none", "static", "local", "tunnel" };

/* Set key to a new value; a NULL value (out of memory) poisons the object
 * so that the caller's final check catches it. */
static void
put(json_t *o, const char *key, json_t *v)
{
	if (o != NULL && (v == NULL || json_object_set_new(o, key, v) != 0))
		json_object_set_new(o, "\x01oom", json_null());
}

static json_t *
checked(json_t *o)
{
	if (o != NULL && json_object_get(o, "\x01oom") != NULL) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
append(json_t *a, json_t *v)
{
	if (a != NULL && (v == NULL || json_array_append_new(a, v) != 0)) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *
io_json(uint64_t rx_pkts, uint64_t rx_bytes, uint64_t tx_pkts, uint64_t tx_bytes, uint64_t drops)
{
	json_t *o = json_object();
	put(o, "rx_pkts", u64(rx_pkts));
	put(o, "rx_bytes", u64(rx_bytes));
	put(o, "tx_pkts", u64(tx_pkts));
	put(o, "tx_bytes", u64(tx_bytes));
	put(o, "drops", u64(drops));
	return checked(o);
}

static const char *
tunnel_name(const struct tsw_dp *dp, int t, int i, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];
	snprintf(buf, len, "%s/%s", tsw_tun_type_name((enum tsw_tun_type)t),
		 tsw_ip_str(dp->tunnels[t][i].remote_ip, ip));
	return buf;
}

json_t *
tsw_state_counters(const struct tsw_dp *dp, const struct tsw_counters *c,
		   const struct tsw_mgmt *mg)
{
	json_t *o = json_object(), *drops = json_object(), *learn = json_object();
	json_t *ports = json_object(), *nets = json_object(), *tuns = json_object();
	char name[48];

	for (int i = 0; i < TSW_DROP_MAX; i++)
		put(drops, tsw_drop_names[i], u64(c->drop[i]));
	put(o, "drops", checked(drops));
	put(o, "total_drops", u64(tsw_counters_total_drops(c)));
	put(learn, "posted", u64(c->learn_posted));
	put(learn, "ring_full", u64(c->learn_ring_full));
	put(learn, "coalesced", u64(c->learn_coalesced));
	if (mg != NULL) {
		put(learn, "new", u64(mg->learn.applied_new));
		put(learn, "moved", u64(mg->learn.applied_moved));
		put(learn, "refreshed", u64(mg->learn.applied_refresh));
		put(learn, "ignored_static", u64(mg->learn.ignored_static));
		put(learn, "ignored_stale", u64(mg->learn.ignored_stale));
		put(learn, "table_full", u64(mg->learn.table_full));
		put(learn, "limited", u64(mg->learn.limited));
		put(learn, "aged", u64(mg->aged));
	}
	put(o, "learn", checked(learn));
	put(o, "arp_replies", u64(c->arp_replies));
	put(o, "punted", u64(c->punted));
	put(o, "injected", u64(c->injected));
	put(o, "offload", checked(json_pack("{s:I,s:I,s:I,s:I}",
					    "tso_frames", (json_int_t)c->tso_frames,
					    "tso_segments", (json_int_t)c->tso_segments,
					    "csum_completed", (json_int_t)c->csum_completed,
					    "gro_merged", (json_int_t)c->gro_merged)));
	for (int p = 0; p < TSW_N_OUTS; p++) {
		const struct tsw_port_counters *pc = &c->port[p];
		if (p < TSW_MAX_PORTS && !dp->ports[p].in_use)
			continue;
		if (p >= TSW_OUT_PHYS0 && tsw_dp_out_phys(dp, (uint16_t)p) < 0)
			continue;
		json_t *po = io_json(pc->rx_pkts, pc->rx_bytes, pc->tx_pkts, pc->tx_bytes,
				     pc->drops);
		if (po != NULL)
			put(po, "tx_retries", u64(pc->tx_retries));
		put(ports, tsw_dp_out_name(dp, (uint16_t)p), po);
	}
	put(o, "ports", checked(ports));
	for (int n = 0; n < TSW_MAX_NETS; n++) {
		const struct tsw_net_counters *nc = &c->net[n];
		json_t *no;
		if (!dp->nets[n].in_use)
			continue;
		no = json_object();
		put(no, "from_vm_pkts", u64(nc->from_vm_pkts));
		put(no, "from_vm_bytes", u64(nc->from_vm_bytes));
		put(no, "from_tun_pkts", u64(nc->from_tun_pkts));
		put(no, "from_tun_bytes", u64(nc->from_tun_bytes));
		if (dp->nets[n].kind != TSW_NET_TUNNEL) {
			put(no, "from_phys_pkts", u64(nc->from_phys_pkts));
			put(no, "from_phys_bytes", u64(nc->from_phys_bytes));
		}
		put(no, "flooded", u64(nc->flooded));
		put(no, "drops", u64(nc->drops));
		put(nets, dp->nets[n].name, checked(no));
	}
	put(o, "networks", checked(nets));
	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		for (int i = 0; i < TSW_MAX_TUNNELS; i++) {
			const struct tsw_tun_counters *tc = &c->tun[t][i];
			if (!dp->tunnels[t][i].in_use)
				continue;
			put(tuns, tunnel_name(dp, t, i, name, sizeof(name)),
			    io_json(tc->rx_pkts, tc->rx_bytes, tc->tx_pkts, tc->tx_bytes, tc->drops));
		}
	put(o, "tunnels", checked(tuns));
	return checked(o);
}

json_t *
tsw_state_ports(const struct tsw_dp *dp)
{
	json_t *a = json_array();

	for (int p = 0; p < TSW_MAX_PORTS; p++) {
		const struct tsw_vm_port *vp = &dp->ports[p];
		json_t *o;
		if (!vp->in_use)
			continue;
		o = json_object();
		put(o, "name", json_string(vp->name));
		put(o, "network", json_string(dp->nets[vp->net].name));
		if (vp->eth_port != UINT16_MAX)   /* an ethdev (a vhost-user port is none) */
			put(o, "dpdk_port", json_integer(vp->eth_port));
		put(o, "port_security", vp->sec != NULL ? portsec_json(vp->sec) : json_false());
		put(o, "learned_macs", json_integer(tsw_fdb_learned_on_port(dp->fdb, (uint16_t)p)));
		a = append(a, checked(o));
	}
	return a;
}

json_t *
tsw_state_networks(const struct tsw_dp *dp)
{
	char ip[INET_ADDRSTRLEN];
	json_t *a = json_array();

	for (int n = 0; n < TSW_MAX_NETS; n++) {
		const struct tsw_network *net = &dp->nets[n];
		const struct tsw_members *mb = net->members;
		json_t *o, *ports, *flood;
		if (!net->in_use)
			continue;
		o = json_object();
		ports = json_array();
		flood = json_array();
		for (int i = 0; i < mb->n_ports; i++)
			ports = append(ports, json_string(dp->ports[mb->ports[i]].name));
		for (int i = 0; i < mb->n_flood; i++)
			flood = append(flood, json_string(
				tsw_ip_str(dp->tunnels[net->type][mb->flood[i]].remote_ip, ip)));
		put(o, "name", json_string(net->name));
		put(o, "type", json_string(tsw_net_type_name(net)));
		if (net->kind != TSW_NET_FLAT)
			put(o, "segmentation_id", json_integer(net->seg_id));
		if (net->kind != TSW_NET_TUNNEL)
			put(o, "physical_network", json_string(dp->phys[net->phys].name));
		put(o, "ports", ports);
		put(o, "flood", flood);
		put(o, "learned_macs", json_integer(tsw_fdb_learned_in_net(dp->fdb, (uint16_t)n)));
		a = append(a, checked(o));
	}
	return a;
}

json_t *
tsw_state_tunnels(const struct tsw_dp *dp)
{
	char ip[INET_ADDRSTRLEN], mac[18];
	json_t *a = json_array();

	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		for (int i = 0; i < TSW_MAX_TUNNELS; i++) {
			const struct tsw_tunnel *tun = &dp->tunnels[t][i];
			json_t *o;
			if (!tun->in_use)
				continue;
			o = json_object();
			put(o, "type", json_string(tsw_tun_type_name((enum tsw_tun_type)t)));
			put(o, "remote", json_string(tsw_ip_str(tun->remote_ip, ip)));
			put(o, "next_hop", tun->hdr != NULL ?
			    json_string(tsw_mac_str(tun->hdr->data, mac)) : json_null());
			put(o, "configured", json_boolean(tun->configured));
			put(o, "static_refs", json_integer(tun->static_refs));
			a = append(a, checked(o));
		}
	return a;
}

struct fdb_row { struct tsw_fdb_key k; tsw_fdb_entry_t e; const struct tsw_dp *dp; };

static int
cmp_fdb(const void *a, const void *b)
{
	const struct fdb_row *x = a, *y = b;
	int c = strcmp(x->dp->nets[x->k.net].name, y->dp->nets[y->k.net].name);
	return c ? c : memcmp(x->k.mac, y->k.mac, 6);
}

/* A composite entry's valid learned part: where, how old, in effect. */
static json_t *
learned_json(const struct tsw_dp *dp, tsw_fdb_entry_t l, uint64_t now_ms)
{
	uint16_t d = tsw_fdb_entry_dest(l);
	char ip[INET_ADDRSTRLEN];
	json_t *o = json_object();

	put(o, "kind", json_string(kind_names[tsw_fdb_entry_kind(l)]));
	if (tsw_dest_is_tunnel(d)) {
		enum tsw_tun_type t = tsw_dest_tun_type(d);
		put(o, "remote", json_string(tsw_ip_str(
			dp->tunnels[t][tsw_dest_index(d)].remote_ip, ip)));
	} else if (tsw_dest_is_phys(d)) {
		put(o, "physical_network", json_string("(its network's)"));
	} else {
		put(o, "port", json_string(dp->ports[d].name));
	}
	put(o, "age_ms", u64(now_ms - tsw_fdb_entry_ms(l)));
	put(o, "in_effect", json_boolean(tsw_fdb_entry_kind(l) == TSW_FDB_LOCAL));
	return o;
}

json_t *
tsw_state_fdb(const struct tsw_dp *dp, uint64_t now_ms, int net,
	      const struct rte_ether_addr *mac)
{
	struct tsw_page pg = { .cursor = 0, .limit = tsw_fdb_count(dp->fdb) + 1 };

	return tsw_state_fdb_page(dp, now_ms, net, mac, &pg);
}

json_t *
tsw_state_fdb_page(const struct tsw_dp *dp, uint64_t now_ms, int net,
		   const struct rte_ether_addr *mac, struct tsw_page *pg)
{
	unsigned int cap = pg->limit ? pg->limit : 1, nr = 0;
	uint64_t scan = (uint64_t)cap * 16;
	struct fdb_row *rows = calloc(cap, sizeof(*rows));
	char ip[INET_ADDRSTRLEN], ms[18];
	json_t *a = json_array();
	uint32_t it = pg->cursor;

	if (rows == NULL) {
		json_decref(a);
		return NULL;
	}
	pg->done = false;
	while (nr < cap && scan-- > 0) {
		if (tsw_fdb_iterate(dp->fdb, &it, &rows[nr].k, &rows[nr].e) != 0) {
			pg->done = true;
			break;
		}
		if (net >= 0 && rows[nr].k.net != net)
			continue;
		if (mac != NULL && memcmp(rows[nr].k.mac, mac->addr_bytes, 6) != 0)
			continue;
		rows[nr].dp = dp;
		nr++;
	}
	pg->cursor = it;
	qsort(rows, nr, sizeof(*rows), cmp_fdb);
	for (unsigned int i = 0; i < nr && a != NULL; i++) {
		enum tsw_fdb_kind k = tsw_fdb_entry_kind(rows[i].e);
		uint16_t d = tsw_fdb_entry_dest(rows[i].e);
		json_t *o;

		if (!tsw_fdb_entry_valid(rows[i].e, now_ms, tsw_fdb_timeouts(dp->fdb)))
			continue;   /* expired, not yet aged out */
		o = json_object();
		put(o, "network", json_string(dp->nets[rows[i].k.net].name));
		put(o, "mac", json_string(tsw_mac_str(rows[i].k.mac, ms)));
		put(o, "kind", json_string(kind_names[k]));
		if (tsw_dest_is_tunnel(d)) {
			enum tsw_tun_type t = tsw_dest_tun_type(d);
			json_t *to = json_object();
			put(to, "type", json_string(tsw_tun_type_name(t)));
			put(to, "remote", json_string(
				tsw_ip_str(dp->tunnels[t][tsw_dest_index(d)].remote_ip, ip)));
			put(o, "tunnel", checked(to));
		} else if (tsw_dest_is_phys(d)) {
			const struct tsw_network *net = &dp->nets[rows[i].k.net];
			put(o, "physical_network", json_string(dp->phys[net->phys].name));
		} else {
			put(o, "port", json_string(dp->ports[d].name));
		}
		if (k != TSW_FDB_STATIC)
			put(o, "age_ms", u64(now_ms - tsw_fdb_entry_ms(rows[i].e)));
		if (tsw_fdb_entry_composite(rows[i].e)) {
			/* what learning found under the static entry: a local
			 * port gets the MAC's frames meanwhile (R-F1) */
			tsw_fdb_entry_t l = tsw_fdb_learned_part(rows[i].e, now_ms,
								 tsw_fdb_timeouts(dp->fdb), true);
			if (l != 0)
				put(o, "learned", checked(learned_json(dp, l, now_ms)));
		}
		a = append(a, checked(o));
	}
	free(rows);
	return a;
}

struct arp_row { struct tsw_arp_key k; uint64_t mac; const struct tsw_dp *dp; };

static int
cmp_arp(const void *a, const void *b)
{
	const struct arp_row *x = a, *y = b;
	int c = strcmp(x->dp->nets[x->k.net].name, y->dp->nets[y->k.net].name);
	if (c)
		return c;
	return ntohl(x->k.ip) < ntohl(y->k.ip) ? -1 : ntohl(x->k.ip) > ntohl(y->k.ip);
}

json_t *
tsw_state_arp(const struct tsw_dp *dp, int net)
{
	int32_t cnt = rte_hash_count(dp->arp);
	struct tsw_page pg = { .cursor = 0, .limit = (uint32_t)(cnt > 0 ? cnt : 0) + 1 };

	return tsw_state_arp_page(dp, net, &pg);
}

json_t *
tsw_state_arp_page(const struct tsw_dp *dp, int net, struct tsw_page *pg)
{
	unsigned int cap = pg->limit ? pg->limit : 1, nr = 0;
	uint64_t scan = (uint64_t)cap * 16;
	struct arp_row *rows = calloc(cap, sizeof(*rows));
	char ip[INET_ADDRSTRLEN], ms[18];
	json_t *a = json_array();
	const void *key;
	void *d;
	uint32_t it = pg->cursor;

	if (rows == NULL) {
		json_decref(a);
		return NULL;
	}
	pg->done = false;
	while (nr < cap && scan-- > 0) {
		if (rte_hash_iterate(dp->arp, &key, &d, &it) < 0) {
			pg->done = true;
			break;
		}
		memcpy(&rows[nr].k, key, sizeof(rows[nr].k));
		if (net >= 0 && rows[nr].k.net != net)
			continue;
		rows[nr].mac = (uint64_t)(uintptr_t)d;
		rows[nr].dp = dp;
		nr++;
	}
	pg->cursor = it;
	qsort(rows, (size_t)nr, sizeof(*rows), cmp_arp);
	for (unsigned int i = 0; i < nr && a != NULL; i++) {
		uint8_t m[6];
		json_t *o = json_object();
		for (int b = 0; b < 6; b++)
			m[b] = (uint8_t)(rows[i].mac >> (8 * (5 - b)));
		put(o, "network", json_string(dp->nets[rows[i].k.net].name));
		put(o, "ip", json_string(tsw_ip_str(rows[i].k.ip, ip)));
		put(o, "mac", json_string(tsw_mac_str(m, ms)));
		a = append(a, checked(o));
	}
	free(rows);
	return a;
}

int
tsw_state_write_json(FILE *f, const struct tsw_dp *dp, const struct tsw_counters *c,
		     const struct tsw_mgmt *mg, uint64_t now_ms)
{
	json_t *o = json_object();
	int rc;

	put(o, "counters", tsw_state_counters(dp, c, mg));
	put(o, "networks", tsw_state_networks(dp));
	put(o, "ports", tsw_state_ports(dp));
	put(o, "tunnels", tsw_state_tunnels(dp));
	put(o, "fdb", tsw_state_fdb(dp, now_ms, -1, NULL));
	put(o, "arp", tsw_state_arp(dp, -1));
	o = checked(o);
	if (o == NULL)
		return -1;
	rc = json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	fputc('\n', f);
	return rc < 0 || ferror(f) ? -1 : 0;
}

void
tsw_state_print_counters(FILE *f, const struct tsw_dp *dp, const struct tsw_counters *c)
{
	char name[48];

	fprintf(f, "%-16s %12s %14s %12s %14s %10s\n", "port", "rx_pkts", "rx_bytes",
		"tx_pkts", "tx_bytes", "drops");
	for (int p = 0; p < TSW_N_OUTS; p++) {
		const struct tsw_port_counters *pc = &c->port[p];
		if (p < TSW_MAX_PORTS && !dp->ports[p].in_use)
			continue;
		if (p >= TSW_OUT_PHYS0 && tsw_dp_out_phys(dp, (uint16_t)p) < 0)
			continue;
		fprintf(f, "%-16s %12lu %14lu %12lu %14lu %10lu\n",
			p == TSW_MAX_PORTS ? "uplink" : dp->ports[p].name, pc->rx_pkts,
			pc->rx_bytes, pc->tx_pkts, pc->tx_bytes, pc->drops);
	}
	fprintf(f, "%-24s %12s %12s %10s\n", "tunnel", "rx_pkts", "tx_pkts", "drops");
	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		for (int i = 0; i < TSW_MAX_TUNNELS; i++) {
			if (!dp->tunnels[t][i].in_use)
				continue;
			fprintf(f, "%-24s %12lu %12lu %10lu\n", tunnel_name(dp, t, i, name, sizeof(name)),
				c->tun[t][i].rx_pkts, c->tun[t][i].tx_pkts, c->tun[t][i].drops);
		}
	fprintf(f, "drops by reason:\n");
	for (int i = 0; i < TSW_DROP_MAX; i++)
		if (c->drop[i] != 0)
			fprintf(f, "  %-18s %12lu  %s\n", tsw_drop_names[i], c->drop[i],
				tsw_drop_descr[i]);
	fprintf(f, "learn: posted %lu, coalesced %lu, ring full %lu; arp replies %lu\n",
		c->learn_posted, c->learn_coalesced, c->learn_ring_full, c->arp_replies);
}
