/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness: see harness.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <jansson.h>

#include "harness.h"
#include "tsw_ct.h"
#include "tsw_learn.h"

struct fz FZ;

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* libFuzzer calls it once, before the first input: every target that links
 * the harness gets its tables from here. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return fz_init();
}

static const char conf_text[] =
	"[agent]\nl2_population = false\narp_responder = true\n"
	"[tunnel]\nlocal_ip = 198.18.0.1\ntypes = vxlan, gre\n"
	"[uplink]\ndevargs = net_null0\nmac = 02:00:00:00:00:01\nmtu = 1500\n"
	"[neighbor 198.18.0.2]\nmac = 02:00:00:00:00:02\n"
	"[neighbor 198.18.0.3]\nmac = 02:00:00:00:00:03\n"
	"[remote 198.18.0.2]\ntype = vxlan, gre\n"
	"[remote 198.18.0.3]\ntype = vxlan, gre\n"
	"[network blue]\ntype = vxlan\nsegmentation_id = 1001\n"
	"[network red]\ntype = vxlan\nsegmentation_id = 1002\n"
	"[network green]\ntype = gre\nsegmentation_id = 2001\n"
	"[port vm1]\ndevargs = net_vhost1,iface=/tmp/fz1\nnetwork = blue\n"
	"port_security = true\nmac = fa:16:3e:00:00:01\nips = 10.0.0.1, fd00::1\n"
	"allowed_address_pairs = 10.1.0.0/24, 10.2.0.5@fa:16:3e:00:00:05\n"
	"[port vm2]\ndevargs = net_vhost2,iface=/tmp/fz2\nnetwork = blue\n"
	"[port vm3]\ndevargs = net_vhost3,iface=/tmp/fz3\nnetwork = red\n"
	"[port vm4]\ndevargs = net_vhost4,iface=/tmp/fz4\nnetwork = green\n"
	"[port vm5]\ndevargs = net_vhost5,iface=/tmp/fz5\nnetwork = green\n"
	"[physnet phys1]\ndevice = uplink\n"
	"[physnet phys2]\ndevice = net_null7\nmtu = 1400\n"
	"[network v100]\ntype = vlan\nphysical_network = phys1\nsegmentation_id = 100\n"
	"[network flat1]\ntype = flat\nphysical_network = phys1\n"
	"[network p2v100]\ntype = vlan\nphysical_network = phys2\nsegmentation_id = 100\n"
	"[port vm6]\ndevargs = net_vhost6,iface=/tmp/fz6\nnetwork = v100\n"
	"[port vm7]\ndevargs = net_vhost7,iface=/tmp/fz7\nnetwork = flat1\n"
	"[port vm8]\ndevargs = net_vhost8,iface=/tmp/fz8\nnetwork = p2v100\n"
	"[fdb blue fa:16:3e:00:00:32]\nremote = 198.18.0.2\nip = 10.0.0.50\n"
	"[dataplane]\nfdb_size = 1024\nmac_limit_port = 64\nmac_limit_network = 256\n"
	"[security]\nmax_connections = 1024\n"
	"[control]\nsocket = none\nvhost_socket_dir = /run/tunsw\n";

/* Security groups on vm1 (stateful: connections tracked, remote group,
 * address group, ICMP and IPv6 rules) and vm2 (stateless, port security
 * without addresses of its own), given as tunsw-agent gives them. */
