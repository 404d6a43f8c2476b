/* SPDX-License-Identifier: BSD-3-Clause */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "tsw_telemetry.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tsw_ctl *the_ctl;
static uint64_t (*clock_ms)(void);

void
tsw_telemetry_lock(void)
{
	pthread_mutex_lock(&lock);
}

void
tsw_telemetry_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

/* The result of a show operation, or NULL. Takes the lock. */
static json_t *
show(const char *op)
{
	json_t *req = json_pack("{s:s}", "op", op), *rep = NULL, *res = NULL;

	if (req == NULL)
		return NULL;
	tsw_telemetry_lock();
	if (the_ctl != NULL)
		rep = tsw_ctl_request(the_ctl, req, clock_ms());
	tsw_telemetry_unlock();
	json_decref(req);
	if (rep != NULL && json_is_true(json_object_get(rep, "ok")))
		res = json_incref(json_object_get(rep, "result"));
	json_decref(rep);
	return res;
}

/* Scalars of o (recursively, keys joined with '.') into dict d; arrays of
 * strings become string-array containers. */
static void
put_dict(struct rte_tel_data *d, const char *prefix, const json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v) {
		char key[RTE_TEL_MAX_STRING_LEN];

		snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", k);
		if (json_is_integer(v)) {
			rte_tel_data_add_dict_u64(d, key, (uint64_t)json_integer_value(v));
		} else if (json_is_boolean(v)) {
			rte_tel_data_add_dict_int(d, key, json_is_true(v));
		} else if (json_is_real(v)) {
			char s[32];
			snprintf(s, sizeof(s), "%.2f", json_real_value(v));
			rte_tel_data_add_dict_string(d, key, s);
		} else if (json_is_string(v)) {
			rte_tel_data_add_dict_string(d, key, json_string_value(v));
		} else if (json_is_object(v)) {
			put_dict(d, key, v);
		} else if (json_is_array(v)) {
			struct rte_tel_data *a = rte_tel_data_alloc();
			size_t i;
			json_t *e;
			if (a == NULL)
				continue;
			rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
			json_array_foreach(v, i, e)
				if (json_is_string(e))
					rte_tel_data_add_array_string(a, json_string_value(e));
			if (rte_tel_data_add_dict_container(d, key, a, 0) != 0)
				rte_tel_data_free(a);
		}
	}
}

/* A row's name as telemetry shows it: "type/remote" for a tunnel, else
 * its "name". */
static void
row_name(const json_t *row, char *buf, size_t len)
{
	const json_t *remote = json_object_get(row, "remote");

	if (remote != NULL)
		snprintf(buf, len, "%s/%s", json_string_value(json_object_get(row, "type")),
			 json_string_value(remote));
	else
		snprintf(buf, len, "%s", json_string_value(json_object_get(row, "name")));
}

/* The names of the rows of a show result, as a string array. */
static int
list(const char *op, struct rte_tel_data *d)
{
	json_t *res = show(op), *row;
	size_t i;

	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	json_array_foreach(res, i, row) {
		char name[RTE_TEL_MAX_STRING_LEN];
		row_name(row, name, sizeof(name));
		rte_tel_data_add_array_string(d, name);
	}
	json_decref(res);
	return 0;
}

/* One row of a show result (matched by name) plus its counters. */
static int
detail(const char *op, const char *counters_key, const char *params, struct rte_tel_data *d)
{
	json_t *res, *row, *cnt, *found = NULL;
	size_t i;

	if (params == NULL || *params == '\0')
		return -1;
	res = show(op);
	json_array_foreach(res, i, row) {
		char name[RTE_TEL_MAX_STRING_LEN];
		row_name(row, name, sizeof(name));
		if (strcmp(name, params) == 0)
			found = row;
	}
	if (found == NULL) {
		json_decref(res);
		return -1;
	}
	rte_tel_data_start_dict(d);
	put_dict(d, "", found);
	cnt = show("show_counters");
	put_dict(d, "", json_object_get(json_object_get(cnt, counters_key), params));
	json_decref(cnt);
	json_decref(res);
	return 0;
}

static int
cb_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	return list("show_ports", d);
}

static int
cb_port(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return detail("show_ports", "ports", params, d);
}

static int
cb_networks(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	return list("show_networks", d);
}

static int
cb_network(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return detail("show_networks", "networks", params, d);
}

