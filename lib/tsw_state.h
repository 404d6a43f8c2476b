/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: rendering of tables and counters (JSON for tools and tests, text
 * for operators).
 *
 * Contract: read-only over the tables; call from the writer thread (or
 * with workers stopped) so that the view is consistent. Output is
 * deterministic: FDB and ARP entries are sorted by network then address.
 */
#ifndef TSW_STATE_H
#define TSW_STATE_H

#include <stdio.h>
#include "tsw_counters.h"
#include "tsw_dp.h"
#include "tsw_mgmt.h"

int tsw_state_write_json(FILE *f, const struct tsw_dp *dp, const struct tsw_counters *c,
			 const struct tsw_mgmt *mg, uint64_t now_ms);
void tsw_state_print_counters(FILE *f, const struct tsw_dp *dp, const struct tsw_counters *c);

#endif
