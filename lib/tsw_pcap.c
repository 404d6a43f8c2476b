/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tsw_pcap.h"

static uint32_t
sw32(uint32_t v, int swap)
{
	return swap ? __builtin_bswap32(v) : v;
}

int
tsw_pcap_read(const char *path, struct tsw_pcap_rec **recs, size_t *n, char *err, size_t errlen)
{
	uint32_t gh[6], rh[4];
	struct tsw_pcap_rec *r = NULL;
	size_t cap = 0, cnt = 0;
	int swap, nano;
	FILE *f = fopen(path, "rb");

	*recs = NULL;
	*n = 0;
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(gh, sizeof(gh), 1, f) != 1) {
		snprintf(err, errlen, "%s: not a pcap file (short header)", path);
		goto fail;
	}
	switch (gh[0]) {
	case 0xa1b2c3d4: swap = 0; nano = 0; break;
	case 0xd4c3b2a1: swap = 1; nano = 0; break;
	case 0xa1b23c4d: swap = 0; nano = 1; break;
	case 0x4d3cb2a1: swap = 1; nano = 1; break;
	default:
		snprintf(err, errlen, "%s: not a pcap file (bad magic)", path);
		goto fail;
	}
	if (sw32(gh[5], swap) != 1) {
		snprintf(err, errlen, "%s: link type %u is not Ethernet", path, sw32(gh[5], swap));
		goto fail;
	}
	for (;;) {
		size_t got = fread(rh, 1, sizeof(rh), f);
		uint32_t incl;

		if (got == 0)
			break;
		if (got != sizeof(rh)) {
			snprintf(err, errlen, "%s: record %zu: truncated header", path, cnt);
			goto fail;
		}
		incl = sw32(rh[2], swap);
		if (incl > TSW_PCAP_SNAP) {
			snprintf(err, errlen, "%s: record %zu: length %u too large", path, cnt, incl);
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
		r[cnt].len = incl;
		r[cnt].ts = (tsw_ns_t)sw32(rh[0], swap) * TSW_NS_PER_SEC +
			    (tsw_ns_t)sw32(rh[1], swap) * (nano ? 1 : 1000);
		r[cnt].data = malloc(incl ? incl : 1);
		if (r[cnt].data == NULL || fread(r[cnt].data, 1, incl, f) != incl) {
			free(r[cnt].data);
			snprintf(err, errlen, "%s: record %zu: truncated data", path, cnt);
			goto fail;
		}
		cnt++;
	}
	fclose(f);
	*recs = r;
	*n = cnt;
	return 0;
fail:
	tsw_pcap_free(r, cnt);
	fclose(f);
	return -1;
}

void
tsw_pcap_free(struct tsw_pcap_rec *recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(recs[i].data);
	free(recs);
}

FILE *
tsw_pcap_create(const char *path)
{
	const uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, TSW_PCAP_SNAP, 1 };
	FILE *f = fopen(path, "wb");

	if (f != NULL && fwrite(gh, sizeof(gh), 1, f) != 1) {
		fclose(f);
		return NULL;
	}
	return f;
}

int
tsw_pcap_write(FILE *f, tsw_ns_t ts, const void *data, uint32_t len)
{
	uint32_t rh[4] = {
		(uint32_t)(ts / TSW_NS_PER_SEC),
		(uint32_t)((ts % TSW_NS_PER_SEC) / 1000),
		len, len,
	};

	if (fwrite(rh, sizeof(rh), 1, f) != 1 || fwrite(data, 1, len, f) != len)
		return -1;
	return 0;
}
