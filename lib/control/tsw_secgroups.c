/* SPDX-License-Identifier: BSD-3-Clause
 * Security groups, the control plane's side (see tsw_secgroups.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_lcore.h>

#include "tsw_clock.h"
#include "tsw_parse.h"
#include "tsw_secgroups.h"

struct addr {
	uint8_t v6, len;
	uint8_t a[16];
};

struct srule {
	struct tsw_sg_rule r;        /* rgroup: a remote group's index, -1 none */
	int16_t agroup;              /* an address group's index, -1 none */
	json_t *src;                 /* the rule as given (show_security_groups) */
};

struct grp {
	bool in_use;
	bool defined;                /* given by a request (not only named by a rule) */
	bool address_group;
	bool stateful;
	char id[TSW_NAME_LEN];
	struct srule *rules;
	uint32_t n_rules;
	struct addr *members;        /* remote-group members, or an address group's */
	uint32_t n_members, cap_members;
	uint32_t named;              /* rules of groups that name it (remote/address) */
};

struct rset {
	bool in_use;
	uint16_t n;
	uint16_t groups[TSW_SG_MAX_PORT_GROUPS];   /* sorted */
	struct tsw_sg_ruleset *rs;
	uint32_t holders;            /* ports and prepared choices */
};

/* A rule set to build off the table writer, and what came of it. */
struct job {
	struct tsw_sg_rule *rules;
	uint32_t n;
	bool stateful;
	bool taken;                  /* a request's model holds rs now */
	struct tsw_sg_ruleset *rs;   /* NULL: why */
	char why[160];
};

struct builder {
	bool defer;                  /* build() records wanted rule sets */
	struct job *want;            /* recorded in this round */
	uint32_t n_want;
	struct job *ready;           /* built in earlier rounds of this request */
	uint32_t n_ready;
	struct job *run;             /* the builder thread's (n_run) */
	uint32_t n_run;
	pthread_t tid;
	bool started;                /* the thread exists */
	bool running;                /* a round is under way */
	uint32_t quit;               /* atomic */
	int go_fd;                   /* eventfd: a round to build */
	int socket;
	uint32_t done;               /* the thread is finished (atomic) */
	uint64_t run_us;
	int fd;                      /* eventfd: the thread is finished */
	struct tsw_secgroups_build_stats st;
};

struct tsw_secgroups {
	struct tsw_dp *dp;
	struct builder b;
	struct grp grp[TSW_SG_MAX_GROUPS];
	struct rset *sets;
	uint32_t n_sets;
	int32_t port_set[TSW_MAX_PORTS];           /* -1: not filtered */
	uint32_t gen;
};

#define ERR(e, f, ...) tsw_jerr_set(e, f, __VA_ARGS__)

static void builder_stop(struct builder *b);

struct tsw_secgroups *
tsw_secgroups_create(struct tsw_dp *dp)
{
	struct tsw_secgroups *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->dp = dp;
	g->b.fd = g->b.go_fd = -1;
	for (int p = 0; p < TSW_MAX_PORTS; p++)
		g->port_set[p] = -1;
	return g;
}

static void
jobs_free(struct job *j, uint32_t n, bool all)
{
	for (uint32_t i = 0; i < n; i++) {
		free(j[i].rules);
		if (all || !j[i].taken)
			tsw_sg_ruleset_free(j[i].rs);
	}
	free(j);
}

static void
free_rules(struct grp *gr)
{
	for (uint32_t i = 0; i < gr->n_rules; i++)
		json_decref(gr->rules[i].src);
	free(gr->rules);
	gr->rules = NULL;
	gr->n_rules = 0;
}

void
tsw_secgroups_free(struct tsw_secgroups *g)
{
	if (g == NULL)
		return;
	builder_stop(&g->b);      /* finishes a round under way first */
	jobs_free(g->b.run, g->b.n_run, true);
	jobs_free(g->b.want, g->b.n_want, true);
	jobs_free(g->b.ready, g->b.n_ready, false);
	for (int i = 0; i < TSW_SG_MAX_GROUPS; i++) {
		free_rules(&g->grp[i]);
		free(g->grp[i].members);
	}
	for (uint32_t s = 0; s < g->n_sets; s++)
		tsw_sg_ruleset_free(g->sets[s].rs);   /* the tables are gone before */
	free(g->sets);
	free(g);
}

/* ---- groups by id -------------------------------------------------------- */

static int
find(const struct tsw_secgroups *g, const char *id)
{
	for (int i = 0; i < TSW_SG_MAX_GROUPS; i++)
		if (g->grp[i].in_use && strcmp(g->grp[i].id, id) == 0)
			return i;
	return -1;
}

/* The group of id, created (not yet defined) when absent; -1: no room. */
static int
find_or_add(struct tsw_secgroups *g, const char *id, bool address_group)
{
	int i = find(g, id);

	if (i >= 0)
		return i;
	for (i = 0; i < TSW_SG_MAX_GROUPS && g->grp[i].in_use; i++)
		;
	if (i == TSW_SG_MAX_GROUPS)
		return -1;
	memset(&g->grp[i], 0, sizeof(g->grp[i]));
	g->grp[i].in_use = true;
	g->grp[i].address_group = address_group;
	g->grp[i].stateful = true;
	snprintf(g->grp[i].id, sizeof(g->grp[i].id), "%s", id);
	return i;
}

/* A group nobody defines, names or uses any more goes. */
static void
maybe_forget(struct tsw_secgroups *g, int i)
{
	struct grp *gr = &g->grp[i];

	if (!gr->in_use || gr->defined || gr->named > 0 || gr->n_members > 0)
		return;
	for (uint32_t s = 0; s < g->n_sets; s++)
		for (uint16_t k = 0; g->sets[s].in_use && k < g->sets[s].n; k++)
			if (g->sets[s].groups[k] == i)
				return;
	free_rules(gr);
	free(gr->members);
	memset(gr, 0, sizeof(*gr));
}

/* ---- rules --------------------------------------------------------------- */

