/* SPDX-License-Identifier: BSD-3-Clause
 * The tables built from a parsed configuration (see tsw_config_apply.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tsw_config_apply.h"


void
tsw_config_dp_conf(struct tsw_dp_conf *dc, const struct tsw_config *cfg,
		   const struct rte_ether_addr *uplink_mac)
{
	memset(dc, 0, sizeof(*dc));
	dc->l2_population = cfg->agent.l2_population;
	dc->arp_responder = cfg->agent.arp_responder;
	dc->mac_ageing_s = cfg->agent.mac_ageing;
	dc->tunnel_learn_timeout_s = cfg->agent.tunnel_learn_timeout;
	dc->fdb_size = cfg->dataplane.fdb_size;
	dc->mac_limit_port = cfg->dataplane.mac_limit_port;
	dc->mac_limit_network = cfg->dataplane.mac_limit_network;
	dc->encap.src_mac = *uplink_mac;
	dc->encap.local_ip = cfg->tunnel.local_ip;
	dc->encap.ttl = cfg->tunnel.ttl;
	dc->encap.dscp = cfg->tunnel.dscp;
	dc->encap.dscp_inherit = cfg->tunnel.dscp_inherit;
	dc->encap.dont_fragment = cfg->tunnel.dont_fragment;
	dc->encap.csum = cfg->tunnel.tunnel_csum;
	dc->encap.vxlan_port = cfg->tunnel.vxlan_udp_port;
	dc->encap.mtu = cfg->uplink.mtu;
	dc->prefix_len = cfg->uplink.prefix_len;
	dc->decap.local_ip = cfg->tunnel.local_ip;
	dc->decap.vxlan_port_be = rte_cpu_to_be_16(cfg->tunnel.vxlan_udp_port);
	dc->decap.mac = *uplink_mac;
	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		dc->decap.type_enabled[t] = cfg->tunnel.type_enabled[t];
	dc->max_connections = cfg->security.max_connections;
	dc->max_connections_per_port = cfg->security.max_connections_per_port;
	memcpy(dc->ct_timeouts.s, cfg->security.timeouts, sizeof(dc->ct_timeouts.s));
}

#define LOAD_FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int
tsw_config_apply(struct tsw_dp *dp, const struct tsw_config *cfg,
		   const uint16_t *eth_ports, char *err, size_t errlen)
{
	int netidx[TSW_MAX_NETS];
	int rc;

	for (int i = 0; i < cfg->n_neighbors; i++)
		if (tsw_dp_neighbor_set(dp, cfg->neighbors[i].ip, &cfg->neighbors[i].mac, true) < 0)
			LOAD_FAIL("neighbor table full");
	if (cfg->uplink.gateway != 0 &&
	    (rc = tsw_dp_route_add(dp, 0, 0, cfg->uplink.gateway, TSW_ROUTE_CONFIG)) < 0)
		LOAD_FAIL("[uplink] gateway: not on the connected prefix of local_ip/prefix_len");
	for (int i = 0; i < cfg->n_routes; i++)
		if ((rc = tsw_dp_route_add(dp, cfg->routes[i].prefix, cfg->routes[i].len,
					   cfg->routes[i].via, TSW_ROUTE_CONFIG)) < 0)
			LOAD_FAIL("[route]: cannot add: %s", rc == -EINVAL
				  ? "via is not on the connected prefix" : strerror(-rc));
	for (int i = 0; i < cfg->n_physnets; i++) {
		const struct tsw_cfg_physnet *ph = &cfg->physnets[i];
		char dev[TSW_NAME_LEN];

		snprintf(dev, sizeof(dev), "%.*s", (int)strcspn(ph->devargs, ","), ph->devargs);
		rc = tsw_dp_physnet_add(dp, ph->name, ph->on_uplink ? "uplink" : dev,
					ph->on_uplink ? TSW_OUT_UPLINK
						      : (uint16_t)(TSW_OUT_PHYS0 + i), ph->mtu);
		if (rc != i)
			LOAD_FAIL("[physnet %s]: cannot add: %s", ph->name,
				  strerror(rc < 0 ? -rc : EEXIST));
	}
	for (int i = 0; i < cfg->n_networks; i++) {
		const struct tsw_cfg_network *n = &cfg->networks[i];
		netidx[i] = n->kind == TSW_NET_TUNNEL
			? tsw_dp_net_add(dp, n->name, n->type, n->seg_id)
			: tsw_dp_net_add_provider(dp, n->name, n->physnet, (uint16_t)n->seg_id);
		if (netidx[i] < 0)
			LOAD_FAIL("[network %s]: cannot add: %s", n->name, strerror(-netidx[i]));
	}
	for (int i = 0; i < cfg->n_remotes; i++) {
		/* Remotes created only by [fdb]/[flood] follow l2population rules. */
		rc = tsw_dp_tunnel_add(dp, cfg->remotes[i].type, cfg->remotes[i].ip,
				       cfg->remotes[i].declared);
		if (rc < 0)
			LOAD_FAIL("remote VTEP: cannot add: %s", strerror(-rc));
	}
	for (int i = 0; i < cfg->n_ports; i++) {
		struct tsw_port_policy pol = { .ps = &cfg->ports[i].sec };
		rc = tsw_dp_port_add(dp, cfg->ports[i].name, eth_ports[i],
				     (uint16_t)netidx[cfg->ports[i].network],
				     cfg->ports[i].port_security ? &pol : NULL);
		if (rc < 0)
			LOAD_FAIL("[port %s]: cannot add: %s", cfg->ports[i].name, strerror(-rc));
	}
	for (int i = 0; i < cfg->n_fdb; i++) {
		const struct tsw_cfg_fdb *f = &cfg->fdb[i];
		uint16_t net = (uint16_t)netidx[f->network];
		int tun = tsw_dp_tunnel_find(dp, cfg->networks[f->network].type, f->remote);

		if (tun < 0 || (rc = tsw_dp_fdb_static_add(dp, net, &f->mac, (uint16_t)tun)) < 0)
			LOAD_FAIL("[fdb %s]: cannot add static entry", cfg->networks[f->network].name);
		if (f->ip != 0 && (rc = tsw_dp_arp_add(dp, net, f->ip, &f->mac)) < 0)
			LOAD_FAIL("[fdb %s]: cannot add ARP entry: %s",
				  cfg->networks[f->network].name, strerror(-rc));
	}
	for (int i = 0; i < cfg->n_flood; i++) {
		const struct tsw_cfg_flood *f = &cfg->flood[i];
		uint16_t net = (uint16_t)netidx[f->network];

		for (int r = 0; r < f->n_remotes; r++) {
			int tun = tsw_dp_tunnel_find(dp, cfg->networks[f->network].type, f->remotes[r]);
			if (tun < 0 || tsw_dp_flood_add(dp, net, (uint16_t)tun) < 0)
				LOAD_FAIL("[flood %s]: cannot add", cfg->networks[f->network].name);
		}
	}
	return 0;
}
