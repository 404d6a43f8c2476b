/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw-replay: run the forwarding pipeline deterministically over captured
 * input (pcap or pcapng, through libpcap: dpdk-dumpcap's files replay), in
 * one thread, with the capture's timestamps as the clock.
 *
 *   tunsw-replay --config FILE --in NAME=FILE[:INTERFACE] | --in FILE [--in ...]
 *                [--control FILE.jsonl] [--out-format pcapng|pcap] --out-dir DIR
 *
 * NAME is a [port] name, "uplink", or a [physnet] with a device of its
 * own (its frames in and out); INTERFACE picks one interface of a
 * pcapng file (index, name, description, hardware or its device part, e.g.
 * net_vhost0). A FILE without NAME maps each of its interfaces to the port
 * of that name or device (dpdk-dumpcap records the device). Control
 * requests (one JSON object per line, with "ts" in seconds on the capture
 * clock) are applied on the same timeline, before the frames of the same
 * instant. Writes DIR/out.pcapng, one interface per port (with --out-format
 * pcap: DIR/NAME.pcap per port), DIR/control.jsonl (the replies) and
 * DIR/state.json. Exit status: 0 ok, 1 usage or input error, 2 an mbuf was
 * leaked.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include <jansson.h>

#include "tsw_config.h"
#include "tsw_config_apply.h"
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
	enum tsw_pcap_format fmt;
	struct tsw_pcap_out *ng;              /* pcapng: every port's frames */
	int iface[TSW_N_OUTS];                /* pcapng: each port's interface */
	struct tsw_pcap_out *out[TSW_N_OUTS]; /* pcap: a file per port */
	bool write_failed;
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

/* The device of devargs: what comes before the first ','. */
static void
device_of(const char *devargs, char *dev, size_t len)
{
	snprintf(dev, len, "%.*s", (int)strcspn(devargs, ","), devargs);
}

/* Where port o's frames go from now on: a new interface of the pcapng
 * file (named after the port, described by its device), or DIR/NAME.pcap. */
static int
replay_output(struct replay *r, uint16_t o, const char *name, const char *devargs, char *err,
	      size_t errlen)
{
	char path[4096], dev[TSW_DEVARGS_LEN];

	if (r->fmt == TSW_PCAP_FMT_PCAPNG) {
		device_of(devargs, dev, sizeof(dev));
		r->iface[o] = tsw_pcapng_add_iface(r->ng, name, dev);
		if (r->iface[o] < 0) {
			snprintf(err, errlen, "%s/out.pcapng: cannot add an interface", r->out_dir);
			return -1;
		}
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s.pcap", r->out_dir, name);
	if (tsw_pcap_close(r->out[o]) < 0)
		r->write_failed = true;
	r->out[o] = tsw_pcap_create(path, err, errlen);
	return r->out[o] != NULL ? 0 : -1;
}

static int
replay_port_add(void *arg, const char *name, const char *devargs, uint16_t net,
		const struct tsw_port_policy *pol, char *err, size_t errlen)
{
	struct replay *r = arg;
	int p;

	p = tsw_dp_port_add(r->dp, name, UINT16_MAX, net, pol);
	if (p < 0) {
		snprintf(err, errlen, "cannot add port: %s", strerror(-p));
		return -1;
	}
	/* no devices here: the port's output is a capture */
	if (replay_output(r, (uint16_t)p, name, devargs, err, errlen) < 0) {
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
	if (tsw_pcap_close(r->out[port]) < 0)
		r->write_failed = true;
	r->out[port] = NULL;
	r->iface[port] = -1;
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
		int rc = 0;

		len = RTE_MIN(len, (uint32_t)sizeof(buf));
		if (r->fmt == TSW_PCAP_FMT_PCAPNG && r->iface[out] >= 0)
			rc = tsw_pcap_write(r->ng, (uint32_t)r->iface[out], r->now, d, len);
		else if (r->fmt == TSW_PCAP_FMT_PCAP && r->out[out] != NULL)
			rc = tsw_pcap_write(r->out[out], 0, r->now, d, len);
		if (rc < 0)
			r->write_failed = true;
		rte_pktmbuf_free(pkts[i]);
	}
	return n;
}

/* --in NAME=FILE[:INTERFACE] or FILE[:INTERFACE]: NAME= when what comes
 * before the first '=' is no path; :INTERFACE when FILE as given is no
 * file: the first ':' before which there is one (an interface name may
 * hold ':', as dumpcap's "dpdk:0"). */
static int
parse_in(char *arg, char **name, char **file, char **iface)
{
	char *eq = strchr(arg, '='), *colon;
	struct stat st;

	*name = NULL;
	*file = arg;
	*iface = NULL;
	if (eq != NULL && eq != arg && memchr(arg, '/', (size_t)(eq - arg)) == NULL) {
		*eq = '\0';
		*name = arg;
		*file = eq + 1;
	}
	if (stat(*file, &st) != 0) {
		for (colon = strchr(*file, ':'); colon != NULL; colon = strchr(colon + 1, ':')) {
			int found;

			*colon = '\0';
			found = colon != *file && colon[1] != '\0' && stat(*file, &st) == 0;
			if (found) {
				*iface = colon + 1;
				break;
			}
			*colon = ':';
		}
	}
	if ((*file)[0] == '\0') {
		fprintf(stderr, "tunsw-replay: --in: expected NAME=FILE[:INTERFACE] or FILE\n");
		return -1;
	}
	return 0;
}

/* The port an interface of f goes to when no NAME was given: "uplink" or
 * the uplink's device, a port's name or its device. -1 when none. */
static int
port_of_iface(const struct tsw_pcap_file *f, uint32_t i, const struct tsw_config *cfg,
	      const struct tsw_dp *dp)
{
	char dev[TSW_DEVARGS_LEN];

	device_of(cfg->uplink.devargs, dev, sizeof(dev));
	if (tsw_pcap_iface_match(f, i, "uplink", false) || tsw_pcap_iface_match(f, i, dev, false))
		return TSW_OUT_UPLINK;
	for (uint16_t k = 0; k < cfg->n_ports; k++) {
		device_of(cfg->ports[k].devargs, dev, sizeof(dev));
		if (tsw_pcap_iface_match(f, i, cfg->ports[k].name, false) ||
		    tsw_pcap_iface_match(f, i, dev, false))
			return tsw_dp_port_find(dp, cfg->ports[k].name);
	}
	for (uint16_t k = 0; k < cfg->n_physnets; k++) {
		if (cfg->physnets[k].on_uplink)
			continue;
		device_of(cfg->physnets[k].devargs, dev, sizeof(dev));
		if (tsw_pcap_iface_match(f, i, cfg->physnets[k].name, false) ||
		    tsw_pcap_iface_match(f, i, dev, false))
			return TSW_OUT_PHYS0 + k;
	}
	return -1;
}

/* How an interface of f is shown in an error. */
static const char *
iface_text(const struct tsw_pcap_file *f, uint32_t i, char *buf, size_t len)
{
	const struct tsw_pcap_iface *ifc = &f->ifaces[i];

	snprintf(buf, len, "%u (name \"%s\", hardware \"%s\")", i, ifc->name, ifc->hw);
	return buf;
}

/* The events of input file f for --in NAME/INTERFACE (port: NAME's, or -1
 * to map each interface); 0, or -1 after saying why. */
static int
input_events(const char *arg, struct tsw_pcap_file *f, int port, const char *iface,
	     const struct tsw_config *cfg, const struct tsw_dp *dp, struct event **ev, size_t *nev)
{
	int map[TSW_PCAP_MAX_IFACES];
	uint32_t first = UINT32_MAX;
	char t[400];
	struct event *ne;
	bool found = iface == NULL;
	size_t n_out = 0;

	for (uint32_t i = 0; i < f->n_ifaces; i++) {
		map[i] = -2;   /* not looked at yet */
		found = found || tsw_pcap_iface_match(f, i, iface, true);
	}
	if (!found) {
		fprintf(stderr, "tunsw-replay: --in %s: no interface \"%s\" in the file "
			"(it has %u)\n", arg, iface, f->n_ifaces);
		return -1;
	}
	ne = realloc(*ev, (*nev + f->n + 1) * sizeof(**ev));
	if (ne == NULL)
		return -1;
	*ev = ne;
	for (size_t j = 0; j < f->n; j++) {
		const struct tsw_pcap_rec *r = &f->recs[j];
		int p = port;

		if (iface != NULL && !tsw_pcap_iface_match(f, r->iface, iface, true))
			continue;
		if (r->dir == TSW_PCAP_DIR_OUT) {
			n_out++;     /* what the port sent (dumpcap records both ways) */
			continue;
		}
		if (port >= 0 && iface == NULL && first != UINT32_MAX && r->iface != first) {
			fprintf(stderr, "tunsw-replay: --in %s: frames on interfaces %u and %s: "
				"pick one with NAME=FILE:INTERFACE, or give FILE alone\n", arg,
				first, iface_text(f, r->iface, t, sizeof(t)));
			return -1;
		}
		first = r->iface;
		if (port < 0) {
			if (map[r->iface] == -2)
				map[r->iface] = port_of_iface(f, r->iface, cfg, dp);
			p = map[r->iface];
			if (p < 0) {
				fprintf(stderr, "tunsw-replay: --in %s: interface %s is no port's "
					"name or device: use NAME=FILE:INTERFACE\n", arg,
					iface_text(f, r->iface, t, sizeof(t)));
				return -1;
			}
		}
		if (r->len > REPLAY_DATAROOM - RTE_PKTMBUF_HEADROOM) {
			fprintf(stderr, "tunsw-replay: --in %s: frame %zu too large\n", arg, j);
			return -1;
		}
		(*ev)[*nev] = (struct event){ r->ts, (uint32_t)*nev, (uint16_t)p, &f->recs[j] };
		(*nev)++;
	}
	if (n_out > 0)
		fprintf(stderr, "tunsw-replay: --in %s: %zu outbound frames (sent on the port) "
			"skipped\n", arg, n_out);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: tunsw-replay --config FILE --in NAME=FILE[:INTERFACE] | --in FILE\n"
		"                    [--in ...] [--control FILE.jsonl]\n"
		"                    [--out-format pcapng|pcap] --out-dir DIR\n"
		"  NAME is a [port] name of the config or 'uplink'; FILE is pcap or pcapng.\n"
		"  INTERFACE: one interface of a pcapng file (index, name, or device as\n"
		"  dpdk-dumpcap records it, e.g. net_vhost0). Without NAME, each interface\n"
		"  goes to the port of its name or device.\n"
		"  Output: DIR/out.pcapng (an interface per port) or DIR/NAME.pcap.\n"
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
		{ "out-format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfg_path = NULL, *out_dir = NULL, *ctl_path = NULL;
	char *in_name[MAX_INPUTS], *in_file[MAX_INPUTS], *in_if[MAX_INPUTS];
	enum tsw_pcap_format fmt = TSW_PCAP_FMT_PCAPNG;
	int n_in = 0, opt, rc = 1;
	char err[512];

	while ((opt = getopt_long(argc, argv, "c:i:o:C:f:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cfg_path = optarg; break;
		case 'C': ctl_path = optarg; break;
		case 'o': out_dir = optarg; break;
		case 'f':
			if (strcmp(optarg, "pcapng") == 0)
				fmt = TSW_PCAP_FMT_PCAPNG;
			else if (strcmp(optarg, "pcap") == 0)
				fmt = TSW_PCAP_FMT_PCAP;
			else {
				fprintf(stderr, "tunsw-replay: --out-format %s: pcapng or pcap\n",
					optarg);
				return 1;
			}
			break;
		case 'i':
			if (n_in == MAX_INPUTS) {
				fprintf(stderr, "tunsw-replay: too many --in\n");
				return 1;
			}
			if (parse_in(optarg, &in_name[n_in], &in_file[n_in], &in_if[n_in]) < 0)
				return 1;
			n_in++;
			break;
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
	tsw_config_dp_conf(&dc, cfg, cfg->uplink.has_mac ? &cfg->uplink.mac
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
	struct replay rp = { .now = 0, .out_dir = out_dir, .fmt = fmt };
	struct tsw_ctl *ctl = NULL;
	struct ctl_req *creq = NULL;
	size_t ncreq = 0, cnext = 0;
	FILE *creply = NULL;
	struct tsw_counters *view = calloc(1, sizeof(*view));
	struct tsw_mgmt mg;
	struct tsw_pcap_file files[MAX_INPUTS];
	struct event *ev = NULL;
	size_t nev = 0;
	int n_read = 0;
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
	if (tsw_config_apply(dp, cfg, eth_ports, err, sizeof(err)) < 0) {
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

	/* outputs: the uplink, then the configured ports */
	if (fmt == TSW_PCAP_FMT_PCAPNG) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/out.pcapng", out_dir);
		rp.ng = tsw_pcapng_create(path, "tunsw-replay", err, sizeof(err));
		if (rp.ng == NULL) {
			fprintf(stderr, "tunsw-replay: %s\n", err);
			goto out;
		}
	}
	for (int p = 0; p < TSW_N_OUTS; p++)
		rp.iface[p] = -1;
	if (replay_output(&rp, TSW_OUT_UPLINK, "uplink", cfg->uplink.devargs, err,
			  sizeof(err)) < 0) {
		fprintf(stderr, "tunsw-replay: %s\n", err);
		goto out;
	}
	for (uint16_t k = 0; k < cfg->n_ports; k++) {
		int p = tsw_dp_port_find(dp, cfg->ports[k].name);
		if (p < 0 || replay_output(&rp, (uint16_t)p, cfg->ports[k].name,
					   cfg->ports[k].devargs, err, sizeof(err)) < 0) {
			fprintf(stderr, "tunsw-replay: %s\n", p < 0 ? "port table" : err);
			goto out;
		}
	}
	for (uint16_t k = 0; k < cfg->n_physnets; k++) {
		if (!cfg->physnets[k].on_uplink &&
		    replay_output(&rp, (uint16_t)(TSW_OUT_PHYS0 + k), cfg->physnets[k].name,
				  cfg->physnets[k].devargs, err, sizeof(err)) < 0) {
			fprintf(stderr, "tunsw-replay: %s\n", err);
			goto out;
		}
	}
	/* inputs */
	for (int i = 0; i < n_in; i++) {
		int port = -1;

		if (in_name[i] != NULL) {
			port = strcmp(in_name[i], "uplink") == 0 ? TSW_OUT_UPLINK
								 : tsw_dp_port_find(dp, in_name[i]);
			for (uint16_t k = 0; port < 0 && k < cfg->n_physnets; k++)
				if (!cfg->physnets[k].on_uplink &&
				    strcmp(in_name[i], cfg->physnets[k].name) == 0)
					port = TSW_OUT_PHYS0 + k;
			if (port < 0) {
				fprintf(stderr, "tunsw-replay: --in %s: no such port in %s\n",
					in_name[i], cfg_path);
				goto out;
			}
		}
		if (tsw_pcap_read(in_file[i], &files[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "tunsw-replay: --in: %s\n", err);
			goto out;
		}
		n_read = i + 1;
		if (input_events(in_file[i], &files[i], port, in_if[i], cfg, dp, &ev, &nev) < 0)
			goto out;
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
		else if (input >= TSW_OUT_PHYS0)
			tsw_pipeline_phys_rx(w, (uint16_t)(input - TSW_OUT_PHYS0), b, n, ts);
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
	for (int p = 0; p < TSW_N_OUTS; p++) {
		if (tsw_pcap_close(rp.out[p]) < 0)
			rp.write_failed = true;
		rp.out[p] = NULL;
	}
	if (tsw_pcap_close(rp.ng) < 0)
		rp.write_failed = true;
	rp.ng = NULL;
	if (rp.write_failed) {
		fprintf(stderr, "tunsw-replay: %s: cannot write the output captures\n", out_dir);
		rc = 1;
	}
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
	for (int p = 0; p < TSW_N_OUTS; p++)
		tsw_pcap_close(rp.out[p]);
	tsw_pcap_close(rp.ng);
	for (int i = 0; i < n_read; i++)
		tsw_pcap_free(&files[i]);
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
