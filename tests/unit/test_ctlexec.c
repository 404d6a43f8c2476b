/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests: control requests applied in slices on the table writer
 * (tsw_ctlexec): reads pass a large change, changes keep their order, a
 * payload is applied a step at a time and answered once, after publish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <jansson.h>
#include <rte_byteorder.h>

#include "test_ctlexec.h"
#include "tsw_config.h"
#include "tsw_config_apply.h"
#include "tsw_ctl.h"
#include "tsw_ctlexec.h"
#include "tsw_dp.h"
#include "tsw_dumpacc.h"
#include "tsw_fdb.h"
#include "tsw_clock.h"
#include "tsw_sg.h"

static const char conf_text[] =
	"[agent]\nl2_population = true\narp_responder = true\n"
	"[tunnel]\nlocal_ip = 198.18.0.1\ntypes = vxlan\n"
	"[uplink]\ndevargs = net_ring0\n"
	"[network blue]\ntype = vxlan\nsegmentation_id = 1001\n"
	"[dataplane]\nfdb_size = 4096\n"
	"[security]\nmax_connections = 4096\n";

static unsigned int published;

static void
count_publish(void *arg)
{
	(void)arg;
	published++;
}

static struct tsw_dp *
make_dp(void)
{
	char path[] = "/tmp/tswctlexecXXXXXX", err[256];
	struct tsw_config *cfg = calloc(1, sizeof(*cfg));
	struct rte_ether_addr mac = { .addr_bytes = { 2, 0, 0, 0, 0, 1 } };
	struct tsw_dp_conf dc;
	struct tsw_dp *dp = NULL;
	int fd = mkstemp(path);

	if (cfg == NULL || fd < 0)
		goto out;
	if (write(fd, conf_text, sizeof(conf_text) - 1) != (ssize_t)sizeof(conf_text) - 1)
		goto out;
	if (tsw_config_load(path, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "config: %s\n", err);
		goto out;
	}
	tsw_config_dp_conf(&dc, cfg, &mac);
	dp = tsw_dp_create(&dc, NULL, 0, SOCKET_ID_ANY);
	if (dp != NULL && tsw_config_apply(dp, cfg, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "load: %s\n", err);
		tsw_dp_free(dp);
		dp = NULL;
	}
	/* a local port in blue: l2population applies to networks with one */
	if (dp != NULL && tsw_dp_port_add(dp, "vm1", 0, (uint16_t)tsw_dp_net_find(dp, "blue"), NULL) < 0) {
		tsw_dp_free(dp);
		dp = NULL;
	}
out:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	free(cfg);
	return dp;
}

/* A message for req (text) as the control thread makes it. */
static struct tsw_ctlmsg *
msg(struct tsw_ctl *ctl, uint64_t client, const char *text, json_t **refusal)
{
	struct tsw_ctlmsg *m = calloc(1, sizeof(*m));
	json_t *req = json_loads(text, 0, NULL);

	*refusal = NULL;
	m->client = client;
	m->req = req;
	m->cls = tsw_ctl_classify(req);
	if (m->cls == TSW_CTL_L2POP) {
		m->job = tsw_ctl_prepare(ctl, req, refusal);
		json_decref(req);
		m->req = NULL;
		if (m->job == NULL) {
			tsw_ctlmsg_free(m);
			return NULL;
		}
	}
	return m;
}

/* n entries behind 198.18.0.9 in network blue, as a request. */
static char *
payload(const char *op, unsigned int n)
{
	size_t cap = 256 + (size_t)n * 40;
	char *s = malloc(cap);
	size_t off = (size_t)snprintf(s, cap, "{\"id\": 7, \"op\": \"%s\", \"fdb_entries\": "
				      "{\"blue\": {\"segment_id\": 1001, \"network_type\": \"vxlan\", "
				      "\"ports\": {\"198.18.0.9\": [[\"00:00:00:00:00:00\", \"0.0.0.0\"]",
				      op);

	for (unsigned int i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, ", [\"fa:16:3e:00:%02x:%02x\", "
					"\"10.0.%u.%u\"]", i >> 8, i & 255, i >> 8, i & 255);
	snprintf(s + off, cap - off, "]}}}}");
	return s;
}

