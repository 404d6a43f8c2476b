/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: validated reading of fields of a JSON request (control socket,
 * replay --control, l2population payloads).
 *
 * Contract: every tsw_jarg_*() reads one member of a JSON object, checks
 * its type and value, and returns 0, or -1 having written into *e the
 * field's name (its path) and the reason. A missing optional member
 * returns 1 and leaves *out untouched. Nothing is changed anywhere else.
 */
#ifndef TSW_JARG_H
#define TSW_JARG_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <rte_ether.h>
#include "tsw_types.h"

struct tsw_jerr {
	char field[160];
	char reason[200];
};

/* Record an error on field; returns -1. */
int tsw_jerr_set(struct tsw_jerr *e, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Format a field path into buf (truncated to len); returns buf. */
char *tsw_jpath(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int tsw_jarg_str(const json_t *o, const char *key, bool required, const char **out,
		 struct tsw_jerr *e);
/* A name as the config accepts it (1..TSW_NAME_LEN-1 of [A-Za-z0-9._-]). */
int tsw_jarg_name(const json_t *o, const char *key, bool required, const char **out,
		  struct tsw_jerr *e);
int tsw_jarg_u32(const json_t *o, const char *key, bool required, uint32_t min, uint32_t max,
		 uint32_t *out, struct tsw_jerr *e);
int tsw_jarg_bool(const json_t *o, const char *key, bool required, bool *out,
		  struct tsw_jerr *e);
/* A unicast, non-zero MAC (an FDB or ARP entry's). */
int tsw_jarg_mac(const json_t *o, const char *key, bool required, struct rte_ether_addr *out,
		 struct tsw_jerr *e);
/* A unicast IPv4 address (not 0, multicast, broadcast or loopback). */
int tsw_jarg_ipv4(const json_t *o, const char *key, bool required, uint32_t *out,
		  struct tsw_jerr *e);
int tsw_jarg_type(const json_t *o, const char *key, bool required, enum tsw_tun_type *out,
		  struct tsw_jerr *e);

struct tsw_portsec;
/* A port's policy from a request's members {"mac": MAC, "fixed_ips": [IP,
 * ...] (or Neutron's [{"ip_address": IP}, ...]), "allowed_address_pairs":
 * [{"ip_address": IP[/LEN], "mac_address": MAC (optional)}, ...]}; every
 * field validated first. 0, or -1 with e naming the field. */
int tsw_jarg_portsec(const json_t *req, struct tsw_portsec *ps, struct tsw_jerr *e);

#endif
