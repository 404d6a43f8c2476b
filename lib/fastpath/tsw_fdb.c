/* SPDX-License-Identifier: BSD-3-Clause
 * FDB on rte_hash (lock-free readers, one writer, RCU QSBR reclamation).
 */
#include <errno.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_malloc.h>

#include "tsw_fdb.h"
#include "tsw_keylist.h"

/* Keys listed by owner (writer only): by network, by the destination of a
 * static entry (or a composite's static part), by the destination of a
 * learned entry (or a composite's learned part). A destination's list is
 * numbered: a port p is p, a tunnel (t, i) TSW_MAX_PORTS + t * TSW_MAX_TUNNELS + i. */
enum { BY_NET, BY_STATIC, BY_LEARNED, N_LISTS };
#define N_DEST_SLOTS (TSW_MAX_PORTS + TSW_TUN_NTYPES * TSW_MAX_TUNNELS)

struct tsw_fdb {
	struct rte_hash *h;
	struct tsw_keylist *by[N_LISTS];
	uint32_t age_it;             /* ageing: where the current sweep is */
	struct rte_rcu_qsbr *qsbr;   /* NULL: no concurrent readers */
	uint32_t count;              /* live keys (rte_hash_count also counts
					deleted keys awaiting reclamation) */
	struct tsw_fdb_timeouts to;
	/* learned entries present (valid or awaiting ageing), and their caps */
	uint32_t on_port[TSW_MAX_PORTS];
	uint32_t in_net[TSW_MAX_NETS];
	uint32_t cap_port, cap_net;
	uint64_t now_ms;             /* writer: see tick() */
};

/* The learned kind and destination of e (a learned entry or a composite
 * entry's learned part); TSW_FDB_NONE when it has none. */
static enum tsw_fdb_kind
learned_kind(tsw_fdb_entry_t e, uint16_t *dest)
{
	enum tsw_fdb_kind kind = tsw_fdb_entry_kind(e);

	if (tsw_fdb_entry_composite(e)) {
		tsw_fdb_entry_t l = tsw_fdb_learned_part(e, 0, NULL, false);
		*dest = tsw_fdb_entry_dest(l);
		return tsw_fdb_entry_kind(l);
	}
	*dest = tsw_fdb_entry_dest(e);
	return e == 0 || kind == TSW_FDB_STATIC ? TSW_FDB_NONE : kind;
}

/* Count the learned part of entry e of key k in (+1) or out (-1). */
static void
account(struct tsw_fdb *f, const struct tsw_fdb_key *k, tsw_fdb_entry_t e, int d)
{
	uint16_t dest;
	enum tsw_fdb_kind kind = learned_kind(e, &dest);

	if (kind == TSW_FDB_NONE || k->net >= TSW_MAX_NETS)
		return;
	f->in_net[k->net] += (uint32_t)d;
	if (kind == TSW_FDB_LOCAL && !tsw_dest_is_tunnel(dest) && dest < TSW_MAX_PORTS)
		f->on_port[dest] += (uint32_t)d;
}

static uint32_t
dest_slot(uint16_t d)
{
	if (tsw_dest_is_tunnel(d))
		return tsw_dest_index(d) < TSW_MAX_TUNNELS
			? TSW_MAX_PORTS + (uint32_t)tsw_dest_tun_type(d) * TSW_MAX_TUNNELS +
				  tsw_dest_index(d)
			: TSW_KEYLIST_NONE;
	return d < TSW_MAX_PORTS ? d : TSW_KEYLIST_NONE;
}

/* The list of each kind an entry e of key k belongs in. */
static void
lists_of(const struct tsw_fdb_key *k, tsw_fdb_entry_t e, uint32_t *l)
{
	uint16_t dest;

	l[BY_NET] = e != 0 && k->net < TSW_MAX_NETS ? k->net : TSW_KEYLIST_NONE;
	l[BY_STATIC] = e != 0 && tsw_fdb_entry_kind(e) == TSW_FDB_STATIC
			       ? dest_slot(tsw_fdb_entry_dest(e)) : TSW_KEYLIST_NONE;
	l[BY_LEARNED] = learned_kind(e, &dest) != TSW_FDB_NONE ? dest_slot(dest)
							       : TSW_KEYLIST_NONE;
}

