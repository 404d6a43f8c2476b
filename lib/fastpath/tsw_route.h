/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the underlay routing table (rte_lpm): which next hop reaches a
 * remote VTEP.
 *
 * Contract: used by the table writer only (tunnel headers are computed from
 * it, never per packet). Routes are IPv4 prefixes with a next hop that must
 * be on the connected prefix (local_ip/prefix_len), which is itself the
 * route "on-link". Addresses are in network byte order.
 */
#ifndef TSW_ROUTE_H
#define TSW_ROUTE_H

#include <stdint.h>
#include <jansson.h>

#define TSW_MAX_ROUTES 1024

enum tsw_route_origin { TSW_ROUTE_CONNECTED, TSW_ROUTE_CONFIG, TSW_ROUTE_CONTROL };

struct tsw_routes;

struct tsw_routes *tsw_routes_create(const char *name, int socket, uint32_t local_ip,
				     uint8_t prefix_len);
void tsw_routes_free(struct tsw_routes *r);

/* Add or replace prefix/len via `via` (must be on-link, not local_ip).
 * -EINVAL (bad prefix or via), -ENOSPC. */
int tsw_routes_add(struct tsw_routes *r, uint32_t prefix, uint8_t len, uint32_t via,
		   enum tsw_route_origin origin);
/* -ENOENT when absent; the connected route cannot be deleted (-EPERM). */
int tsw_routes_del(struct tsw_routes *r, uint32_t prefix, uint8_t len);

/* Next hop towards dst: dst itself when on-link, the route's via
 * otherwise, 0 when unreachable. */
uint32_t tsw_routes_next_hop(const struct tsw_routes *r, uint32_t dst);

/* [{"prefix": "a.b.c.d/n", "via": IP or null, "origin": ...}] */
json_t *tsw_routes_json(const struct tsw_routes *r);

#endif
