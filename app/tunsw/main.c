/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the dataplane daemon.
 *
 *   tunsw [EAL options] -- --config FILE [--stats-interval SEC]
 *   tunsw --check-config FILE
 *
 * The main lcore is the management thread and the only table writer; each
 * further lcore (as many as [dataplane] workers) runs the forwarding
 * pipeline over the RX queues given to it. SIGINT/SIGTERM stop it cleanly.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>
#include <rte_rcu_qsbr.h>

#include "tsw_config.h"
#include "tsw_dp.h"
#include "tsw_ethdev.h"
#include "tsw_mgmt.h"
#include "tsw_pipeline.h"
#include "tsw_state.h"

#define MAX_RXQ_PER_WORKER (TSW_MAX_PORTS + TSW_MAX_WORKERS)

struct rxq {
	uint16_t eth_port;
	uint16_t queue;
	uint16_t index;       /* VM port index, or TSW_OUT_UPLINK */
};

struct worker_ctx {
	struct tsw_worker *w;
	unsigned int lcore;
	uint16_t n_rxq;
	struct rxq rxq[MAX_RXQ_PER_WORKER];
};

static volatile bool quit;
static struct rte_rcu_qsbr *qsbr;
static struct tsw_dp *dp;
static struct tsw_ethdev uplink;
static struct tsw_ethdev vm_dev[TSW_MAX_PORTS];
static struct worker_ctx wctx[TSW_MAX_WORKERS];
static uint16_t n_workers;
static uint64_t tsc0;
static double ns_per_tsc;

static void
on_signal(int sig)
{
	(void)sig;
	quit = true;
}

static inline tsw_ns_t
now_ns(void)
{
	return (tsw_ns_t)((double)(rte_rdtsc() - tsc0) * ns_per_tsc);
}

static uint16_t
eth_tx(void *arg, struct tsw_worker *w, uint16_t out, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t port;

	(void)arg;
	if (out == TSW_OUT_UPLINK)
		port = uplink.port_id;
	else
		port = dp->ports[out].eth_port;
	return rte_eth_tx_burst(port, w->id, pkts, n);
}

static int
worker_main(void *arg)
{
	struct worker_ctx *c = arg;
	struct tsw_worker *w = c->w;
	struct rte_mbuf *pkts[TSW_BURST];
	uint64_t t_prev = rte_rdtsc();

	rte_rcu_qsbr_thread_register(qsbr, w->id);
	rte_rcu_qsbr_thread_online(qsbr, w->id);
	while (!quit) {
		uint32_t got = 0;
		tsw_ns_t now = now_ns();

		for (uint16_t i = 0; i < c->n_rxq; i++) {
			const struct rxq *q = &c->rxq[i];
			uint16_t n = rte_eth_rx_burst(q->eth_port, q->queue, pkts, TSW_BURST);

			if (n == 0)
				continue;
			got += n;
			if (q->index == TSW_OUT_UPLINK)
				tsw_pipeline_uplink_rx(w, pkts, n, now);
			else
				tsw_pipeline_vm_rx(w, q->index, pkts, n, now);
		}
		tsw_pipeline_flush(w);
		rte_rcu_qsbr_quiescent(qsbr, w->id);
		/* load accounting, like OVS pmd-stats-show */
		uint64_t t = rte_rdtsc();
		if (got) {
			w->cnt->busy_cycles += t - t_prev;
			w->cnt->pkts += got;
			w->cnt->bursts++;
		} else {
			w->cnt->idle_cycles += t - t_prev;
		}
		t_prev = t;
	}
	rte_rcu_qsbr_thread_offline(qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(qsbr, w->id);
	return 0;
}

static void
sum_counters(struct tsw_counters *dst)
{
	struct tsw_counters *src[TSW_MAX_WORKERS];

	for (uint16_t i = 0; i < n_workers; i++)
		src[i] = wctx[i].w->cnt;
	tsw_counters_sum(dst, src, n_workers);
}

static void
print_stats_line(struct tsw_counters *prev, struct tsw_counters *cur, double secs)
{
	uint64_t rx = 0, tx = 0, prx = 0, ptx = 0, busy = 0, idle = 0;

	for (int p = 0; p < TSW_N_OUTS; p++) {
		rx += cur->port[p].rx_pkts;
		tx += cur->port[p].tx_pkts;
		prx += prev->port[p].rx_pkts;
		ptx += prev->port[p].tx_pkts;
	}
	busy = cur->busy_cycles - prev->busy_cycles;
	idle = cur->idle_cycles - prev->idle_cycles;
	printf("tunsw: rx %.0f pps, tx %.0f pps, rx total %lu, tx total %lu, drops %lu, "
	       "fdb %u, busy %.1f%%\n", (double)(rx - prx) / secs, (double)(tx - ptx) / secs,
	       rx, tx, tsw_counters_total_drops(cur), tsw_fdb_count(dp->fdb),
	       busy + idle ? 100.0 * (double)busy / (double)(busy + idle) : 0.0);
	fflush(stdout);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: tunsw [EAL options] -- --config FILE [--stats-interval SEC]\n"
		"       tunsw --check-config FILE\n"
		"  One lcore for management plus [dataplane] workers lcores are needed,\n"
		"  e.g. -l 0-1 for one worker.\n");
}

