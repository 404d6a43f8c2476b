/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the dataplane daemon.
 *
 *   tunsw [EAL options] -- --config FILE [--stats-interval SEC]
 *   tunsw --check-config FILE
 *
 * The main lcore is the management thread and the only table writer: it
 * applies learn events and ageing, control requests (in slices of at most
 * 1 ms, parsed by the control thread that owns the control socket,
 * tsw_ctlsrv) and hot-plugs VM ports. Each further lcore (as many as [dataplane] workers) runs the
 * forwarding pipeline over the RX queues given to it (workers.h).
 * SIGINT/SIGTERM stop it cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
#include "tsw_config_apply.h"
#include "tsw_ctl.h"
#include "tsw_ctlexec.h"
#include "tsw_ctlsrv.h"
#include "tsw_dp.h"
#include "tsw_ethdev.h"
#include "tsw_mgmt.h"
#include "tsw_pipeline.h"
#include "tsw_state.h"
#include "tsw_sockpath.h"
#include "tsw_telemetry.h"
#include "tsw_underlay.h"
#include "tsw_pcap.h"
#include "tsw_vhost.h"
#include "tsw_vhostarg.h"
#include "workers.h"

#define MGMT_NAP_MIN_US 200u
#define MGMT_NAP_MAX_US 1000u
#define CTL_SLICE_US 1000u

static volatile bool quit;
static struct rte_rcu_qsbr *qsbr;
static struct tsw_dp *dp;
static struct rte_mempool *pool;
static struct tsw_ethdev uplink;
/* Physical networks with a device of their own ([physnet] device), by
 * physical network index. */
static struct phys_dev { struct tsw_ethdev d; bool open; } physdev[TSW_MAX_PHYSNETS];
/* A VM port's device: a vhost-user port on the vhost library (vh), or an
 * ethdev of any other PMD (d); by port index. */
static struct vm_dev { struct tsw_ethdev d; struct tsw_vhost *vh; bool open; } vm[TSW_MAX_PORTS];
static struct tsw_ethdev_conf vm_ec;
static struct tsw_workers ws;
static struct tsw_counters *wcnt[TSW_MAX_WORKERS];
static struct tsw_ctl *ctl;
static struct tsw_underlay *ul;

static void
on_signal(int sig)
{
	(void)sig;
	quit = true;
}

static uint64_t
now_ms(void)
{
	return workers_now_ns(&ws) / TSW_NS_PER_MS;
}

static void
sum_counters(struct tsw_counters *dst)
{
	tsw_counters_sum(dst, wcnt, ws.n);
}

struct cap_run;
static struct cap_run *capture_of(uint16_t out);
static void capture_end(struct cap_run *cr);

/* ---- VM port hot-plug (control socket port_add / port_del) ---- */

static uint32_t vhost_tx_retries;

static const char *
vm_dev_name(const struct vm_dev *v)
{
	return v->vh != NULL ? v->vh->name : v->d.name;
}

/* Open the device of devargs: a vhost-user port on the vhost library, or
 * an ethdev. 0, or -1 with the reason. */
static int
vm_dev_open(const char *devargs, struct vm_dev *v, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	if (!tsw_vhost_is_vhost(devargs))
		return tsw_ethdev_open(devargs, &vm_ec, pool, &v->d, err, errlen);
	/* the library's callbacks keep its address: one allocation each */
	v->vh = rte_zmalloc("tsw_vhost", sizeof(*v->vh), RTE_CACHE_LINE_SIZE);
	if (v->vh == NULL) {
		snprintf(err, errlen, "out of memory for a vhost-user port");
		return -1;
	}
	if (tsw_vhost_open(devargs, pool, v->vh, err, errlen) < 0) {
		rte_free(v->vh);
		v->vh = NULL;
		return -1;
	}
	return 0;
}

static void
vm_dev_close(struct vm_dev *v)
{
	if (v->vh != NULL) {
		tsw_vhost_close(v->vh);
		rte_free(v->vh);
		v->vh = NULL;
	} else {
		tsw_ethdev_close(&v->d);
	}
}

/* Which TX queue of output out each worker uses (shared when the device
 * has fewer). */
static int
set_txq(uint16_t out, const struct tsw_ethdev *d, struct tsw_vhost *vh, char *err,
	size_t errlen)
{
	int rc = vh != NULL ? tsw_txq_vhost_set(&ws.txq, out, vh, (uint16_t)vhost_tx_retries)
			    : tsw_txq_port_set(&ws.txq, out, d->port_id, d->n_txq);

	if (rc < 0)
		snprintf(err, errlen, "'%s': cannot set up its TX queues: %s",
			 vh != NULL ? vh->name : d->name, strerror(-rc));
	return rc;
}

