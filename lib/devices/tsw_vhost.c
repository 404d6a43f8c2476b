/* SPDX-License-Identifier: BSD-3-Clause
 * vhost-user VM ports on DPDK's vhost library (see tsw_vhost.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>
#include <rte_kvargs.h>
#include <rte_log.h>

#include "tsw_vhost.h"
#include "tsw_vhostarg.h"

#define MAX_PORTS 1024               /* the library's RTE_MAX_VHOST_DEVICE */

/* Open ports, for the callbacks to find theirs by socket path; the lock is
 * taken by the library's thread and the management thread only, never by
 * a worker, and never held while waiting for anyone. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tsw_vhost *reg[MAX_PORTS];
static struct rte_rcu_qsbr *workers_qsbr;   /* atomic */

void
tsw_vhost_set_qsbr(struct rte_rcu_qsbr *qsbr)
{
	__atomic_store_n(&workers_qsbr, qsbr, __ATOMIC_RELEASE);
}

int
tsw_vhost_is_vhost(const char *devargs)
{
	char path[TSW_SOCKPATH_MAX + 1];
	bool client;

	/* a path too long is still a vhost-user port (refused when opened) */
	return tsw_vhost_devargs_iface(devargs, path, sizeof(path), &client) != 0;
}

/* The port registered under the library's device vid (by its socket path),
 * with reg_lock held; NULL when none. */
static struct tsw_vhost *
find_locked(int vid)
{
	char ifname[TSW_SOCKPATH_MAX + 1];

	if (rte_vhost_get_ifname(vid, ifname, sizeof(ifname)) != 0)
		return NULL;
	for (unsigned int i = 0; i < MAX_PORTS; i++)
		if (reg[i] != NULL && strcmp(reg[i]->path, ifname) == 0)
			return reg[i];
	return NULL;
}

static bool
negotiated_tso(int vid)
{
	uint64_t f = 0;

	return rte_vhost_get_negotiated_features(vid, &f) == 0 &&
	       (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4)) && (f & (1ULL << VIRTIO_NET_F_GUEST_CSUM));
}

