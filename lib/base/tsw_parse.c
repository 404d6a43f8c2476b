/* SPDX-License-Identifier: BSD-3-Clause
 * Text forms of addresses, names and values (see tsw_parse.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tsw_parse.h"

int
tsw_parse_ipv4(const char *s, uint32_t *ip_be, const char **why)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1) {
		*why = "not a dotted-quad IPv4 address";
		return -1;
	}
	*ip_be = a.s_addr;
	return 0;
}

int
tsw_parse_mac(const char *s, struct rte_ether_addr *mac, const char **why)
{
	unsigned int b[6];
	char tail;

	if (s == NULL || strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6) {
		*why = "not a MAC address of the form aa:bb:cc:dd:ee:ff";
		return -1;
	}
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[i * 3]) ||
		    !isxdigit((unsigned char)s[i * 3 + 1])) {
			*why = "not a MAC address of the form aa:bb:cc:dd:ee:ff";
			return -1;
		}
		mac->addr_bytes[i] = (uint8_t)b[i];
	}
	return 0;
}

int
tsw_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *v,
	      const char **why)
{
	char *end;
	unsigned long long x;

	if (s == NULL || *s == '\0' || *s == '-' || isspace((unsigned char)*s)) {
		*why = "not a non-negative integer";
		return -1;
	}
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0') {
		*why = "not a non-negative integer";
		return -1;
	}
	if (x < min || x > max) {
		*why = "out of range";
		return -1;
	}
	*v = (uint32_t)x;
	return 0;
}

int
tsw_parse_bool(const char *s, bool *v, const char **why)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; s != NULL && i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = false;
			return 0;
		}
	}
	*why = "not a boolean (true/false)";
	return -1;
}

int
tsw_parse_tun_type(const char *s, enum tsw_tun_type *t, const char **why)
{
	if (s != NULL && strcasecmp(s, "vxlan") == 0)
		*t = TSW_TUN_VXLAN;
	else if (s != NULL && strcasecmp(s, "gre") == 0)
		*t = TSW_TUN_GRE;
	else {
		*why = "not a tunnel type (vxlan or gre)";
		return -1;
	}
	return 0;
}

int
tsw_parse_prefix(const char *s, uint32_t *prefix_be, uint8_t *len, const char **why)
{
	char buf[32];
	char *slash;
	uint32_t l;

	if (s == NULL || strlen(s) >= sizeof(buf) || (slash = strchr(s, '/')) == NULL) {
		*why = "not a prefix of the form a.b.c.d/len";
		return -1;
	}
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (tsw_parse_ipv4(buf, prefix_be, why) < 0 || tsw_parse_u32(slash + 1, 0, 32, &l, why) < 0) {
		*why = "not a prefix of the form a.b.c.d/len (len 0..32)";
		return -1;
	}
	if (l < 32 && (ntohl(*prefix_be) & (l == 0 ? ~0u : ~(~0u << (32 - l)))) != 0) {
		*why = "a prefix with host bits set";
		return -1;
	}
	*len = (uint8_t)l;
	return 0;
}

int
tsw_parse_name(const char *s, const char **why)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= TSW_NAME_LEN) {
		*why = "name must be 1 to 47 characters";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.') {
			*why = "name may contain only letters, digits, '-', '_' and '.'";
			return -1;
		}
	}
	return 0;
}

int
tsw_parse_ip_prefix(const char *s, bool *v6, uint8_t *addr, uint8_t *len, const char **why)
{
	char buf[64];
	const char *slash = s != NULL ? strchr(s, '/') : NULL;
	size_t n = s == NULL ? 0 : slash ? (size_t)(slash - s) : strlen(s);
	uint32_t l = 0;
	uint8_t max;

	if (n == 0 || n >= sizeof(buf)) {
		*why = "not an IP address or prefix";
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1)
		*v6 = false;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		*v6 = true;
	else {
		*why = "neither an IPv4 nor an IPv6 address";
		return -1;
	}
	max = *v6 ? 128 : 32;
	if (slash != NULL && tsw_parse_u32(slash + 1, 0, max, &l, why) < 0) {
		*why = *v6 ? "a prefix length of 0..128" : "a prefix length of 0..32";
		return -1;
	}
	*len = slash != NULL ? (uint8_t)l : max;
	for (unsigned int bit = *len; bit < max; bit++)      /* host bits cleared */
		addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	return 0;
}

bool
tsw_ipv4_is_unicast(uint32_t ip_be)
{
	uint32_t h = ntohl(ip_be);
	return h != 0 && (h >> 28) < 14 && (h >> 24) != 127;
}

char *
tsw_ip_str(uint32_t ip_be, char *buf)
{
	struct in_addr a = { .s_addr = ip_be };
	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
	return buf;
}

char *
tsw_mac_str(const uint8_t *m, char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