/* The RX queues of VM port idx to the workers. */
static int
give_rxq(uint16_t idx)
{
	const struct vm_dev *v = &vm[idx];

	return v->vh != NULL ? workers_give(&ws, v->vh, 0, v->vh->n_qp, idx)
			     : workers_give(&ws, NULL, v->d.port_id, v->d.n_rxq, idx);
}

/* -1 with the reason when devargs name the vhost-user socket of one of the
 * n devices in devs already: two ports on one socket never work. */
static int
socket_unused(const char *devargs, const struct vm_dev *devs, size_t n, char *err,
	      size_t errlen)
{
	char path[TSW_SOCKPATH_MAX + 1];
	bool client;

	if (tsw_vhost_devargs_iface(devargs, path, sizeof(path), &client) != 1)
		return 0;          /* not vhost-user, or too long: tsw_vhost_open says */
	for (size_t i = 0; i < n; i++) {
		/* only vhost-user ports have sockets (tsw_vhost_is_vhost) */
		if (devs[i].open && devs[i].vh != NULL && tsw_sockpath_same(devs[i].vh->sock, path)) {
			snprintf(err, errlen, "iface: %s is already the socket of device %s", path,
				 vm_dev_name(&devs[i]));
			return -1;
		}
	}
	return 0;
}

static int
port_add(void *arg, const char *name, const char *devargs, uint16_t net,
	 const struct tsw_port_policy *pol, char *err, size_t errlen)
{
	struct vm_dev v;
	int idx;

	(void)arg;
	if (socket_unused(devargs, vm, TSW_MAX_PORTS, err, errlen) < 0 ||
	    vm_dev_open(devargs, &v, err, errlen) < 0)
		return -1;
	idx = tsw_dp_port_add(dp, name, v.vh != NULL ? UINT16_MAX : v.d.port_id, net, pol);
	if (idx < 0) {
		snprintf(err, errlen, "cannot add port: %s", strerror(-idx));
		vm_dev_close(&v);
		return -1;
	}
	/* its TX queues: set before a frame can be forwarded to it (a frame
	 * to it meanwhile finds no map: counted as not sent) */
	if (set_txq((uint16_t)idx, &v.d, v.vh, err, errlen) < 0) {
		tsw_dp_port_del(dp, (uint16_t)idx);
		vm_dev_close(&v);
		return -1;
	}
	vm[idx] = v;
	vm[idx].open = true;
	if (give_rxq((uint16_t)idx) < 0) {
		snprintf(err, errlen, "out of memory for the workers' queue lists");
		workers_take(&ws, (uint16_t)idx);
		tsw_dp_port_del(dp, (uint16_t)idx);
		tsw_txq_port_unset(&ws.txq, (uint16_t)idx);
		vm_dev_close(&vm[idx]);
		vm[idx].open = false;
		return -1;
	}
	return idx;
}

static int
port_del(void *arg, uint16_t idx, char *err, size_t errlen)
{
	(void)arg;
	if (capture_of(idx) != NULL)
		capture_end(capture_of(idx));   /* the file keeps what it saw */
	if (workers_take(&ws, idx) < 0) {
		snprintf(err, errlen, "out of memory for the workers' queue lists");
		return -1;
	}
	tsw_dp_port_del(dp, idx);      /* returns after a grace period */
	tsw_txq_port_unset(&ws.txq, idx);
	if (vm[idx].open)
		vm_dev_close(&vm[idx]);
	vm[idx].open = false;
	return 0;
}

