/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: control requests handed from the control thread to the table
 * writer, and applied there in bounded slices.
 *
 * Contract: two sides, one thread each. The control thread (tsw_ctlsrv)
 * parses a request, classifies it (tsw_ctl_classify), plans an
 * l2population payload (tsw_ctl_prepare) and submits a message; the table
 * writer (the management lcore) calls tsw_ctlexec_run() in its loop, which
 * answers read requests at once, applies table changes in arrival order
 * and never spends more than slice_us of one call on them (a large plan is
 * applied a step at a time over several calls, learn events between
 * them; so are the entries a deleted network, port or tunnel leaves
 * behind, tsw_dp_drain: the request that deleted it is answered once they
 * are gone; a change whose rule sets are being built off this thread,
 * tsw_ctl_write, waits for them without holding the loop, the changes
 * behind it queued), then publishes (e.g. waits for an RCU grace period) before it
 * hands answers back. The control thread collects answered messages.
 * Lock-free rings carry the messages; an eventfd on each side wakes the
 * other. At most max_in_flight messages may be submitted and not yet
 * collected.
 */
#ifndef TSW_CTLEXEC_H
#define TSW_CTLEXEC_H

#include <stdint.h>
#include <jansson.h>

#include "tsw_ctl.h"
#include "tsw_dumpacc.h"

struct tsw_ctlmsg {
	uint64_t client;             /* the control socket's client */
	enum tsw_ctl_class cls;
	json_t *req;                 /* the request (NULL once planned into job) */
	struct tsw_ctl_job *job;     /* TSW_CTL_L2POP: the planned payload */
	json_t *reply;               /* set by the table writer */
	bool applied;                /* table writer: reply set, deletions may go on */
	struct tsw_dumpacc *dump;    /* an unpaged show_fdb/show_arp served page by
				      * page: the entries so far (tsw_ctlsrv) */
};

void tsw_ctlmsg_free(struct tsw_ctlmsg *m);

struct tsw_ctlexec_conf {
	unsigned int max_in_flight;
	uint64_t slice_us;           /* table changes per run() call, at most */
	void (*publish)(void *arg);  /* before changes are answered */
	void (*lock)(void);          /* around each request or step (may be NULL) */
	void (*unlock)(void);
	void *arg;
};

struct tsw_ctlexec_stats {
	uint64_t reads, writes, steps, slices_cut;
	uint64_t max_slice_us;       /* the longest run() spent on changes */
};

struct tsw_ctlexec;

struct tsw_ctlexec *tsw_ctlexec_create(struct tsw_ctl *ctl, const struct tsw_ctlexec_conf *c);
/* Frees the messages still inside. Neither side may run any more. */
void tsw_ctlexec_free(struct tsw_ctlexec *x);

/* Control thread. Returns -1 when max_in_flight are out already. */
int tsw_ctlexec_submit(struct tsw_ctlexec *x, struct tsw_ctlmsg *m);
/* An answered message, or NULL. */
struct tsw_ctlmsg *tsw_ctlexec_collect(struct tsw_ctlexec *x);
/* Readable when answers wait (read it empty before collecting). */
int tsw_ctlexec_answer_fd(const struct tsw_ctlexec *x);

/* Table writer. Returns the number of requests answered and steps done. */
unsigned int tsw_ctlexec_run(struct tsw_ctlexec *x, uint64_t now_ms);
/* Sleep up to timeout_us, less when a request is submitted. */
void tsw_ctlexec_wait(struct tsw_ctlexec *x, unsigned int timeout_us);
void tsw_ctlexec_stats(const struct tsw_ctlexec *x, struct tsw_ctlexec_stats *st);

#endif
