/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>

#include "tsw_parse.h"
#include "tsw_portsec.h"
#include "tsw_jarg.h"

int
tsw_jerr_set(struct tsw_jerr *e, const char *field, const char *fmt, ...)
{
	va_list ap;

	snprintf(e->field, sizeof(e->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
	return -1;
}

char *
tsw_jpath(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

/* The member, or NULL (with *rc set) when it is missing. */
static const json_t *
member(const json_t *o, const char *key, bool required, int *rc, struct tsw_jerr *e)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v)) {
		*rc = required ? tsw_jerr_set(e, key, "missing (required)") : 1;
		return NULL;
	}
	return v;
}

int
tsw_jarg_str(const json_t *o, const char *key, bool required, const char **out,
	     struct tsw_jerr *e)
{
	int rc;
	const json_t *v = member(o, key, required, &rc, e);

	if (v == NULL)
		return rc;
	if (!json_is_string(v))
		return tsw_jerr_set(e, key, "must be a string");
	if (json_string_length(v) == 0)
		return tsw_jerr_set(e, key, "must not be empty");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return tsw_jerr_set(e, key, "contains a NUL character");
	*out = json_string_value(v);
	return 0;
}

int
tsw_jarg_name(const json_t *o, const char *key, bool required, const char **out,
	      struct tsw_jerr *e)
{
	const char *s, *why;
	int rc = tsw_jarg_str(o, key, required, &s, e);

	if (rc != 0)
		return rc;
	if (tsw_parse_name(s, &why) < 0)
		return tsw_jerr_set(e, key, "'%.64s': %s", s, why);
	*out = s;
	return 0;
}

int
tsw_jarg_u32(const json_t *o, const char *key, bool required, uint32_t min, uint32_t max,
	     uint32_t *out, struct tsw_jerr *e)
{
	int rc;
	const json_t *v = member(o, key, required, &rc, e);
	json_int_t x;

	if (v == NULL)
		return rc;
	if (!json_is_integer(v))
		return tsw_jerr_set(e, key, "must be an integer");
	x = json_integer_value(v);
	if (x < (json_int_t)min || x > (json_int_t)max)
		return tsw_jerr_set(e, key, "%lld is out of range %u..%u", (long long)x, min, max);
	*out = (uint32_t)x;
	return 0;
}

