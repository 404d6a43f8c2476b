/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: the configuration parser. Input: a tunsw.conf. Oracles:
 * nothing crashes; a refused file has an error that names the file; an
 * accepted one has the required sections' values in range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsw_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static struct tsw_config *cfg;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	FILE *f;

	if (cfg == NULL) {
		cfg = malloc(sizeof(*cfg));
		snprintf(path, sizeof(path), "/tmp/tswfuzzcfg%d.conf", (int)getpid());
	}
	f = fopen(path, "w");
	if (cfg == NULL || f == NULL)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	if (tsw_config_load(path, cfg, err, sizeof(err)) < 0) {
		if (strstr(err, path) == NULL) {
			fprintf(stderr, "error without the file name: %s\n", err);
			abort();
		}
		return 0;
	}
	if (cfg->tunnel.local_ip == 0 || cfg->uplink.devargs[0] == '\0' ||
	    cfg->dataplane.workers == 0 || cfg->n_ports > TSW_MAX_PORTS ||
	    cfg->control.vhost_socket_dir[0] != '/') {
		fprintf(stderr, "accepted an incomplete config\n");
		abort();
	}
	return 0;
}
