/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the control threads. The socket thread owns the control socket
 * (tsw_ctlsock): it reads requests, parses them and hands them to the table
 * writer through tsw_ctlexec, and turns the answers into reply lines. The
 * planner thread parses long requests (over 64 KiB) and validates and plans
 * l2population payloads (tsw_ctl_prepare), so that neither the table writer
 * (the management lcore, which only applies, in slices) nor the other
 * clients wait for that work.
 *
 * Contract: started once the tables, tsw_ctl and tsw_ctlexec exist, and
 * stopped before them. A client's requests are answered in order, one at
 * a time; different clients' reads and small changes pass each other. The
 * planner works only while no network_add or network_del is on its way to
 * the table writer, and those wait while it works, so that a plan sees the
 * networks as the table writer will when it applies the plan.
 *
 * Replies cost memory until their clients read them: all of them together
 * (unread output, and unpaged show_fdb/show_arp being gathered a page at a
 * time, tsw_dumpacc) may hold c->max_reply_memory bytes; an unpaged dump is
 * refused when they hold it already and stopped when it would go beyond,
 * with the reason; a dump whose client went away is no longer built.
 */
#ifndef TSW_CTLSRV_H
#define TSW_CTLSRV_H

#include <stddef.h>
#include <stdint.h>

#include "tsw_ctlexec.h"
#include "tsw_ctlsock.h"

struct tsw_ctlsrv;

/* Opens the socket (c) and starts the thread; NULL with err. */
struct tsw_ctlsrv *tsw_ctlsrv_start(const struct tsw_ctlsock_conf *c, struct tsw_ctl *ctl,
				    struct tsw_ctlexec *x, char *err, size_t errlen);
/* Stops the thread and closes the socket (waits for the thread). */
void tsw_ctlsrv_stop(struct tsw_ctlsrv *s);

struct tsw_ctlsrv_stats {
	uint64_t dump_bytes;          /* held by unpaged dumps being gathered now */
	uint64_t dumps_refused;       /* refused or stopped: max_reply_memory */
	uint64_t dumps_abandoned;     /* stopped: their client went away */
};
/* Any thread (counters read atomically). */
void tsw_ctlsrv_stats(const struct tsw_ctlsrv *s, struct tsw_ctlsrv_stats *st);

#endif
