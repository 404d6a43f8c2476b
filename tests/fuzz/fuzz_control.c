/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: control requests and l2population payloads. Input: one
 * request per line (the control socket's framing). Oracles: nothing
 * crashes; every reply is a JSON object with "ok"; a refused request
 * changes nothing (networks, ports, tunnels, FDB, ARP and flood sets,
 * security groups compared before and after); no mbuf is leaked (trace uses the pool).
 * The tables persist from input to input (recreating them per input would
 * cost milliseconds) and are built again every RESET_EVERY inputs (grown
 * tables, hundreds of tunnels among them, made every request dearer: the
 * rate fell from ~1 500 to ~250 executions a second within an hour); a
 * finding reproduces with its input and the ones before it in the
 * fuzzer's log, or usually alone.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <rte_hash.h>

#include "harness.h"
#include "tsw_route.h"
#include "tsw_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RESET_EVERY 500

/* The oracle's own code: not coverage to chase, and its walks over every
 * table slot need no sanitizer checks (most of an execution's time else). */
#define ORACLE __attribute__((no_sanitize("coverage", "address", "undefined")))

ORACLE static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

ORACLE static uint64_t
bytes(const void *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
	const uint8_t *b = p;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {     /* a word at a time: policies are KBs */
		memcpy(&w, b + i, 8);
		h = mix(h ^ w);
	}
	for (w = 0; i < n; i++)
		w = w << 8 | b[i];
	return mix(h ^ w);
}

/* The routes' part of the digest: the route table walk (1 024 slots, as
 * JSON) is the dearest part, and only route_add and route_del change it:
 * recomputed for a request that names "route". */
static uint64_t routes_digest;

ORACLE static void
digest_routes(void)
{
	json_t *routes = tsw_routes_json(FZ.dp->routes);
	char *rs = routes != NULL ? json_dumps(routes, JSON_COMPACT) : NULL;

	if (rs == NULL)
		fz_fail("cannot dump the routes");
	routes_digest = bytes(rs, strlen(rs));
	free(rs);
	json_decref(routes);
}

/* The security groups' part: the model as show_security_groups gives it
 * (groups, rules, member counts, ports), recomputed for a request that
 * names a group or a port. */
static uint64_t groups_digest;

ORACLE static void
digest_groups(void)
{
	static const char req[] = "{\"op\": \"show_security_groups\"}";
	char *reply = tsw_ctl_handle(FZ.ctl, req, sizeof(req) - 1, 1000);

	if (reply == NULL || strstr(reply, "\"ok\":true") == NULL)
		fz_fail("show_security_groups: %s", reply != NULL ? reply : "no reply");
	groups_digest = bytes(reply, strlen(reply));
	free(reply);
}

/* A digest of every table a control request may change: FDB, ARP,
 * networks with their flood sets, ports with their policies, tunnels,
 * neighbors and routes (sets summed, so that order does not matter). */
ORACLE static uint64_t
tables(void)
{
	const struct tsw_dp *dp = FZ.dp;
	struct tsw_fdb_key k;
	tsw_fdb_entry_t e;
	uint64_t h = 0, set = 0;
	uint32_t it = 0;
	const void *key;
	void *data;

	while (tsw_fdb_iterate(dp->fdb, &it, &k, &e) >= 0)
		set += mix(bytes(&k, sizeof(k)) ^ mix(e));
	h = mix(h ^ set);
	set = 0;
	it = 0;
	while (rte_hash_iterate(dp->arp, &key, &data, &it) >= 0)
		set += mix(bytes(key, sizeof(struct tsw_arp_key)) ^ mix((uint64_t)(uintptr_t)data));
	h = mix(h ^ set);
	for (int n = 0; n < TSW_MAX_NETS; n++) {
		const struct tsw_network *net = &dp->nets[n];
		if (!net->in_use)
			continue;
		set = 0;
		for (int i = 0; i < dp->n_flood_explicit[n]; i++)
			set += mix(dp->flood_explicit[n][i]);
		h = mix(h ^ bytes(net->name, strlen(net->name)) ^ mix(net->type) ^
			mix((uint64_t)net->seg_id << 8 ^ (uint64_t)n) ^ set ^
			mix(net->members->n_ports) ^ mix((uint64_t)net->members->n_flood << 20));
	}
	for (int p = 0; p < TSW_MAX_PORTS; p++) {
		const struct tsw_vm_port *vp = &dp->ports[p];
		if (!vp->in_use)
			continue;
		h = mix(h ^ bytes(vp->name, strlen(vp->name)) ^ mix((uint64_t)vp->net << 16 | p) ^
			(vp->sec != NULL ? bytes(vp->sec, sizeof(*vp->sec)) : 1) ^
			mix((uint64_t)(uintptr_t)vp->sg));
	}
	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		for (int i = 0; i < TSW_MAX_TUNNELS; i++) {
			const struct tsw_tunnel *tu = &dp->tunnels[t][i];
			if (tu->in_use)
				h = mix(h ^ mix((uint64_t)tu->remote_ip << 20 | (uint64_t)i << 1 | t) ^
					mix((uint64_t)tu->static_refs << 1 | tu->configured) ^
					mix(tu->nh_ip));
		}
	for (int i = 0; i < dp->n_neigh; i++)
		h = mix(h ^ bytes(&dp->neigh[i], sizeof(dp->neigh[i])));
	h = mix(h ^ routes_digest);
	h = mix(h ^ groups_digest);
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned int runs;
	size_t off = 0;
	uint64_t before, after;

	if (++runs % RESET_EVERY == 0)
		fz_reset_tables();
	digest_routes();
	digest_groups();
	before = tables();
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl != NULL ? (size_t)(nl - (data + off)) : size - off;
		char *reply;
		json_t *r;
		json_error_t je;

		reply = tsw_ctl_handle(FZ.ctl, (const char *)data + off, len, 1000);
		if (reply == NULL)
			fz_fail("no reply");
		r = json_loads(reply, 0, &je);
		if (!json_is_object(r) || !json_is_boolean(json_object_get(r, "ok")))
			fz_fail("reply is not {ok: ...}: %s", reply);
		if (memmem(data + off, len, "route", 5) != NULL)
			digest_routes();
		if (memmem(data + off, len, "group", 5) != NULL ||
		    memmem(data + off, len, "port", 4) != NULL)
			digest_groups();
		after = tables();   /* and the next request's "before" */
		if (!json_is_true(json_object_get(r, "ok")) && before != after)
			fz_fail("a refused request changed the tables: %s", reply);
		before = after;
		json_decref(r);
		free(reply);
		off += len + 1;
	}
	fz_check_pool("after control requests");
	return 0;
}
