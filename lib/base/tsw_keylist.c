/* SPDX-License-Identifier: BSD-3-Clause
 * Keys listed by owner (see tsw_keylist.h).
 */
#include <stdlib.h>
#include <string.h>

#include "tsw_keylist.h"

struct tsw_keylist {
	uint32_t n_pos, n_heads;
	uint32_t *prev, *next;        /* by position */
	uint32_t *first, *count;      /* by head */
};

struct tsw_keylist *
tsw_keylist_create(uint32_t n_pos, uint32_t n_heads)
{
	struct tsw_keylist *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->n_pos = n_pos;
	l->n_heads = n_heads;
	l->prev = malloc(sizeof(uint32_t) * n_pos);
	l->next = malloc(sizeof(uint32_t) * n_pos);
	l->first = malloc(sizeof(uint32_t) * n_heads);
	l->count = calloc(n_heads, sizeof(uint32_t));
	if (l->prev == NULL || l->next == NULL || l->first == NULL || l->count == NULL) {
		tsw_keylist_free(l);
		return NULL;
	}
	memset(l->prev, 0xff, sizeof(uint32_t) * n_pos);
	memset(l->next, 0xff, sizeof(uint32_t) * n_pos);
	memset(l->first, 0xff, sizeof(uint32_t) * n_heads);
	return l;
}

void
tsw_keylist_free(struct tsw_keylist *l)
{
	if (l == NULL)
		return;
	free(l->prev);
	free(l->next);
	free(l->first);
	free(l->count);
	free(l);
}

void
tsw_keylist_move(struct tsw_keylist *l, uint32_t pos, uint32_t from, uint32_t to)
{
	if (pos >= l->n_pos || from == to)
		return;
	if (from < l->n_heads) {
		uint32_t p = l->prev[pos], n = l->next[pos];
		if (p != TSW_KEYLIST_NONE)
			l->next[p] = n;
		else
			l->first[from] = n;
		if (n != TSW_KEYLIST_NONE)
			l->prev[n] = p;
		l->count[from]--;
	}
	l->prev[pos] = l->next[pos] = TSW_KEYLIST_NONE;
	if (to < l->n_heads) {
		uint32_t f = l->first[to];
		l->next[pos] = f;
		if (f != TSW_KEYLIST_NONE)
			l->prev[f] = pos;
		l->first[to] = pos;
		l->count[to]++;
	}
}

uint32_t
tsw_keylist_first(const struct tsw_keylist *l, uint32_t head)
{
	return head < l->n_heads ? l->first[head] : TSW_KEYLIST_NONE;
}

uint32_t
tsw_keylist_count(const struct tsw_keylist *l, uint32_t head)
{
	return head < l->n_heads ? l->count[head] : 0;
}