static void
test_slices_order_and_reads(void)
{
	struct tsw_dp *dp = make_dp();
	struct tsw_ctl *ctl;
	struct tsw_ctlexec *x;
	struct tsw_ctlexec_conf c = { .max_in_flight = 8, .slice_us = 0,
				      .publish = count_publish };
	struct tsw_ctlmsg *m, *got[8];
	struct tsw_ctlexec_stats st;
	unsigned int n_got = 0, runs = 0;
	json_t *refusal;
	char *add = payload("add_fdb_entries", 100);

	CU_ASSERT_FATAL(dp != NULL);
	ctl = tsw_ctl_create(dp, NULL, NULL, 0, NULL, NULL);
	CU_ASSERT_FATAL(ctl != NULL);
	x = tsw_ctlexec_create(ctl, &c);
	CU_ASSERT_FATAL(x != NULL);
	published = 0;

	/* client 1: the payload (201 changes); client 2: a change after it;
	 * client 3: a read after both */
	m = msg(ctl, 1, add, &refusal);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, m), 0);
	m = msg(ctl, 2, "{\"op\": \"network_add\", \"name\": \"red\", \"type\": \"vxlan\", "
		"\"segmentation_id\": 1002}", &refusal);
	CU_ASSERT_EQUAL(m->cls, TSW_CTL_NETS);
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, m), 0);
	m = msg(ctl, 3, "{\"op\": \"show_networks\"}", &refusal);
	CU_ASSERT_EQUAL(m->cls, TSW_CTL_READ);
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, m), 0);

	/* the first run: one step of the payload (slice 0), the read answered */
	tsw_ctlexec_run(x, 1000);
	runs++;
	while ((m = tsw_ctlexec_collect(x)) != NULL)
		got[n_got++] = m;
	CU_ASSERT_EQUAL_FATAL(n_got, 1);
	CU_ASSERT_EQUAL(got[0]->client, 3);
	/* the read saw the networks before network_add: blue only */
	CU_ASSERT_EQUAL(json_array_size(json_object_get(got[0]->reply, "result")), 1);
	CU_ASSERT(tsw_fdb_count(dp->fdb) > 0 && tsw_fdb_count(dp->fdb) < 100);
	CU_ASSERT_EQUAL(tsw_dp_net_find(dp, "red"), -ENOENT);

	while (n_got < 3 && runs < 1000) {
		tsw_ctlexec_run(x, 1000);
		runs++;
		while ((m = tsw_ctlexec_collect(x)) != NULL)
			got[n_got++] = m;
	}
	CU_ASSERT_EQUAL_FATAL(n_got, 3);
	/* applied in steps of at most 16 changes: 1 flood, 100 FDB, 100 ARP */
	CU_ASSERT(runs >= 201 / 16);
	/* changes answered in arrival order: the payload, then network_add */
	CU_ASSERT_EQUAL(got[1]->client, 1);
	CU_ASSERT_EQUAL(got[2]->client, 2);
	CU_ASSERT(json_is_true(json_object_get(got[1]->reply, "ok")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(got[1]->reply, "id")), 7);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(
		json_object_get(got[1]->reply, "result"), "fdb")), 100);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(
		json_object_get(got[1]->reply, "result"), "arp")), 100);
	CU_ASSERT(json_is_true(json_object_get(got[2]->reply, "ok")));
	CU_ASSERT_EQUAL(tsw_fdb_count(dp->fdb), 100);
	CU_ASSERT(tsw_dp_net_find(dp, "red") >= 0);
	/* answered only after publishing, once per run that answered changes
	 * (the payload's last step, then network_add) */
	CU_ASSERT_EQUAL(published, 2);
	tsw_ctlexec_stats(x, &st);
	CU_ASSERT_EQUAL(st.reads, 1);
	CU_ASSERT_EQUAL(st.writes, 2);
	CU_ASSERT(st.steps >= 201 / 16);
	for (unsigned int i = 0; i < n_got; i++)
		tsw_ctlmsg_free(got[i]);

	/* a refused payload is answered by prepare and changes nothing */
	free(add);
	add = payload("remove_fdb_entries", 3);
	add[strlen(add) - 8] = 'x';   /* spoil the last IP */
	m = msg(ctl, 4, add, &refusal);
	CU_ASSERT(m == NULL);
	CU_ASSERT(refusal != NULL && json_is_false(json_object_get(refusal, "ok")));
	json_decref(refusal);
	CU_ASSERT_EQUAL(tsw_fdb_count(dp->fdb), 100);

	/* what is still inside when it is freed is freed with it */
	m = msg(ctl, 5, "{\"op\": \"show_info\"}", &refusal);
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, m), 0);
	free(add);
	tsw_ctlexec_free(x);
	tsw_ctl_free(ctl);
	tsw_dp_free(dp);
}

