/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_lpm.h>

#include "tsw_route.h"
#include "tsw_parse.h"

struct route {
	bool in_use;
	uint32_t prefix;        /* host order, masked */
	uint8_t len;
	uint32_t via;           /* network order, 0 = on-link */
	enum tsw_route_origin origin;
};

struct tsw_routes {
	struct rte_lpm *lpm;    /* prefix -> index into rt[] */
	uint32_t local_ip;      /* network order */
	uint32_t conn_prefix;   /* host order */
	uint8_t conn_len;
	int dflt;               /* index of 0.0.0.0/0 (rte_lpm has no depth 0), or -1 */
	struct route rt[TSW_MAX_ROUTES];
};

static uint32_t
mask(uint8_t len)
{
	return len == 0 ? 0 : ~0u << (32 - len);
}

static bool
on_link(const struct tsw_routes *r, uint32_t ip_be)
{
	return (ntohl(ip_be) & mask(r->conn_len)) == r->conn_prefix;
}

struct tsw_routes *
tsw_routes_create(const char *name, int socket, uint32_t local_ip, uint8_t prefix_len)
{
	struct rte_lpm_config c = { .max_rules = TSW_MAX_ROUTES, .number_tbl8s = 256 };
	struct tsw_routes *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->lpm = rte_lpm_create(name, socket, &c);
	if (r->lpm == NULL) {
		free(r);
		return NULL;
	}
	r->local_ip = local_ip;
	r->dflt = -1;
	r->conn_len = prefix_len;
	r->conn_prefix = ntohl(local_ip) & mask(prefix_len);
	r->rt[0] = (struct route){ true, r->conn_prefix, prefix_len, 0, TSW_ROUTE_CONNECTED };
	if (rte_lpm_add(r->lpm, r->conn_prefix, prefix_len, 0) < 0) {
		tsw_routes_free(r);
		return NULL;
	}
	return r;
}

void
tsw_routes_free(struct tsw_routes *r)
{
	if (r == NULL)
		return;
	rte_lpm_free(r->lpm);
	free(r);
}

static int
find(const struct tsw_routes *r, uint32_t prefix_h, uint8_t len)
{
	for (int i = 0; i < TSW_MAX_ROUTES; i++)
		if (r->rt[i].in_use && r->rt[i].prefix == prefix_h && r->rt[i].len == len)
			return i;
	return -ENOENT;
}

int
tsw_routes_add(struct tsw_routes *r, uint32_t prefix, uint8_t len, uint32_t via,
	       enum tsw_route_origin origin)
{
	uint32_t p = ntohl(prefix);
	int i;

	if (len > 32 || (p & ~mask(len)) != 0)
		return -EINVAL;
	if (via == 0 || via == r->local_ip || !on_link(r, via))
		return -EINVAL;
	i = find(r, p, len);
	if (i == 0)
		return -EPERM;     /* the connected prefix */
	if (i < 0)
		for (i = 1; i < TSW_MAX_ROUTES && r->rt[i].in_use; i++)
			;
	if (i == TSW_MAX_ROUTES)
		return -ENOSPC;
	if (len == 0)
		r->dflt = i;
	else if (rte_lpm_add(r->lpm, p, len, (uint32_t)i) < 0)
		return -ENOSPC;
	r->rt[i] = (struct route){ true, p, len, via, origin };
	return 0;
}

int
tsw_routes_del(struct tsw_routes *r, uint32_t prefix, uint8_t len)
{
	int i = len <= 32 ? find(r, ntohl(prefix), len) : -ENOENT;

	if (i < 0)
		return -ENOENT;
	if (i == 0)
		return -EPERM;
	if (len == 0)
		r->dflt = -1;
	else
		rte_lpm_delete(r->lpm, r->rt[i].prefix, len);
	r->rt[i].in_use = false;
	return 0;
}

uint32_t
tsw_routes_next_hop(const struct tsw_routes *r, uint32_t dst)
{
	uint32_t idx;

	if (rte_lpm_lookup(r->lpm, ntohl(dst), &idx) != 0)
		return r->dflt >= 0 ? r->rt[r->dflt].via : 0;
	return idx == 0 ? dst : r->rt[idx].via;
}

json_t *
tsw_routes_json(const struct tsw_routes *r)
{
	static const char *const origins[] = { "connected", "config", "control" };
	json_t *a = json_array();
	char ip[INET_ADDRSTRLEN], pfx[24];

	for (int i = 0; i < TSW_MAX_ROUTES && a != NULL; i++) {
		const struct route *rt = &r->rt[i];
		json_t *o;
		if (!rt->in_use)
			continue;
		snprintf(pfx, sizeof(pfx), "%s/%u", tsw_ip_str(htonl(rt->prefix), ip), rt->len);
		o = json_pack("{s:s, s:o, s:s}", "prefix", pfx,
			      "via", rt->via ? json_string(tsw_ip_str(rt->via, ip)) : json_null(),
			      "origin", origins[rt->origin]);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