/* show_ports: the TX queues of the port its workers use now. */
static void
port_info(void *arg, const char *name, json_t *o)
{
	int idx = name != NULL ? tsw_dp_port_find(dp, name) : -1;
	uint64_t q;
	json_t *a;

	(void)arg;
	if (idx < 0 || !vm[idx].open || (a = json_array()) == NULL)
		return;
	q = tsw_txq_enabled(&ws.txq, (uint16_t)idx);
	for (unsigned int i = 0; i < 64; i++)
		if (q >> i & 1)
			json_array_append_new(a, json_integer(i));
	json_object_set_new(o, "tx_queues", a);
	json_object_set_new(o, "device", json_string(vm_dev_name(&vm[idx])));
	if (vm[idx].vh != NULL) {
		const struct tsw_vhost *vh = vm[idx].vh;
		uint64_t rq = __atomic_load_n(&vh->rx_on, __ATOMIC_RELAXED);
		json_t *r = json_array();
		for (unsigned int i = 0; r != NULL && i < 64; i++)
			if (rq >> i & 1)
				json_array_append_new(r, json_integer(i));
		json_object_set_new(o, "rx_queues", r);
		json_object_set_new(o, "vhost_socket", json_string(vh->sock));
		json_object_set_new(o, "vhost_mode", json_string(vh->client ? "client" : "server"));
		json_object_set_new(o, "guest_connected",
				    json_boolean(__atomic_load_n(&vh->vid, __ATOMIC_RELAXED) >= 0));
		json_object_set_new(o, "queue_pairs", json_integer(vh->n_qp));
		json_object_set_new(o, "guest_connects", json_integer((json_int_t)
				    __atomic_load_n(&vh->connects, __ATOMIC_RELAXED)));
		rq = __atomic_load_n(&vh->unserved, __ATOMIC_RELAXED);
		if (rq != 0 && (r = json_array()) != NULL) {
			for (unsigned int i = 0; i < 64; i++)
				if (rq >> i & 1)
					json_array_append_new(r, json_integer(i));
			json_object_set_new(o, "unserved_queue_pairs", r);
		}
	}
}

static void
worker_info(void *arg, unsigned int i, json_t *o)
{
	const struct tsw_rxq_set *set = ws.wk[i].set;

	(void)arg;
	json_object_set_new(o, "lcore", json_integer(ws.wk[i].lcore));
	json_object_set_new(o, "rx_queues", json_integer(set ? set->n : 0));
}

/* ---- captures (control socket capture_start / capture_stop) ---- */

#define MAX_CAPTURES 8
#define CAPTURE_RING 2048

static char capture_dir[108];
static unsigned int capture_seq;
static struct cap_run {
	bool used, running, failed;
	uint16_t out;
	uint32_t count, snaplen;
	int iface;
	char port[TSW_NAME_LEN], file[TSW_NAME_LEN];
	struct tsw_capture *c;
	struct tsw_pcap_out *o;
	uint64_t written, lost;
} caps[MAX_CAPTURES];

/* Write what c's copies hold into its file; returns how many. */
static unsigned int
capture_write(struct cap_run *cr)
{
	static uint8_t buf[65536];
	struct rte_mbuf *m[64];
	struct tsw_capture_hdr h[64];
	unsigned int n = tsw_capture_take(cr->c, m, h, RTE_DIM(m));

	for (unsigned int i = 0; i < n; i++) {
		const void *d = rte_pktmbuf_read(m[i], 0, m[i]->pkt_len, buf);
		if (d == NULL || tsw_pcapng_write_epb(cr->o, (uint32_t)cr->iface, h[i].ts,
						      (enum tsw_pcap_dir)h[i].dir, d,
						      m[i]->pkt_len, h[i].wire_len) < 0)
			cr->failed = true;
		else
			cr->written++;
	}
	rte_pktmbuf_free_bulk(m, n);
	return n;
}

/* End cr's capture: no worker copies into it any more, what it holds is
 * written, its file closed. */
static void
capture_end(struct cap_run *cr)
{
	tsw_taps_set(&ws.taps, cr->out, NULL);      /* after a grace period */
	while (capture_write(cr) > 0)
		;
	cr->lost = tsw_capture_lost(cr->c);
	tsw_capture_free(cr->c);
	cr->c = NULL;
	if (tsw_pcap_close(cr->o) < 0)
		cr->failed = true;
	cr->o = NULL;
	cr->running = false;
}

/* Management thread: write what the captures copied; end those done. */
static unsigned int
capture_poll(void)
{
	unsigned int work = 0;

	for (unsigned int i = 0; i < MAX_CAPTURES; i++) {
		struct cap_run *cr = &caps[i];
		if (!cr->running)
			continue;
		work += capture_write(cr);
		if (tsw_capture_copied(cr->c) >= cr->count && rte_ring_count(cr->c->ring) == 0) {
			capture_end(cr);
			work++;
		}
	}
	return work;
}

/* The running capture of output out, or NULL. */
static struct cap_run *
capture_of(uint16_t out)
{
	for (unsigned int i = 0; i < MAX_CAPTURES; i++)
		if (caps[i].running && caps[i].out == out)
			return &caps[i];
	return NULL;
}

/* A new file in capture_dir, never replacing one nor following a link. */
static int
capture_file(const char *file, char *err, size_t errlen)
{
	int dfd, fd;

	if (mkdir(capture_dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "capture_dir %s: %s", capture_dir, strerror(errno));
		return -1;
	}
	dfd = open(capture_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "capture_dir %s: %s", capture_dir, strerror(errno));
		return -1;
	}
	fd = openat(dfd, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		snprintf(err, errlen, "%s/%s: %s", capture_dir, file,
			 errno == EEXIST ? "exists (a capture never replaces a file)" : strerror(errno));
	close(dfd);
	return fd;
}

