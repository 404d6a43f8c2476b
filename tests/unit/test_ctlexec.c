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

#include "test_ctlexec.h"
#include "tsw_config.h"
#include "tsw_ctl.h"
#include "tsw_ctlexec.h"
#include "tsw_dp.h"
#include "tsw_fdb.h"

static const char conf_text[] =
	"[agent]\nl2_population = true\narp_responder = true\n"
	"[tunnel]\nlocal_ip = 198.18.0.1\ntypes = vxlan\n"
	"[uplink]\ndevargs = net_ring0\n"
	"[network blue]\ntype = vxlan\nsegmentation_id = 1001\n"
	"[dataplane]\nfdb_size = 4096\n";

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
	tsw_dp_conf_from_config(&dc, cfg, &mac);
	dp = tsw_dp_create(&dc, NULL, 0, SOCKET_ID_ANY);
	if (dp != NULL && tsw_dp_load_config(dp, cfg, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "load: %s\n", err);
		tsw_dp_free(dp);
		dp = NULL;
	}
	/* a local port in blue: l2population applies to networks with one */
	if (dp != NULL && tsw_dp_port_add(dp, "vm1", 0, (uint16_t)tsw_dp_net_find(dp, "blue")) < 0) {
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

void
register_ctlexec_tests(void)
{
	CU_pSuite s = CU_add_suite("control requests in slices", NULL, NULL);

	CU_add_test(s, "reads pass a large change; changes in order, in steps, after publish",
		    test_slices_order_and_reads);
}
