/* SPDX-License-Identifier: BSD-3-Clause
 * INI configuration parser on rte_cfgfile. See tsw_config.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cfgfile.h>

#include "tsw_config.h"
#include "tsw_fdb.h"
#include "tsw_parse.h"

/* ---- parser state ----------------------------------------------------- */

struct pctx {
	struct rte_cfgfile *f;
	struct tsw_config *cfg;
	char *err;
	size_t errlen;
};

static int
fail(struct pctx *p, const char *section, const char *key, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (key != NULL)
		snprintf(p->err, p->errlen, "%s: [%s] %s: %s", p->cfg->file,
			 section, key, reason);
	else
		snprintf(p->err, p->errlen, "%s: [%s]: %s", p->cfg->file,
			 section, reason);
	return -1;
}

/* Check that every key of the section is in allowed[] and appears once. */
static int
check_keys(struct pctx *p, int idx, const char *sec, const char *const *allowed)
{
	int n = rte_cfgfile_section_num_entries(p->f, sec);
	struct rte_cfgfile_entry *e;
	char name[CFG_NAME_LEN];

	if (n < 0)
		return fail(p, sec, NULL, "cannot read section");
	if (n == 0)
		return 0;
	e = calloc((size_t)n, sizeof(*e));
	if (e == NULL)
		return fail(p, sec, NULL, "out of memory");
	rte_cfgfile_section_entries_by_index(p->f, idx, name, e, n);
	for (int i = 0; i < n; i++) {
		bool ok = false;
		for (const char *const *a = allowed; *a != NULL; a++)
			ok |= strcmp(e[i].name, *a) == 0;
		if (!ok) {
			fail(p, sec, e[i].name, "unknown key");
			free(e);
			return -1;
		}
		for (int j = 0; j < i; j++) {
			if (strcmp(e[i].name, e[j].name) == 0) {
				fail(p, sec, e[i].name, "key given twice");
				free(e);
				return -1;
			}
		}
	}
	free(e);
	return 0;
}

static const char *
get(struct pctx *p, const char *sec, const char *key)
{
	return rte_cfgfile_get_entry(p->f, sec, key);
}

static int
get_bool(struct pctx *p, const char *sec, const char *key, bool *v)
{
	const char *s = get(p, sec, key), *why;

	if (s != NULL && tsw_parse_bool(s, v, &why) < 0)
		return fail(p, sec, key, "'%s' is %s", s, why);
	return 0;
}

static int
get_u32(struct pctx *p, const char *sec, const char *key, uint32_t min,
	uint32_t max, uint32_t *v)
{
	const char *s = get(p, sec, key), *why;

	if (s != NULL && tsw_parse_u32(s, min, max, v, &why) < 0)
		return fail(p, sec, key, "'%s' is %s (allowed %u..%u)", s, why,
			    min, max);
	return 0;
}

static int
get_ip(struct pctx *p, const char *sec, const char *key, bool required,
       uint32_t *ip)
{
	const char *s = get(p, sec, key), *why;

	if (s == NULL) {
		if (required)
			return fail(p, sec, key, "missing (required)");
		return 0;
	}
	if (tsw_parse_ipv4(s, ip, &why) < 0)
		return fail(p, sec, key, "'%s' is %s", s, why);
	return 0;
}

/* Split a section name "kind arg1 arg2" into words. */
static int
split_words(char *s, char **w, int max)
{
	int n = 0;
	char *save = NULL;

	for (char *t = strtok_r(s, " \t", &save); t != NULL;
	     t = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return max + 1;
		w[n++] = t;
	}
	return n;
}

static int
find_network(const struct tsw_config *c, const char *name)
{
	for (int i = 0; i < c->n_networks; i++)
		if (strcmp(c->networks[i].name, name) == 0)
			return i;
	return -1;
}

/* ip is on the uplink's connected prefix, local_ip/prefix_len (pass 1 on). */
static bool
on_link(const struct tsw_config *c, uint32_t ip_be)
{
	return ((ntohl(ip_be) ^ ntohl(c->tunnel.local_ip)) >> (32 - c->uplink.prefix_len)) == 0;
}

/* ---- sections ---------------------------------------------------------- */

static int
parse_agent(struct pctx *p, int idx, const char *sec)
{
	static const char *const keys[] = { "l2_population", "arp_responder",
		"mac_ageing", "tunnel_learn_timeout", NULL };
	struct tsw_config *c = p->cfg;

	if (check_keys(p, idx, sec, keys) < 0 ||
	    get_bool(p, sec, "l2_population", &c->agent.l2_population) < 0 ||
	    get_bool(p, sec, "arp_responder", &c->agent.arp_responder) < 0 ||
	    get_u32(p, sec, "mac_ageing", 1, TSW_FDB_MAX_TIMEOUT_S, &c->agent.mac_ageing) < 0 ||
	    get_u32(p, sec, "tunnel_learn_timeout", 1, TSW_FDB_MAX_TIMEOUT_S,
		    &c->agent.tunnel_learn_timeout) < 0)
		return -1;
	return 0;
}

/* A normalized absolute directory path of key into dst (size bytes,
 * trailing slashes dropped); absent: dst unchanged. */
static int
get_dir(struct pctx *p, const char *sec, const char *key, char *dst, size_t size)
{
	const char *s = get(p, sec, key);
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (s[0] != '/' || strstr(s, "/../") != NULL || strstr(s, "/./") != NULL ||
	    strstr(s, "//") != NULL || (n >= 3 && strcmp(s + n - 3, "/..") == 0) ||
	    (n >= 2 && strcmp(s + n - 2, "/.") == 0))
		return fail(p, sec, key, "'%s' is not a normalized absolute path", s);
	if (n >= size)
		return fail(p, sec, key, "longer than %zu characters", size - 1);
	snprintf(dst, size, "%s", s);
	while (n > 1 && dst[n - 1] == '/')
		dst[--n] = '\0';
	return 0;
}