/* A refused capture leaves no file behind. */
static void
capture_unlink(const char *file)
{
	int dfd = open(capture_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd >= 0) {
		unlinkat(dfd, file, 0);
		close(dfd);
	}
}

static int
capture_hook(void *arg, uint16_t out, const char *port, const char *file, uint32_t count,
	     uint32_t snaplen, char *err, size_t errlen)
{
	struct cap_run *cr = capture_of(out), *slot = NULL;
	char name[32];
	int fd;

	(void)arg;
	if (file == NULL) {
		if (cr == NULL) {
			snprintf(err, errlen, "no capture of '%s' is running", port);
			return -1;
		}
		capture_end(cr);
		return 0;
	}
	if (cr != NULL) {
		snprintf(err, errlen, "'%s' is being captured into %s already", port, cr->file);
		return -1;
	}
	/* a free slot, else the oldest finished one */
	for (unsigned int i = 0; i < MAX_CAPTURES && slot == NULL; i++)
		if (!caps[i].used)
			slot = &caps[i];
	for (unsigned int i = 0; i < MAX_CAPTURES && slot == NULL; i++)
		if (!caps[i].running)
			slot = &caps[i];
	if (slot == NULL) {
		snprintf(err, errlen, "%d captures are running (the most at once)", MAX_CAPTURES);
		return -1;
	}
	fd = capture_file(file, err, errlen);
	if (fd < 0)
		return -1;
	memset(slot, 0, sizeof(*slot));
	slot->o = tsw_pcapng_fdopen(fd, file, "tunsw", err, errlen);
	if (slot->o == NULL) {
		close(fd);
		capture_unlink(file);
		return -1;
	}
	slot->iface = tsw_pcapng_add_iface(slot->o, port,
					   out == TSW_OUT_UPLINK ? uplink.name
					   : out >= TSW_OUT_PHYS0 ? physdev[out - TSW_OUT_PHYS0].d.name
					   : vm_dev_name(&vm[out]));
	snprintf(name, sizeof(name), "tswcap%u", capture_seq++);
	slot->c = tsw_capture_create(name, CAPTURE_RING, snaplen, count, (int)rte_socket_id());
	if (slot->iface < 0 || slot->c == NULL) {
		snprintf(err, errlen, "%s", slot->c == NULL ? "out of memory for the capture's "
			 "buffers" : "cannot write the file");
		tsw_capture_free(slot->c);
		tsw_pcap_close(slot->o);
		capture_unlink(file);
		return -1;
	}
	slot->used = slot->running = true;
	slot->out = out;
	slot->count = count;
	slot->snaplen = snaplen;
	snprintf(slot->port, sizeof(slot->port), "%s", port);
	snprintf(slot->file, sizeof(slot->file), "%s", file);
	tsw_taps_set(&ws.taps, out, slot->c);
	return 0;
}

static void
captures_info(void *arg, json_t *list)
{
	(void)arg;
	for (unsigned int i = 0; i < MAX_CAPTURES; i++) {
		const struct cap_run *cr = &caps[i];
		json_t *o;
		if (!cr->used || (o = json_object()) == NULL)
			continue;
		json_object_set_new(o, "port", json_string(cr->port));
		json_object_set_new(o, "file", json_string(cr->file));
		json_object_set_new(o, "running", json_boolean(cr->running));
		json_object_set_new(o, "count", json_integer(cr->count));
		json_object_set_new(o, "snaplen", json_integer(cr->snaplen));
		json_object_set_new(o, "written", json_integer((json_int_t)cr->written));
		json_object_set_new(o, "lost", json_integer((json_int_t)(cr->running ?
				    tsw_capture_lost(cr->c) : cr->lost)));
		json_object_set_new(o, "write_failed", json_boolean(cr->failed));
		json_array_append_new(list, o);
	}
}

static struct tsw_ctlexec *cx;
static struct tsw_ctlsrv *srv;