/* Split argv at "--": EAL before, ours after. Returns our argc. */
static int
parse_args(int argc, char **argv, int *eal_argc, const char **cfg_path, int *stats,
	   bool *check)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "stats-interval", required_argument, NULL, 's' },
		{ "check-config", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int sep = argc, opt;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	if (sep == argc) {
		/* no "--": only --check-config / --help are allowed alone */
		sep = 0;
	}
	*eal_argc = sep;
	optind = 1;
	int n = argc - sep;
	char **a = argv + sep;
	while ((opt = getopt_long(n, a, "c:s:k:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': *cfg_path = optarg; break;
		case 's': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 0 || v > 3600) {
				fprintf(stderr, "tunsw: --stats-interval: '%s' is not 0..3600\n", optarg);
				return -1;
			}
			*stats = (int)v;
			break;
		}
		case 'k': *cfg_path = optarg; *check = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != n || *cfg_path == NULL) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cfg_path = NULL;
	int stats_interval = -1, eal_argc = 0, rc = 1;
	bool check = false;
	char err[512];
	struct tsw_config *cfg = calloc(1, sizeof(*cfg));
	struct rte_mempool *pool = NULL;
	struct rte_ring *rings[TSW_MAX_WORKERS] = { NULL };
	struct tsw_mgmt mg;
	uint16_t n_vm_open = 0;
	bool uplink_open = false, launched = false;

	if (cfg == NULL)
		return 1;
	if (parse_args(argc, argv, &eal_argc, &cfg_path, &stats_interval, &check) < 0)
		goto out_nocleanup;
	if (tsw_config_load(cfg_path, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "tunsw: %s\n", err);
		goto out_nocleanup;
	}
	if (check) {
		printf("%s: OK (%u networks, %u ports, %u remotes, %u fdb entries)\n", cfg_path,
		       cfg->n_networks, cfg->n_ports, cfg->n_remotes, cfg->n_fdb);
		rc = 0;
		goto out_nocleanup;
	}
	if (eal_argc == 0) {
		usage(stderr);
		goto out_nocleanup;
	}
	if (stats_interval >= 0)
		cfg->dataplane.stats_interval = (uint32_t)stats_interval;
	n_workers = cfg->dataplane.workers;

	if (rte_eal_init(eal_argc, argv) < 0) {
		fprintf(stderr, "tunsw: EAL init failed: %s\n", rte_strerror(rte_errno));
		goto out_nocleanup;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (rte_lcore_count() < 1u + n_workers) {
		fprintf(stderr, "tunsw: %s: [dataplane] workers = %u needs %u lcores, EAL has %u "
			"(give e.g. -l 0-%u)\n", cfg_path, n_workers, 1 + n_workers,
			rte_lcore_count(), n_workers);
		goto out;
	}
	rte_pdump_init();   /* lets dpdk-dumpcap capture on any port */

	pool = rte_pktmbuf_pool_create("tsw_mbufs", cfg->dataplane.mbufs, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "tunsw: %s: [dataplane] mbufs = %u: cannot create mempool: %s\n",
			cfg_path, cfg->dataplane.mbufs, rte_strerror(rte_errno));
		goto out;
	}

	/* ports */
	{
		struct tsw_ethdev_conf ec = {
			.want_rxq = n_workers, .need_txq = n_workers, .mtu = cfg->uplink.mtu,
			.promiscuous = false, .mac = cfg->uplink.has_mac ? &cfg->uplink.mac : NULL,
		};
		if (tsw_ethdev_open(cfg->uplink.devargs, &ec, pool, &uplink, err, sizeof(err)) < 0) {
			fprintf(stderr, "tunsw: %s: [uplink] devargs: %s\n", cfg_path, err);
			goto out;
		}
		uplink_open = true;
		ec.mtu = 0;
		ec.mac = NULL;
		ec.promiscuous = true;
		for (; n_vm_open < cfg->n_ports; n_vm_open++) {
			const struct tsw_cfg_port *p = &cfg->ports[n_vm_open];
			if (tsw_ethdev_open(p->devargs, &ec, pool, &vm_dev[n_vm_open], err,
					    sizeof(err)) < 0) {
				fprintf(stderr, "tunsw: %s: [port %s] devargs: %s\n", cfg_path, p->name, err);
				goto out;
			}
		}
	}

	/* tables */
	{
		struct tsw_dp_conf dc;
		uint16_t eth_ports[TSW_MAX_PORTS];

		qsbr = rte_zmalloc("tsw_qsbr", rte_rcu_qsbr_get_memsize(n_workers), RTE_CACHE_LINE_SIZE);
		if (qsbr == NULL || rte_rcu_qsbr_init(qsbr, n_workers) != 0) {
			fprintf(stderr, "tunsw: cannot allocate RCU state\n");
			goto out;
		}
		tsw_dp_conf_from_config(&dc, cfg, &uplink.mac);
		dp = tsw_dp_create(&dc, qsbr, RTE_QSBR_THRID_INVALID, (int)rte_socket_id());
		if (dp == NULL) {
			fprintf(stderr, "tunsw: %s: cannot create tables (fdb_size %u)\n", cfg_path,
				cfg->dataplane.fdb_size);
			goto out;
		}
		for (uint16_t i = 0; i < cfg->n_ports; i++)
			eth_ports[i] = vm_dev[i].port_id;
		if (tsw_dp_load_config(dp, cfg, eth_ports, err, sizeof(err)) < 0) {
			fprintf(stderr, "tunsw: %s: %s\n", cfg_path, err);
			goto out;
		}
	}

	/* workers and their RX queues, round robin */
	{
		unsigned int lcore = rte_get_next_lcore(-1, 1, 0);
		uint16_t next = 0;

		for (uint16_t i = 0; i < n_workers; i++) {
			char name[32];
			snprintf(name, sizeof(name), "tsw_learn%u", i);
			rings[i] = tsw_learn_ring_create(name, cfg->dataplane.learn_ring_size,
							 (int)rte_socket_id());
			wctx[i].w = tsw_worker_create(i, dp, rings[i], pool, eth_tx, NULL,
						      (int)rte_socket_id());
			if (rings[i] == NULL || wctx[i].w == NULL) {
				fprintf(stderr, "tunsw: cannot allocate worker %u\n", i);
				goto out;
			}
			wctx[i].lcore = lcore;
			lcore = rte_get_next_lcore(lcore, 1, 0);
		}
		for (uint16_t q = 0; q < uplink.n_rxq; q++, next++) {
			struct worker_ctx *c = &wctx[next % n_workers];
			c->rxq[c->n_rxq++] = (struct rxq){ uplink.port_id, q, TSW_OUT_UPLINK };
		}
		for (uint16_t p = 0; p < cfg->n_ports; p++) {
			int idx = tsw_dp_port_find(dp, cfg->ports[p].name);
			for (uint16_t q = 0; q < vm_dev[p].n_rxq; q++, next++) {
				struct worker_ctx *c = &wctx[next % n_workers];
				c->rxq[c->n_rxq++] = (struct rxq){ vm_dev[p].port_id, q, (uint16_t)idx };
			}
		}
	}
	tsw_mgmt_init(&mg, dp, rings, n_workers);

	tsc0 = rte_rdtsc();
	ns_per_tsc = 1e9 / (double)rte_get_tsc_hz();
	for (uint16_t i = 0; i < n_workers; i++)
		if (rte_eal_remote_launch(worker_main, &wctx[i], wctx[i].lcore) != 0) {
			fprintf(stderr, "tunsw: cannot launch worker on lcore %u\n", wctx[i].lcore);
			quit = true;
			rte_eal_mp_wait_lcore();
			goto out;
		}
	launched = true;
	printf("tunsw: running: uplink %s (%02x:%02x:%02x:%02x:%02x:%02x), %u VM ports, "
	       "%u workers\n", uplink.name, uplink.mac.addr_bytes[0], uplink.mac.addr_bytes[1],
	       uplink.mac.addr_bytes[2], uplink.mac.addr_bytes[3], uplink.mac.addr_bytes[4],
	       uplink.mac.addr_bytes[5], cfg->n_ports, n_workers);
	fflush(stdout);

	/* management loop: the single writer */
	{
		static struct tsw_counters prev, cur;
		uint64_t hz = rte_get_tsc_hz();
		uint64_t next_stats = rte_rdtsc() + hz * cfg->dataplane.stats_interval;
		uint64_t last = rte_rdtsc();

		while (!quit) {
			tsw_mgmt_poll(&mg, now_ns() / TSW_NS_PER_MS);
			if (cfg->dataplane.stats_interval && rte_rdtsc() >= next_stats) {
				uint64_t t = rte_rdtsc();
				sum_counters(&cur);
				print_stats_line(&prev, &cur, (double)(t - last) / (double)hz);
				prev = cur;
				last = t;
				next_stats = t + hz * cfg->dataplane.stats_interval;
			}
			rte_delay_us_sleep(200);
		}
	}
	rc = 0;
out:
	quit = true;
	if (launched)
		rte_eal_mp_wait_lcore();
	if (dp != NULL && n_workers > 0 && wctx[0].w != NULL) {
		static struct tsw_counters total;
		sum_counters(&total);
		printf("tunsw: stopped. Final counters:\n");
		tsw_state_print_counters(stdout, dp, &total);
	}
	for (uint16_t i = 0; i < n_workers; i++) {
		tsw_worker_free(wctx[i].w);
		rte_ring_free(rings[i]);
	}
	for (uint16_t i = 0; i < n_vm_open; i++)
		tsw_ethdev_close(&vm_dev[i]);
	if (uplink_open)
		tsw_ethdev_close(&uplink);
	tsw_dp_free(dp);
	rte_free(qsbr);
	rte_mempool_free(pool);
	rte_pdump_uninit();
	rte_eal_cleanup();
out_nocleanup:
	free(cfg);
	return rc;
}
