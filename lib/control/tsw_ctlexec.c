/* SPDX-License-Identifier: BSD-3-Clause
 * Control requests on the table writer: rings in and out, a FIFO of table
 * changes, plans applied in steps within a time slice.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_ring.h>

#include "tsw_clock.h"
#include "tsw_ctlexec.h"

#define STEP_CHANGES 16     /* table changes between two looks at the clock */

struct tsw_ctlexec {
	struct tsw_ctl *ctl;
	struct tsw_ctlexec_conf c;
	struct rte_ring *in, *out;
	int in_fd, out_fd;           /* eventfds: requests waiting, answers waiting */
	unsigned int out_n;          /* submitted and not collected (control thread) */
	/* table writer: changes in arrival order */
	struct tsw_ctlmsg **fifo;
	unsigned int cap, head, len;
	struct tsw_ctlmsg **done;    /* answered in this run, not yet handed back */
	unsigned int n_done;
	bool waiting;                /* the head waits for rule sets (tsw_ctl_write) */
	struct tsw_ctlexec_stats st;
};

void
tsw_ctlmsg_free(struct tsw_ctlmsg *m)
{
	if (m == NULL)
		return;
	json_decref(m->req);
	json_decref(m->reply);
	tsw_dumpacc_free(m->dump);
	tsw_ctl_job_free(m->job);
	free(m);
}

