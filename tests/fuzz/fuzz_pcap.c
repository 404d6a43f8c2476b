/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: capture files (tsw_pcap.h). Input: a file, pcap or pcapng.
 * Oracles: nothing crashes or reads out of bounds (the block walker gets
 * an exact-size copy); what the walker returns refers to interfaces that
 * exist; a file refused by tsw_pcap_read names itself; a file read is
 * written again as pcapng (an interface per input interface) and reads
 * back with the same frames, times and interfaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsw_pcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char in_path[64], out_path[64];

static void
check_walk(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct tsw_pcap_iface *ifc;
	struct tsw_pcapng_pkt *pk;
	uint32_t nif;
	size_t n;
	char err[256];

	if (copy == NULL)
		abort();
	if (size > 0)
		memcpy(copy, data, size);
	if (tsw_pcapng_walk(copy, size, &ifc, &nif, &pk, &n, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++)
			if (pk[i].iface >= nif || pk[i].dir > 3)
				abort();
		for (uint32_t i = 0; i < nif; i++)
			if (strnlen(ifc[i].name, TSW_PCAP_IFNAME_LEN) == TSW_PCAP_IFNAME_LEN ||
			    strnlen(ifc[i].hw, TSW_PCAP_IFNAME_LEN) == TSW_PCAP_IFNAME_LEN)
				abort();
		free(ifc);
		free(pk);
	} else if (ifc != NULL || pk != NULL || strstr(err, "offset") == NULL) {
		abort();
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsw_pcap_file f, g;
	struct tsw_pcap_out *o;
	char err[512] = "";
	FILE *fp;

	if (in_path[0] == '\0') {
		snprintf(in_path, sizeof(in_path), "/tmp/tswfuzzpcap%d.in", (int)getpid());
		snprintf(out_path, sizeof(out_path), "/tmp/tswfuzzpcap%d.out", (int)getpid());
	}
	check_walk(data, size);
	fp = fopen(in_path, "wb");
	if (fp == NULL)
		abort();
	fwrite(data, 1, size, fp);
	fclose(fp);
	if (tsw_pcap_read(in_path, &f, err, sizeof(err)) < 0) {
		if (strstr(err, in_path) == NULL) {
			fprintf(stderr, "error without the file name: %s\n", err);
			abort();
		}
		return 0;
	}
	for (size_t i = 0; i < f.n; i++)
		if (f.recs[i].iface >= f.n_ifaces || f.recs[i].len > TSW_PCAP_SNAP)
			abort();
	/* written again, read back: the same */
	o = tsw_pcapng_create(out_path, "fuzz", err, sizeof(err));
	if (o == NULL)
		abort();
	for (uint32_t i = 0; i < f.n_ifaces; i++)
		if (tsw_pcapng_add_iface(o, f.ifaces[i].name, f.ifaces[i].descr) != (int)i)
			abort();
	for (size_t i = 0; i < f.n; i++)
		if (tsw_pcap_write(o, f.recs[i].iface, f.recs[i].ts, f.recs[i].data,
				   f.recs[i].len) < 0)
			abort();
	if (tsw_pcap_close(o) < 0 || tsw_pcap_read(out_path, &g, err, sizeof(err)) < 0) {
		fprintf(stderr, "written file not read back: %s\n", err);
		abort();
	}
	if (g.n != f.n || g.n_ifaces != f.n_ifaces)
		abort();
	for (size_t i = 0; i < f.n; i++)
		if (g.recs[i].iface != f.recs[i].iface || g.recs[i].ts != f.recs[i].ts ||
		    g.recs[i].len != f.recs[i].len ||
		    memcmp(g.recs[i].data, f.recs[i].data, f.recs[i].len) != 0)
			abort();
	for (uint32_t i = 0; i < f.n_ifaces; i++)
		if (strcmp(g.ifaces[i].name, f.ifaces[i].name) != 0 ||
		    strcmp(g.ifaces[i].descr, f.ifaces[i].descr) != 0)
			abort();
	tsw_pcap_free(&g);
	tsw_pcap_free(&f);
	return 0;
}