/* #20 item 4: remote_del of a tunnel with 1 000 entries (and their ARP
 * entries stay: they are the network's) is answered once its entries are
 * gone, deleted a step at a time with reads between the steps and the next
 * change after it; the tunnel's index is not reused meanwhile. */
static void
test_deletions_in_steps_answered_when_done(void)
{
	struct tsw_dp *dp = make_dp();
	struct tsw_ctl *ctl;
	struct tsw_ctlexec *x;
	struct tsw_ctlexec_conf c = { .max_in_flight = 8, .slice_us = 0 };
	struct tsw_ctlmsg *m, *got[8];
	unsigned int n_got = 0, runs = 0;
	uint32_t counts[64];
	json_t *refusal;
	char *add = payload("add_fdb_entries", 1000);
	int tun;

	CU_ASSERT_FATAL(dp != NULL);
	ctl = tsw_ctl_create(dp, NULL, NULL, 0, NULL, NULL);
	x = tsw_ctlexec_create(ctl, &c);
	CU_ASSERT_FATAL(ctl != NULL && x != NULL);
	m = msg(ctl, 1, add, &refusal);
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, m), 0);
	while (n_got < 1 && runs++ < 1000) {
		tsw_ctlexec_run(x, 1000);
		while ((m = tsw_ctlexec_collect(x)) != NULL)
			tsw_ctlmsg_free(m), n_got++;
	}
	CU_ASSERT_EQUAL_FATAL(tsw_fdb_count(dp->fdb), 1000);
	tun = tsw_dp_tunnel_find(dp, TSW_TUN_VXLAN, rte_cpu_to_be_32(0xc6120009u));
	CU_ASSERT_FATAL(tun >= 0);

	n_got = runs = 0;
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, msg(ctl, 1, "{\"op\": \"remote_del\", \"ip\": "
						  "\"198.18.0.9\", \"type\": \"vxlan\"}",
						  &refusal)), 0);
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, msg(ctl, 2, "{\"op\": \"remote_add\", \"ip\": "
						  "\"198.18.0.10\", \"type\": \"vxlan\"}",
						  &refusal)), 0);
	while (n_got < 3 && runs < 1000) {
		if (runs == 3)   /* a read between two steps of the deletion */
			CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, msg(ctl, 3, "{\"op\": \"show_info\"}",
								  &refusal)), 0);
		tsw_ctlexec_run(x, 1000);
		counts[runs < 64 ? runs : 63] = tsw_fdb_count(dp->fdb);
		runs++;
		while ((m = tsw_ctlexec_collect(x)) != NULL) {
			if (m->client == 1)    /* answered only once nothing is left */
				CU_ASSERT_EQUAL(tsw_fdb_count(dp->fdb), 0);
			got[n_got++] = m;
		}
	}
	CU_ASSERT_EQUAL_FATAL(n_got, 3);
	CU_ASSERT_EQUAL(got[0]->client, 3);          /* the read, between the steps */
	CU_ASSERT_EQUAL(got[1]->client, 1);
	CU_ASSERT_EQUAL(got[2]->client, 2);          /* the next change after it */
	CU_ASSERT(json_is_true(json_object_get(got[1]->reply, "ok")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(got[1]->reply, "result"),
							   "fdb_removed")), 1000);
	/* a step (16 changes) a run: 1 000 entries take 63 runs */
	CU_ASSERT(runs >= 1000 / 16);
	/* the first run deletes the tunnel, each later one 16 of its entries */
	CU_ASSERT_EQUAL(counts[0], 1000);
	CU_ASSERT_EQUAL(counts[1], 1000 - 16);
	CU_ASSERT_EQUAL(counts[10], 1000 - 10 * 16);
	/* the new tunnel did not get the index whose entries were being deleted */
	CU_ASSERT(tsw_dp_tunnel_find(dp, TSW_TUN_VXLAN, rte_cpu_to_be_32(0xc612000au)) != tun ||
		  !dp->tunnels[TSW_TUN_VXLAN][tun].draining);
	CU_ASSERT_EQUAL(tsw_dp_tunnel_find(dp, TSW_TUN_VXLAN, rte_cpu_to_be_32(0xc6120009u)),
			-ENOENT);
	CU_ASSERT_FALSE(tsw_dp_drain_pending(dp));
	for (unsigned int i = 0; i < n_got; i++)
		tsw_ctlmsg_free(got[i]);
	free(add);
	tsw_ctlexec_free(x);
	tsw_ctl_free(ctl);
	tsw_dp_free(dp);
}

