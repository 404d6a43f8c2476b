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
 */
#ifndef TSW_CTLSRV_H
#define TSW_CTLSRV_H

#include <stddef.h>

#include "tsw_ctlexec.h"
#include "tsw_ctlsock.h"

struct tsw_ctlsrv;

/* Opens the socket (c) and starts the thread; NULL with err. */
struct tsw_ctlsrv *tsw_ctlsrv_start(const struct tsw_ctlsock_conf *c, struct tsw_ctl *ctl,
				    struct tsw_ctlexec *x, char *err, size_t errlen);
/* Stops the thread and closes the socket (waits for the thread). */
void tsw_ctlsrv_stop(struct tsw_ctlsrv *s);

#endif