struct tsw_ctlexec *
tsw_ctlexec_create(struct tsw_ctl *ctl, const struct tsw_ctlexec_conf *c)
{
	static unsigned int seq;
	struct tsw_ctlexec *x = calloc(1, sizeof(*x));
	char name[RTE_RING_NAMESIZE];
	unsigned int size;

	if (x == NULL)
		return NULL;
	x->ctl = ctl;
	x->c = *c;
	x->in_fd = x->out_fd = -1;
	x->cap = c->max_in_flight;
	tsw_ctl_set_sliced(ctl);
	size = rte_align32pow2(c->max_in_flight + 1);
	snprintf(name, sizeof(name), "tsw_ctl_in%u", seq);
	x->in = rte_ring_create(name, size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "tsw_ctl_out%u", seq++);
	x->out = rte_ring_create(name, size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	x->in_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	x->out_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	x->fifo = calloc(x->cap ? x->cap : 1, sizeof(*x->fifo));
	x->done = calloc(x->cap ? x->cap : 1, sizeof(*x->done));
	if (x->in == NULL || x->out == NULL || x->in_fd < 0 || x->out_fd < 0 || x->fifo == NULL ||
	    x->done == NULL) {
		tsw_ctlexec_free(x);
		return NULL;
	}
	return x;
}

void
tsw_ctlexec_free(struct tsw_ctlexec *x)
{
	void *m;

	if (x == NULL)
		return;
	while (x->in != NULL && rte_ring_sc_dequeue(x->in, &m) == 0)
		tsw_ctlmsg_free(m);
	while (x->out != NULL && rte_ring_sc_dequeue(x->out, &m) == 0)
		tsw_ctlmsg_free(m);
	for (unsigned int i = 0; i < x->len; i++)
		tsw_ctlmsg_free(x->fifo[(x->head + i) % x->cap]);
	for (unsigned int i = 0; i < x->n_done; i++)
		tsw_ctlmsg_free(x->done[i]);
	rte_ring_free(x->in);
	rte_ring_free(x->out);
	if (x->in_fd >= 0)
		close(x->in_fd);
	if (x->out_fd >= 0)
		close(x->out_fd);
	free(x->fifo);
	free(x->done);
	free(x);
}

static void
kick(int fd)
{
	uint64_t one = 1;
	ssize_t w = write(fd, &one, sizeof(one));   /* EAGAIN: already pending */

	(void)w;
}

/* ---- control thread ---------------------------------------------------- */

int
tsw_ctlexec_submit(struct tsw_ctlexec *x, struct tsw_ctlmsg *m)
{
	if (x->out_n >= x->c.max_in_flight || rte_ring_sp_enqueue(x->in, m) != 0)
		return -1;
	x->out_n++;
	kick(x->in_fd);
	return 0;
}

struct tsw_ctlmsg *
tsw_ctlexec_collect(struct tsw_ctlexec *x)
{
	void *m;

	if (rte_ring_sc_dequeue(x->out, &m) != 0)
		return NULL;
	x->out_n--;
	return m;
}

int
tsw_ctlexec_answer_fd(const struct tsw_ctlexec *x)
{
	return x->out_fd;
}

/* ---- table writer ------------------------------------------------------ */

static void
answer(struct tsw_ctlexec *x, struct tsw_ctlmsg *m, json_t *reply)
{
	m->reply = reply;   /* NULL: out of memory, the thread answers that */
	x->done[x->n_done++] = m;
}

static void
lock(struct tsw_ctlexec *x)
{
	if (x->c.lock != NULL)
		x->c.lock();
}

static void
unlock(struct tsw_ctlexec *x)
{
	if (x->c.unlock != NULL)
		x->c.unlock();
}

unsigned int
tsw_ctlexec_run(struct tsw_ctlexec *x, uint64_t now_ms)
{
	unsigned int work = 0;
	bool changed = false, answered_change = false;
	uint64_t t0, spent;
	void *v;

	/* new requests: reads answered now, changes queued in order */
	while (rte_ring_sc_dequeue(x->in, &v) == 0) {
		struct tsw_ctlmsg *m = v;

		if (m->cls == TSW_CTL_READ) {
			lock(x);
			answer(x, m, tsw_ctl_request(x->ctl, m->req, now_ms));
			unlock(x);
			x->st.reads++;
			work++;
		} else {
			x->fifo[(x->head + x->len++) % x->cap] = m;
		}
	}
	/* changes, for up to slice_us */
	t0 = tsw_mono_us();
	for (unsigned int k = 0; x->len > 0; k++) {
		struct tsw_ctlmsg *m = x->fifo[x->head];
		json_t *reply;
		bool pending;

		if (k > 0 && tsw_mono_us() - t0 >= x->c.slice_us) {
			x->st.slices_cut++;
			break;
		}
		lock(x);
		if (!m->applied) {
			if (m->job != NULL) {
				reply = tsw_ctl_job_step(x->ctl, m->job, STEP_CHANGES);
				x->st.steps++;
			} else {
				reply = tsw_ctl_write(x->ctl, m->req, now_ms, &x->waiting);
				if (x->waiting) {
					/* its rule sets are being built: later
					 * changes wait behind it */
					unlock(x);
					break;
				}
			}
			m->applied = m->job == NULL || reply != NULL;
			m->reply = reply;
		} else {
			/* what a deleted owner left behind, before the answer */
			tsw_ctl_drain(x->ctl, STEP_CHANGES);
			x->st.steps++;
		}
		pending = !m->applied || tsw_ctl_drain(x->ctl, 0);
		unlock(x);
		work++;
		changed = true;
		if (pending)
			continue;   /* more of the plan, or of the deletions */
		x->head = (x->head + 1) % x->cap;
		x->len--;
		x->st.writes++;
		answered_change = true;
		answer(x, m, m->reply);
	}
	spent = tsw_mono_us() - t0;
	if (changed && spent > x->st.max_slice_us)
		x->st.max_slice_us = spent;
	if (x->n_done == 0)
		return work;
	if (answered_change && x->c.publish != NULL)
		x->c.publish(x->c.arg);
	for (unsigned int i = 0; i < x->n_done; i++)
		rte_ring_sp_enqueue(x->out, x->done[i]);   /* sized for every message */
	x->n_done = 0;
	kick(x->out_fd);
	return work;
}

void
tsw_ctlexec_wait(struct tsw_ctlexec *x, unsigned int timeout_us)
{
	struct pollfd p[2] = { { .fd = x->in_fd, .events = POLLIN },
			       { .fd = tsw_ctl_wait_fd(x->ctl), .events = POLLIN } };
	struct timespec ts = { .tv_sec = timeout_us / 1000000,
			       .tv_nsec = (long)(timeout_us % 1000000) * 1000 };
	uint64_t v;

	if ((x->len > 0 && !x->waiting) || !rte_ring_empty(x->in))
		return;
	/* waiting for rule sets: until they are built (tsw_ctl_write reads
	 * that eventfd), or a request comes */
	if (ppoll(p, x->waiting && p[1].fd >= 0 ? 2 : 1, &ts, NULL) > 0 &&
	    (p[0].revents & POLLIN)) {
		ssize_t r = read(x->in_fd, &v, sizeof(v));
		(void)r;
	}
}

void
tsw_ctlexec_stats(const struct tsw_ctlexec *x, struct tsw_ctlexec_stats *st)
{
	*st = x->st;
}