/* #20 item 4: a port's index is not reused while its entries are being
 * deleted; the network's entries go when its last port does (l2pop), each
 * deletion step bounded. */
static void
test_port_index_kept_while_its_entries_go(void)
{
	struct tsw_dp *dp = make_dp();
	int blue, p1, p2;

	CU_ASSERT_FATAL(dp != NULL);
	blue = tsw_dp_net_find(dp, "blue");
	p1 = tsw_dp_port_find(dp, "vm1");
	for (unsigned int i = 0; i < 100; i++) {
		struct rte_ether_addr mac = { { 0xfa, 0x16, 0x3e, 1, 0, (uint8_t)i } };
		struct tsw_fdb_key k;
		tsw_fdb_key_set(&k, (uint16_t)blue, &mac);
		tsw_fdb_learn(dp->fdb, &k, TSW_FDB_LOCAL, (uint16_t)p1, 1000);
		tsw_dp_arp_add(dp, (uint16_t)blue, 0x0a000000u + i, &mac);
	}
	CU_ASSERT_EQUAL(tsw_dp_port_del(dp, (uint16_t)p1), 0);
	CU_ASSERT_TRUE(tsw_dp_drain_pending(dp));
	CU_ASSERT_EQUAL(tsw_fdb_count(dp->fdb), 100);   /* nothing deleted yet */
	p2 = tsw_dp_port_add(dp, "vm2", 0, (uint16_t)blue, NULL);
	CU_ASSERT(p2 >= 0 && p2 != p1);
	CU_ASSERT_EQUAL(tsw_dp_port_del(dp, (uint16_t)p2), 0);   /* blue's last port */
	unsigned int steps = 0, n;
	while ((n = tsw_dp_drain(dp, 7)) > 0) {
		CU_ASSERT(n <= 7);
		steps++;
	}
	CU_ASSERT_FALSE(tsw_dp_drain_pending(dp));
	CU_ASSERT(steps >= 100 / 7);
	CU_ASSERT_EQUAL(tsw_fdb_count(dp->fdb), 0);
	CU_ASSERT_EQUAL(rte_hash_count(dp->arp), 0);    /* the network's ARP entries too */
	CU_ASSERT_EQUAL(tsw_dp_port_add(dp, "vm3", 0, (uint16_t)blue, NULL), p1 < p2 ? p1 : p2);
	tsw_dp_free(dp);
}

static int
cmp_ref(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(json_string_value(json_object_get(x, "network")),
		       json_string_value(json_object_get(y, "network")));
	const char *kx = json_string_value(json_object_get(x, "ip"));

	if (c != 0)
		return c;
	if (kx == NULL)     /* FDB: fixed-width MACs order as strings */
		return strcmp(json_string_value(json_object_get(x, "mac")),
			      json_string_value(json_object_get(y, "mac")));
	unsigned int a4[4], b4[4];
	sscanf(kx, "%u.%u.%u.%u", &a4[0], &a4[1], &a4[2], &a4[3]);
	sscanf(json_string_value(json_object_get(y, "ip")), "%u.%u.%u.%u", &b4[0], &b4[1], &b4[2],
	       &b4[3]);
	for (int i = 0; i < 4; i++)
		if (a4[i] != b4[i])
			return a4[i] < b4[i] ? -1 : 1;
	return 0;
}