static const char *const sg_requests[] = {
	"{\"op\": \"address_group_set\", \"name\": \"ag\", \"addresses\": [\"10.9.0.0/16\", "
	"\"fd09::/64\"]}",
	"{\"op\": \"security_group_set\", \"name\": \"web\", \"rules\": ["
	"{\"direction\": \"ingress\", \"ethertype\": \"IPv4\", \"protocol\": \"tcp\", "
	"\"port_range_min\": 80, \"port_range_max\": 443, \"remote_ip_prefix\": \"0.0.0.0/0\"},"
	"{\"direction\": \"ingress\", \"ethertype\": \"IPv4\", \"protocol\": \"icmp\", "
	"\"port_range_min\": 8, \"port_range_max\": 0},"
	"{\"direction\": \"ingress\", \"ethertype\": \"IPv4\", \"protocol\": \"udp\", "
	"\"remote_group_id\": \"web\"},"
	"{\"direction\": \"ingress\", \"ethertype\": \"IPv6\", \"protocol\": \"ipv6-icmp\"},"
	"{\"direction\": \"ingress\", \"ethertype\": \"IPv6\", \"protocol\": \"tcp\", "
	"\"remote_address_group_id\": \"ag\"},"
	"{\"direction\": \"egress\", \"ethertype\": \"IPv4\"},"
	"{\"direction\": \"egress\", \"ethertype\": \"IPv6\", \"protocol\": \"udp\", "
	"\"port_range_min\": 53, \"port_range_max\": 53}]}",
	"{\"op\": \"security_group_set\", \"name\": \"sl\", \"stateful\": false, \"rules\": ["
	"{\"direction\": \"ingress\", \"ethertype\": \"IPv4\", \"protocol\": \"tcp\", "
	"\"port_range_min\": 22, \"port_range_max\": 22},"
	"{\"direction\": \"egress\", \"ethertype\": \"IPv4\", \"protocol\": \"tcp\"}]}",
	"{\"op\": \"security_group_members\", \"name\": \"web\", \"set\": [\"10.0.0.1\", "
	"\"10.0.0.7\", \"fd00::1\"]}",
	"{\"op\": \"port_security_set\", \"port\": \"vm1\", \"enabled\": true, "
	"\"mac\": \"fa:16:3e:00:00:01\", \"fixed_ips\": [\"10.0.0.1\", \"fd00::1\"], "
	"\"allowed_address_pairs\": [{\"ip_address\": \"10.1.0.0/24\"}], "
	"\"security_groups\": [\"web\"]}",
	"{\"op\": \"port_security_set\", \"port\": \"vm2\", \"enabled\": true, "
	"\"mac\": \"fa:16:3e:00:00:02\", \"fixed_ips\": [\"10.0.0.2\"], "
	"\"security_groups\": [\"sl\"]}",
};

void
fz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "tunsw fuzz oracle: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static uint16_t
capture(void *arg, struct tsw_worker *w, uint16_t out, struct rte_mbuf **pkts, uint16_t n)
{
	(void)arg;
	(void)w;
	for (uint16_t i = 0; i < n; i++) {
		uint32_t len = rte_pktmbuf_pkt_len(pkts[i]);
		if (FZ.n_out < FZ_MAX_OUT) {
			struct fz_out *o = &FZ.out[FZ.n_out++];
			uint32_t c = RTE_MIN(len, (uint32_t)FZ_SNAP);
			const void *d = rte_pktmbuf_read(pkts[i], 0, c, o->bytes);
			if (d != o->bytes)
				memcpy(o->bytes, d, c);
			o->len = (uint16_t)RTE_MIN(len, 65535u);
			o->port = out;
		}
		rte_pktmbuf_free(pkts[i]);
	}
	return n;
}

static int
fake_port_add(void *arg, const char *name, const char *devargs, uint16_t net,
	      const struct tsw_port_policy *pol, char *err, size_t errlen)
{
	int p;

	(void)arg;
	(void)devargs;
	p = tsw_dp_port_add(FZ.dp, name, UINT16_MAX, net, pol);
	if (p < 0)
		snprintf(err, errlen, "cannot add port");
	return p;
}

static int
fake_port_del(void *arg, uint16_t port, char *err, size_t errlen)
{
	(void)arg;
	if (tsw_dp_port_del(FZ.dp, port) < 0) {
		snprintf(err, errlen, "cannot delete port");
		return -1;
	}
	return 0;
}

static struct rte_rcu_qsbr *fz_qsbr;

