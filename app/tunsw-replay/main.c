/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw-replay: run the forwarding pipeline deterministically over captured
 * input (pcap or pcapng, through libpcap: dpdk-dumpcap's files replay), in
 * one thread, with the capture's timestamps as the clock.
 *
 *   tunsw-replay --config FILE --in NAME=FILE.pcap [--in ...]
 *                [--control FILE.jsonl] --out-dir DIR
 *
 * NAME is a [port] name or "uplink". Control requests (one JSON object per
 * line, with "ts" in seconds on the pcap clock) are applied on the same
 * timeline, before the frames of the same instant. Writes DIR/NAME.pcap
 * for every port, DIR/control.jsonl (the replies) and DIR/state.json.
 * Exit status: 0 ok, 1 usage or input error, 2 an mbuf was leaked.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include <jansson.h>

#include "tsw_config.h"
#include "tsw_ctl.h"
#include "tsw_dp.h"
#include "tsw_mgmt.h"
#include "tsw_pcap.h"
#include "tsw_pipeline.h"
#include "tsw_state.h"
#include "tsw_underlay.h"

#define MAX_INPUTS (TSW_MAX_PORTS + 1)
#define REPLAY_MBUFS 8191
#define REPLAY_DATAROOM (RTE_PKTMBUF_HEADROOM + 16384)

static const struct rte_ether_addr default_uplink_mac = {
	.addr_bytes = { 0x02, 0x74, 0x73, 0x77, 0x00, 0x01 } };

struct event {
	tsw_ns_t ts;
	uint32_t seq;
	uint16_t input;          /* port index or TSW_OUT_UPLINK */
	struct tsw_pcap_rec *rec;
};

struct replay {
	struct tsw_pcap_out *out[TSW_N_OUTS];
	tsw_ns_t now;
	struct tsw_dp *dp;
	const char *out_dir;
};

struct ctl_req {
	tsw_ns_t ts;
	json_t *req;
};

/* Control requests of a JSON-lines file, each with "ts" (seconds), in
 * file order (which must be time order). */
static int
read_control(const char *path, struct ctl_req **out, size_t *n)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	tsw_ns_t last = 0;

	*out = NULL;
	*n = 0;
	if (f == NULL) {
		fprintf(stderr, "tunsw-replay: --control %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		json_error_t je;
		json_t *req, *ts;
		struct ctl_req *nr;

		lineno++;
		if (len <= 1)
			continue;
		req = json_loadb(line, (size_t)len, 0, &je);
		ts = req ? json_object_get(req, "ts") : NULL;
		if (req == NULL || !json_is_number(ts) || json_number_value(ts) < 0) {
			fprintf(stderr, "tunsw-replay: %s:%zu: %s\n", path, lineno,
				req ? "\"ts\" (seconds, >= 0) is required" : je.text);
			json_decref(req);
			goto fail;
		}
		nr = realloc(*out, (*n + 1) * sizeof(**out));
		if (nr == NULL) {
			json_decref(req);
			goto fail;
		}
		*out = nr;
		nr[*n].ts = (tsw_ns_t)(json_number_value(ts) * 1e9 + 0.5);
		nr[*n].req = req;
		if (nr[*n].ts < last) {
			fprintf(stderr, "tunsw-replay: %s:%zu: \"ts\" goes back in time\n", path,
				lineno);
			(*n)++;
			goto fail;
		}
		last = nr[(*n)++].ts;
	}
	free(line);
	fclose(f);
	return 0;
fail:
	free(line);
	fclose(f);
	return -1;
}

static int
replay_port_add(void *arg, const char *name, const char *devargs, uint16_t net, char *err,
		size_t errlen)
{
	struct replay *r = arg;
	char path[4096];
	int p;

	(void)devargs;   /* no devices here: the port's output is a pcap */
	p = tsw_dp_port_add(r->dp, name, UINT16_MAX, net);
	if (p < 0) {
		snprintf(err, errlen, "cannot add port: %s", strerror(-p));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.pcap", r->out_dir, name);
	tsw_pcap_close(r->out[p]);
	r->out[p] = tsw_pcap_create(path, err, errlen);
	if (r->out[p] == NULL) {
		tsw_dp_port_del(r->dp, (uint16_t)p);
		return -1;
	}
	return p;
}

static int
replay_port_del(void *arg, uint16_t port, char *err, size_t errlen)
{
	struct replay *r = arg;
	int rc = tsw_dp_port_del(r->dp, port);

	if (rc < 0) {
		snprintf(err, errlen, "cannot delete port: %s", strerror(-rc));
		return -1;
	}
	tsw_pcap_close(r->out[port]);
	r->out[port] = NULL;
	return 0;
}

static bool
replay_inject(void *arg, struct rte_mbuf *m)
{
	return rte_ring_sp_enqueue(arg, m) == 0;
}

/* Free what the slow path still holds. */
static void
release_slow_path(struct tsw_underlay **ul, struct rte_ring *punt, struct rte_ring *inject)
{
	tsw_underlay_free(*ul);
	*ul = NULL;
	tsw_pipeline_ring_drain(punt);
	tsw_pipeline_ring_drain(inject);
}

/* After the management thread ran: what it sends goes out now. */
static void
slow_path(struct tsw_mgmt *mg, struct tsw_worker *w, struct replay *rp, tsw_ns_t ts)
{
	rp->now = ts;
	tsw_mgmt_poll(mg, ts / TSW_NS_PER_MS);
	tsw_pipeline_inject(w);
	tsw_pipeline_flush(w);
}

/* Apply the control requests due at or before ts; replies to f. */
static void
apply_control(struct tsw_ctl *ctl, struct ctl_req *c, size_t n, size_t *next, tsw_ns_t ts,
	      FILE *f)
{
	for (; *next < n && c[*next].ts <= ts; (*next)++) {
		json_t *reply = tsw_ctl_request(ctl, c[*next].req, c[*next].ts / TSW_NS_PER_MS);
		if (reply != NULL) {
			json_dumpf(reply, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
			json_decref(reply);
		}
		fputc('\n', f);
	}
}

static int
cmp_event(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static uint16_t
replay_tx(void *arg, struct tsw_worker *w, uint16_t out, struct rte_mbuf **pkts, uint16_t n)
{
	struct replay *r = arg;
	static uint8_t buf[TSW_PCAP_SNAP];

	(void)w;
	for (uint16_t i = 0; i < n; i++) {
		uint32_t len = rte_pktmbuf_pkt_len(pkts[i]);
		const void *d = rte_pktmbuf_read(pkts[i], 0, RTE_MIN(len, (uint32_t)sizeof(buf)), buf);
		if (r->out[out] != NULL)
			tsw_pcap_write(r->out[out], r->now, d, RTE_MIN(len, (uint32_t)sizeof(buf)));
		rte_pktmbuf_free(pkts[i]);
	}
	return n;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: tunsw-replay --config FILE --in NAME=FILE.pcap [--in ...]\n"
		"                    [--control FILE.jsonl] --out-dir DIR\n"
		"  NAME is a [port] name of the config or 'uplink'.\n"
		"  Environment TSW_REPLAY_EAL adds EAL arguments.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "in", required_argument, NULL, 'i' },
		{ "out-dir", required_argument, NULL, 'o' },
		{ "control", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfg_path = NULL, *out_dir = NULL, *ctl_path = NULL;
	char *in_name[MAX_INPUTS], *in_file[MAX_INPUTS];
	int n_in = 0, opt, rc = 1;
	char err[512];

	while ((opt = getopt_long(argc, argv, "c:i:o:C:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cfg_path = optarg; break;
		case 'C': ctl_path = optarg; break;
		case 'o': out_dir = optarg; break;
		case 'i': {
			char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg || eq[1] == '\0') {
				fprintf(stderr, "tunsw-replay: --in %s: expected NAME=FILE.pcap\n", optarg);
				return 1;
			}
			if (n_in == MAX_INPUTS) {
				fprintf(stderr, "tunsw-replay: too many --in\n");
				return 1;
			}
			*eq = '\0';
			in_name[n_in] = optarg;
			in_file[n_in++] = eq + 1;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (cfg_path == NULL || out_dir == NULL || optind != argc) {
		usage(stderr);
		return 1;
	}

	struct tsw_config *cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL || tsw_config_load(cfg_path, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "tunsw-replay: %s\n", cfg ? err : "out of memory");
		free(cfg);
		return 1;
	}

	/* EAL: no hugepages, no shared files, one lcore. */
	char prefix[64];
	char *eal_argv[32];
	int eal_argc = 0;
	snprintf(prefix, sizeof(prefix), "--file-prefix=tswreplay%d", (int)getpid());
	eal_argv[eal_argc++] = argv[0];
	eal_argv[eal_argc++] = (char *)"--no-huge";
	eal_argv[eal_argc++] = (char *)"--no-shconf";   /* 22.11: --in-memory needs hugepages */
	eal_argv[eal_argc++] = (char *)"--no-pci";
	eal_argv[eal_argc++] = (char *)"--no-telemetry";
	eal_argv[eal_argc++] = (char *)"-l";
	eal_argv[eal_argc++] = (char *)"0";
	eal_argv[eal_argc++] = (char *)"-m";
	eal_argv[eal_argc++] = (char *)"512";
	eal_argv[eal_argc++] = (char *)"--log-level=lib.eal:error";
	eal_argv[eal_argc++] = prefix;
	char *extra = getenv("TSW_REPLAY_EAL") ? strdup(getenv("TSW_REPLAY_EAL")) : NULL;
	for (char *s = extra ? strtok(extra, " ") : NULL; s && eal_argc < 31; s = strtok(NULL, " "))
		eal_argv[eal_argc++] = s;
	eal_argv[eal_argc] = NULL;
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "tunsw-replay: EAL init failed: %s\n", rte_strerror(rte_errno));
		free(extra);
		free(cfg);
		return 1;
	}

	struct tsw_dp_conf dc;
	tsw_dp_conf_from_config(&dc, cfg, cfg->uplink.has_mac ? &cfg->uplink.mac
								: &default_uplink_mac);
	size_t qsz = rte_rcu_qsbr_get_memsize(1);
	struct rte_rcu_qsbr *qsbr = rte_zmalloc("qsbr", qsz, RTE_CACHE_LINE_SIZE);
	struct rte_mempool *pool = rte_pktmbuf_pool_create("replay", REPLAY_MBUFS, 0, 0,
							   REPLAY_DATAROOM, SOCKET_ID_ANY);
	struct rte_ring *ring = tsw_learn_ring_create("learn0", cfg->dataplane.learn_ring_size,
						      SOCKET_ID_ANY);
	struct rte_ring *punt = rte_ring_create("punt0", 1024, SOCKET_ID_ANY,
						RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct rte_ring *inject = rte_ring_create("inject0", 1024, SOCKET_ID_ANY,
						  RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct tsw_underlay *ul = NULL;
	struct tsw_dp *dp = NULL;
	struct tsw_worker *w = NULL;
	struct replay rp = { .now = 0, .out_dir = out_dir };
	struct tsw_ctl *ctl = NULL;
	struct ctl_req *creq = NULL;
	size_t ncreq = 0, cnext = 0;
	FILE *creply = NULL;
	struct tsw_counters *view = calloc(1, sizeof(*view));
	struct tsw_mgmt mg;
	struct tsw_pcap_rec *recs[MAX_INPUTS] = { NULL };
	size_t nrec[MAX_INPUTS] = { 0 };
	struct event *ev = NULL;
	size_t nev = 0;
	uint16_t eth_ports[TSW_MAX_PORTS];

	if (view == NULL || qsbr == NULL || pool == NULL || ring == NULL || punt == NULL ||
	    inject == NULL ||
	    rte_rcu_qsbr_init(qsbr, 1) != 0) {
		fprintf(stderr, "tunsw-replay: cannot allocate RCU, mempool or ring\n");
		goto out;
	}
	rte_rcu_qsbr_thread_register(qsbr, 0);
	rte_rcu_qsbr_thread_online(qsbr, 0);
	dp = tsw_dp_create(&dc, qsbr, 0, SOCKET_ID_ANY);
	if (dp == NULL) {
		fprintf(stderr, "tunsw-replay: cannot create tables\n");
		goto out;
	}
	for (uint16_t i = 0; i < cfg->n_ports; i++)
		eth_ports[i] = i;
	if (tsw_dp_load_config(dp, cfg, eth_ports, err, sizeof(err)) < 0) {
		fprintf(stderr, "tunsw-replay: %s: %s\n", cfg_path, err);
		goto out;
	}
	w = tsw_worker_create(0, dp, ring, pool, replay_tx, &rp, SOCKET_ID_ANY);
	if (w == NULL)
		goto out;
	tsw_mgmt_init(&mg, dp, &ring, 1);
	w->punt_ring = punt;
	w->inject_ring = inject;
	{
		struct tsw_underlay_conf uc = {
			.local_ip = cfg->tunnel.local_ip, .mac = dc.encap.src_mac,
			.reachable_ms = cfg->uplink.arp_reachable * 1000,
			.retries = cfg->uplink.arp_retries,
		};
		ul = tsw_underlay_create(dp, &uc, pool, replay_inject, inject);
		if (ul == NULL)
			goto out;
		tsw_mgmt_set_underlay(&mg, ul, &punt, 1);
	}
	rp.dp = dp;
	{
		struct tsw_ctl_hooks hooks = { .port_add = replay_port_add,
					       .port_del = replay_port_del, .arg = &rp };
		ctl = tsw_ctl_create(dp, &mg, &w->cnt, 1, pool, &hooks);
		if (ctl == NULL) {
			fprintf(stderr, "tunsw-replay: cannot create the control state\n");
			goto out;
		}
		tsw_ctl_set_underlay(ctl, ul);
		tsw_ctl_set_vhost_dir(ctl, cfg->control.vhost_socket_dir);
	}
	if (ctl_path != NULL) {
		char path[4096];
		if (read_control(ctl_path, &creq, &ncreq) < 0)
			goto out;
		snprintf(path, sizeof(path), "%s/control.jsonl", out_dir);
		creply = fopen(path, "w");
		if (creply == NULL) {
			fprintf(stderr, "tunsw-replay: %s: %s\n", path, strerror(errno));
			goto out;
		}
	}

	/* outputs */
	for (int p = 0; p <= TSW_MAX_PORTS; p++) {
		char path[4096];
		const char *name = p == TSW_MAX_PORTS ? "uplink" : dp->ports[p].name;
		if (p < TSW_MAX_PORTS && !dp->ports[p].in_use)
			continue;
		snprintf(path, sizeof(path), "%s/%s.pcap", out_dir, name);
		rp.out[p] = tsw_pcap_create(path, err, sizeof(err));
		if (rp.out[p] == NULL) {
			fprintf(stderr, "tunsw-replay: %s\n", err);
			goto out;
		}
	}
	/* inputs */
	for (int i = 0; i < n_in; i++) {
		int port = strcmp(in_name[i], "uplink") == 0 ? TSW_OUT_UPLINK
							   : tsw_dp_port_find(dp, in_name[i]);
		if (port < 0) {
			fprintf(stderr, "tunsw-replay: --in %s: no such port in %s\n", in_name[i],
				cfg_path);
			goto out;
		}
		if (tsw_pcap_read(in_file[i], &recs[i], &nrec[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "tunsw-replay: --in %s: %s\n", in_name[i], err);
			goto out;
		}
		struct event *ne = realloc(ev, (nev + nrec[i] + 1) * sizeof(*ev));
		if (ne == NULL)
			goto out;
		ev = ne;
		for (size_t j = 0; j < nrec[i]; j++) {
			if (recs[i][j].len > REPLAY_DATAROOM - RTE_PKTMBUF_HEADROOM) {
				fprintf(stderr, "tunsw-replay: --in %s: frame %zu too large\n",
					in_name[i], j);
				goto out;
			}
			ev[nev] = (struct event){ recs[i][j].ts, (uint32_t)nev, (uint16_t)port,
						  &recs[i][j] };
			nev++;
		}
	}
	if (nev > 0)
		qsort(ev, nev, sizeof(*ev), cmp_event);

	/* bursts: consecutive frames of one input with one timestamp */
	for (size_t i = 0; i < nev;) {
		struct rte_mbuf *b[TSW_BURST];
		uint16_t n = 0;
		uint16_t input = ev[i].input;
		tsw_ns_t ts = ev[i].ts;

		/* the slow path's timers (ARP retries, re-checks) in between */
		for (uint64_t t; (t = tsw_underlay_next_timer(ul)) <= ts / TSW_NS_PER_MS;) {
			rp.now = t * TSW_NS_PER_MS;
			tsw_underlay_tick(ul, t);
			tsw_pipeline_inject(w);
			tsw_pipeline_flush(w);
		}
		rp.now = ts;
		tsw_mgmt_poll(&mg, ts / TSW_NS_PER_MS);
		apply_control(ctl, creq, ncreq, &cnext, ts, creply);
		while (i < nev && n < TSW_BURST && ev[i].input == input && ev[i].ts == ts) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
			if (m == NULL) {
				fprintf(stderr, "tunsw-replay: mempool exhausted\n");
				goto out;
			}
			memcpy(rte_pktmbuf_append(m, (uint16_t)ev[i].rec->len), ev[i].rec->data,
			       ev[i].rec->len);
			b[n++] = m;
			i++;
		}
		if (input == TSW_OUT_UPLINK)
			tsw_pipeline_uplink_rx(w, b, n, ts);
		else
			tsw_pipeline_vm_rx(w, input, b, n, ts);
		tsw_pipeline_flush(w);
		slow_path(&mg, w, &rp, ts);
		rte_rcu_qsbr_quiescent(qsbr, 0);
	}
	if (cnext < ncreq)
		rp.now = RTE_MAX(rp.now, creq[ncreq - 1].ts);
	tsw_mgmt_poll(&mg, rp.now / TSW_NS_PER_MS);
	apply_control(ctl, creq, ncreq, &cnext, rp.now, creply);
	uint64_t end_ms = rp.now / TSW_NS_PER_MS;
	tsw_mgmt_poll(&mg, end_ms);
	tsw_mgmt_age_now(&mg, end_ms);

	{
		char path[4096];
		FILE *f;
		snprintf(path, sizeof(path), "%s/state.json", out_dir);
		f = fopen(path, "w");
		tsw_ctl_counters(ctl, view);
		if (f == NULL || tsw_state_write_json(f, dp, view, &mg, end_ms) < 0) {
			fprintf(stderr, "tunsw-replay: %s: cannot write\n", path);
			if (f)
				fclose(f);
			goto out;
		}
		fclose(f);
	}
	rc = 0;
	release_slow_path(&ul, punt, inject);   /* frames still waiting for ARP */
	if (rte_mempool_in_use_count(pool) != 0) {
		fprintf(stderr, "tunsw-replay: %u mbufs leaked\n", rte_mempool_in_use_count(pool));
		rc = 2;
	}
out:
	if (creply != NULL)
		fclose(creply);
	for (size_t i = 0; i < ncreq; i++)
		json_decref(creq[i].req);
	free(creq);
	tsw_ctl_free(ctl);
	release_slow_path(&ul, punt, inject);
	rte_ring_free(punt);
	rte_ring_free(inject);
	free(view);
	for (int p = 0; p <= TSW_MAX_PORTS; p++)
		tsw_pcap_close(rp.out[p]);
	for (int i = 0; i < n_in; i++)
		tsw_pcap_free(recs[i], nrec[i]);
	free(ev);
	tsw_worker_free(w);
	tsw_dp_free(dp);
	rte_ring_free(ring);
	rte_mempool_free(pool);
	rte_free(qsbr);
	{
		char rundir[PATH_MAX];
		snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		rmdir(rundir);   /* empty with --no-shconf; leave nothing behind */
	}
	free(extra);
	free(cfg);
	return rc;
}