/* #20 item 5: an unpaged dump gathered a page at a time as text is, byte for
 * byte, the reply json_dumps would make of the whole sorted table (FDB:
 * network, MAC; ARP: network, IPv4), and holds about what the reply
 * itself is, not a JSON object per entry. */
static void
test_dump_gathered_as_text_equals_the_sorted_reply(void)
{
	static const char *const nets[] = { "blue", "red", "5f1e7c4e-1a2b", "a", "zz" };
	unsigned int seed = 99;

	for (int arp = 0; arp < 2; arp++) {
		struct tsw_dumpacc *d = tsw_dumpacc_new(arp);
		json_t *all = json_array(), *id = json_string("q-7"), *ref;
		json_t **v;
		size_t n = 3000, len, max_held = 0;
		char *got, *want;

		CU_ASSERT_FATAL(d != NULL && all != NULL);
		for (size_t i = 0; i < n; i++) {
			unsigned int r = (unsigned int)rand_r(&seed);
			char mac[18], ip[16];
			snprintf(mac, sizeof(mac), "fa:16:3e:%02x:%02x:%02x", r & 255, r >> 8 & 255,
				 (unsigned int)i & 255);
			snprintf(ip, sizeof(ip), "10.%u.%u.%u", r >> 16 & 255, r >> 24 & 127,
				 (unsigned int)i & 255);
			json_t *o = arp ? json_pack("{s:s, s:s, s:s}", "network", nets[r % 5], "ip", ip,
						    "mac", mac)
					: json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "network",
						    nets[r % 5], "mac", mac, "kind", "static",
						    "tunnel", "type", "vxlan", "remote", "198.18.0.9");
			json_array_append_new(all, o);
		}
		/* pages of 100 in table order */
		for (size_t p = 0; p < n; p += 100) {
			json_t *page = json_array();
			for (size_t i = p; i < p + 100; i++)
				json_array_append(page, json_array_get(all, i));
			CU_ASSERT_EQUAL(tsw_dumpacc_add(d, page), 0);
			json_decref(page);
			if (tsw_dumpacc_bytes(d) > max_held)
				max_held = tsw_dumpacc_bytes(d);
		}
		CU_ASSERT_EQUAL(tsw_dumpacc_count(d), n);
		got = tsw_dumpacc_finish(d, id, &len);
		CU_ASSERT_FATAL(got != NULL);
		CU_ASSERT_EQUAL(strlen(got), len);
		/* the reference: the whole array sorted, as the daemon replied */
		v = malloc(n * sizeof(*v));
		for (size_t i = 0; i < n; i++)
			v[i] = json_array_get(all, i);
		qsort(v, n, sizeof(*v), cmp_ref);
		json_t *sorted = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append(sorted, v[i]);
		ref = json_pack("{s:O, s:b, s:o}", "id", id, "ok", 1, "result", sorted);
		want = json_dumps(ref, JSON_COMPACT | JSON_PRESERVE_ORDER);
		CU_ASSERT_STRING_EQUAL(got, want);
		/* what it held: the text in 1 MiB chunks (at most one partly
		 * empty), a 32-byte row an entry (grown by half), the names */
		CU_ASSERT(max_held < len + (1u << 20) + n * 32 * 3 / 2 + 4096);
		CU_ASSERT_EQUAL(tsw_dumpacc_bytes(d), 0);      /* given up by finish */
		free(v);
		free(got);
		free(want);
		json_decref(ref);
		json_decref(all);
		json_decref(id);
		tsw_dumpacc_free(d);
	}
}


/* Run x until n answers are collected into got (or 20 s pass). */
static unsigned int
run_until(struct tsw_ctlexec *x, struct tsw_ctlmsg **got, unsigned int n_got, unsigned int n)
{
	uint64_t end = tsw_mono_us() + 20 * 1000 * 1000;
	struct tsw_ctlmsg *m;

	while (n_got < n && tsw_mono_us() < end) {
		if (tsw_ctlexec_run(x, 1000) == 0)
			tsw_ctlexec_wait(x, 1000);
		while ((m = tsw_ctlexec_collect(x)) != NULL)
			got[n_got++] = m;
	}
	return n_got;
}

