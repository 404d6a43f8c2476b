/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: an unpaged show_fdb or show_arp gathered page by page into its
 * sorted reply, at the cost of the reply itself.
 *
 * Contract: one thread at a time (the control thread adds pages, the
 * planner finishes). Each page's entries are serialized as they come (the
 * compact, order-preserving form the reply uses) and kept as text (in
 * 1 MiB chunks: no copying, no doubling) with a 32-byte sort row each: the network (interned name), then the MAC (FDB) or
 * the IPv4 address (ARP). tsw_dumpacc_finish() sorts the rows and writes
 * the whole reply line {"id":ID,"ok":true,"result":[...]} byte for byte as
 * json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) of that reply would.
 * tsw_dumpacc_bytes() is what it holds now (text, rows, names).
 */
#ifndef TSW_DUMPACC_H
#define TSW_DUMPACC_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct tsw_dumpacc;

/* by_ip: show_arp's order (network, IPv4); else show_fdb's (network, MAC). */
struct tsw_dumpacc *tsw_dumpacc_new(bool by_ip);
void tsw_dumpacc_free(struct tsw_dumpacc *d);

/* Add a page's entries (a JSON array of objects). 0, or -1: out of memory. */
int tsw_dumpacc_add(struct tsw_dumpacc *d, const json_t *entries);
size_t tsw_dumpacc_bytes(const struct tsw_dumpacc *d);
size_t tsw_dumpacc_count(const struct tsw_dumpacc *d);

/* The reply line (malloc'd, no newline, *len its length, one spare byte
 * allocated after it) to the request with this id; NULL when out of
 * memory. What d held is freed (d stays to be freed). */
char *tsw_dumpacc_finish(struct tsw_dumpacc *d, const json_t *id, size_t *len);

#endif
