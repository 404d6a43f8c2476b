/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: Neutron's l2population RPCs (add_fdb_entries, remove_fdb_entries,
 * update_fdb_entries) applied to the tables, rules R-L1..R-L4.
 *
 * Payloads are Neutron's, as JSON:
 *   add/remove: {NETWORK: {"segment_id": N, "network_type": "vxlan"|"gre",
 *                "ports": {AGENT_IP: [[MAC, IP], ...]}}}
 *   update:     {"chg_ip": {NETWORK: {AGENT_IP: {"before": [[MAC, IP]],
 *                                                 "after":  [[MAC, IP]]}}}}
 * An entry may also be {"mac_address": MAC, "ip_address": IP}. The pair
 * ("00:00:00:00:00:00", "0.0.0.0") is the flooding entry. NETWORK is the
 * name of a tunsw network (name networks after Neutron's network id), or
 * any key when (network_type, segment_id) matches a tunsw network. Like
 * the OVS agent, tunsw skips networks it does not have, network types it
 * does not tunnel, entries for its own local_ip, and IPv6 addresses for
 * the ARP table; skipped parts are listed in the result.
 *
 * Contract: called by the table writer. The whole payload is validated
 * before anything is applied; on a validation error the tables are
 * unchanged and *e names the field (a path such as
 * "fdb_entries.net1.ports.198.18.0.2[1].mac") and the reason. Returns a
 * result object with what was done, or NULL with *e set.
 */
#ifndef TSW_L2POP_H
#define TSW_L2POP_H

#include <jansson.h>
#include "tsw_dp.h"
#include "tsw_jarg.h"

enum tsw_l2pop_op { TSW_L2POP_ADD, TSW_L2POP_REMOVE, TSW_L2POP_UPDATE };

json_t *tsw_l2pop_apply(struct tsw_dp *dp, enum tsw_l2pop_op op, const json_t *fdb_entries,
			struct tsw_jerr *e);

#endif
