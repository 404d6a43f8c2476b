/* SPDX-License-Identifier: BSD-3-Clause
 * Control requests: parse, validate, apply to the tables, reply.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "tsw_config.h"
#include "tsw_parse.h"
#include "tsw_secgroups.h"
#include "tsw_ctl.h"
#include "tsw_jarg.h"
#include "tsw_l2pop.h"
#include "tsw_portsec.h"
#include "tsw_state.h"
#include "tsw_trace.h"
#include "tsw_underlay.h"
#include "tsw_vhostarg.h"

#define TSW_VERSION "0.1.0"
#define MAX_TRACE_FRAME 9216

struct tsw_ctl {
	struct tsw_dp *dp;
	struct tsw_mgmt *mg;
	struct tsw_counters *const *wc;
	unsigned int n_wc;
	struct tsw_counters *base;      /* baseline subtracted from the sums */
	struct tsw_counters *tmp;
	struct tsw_ctl_hooks hooks;
	struct tsw_trace *trace;
	struct rte_mempool *pool;
	struct tsw_underlay *ul;
	uint64_t seen_gen;
	uint32_t port_seen[TSW_MAX_PORTS];     /* the dp's *_gen when last looked */
	uint32_t net_seen[TSW_MAX_NETS];
	uint32_t tun_seen[TSW_TUN_NTYPES][TSW_MAX_TUNNELS];
	uint64_t requests, refused;     /* atomic: the control thread counts too */
	char instance[17];              /* random per process: restarts show */
	char vhost_dir[108];            /* port_add: vhost-user sockets only here */
	bool sliced;                    /* the caller runs tsw_dp_drain() in slices */
	struct tsw_secgroups *sg;       /* security groups (R-G*) */
	bool building;                  /* tsw_ctl_write: rule sets being built */
	unsigned int tries;             /* tsw_ctl_write: of this request */
};

/* ---- counters ---------------------------------------------------------- */

#define SUM_FIELD(ctl, dst, field) do { \
	memset(&(dst)->field, 0, sizeof((dst)->field)); \
	for (unsigned int w_ = 0; w_ < (ctl)->n_wc; w_++) { \
		const uint64_t *s_ = (const uint64_t *)&(ctl)->wc[w_]->field; \
		uint64_t *d_ = (uint64_t *)&(dst)->field; \
		for (size_t i_ = 0; i_ < sizeof((dst)->field) / 8; i_++) \
			d_[i_] += __atomic_load_n(&s_[i_], __ATOMIC_RELAXED); \
	} \
} while (0)

/* A port, network or tunnel created since the last look (even at an index
 * freed and reused meanwhile) starts at zero: move its baseline to the
 * workers' current sums for its index. */
static void
rebase_new_objects(struct tsw_ctl *ctl)
{
	const struct tsw_dp *dp = ctl->dp;

	if (dp->gen == ctl->seen_gen)
		return;
	ctl->seen_gen = dp->gen;
	for (int p = 0; p < TSW_MAX_PORTS; p++)
		if (dp->port_gen[p] != ctl->port_seen[p]) {
			SUM_FIELD(ctl, ctl->base, port[p]);
			ctl->port_seen[p] = dp->port_gen[p];
		}
	for (int n = 0; n < TSW_MAX_NETS; n++)
		if (dp->net_gen[n] != ctl->net_seen[n]) {
			SUM_FIELD(ctl, ctl->base, net[n]);
			ctl->net_seen[n] = dp->net_gen[n];
		}
	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		for (int i = 0; i < TSW_MAX_TUNNELS; i++)
			if (dp->tun_gen[t][i] != ctl->tun_seen[t][i]) {
				SUM_FIELD(ctl, ctl->base, tun[t][i]);
				ctl->tun_seen[t][i] = dp->tun_gen[t][i];
			}
}

void
tsw_ctl_counters(struct tsw_ctl *ctl, struct tsw_counters *out)
{
	const uint64_t *b = (const uint64_t *)ctl->base;
	uint64_t *o = (uint64_t *)out;

	rebase_new_objects(ctl);
	tsw_counters_sum(out, ctl->wc, ctl->n_wc);
	for (size_t i = 0; i < sizeof(*out) / 8; i++)
		o[i] -= b[i];
}

struct tsw_ctl *
tsw_ctl_create(struct tsw_dp *dp, struct tsw_mgmt *mg, struct tsw_counters *const *wc,
	       unsigned int n_wc, struct rte_mempool *pool, const struct tsw_ctl_hooks *hooks)
{
	struct tsw_ctl *ctl = calloc(1, sizeof(*ctl));

	if (ctl == NULL)
		return NULL;
	ctl->dp = dp;
	ctl->mg = mg;
	ctl->wc = wc;
	ctl->n_wc = n_wc;
	if (hooks != NULL)
		ctl->hooks = *hooks;
	ctl->base = calloc(1, sizeof(*ctl->base));
	ctl->tmp = calloc(1, sizeof(*ctl->tmp));
	ctl->pool = pool;
	snprintf(ctl->instance, sizeof(ctl->instance), "%016" PRIx64, rte_rand());
	ctl->trace = pool != NULL ? tsw_trace_create(dp, pool) : NULL;
	ctl->sg = tsw_secgroups_create(dp);
	if (ctl->base == NULL || ctl->tmp == NULL || ctl->sg == NULL ||
	    (pool != NULL && ctl->trace == NULL)) {
		tsw_ctl_free(ctl);
		return NULL;
	}
	/* Whatever exists now was there from the start: counted from zero. */
	ctl->seen_gen = dp->gen;
	memcpy(ctl->port_seen, dp->port_gen, sizeof(ctl->port_seen));
	memcpy(ctl->net_seen, dp->net_gen, sizeof(ctl->net_seen));
	memcpy(ctl->tun_seen, dp->tun_gen, sizeof(ctl->tun_seen));
	return ctl;
}

void
tsw_ctl_set_underlay(struct tsw_ctl *ctl, struct tsw_underlay *ul)
{
	ctl->ul = ul;
}

void
tsw_ctl_set_sliced(struct tsw_ctl *ctl)
{
	ctl->sliced = true;
}

bool
tsw_ctl_drain(struct tsw_ctl *ctl, unsigned int max)
{
	tsw_dp_drain(ctl->dp, max);
	return tsw_dp_drain_pending(ctl->dp);
}

void
tsw_ctl_set_vhost_dir(struct tsw_ctl *ctl, const char *dir)
{
	snprintf(ctl->vhost_dir, sizeof(ctl->vhost_dir), "%s", dir);
}

void
tsw_ctl_free(struct tsw_ctl *ctl)
{
	if (ctl == NULL)
		return;
	tsw_trace_free(ctl->trace);
	tsw_secgroups_free(ctl->sg);
	free(ctl->base);
	free(ctl->tmp);
	free(ctl);
}

/* ---- argument helpers -------------------------------------------------- */

struct req {
	struct tsw_ctl *ctl;
	struct tsw_dp *dp;
	const json_t *a;           /* the request object */
	uint64_t now_ms;
	struct tsw_jerr e;
	json_t *result;
};