static const struct {
	const char *name;
	uint8_t num;
} protos[] = {
	{ "ah", 51 }, { "dccp", 33 }, { "egp", 8 }, { "esp", 50 }, { "gre", 47 },
	{ "hopopt", 0 }, { "icmp", 1 }, { "igmp", 2 }, { "ipip", 4 }, { "ipv6-encap", 41 },
	{ "ipv6-frag", 44 }, { "ipv6-icmp", 58 }, { "icmpv6", 58 }, { "ipv6-nonxt", 59 },
	{ "ipv6-opts", 60 }, { "ipv6-route", 43 }, { "ospf", 89 }, { "pgm", 113 },
	{ "rsvp", 46 }, { "sctp", 132 }, { "tcp", 6 }, { "udp", 17 }, { "udplite", 136 },
	{ "vrrp", 112 },
};

static bool
proto_has_ports(int p)
{
	return p == 6 || p == 17 || p == 132 || p == 136 || p == 33;
}

/* A JSON integer or null (-1) at key within lo..hi. */
static int
opt_int(const json_t *o, const char *key, long lo, long hi, long *v, const char *f,
	struct tsw_jerr *e)
{
	const json_t *x = json_object_get(o, key);
	char path[96];

	*v = -1;
	if (x == NULL || json_is_null(x))
		return 0;
	tsw_jpath(path, sizeof(path), "%s.%s", f, key);
	if (json_is_string(x)) {          /* Neutron's API gives strings at times */
		char *end;
		long n = strtol(json_string_value(x), &end, 10);
		if (*json_string_value(x) == '\0' || *end != '\0')
			return ERR(e, path, "not an integer");
		*v = n;
	} else if (json_is_integer(x)) {
		*v = (long)json_integer_value(x);
	} else {
		return ERR(e, path, "not an integer");
	}
	if (*v < lo || *v > hi)
		return ERR(e, path, "%ld is out of range %ld..%ld", *v, lo, hi);
	return 0;
}

static const char *
opt_str(const json_t *o, const char *key)
{
	const json_t *x = json_object_get(o, key);

	return json_is_string(x) && *json_string_value(x) != '\0' ? json_string_value(x) : NULL;
}

/* Neutron's rule o (rules[i] of a group) into r; remote group and address
 * group ids into *rg, *ag (NULL: none). */
static int
parse_rule(const json_t *o, size_t i, struct srule *r, const char **rg, const char **ag,
	   struct tsw_jerr *e)
{
	char f[48], path[96];
	const char *dir, *et, *proto, *pfx;
	const json_t *pj;
	long pmin, pmax;
	int n_remote;

	snprintf(f, sizeof(f), "rules[%zu]", i);
	memset(r, 0, sizeof(*r));
	r->r.rgroup = r->agroup = -1;
	r->r.proto = -1;
	r->r.icmp_type = r->r.icmp_code = -1;
	r->r.pmax = 65535;
	if (!json_is_object(o))
		return ERR(e, f, "not an object");
	dir = opt_str(o, "direction");
	tsw_jpath(path, sizeof(path), "%s.direction", f);
	if (dir == NULL || (strcmp(dir, "ingress") != 0 && strcmp(dir, "egress") != 0))
		return ERR(e, path, "must be \"ingress\" or \"egress\"");
	r->r.dir = strcmp(dir, "ingress") == 0 ? TSW_SG_INGRESS : TSW_SG_EGRESS;
	et = opt_str(o, "ethertype");
	tsw_jpath(path, sizeof(path), "%s.ethertype", f);
	if (et == NULL)
		et = "IPv4";
	if (strcasecmp(et, "IPv4") != 0 && strcasecmp(et, "IPv6") != 0)
		return ERR(e, path, "must be \"IPv4\" or \"IPv6\"");
	r->r.v6 = strcasecmp(et, "IPv6") == 0;
	/* protocol: a name, a number (as a string or not), or any */
	pj = json_object_get(o, "protocol");
	tsw_jpath(path, sizeof(path), "%s.protocol", f);
	proto = json_is_string(pj) ? json_string_value(pj) : NULL;
	if (json_is_integer(pj)) {
		if (json_integer_value(pj) < 0 || json_integer_value(pj) > 255)
			return ERR(e, path, "out of range 0..255");
		r->r.proto = (int16_t)json_integer_value(pj);
	} else if (proto != NULL && *proto != '\0' && strcasecmp(proto, "any") != 0) {
		char *end;
		long n = strtol(proto, &end, 10);
		if (*end == '\0') {
			if (n < 0 || n > 255)
				return ERR(e, path, "out of range 0..255");
			r->r.proto = (int16_t)n;
		} else {
			for (size_t k = 0; k < sizeof(protos) / sizeof(protos[0]); k++)
				if (strcasecmp(protos[k].name, proto) == 0)
					r->r.proto = protos[k].num;
			if (r->r.proto < 0)
				return ERR(e, path, "'%.32s' is not a protocol name or number", proto);
		}
	} else if (pj != NULL && !json_is_null(pj) && proto == NULL) {
		return ERR(e, path, "not a protocol name or number");
	}
	/* Neutron says "icmp" for ICMPv6 in IPv6 rules */
	if (r->r.v6 && r->r.proto == 1)
		r->r.proto = 58;
	if (!r->r.v6 && r->r.proto == 58)
		return ERR(e, path, "ICMPv6 in an IPv4 rule");
	if (opt_int(o, "port_range_min", 0, 65535, &pmin, f, e) < 0 ||
	    opt_int(o, "port_range_max", 0, 65535, &pmax, f, e) < 0)
		return -1;
	if (r->r.proto == (r->r.v6 ? 58 : 1)) {
		tsw_jpath(path, sizeof(path), "%s.port_range_min", f);
		if (pmin > 255 || pmax > 255)
			return ERR(e, path, "ICMP type and code are 0..255");
		if (pmin < 0 && pmax >= 0)
			return ERR(e, path, "an ICMP code (port_range_max) needs a type");
		r->r.icmp_type = (int16_t)pmin;
		r->r.icmp_code = (int16_t)pmax;
	} else if (pmin >= 0 || pmax >= 0) {
		tsw_jpath(path, sizeof(path), "%s.port_range_min", f);
		if (!proto_has_ports(r->r.proto))
			return ERR(e, path, "a port range needs TCP, UDP, SCTP, UDP-Lite or DCCP");
		if (pmin < 1 || pmax < 1 || pmin > pmax)
			return ERR(e, path, "port_range_min and port_range_max: 1..65535, min <= max");
		r->r.pmin = (uint16_t)pmin;
		r->r.pmax = (uint16_t)pmax;
	}
	/* at most one remote */
	pfx = opt_str(o, "remote_ip_prefix");
	*rg = opt_str(o, "remote_group_id");
	*ag = opt_str(o, "remote_address_group_id");
	n_remote = (pfx != NULL) + (*rg != NULL) + (*ag != NULL);
	if (n_remote > 1) {
		tsw_jpath(path, sizeof(path), "%s.remote_group_id", f);
		return ERR(e, path, "at most one of remote_ip_prefix, remote_group_id and "
			   "remote_address_group_id");
	}
	if (pfx != NULL) {
		const char *why;
		bool v6;
		tsw_jpath(path, sizeof(path), "%s.remote_ip_prefix", f);
		if (tsw_parse_ip_prefix(pfx, &v6, r->r.remote, &r->r.remote_len, &why) < 0)
			return ERR(e, path, "'%.64s' is %s", pfx, why);
		if (v6 != r->r.v6)
			return ERR(e, path, "'%.64s' is not of the rule's ethertype", pfx);
	}
	for (int k = 0; k < 2; k++) {
		const char *id = k == 0 ? *rg : *ag, *why;
		tsw_jpath(path, sizeof(path), "%s.%s", f,
			  k == 0 ? "remote_group_id" : "remote_address_group_id");
		if (id != NULL && tsw_parse_name(id, &why) < 0)
			return ERR(e, path, "%s", why);
	}
	return 0;
}