static int
cb_tunnels(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	return list("show_tunnels", d);
}

static int
cb_tunnel(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return detail("show_tunnels", "tunnels", params, d);
}

static int
cb_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *c = show("show_counters");

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	put_dict(d, "", json_object_get(c, "drops"));
	json_decref(c);
	return 0;
}

static int
cb_counters(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *c = show("show_counters");
	const char *const keys[] = { "total_drops", "learn", "arp_replies", "fdb_entries",
				     "control", "offload" };

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (size_t i = 0; i < RTE_DIM(keys); i++) {
		json_t *v = json_object_get(c, keys[i]);
		json_t *wrap = json_pack("{s:O}", keys[i], v ? v : json_null());
		put_dict(d, "", wrap);
		json_decref(wrap);
	}
	json_decref(c);
	return 0;
}

static int
cb_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *res = show("show_workers");
	size_t n = json_array_size(res);

	(void)cmd;
	(void)params;
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	for (size_t i = 0; i < n; i++)
		rte_tel_data_add_array_int(d, (int)i);
	json_decref(res);
	return 0;
}

static int
cb_worker(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *res;
	char *end;
	long i;

	(void)cmd;
	if (params == NULL || *params == '\0')
		return -1;
	i = strtol(params, &end, 10);
	res = show("show_workers");
	if (*end != '\0' || i < 0 || (size_t)i >= json_array_size(res)) {
		json_decref(res);
		return -1;
	}
	rte_tel_data_start_dict(d);
	put_dict(d, "", json_array_get(res, (size_t)i));
	json_decref(res);
	return 0;
}

static int
cb_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *help = show("help"), *c = show("show_counters");
	json_t *p = show("show_ports"), *n = show("show_networks"), *t = show("show_tunnels");
	json_t *w = show("show_workers");

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", json_string_value(json_object_get(help, "version"))
				     ? json_string_value(json_object_get(help, "version")) : "?");
	rte_tel_data_add_dict_u64(d, "ports", json_array_size(p));
	rte_tel_data_add_dict_u64(d, "networks", json_array_size(n));
	rte_tel_data_add_dict_u64(d, "tunnels", json_array_size(t));
	rte_tel_data_add_dict_u64(d, "workers", json_array_size(w));
	rte_tel_data_add_dict_u64(d, "fdb_entries",
				  (uint64_t)json_integer_value(json_object_get(c, "fdb_entries")));
	json_decref(help);
	json_decref(c);
	json_decref(p);
	json_decref(n);
	json_decref(t);
	json_decref(w);
	return 0;
}

int
tsw_telemetry_init(struct tsw_ctl *ctl, uint64_t (*now_ms)(void))
{
	static bool registered;
	static const struct {
		const char *cmd;
		telemetry_cb fn;
		const char *help;
	} cmds[] = {
		{ "/tunsw/info", cb_info, "tunsw summary. No parameters" },
		{ "/tunsw/counters", cb_counters, "tunsw totals. No parameters" },
		{ "/tunsw/drops", cb_drops, "tunsw drops by reason. No parameters" },
		{ "/tunsw/ports", cb_ports, "tunsw VM ports. No parameters" },
		{ "/tunsw/port", cb_port, "One VM port. Parameters: port name" },
		{ "/tunsw/networks", cb_networks, "tunsw networks. No parameters" },
		{ "/tunsw/network", cb_network, "One network. Parameters: network name" },
		{ "/tunsw/tunnels", cb_tunnels, "tunsw tunnels. No parameters" },
		{ "/tunsw/tunnel", cb_tunnel, "One tunnel. Parameters: type/remote-ip" },
		{ "/tunsw/workers", cb_workers, "tunsw worker ids. No parameters" },
		{ "/tunsw/worker", cb_worker, "One worker's load. Parameters: worker id" },
	};

	tsw_telemetry_lock();
	the_ctl = ctl;
	clock_ms = now_ms;
	tsw_telemetry_unlock();
	if (registered)
		return 0;
	for (size_t i = 0; i < RTE_DIM(cmds); i++)
		if (rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn, cmds[i].help) != 0)
			return -1;
	registered = true;
	return 0;
}

void
tsw_telemetry_fini(void)
{
	tsw_telemetry_lock();
	the_ctl = NULL;
	tsw_telemetry_unlock();
}