static int
parse_control(struct pctx *p, int idx, const char *sec)
{
	static const char *const keys[] = { "socket", "socket_mode", "socket_group",
		"max_clients", "max_request", "idle_timeout", "request_timeout", "vhost_socket_dir",
		"vhost_socket_group", "max_reply_memory_mb", "capture_dir", NULL };
	struct tsw_config *c = p->cfg;
	const char *s;
	char *end;

	if (check_keys(p, idx, sec, keys) < 0)
		return -1;
	s = get(p, sec, "socket");
	if (s != NULL) {
		if (strcmp(s, "none") == 0)
			s = "";
		else if (s[0] != '/')
			return fail(p, sec, "socket", "'%s' is not an absolute path (or 'none')", s);
		if (strlen(s) >= sizeof(c->control.socket))
			return fail(p, sec, "socket", "longer than %zu characters",
				    sizeof(c->control.socket) - 1);
		snprintf(c->control.socket, sizeof(c->control.socket), "%s", s);
	}
	s = get(p, sec, "socket_mode");
	if (s != NULL) {
		unsigned long m = strtoul(s, &end, 8);
		if (*s == '\0' || *end != '\0' || m > 0777 || (m & 0600) != 0600)
			return fail(p, sec, "socket_mode", "'%s' is not octal permission bits "
				    "including 0600", s);
		c->control.socket_mode = (uint32_t)m;
	}
	s = get(p, sec, "socket_group");
	if (s != NULL) {
		const char *why;
		if (tsw_parse_name(s, &why) < 0 || strlen(s) >= sizeof(c->control.socket_group))
			return fail(p, sec, "socket_group", "'%s' is not a group name", s);
		snprintf(c->control.socket_group, sizeof(c->control.socket_group), "%s", s);
	}
	s = get(p, sec, "vhost_socket_group");
	if (s != NULL) {
		const char *why;
		if (tsw_parse_name(s, &why) < 0 || strlen(s) >= sizeof(c->control.vhost_socket_group))
			return fail(p, sec, "vhost_socket_group", "'%s' is not a group name", s);
		snprintf(c->control.vhost_socket_group, sizeof(c->control.vhost_socket_group), "%s",
			 s);
	}
	/* room for "/" and a socket name within sun_path */
	if (get_dir(p, sec, "vhost_socket_dir", c->control.vhost_socket_dir,
		    sizeof(c->control.vhost_socket_dir) - 2) < 0 ||
	    get_dir(p, sec, "capture_dir", c->control.capture_dir,
		    sizeof(c->control.capture_dir)) < 0)
		return -1;
	if (get_u32(p, sec, "max_clients", 1, 1024, &c->control.max_clients) < 0 ||
	    get_u32(p, sec, "max_request", 1024, 64U << 20, &c->control.max_request) < 0 ||
	    get_u32(p, sec, "idle_timeout", 1, 86400, &c->control.idle_timeout) < 0 ||
	    get_u32(p, sec, "request_timeout", 1, 3600, &c->control.request_timeout) < 0 ||
	    get_u32(p, sec, "max_reply_memory_mb", 16, 65536, &c->control.max_reply_memory_mb) < 0)
		return -1;
	return 0;
}

/* [control] vhost_socket_dir's default: "vhost" in the control socket's
 * directory (/run/tunsw/vhost without a socket), which the daemon makes
 * writable for QEMU's group (tsw_sockpath_vhost_dir) while the control
 * socket one level up stays out of its reach. */
static int
default_vhost_dir(struct tsw_config *c)
{
	char dir[sizeof(c->control.socket)];
	const char *sock = c->control.socket[0] != '\0' ? c->control.socket
						       : "/run/tunsw/tunsw.sock";
	char *slash;
	size_t n;

	snprintf(dir, sizeof(dir), "%s", sock);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';           /* "/run/tunsw", or "" for a socket in / */
	n = strlen(dir);
	/* captures: "capture" there too (made by the daemon, root only) */
	if (c->control.capture_dir[0] == '\0' &&
	    snprintf(c->control.capture_dir, sizeof(c->control.capture_dir), "%s/capture", dir) >=
	    (int)sizeof(c->control.capture_dir))
		return -1;
	if (c->control.vhost_socket_dir[0] != '\0')
		return 0;
	/* "/vhost", then room for "/" and a socket name within sun_path */
	if (n + 6 + 2 >= sizeof(c->control.vhost_socket_dir))
		return -1;
	memcpy(c->control.vhost_socket_dir, dir, n);
	memcpy(c->control.vhost_socket_dir + n, "/vhost", 7);
	return 0;
}

static int
parse_tunnel(struct pctx *p, int idx, const char *sec)
{
	static const char *const keys[] = { "local_ip", "types", "vxlan_udp_port",
		"dont_fragment", "tunnel_csum", "ttl", "dscp", "dscp_inherit", NULL };
	struct tsw_config *c = p->cfg;
	const char *types = get(p, sec, "types");
	uint32_t v;

	if (check_keys(p, idx, sec, keys) < 0 ||
	    get_ip(p, sec, "local_ip", true, &c->tunnel.local_ip) < 0)
		return -1;
	if (!tsw_ipv4_is_unicast(c->tunnel.local_ip))
		return fail(p, sec, "local_ip", "'%s' is not a unicast address",
			    get(p, sec, "local_ip"));
	if (types != NULL) {
		char buf[CFG_VALUE_LEN], *save = NULL;
		enum tsw_tun_type t;
		const char *why;
		int n = 0;

		snprintf(buf, sizeof(buf), "%s", types);
		c->tunnel.type_enabled[TSW_TUN_VXLAN] = false;
		for (char *w = strtok_r(buf, " ,\t", &save); w != NULL;
		     w = strtok_r(NULL, " ,\t", &save), n++) {
			if (tsw_parse_tun_type(w, &t, &why) < 0)
				return fail(p, sec, "types", "'%s' is %s", w, why);
			c->tunnel.type_enabled[t] = true;
		}
		if (n == 0)
			return fail(p, sec, "types", "empty list (give vxlan, gre or both)");
	}
	v = c->tunnel.vxlan_udp_port;
	if (get_u32(p, sec, "vxlan_udp_port", 1, 65535, &v) < 0)
		return -1;
	c->tunnel.vxlan_udp_port = (uint16_t)v;
	v = c->tunnel.ttl;
	if (get_u32(p, sec, "ttl", 1, 255, &v) < 0)
		return -1;
	c->tunnel.ttl = (uint8_t)v;
	v = c->tunnel.dscp;
	if (get_u32(p, sec, "dscp", 0, 63, &v) < 0)
		return -1;
	c->tunnel.dscp = (uint8_t)v;
	if (get_bool(p, sec, "dont_fragment", &c->tunnel.dont_fragment) < 0 ||
	    get_bool(p, sec, "tunnel_csum", &c->tunnel.tunnel_csum) < 0 ||
	    get_bool(p, sec, "dscp_inherit", &c->tunnel.dscp_inherit) < 0)
		return -1;
	if (c->tunnel.dscp_inherit && c->tunnel.dscp != 0)
		return fail(p, sec, "dscp", "cannot be set together with dscp_inherit");
	return 0;
}

