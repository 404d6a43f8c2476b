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
 *
 * The same in steps, so that a large payload is applied in bounded slices
 * with other work between them: tsw_l2pop_prepare() validates the whole
 * payload into a plan (it only reads dp's networks and configuration, so it
 * may run on another thread while nothing changes the networks);
 * tsw_l2pop_step() applies up to max of its changes, fewer when one
 * deleted a tunnel (that costs a scan of the FDB) (the table writer;
 * between steps the tables hold a prefix of the plan, in the order adds
 * flood, FDB, ARP and removes ARP, FDB, flood); tsw_l2pop_result() says
 * what changed. A step that fails (a table full: validation passed) leaves
 * the changes before it applied and names the count in *e.
 */
#ifndef TSW_L2POP_H
#define TSW_L2POP_H

#include <jansson.h>
#include "tsw_dp.h"
#include "tsw_jarg.h"

enum tsw_l2pop_op { TSW_L2POP_ADD, TSW_L2POP_REMOVE, TSW_L2POP_UPDATE };

struct tsw_l2pop_plan;

struct tsw_l2pop_plan *tsw_l2pop_prepare(const struct tsw_dp *dp, enum tsw_l2pop_op op,
					 const json_t *fdb_entries, struct tsw_jerr *e);
/* Returns 1 when the whole plan is applied, 0 when changes remain, -1 with *e. */
int tsw_l2pop_step(struct tsw_dp *dp, struct tsw_l2pop_plan *p, size_t max, struct tsw_jerr *e);
json_t *tsw_l2pop_result(const struct tsw_l2pop_plan *p, struct tsw_jerr *e);
void tsw_l2pop_plan_free(struct tsw_l2pop_plan *p);

json_t *tsw_l2pop_apply(struct tsw_dp *dp, enum tsw_l2pop_op op, const json_t *fdb_entries,
			struct tsw_jerr *e);

#endif
