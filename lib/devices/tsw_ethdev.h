/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: DPDK ports (any PMD) for the uplink and the VM ports.
 *
 * Contract: tsw_ethdev_open() probes a device from its devargs (e.g.
 * "net_vhost0,iface=/run/tunsw/vm1.sock", "net_af_packet0,iface=eth1",
 * "0000:01:00.0"), configures n_rxq RX and n_txq TX queues on the given
 * mempool and starts it. On failure it releases what it created and writes
 * the reason. Called from the main thread before workers start, or from
 * the management thread for hot-plug.
 *
 * A vhost-user port's socket (net_vhost's iface) is looked after here
 * (tsw_sockpath.h): longer than a socket address holds: refused; in server
 * mode a file, FIFO, link or live socket at the path is refused and left as
 * it is (a stale socket is replaced); in client mode DPDK connects through
 * a pin that never follows a symbolic link, pinned once (the daemon's
 * vhost-user VM ports are tsw_vhost's, which follow a restarted guest's
 * socket; a net_vhost ethdev is what the benchmark's io baseline uses).
 */
#ifndef TSW_ETHDEV_H
#define TSW_ETHDEV_H

#include <stddef.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_mempool.h>

#include "tsw_sockpath.h"

#define TSW_ETHDEV_ARGS_LEN 512

struct tsw_ethdev {
	uint16_t port_id;
	uint16_t n_rxq, n_txq;
	bool vhost;             /* a net_vhost (vhost-user) port */
	struct rte_ether_addr mac;
	char name[64];
	char sock[TSW_SOCKPATH_MAX + 1];   /* a vhost-user port's socket path, else "" */
	bool client;                       /* ...that tunsw connects to */
	struct tsw_sockpin pin;            /* client: what DPDK connects through */
};

struct tsw_ethdev_conf {
	uint16_t want_rxq;      /* queues wanted; fewer RX is accepted */
	uint16_t want_txq;      /* one per worker; fewer is accepted (shared, tsw_txq) */
	uint16_t mtu;           /* 0 = leave as is */
	bool promiscuous;
	const struct rte_ether_addr *mac;   /* NULL = keep the device's */
};

int tsw_ethdev_open(const char *devargs, const struct tsw_ethdev_conf *c,
		    struct rte_mempool *pool, struct tsw_ethdev *out, char *err, size_t errlen);
void tsw_ethdev_close(struct tsw_ethdev *d);

#endif
