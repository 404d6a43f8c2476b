/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "tsw_state.h"

static const char *
ipstr(uint32_t ip_be, char *buf)
{
	struct in_addr a = { .s_addr = ip_be };
	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
	return buf;
}

static void
macstr(const uint8_t *m, char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static const char *const kind_names[] = { "none", "static", "local", "tunnel" };

struct fdb_row { struct tsw_fdb_key k; tsw_fdb_entry_t e; const struct tsw_dp *dp; };

static int
cmp_fdb(const void *a, const void *b)
{
	const struct fdb_row *x = a, *y = b;
	int c = strcmp(x->dp->nets[x->k.net].name, y->dp->nets[y->k.net].name);
	return c ? c : memcmp(x->k.mac, y->k.mac, 6);
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

static void
dest_json(FILE *f, const struct tsw_dp *dp, uint16_t d)
{
	char ip[INET_ADDRSTRLEN];

	if (tsw_dest_is_tunnel(d)) {
		enum tsw_tun_type t = tsw_dest_tun_type(d);
		fprintf(f, "\"tunnel\": {\"type\": \"%s\", \"remote\": \"%s\"}",
			tsw_tun_type_name(t),
			ipstr(dp->tunnels[t][tsw_dest_index(d)].remote_ip, ip));
	} else {
		fprintf(f, "\"port\": \"%s\"", dp->ports[d].name);
	}
}

static void
port_counters_json(FILE *f, const char *name, const struct tsw_port_counters *p, bool first)
{
	fprintf(f, "%s\n      \"%s\": {\"rx_pkts\": %lu, \"rx_bytes\": %lu, \"tx_pkts\": %lu, "
		"\"tx_bytes\": %lu, \"drops\": %lu}", first ? "" : ",", name,
		p->rx_pkts, p->rx_bytes, p->tx_pkts, p->tx_bytes, p->drops);
}

int
tsw_state_write_json(FILE *f, const struct tsw_dp *dp, const struct tsw_counters *c,
		     const struct tsw_mgmt *mg, uint64_t now_ms)
{
	char ip[INET_ADDRSTRLEN], mac[18];
	bool first;

	fprintf(f, "{\n  \"counters\": {\n    \"drops\": {");
	for (int i = 0; i < TSW_DROP_MAX; i++)
		fprintf(f, "%s\n      \"%s\": %lu", i ? "," : "", tsw_drop_names[i], c->drop[i]);
	fprintf(f, "\n    },\n    \"total_drops\": %lu,\n", tsw_counters_total_drops(c));
	fprintf(f, "    \"learn\": {\"posted\": %lu, \"ring_full\": %lu, \"coalesced\": %lu",
		c->learn_posted, c->learn_ring_full, c->learn_coalesced);
	if (mg != NULL)
		fprintf(f, ", \"new\": %lu, \"moved\": %lu, \"refreshed\": %lu, "
			"\"ignored_static\": %lu, \"ignored_stale\": %lu, \"table_full\": %lu, "
			"\"aged\": %lu", mg->learn.applied_new, mg->learn.applied_moved,
			mg->learn.applied_refresh, mg->learn.ignored_static,
			mg->learn.ignored_stale, mg->learn.table_full, mg->aged);
	fprintf(f, "},\n    \"arp_replies\": %lu,\n    \"ports\": {", c->arp_replies);
	first = true;
	for (int p = 0; p < TSW_MAX_PORTS; p++) {
		if (!dp->ports[p].in_use)
			continue;
		port_counters_json(f, dp->ports[p].name, &c->port[p], first);
		first = false;
	}
	port_counters_json(f, "uplink", &c->port[TSW_OUT_UPLINK], first);
	fprintf(f, "\n    },\n    \"networks\": {");
	first = true;
	for (int n = 0; n < TSW_MAX_NETS; n++) {
		const struct tsw_net_counters *nc = &c->net[n];
		if (!dp->nets[n].in_use)
			continue;
		fprintf(f, "%s\n      \"%s\": {\"from_vm_pkts\": %lu, \"from_vm_bytes\": %lu, "
			"\"from_tun_pkts\": %lu, \"from_tun_bytes\": %lu, \"flooded\": %lu, "
			"\"drops\": %lu}", first ? "" : ",", dp->nets[n].name, nc->from_vm_pkts,
			nc->from_vm_bytes, nc->from_tun_pkts, nc->from_tun_bytes, nc->flooded,
			nc->drops);
		first = false;
	}
	fprintf(f, "\n    },\n    \"tunnels\": {");
	first = true;
	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		for (int i = 0; i < TSW_MAX_TUNNELS; i++) {
			const struct tsw_tun_counters *tc = &c->tun[t][i];
			if (!dp->tunnels[t][i].in_use)
				continue;
			fprintf(f, "%s\n      \"%s/%s\": {\"rx_pkts\": %lu, \"rx_bytes\": %lu, "
				"\"tx_pkts\": %lu, \"tx_bytes\": %lu, \"drops\": %lu}",
				first ? "" : ",", tsw_tun_type_name((enum tsw_tun_type)t),
				ipstr(dp->tunnels[t][i].remote_ip, ip), tc->rx_pkts, tc->rx_bytes,
				tc->tx_pkts, tc->tx_bytes, tc->drops);
			first = false;
		}
	fprintf(f, "\n    }\n  },\n");

	/* networks with their members */
	fprintf(f, "  \"networks\": [");
	first = true;
	for (int n = 0; n < TSW_MAX_NETS; n++) {
		const struct tsw_network *net = &dp->nets[n];
		const struct tsw_members *mb = net->members;
		if (!net->in_use)
			continue;
		fprintf(f, "%s\n    {\"name\": \"%s\", \"type\": \"%s\", \"segmentation_id\": %u, "
			"\"ports\": [", first ? "" : ",", net->name, tsw_tun_type_name(net->type),
			net->seg_id);
		for (int i = 0; i < mb->n_ports; i++)
			fprintf(f, "%s\"%s\"", i ? ", " : "", dp->ports[mb->ports[i]].name);
		fprintf(f, "], \"flood\": [");
		for (int i = 0; i < mb->n_flood; i++)
			fprintf(f, "%s\"%s\"", i ? ", " : "",
				ipstr(dp->tunnels[net->type][mb->flood[i]].remote_ip, ip));
		fprintf(f, "]}");
		first = false;
	}
	fprintf(f, "\n  ],\n  \"tunnels\": [");
	first = true;
	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		for (int i = 0; i < TSW_MAX_TUNNELS; i++) {
			const struct tsw_tunnel *tun = &dp->tunnels[t][i];
			if (!tun->in_use)
				continue;
			fprintf(f, "%s\n    {\"type\": \"%s\", \"remote\": \"%s\", \"next_hop\": ",
				first ? "" : ",", tsw_tun_type_name((enum tsw_tun_type)t),
				ipstr(tun->remote_ip, ip));
			if (tun->hdr != NULL) {
				macstr(tun->hdr->data, mac);
				fprintf(f, "\"%s\"", mac);
			} else {
				fprintf(f, "null");
			}
			fprintf(f, ", \"configured\": %s, \"static_refs\": %u}",
				tun->configured ? "true" : "false", tun->static_refs);
			first = false;
		}

	/* FDB, sorted */
	{
		unsigned int cap = tsw_fdb_count(dp->fdb) + 1, nr = 0;
		struct fdb_row *rows = calloc(cap, sizeof(*rows));
		uint32_t it = 0;

		if (rows == NULL)
			return -1;
		while (nr < cap && tsw_fdb_iterate(dp->fdb, &it, &rows[nr].k, &rows[nr].e) == 0) {
			rows[nr].dp = dp;
			nr++;
		}
		qsort(rows, nr, sizeof(*rows), cmp_fdb);
		fprintf(f, "\n  ],\n  \"fdb\": [");
		first = true;
		for (unsigned int i = 0; i < nr; i++) {
			enum tsw_fdb_kind k = tsw_fdb_entry_kind(rows[i].e);
			bool valid = tsw_fdb_entry_valid(rows[i].e, now_ms, tsw_fdb_timeouts(dp->fdb));
			if (!valid)
				continue;   /* expired, not yet aged out */
			macstr(rows[i].k.mac, mac);
			fprintf(f, "%s\n    {\"network\": \"%s\", \"mac\": \"%s\", \"kind\": \"%s\", ",
				first ? "" : ",", dp->nets[rows[i].k.net].name, mac, kind_names[k]);
			dest_json(f, dp, tsw_fdb_entry_dest(rows[i].e));
			if (k != TSW_FDB_STATIC)
				fprintf(f, ", \"age_ms\": %lu", now_ms - tsw_fdb_entry_ms(rows[i].e));
			fprintf(f, "}");
			first = false;
		}
		free(rows);
	}
	/* ARP entries, sorted */
	{
		int32_t cnt = rte_hash_count(dp->arp);
		struct arp_row *rows = calloc((size_t)(cnt > 0 ? cnt : 1), sizeof(*rows));
		const void *key;
		void *d;
		uint32_t it = 0;
		int nr = 0;

		if (rows == NULL)
			return -1;
		while (nr < cnt && rte_hash_iterate(dp->arp, &key, &d, &it) >= 0) {
			memcpy(&rows[nr].k, key, sizeof(rows[nr].k));
			rows[nr].mac = (uint64_t)(uintptr_t)d;
			rows[nr].dp = dp;
			nr++;
		}
		qsort(rows, (size_t)nr, sizeof(*rows), cmp_arp);
		fprintf(f, "\n  ],\n  \"arp\": [");
		for (int i = 0; i < nr; i++) {
			uint8_t m[6];
			for (int b = 0; b < 6; b++)
				m[b] = (uint8_t)(rows[i].mac >> (8 * (5 - b)));
			macstr(m, mac);
			fprintf(f, "%s\n    {\"network\": \"%s\", \"ip\": \"%s\", \"mac\": \"%s\"}",
				i ? "," : "", dp->nets[rows[i].k.net].name, ipstr(rows[i].k.ip, ip), mac);
		}
		free(rows);
	}
	fprintf(f, "\n  ]\n}\n");
	return ferror(f) ? -1 : 0;
}

void
tsw_state_print_counters(FILE *f, const struct tsw_dp *dp, const struct tsw_counters *c)
{
	char ip[INET_ADDRSTRLEN];

	fprintf(f, "%-16s %12s %14s %12s %14s %10s\n", "port", "rx_pkts", "rx_bytes",
		"tx_pkts", "tx_bytes", "drops");
	for (int p = 0; p <= TSW_MAX_PORTS; p++) {
		const struct tsw_port_counters *pc = &c->port[p];
		if (p < TSW_MAX_PORTS && !dp->ports[p].in_use)
			continue;
		fprintf(f, "%-16s %12lu %14lu %12lu %14lu %10lu\n",
			p == TSW_MAX_PORTS ? "uplink" : dp->ports[p].name, pc->rx_pkts,
			pc->rx_bytes, pc->tx_pkts, pc->tx_bytes, pc->drops);
	}
	fprintf(f, "%-24s %12s %12s %10s %10s\n", "tunnel", "rx_pkts", "tx_pkts", "drops", "");
	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		for (int i = 0; i < TSW_MAX_TUNNELS; i++) {
			char name[40];
			if (!dp->tunnels[t][i].in_use)
				continue;
			snprintf(name, sizeof(name), "%s/%s", tsw_tun_type_name((enum tsw_tun_type)t),
				 ipstr(dp->tunnels[t][i].remote_ip, ip));
			fprintf(f, "%-24s %12lu %12lu %10lu\n", name, c->tun[t][i].rx_pkts,
				c->tun[t][i].tx_pkts, c->tun[t][i].drops);
		}
	fprintf(f, "drops by reason:\n");
	for (int i = 0; i < TSW_DROP_MAX; i++)
		if (c->drop[i] != 0)
			fprintf(f, "  %-18s %12lu  %s\n", tsw_drop_names[i], c->drop[i],
				tsw_drop_descr[i]);
	fprintf(f, "learn: posted %lu, coalesced %lu, ring full %lu; arp replies %lu\n",
		c->learn_posted, c->learn_coalesced, c->learn_ring_full, c->arp_replies);
}