static int
parse_uplink(struct pctx *p, int idx, const char *sec)
{
	static const char *const keys[] = { "devargs", "mac", "prefix_len", "mtu", "gateway",
		"arp_reachable", "arp_retries", NULL };
	struct tsw_config *c = p->cfg;
	const char *s, *why;
	uint32_t v;

	if (check_keys(p, idx, sec, keys) < 0)
		return -1;
	s = get(p, sec, "devargs");
	if (s == NULL || *s == '\0')
		return fail(p, sec, "devargs", "missing (required): the DPDK device of the uplink");
	snprintf(c->uplink.devargs, sizeof(c->uplink.devargs), "%s", s);
	s = get(p, sec, "mac");
	if (s != NULL) {
		if (tsw_parse_mac(s, &c->uplink.mac, &why) < 0)
			return fail(p, sec, "mac", "'%s' is %s", s, why);
		if (!rte_is_unicast_ether_addr(&c->uplink.mac) ||
		    rte_is_zero_ether_addr(&c->uplink.mac))
			return fail(p, sec, "mac", "'%s' is not a unicast MAC", s);
		c->uplink.has_mac = true;
	}
	v = c->uplink.prefix_len;
	if (get_u32(p, sec, "prefix_len", 1, 32, &v) < 0)
		return -1;
	c->uplink.prefix_len = (uint8_t)v;
	v = c->uplink.mtu;
	if (get_u32(p, sec, "mtu", 576, 9600, &v) < 0)
		return -1;
	c->uplink.mtu = (uint16_t)v;
	if (get_ip(p, sec, "gateway", false, &c->uplink.gateway) < 0 ||
	    get_u32(p, sec, "arp_reachable", 1, 86400, &c->uplink.arp_reachable) < 0 ||
	    get_u32(p, sec, "arp_retries", 1, 20, &c->uplink.arp_retries) < 0)
		return -1;
	if (c->uplink.gateway != 0 && !on_link(c, c->uplink.gateway))
		return fail(p, sec, "gateway", "not on local_ip/prefix_len (%u)", c->uplink.prefix_len);
	if (c->uplink.gateway != 0 && c->uplink.gateway == c->tunnel.local_ip)
		return fail(p, sec, "gateway", "is local_ip");
	return 0;
}

static int
parse_dataplane(struct pctx *p, int idx, const char *sec)
{
	static const char *const keys[] = { "workers", "fdb_size", "mbufs",
		"learn_ring_size", "stats_interval", "idle_sleep_us", "mac_limit_port",
		"mac_limit_network", "vhost_tx_retries", "mbuf_size", "gro", "idle_queue_poll_us",
		NULL };
	struct tsw_config *c = p->cfg;
	uint32_t v = c->dataplane.workers;

	if (check_keys(p, idx, sec, keys) < 0 ||
	    get_u32(p, sec, "workers", 1, TSW_MAX_WORKERS, &v) < 0)
		return -1;
	c->dataplane.workers = (uint16_t)v;
	if (get_u32(p, sec, "fdb_size", 1024, 1U << 24, &c->dataplane.fdb_size) < 0 ||
	    get_u32(p, sec, "mbufs", 1024, 1U << 22, &c->dataplane.mbufs) < 0 ||
	    get_u32(p, sec, "mbuf_size", 2048, 65535 - RTE_PKTMBUF_HEADROOM,
		    &c->dataplane.mbuf_size) < 0 ||
	    get_u32(p, sec, "learn_ring_size", 64, 1U << 20,
		    &c->dataplane.learn_ring_size) < 0 ||
	    get_u32(p, sec, "stats_interval", 0, 3600, &c->dataplane.stats_interval) < 0 ||
	    get_u32(p, sec, "idle_sleep_us", 0, 10000, &c->dataplane.idle_sleep_us) < 0 ||
	    get_u32(p, sec, "idle_queue_poll_us", 0, 100000, &c->dataplane.idle_queue_poll_us) < 0 ||
	    get_u32(p, sec, "vhost_tx_retries", 0, 64, &c->dataplane.vhost_tx_retries) < 0 ||
	    get_bool(p, sec, "gro", &c->dataplane.gro) < 0)
		return -1;
	if ((c->dataplane.learn_ring_size & (c->dataplane.learn_ring_size - 1)) != 0)
		return fail(p, sec, "learn_ring_size", "%u is not a power of two",
			    c->dataplane.learn_ring_size);
	c->dataplane.mac_limit_network = c->dataplane.fdb_size / 4;   /* default */
	if (get_u32(p, sec, "mac_limit_port", 0, c->dataplane.fdb_size,
		    &c->dataplane.mac_limit_port) < 0 ||
	    get_u32(p, sec, "mac_limit_network", 0, c->dataplane.fdb_size,
		    &c->dataplane.mac_limit_network) < 0)
		return -1;
	return 0;
}

/* [security]: the connection table of security groups (R-G3): its size
 * and the idle timeouts per protocol and TCP state (Linux's names). */
