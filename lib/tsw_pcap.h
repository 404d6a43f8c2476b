/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: minimal classic pcap (LINKTYPE_ETHERNET) reader and writer for the
 * replay harness and tests.
 *
 * Contract: the reader accepts microsecond and nanosecond magic in either
 * byte order, rejects other link types and truncated records with an error
 * message; frames larger than TSW_PCAP_SNAP are rejected. The writer writes
 * microsecond little-endian pcap.
 */
#ifndef TSW_PCAP_H
#define TSW_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

FILE *tsw_pcap_create(const char *path);
int tsw_pcap_write(FILE *f, tsw_ns_t ts, const void *data, uint32_t len);

#endif