int
tsw_jarg_bool(const json_t *o, const char *key, bool required, bool *out, struct tsw_jerr *e)
{
	int rc;
	const json_t *v = member(o, key, required, &rc, e);

	if (v == NULL)
		return rc;
	if (!json_is_boolean(v))
		return tsw_jerr_set(e, key, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

int
tsw_jarg_mac(const json_t *o, const char *key, bool required, struct rte_ether_addr *out,
	     struct tsw_jerr *e)
{
	const char *s, *why;
	struct rte_ether_addr m;
	int rc = tsw_jarg_str(o, key, required, &s, e);

	if (rc != 0)
		return rc;
	if (tsw_parse_mac(s, &m, &why) < 0)
		return tsw_jerr_set(e, key, "'%.64s' is %s", s, why);
	if (!rte_is_unicast_ether_addr(&m) || rte_is_zero_ether_addr(&m))
		return tsw_jerr_set(e, key, "'%s' is not a unicast MAC", s);
	*out = m;
	return 0;
}

int
tsw_jarg_ipv4(const json_t *o, const char *key, bool required, uint32_t *out,
	      struct tsw_jerr *e)
{
	const char *s, *why;
	uint32_t ip;
	int rc = tsw_jarg_str(o, key, required, &s, e);

	if (rc != 0)
		return rc;
	if (tsw_parse_ipv4(s, &ip, &why) < 0)
		return tsw_jerr_set(e, key, "'%.64s' is %s", s, why);
	if (!tsw_ipv4_is_unicast(ip))
		return tsw_jerr_set(e, key, "'%s' is not a unicast address", s);
	*out = ip;
	return 0;
}

int
tsw_jarg_type(const json_t *o, const char *key, bool required, enum tsw_tun_type *out,
	      struct tsw_jerr *e)
{
	const char *s, *why;
	int rc = tsw_jarg_str(o, key, required, &s, e);

	if (rc != 0)
		return rc;
	if (tsw_parse_tun_type(s, out, &why) < 0)
		return tsw_jerr_set(e, key, "'%.64s' is %s", s, why);
	return 0;
}

int
tsw_jarg_portsec(const json_t *req, struct tsw_portsec *ps, struct tsw_jerr *e)
{
	struct rte_ether_addr mac;
	const json_t *list, *v;
	char why[160], f[96];
	size_t i;

	if (tsw_jarg_mac(req, "mac", true, &mac, e) != 0)
		return -1;
	if (tsw_portsec_init(ps, &mac, why, sizeof(why)) < 0)
		return tsw_jerr_set(e, "mac", "%s", why);
	list = json_object_get(req, "fixed_ips");
	if (list != NULL && !json_is_array(list))
		return tsw_jerr_set(e, "fixed_ips", "must be a list of IP addresses");
	json_array_foreach(list, i, v) {
		const json_t *ip = json_is_object(v) ? json_object_get(v, "ip_address") : v;
		tsw_jpath(f, sizeof(f), "fixed_ips[%zu]", i);
		if (!json_is_string(ip))
			return tsw_jerr_set(e, f, "must be an IP address (or {\"ip_address\": IP})");
		if (strchr(json_string_value(ip), '/') != NULL)
			return tsw_jerr_set(e, f, "a fixed IP has no prefix length");
		if (tsw_portsec_add_addr(ps, json_string_value(ip), 0, why, sizeof(why)) < 0)
			return tsw_jerr_set(e, f, "%s", why);
	}
	list = json_object_get(req, "allowed_address_pairs");
	if (list != NULL && !json_is_array(list))
		return tsw_jerr_set(e, "allowed_address_pairs",
				    "must be a list of {\"ip_address\", \"mac_address\"}");
	json_array_foreach(list, i, v) {
		struct rte_ether_addr pm = mac;
		const char *ip;
		int mi, rc;
		tsw_jpath(f, sizeof(f), "allowed_address_pairs[%zu]", i);
		if (!json_is_object(v))
			return tsw_jerr_set(e, f, "must be {\"ip_address\": IP[/LEN], "
					    "\"mac_address\": MAC}");
		if (tsw_jarg_str(v, "ip_address", true, &ip, e) != 0) {
			tsw_jpath(f, sizeof(f), "allowed_address_pairs[%zu].ip_address", i);
			return tsw_jerr_set(e, f, "missing or not a string");
		}
		rc = json_is_null(json_object_get(v, "mac_address")) ? 1
		     : tsw_jarg_mac(v, "mac_address", false, &pm, e);
		if (rc < 0) {
			tsw_jpath(f, sizeof(f), "allowed_address_pairs[%zu].mac_address", i);
			return tsw_jerr_set(e, f, "not a MAC address");
		}
		mi = rte_is_unicast_ether_addr(&pm) && !rte_is_zero_ether_addr(&pm)
		     ? tsw_portsec_add_mac(ps, &pm) : -2;
		if (mi < 0) {
			tsw_jpath(f, sizeof(f), "allowed_address_pairs[%zu].mac_address", i);
			return tsw_jerr_set(e, f, mi == -2 ? "not a unicast MAC"
					    : "more than 16 MACs");
		}
		if (tsw_portsec_add_addr(ps, ip, mi, why, sizeof(why)) < 0) {
			tsw_jpath(f, sizeof(f), "allowed_address_pairs[%zu].ip_address", i);
			return tsw_jerr_set(e, f, "%s", why);
		}
	}
	return 0;
}