/* The guest's device is ready: publish it to the workers. */
static int
on_new_device(int vid)
{
	struct tsw_vhost *v;
	uint16_t nr;

	pthread_mutex_lock(&reg_lock);
	v = find_locked(vid);
	if (v == NULL) {
		pthread_mutex_unlock(&reg_lock);
		return -1;
	}
	/* the workers poll; the guest need not kick us */
	nr = rte_vhost_get_vring_num(vid);
	for (uint16_t q = 0; q < nr; q++)
		rte_vhost_enable_guest_notification(vid, q, 0);
	__atomic_store_n(&v->guest_tso, negotiated_tso(vid), __ATOMIC_RELAXED);
	__atomic_store_n(&v->vid, vid, __ATOMIC_RELEASE);
	__atomic_add_fetch(&v->connects, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&v->changed, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

/* The library is about to free the device: no worker may touch it once
 * this returns. */
static void
on_destroy_device(int vid)
{
	struct rte_rcu_qsbr *q = __atomic_load_n(&workers_qsbr, __ATOMIC_ACQUIRE);
	struct tsw_vhost *v;

	pthread_mutex_lock(&reg_lock);
	v = find_locked(vid);
	if (v != NULL && __atomic_load_n(&v->vid, __ATOMIC_RELAXED) == vid) {
		__atomic_store_n(&v->vid, -1, __ATOMIC_RELEASE);
		__atomic_store_n(&v->guest_tso, false, __ATOMIC_RELAXED);
		__atomic_store_n(&v->changed, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&reg_lock);
	/* a worker that read the device before is done with its burst after
	 * its next quiescent state */
	if (q != NULL)
		rte_rcu_qsbr_synchronize(q, RTE_QSBR_THRID_INVALID);
}

static int
on_vring_state(int vid, uint16_t queue_id, int enable)
{
	uint16_t qp = queue_id / 2;
	struct tsw_vhost *v;

	pthread_mutex_lock(&reg_lock);
	v = find_locked(vid);
	if (v != NULL && qp >= v->n_qp && enable) {
		/* DPDK 22.11 cannot tell the guest how many pairs the port
		 * offers (it says 128): what it sends on this one is never read */
		__atomic_or_fetch(&v->unserved, 1ULL << (qp < 64 ? qp : 63), __ATOMIC_RELAXED);
		RTE_LOG(WARNING, USER1, "tunsw: %s: the guest enabled queue pair %u, but the port "
			"offers %u (devargs queues=): frames it sends there are not read\n",
			v->name, qp, v->n_qp);
	}
	if (v != NULL && qp < v->n_qp) {
		/* odd vrings: the guest's TX, our RX */
		uint64_t *mask = queue_id & 1 ? &v->rx_on : &v->tx_on;
		if (enable)
			__atomic_or_fetch(mask, 1ULL << qp, __ATOMIC_RELEASE);
		else
			__atomic_and_fetch(mask, ~(1ULL << qp), __ATOMIC_RELEASE);
		__atomic_store_n(&v->changed, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

/* A connection starts or ends: its vrings start disabled (a new guest
 * enables the ones it uses). */
static void
reset_vrings(int vid)
{
	struct tsw_vhost *v;

	pthread_mutex_lock(&reg_lock);
	v = find_locked(vid);
	if (v != NULL) {
		__atomic_store_n(&v->rx_on, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&v->tx_on, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&v->unserved, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&v->changed, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&reg_lock);
}

static int
on_new_connection(int vid)
{
	reset_vrings(vid);
	return 0;
}

static void
on_destroy_connection(int vid)
{
	reset_vrings(vid);
}

static int
on_features_changed(int vid, uint64_t features)
{
	(void)vid;
	(void)features;   /* live migration's dirty logging: nothing to do here */
	return 0;
}

static const struct rte_vhost_device_ops ops = {
	.new_device = on_new_device,
	.destroy_device = on_destroy_device,
	.vring_state_changed = on_vring_state,
	.features_changed = on_features_changed,
	.new_connection = on_new_connection,
	.destroy_connection = on_destroy_connection,
};

/* The options of devargs into v (n_qp, flags, tso): 0, or -1 with the
 * reason. Values were checked by tsw_vhost_devargs_check for run-time
 * ports; config-file ports come here unchecked, so each is checked again. */
static int
parse_options(const char *devargs, struct tsw_vhost *v, bool *tso, char *err, size_t errlen)
{
	static const char *const keys[] = { "iface", "queues", "client", "tso", "linear-buffer",
		"ext-buffer", "iommu-support", "postcopy-support", "legacy-ol-flags", NULL };
	static const uint64_t key_flag[] = { 0, 0, RTE_VHOST_USER_CLIENT, 0,
		RTE_VHOST_USER_LINEARBUF_SUPPORT, RTE_VHOST_USER_EXTBUF_SUPPORT,
		RTE_VHOST_USER_IOMMU_SUPPORT, RTE_VHOST_USER_POSTCOPY_SUPPORT, 0 };
	const char *comma = strchr(devargs, ',');
	size_t nl = comma ? (size_t)(comma - devargs) : strlen(devargs);
	struct rte_kvargs *kv;
	bool legacy = false;
	int rc = -1;

	if (nl >= sizeof(v->name)) {
		snprintf(err, errlen, "device name longer than %zu characters", sizeof(v->name) - 1);
		return -1;
	}
	memcpy(v->name, devargs, nl);
	v->name[nl] = '\0';
	kv = rte_kvargs_parse(comma ? comma + 1 : "", keys);
	if (kv == NULL) {
		snprintf(err, errlen, "'%s': not key=value options of net_vhost (iface, queues, "
			 "client, tso, linear-buffer, ext-buffer, iommu-support, postcopy-support, "
			 "legacy-ol-flags)", devargs);
		return -1;
	}
	v->n_qp = 1;
	*tso = false;
	/* 0 has no flag */
	v->flags = 0;
	for (unsigned int i = 0; i < kv->count; i++) {
		const char *k = kv->pairs[i].key, *val = kv->pairs[i].value;
		unsigned int j;

		for (j = 0; keys[j] != NULL && strcmp(keys[j], k) != 0; j++)
			;
		if (j == 0)
			continue;                      /* iface: the caller's */
		if (j == 1) {
			char *end;
			unsigned long q = strtoul(val, &end, 10);
			if (*val == '\0' || *end != '\0' || q < 1 || q > TSW_VHOST_MAX_QP) {
				snprintf(err, errlen, "queues: '%s' is not 1..%d", val,
					 TSW_VHOST_MAX_QP);
				goto out;
			}
			v->n_qp = (uint16_t)q;
			continue;
		}
		if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0) {
			snprintf(err, errlen, "%s: '%s' is not 0 or 1", k, val);
			goto out;
		}
		if (j == 3)
			*tso = val[0] == '1';
		else if (j == 8)
			legacy = val[0] == '1';
		else if (val[0] == '1')
			v->flags |= key_flag[j];
		else
			v->flags &= ~key_flag[j];
	}
	/* the frames' offload flags as every other PMD sets them (tsw_offload
	 * reads them), unless the legacy ones are asked for */
	if (!legacy)
		v->flags |= RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS;
	v->client = (v->flags & RTE_VHOST_USER_CLIENT) != 0;
	rc = 0;
out:
	rte_kvargs_free(kv);
	return rc;
}

static int
reg_add(struct tsw_vhost *v, char *err, size_t errlen)
{
	int rc = -1;

	pthread_mutex_lock(&reg_lock);
	for (unsigned int i = 0; i < MAX_PORTS; i++)
		if (reg[i] == NULL) {
			reg[i] = v;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	if (rc < 0)
		snprintf(err, errlen, "%d vhost-user ports are open already (the vhost library's "
			 "limit)", MAX_PORTS);
	return rc;
}

static void
reg_del(struct tsw_vhost *v)
{
	pthread_mutex_lock(&reg_lock);
	for (unsigned int i = 0; i < MAX_PORTS; i++)
		if (reg[i] == v)
			reg[i] = NULL;
	pthread_mutex_unlock(&reg_lock);
}

int
tsw_vhost_open(const char *devargs, struct rte_mempool *pool, struct tsw_vhost *out,
	       char *err, size_t errlen)
{
	char why[256];
	bool tso;
	int r;

	memset(out, 0, sizeof(*out));
	out->vid = -1;
	out->pool = pool;
	out->pin.fd = -1;
	r = tsw_vhost_devargs_iface(devargs, out->sock, sizeof(out->sock), &out->client);
	if (r < 0) {
		snprintf(err, errlen, "iface: socket path longer than %d bytes (what a socket "
			 "address holds)", TSW_SOCKPATH_MAX);
		return -1;
	}
	if (r == 0) {
		snprintf(err, errlen, "iface (the vhost-user socket path) is required");
		return -1;
	}
	if (parse_options(devargs, out, &tso, err, errlen) < 0)
		return -1;
	if (!out->client) {
		if (tsw_sockpath_claim(out->sock, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "iface: %s", why);
			return -1;
		}
		snprintf(out->path, sizeof(out->path), "%s", out->sock);
	} else {
		if (tsw_sockpath_pin(&out->pin, out->sock, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "iface: %s", why);
			return -1;
		}
		snprintf(out->path, sizeof(out->path), "%s", out->pin.via);
	}
	if (reg_add(out, err, errlen) < 0)
		goto fail_pin;
	if (rte_vhost_driver_register(out->path, out->flags) != 0) {
		snprintf(err, errlen, "iface: the vhost library refused %s (see the log)",
			 out->sock);
		goto fail_reg;
	}
	out->registered = true;
	/* without tso=1 the guest segments itself, as with net_vhost */
	if ((!tso && rte_vhost_driver_disable_features(out->path,
			(1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6)) != 0) ||
	    rte_vhost_driver_callback_register(out->path, &ops) != 0 ||
	    rte_vhost_driver_start(out->path) != 0) {
		snprintf(err, errlen, "iface: cannot start vhost-user socket %s (see the log)",
			 out->sock);
		goto fail_reg;
	}
	return 0;
fail_reg:
	if (out->registered)
		rte_vhost_driver_unregister(out->path);
	out->registered = false;
	reg_del(out);
fail_pin:
	tsw_sockpath_unpin(&out->pin);
	return -1;
}

void
tsw_vhost_close(struct tsw_vhost *v)
{
	if (v->registered) {
		/* the library destroys the guest's device first (our callback
		 * waits for the workers); it waits itself while its thread is
		 * inside a callback of this socket */
		rte_vhost_driver_unregister(v->path);
		v->registered = false;
	}
	reg_del(v);
	__atomic_store_n(&v->vid, -1, __ATOMIC_RELEASE);
	tsw_sockpath_unpin(&v->pin);
}

bool
tsw_vhost_sock_refresh(struct tsw_vhost *v)
{
	return v->client && tsw_sockpath_refresh(&v->pin);
}
