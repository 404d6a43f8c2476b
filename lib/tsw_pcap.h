/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: capture files for the replay harness, through libpcap.
 *
 * Contract: the reader takes what libpcap reads — classic pcap (micro- or
 * nanosecond, either byte order) and pcapng, e.g. what dpdk-dumpcap writes
 * from a running daemon — with Ethernet link type, at nanosecond
 * precision; other link types and frames cut by the capture's snap length
 * are refused with a message naming the file and record. A pcapng file
 * with several interfaces reads as one stream (libpcap gives no per-frame
 * interface): capture one port per file. The writer writes classic pcap
 * with nanosecond timestamps, Ethernet.
 */
#ifndef TSW_PCAP_H
#define TSW_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include "tsw_types.h"

#define TSW_PCAP_SNAP 65535

struct tsw_pcap_rec {
	tsw_ns_t ts;
	uint32_t len;
	uint8_t *data;     /* malloc'ed */
};

/* Read every record of path; *recs is malloc'ed (free with tsw_pcap_free). */
int tsw_pcap_read(const char *path, struct tsw_pcap_rec **recs, size_t *n,
		  char *err, size_t errlen);
void tsw_pcap_free(struct tsw_pcap_rec *recs, size_t n);

struct tsw_pcap_out;
/* NULL with err on failure. */
struct tsw_pcap_out *tsw_pcap_create(const char *path, char *err, size_t errlen);
int tsw_pcap_write(struct tsw_pcap_out *o, tsw_ns_t ts, const void *data, uint32_t len);
void tsw_pcap_close(struct tsw_pcap_out *o);

#endif