static const struct {
	const char *key;
	enum tsw_ct_state st;
} ct_timeout_keys[] = {
	{ "tcp_syn_sent_timeout", TSW_CT_SYN_SENT }, { "tcp_syn_recv_timeout", TSW_CT_SYN_RECV },
	{ "tcp_established_timeout", TSW_CT_ESTABLISHED },
	{ "tcp_fin_wait_timeout", TSW_CT_FIN_WAIT }, { "tcp_close_wait_timeout", TSW_CT_CLOSE_WAIT },
	{ "tcp_last_ack_timeout", TSW_CT_LAST_ACK }, { "tcp_time_wait_timeout", TSW_CT_TIME_WAIT },
	{ "tcp_close_timeout", TSW_CT_CLOSE }, { "udp_timeout", TSW_CT_UDP_NEW },
	{ "udp_stream_timeout", TSW_CT_UDP_REPLIED }, { "icmp_timeout", TSW_CT_ICMP },
	{ "generic_timeout", TSW_CT_OTHER },
};

static int
parse_security(struct pctx *p, int idx, const char *sec)
{
	const char *keys[RTE_DIM(ct_timeout_keys) + 3];
	struct tsw_config *c = p->cfg;

	keys[0] = "max_connections";
	keys[1] = "max_connections_per_port";
	for (size_t i = 0; i < RTE_DIM(ct_timeout_keys); i++)
		keys[i + 2] = ct_timeout_keys[i].key;
	keys[RTE_DIM(ct_timeout_keys) + 2] = NULL;
	if (check_keys(p, idx, sec, keys) < 0 ||
	    get_u32(p, sec, "max_connections", 64, 1U << 26, &c->security.max_connections) < 0 ||
	    get_u32(p, sec, "max_connections_per_port", 0, 1U << 26,
		    &c->security.max_connections_per_port) < 0)
		return -1;
	if (c->security.max_connections_per_port > c->security.max_connections)
		return fail(p, sec, "max_connections_per_port",
			    "%u is more than max_connections (%u): it would never apply",
			    c->security.max_connections_per_port, c->security.max_connections);
	for (size_t i = 0; i < RTE_DIM(ct_timeout_keys); i++)
		if (get_u32(p, sec, ct_timeout_keys[i].key, 1, 2592000,
			    &c->security.timeouts[ct_timeout_keys[i].st]) < 0)
			return -1;
	return 0;
}

static int
parse_route(struct pctx *p, int idx, const char *sec, char **w)
{
	static const char *const keys[] = { "via", NULL };
	struct tsw_config *c = p->cfg;
	struct tsw_cfg_route *r;
	const char *why;
	uint32_t pl = c->uplink.prefix_len;

	if (check_keys(p, idx, sec, keys) < 0)
		return -1;
	if (c->n_routes == TSW_CFG_MAX_ROUTES)
		return fail(p, sec, NULL, "too many routes (max %d)", TSW_CFG_MAX_ROUTES);
	r = &c->routes[c->n_routes];
	if (tsw_parse_prefix(w[1], &r->prefix, &r->len, &why) < 0)
		return fail(p, sec, NULL, "'%s' is %s", w[1], why);
	for (int i = 0; i < c->n_routes; i++)
		if (c->routes[i].prefix == r->prefix && c->routes[i].len == r->len)
			return fail(p, sec, NULL, "route %s declared twice", w[1]);
	if (get_ip(p, sec, "via", true, &r->via) < 0)
		return -1;
	if (!on_link(c, r->via) || r->via == c->tunnel.local_ip)
		return fail(p, sec, "via", "not a neighbor on local_ip/prefix_len (%u)", pl);
	c->n_routes++;
	return 0;
}

static int
parse_neighbor(struct pctx *p, int idx, const char *sec, char **w)
{
	static const char *const keys[] = { "mac", NULL };
	struct tsw_config *c = p->cfg;
	struct tsw_cfg_neighbor *n;
	const char *s, *why;
	uint32_t ip;

	if (check_keys(p, idx, sec, keys) < 0)
		return -1;
	if (tsw_parse_ipv4(w[1], &ip, &why) < 0)
		return fail(p, sec, NULL, "'%s' is %s", w[1], why);
	for (int i = 0; i < c->n_neighbors; i++)
		if (c->neighbors[i].ip == ip)
			return fail(p, sec, NULL, "neighbor %s declared twice", w[1]);
	if (c->n_neighbors == TSW_CFG_MAX_NEIGH)
		return fail(p, sec, NULL, "too many neighbors (max %d)", TSW_CFG_MAX_NEIGH);
	n = &c->neighbors[c->n_neighbors];
	s = get(p, sec, "mac");
	if (s == NULL)
		return fail(p, sec, "mac", "missing (required)");
	if (tsw_parse_mac(s, &n->mac, &why) < 0)
		return fail(p, sec, "mac", "'%s' is %s", s, why);
	if (!rte_is_unicast_ether_addr(&n->mac) || rte_is_zero_ether_addr(&n->mac))
		return fail(p, sec, "mac", "'%s' is not a unicast MAC", s);
	n->ip = ip;
	c->n_neighbors++;
	return 0;
}

static int
find_remote(const struct tsw_config *c, uint32_t ip, enum tsw_tun_type t)
{
	for (int i = 0; i < c->n_remotes; i++)
		if (c->remotes[i].ip == ip && c->remotes[i].type == t)
			return i;
	return -1;
}

/* Add (ip, type) to the remote list unless present. */
static int
add_remote(struct pctx *p, const char *sec, const char *key, uint32_t ip,
	   enum tsw_tun_type t)
{
	struct tsw_config *c = p->cfg;

	if (!tsw_ipv4_is_unicast(ip))
		return fail(p, sec, key, "remote VTEP is not a unicast address");
	if (ip == c->tunnel.local_ip)
		return fail(p, sec, key, "remote VTEP equals local_ip");
	if (find_remote(c, ip, t) >= 0)
		return 0;
	if (c->n_remotes == TSW_CFG_MAX_REMOTES)
		return fail(p, sec, key, "too many remote VTEPs (max %d)",
			    TSW_CFG_MAX_REMOTES);
	c->remotes[c->n_remotes].ip = ip;
	c->remotes[c->n_remotes].type = t;
	c->remotes[c->n_remotes].declared = false;
	c->n_remotes++;
	return 0;
}

