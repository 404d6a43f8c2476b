/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: DPDK telemetry commands, so that the stock dpdk-telemetry.py shows
 * tunsw's tables and counters:
 *   /tunsw/info, /tunsw/counters, /tunsw/drops,
 *   /tunsw/ports, /tunsw/port,NAME, /tunsw/networks, /tunsw/network,NAME,
 *   /tunsw/tunnels, /tunsw/tunnel,TYPE/IP, /tunsw/workers, /tunsw/worker,N
 *
 * Contract: the callbacks run on DPDK's telemetry thread. They read through
 * the control module's show operations while holding tsw_telemetry_lock;
 * the table writer holds the same lock whenever it changes tables other
 * than the FDB (control requests), so a view is consistent. Workers never
 * take it.
 */
#ifndef TSW_TELEMETRY_H
#define TSW_TELEMETRY_H

#include <stdint.h>
#include "tsw_ctl.h"

/* now_ms: the dataplane clock. Registers the commands (once per process). */
int tsw_telemetry_init(struct tsw_ctl *ctl, uint64_t (*now_ms)(void));
/* Stop answering from ctl (before it is freed). */
void tsw_telemetry_fini(void);

void tsw_telemetry_lock(void);
void tsw_telemetry_unlock(void);

#endif