/* Key k at position pos changed from old to e (either may be 0: absent). */
static void
relink(struct tsw_fdb *f, int32_t pos, const struct tsw_fdb_key *k, tsw_fdb_entry_t old,
       tsw_fdb_entry_t e)
{
	uint32_t from[N_LISTS], to[N_LISTS];

	if (pos < 0)
		return;
	lists_of(k, old, from);
	lists_of(k, e, to);
	for (int i = 0; i < N_LISTS; i++)
		tsw_keylist_move(f->by[i], (uint32_t)pos, from[i], to[i]);
}

/* Replace k's entry old (at position pos; -1 when old is 0) by e. */
static int
replace(struct tsw_fdb *f, const struct tsw_fdb_key *k, int32_t pos, tsw_fdb_entry_t old,
	tsw_fdb_entry_t e)
{
	if (rte_hash_add_key_data(f->h, k, (void *)(uintptr_t)e) < 0)
		return -ENOSPC;
	if (old == 0) {
		f->count++;
		pos = rte_hash_lookup(f->h, k);
	}
	account(f, k, old, -1);
	account(f, k, e, +1);
	relink(f, pos, k, old, e);
	return 0;
}

/* The writer's clock: the latest time it was told (learn events, ageing),
 * to place a composite entry's learned part in time. */
static void
tick(struct tsw_fdb *f, uint64_t now_ms)
{
	if (now_ms > f->now_ms)
		f->now_ms = now_ms;
}

/* Delete k (entry e); without RCU the slot is freed at once (no reader can
 * hold it). */
static bool
del_key(struct tsw_fdb *f, const struct tsw_fdb_key *k, tsw_fdb_entry_t e)
{
	int32_t pos = rte_hash_del_key(f->h, k);

	if (pos < 0)
		return false;
	relink(f, pos, k, e, 0);
	if (f->qsbr == NULL)
		rte_hash_free_key_with_position(f->h, pos);
	f->count--;
	account(f, k, e, -1);
	return true;
}

void
tsw_fdb_set_limits(struct tsw_fdb *f, uint32_t per_port, uint32_t per_net)
{
	f->cap_port = per_port;
	f->cap_net = per_net;
}

uint32_t
tsw_fdb_learned_on_port(const struct tsw_fdb *f, uint16_t port)
{
	return port < TSW_MAX_PORTS ? f->on_port[port] : 0;
}

uint32_t
tsw_fdb_learned_in_net(const struct tsw_fdb *f, uint16_t net)
{
	return net < TSW_MAX_NETS ? f->in_net[net] : 0;
}

int
tsw_key8_cmp(const void *a, const void *b, size_t len)
{
	uint64_t x, y;

	(void)len;
	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x != y;
}

_Static_assert(sizeof(struct tsw_fdb_key) == 8, "FDB keys compare as one word");

struct tsw_fdb *
tsw_fdb_create(const char *name, uint32_t entries, int socket,
	       struct rte_rcu_qsbr *qsbr, const struct tsw_fdb_timeouts *to)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = entries,
		.key_len = sizeof(struct tsw_fdb_key),
		.hash_func = tsw_hash8,   /* keyed; tsw_hash_sig8() is the same inline */
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_hash_rcu_config rc = {
		.v = qsbr,
		.mode = RTE_HASH_QSBR_MODE_DQ,
	};
	struct tsw_fdb *f = rte_zmalloc_socket(name, sizeof(*f), 0, socket);

	if (f == NULL)
		return NULL;
	f->to = *to;
	f->qsbr = qsbr;
	f->h = rte_hash_create(&hp);
	if (f->h == NULL) {
		rte_free(f);
		return NULL;
	}
	rte_hash_set_cmp_func(f->h, tsw_key8_cmp);
	{
		uint32_t n_pos = (uint32_t)rte_hash_max_key_id(f->h) + 1;
		f->by[BY_NET] = tsw_keylist_create(n_pos, TSW_MAX_NETS);
		f->by[BY_STATIC] = tsw_keylist_create(n_pos, N_DEST_SLOTS);
		f->by[BY_LEARNED] = tsw_keylist_create(n_pos, N_DEST_SLOTS);
	}
	if (f->by[BY_NET] == NULL || f->by[BY_STATIC] == NULL || f->by[BY_LEARNED] == NULL ||
	    (qsbr != NULL && rte_hash_rcu_qsbr_add(f->h, &rc) != 0)) {
		tsw_fdb_free(f);
		return NULL;
	}
	return f;
}

