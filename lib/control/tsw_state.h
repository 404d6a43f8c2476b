/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: views of the tables and counters, as JSON (jansson) for the
 * control socket, telemetry, tools and tests, and as text for operators.
 *
 * Contract: read-only over the tables; call from the writer thread (or
 * with workers stopped, or holding the lock the writer takes while it
 * changes names) so that the view is consistent. Output is deterministic:
 * FDB and ARP entries are sorted by network name then address. Every
 * builder returns a new reference, or NULL when out of memory.
 */
#ifndef TSW_STATE_H
#define TSW_STATE_H

#include <stdio.h>
#include <jansson.h>
#include "tsw_counters.h"
#include "tsw_dp.h"
#include "tsw_mgmt.h"
#include "tsw_parse.h"

/* Counters object: drops by reason, learn, per port/network/tunnel.
 * mg may be NULL (no writer-side learn statistics). */
json_t *tsw_state_counters(const struct tsw_dp *dp, const struct tsw_counters *c,
			   const struct tsw_mgmt *mg);
json_t *tsw_state_ports(const struct tsw_dp *dp);
json_t *tsw_state_networks(const struct tsw_dp *dp);
json_t *tsw_state_tunnels(const struct tsw_dp *dp);
/* FDB entries valid at now_ms; net < 0: all networks; mac NULL: all MACs.
 * Sorted by network name, then MAC. */
json_t *tsw_state_fdb(const struct tsw_dp *dp, uint64_t now_ms, int net,
		      const struct rte_ether_addr *mac);
json_t *tsw_state_arp(const struct tsw_dp *dp, int net);

/* One page of a dump, so that a large table is read in bounded pieces:
 * start at cursor (0: the beginning; the value a page returned: go on from
 * there), return at most limit entries and look at no more than 16 x limit
 * (so a filter that matches little still costs a bounded time). done: the
 * table's end was reached. Entries changed between pages may be missed or
 * seen twice, as with any walk of a table that is in use. A page is in
 * table order, sorted within itself. */
struct tsw_page {
	uint32_t cursor;
	uint32_t limit;
	bool done;
};
json_t *tsw_state_fdb_page(const struct tsw_dp *dp, uint64_t now_ms, int net,
			   const struct rte_ether_addr *mac, struct tsw_page *pg);
json_t *tsw_state_arp_page(const struct tsw_dp *dp, int net, struct tsw_page *pg);

/* The replay harness's state.json: counters, networks, tunnels, fdb, arp. */
int tsw_state_write_json(FILE *f, const struct tsw_dp *dp, const struct tsw_counters *c,
			 const struct tsw_mgmt *mg, uint64_t now_ms);
void tsw_state_print_counters(FILE *f, const struct tsw_dp *dp, const struct tsw_counters *c);

#endif
