/* SPDX-License-Identifier: BSD-3-Clause
 * Capture files through libpcap (pcap and pcapng in, pcap out).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "tsw_pcap.h"

struct tsw_pcap_out {
	pcap_t *p;
	pcap_dumper_t *d;
};

int
tsw_pcap_read(const char *path, struct tsw_pcap_rec **recs, size_t *n, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct tsw_pcap_rec *r = NULL;
	size_t cap = 0, cnt = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p;
	int rc;

	*recs = NULL;
	*n = 0;
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (p == NULL) {
		snprintf(err, errlen, "%s: %s", path, ebuf);
		return -1;
	}
	if (pcap_datalink(p) != DLT_EN10MB) {
		snprintf(err, errlen, "%s: link type %d is not Ethernet", path, pcap_datalink(p));
		goto fail;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		if (h->caplen != h->len || h->caplen > TSW_PCAP_SNAP) {
			snprintf(err, errlen, "%s: record %zu: %u of %u bytes captured (snap length)",
				 path, cnt, h->caplen, h->len);
			goto fail;
		}
		if (cnt == cap) {
			struct tsw_pcap_rec *nr;
			cap = cap ? cap * 2 : 64;
			nr = realloc(r, cap * sizeof(*r));
			if (nr == NULL) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			r = nr;
		}
		r[cnt].len = h->caplen;
		r[cnt].ts = (tsw_ns_t)h->ts.tv_sec * TSW_NS_PER_SEC + (tsw_ns_t)h->ts.tv_usec;
		r[cnt].data = malloc(h->caplen ? h->caplen : 1);
		if (r[cnt].data == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto fail;
		}
		memcpy(r[cnt].data, data, h->caplen);
		cnt++;
	}
	if (rc == PCAP_ERROR) {
		snprintf(err, errlen, "%s: record %zu: %s", path, cnt, pcap_geterr(p));
		goto fail;
	}
	pcap_close(p);
	*recs = r;
	*n = cnt;
	return 0;
fail:
	tsw_pcap_free(r, cnt);
	pcap_close(p);
	return -1;
}

void
tsw_pcap_free(struct tsw_pcap_rec *recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(recs[i].data);
	free(recs);
}

struct tsw_pcap_out *
tsw_pcap_create(const char *path, char *err, size_t errlen)
{
	struct tsw_pcap_out *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	o->p = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, TSW_PCAP_SNAP,
						    PCAP_TSTAMP_PRECISION_NANO);
	o->d = o->p != NULL ? pcap_dump_open(o->p, path) : NULL;
	if (o->d == NULL) {
		snprintf(err, errlen, "%s: %s", path, o->p != NULL ? pcap_geterr(o->p) :
			 "cannot open a capture");
		tsw_pcap_close(o);
		return NULL;
	}
	return o;
}

int
tsw_pcap_write(struct tsw_pcap_out *o, tsw_ns_t ts, const void *data, uint32_t len)
{
	struct pcap_pkthdr h = {
		.ts = { .tv_sec = (time_t)(ts / TSW_NS_PER_SEC),
			.tv_usec = (suseconds_t)(ts % TSW_NS_PER_SEC) },   /* ns: see create */
		.caplen = len, .len = len,
	};

	pcap_dump((u_char *)o->d, &h, data);
	return 0;
}

void
tsw_pcap_close(struct tsw_pcap_out *o)
{
	if (o == NULL)
		return;
	if (o->d != NULL)
		pcap_dump_close(o->d);
	if (o->p != NULL)
		pcap_close(o->p);
	free(o);
}
