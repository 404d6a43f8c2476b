/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: trace one frame through the pipeline without sending it (like
 * ovs-appctl ofproto/trace, or VPP's packet trace).
 *
 * Contract: called by the table writer only. The frame is run through the
 * very pipeline code the workers run, by a private worker whose output is
 * captured and whose learn events are reported and discarded: nothing is
 * transmitted, learned or counted in the real counters. The result names
 * the rule of ../shared/reference/semantics.md that applied, the drop
 * reason if any, what would be learned, and every frame that would be
 * transmitted (port, bytes in hex, and for tunnel frames the remote VTEP
 * and id).
 */
#ifndef TSW_TRACE_H
#define TSW_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <rte_mempool.h>
#include "tsw_dp.h"
#include "tsw_sg.h"

struct tsw_trace;

struct tsw_trace *tsw_trace_create(const struct tsw_dp *dp, struct rte_mempool *pool);
void tsw_trace_free(struct tsw_trace *t);

/* in: VM port index or TSW_OUT_UPLINK. Returns a result object, or NULL
 * with a reason in err (no mbuf, frame too large). */
/* why: what the security groups' filters decided (by = 0 and rs NULL when
 * none was met); the filters change no connection for a trace. */
json_t *tsw_trace_run(struct tsw_trace *t, uint16_t in, const uint8_t *frame, size_t len,
		      uint64_t now_ms, struct tsw_sg_why *why, char *err, size_t errlen);

#endif
