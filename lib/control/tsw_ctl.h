/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: control requests (the control socket's and replay --control's).
 *
 * A request is one JSON object: {"id": ANY, "op": "NAME", ...arguments}.
 * The reply echoes the id: {"id": ..., "ok": true, "result": ...} or
 * {"id": ..., "ok": false, "error": "FIELD: REASON", "field": FIELD,
 * "reason": REASON}. doc/control-api.md lists every operation.
 *
 * Contract: only the table writer calls tsw_ctl_*(). A request is fully
 * validated before anything changes; a refused request leaves every table
 * unchanged. When tsw_ctl_handle() returns, the change has been published
 * to workers (the caller adds the RCU grace period it wants before it
 * answers). Counters shown are the workers' sums minus a baseline that
 * counters_reset moves and that a newly created port, network or tunnel
 * starts at zero from.
 */
#ifndef TSW_CTL_H
#define TSW_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <rte_mempool.h>

#include "tsw_counters.h"
#include "tsw_dp.h"
#include "tsw_mgmt.h"

/* VM port hot-plug, done by the embedding program (the daemon opens the
 * device and gives its queues to a worker; the replay harness opens an
 * output pcap). Both return the tables' port index or -1 with a reason. */
struct tsw_ctl_hooks {
	/* pol: the port's policy, in force before it carries a frame (NULL: none) */
	int (*port_add)(void *arg, const char *name, const char *devargs, uint16_t net,
			const struct tsw_port_policy *pol, char *err, size_t errlen);
	int (*port_del)(void *arg, uint16_t port, char *err, size_t errlen);
	/* Extra per-worker facts for show_workers (lcore...), may be NULL. */
	void (*worker_info)(void *arg, unsigned int worker, json_t *o);
	/* Extra per-port facts for show_ports (TX queues in use), may be NULL. */
	void (*port_info)(void *arg, const char *port, json_t *o);
	/* Extra facts for show_counters' "control" (the daemon's request
	 * slicing), may be NULL. */
	void (*control_info)(void *arg, json_t *o);
	/* Capture output out (a VM port index or TSW_OUT_UPLINK, named port)
	 * into file (a checked name, created in the daemon's capture
	 * directory), up to count frames of at most snaplen bytes; file NULL:
	 * stop it. 0, or -1 with the reason. */
	int (*capture)(void *arg, uint16_t out, const char *port, const char *file,
		       uint32_t count, uint32_t snaplen, char *err, size_t errlen);
	/* show_captures: the running and finished captures, into list. */
	void (*captures)(void *arg, json_t *list);
	void *arg;
};

struct tsw_ctl;

/* wc[0..n_wc-1]: the workers' counters (read only). pool: for trace. */
struct tsw_ctl *tsw_ctl_create(struct tsw_dp *dp, struct tsw_mgmt *mg,
			       struct tsw_counters *const *wc, unsigned int n_wc,
			       struct rte_mempool *pool, const struct tsw_ctl_hooks *hooks);
void tsw_ctl_free(struct tsw_ctl *ctl);

/* Handle one request (len bytes, no newline). Returns the reply, a
 * malloc'd NUL-terminated line without the newline; NULL only when out of
 * memory. now_ms is the dataplane clock. */
char *tsw_ctl_handle(struct tsw_ctl *ctl, const char *req, size_t len, uint64_t now_ms);

/* The same for a parsed request; returns the reply object. */
json_t *tsw_ctl_request(struct tsw_ctl *ctl, const json_t *req, uint64_t now_ms);

/* The reply to a line that is not JSON (jansson's error), counted. */
json_t *tsw_ctl_parse_error(struct tsw_ctl *ctl, const json_error_t *je);

/* Requests in steps, for a control thread beside the table writer (the
 * daemon): a request is classified on that thread; an l2population
 * payload (TSW_CTL_L2POP) is also validated and planned there, and the
 * table writer applies the plan in bounded steps with other work (learn
 * events, read requests) between them. Ordering the table writer must
 * keep: requests that change tables (every class but READ) in arrival
 * order; READ requests may run between steps. tsw_ctl_prepare() reads the
 * networks: call it only while no TSW_CTL_NETS request is queued or being
 * applied. */
enum tsw_ctl_class {
	TSW_CTL_READ,     /* show_*, help, trace, and whatever is refused unread */
	TSW_CTL_WRITE,    /* changes tables */
	TSW_CTL_NETS,     /* changes the networks (network_add, network_del) */
	TSW_CTL_L2POP,    /* add/remove/update_fdb_entries: prepare, then steps */
};
enum tsw_ctl_class tsw_ctl_classify(const json_t *req);

struct tsw_ctl_job;
/* Any thread (see above). Returns the job, or NULL with the refusal in
 * *reply (the tables untouched). */
struct tsw_ctl_job *tsw_ctl_prepare(struct tsw_ctl *ctl, const json_t *req, json_t **reply);
/* Table writer: apply up to max_changes more of the job. Returns the
 * reply once the job is finished (then free the job), else NULL. */
json_t *tsw_ctl_job_step(struct tsw_ctl *ctl, struct tsw_ctl_job *job, size_t max_changes);
void tsw_ctl_job_free(struct tsw_ctl_job *job);
/* From now on requests leave what deleted owners leave behind to the
 * caller's tsw_dp_drain() steps (tsw_ctlexec); otherwise every request
 * deletes it before it returns. */
void tsw_ctl_set_sliced(struct tsw_ctl *ctl);
/* Table writer: delete up to max of what deleted owners left behind (0:
 * only look); true while more is left. */
bool tsw_ctl_drain(struct tsw_ctl *ctl, unsigned int max);

/* Table writer, sliced (the daemon): a change, as tsw_ctl_request(),
 * except that the rule sets it needs are built on a control thread
 * (tsw_secgroups): while they are, NULL and *wait; make the same request
 * again (no other change between) once tsw_ctl_wait_fd() is readable or
 * later, until it answers. A request that keeps wanting new rule sets
 * (the model changed under it) is built here on its third try. */
json_t *tsw_ctl_write(struct tsw_ctl *ctl, const json_t *req, uint64_t now_ms, bool *wait);
int tsw_ctl_wait_fd(const struct tsw_ctl *ctl);

/* The underlay slow path whose neighbors and statistics to show. */
struct tsw_underlay;
void tsw_ctl_set_underlay(struct tsw_ctl *ctl, struct tsw_underlay *ul);

/* The one directory whose vhost-user sockets port_add may use ([control]
 * vhost_socket_dir); until it is set, port_add is refused. */
void tsw_ctl_set_vhost_dir(struct tsw_ctl *ctl, const char *dir);

/* Current counters (sum minus baseline) into out. */
void tsw_ctl_counters(struct tsw_ctl *ctl, struct tsw_counters *out);

#endif
