/* SPDX-License-Identifier: BSD-3-Clause
 * Learn events: ring creation and the writer-side drain. See tsw_learn.h.
 */
#include "tsw_learn.h"

struct rte_ring *
tsw_learn_ring_create(const char *name, unsigned int size, int socket)
{
	return rte_ring_create_elem(name, sizeof(struct tsw_learn_ev), size, socket,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
}

static bool
still_valid(const struct tsw_dp *dp, const struct tsw_learn_ev *ev)
{
	uint16_t net = ev->key.net;

	if (net >= TSW_MAX_NETS || !dp->nets[net].in_use)
		return false;
	if (ev->kind == TSW_FDB_LOCAL) {
		uint16_t p = ev->dest;
		if (tsw_dest_is_phys(p))
			return dp->nets[net].kind != TSW_NET_TUNNEL;
		return !tsw_dest_is_tunnel(p) && p < TSW_MAX_PORTS &&
		       dp->ports[p].in_use && dp->ports[p].net == net;
	}
	if (ev->kind == TSW_FDB_TUNNEL && tsw_dest_is_tunnel(ev->dest)) {
		enum tsw_tun_type t = tsw_dest_tun_type(ev->dest);
		return t == dp->nets[net].type &&
		       dp->tunnels[t][tsw_dest_index(ev->dest)].in_use;
	}
	return false;
}

unsigned int
tsw_learn_drain(struct tsw_dp *dp, struct rte_ring *r, unsigned int max,
		struct tsw_learn_stats *st)
{
	struct tsw_learn_ev ev[64];
	unsigned int total = 0, n;

	do {
		n = rte_ring_sc_dequeue_burst_elem(r, ev, sizeof(ev[0]),
						   RTE_MIN((unsigned int)RTE_DIM(ev), max - total),
						   NULL);
		for (unsigned int i = 0; i < n; i++) {
			if (!still_valid(dp, &ev[i])) {
				st->ignored_stale++;
				continue;
			}
			switch (tsw_fdb_learn(dp->fdb, &ev[i].key, (enum tsw_fdb_kind)ev[i].kind,
					      ev[i].dest, ev[i].seen_ms)) {
			case TSW_FDB_LEARN_NEW: st->applied_new++; break;
			case TSW_FDB_LEARN_MOVED: st->applied_moved++; break;
			case TSW_FDB_LEARN_REFRESHED: st->applied_refresh++; break;
			case TSW_FDB_LEARN_STATIC: st->ignored_static++; break;
			case TSW_FDB_LEARN_FULL: st->table_full++; break;
			case TSW_FDB_LEARN_LIMIT: st->limited++; break;
			}
		}
		total += n;
	} while (n == RTE_DIM(ev) && total < max);
	return total;
}