void
tsw_fdb_free(struct tsw_fdb *f)
{
	if (f == NULL)
		return;
	for (int i = 0; i < N_LISTS; i++)
		tsw_keylist_free(f->by[i]);
	rte_hash_free(f->h);
	rte_free(f);
}

const struct tsw_fdb_timeouts *
tsw_fdb_timeouts(const struct tsw_fdb *f)
{
	return &f->to;
}

void
tsw_fdb_lookup_bulk(const struct tsw_fdb *f, const struct tsw_fdb_key **keys,
		    unsigned int n, uint64_t now_ms, tsw_fdb_entry_t *out)
{
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	hash_sig_t sig[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t hits = 0;

	if (n == 0)
		return;
	for (unsigned int i = 0; i < n; i++)
		sig[i] = tsw_hash_sig8(keys[i]);
	rte_hash_lookup_with_hash_bulk_data(f->h, (const void **)keys, sig, n, &hits, data);
	for (unsigned int i = 0; i < n; i++) {
		tsw_fdb_entry_t e = (hits >> i) & 1 ? (tsw_fdb_entry_t)(uintptr_t)data[i] : 0;
		out[i] = tsw_fdb_entry_valid(e, now_ms, &f->to) ? e : 0;
	}
}

tsw_fdb_entry_t
tsw_fdb_get(const struct tsw_fdb *f, const struct tsw_fdb_key *k, uint64_t now_ms)
{
	void *d;

	if (rte_hash_lookup_data(f->h, k, &d) < 0)
		return 0;
	tsw_fdb_entry_t e = (tsw_fdb_entry_t)(uintptr_t)d;
	return tsw_fdb_entry_valid(e, now_ms, &f->to) ? e : 0;
}

/* k's entry (0: none) and its position (-1: none). */
static tsw_fdb_entry_t
raw_get(const struct tsw_fdb *f, const struct tsw_fdb_key *k, int32_t *pos)
{
	void *d;

	*pos = rte_hash_lookup_data(f->h, k, &d);
	return *pos < 0 ? 0 : (tsw_fdb_entry_t)(uintptr_t)d;
}

enum tsw_fdb_learn_result
tsw_fdb_learn(struct tsw_fdb *f, const struct tsw_fdb_key *k,
	      enum tsw_fdb_kind kind, uint16_t dest, uint64_t now_ms)
{
	int32_t pos;
	tsw_fdb_entry_t old = raw_get(f, k, &pos), prev = old, e;
	bool is_static = tsw_fdb_entry_kind(old) == TSW_FDB_STATIC;
	enum tsw_fdb_learn_result r;
	uint16_t pdest;
	enum tsw_fdb_kind pkind;

	tick(f, now_ms);
	if (tsw_fdb_entry_composite(old))
		prev = tsw_fdb_learned_part(old, f->now_ms, &f->to, false);
	else if (is_static)
		prev = 0;   /* nothing learned under it yet */
	pkind = learned_kind(prev, &pdest);
	if (prev == 0 || !tsw_fdb_entry_valid(prev, now_ms, &f->to))
		r = TSW_FDB_LEARN_NEW;
	else if (pdest != dest || pkind != kind)
		r = TSW_FDB_LEARN_MOVED;
	else
		r = TSW_FDB_LEARN_REFRESHED;
	/* the caps, counting what the old entry already takes */
	if (k->net < TSW_MAX_NETS && f->cap_net != 0 && pkind == TSW_FDB_NONE &&
	    f->in_net[k->net] >= f->cap_net)
		return TSW_FDB_LEARN_LIMIT;
	if (kind == TSW_FDB_LOCAL && dest < TSW_MAX_PORTS && f->cap_port != 0 &&
	    !(pkind == TSW_FDB_LOCAL && pdest == dest) && f->on_port[dest] >= f->cap_port)
		return TSW_FDB_LEARN_LIMIT;
	/* Never move last-seen backwards (events from several workers). */
	if (r == TSW_FDB_LEARN_REFRESHED && tsw_fdb_entry_ms(prev) > now_ms)
		now_ms = tsw_fdb_entry_ms(prev);
	e = is_static ? tsw_fdb_composite_make((uint16_t)old, kind, dest, now_ms)
		      : tsw_fdb_entry_make(kind, dest, now_ms);
	if (replace(f, k, pos, old, e) < 0)
		return TSW_FDB_LEARN_FULL;
	/* under a static entry, a tunnel-learned part is remembered only */
	return is_static && kind == TSW_FDB_TUNNEL ? TSW_FDB_LEARN_STATIC : r;
}

int
tsw_fdb_add_static(struct tsw_fdb *f, const struct tsw_fdb_key *k, uint16_t dest)
{
	int32_t pos;
	tsw_fdb_entry_t old = raw_get(f, k, &pos), e;
	uint16_t ldest;
	enum tsw_fdb_kind lk = learned_kind(old, &ldest);

	if (lk == TSW_FDB_NONE)
		e = tsw_fdb_entry_make(TSW_FDB_STATIC, dest, 0);
	else if (tsw_fdb_entry_composite(old))
		e = (old & ~(tsw_fdb_entry_t)0xffff) | dest;
	else   /* what was learned stays, under the static entry */
		e = tsw_fdb_composite_make(dest, lk, ldest, tsw_fdb_entry_ms(old));
	return replace(f, k, pos, old, e);
}

/* A composite entry without its static part: its learned part alone. */
static tsw_fdb_entry_t
unstatic(const struct tsw_fdb *f, tsw_fdb_entry_t e)
{
	return tsw_fdb_learned_part(e, f->now_ms, &f->to, false);
}

int
tsw_fdb_del(struct tsw_fdb *f, const struct tsw_fdb_key *k, enum tsw_fdb_kind only_kind)
{
	int32_t pos;
	tsw_fdb_entry_t e = raw_get(f, k, &pos);

	if (e == 0)
		return 0;
	if (only_kind != TSW_FDB_NONE && tsw_fdb_entry_kind(e) != only_kind)
		return 0;
	if (only_kind == TSW_FDB_STATIC && tsw_fdb_entry_composite(e))
		return replace(f, k, pos, e, unstatic(f, e)) == 0 ? 1 : 0;
	return del_key(f, k, e) ? 1 : 0;
}

/* Entry e of key k (at pos) becomes c (0: deleted). */
static void
apply(struct tsw_fdb *f, const struct tsw_fdb_key *k, int32_t pos, tsw_fdb_entry_t e,
      tsw_fdb_entry_t c)
{
	if (c == 0)
		del_key(f, k, e);
	else
		replace(f, k, pos, e, c);   /* the key exists */
}

static tsw_fdb_entry_t
aged(const struct tsw_fdb *f, tsw_fdb_entry_t e, uint64_t now_ms)
{
	if (tsw_fdb_entry_composite(e))   /* the learned part expires, the static stays */
		return tsw_fdb_learned_part(e, now_ms, &f->to, true) != 0
			? e : tsw_fdb_entry_make(TSW_FDB_STATIC, (uint16_t)e, 0);
	if (tsw_fdb_entry_kind(e) == TSW_FDB_STATIC || tsw_fdb_entry_valid(e, now_ms, &f->to))
		return e;
	return 0;
}

unsigned int
tsw_fdb_age(struct tsw_fdb *f, uint64_t now_ms, unsigned int budget, bool *swept)
{
	struct tsw_fdb_key batch[256];
	tsw_fdb_entry_t ent[256], to[256];
	unsigned int total = 0, seen = 0, n;
	const void *key;
	void *data;
	bool end = false;

	tick(f, now_ms);
	while (!end && seen < budget) {
		/* changes are collected, then made: never in the middle of a walk */
		for (n = 0; n < RTE_DIM(batch) && seen < budget; seen++) {
			if (rte_hash_iterate(f->h, &key, &data, &f->age_it) < 0) {
				end = true;
				break;
			}
			tsw_fdb_entry_t e = (tsw_fdb_entry_t)(uintptr_t)data, c = aged(f, e, now_ms);
			if (c != e) {
				ent[n] = e;
				to[n] = c;
				memcpy(&batch[n++], key, sizeof(batch[0]));
			}
		}
		for (unsigned int i = 0; i < n; i++) {
			int32_t pos = rte_hash_lookup(f->h, &batch[i]);
			apply(f, &batch[i], pos, ent[i], to[i]);
		}
		total += n;
	}
	if (end)
		f->age_it = 0;
	if (swept != NULL)
		*swept = end;
	return total;
}

static tsw_fdb_entry_t
without_dest(const struct tsw_fdb *f, tsw_fdb_entry_t e, uint16_t dest, bool statics)
{
	uint16_t ldest;
	enum tsw_fdb_kind lk = learned_kind(e, &ldest);
	bool static_there = tsw_fdb_entry_kind(e) == TSW_FDB_STATIC &&
			    tsw_fdb_entry_dest(e) == dest && statics;
	bool learned_there = lk != TSW_FDB_NONE && ldest == dest;

	if (!tsw_fdb_entry_composite(e))
		return static_there || learned_there ? 0 : e;
	if (static_there)
		return learned_there ? 0 : unstatic(f, e);
	if (learned_there)
		return tsw_fdb_entry_make(TSW_FDB_STATIC, (uint16_t)e, 0);
	return e;
}

/* The key at position pos of list l (its first), into k. */
static int
key_at(const struct tsw_fdb *f, uint32_t pos, struct tsw_fdb_key *k)
{
	void *kp;

	if (pos == TSW_KEYLIST_NONE || rte_hash_get_key_with_position(f->h, (int32_t)pos, &kp) < 0)
		return -1;
	memcpy(k, kp, sizeof(*k));
	return 0;
}

unsigned int
tsw_fdb_flush_dest(struct tsw_fdb *f, uint16_t dest, bool statics, unsigned int max)
{
	uint32_t slot = dest_slot(dest);
	unsigned int n = 0;

	for (int l = BY_LEARNED; l >= (statics ? BY_STATIC : BY_LEARNED); l--) {
		struct tsw_fdb_key k;
		while (n < max && key_at(f, tsw_keylist_first(f->by[l], slot), &k) == 0) {
			int32_t pos;
			tsw_fdb_entry_t e = raw_get(f, &k, &pos), c = without_dest(f, e, dest, statics);
			if (e == 0 || c == e)
				break;      /* cannot happen: the lists follow every change */
			apply(f, &k, pos, e, c);
			n++;
		}
	}
	return n;
}

uint32_t
tsw_fdb_dest_count(const struct tsw_fdb *f, uint16_t dest, bool statics)
{
	uint32_t slot = dest_slot(dest);

	return tsw_keylist_count(f->by[BY_LEARNED], slot) +
	       (statics ? tsw_keylist_count(f->by[BY_STATIC], slot) : 0);
}

int
tsw_fdb_net_first(const struct tsw_fdb *f, uint16_t net, struct tsw_fdb_key *k)
{
	return key_at(f, tsw_keylist_first(f->by[BY_NET], net), k);
}

uint32_t
tsw_fdb_net_count(const struct tsw_fdb *f, uint16_t net)
{
	return tsw_keylist_count(f->by[BY_NET], net);
}

unsigned int
tsw_fdb_count(const struct tsw_fdb *f)
{
	return f->count;
}

int
tsw_fdb_iterate(const struct tsw_fdb *f, uint32_t *it, struct tsw_fdb_key *key,
		tsw_fdb_entry_t *e)
{
	const void *k;
	void *d;

	if (rte_hash_iterate(f->h, &k, &d, it) < 0)
		return -1;
	memcpy(key, k, sizeof(*key));
	*e = (tsw_fdb_entry_t)(uintptr_t)d;
	return 0;
}