static int
parse_remote(struct pctx *p, int idx, const char *sec, char **w)
{
	static const char *const keys[] = { "type", NULL };
	struct tsw_config *c = p->cfg;
	const char *s, *why;
	char buf[CFG_VALUE_LEN], *save = NULL;
	enum tsw_tun_type t;
	uint32_t ip;
	int n = 0;

	if (check_keys(p, idx, sec, keys) < 0)
		return -1;
	if (tsw_parse_ipv4(w[1], &ip, &why) < 0)
		return fail(p, sec, NULL, "'%s' is %s", w[1], why);
	s = get(p, sec, "type");
	if (s == NULL)
		return fail(p, sec, "type", "missing (required): vxlan, gre or both");
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t1 = strtok_r(buf, " ,\t", &save); t1 != NULL;
	     t1 = strtok_r(NULL, " ,\t", &save), n++) {
		if (tsw_parse_tun_type(t1, &t, &why) < 0)
			return fail(p, sec, "type", "'%s' is %s", t1, why);
		if (!c->tunnel.type_enabled[t])
			return fail(p, sec, "type", "%s is not in [tunnel] types",
				    tsw_tun_type_name(t));
		if (find_remote(c, ip, t) >= 0 && c->remotes[find_remote(c, ip, t)].declared)
			return fail(p, sec, "type", "%s listed twice", t1);
		if (add_remote(p, sec, NULL, ip, t) < 0)
			return -1;
		c->remotes[find_remote(c, ip, t)].declared = true;
	}
	if (n == 0)
		return fail(p, sec, "type", "empty");
	return 0;
}

static int
find_physnet(const struct tsw_config *c, const char *name)
{
	for (int i = 0; i < c->n_physnets; i++)
		if (strcmp(c->physnets[i].name, name) == 0)
			return i;
	return -1;
}

static int
parse_physnet(struct pctx *p, int idx, const char *sec, char **w)
{
	static const char *const keys[] = { "device", "mtu", NULL };
	struct tsw_config *c = p->cfg;
	struct tsw_cfg_physnet *ph;
	const char *why, *s;
	uint32_t v = 1500;

	if (check_keys(p, idx, sec, keys) < 0)
		return -1;
	if (tsw_parse_name(w[1], &why) < 0)
		return fail(p, sec, NULL, "physical network name '%s': %s", w[1], why);
	if (find_physnet(c, w[1]) >= 0)
		return fail(p, sec, NULL, "physical network %s declared twice", w[1]);
	if (strcmp(w[1], "uplink") == 0)
		return fail(p, sec, NULL, "'uplink' is reserved for the uplink");
	if (c->n_physnets == TSW_MAX_PHYSNETS)
		return fail(p, sec, NULL, "too many physical networks (max %d)", TSW_MAX_PHYSNETS);
	ph = &c->physnets[c->n_physnets];
	memset(ph, 0, sizeof(*ph));
	s = get(p, sec, "device");
	if (s == NULL || *s == '\0')
		return fail(p, sec, "device", "missing (required): 'uplink' or a DPDK device's devargs");
	if (strcmp(s, "uplink") == 0) {
		for (int i = 0; i < c->n_physnets; i++)
			if (c->physnets[i].on_uplink)
				return fail(p, sec, "device", "the uplink already carries physical "
					    "network %s", c->physnets[i].name);
		ph->on_uplink = true;
	} else {
		if (strlen(s) >= sizeof(ph->devargs))
			return fail(p, sec, "device", "longer than %zu characters",
				    sizeof(ph->devargs) - 1);
		if (strncmp(s, "net_vhost", 9) == 0)
			return fail(p, sec, "device", "a vhost-user socket is a VM port, not a "
				    "physical network");
		for (int i = 0; i < c->n_physnets; i++)
			if (strcmp(c->physnets[i].devargs, s) == 0)
				return fail(p, sec, "device", "already physical network %s",
					    c->physnets[i].name);
		snprintf(ph->devargs, sizeof(ph->devargs), "%s", s);
	}
	if (get_u32(p, sec, "mtu", 68, 9600, &v) < 0)
		return -1;
	ph->mtu = (uint16_t)v;
	snprintf(ph->name, sizeof(ph->name), "%s", w[1]);
	c->n_physnets++;
	return 0;
}

