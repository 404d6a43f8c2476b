/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: a hash table's keys listed by owner (a network, a port, a tunnel),
 * so that deleting what an owner has costs time proportional to it, not to
 * the table.
 *
 * Contract: the table writer's alone (workers never read it). A keylist
 * holds n_heads lists over the key positions 0..n_pos-1 of one rte_hash
 * (positions are stable while a key is present); a position is in at most
 * one of its lists. tsw_keylist_move() takes a position out of the list it
 * is in (the caller says which: from) and puts it in another (to); either
 * may be TSW_KEYLIST_NONE. O(1) each; lists are doubly linked through two
 * arrays of n_pos words.
 */
#ifndef TSW_KEYLIST_H
#define TSW_KEYLIST_H

#include <stdint.h>

#define TSW_KEYLIST_NONE UINT32_MAX

struct tsw_keylist;

/* NULL when out of memory. */
struct tsw_keylist *tsw_keylist_create(uint32_t n_pos, uint32_t n_heads);
void tsw_keylist_free(struct tsw_keylist *l);

void tsw_keylist_move(struct tsw_keylist *l, uint32_t pos, uint32_t from, uint32_t to);

/* A position in list head, or TSW_KEYLIST_NONE when it is empty. */
uint32_t tsw_keylist_first(const struct tsw_keylist *l, uint32_t head);
/* How many positions list head holds. */
uint32_t tsw_keylist_count(const struct tsw_keylist *l, uint32_t head);

#endif