/* A group of n egress TCP rules (port 1000+i) and then extra, as a
 * security_group_set request. */
static char *
group_req(unsigned int n, unsigned int remote_groups)
{
	size_t cap = 256 + (size_t)(n + remote_groups) * 160;
	char *s = malloc(cap);
	size_t off = (size_t)snprintf(s, cap, "{\"op\": \"security_group_set\", \"name\": \"big\", "
				      "\"rules\": [");

	for (unsigned int i = 0; i < n + remote_groups; i++) {
		if (i < n)
			off += (size_t)snprintf(s + off, cap - off, "%s{\"direction\": \"egress\", "
						"\"ethertype\": \"IPv4\", \"protocol\": \"tcp\", "
						"\"port_range_min\": %u, \"port_range_max\": %u}",
						i ? ", " : "", 1000 + i, 1000 + i);
		else
			off += (size_t)snprintf(s + off, cap - off, "%s{\"direction\": \"ingress\", "
						"\"ethertype\": \"IPv4\", \"remote_group_id\": "
						"\"g%u\"}", i ? ", " : "", i);
	}
	snprintf(s + off, cap - off, "]}");
	return s;
}

/* show_counters' control.rule_set_builds.key */
static json_int_t
builds(struct tsw_ctl *ctl, const char *key)
{
	json_t *req = json_pack("{s:s}", "op", "show_counters");
	json_t *rep = tsw_ctl_request(ctl, req, 1000);
	json_int_t v = json_integer_value(json_object_get(json_object_get(json_object_get(
		json_object_get(rep, "result"), "control"), "rule_set_builds"), key));

	json_decref(req);
	json_decref(rep);
	return v;
}

/* #21: a port's rule set is compiled on the builder thread while the
 * table writer goes on: reads are answered meanwhile, the changes behind
 * it wait (arrival order), the port gets the whole set at once; a change
 * whose set cannot be built is refused with the builder's reason and
 * nothing changes. */