/* ---- rule sets ---------------------------------------------------------- */

static int
cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* The rules of a set of groups, address groups expanded; NULL (n = 0) for
 * none. */
static struct tsw_sg_rule *
gather(const struct tsw_secgroups *g, const uint16_t *groups, uint16_t n, uint32_t *count)
{
	uint32_t total = 0, k = 0;
	struct tsw_sg_rule *out;

	for (uint16_t i = 0; i < n; i++) {
		const struct grp *gr = &g->grp[groups[i]];
		for (uint32_t j = 0; j < gr->n_rules; j++)
			total += gr->rules[j].agroup >= 0 ? g->grp[gr->rules[j].agroup].n_members : 1;
	}
	*count = 0;
	if (total == 0)
		return NULL;
	out = calloc(total, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (uint16_t i = 0; i < n; i++) {
		const struct grp *gr = &g->grp[groups[i]];
		for (uint32_t j = 0; j < gr->n_rules; j++) {
			const struct srule *sr = &gr->rules[j];
			if (sr->agroup < 0) {
				out[k] = sr->r;
				out[k].ref = (struct tsw_sg_ruleref){ groups[i], (uint16_t)j };
				k++;
				continue;
			}
			const struct grp *ag = &g->grp[sr->agroup];
			for (uint32_t m = 0; m < ag->n_members; m++) {
				if (ag->members[m].v6 != sr->r.v6)
					continue;
				out[k] = sr->r;
				memcpy(out[k].remote, ag->members[m].a, 16);
				out[k].remote_len = ag->members[m].len;
				out[k].ref = (struct tsw_sg_ruleref){ groups[i], (uint16_t)j };
				k++;
			}
		}
	}
	*count = k;
	return out;
}

static bool
rule_eq(const struct tsw_sg_rule *a, const struct tsw_sg_rule *b)
{
	return a->dir == b->dir && a->v6 == b->v6 && a->proto == b->proto &&
	       a->pmin == b->pmin && a->pmax == b->pmax && a->icmp_type == b->icmp_type &&
	       a->icmp_code == b->icmp_code && a->remote_len == b->remote_len &&
	       memcmp(a->remote, b->remote, sizeof(a->remote)) == 0 && a->rgroup == b->rgroup &&
	       a->ref.group == b->ref.group && a->ref.rule == b->ref.rule;
}

static bool
job_is(const struct job *j, const struct tsw_sg_rule *rules, uint32_t n, bool stateful)
{
	if (j->n != n || j->stateful != stateful)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (!rule_eq(&j->rules[i], &rules[i]))
			return false;
	return true;
}

/* Deferring: the rule set of these rules is wanted (rules: the job's). */
static int
want(struct tsw_secgroups *g, struct tsw_sg_rule *rules, uint32_t n, bool stateful)
{
	struct job *w = realloc(g->b.want, (g->b.n_want + 1) * sizeof(*w));

	if (w == NULL) {
		free(rules);
		return -ENOMEM;
	}
	g->b.want = w;
	w[g->b.n_want++] = (struct job){ .rules = rules, .n = n, .stateful = stateful };
	return 0;
}

static struct tsw_sg_ruleset *
build(struct tsw_secgroups *g, const uint16_t *groups, uint16_t n, struct tsw_jerr *e)
{
	uint32_t count;
	struct tsw_sg_rule *rules = gather(g, groups, n, &count);
	bool stateful = true;      /* a group without rules says nothing either way */

	for (uint16_t i = 0; i < n; i++)
		if (g->grp[groups[i]].n_rules > 0)
			stateful = g->grp[groups[i]].stateful;
	char why[160];
	struct tsw_sg_ruleset *rs;
	uint64_t t0;

	if (rules == NULL && count > 0) {
		ERR(e, "security_groups", "out of memory");
		return NULL;
	}
	/* built off this thread for this request already */
	for (uint32_t i = 0; i < g->b.n_ready; i++) {
		struct job *j = &g->b.ready[i];
		if (j->taken || !job_is(j, rules, count, stateful))
			continue;
		free(rules);
		if (j->rs == NULL) {
			ERR(e, "security_groups", "%s", j->why);
			return NULL;
		}
		j->taken = true;
		j->rs->gen = ++g->gen;    /* not published yet */
		return j->rs;
	}
	if (g->b.defer) {
		if (want(g, rules, count, stateful) < 0)
			ERR(e, "security_groups", "out of memory");
		else
			ERR(e, "security_groups", "being built");
		return NULL;
	}
	t0 = tsw_mono_us();
	rs = tsw_sg_ruleset_build(rules, count, stateful, ++g->gen, g->dp->socket, why,
				  sizeof(why));
	g->b.st.inline_builds++;
	g->b.st.inline_max_us = RTE_MAX(g->b.st.inline_max_us, tsw_mono_us() - t0);
	free(rules);
	if (rs == NULL)
		ERR(e, "security_groups", "%s", why);
	return rs;
}

/* A rule set build() gave and the request does not keep. */
static void
unbuild(struct tsw_secgroups *g, struct tsw_sg_ruleset *rs)
{
	for (uint32_t i = 0; rs != NULL && i < g->b.n_ready; i++)
		if (g->b.ready[i].rs == rs) {
			g->b.ready[i].taken = false;
			return;
		}
	tsw_sg_ruleset_free(rs);
}

/* The set of these (sorted) groups, built when new; -1 with e. */
static int
set_for(struct tsw_secgroups *g, const uint16_t *groups, uint16_t n, struct tsw_jerr *e)
{
	uint32_t free_slot = UINT32_MAX;
	struct rset *s;

	for (uint32_t i = 0; i < g->n_sets; i++) {
		if (!g->sets[i].in_use) {
			if (free_slot == UINT32_MAX)
				free_slot = i;
			continue;
		}
		if (g->sets[i].n == n && memcmp(g->sets[i].groups, groups, n * sizeof(*groups)) == 0)
			return (int)i;
	}
	if (free_slot == UINT32_MAX) {
		struct rset *ns = realloc(g->sets, (g->n_sets + 1) * sizeof(*ns));
		if (ns == NULL)
			return ERR(e, "security_groups", "out of memory");
		g->sets = ns;
		free_slot = g->n_sets++;
	}
	s = &g->sets[free_slot];
	memset(s, 0, sizeof(*s));
	s->rs = build(g, groups, n, e);
	if (s->rs == NULL)
		return -1;
	s->in_use = true;
	s->n = n;
	memcpy(s->groups, groups, n * sizeof(*groups));
	return (int)free_slot;
}

static void
set_release(struct tsw_secgroups *g, int si)
{
	struct rset *s = &g->sets[si];

	if (--s->holders > 0)
		return;
	tsw_dp_retire_ruleset(g->dp, s->rs);
	s->rs = NULL;
	s->in_use = false;
	for (uint16_t k = 0; k < s->n; k++)
		maybe_forget(g, s->groups[k]);
}

/* Build again every set that matches(set) and publish them to their
 * ports; all or nothing: when one cannot be built, none changes (-1, e). */
static int
rebuild(struct tsw_secgroups *g, bool (*matches)(const struct tsw_secgroups *,
						 const struct rset *, int), int arg,
	struct tsw_jerr *e)
{
	struct tsw_sg_ruleset **built = calloc(g->n_sets ? g->n_sets : 1, sizeof(*built));
	bool failed = false;

	if (built == NULL)
		return ERR(e, "name", "out of memory");
	for (uint32_t i = 0; i < g->n_sets; i++) {
		struct rset *s = &g->sets[i];
		if (!s->in_use || !matches(g, s, arg))
			continue;
		built[i] = build(g, s->groups, s->n, e);
		if (built[i] == NULL) {
			failed = true;
			if (!g->b.defer)
				break;      /* deferring: every wanted set in one round */
		}
	}
	if (failed) {
		for (uint32_t k = 0; k < g->n_sets; k++)
			unbuild(g, built[k]);
		free(built);
		return -1;
	}
	for (uint32_t i = 0; i < g->n_sets; i++) {
		struct rset *s = &g->sets[i];
		struct tsw_sg_ruleset *old = s->rs;
		if (built[i] == NULL)
			continue;
		s->rs = built[i];
		for (int p = 0; p < TSW_MAX_PORTS; p++)
			if (g->port_set[p] == (int32_t)i)
				tsw_dp_port_sg_set(g->dp, (uint16_t)p, s->rs);
		tsw_dp_retire_ruleset(g->dp, old);
	}
	free(built);
	return 0;
}

static bool
has_group(const struct tsw_secgroups *g, const struct rset *s, int gi)
{
	(void)g;
	for (uint16_t k = 0; k < s->n; k++)
		if (s->groups[k] == gi)
			return true;
	return false;
}

static bool
uses_address_group(const struct tsw_secgroups *g, const struct rset *s, int ai)
{
	for (uint16_t k = 0; k < s->n; k++) {
		const struct grp *gr = &g->grp[s->groups[k]];
		for (uint32_t j = 0; j < gr->n_rules; j++)
			if (gr->rules[j].agroup == ai)
				return true;
	}
	return false;
}

/* ---- building off the table writer ---------------------------------------- */

/* The builder thread: one, made at the first build and kept; it waits on
 * go_fd for a round, builds it, says so on fd. */
static void *
builder_main(void *arg)
{
	struct builder *b = arg;
	uint64_t v, t0, one = 1;
	ssize_t n;

	for (;;) {
		n = read(b->go_fd, &v, sizeof(v));
		if (n != (ssize_t)sizeof(v) && errno == EINTR)
			continue;
		if (__atomic_load_n(&b->quit, __ATOMIC_ACQUIRE) || n != (ssize_t)sizeof(v))
			break;
		t0 = tsw_mono_us();
		for (uint32_t i = 0; i < b->n_run; i++) {
			struct job *j = &b->run[i];
			j->rs = tsw_sg_ruleset_build(j->rules, j->n, j->stateful, 0, b->socket,
						     j->why, sizeof(j->why));
		}
		b->run_us = tsw_mono_us() - t0;
		__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
		n = write(b->fd, &one, sizeof(one));
		(void)n;
	}
	return NULL;
}

static int
builder_start(struct builder *b)
{
	int rc;

	if (b->started)
		return 0;
	if (b->fd < 0 && (b->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -errno;
	if (b->go_fd < 0 && (b->go_fd = eventfd(0, EFD_CLOEXEC)) < 0)
		return -errno;
	rc = rte_ctrl_thread_create(&b->tid, "tsw-sgbuild", NULL, builder_main, b);
	if (rc != 0)
		return -rc;
	b->started = true;
	return 0;
}

static void
builder_stop(struct builder *b)
{
	uint64_t one = 1;
	ssize_t n;

	if (b->started) {
		__atomic_store_n(&b->quit, 1, __ATOMIC_RELEASE);
		n = write(b->go_fd, &one, sizeof(one));
		(void)n;
		pthread_join(b->tid, NULL);
		b->started = false;
	}
	if (b->fd >= 0)
		close(b->fd);
	if (b->go_fd >= 0)
		close(b->go_fd);
	b->fd = b->go_fd = -1;
}

void
tsw_secgroups_defer(struct tsw_secgroups *g, bool on)
{
	g->b.defer = on;
	if (on) {
		jobs_free(g->b.want, g->b.n_want, true);
		g->b.want = NULL;
		g->b.n_want = 0;
	}
}

bool
tsw_secgroups_wanted(const struct tsw_secgroups *g)
{
	return g->b.n_want > 0;
}

int
tsw_secgroups_build_start(struct tsw_secgroups *g)
{
	struct builder *b = &g->b;
	uint64_t one = 1;
	int rc;

	if (b->running || b->n_want == 0)
		return -EINVAL;
	rc = builder_start(b);
	if (rc < 0)
		return rc;
	b->run = b->want;
	b->n_run = b->n_want;
	b->want = NULL;
	b->n_want = 0;
	b->socket = g->dp->socket;
	__atomic_store_n(&b->done, 0, __ATOMIC_RELAXED);
	/* the write orders the jobs before the thread reads them */
	if (write(b->go_fd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
		rc = -errno;
		b->want = b->run;
		b->n_want = b->n_run;
		b->run = NULL;
		b->n_run = 0;
		return rc;
	}
	b->running = true;
	b->st.rounds++;
	return 0;
}

int
tsw_secgroups_build_poll(struct tsw_secgroups *g)
{
	struct builder *b = &g->b;
	struct job *r;
	uint64_t v;
	ssize_t n;

	if (!b->running)
		return 1;
	if (!__atomic_load_n(&b->done, __ATOMIC_ACQUIRE))
		return 0;
	n = read(b->fd, &v, sizeof(v));
	(void)n;
	b->running = false;
	b->st.offloaded += b->n_run;
	b->st.max_us = RTE_MAX(b->st.max_us, b->run_us);
	r = realloc(b->ready, (b->n_ready + b->n_run) * sizeof(*r));
	if (r == NULL) {          /* lost: the request asks for them again */
		jobs_free(b->run, b->n_run, true);
	} else {
		memcpy(&r[b->n_ready], b->run, b->n_run * sizeof(*r));
		b->ready = r;
		b->n_ready += b->n_run;
		free(b->run);
	}
	b->run = NULL;
	b->n_run = 0;
	return 1;
}

int
tsw_secgroups_build_fd(const struct tsw_secgroups *g)
{
	return g->b.fd;
}

void
tsw_secgroups_build_end(struct tsw_secgroups *g)
{
	jobs_free(g->b.ready, g->b.n_ready, false);
	g->b.ready = NULL;
	g->b.n_ready = 0;
	jobs_free(g->b.want, g->b.n_want, true);
	g->b.want = NULL;
	g->b.n_want = 0;
	g->b.defer = false;
}

void
tsw_secgroups_build_stats(const struct tsw_secgroups *g, struct tsw_secgroups_build_stats *st)
{
	*st = g->b.st;
}

/* ---- requests ------------------------------------------------------------ */

static int
arg_id(const json_t *req, const char **id, struct tsw_jerr *e)
{
	return tsw_jarg_name(req, "name", true, id, e);
}

/* What a group's rules name: +1 or -1 on each. */
static void
name_refs(struct tsw_secgroups *g, struct grp *gr, int d)
{
	for (uint32_t j = 0; j < gr->n_rules; j++) {
		if (gr->rules[j].r.rgroup >= 0)
			g->grp[gr->rules[j].r.rgroup].named += (uint32_t)d;
		if (gr->rules[j].agroup >= 0)
			g->grp[gr->rules[j].agroup].named += (uint32_t)d;
	}
}

int
tsw_secgroups_group_set(struct tsw_secgroups *g, const json_t *req, struct tsw_jerr *e)
{
	const char *id;
	const json_t *rules = json_object_get(req, "rules");
	bool stateful = true;
	struct srule *nr = NULL;
	size_t n, i;
	int gi, rc;
	struct grp old;

	if (arg_id(req, &id, e) != 0 ||
	    tsw_jarg_bool(req, "stateful", false, &stateful, e) < 0)
		return -1;
	if (rules != NULL && !json_is_array(rules))
		return ERR(e, "rules", "must be a list of rules");
	n = json_array_size(rules);
	if (n > TSW_SG_MAX_RULES)
		return ERR(e, "rules", "more than %d rules", TSW_SG_MAX_RULES);
	gi = find(g, id);
	if (gi >= 0 && g->grp[gi].address_group)
		return ERR(e, "name", "'%s' is an address group", id);
	/* every rule first; groups they name are made (not defined) as needed */
	if (n > 0 && (nr = calloc(n, sizeof(*nr))) == NULL)
		return ERR(e, "rules", "out of memory");
	for (i = 0; i < n; i++) {
		const char *rg = NULL, *ag = NULL;
		if (parse_rule(json_array_get(rules, i), i, &nr[i], &rg, &ag, e) < 0)
			goto fail;
		for (int k = 0; k < 2; k++) {
			const char *ref = k == 0 ? rg : ag;
			int x;
			char path[96];
			if (ref == NULL)
				continue;
			tsw_jpath(path, sizeof(path), "rules[%zu].%s", i,
				  k == 0 ? "remote_group_id" : "remote_address_group_id");
			x = find_or_add(g, ref, k == 1);
			if (x < 0) {
				ERR(e, path, "more than %d groups", TSW_SG_MAX_GROUPS);
				goto fail;
			}
			if (g->grp[x].address_group != (k == 1)) {
				ERR(e, path, "'%.48s' is %s", ref, k == 0 ? "an address group"
					    : "a security group");
				goto fail;
			}
			if (k == 0)
				nr[i].r.rgroup = (int16_t)x;
			else
				nr[i].agroup = (int16_t)x;
		}
		nr[i].src = json_deep_copy(json_array_get(rules, i));
	}
	gi = find_or_add(g, id, false);
	if (gi < 0) {
		ERR(e, "name", "more than %d groups", TSW_SG_MAX_GROUPS);
		goto fail;
	}
	/* a group's statefulness cannot change under a port (Neutron neither) */
	for (uint32_t s = 0; s < g->n_sets; s++)
		if (g->sets[s].in_use && has_group(g, &g->sets[s], gi) &&
		    g->grp[gi].defined && g->grp[gi].stateful != stateful) {
			ERR(e, "stateful", "the group is used by ports: cannot change");
			goto fail;
		}
	old = g->grp[gi];
	name_refs(g, &g->grp[gi], -1);
	g->grp[gi].rules = nr;
	g->grp[gi].n_rules = (uint32_t)n;
	g->grp[gi].stateful = stateful;
	g->grp[gi].defined = true;
	name_refs(g, &g->grp[gi], +1);
	rc = rebuild(g, has_group, gi, e);
	if (rc < 0) {             /* nothing was published: the rules it had */
		name_refs(g, &g->grp[gi], -1);
		g->grp[gi].rules = old.rules;
		g->grp[gi].n_rules = old.n_rules;
		g->grp[gi].stateful = old.stateful;
		g->grp[gi].defined = old.defined;
		name_refs(g, &g->grp[gi], +1);
		goto fail;
	}
	for (uint32_t j = 0; j < old.n_rules; j++)
		json_decref(old.rules[j].src);
	free(old.rules);
	for (int k = 0; k < TSW_SG_MAX_GROUPS; k++)
		maybe_forget(g, k);
	return 0;
fail:
	for (size_t k = 0; k < n; k++)
		json_decref(nr[k].src);
	free(nr);
	for (int k = 0; k < TSW_SG_MAX_GROUPS; k++)
		maybe_forget(g, k);
	return -1;
}

static bool
group_in_use(const struct tsw_secgroups *g, int gi)
{
	for (uint32_t s = 0; s < g->n_sets; s++)
		if (g->sets[s].in_use && has_group(g, &g->sets[s], gi))
			return true;
	return false;
}

int
tsw_secgroups_group_del(struct tsw_secgroups *g, const char *id, struct tsw_jerr *e)
{
	int gi = find(g, id);

	if (gi < 0 || !g->grp[gi].defined || g->grp[gi].address_group)
		return ERR(e, "name", "no security group '%s'", id);
	if (group_in_use(g, gi))
		return ERR(e, "name", "security group '%s' is used by ports", id);
	name_refs(g, &g->grp[gi], -1);
	free_rules(&g->grp[gi]);
	g->grp[gi].defined = false;
	for (int k = 0; k < TSW_SG_MAX_GROUPS; k++)
		maybe_forget(g, k);
	return 0;
}

static int
cmp_addr(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct addr));
}

static int
find_addr(const struct grp *gr, const struct addr *a)
{
	const struct addr *x = gr->n_members == 0 ? NULL :
		bsearch(a, gr->members, gr->n_members, sizeof(*a), cmp_addr);

	return x == NULL ? -1 : (int)(x - gr->members);
}

/* Parse list (key of req) into a sorted array of addresses; -1 with e. */
static int
parse_addrs(const json_t *req, const char *key, struct addr **out, uint32_t *n,
	    struct tsw_jerr *e)
{
	const json_t *l = json_object_get(req, key), *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (l == NULL)
		return 0;
	if (!json_is_array(l))
		return ERR(e, key, "must be a list of IP addresses or prefixes");
	if (json_array_size(l) > 0 && (*out = calloc(json_array_size(l), sizeof(**out))) == NULL)
		return ERR(e, key, "out of memory");
	json_array_foreach(l, i, v) {
		char f[64];
		const char *why;
		bool v6;
		struct addr *a = &(*out)[*n];
		tsw_jpath(f, sizeof(f), "%s[%zu]", key, i);
		if (!json_is_string(v) ||
		    tsw_parse_ip_prefix(json_string_value(v), &v6, a->a, &a->len, &why) < 0) {
			free(*out);
			*out = NULL;
			return ERR(e, f, "not an IP address or prefix");
		}
		a->v6 = v6;
		(*n)++;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), cmp_addr);
	return 0;
}

/* Add (or remove) a in group gi: the members table and the list. */
static int
member_change(struct tsw_secgroups *g, int gi, const struct addr *a, bool add)
{
	struct grp *gr = &g->grp[gi];
	int at = find_addr(gr, a), rc;

	if ((at >= 0) == add)
		return 0;
	if (add && gr->n_members == gr->cap_members) {
		uint32_t cap = gr->cap_members ? gr->cap_members * 2 : 16;
		struct addr *n = realloc(gr->members, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		gr->members = n;
		gr->cap_members = cap;
	}
	if (!gr->address_group) {
		rc = tsw_dp_sg_member_set(g->dp, (uint16_t)gi, a->v6, a->a, a->len, add);
		if (rc < 0)
			return rc;
	}
	if (add) {
		uint32_t k = 0;
		while (k < gr->n_members && cmp_addr(&gr->members[k], a) < 0)
			k++;
		memmove(&gr->members[k + 1], &gr->members[k], (gr->n_members - k) * sizeof(*a));
		gr->members[k] = *a;
		gr->n_members++;
	} else {
		memmove(&gr->members[at], &gr->members[at + 1],
			(gr->n_members - (uint32_t)at - 1) * sizeof(*a));
		gr->n_members--;
	}
	return 1;
}

/* Every rule set that names remote group gi takes a new generation: its
 * connections are judged again at their next packet (R-G7). */
static void
renew_remote(struct tsw_secgroups *g, int gi)
{
	for (uint32_t s = 0; s < g->n_sets; s++) {
		struct tsw_sg_ruleset *rs = g->sets[s].rs;
		for (uint8_t b = 0; g->sets[s].in_use && rs != NULL && b < rs->n_rgroups; b++)
			if (rs->rgroups[b] == gi) {
				__atomic_store_n(&rs->gen, ++g->gen, __ATOMIC_RELEASE);
				break;
			}
	}
}

int
tsw_secgroups_members(struct tsw_secgroups *g, const json_t *req, uint32_t *changed,
		      struct tsw_jerr *e)
{
	const char *id;
	struct addr *set = NULL, *add = NULL, *del = NULL;
	uint32_t ns = 0, na = 0, nd = 0;
	bool has_set = json_object_get(req, "set") != NULL;
	int gi, rc = 0;

	*changed = 0;
	if (arg_id(req, &id, e) != 0 || parse_addrs(req, "set", &set, &ns, e) < 0 ||
	    parse_addrs(req, "add", &add, &na, e) < 0 || parse_addrs(req, "remove", &del, &nd, e) < 0)
		goto out_fail;
	if (has_set && (na > 0 || nd > 0)) {
		ERR(e, "set", "either set, or add and remove");
		goto out_fail;
	}
	gi = find_or_add(g, id, false);
	if (gi < 0 || g->grp[gi].address_group) {
		ERR(e, "name", gi < 0 ? "too many groups" : "an address group (address_group_set)");
		goto out_fail;
	}
	if (has_set) {
		/* the difference: remove what is not in set, add what is new */
		struct grp *gr = &g->grp[gi];
		for (uint32_t k = gr->n_members; k-- > 0;)
			if (ns == 0 || bsearch(&gr->members[k], set, ns, sizeof(*set), cmp_addr) == NULL) {
				struct addr a = gr->members[k];
				rc = member_change(g, gi, &a, false);
				if (rc < 0)
					break;
				*changed += (uint32_t)rc;
			}
		for (uint32_t k = 0; rc >= 0 && k < ns; k++) {
			rc = member_change(g, gi, &set[k], true);
			*changed += rc > 0 ? 1 : 0;
		}
	} else {
		for (uint32_t k = 0; rc >= 0 && k < nd; k++) {
			rc = member_change(g, gi, &del[k], false);
			*changed += rc > 0 ? 1 : 0;
		}
		for (uint32_t k = 0; rc >= 0 && k < na; k++) {
			rc = member_change(g, gi, &add[k], true);
			*changed += rc > 0 ? 1 : 0;
		}
	}
	if (*changed > 0)
		renew_remote(g, gi);
	maybe_forget(g, gi);
	free(set);
	free(add);
	free(del);
	if (rc < 0)
		return ERR(e, "name", "the members table is full (%u changed)", *changed);
	return 0;
out_fail:
	free(set);
	free(add);
	free(del);
	return -1;
}

int
tsw_secgroups_address_group_set(struct tsw_secgroups *g, const json_t *req, struct tsw_jerr *e)
{
	const char *id;
	struct addr *set;
	uint32_t ns;
	int ai;
	struct grp *gr, saved;

	if (arg_id(req, &id, e) != 0 || parse_addrs(req, "addresses", &set, &ns, e) < 0)
		return -1;
	ai = find_or_add(g, id, true);
	if (ai < 0 || !g->grp[ai].address_group) {
		free(set);
		return ERR(e, "name", ai < 0 ? "too many groups" : "'%s' is a security group", id);
	}
	gr = &g->grp[ai];
	saved = *gr;
	gr->members = set;
	gr->n_members = gr->cap_members = ns;
	gr->defined = true;
	if (rebuild(g, uses_address_group, ai, e) < 0) {   /* nothing published */
		free(set);
		*gr = saved;
		maybe_forget(g, ai);
		return -1;
	}
	free(saved.members);
	return 0;
}

int
tsw_secgroups_address_group_del(struct tsw_secgroups *g, const char *id, struct tsw_jerr *e)
{
	int ai = find(g, id);
	struct grp saved;

	if (ai < 0 || !g->grp[ai].address_group || !g->grp[ai].defined)
		return ERR(e, "name", "no address group '%s'", id);
	saved = g->grp[ai];
	g->grp[ai].members = NULL;
	g->grp[ai].n_members = g->grp[ai].cap_members = 0;
	g->grp[ai].defined = false;
	if (rebuild(g, uses_address_group, ai, e) < 0) {
		g->grp[ai] = saved;
		return -1;
	}
	free(saved.members);
	maybe_forget(g, ai);
	return 0;
}

/* ---- ports ----------------------------------------------------------------- */

int
tsw_secgroups_prepare(struct tsw_secgroups *g, const json_t *list, const char *field,
		      struct tsw_sg_choice *c, struct tsw_jerr *e)
{
	const json_t *v;
	size_t i;
	int si;

	memset(c, 0, sizeof(*c));
	if (list == NULL)
		return 0;
	if (!json_is_array(list))
		return ERR(e, field, "must be a list of security group ids");
	if (json_array_size(list) > TSW_SG_MAX_PORT_GROUPS)
		return ERR(e, field, "more than %d groups", TSW_SG_MAX_PORT_GROUPS);
	json_array_foreach(list, i, v) {
		char f[64];
		int gi;
		tsw_jpath(f, sizeof(f), "%s[%zu]", field, i);
		if (!json_is_string(v))
			return ERR(e, f, "not a group id");
		gi = find(g, json_string_value(v));
		if (gi < 0 || !g->grp[gi].defined || g->grp[gi].address_group)
			return ERR(e, f, "no security group '%.48s' (security_group_set it first)",
				   json_string_value(v));
		c->groups[c->n++] = (uint16_t)gi;
	}
	qsort(c->groups, c->n, sizeof(c->groups[0]), cmp_u16);
	for (uint16_t k = 1; k < c->n; k++)
		if (c->groups[k] == c->groups[k - 1])
			return ERR(e, field, "a group named twice");
	for (uint16_t k = 0; k < c->n; k++)
		for (uint16_t j = 0; j < k; j++)
			if (g->grp[c->groups[k]].n_rules > 0 && g->grp[c->groups[j]].n_rules > 0 &&
			    g->grp[c->groups[k]].stateful != g->grp[c->groups[j]].stateful)
				return ERR(e, field, "stateful and stateless groups together (Neutron "
					   "refuses it too)");
	si = set_for(g, c->groups, c->n, e);
	if (si < 0)
		return -1;
	g->sets[si].holders++;
	c->filtered = true;
	c->set = &g->sets[si];
	return 0;
}

const struct tsw_sg_ruleset *
tsw_secgroups_ruleset(const struct tsw_sg_choice *c)
{
	return c->filtered ? ((const struct rset *)c->set)->rs : NULL;
}

int
tsw_secgroups_commit(struct tsw_secgroups *g, int port, struct tsw_sg_choice *c)
{
	int32_t old;
	int si = c->filtered ? (int)((struct rset *)c->set - g->sets) : -1;

	if (port < 0 || port >= TSW_MAX_PORTS) {
		tsw_secgroups_abort(g, c);
		return -EINVAL;
	}
	old = g->port_set[port];
	g->port_set[port] = si;
	tsw_dp_port_sg_set(g->dp, (uint16_t)port, si >= 0 ? g->sets[si].rs : NULL);
	if (old >= 0)
		set_release(g, old);
	c->filtered = false;
	return 0;
}

void
tsw_secgroups_abort(struct tsw_secgroups *g, struct tsw_sg_choice *c)
{
	if (c->filtered)
		set_release(g, (int)((struct rset *)c->set - g->sets));
	c->filtered = false;
}

void
tsw_secgroups_port_clear(struct tsw_secgroups *g, uint16_t port)
{
	int32_t old;

	if (port >= TSW_MAX_PORTS || (old = g->port_set[port]) < 0)
		return;
	g->port_set[port] = -1;
	if (g->dp->ports[port].in_use)
		tsw_dp_port_sg_set(g->dp, port, NULL);
	set_release(g, old);
}

/* ---- views ------------------------------------------------------------------ */

static json_t *
addr_json(const struct addr *a)
{
	char ip[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 5];

	inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->a, ip, sizeof(ip));
	snprintf(buf, sizeof(buf), a->len == (a->v6 ? 128 : 32) ? "%s" : "%s/%u", ip, a->len);
	return json_string(buf);
}

json_t *
tsw_secgroups_json(const struct tsw_secgroups *g)
{
	json_t *a = json_array();

	for (int i = 0; a != NULL && i < TSW_SG_MAX_GROUPS; i++) {
		const struct grp *gr = &g->grp[i];
		json_t *o, *rules, *ports, *mem;
		uint32_t n4 = 0, n6 = 0;
		if (!gr->in_use)
			continue;
		for (uint32_t k = 0; k < gr->n_members; k++) {
			if (gr->members[k].v6)
				n6++;
			else
				n4++;
		}
		if (gr->address_group) {
			mem = json_array();
			for (uint32_t k = 0; k < gr->n_members; k++)
				json_array_append_new(mem, addr_json(&gr->members[k]));
			o = json_pack("{s:s, s:s, s:b, s:o}", "name", gr->id, "kind", "address_group",
				      "defined", gr->defined, "addresses", mem);
			json_array_append_new(a, o);
			continue;
		}
		rules = json_array();
		for (uint32_t k = 0; k < gr->n_rules; k++)
			json_array_append(rules, gr->rules[k].src);
		ports = json_array();
		for (int p = 0; p < TSW_MAX_PORTS; p++)
			if (g->port_set[p] >= 0 && has_group(g, &g->sets[g->port_set[p]], i))
				json_array_append_new(ports, json_string(g->dp->ports[p].name));
		o = json_pack("{s:s, s:s, s:b, s:b, s:o, s:{s:I, s:I}, s:o}", "name", gr->id,
			      "kind", "security_group", "defined", gr->defined,
			      "stateful", gr->stateful, "rules", rules, "members",
			      "IPv4", (json_int_t)n4, "IPv6", (json_int_t)n6, "ports", ports);
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
tsw_secgroups_port_json(const struct tsw_secgroups *g, uint16_t port)
{
	json_t *a;
	const struct rset *s;

	if (port >= TSW_MAX_PORTS || g->port_set[port] < 0)
		return NULL;
	s = &g->sets[g->port_set[port]];
	a = json_array();
	for (uint16_t k = 0; k < s->n; k++)
		json_array_append_new(a, json_string(g->grp[s->groups[k]].id));
	return a;
}

const char *
tsw_secgroups_rule_name(const struct tsw_secgroups *g, const struct tsw_sg_ruleset *rs,
			uint32_t rule, char *buf, size_t len)
{
	if (rs == NULL || rule == 0 || rule > rs->n_refs) {
		snprintf(buf, len, "-");
		return buf;
	}
	snprintf(buf, len, "%s#%u", g->grp[rs->refs[rule - 1].group].id,
		 rs->refs[rule - 1].rule);
	return buf;
}