static int
parse_network(struct pctx *p, int idx, const char *sec, char **w)
{
	static const char *const keys[] = { "type", "segmentation_id", "physical_network", NULL };
	struct tsw_config *c = p->cfg;
	struct tsw_cfg_network *n;
	const char *why, *s;
	uint32_t id = 0;

	if (check_keys(p, idx, sec, keys) < 0)
		return -1;
	if (tsw_parse_name(w[1], &why) < 0)
		return fail(p, sec, NULL, "network name '%s': %s", w[1], why);
	if (find_network(c, w[1]) >= 0)
		return fail(p, sec, NULL, "network %s declared twice", w[1]);
	if (c->n_networks == TSW_MAX_NETS)
		return fail(p, sec, NULL, "too many networks (max %d)", TSW_MAX_NETS);
	n = &c->networks[c->n_networks];
	memset(n, 0, sizeof(*n));
	s = get(p, sec, "type");
	if (s == NULL)
		return fail(p, sec, "type", "missing (required): vxlan, gre, vlan or flat");
	if (strcasecmp(s, "vlan") == 0 || strcasecmp(s, "flat") == 0) {
		const char *pn = get(p, sec, "physical_network");
		int ph;

		n->kind = strcasecmp(s, "vlan") == 0 ? TSW_NET_VLAN : TSW_NET_FLAT;
		if (pn == NULL)
			return fail(p, sec, "physical_network", "missing (required for %s)", s);
		ph = find_physnet(c, pn);
		if (ph < 0)
			return fail(p, sec, "physical_network", "no [physnet %s] is declared", pn);
		n->physnet = (uint16_t)ph;
		if (n->kind == TSW_NET_FLAT) {
			if (get(p, sec, "segmentation_id") != NULL)
				return fail(p, sec, "segmentation_id", "a flat network has none");
		} else {
			if (get(p, sec, "segmentation_id") == NULL)
				return fail(p, sec, "segmentation_id",
					    "missing (required): the VLAN id, 1-4094");
			if (get_u32(p, sec, "segmentation_id", 1, 4094, &id) < 0)
				return -1;
		}
		for (int i = 0; i < c->n_networks; i++)
			if (c->networks[i].kind == n->kind && c->networks[i].physnet == n->physnet &&
			    c->networks[i].seg_id == id)
				return fail(p, sec, n->kind == TSW_NET_FLAT ? "physical_network"
					    : "segmentation_id", "%s%.0u of %s already used by "
					    "network %s", n->kind == TSW_NET_FLAT ? "the flat network"
					    : "VLAN ", id, pn, c->networks[i].name);
	} else {
		n->kind = TSW_NET_TUNNEL;
		if (tsw_parse_tun_type(s, &n->type, &why) < 0)
			return fail(p, sec, "type", "'%s' is %s, vlan or flat", s, why);
		if (!c->tunnel.type_enabled[n->type])
			return fail(p, sec, "type", "%s is not in [tunnel] types", s);
		if (get(p, sec, "physical_network") != NULL)
			return fail(p, sec, "physical_network", "only for vlan and flat networks");
		if (get(p, sec, "segmentation_id") == NULL)
			return fail(p, sec, "segmentation_id", "missing (required)");
		if (get_u32(p, sec, "segmentation_id", 1,
			    n->type == TSW_TUN_VXLAN ? (1U << 24) - 1 : UINT32_MAX, &id) < 0)
			return -1;
		for (int i = 0; i < c->n_networks; i++)
			if (c->networks[i].kind == TSW_NET_TUNNEL && c->networks[i].type == n->type &&
			    c->networks[i].seg_id == id)
				return fail(p, sec, "segmentation_id",
					    "%u already used by network %s", id,
					    c->networks[i].name);
	}
	snprintf(n->name, sizeof(n->name), "%s", w[1]);
	n->seg_id = id;
	c->n_networks++;
	return 0;
}

static int
network_arg(struct pctx *p, const char *sec, const char *key, const char *name)
{
	int ni = find_network(p->cfg, name);

	if (ni < 0)
		return fail(p, sec, key, "no [network %s] is declared", name);
	return ni;
}

static int
parse_port(struct pctx *p, int idx, const char *sec, char **w)
{
	static const char *const keys[] = { "devargs", "network", "port_security", "mac", "ips",
		"allowed_address_pairs", NULL };
	struct tsw_config *c = p->cfg;
	struct tsw_cfg_port *port;
	const char *why, *s;
	int ni;

	if (check_keys(p, idx, sec, keys) < 0)
		return -1;
	if (tsw_parse_name(w[1], &why) < 0)
		return fail(p, sec, NULL, "port name '%s': %s", w[1], why);
	if (strcmp(w[1], "uplink") == 0)
		return fail(p, sec, NULL, "'uplink' is reserved for the uplink");
	if (find_physnet(c, w[1]) >= 0)
		return fail(p, sec, NULL, "'%s' is a physical network's name", w[1]);
	for (int i = 0; i < c->n_ports; i++)
		if (strcmp(c->ports[i].name, w[1]) == 0)
			return fail(p, sec, NULL, "port %s declared twice", w[1]);
	if (c->n_ports == TSW_MAX_PORTS)
		return fail(p, sec, NULL, "too many ports (max %d)", TSW_MAX_PORTS);
	port = &c->ports[c->n_ports];
	s = get(p, sec, "devargs");
	if (s == NULL || *s == '\0')
		return fail(p, sec, "devargs", "missing (required), e.g. net_vhost0,iface=/run/tunsw/vm1.sock");
	for (int i = 0; i < c->n_ports; i++)
		if (strcmp(c->ports[i].devargs, s) == 0)
			return fail(p, sec, "devargs", "same device as port %s",
				    c->ports[i].name);
	if (strcmp(c->uplink.devargs, s) == 0)
		return fail(p, sec, "devargs", "same device as the uplink");
	s = get(p, sec, "network");
	if (s == NULL)
		return fail(p, sec, "network", "missing (required)");
	ni = network_arg(p, sec, "network", s);
	if (ni < 0)
		return -1;
	if (get_bool(p, sec, "port_security", &port->port_security) < 0)
		return -1;
	if (port->port_security) {
		struct rte_ether_addr mac;
		char pwhy[160];
		s = get(p, sec, "mac");
		if (s == NULL)
			return fail(p, sec, "mac", "missing (required with port_security = true)");
		if (tsw_parse_mac(s, &mac, &why) < 0)
			return fail(p, sec, "mac", "'%s' is %s", s, why);
		if (tsw_portsec_from_text(&mac, get(p, sec, "ips"), NULL, &port->sec, pwhy,
					  sizeof(pwhy)) < 0)
			return fail(p, sec, "ips", "%s", pwhy);
		if (tsw_portsec_from_text(&mac, get(p, sec, "ips"),
					  get(p, sec, "allowed_address_pairs"), &port->sec, pwhy,
					  sizeof(pwhy)) < 0)
			return fail(p, sec, "allowed_address_pairs", "%s", pwhy);
	} else {
		static const char *const only[] = { "mac", "ips", "allowed_address_pairs" };
		for (size_t i = 0; i < RTE_DIM(only); i++)
			if (get(p, sec, only[i]) != NULL)
				return fail(p, sec, only[i], "only with port_security = true");
	}
	snprintf(port->name, sizeof(port->name), "%s", w[1]);
	snprintf(port->devargs, sizeof(port->devargs), "%s", get(p, sec, "devargs"));
	port->network = (uint16_t)ni;
	c->n_ports++;
	return 0;
}