/* show_counters' "control": how requests were applied. */
static void
control_info(void *arg, json_t *o)
{
	struct tsw_ctlexec_stats st;

	(void)arg;
	if (cx == NULL || o == NULL)
		return;
	tsw_ctlexec_stats(cx, &st);
	json_object_set_new(o, "reads", json_integer((json_int_t)st.reads));
	json_object_set_new(o, "writes", json_integer((json_int_t)st.writes));
	json_object_set_new(o, "steps", json_integer((json_int_t)st.steps));
	json_object_set_new(o, "slices_cut", json_integer((json_int_t)st.slices_cut));
	json_object_set_new(o, "max_slice_us", json_integer((json_int_t)st.max_slice_us));
	if (srv != NULL) {
		struct tsw_ctlsrv_stats ss;
		tsw_ctlsrv_stats(srv, &ss);
		json_object_set_new(o, "dump_bytes", json_integer((json_int_t)ss.dump_bytes));
		json_object_set_new(o, "dumps_refused", json_integer((json_int_t)ss.dumps_refused));
		json_object_set_new(o, "dumps_abandoned",
				    json_integer((json_int_t)ss.dumps_abandoned));
	}
}

/* Changes are answered only once no worker runs a burst begun before. */
static void
publish(void *arg)
{
	(void)arg;
	rte_rcu_qsbr_synchronize(qsbr, RTE_QSBR_THRID_INVALID);
	tsw_dp_reclaim(dp);   /* what they retired is past its grace period now */
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

/* The control thread and the table writer's side of it. */
static int
open_control(const struct tsw_config *cfg, struct tsw_ctlexec **x, struct tsw_ctlsrv **srv)
{
	char err[256];
	struct tsw_ctlsock_conf cc = {
		.path = cfg->control.socket, .mode = (mode_t)cfg->control.socket_mode,
		.group = cfg->control.socket_group, .max_clients = cfg->control.max_clients,
		.max_request = cfg->control.max_request,
		.idle_timeout_ms = (uint64_t)cfg->control.idle_timeout * 1000,
		.request_timeout_ms = (uint64_t)cfg->control.request_timeout * 1000,
		.max_reply_memory = (size_t)cfg->control.max_reply_memory_mb << 20,
	};
	struct tsw_ctlexec_conf xc = {
		.max_in_flight = cfg->control.max_clients,
		/* changes take turns with learn events: at most 1 ms at a time */
		.slice_us = CTL_SLICE_US,
		.publish = publish,
		.lock = tsw_telemetry_lock, .unlock = tsw_telemetry_unlock,
	};

	*x = NULL;
	*srv = NULL;
	if (cfg->control.socket[0] == '\0')
		return 0;
	*x = tsw_ctlexec_create(ctl, &xc);
	if (*x == NULL) {
		fprintf(stderr, "tunsw: cannot allocate the control queues\n");
		return -1;
	}
	*srv = tsw_ctlsrv_start(&cc, ctl, *x, err, sizeof(err));
	if (*srv == NULL) {
		fprintf(stderr, "tunsw: %s: [control] socket: %s\n", cfg->file, err);
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
	struct vm_dev *cfg_dev = NULL;
	struct rte_ring *rings[TSW_MAX_WORKERS] = { NULL };
	struct tsw_mgmt mg;
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
	cfg_dev = calloc(TSW_MAX_PORTS, sizeof(*cfg_dev));
	if (cfg_dev == NULL)
		goto out_nocleanup;

	/* a control, telemetry or vhost-user peer that went away must never
	 * kill the dataplane: every write to it fails with EPIPE instead */
	signal(SIGPIPE, SIG_IGN);
	/* a vhost-user port holds ~7 descriptors (its connection, the socket
	 * pin, four eventfds, the guest's memory): a thousand ports need more
	 * than the usual soft limit of 1024 */
	{
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8u * TSW_MAX_PORTS)
			printf("tunsw: open files limited to %llu: fewer than %u vhost-user ports "
			       "can be open (LimitNOFILE)\n", (unsigned long long)rl.rlim_cur,
			       (unsigned int)(rl.rlim_cur / 8));
	}
	if (rte_eal_init(eal_argc, argv) < 0) {
		fprintf(stderr, "tunsw: EAL init failed: %s\n", rte_strerror(rte_errno));
		goto out_nocleanup;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (rte_lcore_count() < 1u + cfg->dataplane.workers) {
		fprintf(stderr, "tunsw: %s: [dataplane] workers = %u needs %u lcores, EAL has %u "
			"(give e.g. -l 0-%u)\n", cfg_path, cfg->dataplane.workers,
			1 + cfg->dataplane.workers, rte_lcore_count(), cfg->dataplane.workers);
		goto out;
	}
	rte_pdump_init();   /* lets dpdk-dumpcap capture on any port */

	pool = rte_pktmbuf_pool_create("tsw_mbufs", cfg->dataplane.mbufs, 256, 0,
				       (uint16_t)(cfg->dataplane.mbuf_size + RTE_PKTMBUF_HEADROOM),
				       (int)rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "tunsw: %s: [dataplane] mbufs = %u: cannot create mempool: %s\n",
			cfg_path, cfg->dataplane.mbufs, rte_strerror(rte_errno));
		goto out;
	}

	/* ports */
	{
		struct tsw_ethdev_conf ec = {
			.want_rxq = cfg->dataplane.workers, .want_txq = cfg->dataplane.workers,
			.mtu = cfg->uplink.mtu, .promiscuous = false,
			.mac = cfg->uplink.has_mac ? &cfg->uplink.mac : NULL,
		};
		/* a physical network on the uplink: its hosts' MACs arrive there */
		for (uint16_t i = 0; i < cfg->n_physnets; i++)
			ec.promiscuous |= cfg->physnets[i].on_uplink;
		if (tsw_ethdev_open(cfg->uplink.devargs, &ec, pool, &uplink, err, sizeof(err)) < 0) {
			fprintf(stderr, "tunsw: %s: [uplink] devargs: %s\n", cfg_path, err);
			goto out;
		}
		uplink_open = true;
		for (uint16_t i = 0; i < cfg->n_physnets; i++) {
			const struct tsw_cfg_physnet *ph = &cfg->physnets[i];
			struct tsw_ethdev_conf pc = {
				.want_rxq = cfg->dataplane.workers,
				.want_txq = cfg->dataplane.workers,
				.mtu = ph->mtu, .promiscuous = true,
			};
			if (ph->on_uplink)
				continue;
			if (tsw_ethdev_open(ph->devargs, &pc, pool, &physdev[i].d, err,
					    sizeof(err)) < 0) {
				fprintf(stderr, "tunsw: %s: [physnet %s] device: %s\n", cfg_path,
					ph->name, err);
				goto out;
			}
			physdev[i].open = true;
		}
		vm_ec = ec;
		vm_ec.mtu = 0;
		vm_ec.mac = NULL;
		vm_ec.promiscuous = true;
		for (uint16_t i = 0; i < cfg->n_ports; i++) {
			const struct tsw_cfg_port *p = &cfg->ports[i];
			if (socket_unused(p->devargs, cfg_dev, i, err, sizeof(err)) < 0 ||
			    vm_dev_open(p->devargs, &cfg_dev[i], err, sizeof(err)) < 0) {
				fprintf(stderr, "tunsw: %s: [port %s] devargs: %s\n", cfg_path, p->name, err);
				goto out;
			}
			cfg_dev[i].open = true;
		}
	}

	/* tables */
	{
		struct tsw_dp_conf dc;
		uint16_t eth_ports[TSW_MAX_PORTS];

		qsbr = rte_zmalloc("tsw_qsbr", rte_rcu_qsbr_get_memsize(cfg->dataplane.workers),
				   RTE_CACHE_LINE_SIZE);
		if (qsbr == NULL || rte_rcu_qsbr_init(qsbr, cfg->dataplane.workers) != 0) {
			fprintf(stderr, "tunsw: cannot allocate RCU state\n");
			goto out;
		}
		tsw_config_dp_conf(&dc, cfg, &uplink.mac);
		dp = tsw_dp_create(&dc, qsbr, RTE_QSBR_THRID_INVALID, (int)rte_socket_id());
		if (dp == NULL) {
			fprintf(stderr, "tunsw: %s: cannot create tables (fdb_size %u)\n", cfg_path,
				cfg->dataplane.fdb_size);
			goto out;
		}
		for (uint16_t i = 0; i < cfg->n_ports; i++)
			eth_ports[i] = cfg_dev[i].vh != NULL ? UINT16_MAX : cfg_dev[i].d.port_id;
		if (tsw_config_apply(dp, cfg, eth_ports, err, sizeof(err)) < 0) {
			fprintf(stderr, "tunsw: %s: %s\n", cfg_path, err);
			goto out;
		}
		/* from now on a VM port device is owned by its table index */
		for (uint16_t i = 0; i < cfg->n_ports; i++) {
			int idx = tsw_dp_port_find(dp, cfg->ports[i].name);
			vm[idx] = cfg_dev[i];
			vm[idx].open = true;
			cfg_dev[i].open = false;
			cfg_dev[i].vh = NULL;
		}
	}

	/* workers and their RX queues */
	if (workers_create(&ws, cfg->dataplane.workers, dp, qsbr, pool,
			   cfg->dataplane.learn_ring_size, uplink.port_id, err, sizeof(err)) < 0) {
		fprintf(stderr, "tunsw: %s\n", err);
		goto out;
	}
	ws.idle_sleep_us = cfg->dataplane.idle_sleep_us;
	ws.idle_poll_us = cfg->dataplane.idle_queue_poll_us;
	if (!cfg->dataplane.gro)
		for (uint16_t i = 0; i < ws.n; i++)
			ws.wk[i].w->coalesce = NULL;
	vhost_tx_retries = cfg->dataplane.vhost_tx_retries;
	for (uint16_t i = 0; i < ws.n; i++) {
		rings[i] = ws.wk[i].ring;
		wcnt[i] = ws.wk[i].w->cnt;
	}
	tsw_vhost_set_qsbr(qsbr);        /* a guest's device goes only once no worker uses it */
	if (set_txq(TSW_OUT_UPLINK, &uplink, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "tunsw: %s: [uplink] devargs: %s\n", cfg_path, err);
		goto out;
	}
	for (uint16_t p = 0; p < TSW_MAX_PORTS; p++)
		if (vm[p].open && set_txq(p, &vm[p].d, vm[p].vh, err, sizeof(err)) < 0) {
			fprintf(stderr, "tunsw: %s: [port %s] devargs: %s\n", cfg_path,
				dp->ports[p].name, err);
			goto out;
		}
	for (uint16_t i = 0; i < TSW_MAX_PHYSNETS; i++)
		if (physdev[i].open &&
		    set_txq((uint16_t)(TSW_OUT_PHYS0 + i), &physdev[i].d, NULL, err,
			    sizeof(err)) < 0) {
			fprintf(stderr, "tunsw: %s: [physnet %s] device: %s\n", cfg_path,
				cfg->physnets[i].name, err);
			goto out;
		}
	if (workers_give(&ws, NULL, uplink.port_id, uplink.n_rxq, TSW_OUT_UPLINK) < 0)
		goto out;
	for (uint16_t i = 0; i < TSW_MAX_PHYSNETS; i++)
		if (physdev[i].open && workers_give(&ws, NULL, physdev[i].d.port_id,
						    physdev[i].d.n_rxq,
						    (uint16_t)(TSW_OUT_PHYS0 + i)) < 0)
			goto out;
	for (uint16_t p = 0; p < TSW_MAX_PORTS; p++)
		if (vm[p].open && give_rxq(p) < 0)
			goto out;
	tsw_mgmt_init(&mg, dp, rings, ws.n);
	{
		struct tsw_underlay_conf uc = {
			.local_ip = cfg->tunnel.local_ip, .mac = uplink.mac,
			.reachable_ms = cfg->uplink.arp_reachable * 1000,
			.retries = cfg->uplink.arp_retries,
		};
		struct rte_ring *punt[TSW_MAX_WORKERS];

		ul = tsw_underlay_create(dp, &uc, pool, workers_inject, &ws);
		if (ul == NULL) {
			fprintf(stderr, "tunsw: cannot allocate the ARP resolver\n");
			goto out;
		}
		for (uint16_t i = 0; i < ws.n; i++)
			punt[i] = ws.wk[i].punt;
		tsw_mgmt_set_underlay(&mg, ul, punt, ws.n);
	}

	/* control: requests, socket, telemetry */
	{
		struct tsw_ctl_hooks hooks = { .port_add = port_add, .port_del = port_del,
					       .worker_info = worker_info, .port_info = port_info,
					       .capture = capture_hook, .captures = captures_info,
					       .control_info = control_info };
		ctl = tsw_ctl_create(dp, &mg, wcnt, ws.n, pool, &hooks);
		if (ctl == NULL) {
			fprintf(stderr, "tunsw: cannot allocate the control state\n");
			goto out;
		}
		tsw_ctl_set_underlay(ctl, ul);
		tsw_ctl_set_vhost_dir(ctl, cfg->control.vhost_socket_dir);
		snprintf(capture_dir, sizeof(capture_dir), "%s", cfg->control.capture_dir);
		if (open_control(cfg, &cx, &srv) < 0)
			goto out;
		if (srv != NULL) {
			/* port_add's sockets: a directory QEMU can write to */
			char why[256];
			bool made, grouped;
			if (tsw_sockpath_vhost_dir(cfg->control.vhost_socket_dir,
						   cfg->control.vhost_socket_group, &made, &grouped,
						   why, sizeof(why)) < 0) {
				fprintf(stderr, "tunsw: [control] vhost_socket_dir: %s\n", why);
				goto out;
			}
			if (made)
				printf("tunsw: vhost_socket_dir %s created (mode 3775, group %s)\n",
				       cfg->control.vhost_socket_dir,
				       grouped ? cfg->control.vhost_socket_group : "the daemon's: "
				       "vhost_socket_group not found");
		}
		if (tsw_telemetry_init(ctl, now_ms) < 0)
			fprintf(stderr, "tunsw: warning: cannot register telemetry commands\n");
	}

	if (workers_launch(&ws) < 0) {
		fprintf(stderr, "tunsw: cannot launch the workers\n");
		goto out;
	}
	launched = true;
	printf("tunsw: running: uplink %s (%02x:%02x:%02x:%02x:%02x:%02x), %u VM ports, "
	       "%u workers, control %s\n", uplink.name, uplink.mac.addr_bytes[0],
	       uplink.mac.addr_bytes[1], uplink.mac.addr_bytes[2], uplink.mac.addr_bytes[3],
	       uplink.mac.addr_bytes[4], uplink.mac.addr_bytes[5], cfg->n_ports, ws.n,
	       srv ? cfg->control.socket : "off");
	fflush(stdout);

	/* management loop: the single writer */
	{
		static struct tsw_counters prev, cur;
		uint64_t hz = rte_get_tsc_hz();
		uint64_t next_stats = rte_rdtsc() + hz * cfg->dataplane.stats_interval;
		uint64_t last = rte_rdtsc(), next_sock = last + hz;

		/* An idle management thread naps, 200 us after work and up to 1 ms
		 * when idle for longer (a request wakes it at once): it shares
		 * its core with others and should not take it from them. A
		 * worker's learn ring holds learn_ring_size events meanwhile.
		 * Control requests come parsed from the control thread; their
		 * changes take at most CTL_SLICE_US between two learn polls. */
		unsigned int nap = MGMT_NAP_MIN_US;

		while (!quit) {
			unsigned int work = tsw_mgmt_poll(&mg, now_ms());

			work += tsw_txq_poll(&ws.txq);   /* guests' vring changes */
			work += capture_poll();

			if (cx != NULL)
				work += tsw_ctlexec_run(cx, now_ms());
			nap = work ? MGMT_NAP_MIN_US : RTE_MIN(nap * 2, MGMT_NAP_MAX_US);
			if (!work) {
				if (cx != NULL)
					tsw_ctlexec_wait(cx, nap);
				else
					rte_delay_us_sleep(nap);
			}
			if (rte_rdtsc() >= next_sock) {
				/* client-mode vhost-user ports follow their socket to a
				 * restarted guest's (DPDK retries every second) */
				for (uint16_t p = 0; p < TSW_MAX_PORTS; p++)
					if (vm[p].open && vm[p].vh != NULL)
						tsw_vhost_sock_refresh(vm[p].vh);
				next_sock = rte_rdtsc() + hz;
			}
			if (cfg->dataplane.stats_interval && rte_rdtsc() >= next_stats) {
				uint64_t t = rte_rdtsc();
				sum_counters(&cur);
				print_stats_line(&prev, &cur, (double)(t - last) / (double)hz);
				prev = cur;
				last = t;
				next_stats = t + hz * cfg->dataplane.stats_interval;
			}
		}
	}
	rc = 0;
out:
	quit = true;
	if (launched)
		workers_stop(&ws);
	for (unsigned int i = 0; i < MAX_CAPTURES; i++)
		if (caps[i].running)
			capture_end(&caps[i]);
	tsw_telemetry_fini();
	tsw_ctlsrv_stop(srv);
	tsw_ctlexec_free(cx);
	if (dp != NULL && ws.n > 0 && wcnt[0] != NULL) {
		static struct tsw_counters total;
		sum_counters(&total);
		printf("tunsw: stopped. Final counters:\n");
		tsw_state_print_counters(stdout, dp, &total);
	}
	tsw_ctl_free(ctl);
	tsw_underlay_free(ul);
	workers_free(&ws);
	for (uint16_t i = 0; i < TSW_MAX_PORTS; i++) {
		if (vm[i].open)
			vm_dev_close(&vm[i]);
		if (cfg_dev != NULL && cfg_dev[i].open)
			vm_dev_close(&cfg_dev[i]);
	}
	if (uplink_open)
		tsw_ethdev_close(&uplink);
	for (uint16_t i = 0; i < TSW_MAX_PHYSNETS; i++)
		if (physdev[i].open)
			tsw_ethdev_close(&physdev[i].d);
	tsw_dp_free(dp);
	rte_free(qsbr);
	rte_mempool_free(pool);
	rte_pdump_uninit();
	rte_eal_cleanup();
out_nocleanup:
	free(cfg_dev);
	free(cfg);
	return rc;
}