static void
test_rule_sets_built_off_the_writer(void)
{
	struct tsw_dp *dp = make_dp();
	struct tsw_ctl *ctl;
	struct tsw_ctlexec *x;
	struct tsw_ctlexec_conf c = { .max_in_flight = 8, .slice_us = 1000000,
				      .publish = count_publish };
	struct tsw_ctlmsg *m, *got[8];
	const struct tsw_sg_ruleset *rs;
	unsigned int n_got = 0;
	json_t *refusal;
	char *big = group_req(800, 0), *bad = group_req(10, 33);
	int vm1;

	CU_ASSERT_FATAL(dp != NULL);
	vm1 = tsw_dp_port_find(dp, "vm1");
	ctl = tsw_ctl_create(dp, NULL, NULL, 0, NULL, NULL);
	CU_ASSERT_FATAL(ctl != NULL);
	x = tsw_ctlexec_create(ctl, &c);
	CU_ASSERT_FATAL(x != NULL);

	m = msg(ctl, 1, big, &refusal);
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, m), 0);
	m = msg(ctl, 2, "{\"op\": \"port_security_set\", \"port\": \"vm1\", \"enabled\": true, "
		"\"mac\": \"02:00:00:00:01:01\", \"fixed_ips\": [\"10.0.0.1\"], "
		"\"security_groups\": [\"big\"]}", &refusal);
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, m), 0);
	m = msg(ctl, 3, "{\"op\": \"network_add\", \"name\": \"red\", \"type\": \"vxlan\", "
		"\"segmentation_id\": 1002}", &refusal);
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, m), 0);
	m = msg(ctl, 4, "{\"op\": \"show_networks\"}", &refusal);
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, m), 0);

	/* one run: the read and the group (no port uses it yet: nothing to
	 * build); port_security_set waits for its set, network_add behind it */
	tsw_ctlexec_run(x, 1000);
	while ((m = tsw_ctlexec_collect(x)) != NULL)
		got[n_got++] = m;
	CU_ASSERT_EQUAL_FATAL(n_got, 2);
	CU_ASSERT_EQUAL(got[0]->client, 4);
	CU_ASSERT_EQUAL(got[1]->client, 1);
	CU_ASSERT(dp->ports[vm1].sg == NULL);
	CU_ASSERT(dp->ports[vm1].sec == NULL);
	CU_ASSERT_EQUAL(tsw_dp_net_find(dp, "red"), -ENOENT);

	n_got = run_until(x, got, n_got, 4);
	CU_ASSERT_EQUAL_FATAL(n_got, 4);
	CU_ASSERT_EQUAL(got[2]->client, 2);
	CU_ASSERT_EQUAL(got[3]->client, 3);
	CU_ASSERT(json_is_true(json_object_get(got[2]->reply, "ok")));
	CU_ASSERT(json_is_true(json_object_get(got[3]->reply, "ok")));
	rs = dp->ports[vm1].sg;
	CU_ASSERT_FATAL(rs != NULL);
	CU_ASSERT_EQUAL(rs->n_refs, 800);
	CU_ASSERT(rs->acl[TSW_SG_EGRESS][0] != NULL && rs->acl[TSW_SG_INGRESS][0] == NULL);
	CU_ASSERT(dp->ports[vm1].sec != NULL);
	CU_ASSERT(tsw_dp_net_find(dp, "red") >= 0);
	CU_ASSERT_EQUAL(builds(ctl, "off_lcore"), 1);
	CU_ASSERT_EQUAL(builds(ctl, "rounds"), 1);
	CU_ASSERT_EQUAL(builds(ctl, "inline"), 0);

	/* 33 remote groups: the builder refuses, the request says why, the
	 * port keeps its set, the group its rules */
	m = msg(ctl, 5, bad, &refusal);
	CU_ASSERT_EQUAL(tsw_ctlexec_submit(x, m), 0);
	n_got = run_until(x, got, n_got, 5);
	CU_ASSERT_EQUAL_FATAL(n_got, 5);
	CU_ASSERT(json_is_false(json_object_get(got[4]->reply, "ok")));
	CU_ASSERT(strstr(json_string_value(json_object_get(got[4]->reply, "error")),
			 "remote groups") != NULL);
	CU_ASSERT(dp->ports[vm1].sg == rs);
	CU_ASSERT_EQUAL(builds(ctl, "rounds"), 2);
	CU_ASSERT_EQUAL(builds(ctl, "inline"), 0);
	{
		json_t *req = json_pack("{s:s}", "op", "show_security_groups");
		json_t *rep = tsw_ctl_request(ctl, req, 1000), *g, *shown = NULL;
		size_t i;
		json_array_foreach(json_object_get(rep, "result"), i, g)
			if (strcmp(json_string_value(json_object_get(g, "name")), "big") == 0)
				shown = g;
		CU_ASSERT_EQUAL(json_array_size(json_object_get(shown, "rules")), 800);
		CU_ASSERT_EQUAL(json_array_size(json_object_get(rep, "result")), 1);  /* no g* */
		json_decref(req);
		json_decref(rep);
	}
	for (unsigned int i = 0; i < n_got; i++)
		tsw_ctlmsg_free(got[i]);
	free(big);
	free(bad);
	tsw_ctlexec_free(x);
	tsw_ctl_free(ctl);
	tsw_dp_free(dp);
}

void
register_ctlexec_tests(void)
{
	CU_pSuite s = CU_add_suite("control requests in slices", NULL, NULL);

	CU_add_test(s, "reads pass a large change; changes in order, in steps, after publish",
		    test_slices_order_and_reads);
	CU_add_test(s, "a deleted tunnel's entries go in steps; answered when gone",
		    test_deletions_in_steps_answered_when_done);
	CU_add_test(s, "a port's index kept while its entries go; the network's with the last",
		    test_port_index_kept_while_its_entries_go);
	CU_add_test(s, "an unpaged dump gathered as text is the sorted reply, byte for byte",
		    test_dump_gathered_as_text_equals_the_sorted_reply);
	CU_add_test(s, "rule sets built off the writer: reads pass, changes wait, refusal whole",
		    test_rule_sets_built_off_the_writer);
}
