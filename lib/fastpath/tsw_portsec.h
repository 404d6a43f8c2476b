/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: port security, as Neutron defines it (port_security_enabled,
 * allowed_address_pairs): rules R-S1..R-S5 of semantics.md.
 *
 * A policy lists a port's allowed (MAC, IPv4 or IPv6 prefix) pairs: the
 * port's own MAC with its fixed IPs, and its allowed address pairs (a MAC,
 * or the port's, with an address or prefix). The IPv6 link-local address
 * derived (EUI-64) from an allowed MAC is always allowed with that MAC.
 *
 * Contract:
 *  - tsw_portsec_check() is the per-frame check of a frame received from
 *    the VM (R-S1..R-S4); it reads headers with rte_pktmbuf_read (chained
 *    mbufs are fine), changes nothing, never allocates; it returns
 *    TSW_DROP_MAX when the frame may go on, else the drop reason.
 *  - A port without a policy (NULL) is not filtered (R-S5 for frames to
 *    the VM: they are never filtered).
 *  - The builders (and tsw_portsec_from_text(), tsw_jarg_portsec() in
 *    control) validate every field before returning a policy; errors name
 *    the field and the reason.
 */
#ifndef TSW_PORTSEC_H
#define TSW_PORTSEC_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "tsw_counters.h"

#define TSW_PORTSEC_MAX_MACS  16
#define TSW_PORTSEC_MAX_PAIRS 64     /* per address family */

struct tsw_portsec_v4 {
	uint32_t addr, mask;                 /* network order */
	uint8_t mac;                         /* index in macs */
};

struct tsw_portsec_v6 {
	uint8_t addr[16];
	uint8_t len;                         /* prefix length */
	uint8_t mac;
};

struct tsw_portsec {
	uint8_t n_macs, n_v4, n_v6;
	struct rte_ether_addr macs[TSW_PORTSEC_MAX_MACS];   /* macs[0]: the port's */
	uint64_t mac_words[TSW_PORTSEC_MAX_MACS];           /* the same, as 48-bit words */
	struct tsw_portsec_v4 v4[TSW_PORTSEC_MAX_PAIRS];
	struct tsw_portsec_v6 v6[TSW_PORTSEC_MAX_PAIRS];
};

enum tsw_drop tsw_portsec_check(const struct tsw_portsec *ps, const struct rte_mbuf *m);

/* addr (IPv6) is one the port may use (any of its MACs' pairs, or a MAC's
 * EUI-64 link-local address). */
bool tsw_portsec_owns_v6(const struct tsw_portsec *ps, const uint8_t *addr);

/* Building a policy: for the port's MAC (-1: not a unicast MAC), more
 * allowed MACs (their index; -1 beyond TSW_PORTSEC_MAX_MACS), addresses
 * "IP" or "IP/LEN" (IPv4 or IPv6) allowed with the MAC of index mi. -1
 * with the reason in why. */
int tsw_portsec_init(struct tsw_portsec *ps, const struct rte_ether_addr *mac, char *why,
		     size_t whylen);
int tsw_portsec_add_mac(struct tsw_portsec *ps, const struct rte_ether_addr *mac);
int tsw_portsec_add_addr(struct tsw_portsec *ps, const char *text, int mi, char *why,
			 size_t whylen);

/* The config file's form: the port's MAC, "IP, IP, ..." (fixed IPs) and
 * "IP[/LEN][@MAC], ..." (allowed pairs). Returns 0 or -1 with a reason.
 * (The JSON form is read by tsw_jarg_portsec, control.) */
int tsw_portsec_from_text(const struct rte_ether_addr *mac, const char *ips, const char *pairs,
			  struct tsw_portsec *ps, char *why, size_t whylen);

#endif