static int
parse_fdb(struct pctx *p, int idx, const char *sec, char **w)
{
	static const char *const keys[] = { "remote", "ip", NULL };
	struct tsw_config *c = p->cfg;
	struct tsw_cfg_fdb *e;
	const char *why;
	int ni;

	if (check_keys(p, idx, sec, keys) < 0)
		return -1;
	ni = network_arg(p, sec, NULL, w[1]);
	if (ni < 0)
		return -1;
	if (c->networks[ni].kind != TSW_NET_TUNNEL)
		return fail(p, sec, NULL, "network %s is a provider network: no static "
			    "entries (l2population is for tunnels)", w[1]);
	if (c->n_fdb == TSW_CFG_MAX_FDB)
		return fail(p, sec, NULL, "too many fdb entries (max %d)", TSW_CFG_MAX_FDB);
	e = &c->fdb[c->n_fdb];
	if (tsw_parse_mac(w[2], &e->mac, &why) < 0)
		return fail(p, sec, NULL, "'%s' is %s", w[2], why);
	if (!rte_is_unicast_ether_addr(&e->mac) || rte_is_zero_ether_addr(&e->mac))
		return fail(p, sec, NULL, "'%s' is not a unicast MAC (use [flood %s] for flooding)",
			    w[2], w[1]);
	for (int i = 0; i < c->n_fdb; i++)
		if (c->fdb[i].network == ni &&
		    rte_is_same_ether_addr(&c->fdb[i].mac, &e->mac))
			return fail(p, sec, NULL, "entry declared twice");
	if (get_ip(p, sec, "remote", true, &e->remote) < 0 ||
	    get_ip(p, sec, "ip", false, &e->ip) < 0)
		return -1;
	if (e->ip != 0 && !tsw_ipv4_is_unicast(e->ip))
		return fail(p, sec, "ip", "not a unicast address");
	if (add_remote(p, sec, "remote", e->remote, c->networks[ni].type) < 0)
		return -1;
	e->network = (uint16_t)ni;
	c->n_fdb++;
	return 0;
}

static int
parse_flood(struct pctx *p, int idx, const char *sec, char **w)
{
	static const char *const keys[] = { "remotes", NULL };
	struct tsw_config *c = p->cfg;
	struct tsw_cfg_flood *fl;
	char buf[CFG_VALUE_LEN], *save = NULL;
	const char *s, *why;
	int ni;

	if (check_keys(p, idx, sec, keys) < 0)
		return -1;
	ni = network_arg(p, sec, NULL, w[1]);
	if (ni < 0)
		return -1;
	if (c->networks[ni].kind != TSW_NET_TUNNEL)
		return fail(p, sec, NULL, "network %s is a provider network: it floods to its "
			    "physical network, not to tunnels", w[1]);
	for (int i = 0; i < c->n_flood; i++)
		if (c->flood[i].network == ni)
			return fail(p, sec, NULL, "flood list declared twice");
	fl = &c->flood[c->n_flood];
	fl->network = (uint16_t)ni;
	fl->n_remotes = 0;
	s = get(p, sec, "remotes");
	if (s == NULL)
		return fail(p, sec, "remotes", "missing (required): remote VTEP addresses");
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, " ,\t", &save); t != NULL;
	     t = strtok_r(NULL, " ,\t", &save)) {
		uint32_t ip;
		if (tsw_parse_ipv4(t, &ip, &why) < 0)
			return fail(p, sec, "remotes", "'%s' is %s", t, why);
		if (fl->n_remotes == TSW_CFG_MAX_FLOOD_REMOTES)
			return fail(p, sec, "remotes", "too many (max %d)",
				    TSW_CFG_MAX_FLOOD_REMOTES);
		for (int i = 0; i < fl->n_remotes; i++)
			if (fl->remotes[i] == ip)
				return fail(p, sec, "remotes", "'%s' listed twice", t);
		if (add_remote(p, sec, "remotes", ip, c->networks[ni].type) < 0)
			return -1;
		fl->remotes[fl->n_remotes++] = ip;
	}
	c->n_flood++;
	return 0;
}

static void
set_defaults(struct tsw_config *c)
{
	c->agent.l2_population = false;
	c->agent.arp_responder = false;
	c->agent.mac_ageing = 300;
	c->agent.tunnel_learn_timeout = 300;
	c->tunnel.type_enabled[TSW_TUN_VXLAN] = true;
	c->tunnel.vxlan_udp_port = 4789;
	c->tunnel.dont_fragment = true;
	c->tunnel.ttl = 64;
	c->uplink.prefix_len = 24;
	c->uplink.mtu = 1500;
	c->uplink.arp_reachable = 60;
	c->uplink.arp_retries = 3;
	c->dataplane.workers = 1;
	c->dataplane.fdb_size = 65536;
	c->dataplane.mbufs = 16384;
	c->dataplane.mbuf_size = RTE_MBUF_DEFAULT_DATAROOM;
	c->dataplane.learn_ring_size = 4096;
	c->dataplane.vhost_tx_retries = 8;   /* OVS's vhost-tx-retries-max */
	c->dataplane.gro = true;
	c->dataplane.idle_queue_poll_us = 500;
	c->dataplane.mac_limit_port = 1024;
	c->dataplane.mac_limit_network = 65536 / 4;
	snprintf(c->control.socket, sizeof(c->control.socket), "/run/tunsw/tunsw.sock");
	c->control.socket_mode = 0660;
	c->control.max_clients = 64;
	c->control.max_request = 1U << 20;
	c->control.idle_timeout = 60;
	c->control.request_timeout = 10;
	c->control.max_reply_memory_mb = 256;
	snprintf(c->control.vhost_socket_group, sizeof(c->control.vhost_socket_group), "kvm");
	c->security.max_connections = 1048576;
	{
		struct tsw_ct_timeouts t;
		tsw_ct_default_timeouts(&t);
		memcpy(c->security.timeouts, t.s, sizeof(t.s));
	}
}

enum sec_kind { S_AGENT, S_TUNNEL, S_UPLINK, S_DATAPLANE, S_CONTROL, S_NEIGHBOR, S_ROUTE, S_REMOTE,
		S_NETWORK, S_PORT, S_FDB, S_FLOOD, S_SECURITY, S_PHYSNET, S_UNKNOWN };

