/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: text forms of addresses, names and values, read and written the
 * same way by the INI configuration and the JSON requests.
 *
 * Contract: pure functions, no state. A parser returns 0, or -1 with a
 * static reason in *why (to be prefixed with the field by the caller);
 * addresses are in network byte order.
 */
#ifndef TSW_PARSE_H
#define TSW_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>

#include "tsw_types.h"

int tsw_parse_ipv4(const char *s, uint32_t *ip_be, const char **why);
int tsw_parse_mac(const char *s, struct rte_ether_addr *mac, const char **why);
int tsw_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *v,
		  const char **why);
int tsw_parse_bool(const char *s, bool *v, const char **why);
int tsw_parse_tun_type(const char *s, enum tsw_tun_type *t, const char **why);
/* 1..TSW_NAME_LEN-1 of [A-Za-z0-9._-] */
int tsw_parse_name(const char *s, const char **why);
/* "a.b.c.d/len" with no host bits set. */
int tsw_parse_prefix(const char *s, uint32_t *prefix_be, uint8_t *len, const char **why);
/* "IP" or "IP/LEN", IPv4 or IPv6: the address (network order, IPv4 in the
 * first 4 bytes of addr[16]) and the prefix length (the full length without
 * "/LEN"); host bits are cleared. */
int tsw_parse_ip_prefix(const char *s, bool *v6, uint8_t *addr, uint8_t *len, const char **why);
/* Not 0, multicast, reserved/broadcast or loopback. */
bool tsw_ipv4_is_unicast(uint32_t ip_be);

/* "aa:bb:cc:dd:ee:ff" into buf[18]; dotted quad of a network-order IPv4
 * address into buf[16]. Both return buf. */
char *tsw_mac_str(const uint8_t *mac, char *buf);
char *tsw_ip_str(uint32_t ip_be, char *buf);

#endif
