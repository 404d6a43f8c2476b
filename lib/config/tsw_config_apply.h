/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the dataplane's tables built from a parsed configuration.
 *
 * Contract: called by the table writer before the workers start (the
 * daemon, the replay harness, the benchmark, tests). tsw_config_dp_conf()
 * derives the tables' parameters; tsw_config_apply() adds the config's
 * networks, remotes, ports (with their port security), static FDB and ARP
 * entries, flood sets, neighbors and routes, and stops at the first error
 * with the section named in err.
 */
#ifndef TSW_CONFIG_APPLY_H
#define TSW_CONFIG_APPLY_H

#include <stddef.h>
#include <stdint.h>
#include <rte_ether.h>

#include "tsw_config.h"
#include "tsw_dp.h"

void tsw_config_dp_conf(struct tsw_dp_conf *dc, const struct tsw_config *cfg,
			const struct rte_ether_addr *uplink_mac);

/* eth_ports[i] is the DPDK port of cfg->ports[i] (NULL: none). -1 with err. */
int tsw_config_apply(struct tsw_dp *dp, const struct tsw_config *cfg, const uint16_t *eth_ports,
		     char *err, size_t errlen);

#endif
