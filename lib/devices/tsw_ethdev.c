/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_ethdev.h>

#include "tsw_ethdev.h"
#include "tsw_vhostarg.h"

#define RX_DESC 1024
#define TX_DESC 1024

static int
find_port(const char *devargs, uint16_t *port)
{
	struct rte_dev_iterator it;
	uint16_t p;
	int found = -1;

	RTE_ETH_FOREACH_MATCHING_DEV(p, devargs, &it) {
		if (found < 0) {
			*port = p;
			found = 0;
		}
	}
	return found;
}

/* A vhost-user port's socket on disk, before DPDK sees it: in server mode
 * the path is claimed (nothing there but a stale socket), in client mode it
 * is pinned and DPDK connects through the pin (*dpdk_args rewritten).
 * 0, or -1 with the reason. */
static int
vhost_socket(const char *devargs, struct tsw_ethdev *out, char *dpdk_args, size_t len,
	     char *err, size_t errlen)
{
	char why[256];
	int r = tsw_vhost_devargs_iface(devargs, out->sock, sizeof(out->sock), &out->client);

	out->pin.fd = -1;
	if (r < 0) {
		snprintf(err, errlen, "iface: socket path longer than %d bytes (what a socket "
			 "address holds)", TSW_SOCKPATH_MAX);
		return -1;
	}
	if (r == 0) {
		out->sock[0] = '\0';
		snprintf(dpdk_args, len, "%s", devargs);
		return 0;
	}
	if (!out->client) {
		if (tsw_sockpath_claim(out->sock, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "iface: %s", why);
			return -1;
		}
		snprintf(dpdk_args, len, "%s", devargs);
		return 0;
	}
	if (tsw_sockpath_pin(&out->pin, out->sock, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "iface: %s", why);
		return -1;
	}
	if (tsw_vhost_devargs_set_iface(devargs, out->pin.via, dpdk_args, len) < 0) {
		snprintf(err, errlen, "devargs too long");
		tsw_sockpath_unpin(&out->pin);
		return -1;
	}
	return 0;
}

int
tsw_ethdev_open(const char *devargs, const struct tsw_ethdev_conf *c,
		struct rte_mempool *pool, struct tsw_ethdev *out, char *err, size_t errlen)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	char dpdk_args[TSW_ETHDEV_ARGS_LEN];
	bool probed = false;
	uint16_t p;
	int rc;

	memset(out, 0, sizeof(*out));
	if (vhost_socket(devargs, out, dpdk_args, sizeof(dpdk_args), err, errlen) < 0)
		return -1;
	if (find_port(dpdk_args, &p) < 0) {
		rc = rte_dev_probe(dpdk_args);
		if (rc < 0) {
			snprintf(err, errlen, "cannot probe device '%s': %s", devargs, strerror(-rc));
			goto fail_pin;
		}
		probed = true;
		if (find_port(dpdk_args, &p) < 0) {
			snprintf(err, errlen, "device '%s' probed but is not an ethdev", devargs);
			goto fail_pin;
		}
	}
	rc = rte_eth_dev_info_get(p, &info);
	if (rc < 0) {
		snprintf(err, errlen, "'%s': cannot get device info: %s", devargs, strerror(-rc));
		info.device = NULL;
		goto fail;
	}
	out->port_id = p;
	out->vhost = info.driver_name != NULL && strcmp(info.driver_name, "net_vhost") == 0;
	out->n_rxq = RTE_MIN(c->want_rxq, info.max_rx_queues);
	out->n_txq = RTE_MIN(c->want_txq, info.max_tx_queues);
	rte_eth_dev_get_name_by_port(p, out->name);
	if (out->n_txq == 0) {
		snprintf(err, errlen, "'%s': device has no TX queue", devargs);
		goto fail;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	/* frames longer than an mbuf arrive chained where the PMD can (the
	 * pipeline takes chains on every path) */
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	/* a guest's partial checksums and TSO frames are completed and cut by
	 * the pipeline (tsw_offload): net_vhost must not sum every frame,
	 * 64 KB TSO frames included, in software first */
	if (out->vhost)
		conf.rxmode.offloads |= info.rx_offload_capa &
			(RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
	rc = rte_eth_dev_configure(p, out->n_rxq, out->n_txq, &conf);
	if (rc < 0) {
		snprintf(err, errlen, "'%s': configure: %s", devargs, strerror(-rc));
		goto fail;
	}
	/* net_af_packet reports a 1518-byte maximum frame whatever its kernel
	 * interface takes: there the interface's MTU (ip link), framesz and
	 * mbuf_size decide, and tunsw's [uplink] mtu only sizes its own limits */
	bool af_packet = info.driver_name != NULL && strcmp(info.driver_name, "net_af_packet") == 0;
	if (c->mtu != 0 &&
	    !(af_packet && (uint32_t)c->mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN > info.max_rx_pktlen) &&
	    (rc = rte_eth_dev_set_mtu(p, c->mtu)) < 0 && rc != -ENOTSUP) {
		snprintf(err, errlen, "'%s': cannot set MTU %u: %s", devargs, c->mtu, strerror(-rc));
		goto fail;
	}
	for (uint16_t q = 0; q < out->n_rxq; q++) {
		rc = rte_eth_rx_queue_setup(p, q, RX_DESC, rte_eth_dev_socket_id(p), NULL, pool);
		if (rc < 0) {
			snprintf(err, errlen, "'%s': RX queue %u: %s", devargs, q, strerror(-rc));
			goto fail;
		}
	}
	for (uint16_t q = 0; q < out->n_txq; q++) {
		rc = rte_eth_tx_queue_setup(p, q, TX_DESC, rte_eth_dev_socket_id(p), NULL);
		if (rc < 0) {
			snprintf(err, errlen, "'%s': TX queue %u: %s", devargs, q, strerror(-rc));
			goto fail;
		}
	}
	if (c->mac != NULL && rte_eth_dev_default_mac_addr_set(p, (struct rte_ether_addr *)(uintptr_t)c->mac) < 0)
		rte_eth_promiscuous_enable(p);   /* cannot filter on it: see everything */
	if (c->promiscuous)
		rte_eth_promiscuous_enable(p);
	rc = rte_eth_dev_start(p);
	if (rc < 0) {
		snprintf(err, errlen, "'%s': start: %s", devargs, strerror(-rc));
		goto fail;
	}
	rte_eth_macaddr_get(p, &out->mac);
	if (c->mac != NULL)
		out->mac = *c->mac;
	return 0;
fail:
	if (probed) {
		rte_eth_dev_close(p);
		if (info.device != NULL)
			rte_dev_remove(info.device);
	}
fail_pin:
	tsw_sockpath_unpin(&out->pin);
	return -1;
}

void
tsw_ethdev_close(struct tsw_ethdev *d)
{
	struct rte_eth_dev_info info;
	struct rte_device *dev = NULL;

	if (rte_eth_dev_info_get(d->port_id, &info) == 0)
		dev = info.device;
	rte_eth_dev_stop(d->port_id);
	rte_eth_dev_close(d->port_id);
	if (dev != NULL)
		rte_dev_remove(dev);
	tsw_sockpath_unpin(&d->pin);
}