/* The tables, the worker and the control handler, from FZ.cfg. */
static int
tables_create(void)
{
	uint16_t eth_ports[TSW_MAX_PORTS];
	struct tsw_dp_conf dc;
	struct tsw_ctl_hooks hooks = { .port_add = fake_port_add, .port_del = fake_port_del };
	char err[512];

	tsw_config_dp_conf(&dc, FZ.cfg, &FZ.cfg->uplink.mac);
	FZ.dp = tsw_dp_create(&dc, fz_qsbr, 0, SOCKET_ID_ANY);
	if (FZ.dp == NULL) {
		fprintf(stderr, "fuzz tables: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	for (uint16_t i = 0; i < FZ.cfg->n_ports; i++)
		eth_ports[i] = i;
	if (tsw_config_apply(FZ.dp, FZ.cfg, eth_ports, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz tables: %s\n", err);
		return -1;
	}
	FZ.w = tsw_worker_create(0, FZ.dp, FZ.learn, FZ.pool, capture, NULL, SOCKET_ID_ANY);
	if (FZ.w == NULL)
		return -1;
	FZ.w->punt_ring = FZ.punt;
	FZ.w->inject_ring = FZ.inject;
	tsw_mgmt_init(&FZ.mg, FZ.dp, &FZ.learn, 1);
	FZ.ctl = tsw_ctl_create(FZ.dp, &FZ.mg, &FZ.w->cnt, 1, FZ.pool, &hooks);
	if (FZ.ctl == NULL)
		return -1;
	tsw_ctl_set_vhost_dir(FZ.ctl, FZ.cfg->control.vhost_socket_dir);
	for (size_t i = 0; i < RTE_DIM(sg_requests); i++) {
		char *reply = tsw_ctl_handle(FZ.ctl, sg_requests[i], strlen(sg_requests[i]), 0);
		json_t *r = reply != NULL ? json_loads(reply, 0, NULL) : NULL;
		bool ok = json_is_true(json_object_get(r, "ok"));
		json_decref(r);
		if (!ok)
			fprintf(stderr, "fuzz security groups: %s\n", reply ? reply : "no reply");
		free(reply);
		if (!ok)
			return -1;
	}
	return 0;
}

static void
tables_free(void)
{
	tsw_ctl_free(FZ.ctl);
	tsw_worker_free(FZ.w);
	tsw_dp_free(FZ.dp);
	FZ.ctl = NULL;
	FZ.w = NULL;
	FZ.dp = NULL;
}

void
fz_reset_tables(void)
{
	/* a quiescent state first: rte_rcu_qsbr_dq_delete() keeps a defer
	 * queue (and its ring's name) when entries are still pending */
	rte_rcu_qsbr_quiescent(fz_qsbr, 0);
	tables_free();
	tsw_pipeline_ring_drain(FZ.learn);
	tsw_pipeline_ring_drain(FZ.punt);
	tsw_pipeline_ring_drain(FZ.inject);
	if (tables_create() < 0)
		fz_fail("cannot create the tables again");
}

/* Everything fz_init made, at exit: LeakSanitizer does not scan DPDK's
 * memory, so libc allocations referenced from the tables would look lost. */
static void
fz_cleanup(void)
{
	tables_free();
	free(FZ.cfg);
}

int
fz_init(void)
{
	char prefix[64], path[] = "/tmp/tswfuzzconfXXXXXX", err[512];
	char *eal[] = { (char *)"fuzz", (char *)"--no-huge", (char *)"--no-shconf",
			(char *)"--no-pci", (char *)"--no-telemetry", (char *)"-l", (char *)"0",
			(char *)"-m", (char *)"256", (char *)"--log-level=*:crit", prefix, NULL };
	struct rte_rcu_qsbr *qsbr;
	int fd;
	FILE *f;

	snprintf(prefix, sizeof(prefix), "--file-prefix=tswfuzz%d", (int)getpid());
	if (rte_eal_init(11, eal) < 0)
		return -1;
	FZ.cfg = calloc(1, sizeof(*FZ.cfg));
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (FZ.cfg == NULL || f == NULL)
		return -1;
	fputs(conf_text, f);
	fclose(f);
	if (tsw_config_load(path, FZ.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz config: %s\n", err);
		return -1;
	}
	unlink(path);
	qsbr = rte_zmalloc("qsbr", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	FZ.pool = rte_pktmbuf_pool_create("fuzz", 4095, 0, 0, RTE_PKTMBUF_HEADROOM + 2048,
					  SOCKET_ID_ANY);
	FZ.learn = tsw_learn_ring_create("fzlearn", 4096, SOCKET_ID_ANY);
	FZ.punt = rte_ring_create("fzpunt", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	FZ.inject = rte_ring_create("fzinject", 1024, SOCKET_ID_ANY,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (qsbr == NULL || FZ.pool == NULL || FZ.learn == NULL || FZ.punt == NULL ||
	    FZ.inject == NULL || rte_rcu_qsbr_init(qsbr, 1) != 0)
		return -1;
	rte_rcu_qsbr_thread_register(qsbr, 0);
	rte_rcu_qsbr_thread_online(qsbr, 0);
	fz_qsbr = qsbr;
	if (tables_create() < 0)
		return -1;
	atexit(fz_cleanup);
	return 0;
}

struct rte_mbuf *
fz_mbuf(const uint8_t *data, size_t len, size_t a, size_t b)
{
	size_t cut[3] = { 0, 0, len };
	struct rte_mbuf *head = NULL;
	size_t from = 0;
	int n = 0;

	if (a > 0 && a < len)
		cut[n++] = a;
	if (b > a && b < len)
		cut[n++] = b;
	cut[n++] = len;
	for (int i = 0; i < n; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(FZ.pool);
		size_t k = cut[i] - from;
		char *p;
		if (m == NULL)
			goto fail;
		p = rte_pktmbuf_append(m, (uint16_t)k);
		if (p == NULL && k > 0) {
			rte_pktmbuf_free(m);
			goto fail;
		}
		if (k > 0)
			memcpy(p, data + from, k);
		from = cut[i];
		if (head == NULL)
			head = m;
		else if (rte_pktmbuf_chain(head, m) != 0) {
			rte_pktmbuf_free(m);
			goto fail;
		}
	}
	return head;
fail:
	rte_pktmbuf_free(head);
	return NULL;
}

void
fz_run(uint16_t input, struct rte_mbuf *m, unsigned int *punted)
{
	struct rte_mbuf *x[32];
	unsigned int n;

	FZ.n_out = 0;
	if (input == TSW_OUT_UPLINK)
		tsw_pipeline_uplink_rx(FZ.w, &m, 1, 1000000000ull);
	else if (input >= TSW_OUT_PHYS0)
		tsw_pipeline_phys_rx(FZ.w, (uint16_t)(input - TSW_OUT_PHYS0), &m, 1, 1000000000ull);
	else
		tsw_pipeline_vm_rx(FZ.w, input, &m, 1, 1000000000ull);
	tsw_pipeline_flush(FZ.w);
	rte_rcu_qsbr_quiescent(fz_qsbr, 0);     /* as the worker loop does */
	*punted = 0;
	while ((n = rte_ring_dequeue_burst(FZ.punt, (void **)x, RTE_DIM(x), NULL)) > 0) {
		*punted += n;
		rte_pktmbuf_free_bulk(x, n);
	}
	{
		struct tsw_learn_ev ev[64];   /* learn events dropped: the tables stay */
		while (rte_ring_sc_dequeue_burst_elem(FZ.learn, ev, sizeof(ev[0]), RTE_DIM(ev),
						      NULL) > 0)
			;
	}
}

void
fz_check_pool(const char *what)
{
	unsigned int used = rte_mempool_in_use_count(FZ.pool);

	if (used != 0)
		fz_fail("%s: %u mbufs not returned to the pool", what, used);
}

static struct fz_out lin_out[FZ_MAX_OUT];

void
fz_forget_connections(void)
{
	/* none made (most inputs): nothing to walk the table for (the frame
	 * targets delete nothing else: no expiry runs here) */
	if (FZ.dp->ct != NULL && tsw_ct_count(FZ.dp->ct) != 0) {
		tsw_ct_flush(FZ.dp->ct, NULL, NULL);
		/* the slots free again: no frame is in flight here */
		rte_rcu_qsbr_quiescent(fz_qsbr, 0);
		tsw_ct_reclaim(FZ.dp->ct);
	}
}

void
fz_linear_vs_chained(uint16_t input, const uint8_t *frame, size_t len, size_t a, size_t b)
{
	uint64_t drops[2][TSW_DROP_MAX];
	unsigned int punted[2], n_lin;
	struct rte_mbuf *m;

	for (int run = 0; run < 2; run++) {
		uint64_t before[TSW_DROP_MAX];
		memcpy(before, FZ.w->cnt->drop, sizeof(before));
		fz_forget_connections();   /* both runs from the same state */
		m = run == 0 ? fz_mbuf(frame, len, 0, 0) : fz_mbuf(frame, len, a, b);
		if (m == NULL)
			fz_fail("mempool empty before the run: mbufs leaked earlier");
		fz_run(input, m, &punted[run]);
		for (int d = 0; d < TSW_DROP_MAX; d++)
			drops[run][d] = FZ.w->cnt->drop[d] - before[d];
		if (run == 0) {
			n_lin = FZ.n_out;
			memcpy(lin_out, FZ.out, sizeof(FZ.out[0]) * n_lin);
		}
	}
	fz_check_pool("after a linear and a chained run");
	if (punted[0] != punted[1])
		fz_fail("punted %u linear, %u chained (split %zu/%zu)", punted[0], punted[1], a, b);
	for (int d = 0; d < TSW_DROP_MAX; d++)
		if (drops[0][d] != drops[1][d])
			fz_fail("drop %s: %lu linear, %lu chained (split %zu/%zu)", tsw_drop_names[d],
				(unsigned long)drops[0][d], (unsigned long)drops[1][d], a, b);
	if (n_lin != FZ.n_out)
		fz_fail("%u outputs linear, %u chained (split %zu/%zu)", n_lin, FZ.n_out, a, b);
	for (unsigned int i = 0; i < n_lin; i++) {
		const struct fz_out *x = &lin_out[i], *y = &FZ.out[i];
		if (x->port != y->port || x->len != y->len ||
		    memcmp(x->bytes, y->bytes, RTE_MIN(x->len, FZ_SNAP)) != 0) {
			/* the VXLAN source port and IP id may differ per run: compare
			 * all but those */
			if (x->port == y->port && x->len == y->len && x->port == TSW_OUT_UPLINK &&
			    x->len >= 42) {
				uint8_t p[FZ_SNAP], q[FZ_SNAP];
				uint16_t n = RTE_MIN(x->len, FZ_SNAP);
				memcpy(p, x->bytes, n);
				memcpy(q, y->bytes, n);
				memset(p + 18, 0, 2);            /* IP id */
				memset(q + 18, 0, 2);
				memset(p + 24, 0, 2);            /* IP checksum */
				memset(q + 24, 0, 2);
				if (memcmp(p, q, n) == 0)
					continue;
			}
			for (uint16_t k = 0; k < RTE_MIN(x->len, FZ_SNAP) && x->len == y->len; k++)
				if (x->bytes[k] != y->bytes[k] && k != 18 && k != 19 && k != 24 &&
				    k != 25) {
					fprintf(stderr, "first difference at byte %u: %02x/%02x\n", k,
						x->bytes[k], y->bytes[k]);
					break;
				}
			fz_fail("output %u (port %u, %u/%u bytes) differs between linear and chained "
				"(split %zu/%zu)", i, x->port, x->len, y->len, a, b);
		}
	}
	memcpy(FZ.out, lin_out, sizeof(FZ.out[0]) * n_lin);
	FZ.n_out = n_lin;
}

int
fz_phys_net(uint16_t ph, const uint8_t *f, size_t len, size_t *hl)
{
	uint16_t et, vid = 0;

	*hl = 14;
	if (len < 14)
		return -1;
	et = (uint16_t)(f[12] << 8 | f[13]);
	if (et == 0x8100 || et == 0x88a8) {
		if (len < 18)
			return -1;
		vid = (uint16_t)((f[14] << 8 | f[15]) & 0xfff);
		*hl = 18;
	}
	if (len - *hl > FZ.dp->phys[ph].mtu)
		return -1;
	return tsw_dp_phys_net(FZ.dp, ph, vid);
}

void
fz_check_from_phys(const uint8_t *f, size_t len, int net, size_t hl)
{
	for (unsigned int i = 0; i < FZ.n_out; i++) {
		const struct fz_out *o = &FZ.out[i];

		if (!tsw_out_is_port(o->port))
			fz_fail("a frame from a physical network left on output %u", o->port);
		if (net < 0 || tsw_dp_port_net(FZ.dp, o->port) != net)
			fz_fail("a frame of network %d reached port %u of network %d", net, o->port,
				tsw_dp_port_net(FZ.dp, o->port));
		/* R-V2: the frame without its tag */
		if (o->len != len - (hl - 14) || memcmp(o->bytes, f, 12) != 0 ||
		    memcmp(o->bytes + 12, f + 12 + (hl - 14), len - hl + 2) != 0)
			fz_fail("port %u got the frame changed (beyond its tag): %u bytes of %zu, "
				"tag %zu", o->port, o->len, len, hl - 14);
	}
}