static int
fail(struct req *r, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(struct req *r, const char *field, const char *fmt, ...)
{
	va_list ap;

	snprintf(r->e.field, sizeof(r->e.field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(r->e.reason, sizeof(r->e.reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int
arg_net(struct req *r, const char *key, bool required, int *net)
{
	const char *name;
	int rc = tsw_jarg_name(r->a, key, required, &name, &r->e);

	if (rc != 0) {
		*net = -1;
		return rc;
	}
	*net = tsw_dp_net_find(r->dp, name);
	if (*net < 0)
		return fail(r, key, "no network named '%s'", name);
	return 0;
}

/* A tunnel network (l2population, tunnels and the ARP responder are for
 * them only, as in Neutron). */
static int
arg_tun_net(struct req *r, const char *key, int *net)
{
	const struct tsw_network *n;

	if (arg_net(r, key, true, net) != 0)
		return -1;
	n = &r->dp->nets[*net];
	if (n->kind != TSW_NET_TUNNEL)
		return fail(r, key, "network '%s' is a %s network on physical network %s: "
			    "l2population, tunnels and the ARP responder are for tunnel networks",
			    n->name, tsw_net_type_name(n), r->dp->phys[n->phys].name);
	return 0;
}

static int
arg_port(struct req *r, const char *key, int *port)
{
	const char *name;

	if (tsw_jarg_name(r->a, key, true, &name, &r->e) != 0)
		return -1;
	if (strcmp(name, "uplink") == 0) {
		*port = TSW_OUT_UPLINK;
		return 0;
	}
	*port = tsw_dp_port_find(r->dp, name);
	if (*port < 0)
		return fail(r, key, "no port named '%s'", name);
	return 0;
}

/* A port, the uplink, or a physical network with a device of its own: an
 * output that can be captured. */
static int
arg_output(struct req *r, const char *key, int *out)
{
	const char *name;
	int ph;

	*out = -1;
	if (tsw_jarg_name(r->a, key, true, &name, &r->e) != 0)
		return -1;
	ph = tsw_dp_physnet_find(r->dp, name);
	if (ph >= 0 && r->dp->phys[ph].out != TSW_OUT_UPLINK) {
		*out = r->dp->phys[ph].out;
		return 0;
	}
	if (ph >= 0)
		return fail(r, key, "physical network '%s' is on the uplink: capture 'uplink'",
			    name);
	return arg_port(r, key, out);
}

/* A remote VTEP address usable for a tunnel of type t. */
static int
arg_remote(struct req *r, const char *key, enum tsw_tun_type t, uint32_t *ip)
{
	if (tsw_jarg_ipv4(r->a, key, true, ip, &r->e) != 0)
		return -1;
	if (*ip == r->dp->conf.encap.local_ip)
		return fail(r, key, "is this host's local_ip");
	if (!r->dp->conf.decap.type_enabled[t])
		return fail(r, key, "tunnel type %s is not enabled in [tunnel] types",
			    tsw_tun_type_name(t));
	return 0;
}

static int
arg_type(struct req *r, enum tsw_tun_type *t)
{
	*t = TSW_TUN_VXLAN;
	return tsw_jarg_type(r->a, "type", false, t, &r->e) < 0 ? -1 : 0;
}

static int
errno_fail(struct req *r, const char *field, int rc, const char *what)
{
	switch (-rc) {
	case ENOSPC: return fail(r, field, "%s: table full", what);
	case ENOMEM: return fail(r, field, "%s: out of memory", what);
	case EEXIST: return fail(r, field, "%s: already exists", what);
	case ENOENT: return fail(r, field, "%s: not found", what);
	case EBUSY: return fail(r, field, "%s: still in use", what);
	default: return fail(r, field, "%s: %s", what, strerror(-rc));
	}
}

static int
ok(struct req *r, json_t *result)
{
	r->result = result != NULL ? result : json_object();
	return 0;
}

/* ---- operations -------------------------------------------------------- */

static int op_help(struct req *r);

/* A provider network (R-V*): type vlan (segmentation_id: the VLAN id,
 * 1-4094) or flat (none), on physical_network. */
static int
network_add_provider(struct req *r, const char *name, bool vlan)
{
	const char *pn;
	uint32_t id = 0;
	int ph, rc;

	if (tsw_jarg_name(r->a, "physical_network", true, &pn, &r->e) != 0)
		return -1;
	ph = tsw_dp_physnet_find(r->dp, pn);
	if (ph < 0)
		return fail(r, "physical_network", "no physical network '%s' (see show_info "
			    "physical_networks)", pn);
	if (vlan) {
		if (tsw_jarg_u32(r->a, "segmentation_id", true, 1, 4094, &id, &r->e) != 0)
			return -1;
	} else if (json_object_get(r->a, "segmentation_id") != NULL) {
		return fail(r, "segmentation_id", "a flat network has none");
	}
	if (tsw_dp_net_find(r->dp, name) >= 0)
		return fail(r, "name", "network '%s' exists", name);
	if ((rc = tsw_dp_phys_net(r->dp, (uint16_t)ph, (uint16_t)id)) >= 0)
		return fail(r, vlan ? "segmentation_id" : "physical_network",
			    vlan ? "VLAN %u of %s is network '%s'" : "%.0u%s has a flat network: '%s'",
			    id, pn, r->dp->nets[rc].name);
	rc = tsw_dp_net_add_provider(r->dp, name, (uint16_t)ph, (uint16_t)id);
	if (rc < 0)
		return errno_fail(r, "name", rc, "network");
	return ok(r, NULL);
}

static int
op_network_add(struct req *r)
{
	const char *name, *ts = NULL;
	enum tsw_tun_type t;
	uint32_t id;
	int rc;

	if (tsw_jarg_name(r->a, "name", true, &name, &r->e) != 0 ||
	    tsw_jarg_str(r->a, "type", false, &ts, &r->e) < 0)
		return -1;
	if (ts != NULL && (strcasecmp(ts, "vlan") == 0 || strcasecmp(ts, "flat") == 0))
		return network_add_provider(r, name, strcasecmp(ts, "vlan") == 0);
	if (json_object_get(r->a, "physical_network") != NULL)
		return fail(r, "physical_network", "only for vlan and flat networks");
	if (arg_type(r, &t) < 0 ||
	    tsw_jarg_u32(r->a, "segmentation_id", true, 1,
			 t == TSW_TUN_VXLAN ? 0xffffff : UINT32_MAX, &id, &r->e) != 0)
		return -1;
	if (tsw_dp_net_find(r->dp, name) >= 0)
		return fail(r, "name", "network '%s' exists", name);
	if ((rc = tsw_dp_net_by_id(r->dp, t, id)) >= 0)
		return fail(r, "segmentation_id", "%s %u is network '%s'", tsw_tun_type_name(t), id,
			    r->dp->nets[rc].name);
	rc = tsw_dp_net_add(r->dp, name, t, id);
	if (rc < 0)
		return errno_fail(r, "name", rc, "network");
	return ok(r, NULL);
}

static int
op_network_del(struct req *r)
{
	int net, rc;

	if (arg_net(r, "name", true, &net) != 0)
		return -1;
	rc = tsw_dp_net_del(r->dp, (uint16_t)net);
	if (rc == -EBUSY)
		return fail(r, "name", "network '%s' still has ports: delete them first",
			    r->dp->nets[net].name);
	return rc < 0 ? errno_fail(r, "name", rc, "network") : ok(r, NULL);
}

/* A policy's arguments in object o ("enabled", and with it "mac",
 * "fixed_ips", "allowed_address_pairs"); errors on prefix + field. 0, or -1. */
static int
policy_args(struct req *r, const json_t *o, const char *prefix, struct tsw_portsec *ps,
	    bool *enabled)
{
	static const char *const only_on[] = { "mac", "fixed_ips", "allowed_address_pairs",
					       "security_groups" };
	struct tsw_jerr e = { { 0 } };
	char field[sizeof(e.field) + 16];
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)(uintptr_t)o, key, v) {
		bool known = strcmp(key, "enabled") == 0;
		for (size_t i = 0; i < RTE_DIM(only_on); i++)
			known |= strcmp(key, only_on[i]) == 0;
		if (!known && *prefix != '\0') {   /* (a request's own keys are checked) */
			tsw_jerr_set(&e, "", "unknown member '%.32s'", key);
			goto bad;
		}
	}
	if (tsw_jarg_bool(o, "enabled", true, enabled, &e) != 0)
		goto bad;
	if (*enabled) {
		if (tsw_jarg_portsec(o, ps, &e) != 0)
			goto bad;
		return 0;
	}
	for (size_t i = 0; i < RTE_DIM(only_on); i++)
		if (json_object_get(o, only_on[i]) != NULL) {
			tsw_jerr_set(&e, only_on[i], "only with enabled = true");
			goto bad;
		}
	return 0;
bad:
	snprintf(field, sizeof(field), "%.*s%s", e.field[0] != '\0' ? (int)strlen(prefix)
				      : (int)strlen(prefix) - 1, prefix, e.field);
	return fail(r, field, "%s", e.reason);
}

static int
op_port_add(struct req *r)
{
	const char *name, *devargs;
	const json_t *psj = json_object_get(r->a, "port_security");
	struct tsw_portsec ps;
	struct tsw_sg_choice sgc = { .filtered = false };
	struct tsw_port_policy pol = { .ps = NULL };
	bool secured = false;
	int net, rc;
	char err[256];

	if (tsw_jarg_name(r->a, "name", true, &name, &r->e) != 0 ||
	    arg_net(r, "network", true, &net) != 0 ||
	    tsw_jarg_str(r->a, "devargs", true, &devargs, &r->e) != 0)
		return -1;
	/* the port's policy, in force from its first frame (no window in
	 * which a port that should be filtered is not) */
	if (psj != NULL && !json_is_object(psj))
		return fail(r, "port_security", "not an object");
	if (psj != NULL && policy_args(r, psj, "port_security.", &ps, &secured) != 0)
		return -1;
	if (strcmp(name, "uplink") == 0)
		return fail(r, "name", "'uplink' is reserved");
	if (strlen(devargs) >= TSW_DEVARGS_LEN)
		return fail(r, "devargs", "longer than %d characters", TSW_DEVARGS_LEN - 1);
	if (tsw_dp_port_find(r->dp, name) >= 0)
		return fail(r, "name", "port '%s' exists", name);
	if (tsw_dp_physnet_find(r->dp, name) >= 0)
		return fail(r, "name", "'%s' is a physical network's name", name);
	if (r->ctl->vhost_dir[0] == '\0')
		return fail(r, "op", "no vhost_socket_dir: ports cannot be added here");
	if (tsw_vhost_devargs_check(devargs, r->ctl->vhost_dir, err, sizeof(err)) < 0)
		return fail(r, "devargs", "%s", err);
	if (r->ctl->hooks.port_add == NULL)
		return fail(r, "op", "ports cannot be added here");
	/* its security groups' rule set, built before the port exists */
	if (secured && tsw_secgroups_prepare(r->ctl->sg,
					     json_object_get(psj, "security_groups"),
					     "port_security.security_groups", &sgc, &r->e) < 0)
		return -1;
	pol.ps = secured ? &ps : NULL;
	pol.sg = tsw_secgroups_ruleset(&sgc);
	rc = r->ctl->hooks.port_add(r->ctl->hooks.arg, name, devargs, (uint16_t)net,
				    pol.ps != NULL ? &pol : NULL, err, sizeof(err));
	if (rc < 0) {
		tsw_secgroups_abort(r->ctl->sg, &sgc);
		return fail(r, "devargs", "%s", err);
	}
	tsw_secgroups_commit(r->ctl->sg, tsw_dp_port_find(r->dp, name), &sgc);
	return ok(r, NULL);
}

static unsigned int flush_port_connections(const struct tsw_dp *dp, int port);

static int
op_port_del(struct req *r)
{
	int port;
	char err[256];

	if (arg_port(r, "name", &port) != 0)
		return -1;
	if (port == TSW_OUT_UPLINK)
		return fail(r, "name", "the uplink cannot be deleted");
	if (r->ctl->hooks.port_del == NULL)
		return fail(r, "op", "ports cannot be deleted here");
	if (r->ctl->hooks.port_del(r->ctl->hooks.arg, (uint16_t)port, err, sizeof(err)) < 0)
		return fail(r, "name", "%s", err);
	tsw_secgroups_port_clear(r->ctl->sg, (uint16_t)port);
	/* its connections go with it (one walk of the table, as
	 * flush_connections): a port given its index later starts with none
	 * counted against max_connections_per_port */
	flush_port_connections(r->dp, port);
	return ok(r, NULL);
}

/* ---- captures ---------------------------------------------------------- */

static int
op_capture_start(struct req *r)
{
	const char *file, *name;
	uint32_t count = 100000, snaplen = 65535;
	size_t fl;
	int port;
	char err[256];

	if (arg_output(r, "port", &port) != 0 ||
	    tsw_jarg_name(r->a, "file", true, &file, &r->e) != 0 ||
	    tsw_jarg_u32(r->a, "count", false, 1, 100000000, &count, &r->e) < 0 ||
	    tsw_jarg_u32(r->a, "snaplen", false, 64, 65535, &snaplen, &r->e) < 0)
		return -1;
	fl = strlen(file);
	if (file[0] == '.' || fl <= 7 || strcmp(file + fl - 7, ".pcapng") != 0)
		return fail(r, "file", "'%s' is not NAME.pcapng (a file name in the daemon's "
			    "capture_dir, not starting with '.')", file);
	if (r->ctl->hooks.capture == NULL)
		return fail(r, "op", "no captures here");
	tsw_jarg_name(r->a, "port", true, &name, &r->e);
	if (r->ctl->hooks.capture(r->ctl->hooks.arg, (uint16_t)port, name, file, count, snaplen,
				  err, sizeof(err)) < 0)
		return fail(r, "file", "%s", err);
	return ok(r, NULL);
}

static int
op_capture_stop(struct req *r)
{
	const char *name;
	int port;
	char err[256];

	if (arg_output(r, "port", &port) != 0)
		return -1;
	if (r->ctl->hooks.capture == NULL)
		return fail(r, "op", "no captures here");
	tsw_jarg_name(r->a, "port", true, &name, &r->e);
	if (r->ctl->hooks.capture(r->ctl->hooks.arg, (uint16_t)port, name, NULL, 0, 0, err,
				  sizeof(err)) < 0)
		return fail(r, "port", "%s", err);
	return ok(r, NULL);
}

static int
op_show_captures(struct req *r)
{
	json_t *list = json_array();

	if (list != NULL && r->ctl->hooks.captures != NULL)
		r->ctl->hooks.captures(r->ctl->hooks.arg, list);
	return ok(r, list);
}

/* Neutron's port_security_enabled and allowed_address_pairs (R-S*): the
 * whole policy of a port, replaced at once. */
static int
op_port_security_set(struct req *r)
{
	struct tsw_portsec ps;
	struct tsw_sg_choice sgc;
	bool enabled;
	int port, rc;

	if (arg_port(r, "port", &port) != 0 || policy_args(r, r->a, "", &ps, &enabled) != 0)
		return -1;
	if (port == TSW_OUT_UPLINK)
		return fail(r, "port", "the uplink has no port security");
	if (tsw_secgroups_prepare(r->ctl->sg, json_object_get(r->a, "security_groups"),
				  "security_groups", &sgc, &r->e) < 0)
		return -1;
	rc = tsw_dp_port_security_set(r->dp, (uint16_t)port, enabled ? &ps : NULL);
	if (rc < 0) {
		tsw_secgroups_abort(r->ctl->sg, &sgc);
		return errno_fail(r, "port", rc, "port security");
	}
	/* the groups given (or none: not filtered, R-G1) */
	if (sgc.filtered)
		tsw_secgroups_commit(r->ctl->sg, port, &sgc);
	else
		tsw_secgroups_port_clear(r->ctl->sg, (uint16_t)port);
	return ok(r, NULL);
}

/* ---- security groups (R-G*) ---- */

static int
op_security_group_set(struct req *r)
{
	return tsw_secgroups_group_set(r->ctl->sg, r->a, &r->e) < 0 ? -1 : ok(r, NULL);
}

static int
op_security_group_del(struct req *r)
{
	const char *id;

	if (tsw_jarg_name(r->a, "name", true, &id, &r->e) != 0)
		return -1;
	return tsw_secgroups_group_del(r->ctl->sg, id, &r->e) < 0 ? -1 : ok(r, NULL);
}

static int
op_security_group_members(struct req *r)
{
	uint32_t changed;

	if (tsw_secgroups_members(r->ctl->sg, r->a, &changed, &r->e) < 0)
		return -1;
	return ok(r, json_pack("{s:I}", "changed", (json_int_t)changed));
}

static int
op_address_group_set(struct req *r)
{
	return tsw_secgroups_address_group_set(r->ctl->sg, r->a, &r->e) < 0 ? -1 : ok(r, NULL);
}

static int
op_address_group_del(struct req *r)
{
	const char *id;

	if (tsw_jarg_name(r->a, "name", true, &id, &r->e) != 0)
		return -1;
	return tsw_secgroups_address_group_del(r->ctl->sg, id, &r->e) < 0 ? -1 : ok(r, NULL);
}

static int
op_show_security_groups(struct req *r)
{
	return ok(r, tsw_secgroups_json(r->ctl->sg));
}

static int
op_remote_add(struct req *r)
{
	enum tsw_tun_type t;
	uint32_t ip;
	int rc;

	if (arg_type(r, &t) < 0 || arg_remote(r, "ip", t, &ip) < 0)
		return -1;
	rc = tsw_dp_tunnel_add(r->dp, t, ip, true);
	return rc < 0 ? errno_fail(r, "ip", rc, "tunnel") : ok(r, NULL);
}

static int
op_remote_del(struct req *r)
{
	enum tsw_tun_type t;
	uint32_t ip;
	int tun;
	uint32_t through;

	if (arg_type(r, &t) < 0 || tsw_jarg_ipv4(r->a, "ip", true, &ip, &r->e) != 0)
		return -1;
	tun = tsw_dp_tunnel_find(r->dp, t, ip);
	if (tun < 0)
		return fail(r, "ip", "no %s tunnel to this address", tsw_tun_type_name(t));
	/* its static entries and what was learned from it (deleted in steps) */
	through = tsw_fdb_dest_count(r->dp->fdb, tsw_dest_tunnel(t, (uint16_t)tun), true);
	tsw_dp_tunnel_del(r->dp, t, (uint16_t)tun);
	return ok(r, json_pack("{s:I}", "fdb_removed", (json_int_t)through));
}

static int
op_neighbor_add(struct req *r)
{
	uint32_t ip;
	struct rte_ether_addr mac;
	int rc;

	if (tsw_jarg_ipv4(r->a, "ip", true, &ip, &r->e) != 0 ||
	    tsw_jarg_mac(r->a, "mac", true, &mac, &r->e) != 0)
		return -1;
	rc = tsw_dp_neighbor_set(r->dp, ip, &mac, true);
	return rc < 0 ? errno_fail(r, "ip", rc, "neighbor") : ok(r, NULL);
}

static int
op_neighbor_del(struct req *r)
{
	uint32_t ip;
	const struct tsw_neigh *n;

	if (tsw_jarg_ipv4(r->a, "ip", true, &ip, &r->e) != 0)
		return -1;
	n = tsw_dp_neighbor_get(r->dp, ip);
	if (n == NULL)
		return fail(r, "ip", "no neighbor entry for this address");
	tsw_dp_neighbor_del(r->dp, ip);
	return ok(r, NULL);
}

static int
arg_prefix(struct req *r, uint32_t *prefix, uint8_t *len)
{
	const char *s, *why;

	if (tsw_jarg_str(r->a, "prefix", true, &s, &r->e) != 0)
		return -1;
	if (tsw_parse_prefix(s, prefix, len, &why) < 0)
		return fail(r, "prefix", "'%.64s' is %s", s, why);
	return 0;
}

static int
op_route_add(struct req *r)
{
	uint32_t prefix, via;
	uint8_t len;
	int rc;

	if (arg_prefix(r, &prefix, &len) < 0 || tsw_jarg_ipv4(r->a, "via", true, &via, &r->e) != 0)
		return -1;
	rc = tsw_dp_route_add(r->dp, prefix, len, via, TSW_ROUTE_CONTROL);
	if (rc == -EINVAL)
		return fail(r, "via", "not a neighbor on the connected prefix (local_ip/prefix_len)");
	if (rc == -EPERM)
		return fail(r, "prefix", "is the connected prefix");
	return rc < 0 ? errno_fail(r, "prefix", rc, "route") : ok(r, NULL);
}

static int
op_route_del(struct req *r)
{
	uint32_t prefix;
	uint8_t len;
	int rc;

	if (arg_prefix(r, &prefix, &len) < 0)
		return -1;
	rc = tsw_dp_route_del(r->dp, prefix, len);
	if (rc == -EPERM)
		return fail(r, "prefix", "the connected prefix cannot be deleted");
	return rc < 0 ? fail(r, "prefix", "no such route") : ok(r, NULL);
}

static int
op_show_routes(struct req *r)
{
	return ok(r, tsw_routes_json(r->dp->routes));
}

static int
op_show_neighbors(struct req *r)
{
	if (r->ctl->ul == NULL)
		return fail(r, "op", "no underlay here");
	return ok(r, tsw_underlay_neighbors(r->ctl->ul, r->now_ms));
}

static int
op_fdb_add(struct req *r)
{
	struct rte_ether_addr mac, old_arp;
	uint32_t vtep, ip = 0;
	int net, tun, rc;
	bool created = false, had_arp = false;

	if (arg_tun_net(r, "network", &net) != 0 ||
	    tsw_jarg_mac(r->a, "mac", true, &mac, &r->e) != 0 ||
	    arg_remote(r, "remote", r->dp->nets[net].type, &vtep) < 0 ||
	    tsw_jarg_ipv4(r->a, "ip", false, &ip, &r->e) < 0)
		return -1;
	tun = tsw_dp_tunnel_find(r->dp, r->dp->nets[net].type, vtep);
	if (tun < 0) {
		tun = tsw_dp_tunnel_add(r->dp, r->dp->nets[net].type, vtep, false);
		if (tun < 0)
			return errno_fail(r, "remote", tun, "tunnel");
		created = true;
	}
	/* A refused request changes nothing, table full included: the ARP
	 * entry first (its old value kept to put back), then the FDB entry. */
	if (ip != 0) {
		had_arp = tsw_dp_arp_lookup(r->dp, (uint16_t)net, ip, &old_arp);
		rc = tsw_dp_arp_add(r->dp, (uint16_t)net, ip, &mac);
		if (rc < 0) {
			if (created)
				tsw_dp_tunnel_del(r->dp, r->dp->nets[net].type, (uint16_t)tun);
			return errno_fail(r, "ip", rc, "arp entry");
		}
	}
	rc = tsw_dp_fdb_static_add(r->dp, (uint16_t)net, &mac, (uint16_t)tun);
	if (rc < 0) {
		if (ip != 0 && had_arp)
			tsw_dp_arp_add(r->dp, (uint16_t)net, ip, &old_arp);   /* in place */
		else if (ip != 0)
			tsw_dp_arp_del(r->dp, (uint16_t)net, ip, &mac);
		if (created)
			tsw_dp_tunnel_del(r->dp, r->dp->nets[net].type, (uint16_t)tun);
		return errno_fail(r, "mac", rc, "fdb entry");
	}
	return ok(r, NULL);
}

static int
op_fdb_del(struct req *r)
{
	struct rte_ether_addr mac;
	struct tsw_fdb_key k;
	tsw_fdb_entry_t e;
	uint32_t ip = 0;
	int net;
	static const char *const kinds[] = { "none", "static", "local", "tunnel" };

	if (arg_net(r, "network", true, &net) != 0 ||
	    tsw_jarg_mac(r->a, "mac", true, &mac, &r->e) != 0 ||
	    tsw_jarg_ipv4(r->a, "ip", false, &ip, &r->e) < 0)
		return -1;
	tsw_fdb_key_set(&k, (uint16_t)net, &mac);
	e = tsw_fdb_get(r->dp->fdb, &k, 0);
	if (tsw_fdb_entry_kind(e) == TSW_FDB_STATIC)
		tsw_dp_fdb_static_del(r->dp, (uint16_t)net, &mac, -1);
	else if (e != 0)
		tsw_fdb_del(r->dp->fdb, &k, TSW_FDB_NONE);
	if (ip != 0)
		tsw_dp_arp_del(r->dp, (uint16_t)net, ip, &mac);
	return ok(r, json_pack("{s:s}", "removed", kinds[tsw_fdb_entry_kind(e)]));
}

static int
flood_args(struct req *r, int *net, int *tun, uint32_t *vtep)
{
	if (arg_tun_net(r, "network", net) != 0 ||
	    arg_remote(r, "remote", r->dp->nets[*net].type, vtep) < 0)
		return -1;
	*tun = tsw_dp_tunnel_find(r->dp, r->dp->nets[*net].type, *vtep);
	return 0;
}

static int
op_flood_add(struct req *r)
{
	int net, tun, rc;
	uint32_t vtep;
	bool created = false;

	if (flood_args(r, &net, &tun, &vtep) < 0)
		return -1;
	if (tun < 0) {
		tun = tsw_dp_tunnel_add(r->dp, r->dp->nets[net].type, vtep, false);
		if (tun < 0)
			return errno_fail(r, "remote", tun, "tunnel");
		created = true;
	}
	rc = tsw_dp_flood_add(r->dp, (uint16_t)net, (uint16_t)tun);
	if (rc < 0 && created)
		tsw_dp_tunnel_del(r->dp, r->dp->nets[net].type, (uint16_t)tun);
	return rc < 0 ? errno_fail(r, "remote", rc, "flood entry") : ok(r, NULL);
}

static int
op_flood_del(struct req *r)
{
	int net, tun;
	uint32_t vtep;

	if (flood_args(r, &net, &tun, &vtep) < 0)
		return -1;
	if (tun >= 0)
		tsw_dp_flood_del(r->dp, (uint16_t)net, (uint16_t)tun);
	return ok(r, NULL);
}

static int
op_arp_add(struct req *r)
{
	int net, rc;
	uint32_t ip;
	struct rte_ether_addr mac;

	if (arg_tun_net(r, "network", &net) != 0 ||
	    tsw_jarg_ipv4(r->a, "ip", true, &ip, &r->e) != 0 ||
	    tsw_jarg_mac(r->a, "mac", true, &mac, &r->e) != 0)
		return -1;
	rc = tsw_dp_arp_add(r->dp, (uint16_t)net, ip, &mac);
	return rc < 0 ? errno_fail(r, "ip", rc, "arp entry") : ok(r, NULL);
}

static int
op_arp_del(struct req *r)
{
	int net;
	uint32_t ip;

	if (arg_net(r, "network", true, &net) != 0 ||
	    tsw_jarg_ipv4(r->a, "ip", true, &ip, &r->e) != 0)
		return -1;
	tsw_dp_arp_del(r->dp, (uint16_t)net, ip, NULL);
	return ok(r, NULL);
}

static int
l2pop(struct req *r, enum tsw_l2pop_op op)
{
	json_t *res;

	if (!r->dp->conf.l2_population)
		return fail(r, "op", "l2_population is off in [agent]");
	res = tsw_l2pop_apply(r->dp, op, json_object_get(r->a, "fdb_entries"), &r->e);
	return res == NULL ? -1 : ok(r, res);
}

static int op_add_fdb_entries(struct req *r) { return l2pop(r, TSW_L2POP_ADD); }
static int op_remove_fdb_entries(struct req *r) { return l2pop(r, TSW_L2POP_REMOVE); }
static int op_update_fdb_entries(struct req *r) { return l2pop(r, TSW_L2POP_UPDATE); }

static int
op_show_ports(struct req *r)
{
	json_t *a = tsw_state_ports(r->dp), *o;
	const struct tsw_ct *ct = __atomic_load_n(&r->dp->ct, __ATOMIC_ACQUIRE);
	size_t i;

	json_array_foreach(a, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		int p = name != NULL ? tsw_dp_port_find(r->dp, name) : -1;
		json_t *g = p >= 0 ? tsw_secgroups_port_json(r->ctl->sg, (uint16_t)p) : NULL;
		json_object_set_new(o, "security_groups", g != NULL ? g : json_false());
		/* the connections its filter made that the table still holds */
		json_object_set_new(o, "connections", json_integer(
			ct != NULL && p >= 0 ? (json_int_t)tsw_ct_port_count(ct, (uint16_t)p) : 0));
		if (r->ctl->hooks.port_info != NULL)
			r->ctl->hooks.port_info(r->ctl->hooks.arg, name, o);
	}
	return ok(r, a);
}

static int
op_show_networks(struct req *r)
{
	return ok(r, tsw_state_networks(r->dp));
}

/* What a client needs to know of the daemon it talks to: the Neutron agent
 * reports local_ip and the tunnel types as its own and resyncs when the
 * instance changes. */
static int
op_show_info(struct req *r)
{
	const struct tsw_dp_conf *c = &r->dp->conf;
	char ip[INET_ADDRSTRLEN];
	json_t *types = json_array();

	for (int t = 0; t < TSW_TUN_NTYPES; t++)
		if (c->decap.type_enabled[t])
			json_array_append_new(types, json_string(tsw_tun_type_name(t)));
	json_t *phys = json_array();
	char maps[TSW_MAX_PHYSNETS * 2 * TSW_NAME_LEN + 1] = "";
	size_t ml = 0;

	for (int i = 0; i < TSW_MAX_PHYSNETS; i++) {
		const struct tsw_physnet *ph = &r->dp->phys[i];
		if (!ph->in_use)
			continue;
		json_array_append_new(phys, json_pack("{s:s, s:s, s:i}", "name", ph->name,
						      "device", ph->device, "mtu", ph->mtu));
		ml += (size_t)snprintf(maps + ml, sizeof(maps) - ml, "%s%s:%s", ml ? "," : "",
				       ph->name, ph->device);
	}
	inet_ntop(AF_INET, &c->encap.local_ip, ip, sizeof(ip));
	return ok(r, json_pack("{s:s, s:s, s:s, s:o, s:i, s:b, s:b, s:i, s:s, s:b, s:b, s:I, "
			       "s:I, s:o, s:s}",
			       "version", TSW_VERSION, "instance", r->ctl->instance, "local_ip",
			       ip, "tunnel_types", types, "vxlan_udp_port", c->encap.vxlan_port,
			       "l2_population", c->l2_population, "arp_responder",
			       c->arp_responder, "mtu", c->encap.mtu, "vhost_socket_dir",
			       r->ctl->vhost_dir, "port_security", 1, "security_groups", 1,
			       "max_connections", (json_int_t)c->max_connections,
			       "max_connections_per_port", (json_int_t)c->max_connections_per_port,
			       "physical_networks", phys, "bridge_mappings", maps));
}

static int
op_show_tunnels(struct req *r)
{
	return ok(r, tsw_state_tunnels(r->dp));
}

#define PAGE_MAX 10000   /* entries a page may ask for */

/* "cursor" and "limit": 1 when a page is asked for (then *pg is set), 0
 * when not (the whole table), -1 when refused. */
static int
arg_page(struct req *r, struct tsw_page *pg)
{
	int c, l;

	c = tsw_jarg_u32(r->a, "cursor", false, 0, UINT32_MAX, &pg->cursor, &r->e);
	if (c < 0)
		return -1;
	pg->limit = 1000;
	l = tsw_jarg_u32(r->a, "limit", false, 1, PAGE_MAX, &pg->limit, &r->e);
	if (l < 0)
		return -1;
	if (c != 0)
		pg->cursor = 0;
	return c == 0 || l == 0;
}

/* A page: {"entries": [...], "next": CURSOR or null at the end}. */
static int
page_result(struct req *r, json_t *entries, const struct tsw_page *pg)
{
	if (entries == NULL)
		return fail(r, "request", "out of memory");
	return ok(r, json_pack("{s:o, s:o}", "entries", entries, "next",
			       pg->done ? json_null() : json_integer(pg->cursor)));
}

static int
op_show_fdb(struct req *r)
{
	struct tsw_page pg;
	int net;
	struct rte_ether_addr mac;
	int has_mac;
	const char *s, *why;

	if (arg_net(r, "network", false, &net) < 0)
		return -1;
	has_mac = tsw_jarg_str(r->a, "mac", false, &s, &r->e);
	if (has_mac < 0)
		return -1;
	if (has_mac == 0 && tsw_parse_mac(s, &mac, &why) < 0)
		return fail(r, "mac", "'%.64s' is %s", s, why);
	switch (arg_page(r, &pg)) {
	case 0:
		return ok(r, tsw_state_fdb(r->dp, r->now_ms, net, has_mac == 0 ? &mac : NULL));
	case 1:
		return page_result(r, tsw_state_fdb_page(r->dp, r->now_ms, net,
							 has_mac == 0 ? &mac : NULL, &pg), &pg);
	default:
		return -1;
	}
}

/* ---- connections (security groups) ---- */

struct ct_filter {
	int port;                  /* -1: any */
	int net;                   /* -1: any */
	bool has_addr, v6;
	uint8_t addr[16];
};

static int
ct_filter_args(struct req *r, struct ct_filter *f)
{
	const char *s, *why;
	uint8_t len;
	int has;

	f->port = -1;
	f->has_addr = false;
	if (json_object_get(r->a, "port") != NULL &&
	    (arg_port(r, "port", &f->port) != 0 || f->port == TSW_OUT_UPLINK))
		return f->port == TSW_OUT_UPLINK ? fail(r, "port", "the uplink has none") : -1;
	if (arg_net(r, "network", false, &f->net) < 0)
		return -1;
	has = tsw_jarg_str(r->a, "address", false, &s, &r->e);
	if (has < 0)
		return -1;
	if (has == 0) {
		if (tsw_parse_ip_prefix(s, &f->v6, f->addr, &len, &why) < 0 ||
		    len != (f->v6 ? 128 : 32))
			return fail(r, "address", "'%.64s' is not an IP address", s);
		f->has_addr = true;
	}
	return 0;
}

static bool
ct_matches(const struct tsw_ct_key *k, const struct tsw_ct_conn *c, void *arg)
{
	const struct ct_filter *f = arg;
	size_t n = k->v6 ? 16 : 4;

	if (f->net >= 0 && k->zone != f->net)
		return false;
	if (f->has_addr && (f->v6 != k->v6 || (memcmp(k->a, f->addr, n) != 0 &&
					       memcmp(k->b, f->addr, n) != 0)))
		return false;
	if (f->port >= 0) {
		/* its filtered ends, and the port that made it (and counts it) */
		bool mine = tsw_ct_port_of(__atomic_load_n(&c->st, __ATOMIC_RELAXED)) == f->port;
		for (int e = 0; e < 2; e++) {
			tsw_ct_side_t sd = __atomic_load_n(&c->side[e], __ATOMIC_RELAXED);
			mine |= tsw_ct_side_valid(sd) && tsw_ct_side_port(sd) == f->port;
		}
		if (!mine)
			return false;
	}
	return true;
}

/* Forget the connections f matches (none without a table yet). */
static unsigned int
flush_matching(const struct tsw_dp *dp, struct ct_filter *f)
{
	struct tsw_ct *ct = __atomic_load_n(&dp->ct, __ATOMIC_ACQUIRE);

	return ct != NULL ? tsw_ct_flush(ct, ct_matches, f) : 0;
}

static unsigned int
flush_port_connections(const struct tsw_dp *dp, int port)
{
	struct ct_filter f = { .port = port, .net = -1 };

	return flush_matching(dp, &f);
}

static json_t *
conn_json(const struct tsw_dp *dp, const struct tsw_ct_key *k, const struct tsw_ct_conn *c,
	  uint64_t now_ms)
{
	uint32_t st = __atomic_load_n(&c->st, __ATOMIC_RELAXED);
	bool init_b = (st & TSW_CT_INIT_B) != 0;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	json_t *ports = json_array(), *o;

	inet_ntop(k->v6 ? AF_INET6 : AF_INET, init_b ? k->b : k->a, src, sizeof(src));
	inet_ntop(k->v6 ? AF_INET6 : AF_INET, init_b ? k->a : k->b, dst, sizeof(dst));
	/* the filtered ends: the initiator's first */
	for (int i = 0; i < 2; i++) {
		int e = init_b ? 1 - i : i;
		tsw_ct_side_t sd = __atomic_load_n(&c->side[e], __ATOMIC_RELAXED);
		if (tsw_ct_side_valid(sd) && tsw_ct_side_port(sd) < TSW_MAX_PORTS)
			json_array_append_new(ports, json_pack("{s:s, s:s, s:b}", "port",
				dp->ports[tsw_ct_side_port(sd)].name, "as",
				i == 0 ? "initiator" : "responder", "allowed",
				tsw_ct_side_allowed(sd)));
	}
	o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:i, s:s, s:I, s:b, s:o, s:s}",
		      "network", dp->nets[k->zone < TSW_MAX_NETS ? k->zone : 0].name,
		      "ethertype", k->v6 ? "IPv6" : "IPv4", "protocol", k->proto,
		      "src", src, "dst", dst, "sport", init_b ? k->pb : k->pa,
		      "dport", init_b ? k->pa : k->pb,
		      "state", (st & 0xff) < TSW_CT_NSTATES ? tsw_ct_state_names[st & 0xff] : "new",
		      "idle_ms", (json_int_t)tsw_ct_idle_ms(c, now_ms),
		      "revoked", (st & TSW_CT_REVOKED) != 0, "ports", ports,
		      /* whose max_connections_per_port it counts against */
		      "made_by", dp->ports[tsw_ct_port_of(st)].name);
	return o;
}

static int
op_show_connections(struct req *r)
{
	struct ct_filter f;
	struct tsw_page pg;
	const struct tsw_ct *ct = __atomic_load_n(&r->dp->ct, __ATOMIC_ACQUIRE);
	const struct tsw_ct_key *k;
	const struct tsw_ct_conn *c;
	json_t *a = json_array();
	uint64_t scan;
	int paged;

	if (ct_filter_args(r, &f) < 0 || (paged = arg_page(r, &pg)) < 0) {
		json_decref(a);
		return -1;
	}
	if (!paged) {
		pg.cursor = 0;
		pg.limit = PAGE_MAX;      /* unpaged: the first PAGE_MAX, "next" says more */
	}
	scan = (uint64_t)pg.limit * 16;
	pg.done = ct == NULL;
	while (ct != NULL && a != NULL && json_array_size(a) < pg.limit && scan-- > 0) {
		if (tsw_ct_iterate(ct, &pg.cursor, &k, &c) != 0) {
			pg.done = true;
			break;
		}
		if (ct_matches(k, c, &f))
			json_array_append_new(a, conn_json(r->dp, k, c, r->now_ms));
	}
	return page_result(r, a, &pg);
}

static int
op_flush_connections(struct req *r)
{
	struct ct_filter f;

	if (ct_filter_args(r, &f) < 0)
		return -1;
	return ok(r, json_pack("{s:I}", "flushed", (json_int_t)flush_matching(r->dp, &f)));
}

static int
op_show_arp(struct req *r)
{
	struct tsw_page pg;
	int net;

	if (arg_net(r, "network", false, &net) < 0)
		return -1;
	switch (arg_page(r, &pg)) {
	case 0:
		return ok(r, tsw_state_arp(r->dp, net));
	case 1:
		return page_result(r, tsw_state_arp_page(r->dp, net, &pg), &pg);
	default:
		return -1;
	}
}

/* Mempool and DPDK heap use: what an operator watches for leaks. */
static json_t *
memory_json(const struct rte_mempool *pool)
{
	struct rte_malloc_socket_stats st;
	uint64_t heap = 0;

	for (unsigned int i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			heap += st.heap_allocsz_bytes;
	return json_pack("{s:I, s:I, s:I}",
			 "mbufs_in_use", (json_int_t)(pool ? rte_mempool_in_use_count(pool) : 0),
			 "mbufs", (json_int_t)(pool ? pool->size : 0),
			 "heap_allocated", (json_int_t)heap);
}

static int
op_show_counters(struct req *r)
{
	json_t *c;

	tsw_ctl_counters(r->ctl, r->ctl->tmp);
	c = tsw_state_counters(r->dp, r->ctl->tmp, r->ctl->mg);
	if (c != NULL) {
		json_object_set_new(c, "fdb_entries", json_integer(tsw_fdb_count(r->dp->fdb)));
		{
			const struct tsw_ct *ct = __atomic_load_n(&r->dp->ct, __ATOMIC_ACQUIRE);
			json_t *cj = json_pack("{s:I, s:I, s:I, s:I}", "count",
				(json_int_t)(ct != NULL ? tsw_ct_count(ct) : 0), "max",
				(json_int_t)(ct != NULL ? tsw_ct_capacity(ct)
						       : r->dp->conf.max_connections),
				"max_per_port", (json_int_t)r->dp->conf.max_connections_per_port,
				"expired", (json_int_t)(r->ctl->mg != NULL ? r->ctl->mg->ct_expired : 0));
			if (cj != NULL && r->ctl->mg != NULL) {
				json_t *bs = json_object();
				for (int k = 1; k < TSW_CT_NSTATES; k++)
					json_object_set_new(bs, tsw_ct_state_names[k], json_integer(
						(json_int_t)r->ctl->mg->ct_states[k]));
				json_object_set_new(cj, "by_state", bs);
			}
			json_object_set_new(c, "connections", cj);
		}
		struct tsw_secgroups_build_stats bs;
		tsw_secgroups_build_stats(r->ctl->sg, &bs);
		json_object_set_new(c, "control", json_pack("{s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}}",
			"requests", (json_int_t)__atomic_load_n(&r->ctl->requests, __ATOMIC_RELAXED),
			"refused", (json_int_t)__atomic_load_n(&r->ctl->refused, __ATOMIC_RELAXED),
			"rule_set_builds", "off_lcore", (json_int_t)bs.offloaded,
			"rounds", (json_int_t)bs.rounds, "max_round_us", (json_int_t)bs.max_us,
			"inline", (json_int_t)bs.inline_builds,
			"max_inline_us", (json_int_t)bs.inline_max_us));
		if (r->ctl->hooks.control_info != NULL)
			r->ctl->hooks.control_info(r->ctl->hooks.arg,
						   json_object_get(c, "control"));
		json_object_set_new(c, "memory", memory_json(r->ctl->pool));
		if (r->ctl->ul != NULL) {
			struct tsw_underlay_stats st;
			tsw_underlay_get_stats(r->ctl->ul, &st);
			json_object_set_new(c, "underlay", json_pack(
				"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				"arp_requests_sent", (json_int_t)st.arp_requests_sent,
				"arp_replies_sent", (json_int_t)st.arp_replies_sent,
				"arp_replies_received", (json_int_t)st.arp_replies_received,
				"icmp_echo_replies", (json_int_t)st.icmp_echo_replies,
				"resolved", (json_int_t)st.resolved, "failed", (json_int_t)st.failed,
				"queued", (json_int_t)st.queued, "queue_full", (json_int_t)st.queue_full,
				"dropped_unresolved", (json_int_t)st.dropped_unresolved,
				"tx_failed", (json_int_t)st.tx_failed, "ignored", (json_int_t)st.ignored));
		}
	}
	return ok(r, c);
}

static int
op_show_workers(struct req *r)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < r->ctl->n_wc && a != NULL; i++) {
		const struct tsw_counters *c = r->ctl->wc[i];
		uint64_t busy = c->busy_cycles, idle = c->idle_cycles, pkts = c->pkts;
		json_t *o = json_pack("{s:i, s:I, s:I, s:I, s:I, s:f, s:f}", "worker", (int)i,
				      "pkts", (json_int_t)pkts, "bursts", (json_int_t)c->bursts,
				      "busy_cycles", (json_int_t)busy,
				      "idle_cycles", (json_int_t)idle,
				      "cycles_per_pkt", pkts ? (double)busy / (double)pkts : 0.0,
				      "busy_pct", busy + idle ? 100.0 * (double)busy /
							     (double)(busy + idle) : 0.0);
		if (o != NULL && r->ctl->hooks.worker_info != NULL)
			r->ctl->hooks.worker_info(r->ctl->hooks.arg, i, o);
		json_array_append_new(a, o);
	}
	return ok(r, a);
}

static int
op_counters_reset(struct req *r)
{
	rebase_new_objects(r->ctl);
	tsw_counters_sum(r->ctl->base, r->ctl->wc, r->ctl->n_wc);
	return ok(r, NULL);
}

static int
op_trace(struct req *r)
{
	int port;
	const char *hex;
	size_t n;
	uint8_t *frame;
	json_t *res;
	char err[128];
	struct tsw_sg_why why;

	if (arg_port(r, "port", &port) != 0 || tsw_jarg_str(r->a, "frame", true, &hex, &r->e) != 0)
		return -1;
	if (r->ctl->trace == NULL)
		return fail(r, "op", "trace is not available here");
	n = strlen(hex);
	if (n % 2 != 0)
		return fail(r, "frame", "odd number of hex digits");
	if (n / 2 < RTE_ETHER_HDR_LEN || n / 2 > MAX_TRACE_FRAME)
		return fail(r, "frame", "%zu bytes: a frame is %d..%d bytes", n / 2,
			    RTE_ETHER_HDR_LEN, MAX_TRACE_FRAME);
	frame = malloc(n / 2);
	if (frame == NULL)
		return fail(r, "frame", "out of memory");
	for (size_t i = 0; i < n / 2; i++) {
		char b[3] = { hex[2 * i], hex[2 * i + 1], 0 };
		if (!isxdigit((unsigned char)b[0]) || !isxdigit((unsigned char)b[1])) {
			free(frame);
			return fail(r, "frame", "'%s' at offset %zu is not hex", b, 2 * i);
		}
		frame[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	res = tsw_trace_run(r->ctl->trace, (uint16_t)port, frame, n / 2, r->now_ms, &why, err,
			    sizeof(err));
	free(frame);
	if (res != NULL && why.rs != NULL) {       /* what the security groups said */
		static const char *const by[] = { "no rule", "rule", "connection",
						  "always allowed (R-G2)" };
		char name[TSW_NAME_LEN + 16];
		json_t *o = json_pack("{s:s, s:s}", "port", r->dp->ports[why.port].name,
				      "decided_by", by[why.by < 4 ? why.by : 0]);
		if (o != NULL && why.rule != 0)
			json_object_set_new(o, "rule", json_string(tsw_secgroups_rule_name(
				r->ctl->sg, why.rs, why.rule, name, sizeof(name))));
		if (o != NULL && why.by == 2 && why.ct_state < TSW_CT_NSTATES)
			json_object_set_new(o, "state", json_string(tsw_ct_state_names[why.ct_state]));
		json_object_set_new(res, "security_group", o);
	}
	return res == NULL ? fail(r, "frame", "%s", err) : ok(r, res);
}

/* ---- dispatch ---------------------------------------------------------- */

#define MAX_KEYS 8

static const struct op {
	const char *name;
	int (*fn)(struct req *r);
	const char *keys[MAX_KEYS];   /* arguments besides id and op */
	const char *help;
} ops[] = {
	{ "help", op_help, { NULL }, "list the operations" },
	{ "network_add", op_network_add, { "name", "type", "segmentation_id", "physical_network" },
	  "add a tenant network" },
	{ "network_del", op_network_del, { "name" }, "delete a network without ports" },
	{ "port_add", op_port_add, { "name", "network", "devargs", "port_security" },
	  "hot-plug a VM port (e.g. net_vhost) into a network" },
	{ "port_del", op_port_del, { "name" }, "remove a VM port" },
	{ "capture_start", op_capture_start, { "port", "file", "count", "snaplen" },
	  "capture what a port (the uplink, a physical network's own device) receives and "
	  "sends into capture_dir/FILE "
	  "(pcapng), up to count frames" },
	{ "capture_stop", op_capture_stop, { "port" }, "end a port's capture" },
	{ "show_captures", op_show_captures, { NULL }, "captures running and done" },
	{ "port_security_set", op_port_security_set,
	  { "port", "enabled", "mac", "fixed_ips", "allowed_address_pairs", "security_groups" },
	  "a port's allowed (MAC, IP) pairs, or none (Neutron port security, R-S*); its "
	  "security groups (R-G*)" },
	{ "security_group_set", op_security_group_set, { "name", "stateful", "rules" },
	  "create or replace a security group and its rules (R-G*)" },
	{ "security_group_del", op_security_group_del, { "name" },
	  "delete a security group no port uses" },
	{ "security_group_members", op_security_group_members, { "name", "set", "add", "remove" },
	  "a remote group's member addresses: the whole list, or what is added and removed" },
	{ "address_group_set", op_address_group_set, { "name", "addresses" },
	  "create or replace an address group (remote_address_group_id)" },
	{ "address_group_del", op_address_group_del, { "name" }, "delete an address group" },
	{ "show_security_groups", op_show_security_groups, { NULL },
	  "security groups, address groups, their rules, members and ports" },
	{ "show_connections", op_show_connections,
	  { "port", "network", "address", "cursor", "limit" },
	  "tracked connections (security groups), filtered; paged with cursor/limit" },
	{ "flush_connections", op_flush_connections, { "port", "network", "address" },
	  "forget tracked connections (all, or those of a port, network or address)" },
	{ "remote_add", op_remote_add, { "ip", "type" }, "declare a remote VTEP (tunnel)" },
	{ "remote_del", op_remote_del, { "ip", "type" },
	  "delete a tunnel and every entry through it" },
	{ "neighbor_add", op_neighbor_add, { "ip", "mac" },
	  "static next-hop MAC for an underlay address" },
	{ "neighbor_del", op_neighbor_del, { "ip" }, "forget a next hop's MAC (static or learned)" },
	{ "route_add", op_route_add, { "prefix", "via" },
	  "underlay route to remote VTEPs (via an on-link next hop)" },
	{ "route_del", op_route_del, { "prefix" }, "remove an underlay route" },
	{ "show_routes", op_show_routes, { NULL }, "underlay routes" },
	{ "show_neighbors", op_show_neighbors, { NULL }, "underlay ARP cache" },
	{ "fdb_add", op_fdb_add, { "network", "mac", "remote", "ip" },
	  "static FDB entry (and ARP entry when ip is given)" },
	{ "fdb_del", op_fdb_del, { "network", "mac", "ip" }, "remove an FDB entry" },
	{ "flood_add", op_flood_add, { "network", "remote" }, "add a VTEP to a flood set" },
	{ "flood_del", op_flood_del, { "network", "remote" }, "remove a VTEP from a flood set" },
	{ "arp_add", op_arp_add, { "network", "ip", "mac" }, "ARP responder entry" },
	{ "arp_del", op_arp_del, { "network", "ip" }, "remove an ARP responder entry" },
	{ "add_fdb_entries", op_add_fdb_entries, { "fdb_entries" },
	  "Neutron l2population add (R-L1)" },
	{ "remove_fdb_entries", op_remove_fdb_entries, { "fdb_entries" },
	  "Neutron l2population remove (R-L2)" },
	{ "update_fdb_entries", op_update_fdb_entries, { "fdb_entries" },
	  "Neutron l2population update, chg_ip (R-L3)" },
	{ "show_info", op_show_info, { NULL },
	  "the daemon: version, instance, local_ip, tunnel types, agent options" },
	{ "show_ports", op_show_ports, { NULL }, "VM ports" },
	{ "show_networks", op_show_networks, { NULL }, "networks, their ports and flood sets" },
	{ "show_tunnels", op_show_tunnels, { NULL }, "tunnels" },
	{ "show_fdb", op_show_fdb, { "network", "mac", "cursor", "limit" },
	  "FDB entries, optionally filtered; paged with cursor/limit" },
	{ "show_arp", op_show_arp, { "network", "cursor", "limit" },
	  "ARP responder entries; paged with cursor/limit" },
	{ "show_counters", op_show_counters, { NULL }, "counters and drops by reason" },
	{ "show_workers", op_show_workers, { NULL }, "worker load: busy/idle cycles, packets" },
	{ "counters_reset", op_counters_reset, { NULL }, "zero the counters shown" },
	{ "trace", op_trace, { "port", "frame" },
	  "run a frame (hex) through the pipeline without sending it" },
};

static int
op_help(struct req *r)
{
	json_t *a = json_array();

	for (size_t i = 0; i < RTE_DIM(ops); i++) {
		json_t *keys = json_array();
		for (int k = 0; k < MAX_KEYS && ops[i].keys[k] != NULL; k++)
			json_array_append_new(keys, json_string(ops[i].keys[k]));
		json_array_append_new(a, json_pack("{s:s, s:o, s:s}", "op", ops[i].name,
						   "args", keys, "help", ops[i].help));
	}
	return ok(r, json_pack("{s:s, s:s, s:o}", "version", TSW_VERSION, "instance",
			       r->ctl->instance, "ops", a));
}

/* Error texts quote the client's bytes (a name cut at 64 bytes, jansson's
 * report of a bad byte): keep printable ASCII only, so that the reply is
 * always valid UTF-8 JSON (jansson refuses to build it otherwise). */
static void
ascii(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src[i] != '\0' && i + 1 < len; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

static json_t *
reply_error(const json_t *id, const char *field_in, const char *reason_in)
{
	char msg[520], field[200], reason[300];

	ascii(field, sizeof(field), field_in);
	ascii(reason, sizeof(reason), reason_in);
	snprintf(msg, sizeof(msg), "%s: %s", field, reason);
	return json_pack("{s:O, s:b, s:s, s:s, s:s}", "id", id ? id : json_null(), "ok", 0,
			 "error", msg, "field", field, "reason", reason);
}

static void
count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static const struct op *
find_op(const json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "op"));

	for (size_t i = 0; name != NULL && i < RTE_DIM(ops); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

/* The request's shape: an object, its id, a known op with known arguments.
 * Returns the op, or NULL with the refusal in *reply. Counts the request. */
static const struct op *
check_request(struct tsw_ctl *ctl, const json_t *req, json_t **reply)
{
	const json_t *id = json_is_object(req) ? json_object_get(req, "id") : NULL;
	const struct op *op;
	const char *name, *key;
	struct tsw_jerr e;
	json_t *v;

	count(&ctl->requests);
	*reply = NULL;
	if (!json_is_object(req)) {
		*reply = reply_error(NULL, "request", "must be a JSON object");
	} else if (id != NULL && !json_is_integer(id) && !json_is_string(id)) {
		*reply = reply_error(NULL, "id", "must be an integer or a string");
	} else if (tsw_jarg_str(req, "op", true, &name, &e) != 0) {
		*reply = reply_error(id, e.field, e.reason);
	} else if ((op = find_op(req)) == NULL) {
		snprintf(e.reason, sizeof(e.reason), "unknown operation '%.64s' (see 'help')", name);
		*reply = reply_error(id, "op", e.reason);
	} else {
		json_object_foreach((json_t *)req, key, v) {
			bool known = strcmp(key, "id") == 0 || strcmp(key, "op") == 0 ||
				     strcmp(key, "ts") == 0;
			for (int k = 0; k < MAX_KEYS && op->keys[k] != NULL && !known; k++)
				known = strcmp(key, op->keys[k]) == 0;
			if (!known) {
				tsw_jpath(e.field, sizeof(e.field), "%.64s", key);
				*reply = reply_error(id, e.field, "unknown argument for this operation");
				break;
			}
		}
		if (*reply == NULL)
			return op;
	}
	count(&ctl->refused);
	return NULL;
}

static json_t *
reply_ok(const json_t *id, json_t *result)
{
	return json_pack("{s:O, s:b, s:o}", "id", id ? id : json_null(), "ok", 1, "result", result);
}

json_t *
tsw_ctl_request(struct tsw_ctl *ctl, const json_t *req, uint64_t now_ms)
{
	struct req r = { .ctl = ctl, .dp = ctl->dp, .a = req, .now_ms = now_ms };
	const json_t *id = json_object_get(req, "id");
	const struct op *op;
	json_t *reply;
	int rc;

	op = check_request(ctl, req, &reply);
	if (op == NULL)
		return reply;
	rc = op->fn(&r);
	if (!ctl->sliced)
		tsw_dp_drain(ctl->dp, UINT_MAX);   /* what deleted owners left: now */
	if (rc < 0 && tsw_secgroups_wanted(ctl->sg)) {
		json_decref(r.result);         /* not refused: waits for rule sets, */
		rebase_new_objects(ctl);       /* and counted when made again */
		__atomic_fetch_sub(&ctl->requests, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	if (rc < 0) {
		count(&ctl->refused);
		json_decref(r.result);
		rebase_new_objects(ctl);
		return reply_error(id, r.e.field, r.e.reason);
	}
	rebase_new_objects(ctl);
	if (r.result == NULL) {
		count(&ctl->refused);
		return reply_error(id, "request", "out of memory");
	}
	return reply_ok(id, r.result);
}

json_t *
tsw_ctl_write(struct tsw_ctl *ctl, const json_t *req, uint64_t now_ms, bool *wait)
{
	json_t *reply;

	if (ctl->building) {
		if (!tsw_secgroups_build_poll(ctl->sg)) {
			*wait = true;
			return NULL;
		}
		ctl->building = false;
	}
	tsw_secgroups_defer(ctl->sg, ctl->tries < 2);
	reply = tsw_ctl_request(ctl, req, now_ms);
	if (reply == NULL && tsw_secgroups_wanted(ctl->sg)) {
		ctl->tries++;
		if (tsw_secgroups_build_start(ctl->sg) == 0) {
			tsw_secgroups_defer(ctl->sg, false);   /* reads meanwhile: as ever */
			ctl->building = true;
			*wait = true;
			return NULL;
		}
		/* no thread: built here */
		tsw_secgroups_defer(ctl->sg, false);
		reply = tsw_ctl_request(ctl, req, now_ms);
	}
	tsw_secgroups_build_end(ctl->sg);
	ctl->tries = 0;
	*wait = false;
	return reply;
}

int
tsw_ctl_wait_fd(const struct tsw_ctl *ctl)
{
	return tsw_secgroups_build_fd(ctl->sg);
}

/* ---- requests in steps (the daemon's control thread) ------------------- */

/* The l2population operation op carries out, or -1. */
static int
l2pop_kind(const struct op *op)
{
	return op->fn == op_add_fdb_entries ? TSW_L2POP_ADD :
	       op->fn == op_remove_fdb_entries ? TSW_L2POP_REMOVE :
	       op->fn == op_update_fdb_entries ? TSW_L2POP_UPDATE : -1;
}

enum tsw_ctl_class
tsw_ctl_classify(const json_t *req)
{
	const struct op *op = json_is_object(req) ? find_op(req) : NULL;

	if (op == NULL || strncmp(op->name, "show_", 5) == 0 || op->fn == op_help ||
	    op->fn == op_trace)
		return TSW_CTL_READ;   /* unknown ops are refused, reading nothing */
	if (op->fn == op_network_add || op->fn == op_network_del)
		return TSW_CTL_NETS;
	if (l2pop_kind(op) >= 0)
		return TSW_CTL_L2POP;
	return TSW_CTL_WRITE;
}

struct tsw_ctl_job {
	json_t *id;
	struct tsw_l2pop_plan *plan;
};

void
tsw_ctl_job_free(struct tsw_ctl_job *job)
{
	if (job == NULL)
		return;
	json_decref(job->id);
	tsw_l2pop_plan_free(job->plan);
	free(job);
}

struct tsw_ctl_job *
tsw_ctl_prepare(struct tsw_ctl *ctl, const json_t *req, json_t **reply)
{
	const struct op *op = check_request(ctl, req, reply);
	const json_t *id = json_object_get(req, "id");
	struct tsw_ctl_job *job;
	struct tsw_jerr e;
	int k;

	if (op == NULL)
		return NULL;
	k = l2pop_kind(op);
	if (k < 0)
		*reply = reply_error(id, "op", "not an l2population operation");
	else if (!ctl->dp->conf.l2_population)
		*reply = reply_error(id, "op", "l2_population is off in [agent]");
	else if ((job = calloc(1, sizeof(*job))) == NULL)
		*reply = reply_error(id, "request", "out of memory");
	else {
		job->id = json_incref((json_t *)(id ? id : json_null()));
		job->plan = tsw_l2pop_prepare(ctl->dp, (enum tsw_l2pop_op)k,
					      json_object_get(req, "fdb_entries"), &e);
		if (job->plan != NULL)
			return job;
		*reply = reply_error(id, e.field, e.reason);
		tsw_ctl_job_free(job);
	}
	count(&ctl->refused);
	return NULL;
}

json_t *
tsw_ctl_job_step(struct tsw_ctl *ctl, struct tsw_ctl_job *job, size_t max_changes)
{
	struct tsw_jerr e;
	json_t *res;
	int rc = tsw_l2pop_step(ctl->dp, job->plan, max_changes, &e);

	if (rc == 0)
		return NULL;
	rebase_new_objects(ctl);   /* tunnels created count from zero */
	res = rc > 0 ? tsw_l2pop_result(job->plan, &e) : NULL;
	if (res == NULL) {
		count(&ctl->refused);
		return reply_error(job->id, e.field, e.reason);
	}
	return reply_ok(job->id, res);
}

json_t *
tsw_ctl_parse_error(struct tsw_ctl *ctl, const json_error_t *je)
{
	char reason[300];

	count(&ctl->requests);
	count(&ctl->refused);
	snprintf(reason, sizeof(reason), "invalid JSON at column %d: %s", je->column, je->text);
	return reply_error(NULL, "request", reason);
}

char *
tsw_ctl_handle(struct tsw_ctl *ctl, const char *line, size_t len, uint64_t now_ms)
{
	json_error_t je;
	json_t *req, *reply;
	char *s;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (req == NULL) {
		reply = tsw_ctl_parse_error(ctl, &je);
	} else {
		reply = tsw_ctl_request(ctl, req, now_ms);
		json_decref(req);
	}
	if (reply == NULL)
		return NULL;
	s = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(reply);
	return s;
}