static const struct {
	const char *word;
	enum sec_kind kind;
	int nargs;
	int pass;
	const char *usage;
} sec_kinds[] = {
	{ "agent", S_AGENT, 0, 0, "[agent]" },
	{ "tunnel", S_TUNNEL, 0, 0, "[tunnel]" },
	{ "dataplane", S_DATAPLANE, 0, 0, "[dataplane]" },
	{ "control", S_CONTROL, 0, 0, "[control]" },
	{ "uplink", S_UPLINK, 0, 1, "[uplink]" },
	{ "neighbor", S_NEIGHBOR, 1, 1, "[neighbor IP]" },
	{ "route", S_ROUTE, 1, 2, "[route PREFIX/LEN]" },
	{ "network", S_NETWORK, 1, 1, "[network NAME]" },
	{ "remote", S_REMOTE, 1, 1, "[remote IP]" },
	{ "port", S_PORT, 1, 2, "[port NAME]" },
	{ "fdb", S_FDB, 2, 2, "[fdb NETWORK MAC]" },
	{ "flood", S_FLOOD, 1, 2, "[flood NETWORK]" },
	{ "security", S_SECURITY, 0, 0, "[security]" },
	{ "physnet", S_PHYSNET, 1, 0, "[physnet NAME]" },
};

/* indexes of sec_kinds[] checked for presence after parsing */
#define SEEN_TUNNEL 1
#define SEEN_UPLINK 4

static int
parse_section(struct pctx *p, int idx, const char *sec, int pass, bool *seen)
{
	char buf[CFG_NAME_LEN], *w[4];
	int nw;

	snprintf(buf, sizeof(buf), "%s", sec);
	nw = split_words(buf, w, 3);
	if (nw == 0)
		return pass == 0 ? fail(p, sec, NULL, "empty section name") : 0;
	for (size_t k = 0; k < RTE_DIM(sec_kinds); k++) {
		if (strcmp(w[0], sec_kinds[k].word) != 0)
			continue;
		if (nw != sec_kinds[k].nargs + 1)
			return fail(p, sec, NULL, "section name must be %s",
				    sec_kinds[k].usage);
		if (pass != sec_kinds[k].pass)
			return 0;
		if (sec_kinds[k].nargs == 0) {
			if (seen[k])
				return fail(p, sec, NULL, "section given twice");
			seen[k] = true;
		}
		switch (sec_kinds[k].kind) {
		case S_AGENT: return parse_agent(p, idx, sec);
		case S_TUNNEL: return parse_tunnel(p, idx, sec);
		case S_UPLINK: return parse_uplink(p, idx, sec);
		case S_DATAPLANE: return parse_dataplane(p, idx, sec);
		case S_CONTROL: return parse_control(p, idx, sec);
		case S_NEIGHBOR: return parse_neighbor(p, idx, sec, w);
		case S_ROUTE: return parse_route(p, idx, sec, w);
		case S_REMOTE: return parse_remote(p, idx, sec, w);
		case S_NETWORK: return parse_network(p, idx, sec, w);
		case S_PORT: return parse_port(p, idx, sec, w);
		case S_FDB: return parse_fdb(p, idx, sec, w);
		case S_FLOOD: return parse_flood(p, idx, sec, w);
		case S_SECURITY: return parse_security(p, idx, sec);
		case S_PHYSNET: return parse_physnet(p, idx, sec, w);
		default: break;
		}
	}
	return fail(p, sec, NULL, "unknown section (expected agent, tunnel, uplink, "
		    "dataplane, control, security, physnet, neighbor, route, remote, network, "
		    "port, fdb or flood)");
}

int
tsw_config_load(const char *path, struct tsw_config *cfg, char *err, size_t errlen)
{
	struct rte_cfgfile_parameters params = { .comment_character = '#' };
	struct pctx p = { .cfg = cfg, .err = err, .errlen = errlen };
	bool seen[RTE_DIM(sec_kinds)] = { false };
	char **names = NULL;
	int n, rc = -1;
	FILE *probe;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->file, sizeof(cfg->file), "%s", path);
	set_defaults(cfg);

	probe = fopen(path, "r");
	if (probe == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	fclose(probe);
	p.f = rte_cfgfile_load_with_params(path, 0, &params);
	if (p.f == NULL) {
		snprintf(err, errlen, "%s: syntax error (a line is neither [section], "
			 "key = value nor a # comment, or a name is over %d characters)",
			 path, CFG_NAME_LEN - 1);
		return -1;
	}
	n = rte_cfgfile_num_sections(p.f, NULL, 0);
	names = calloc((size_t)(n > 0 ? n : 1), sizeof(*names));
	if (names == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		names[i] = malloc(CFG_NAME_LEN);
		if (names[i] == NULL)
			goto out;
	}
	rte_cfgfile_sections(p.f, names, n);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0) {
				fail(&p, names[i], NULL, "section given twice");
				goto out;
			}
	/* pass 0: globals; 1: uplink, neighbors, networks; 2: the rest */
	for (int pass = 0; pass < 3; pass++)
		for (int i = 0; i < n; i++)
			if (parse_section(&p, i, names[i], pass, seen) < 0)
				goto out;
	if (!seen[SEEN_TUNNEL]) {
		snprintf(err, errlen, "%s: [tunnel]: missing section (local_ip is required)", path);
		goto out;
	}
	if (!seen[SEEN_UPLINK]) {
		snprintf(err, errlen, "%s: [uplink]: missing section (devargs is required)", path);
		goto out;
	}
	if (default_vhost_dir(cfg) < 0) {
		snprintf(err, errlen, "%s: [control]: socket: its directory is too long for a "
			 "vhost_socket_dir or capture_dir below it (\"vhost\", \"capture\"): set "
			 "them", path);
		goto out;
	}
	rc = 0;
out:
	if (names != NULL)
		for (int i = 0; i < n; i++)
			free(names[i]);
	free(names);
	rte_cfgfile_close(p.f);
	return rc;
}
