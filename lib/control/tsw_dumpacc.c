/* SPDX-License-Identifier: BSD-3-Clause
 * Unpaged dumps gathered page by page (see tsw_dumpacc.h).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsw_dumpacc.h"

#define CHUNK (1u << 20)           /* text is kept in chunks: no copy, no doubling */

struct row {
	const char *net;            /* interned: equal names, equal pointers */
	uint64_t addr;              /* MAC as 48 bits, or IPv4 in host order */
	const char *text;           /* the entry's, in a chunk */
	uint32_t len;
};

struct tsw_dumpacc {
	bool by_ip;
	char **chunks;              /* CHUNK bytes each */
	size_t n_chunks, chunks_cap, used;   /* used: of the last chunk */
	size_t len;                 /* text bytes in all */
	struct row *rows;
	size_t n, n_cap;
	char **names;               /* interned network names, sorted */
	size_t n_names, names_cap, names_bytes;
};

struct tsw_dumpacc *
tsw_dumpacc_new(bool by_ip)
{
	struct tsw_dumpacc *d = calloc(1, sizeof(*d));

	if (d != NULL)
		d->by_ip = by_ip;
	return d;
}

static void
release(struct tsw_dumpacc *d)
{
	for (size_t i = 0; i < d->n_names; i++)
		free(d->names[i]);
	for (size_t i = 0; i < d->n_chunks; i++)
		free(d->chunks[i]);
	free(d->names);
	free(d->chunks);
	free(d->rows);
	d->names = NULL;
	d->chunks = NULL;
	d->rows = NULL;
	d->n_names = d->names_cap = d->names_bytes = d->len = d->n = d->n_cap = 0;
	d->n_chunks = d->chunks_cap = d->used = 0;
}

void
tsw_dumpacc_free(struct tsw_dumpacc *d)
{
	if (d == NULL)
		return;
	release(d);
	free(d);
}

size_t
tsw_dumpacc_bytes(const struct tsw_dumpacc *d)
{
	return d->n_chunks * CHUNK + d->chunks_cap * sizeof(char *) +
	       d->n_cap * sizeof(struct row) + d->names_cap * sizeof(char *) + d->names_bytes;
}

size_t
tsw_dumpacc_count(const struct tsw_dumpacc *d)
{
	return d->n;
}

/* Room for need elements of size at *p (growing by half). */
static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *n;

	if (need <= *cap)
		return 0;
	while (c < need)
		c += c / 2;
	n = realloc(*p, c * size);
	if (n == NULL)
		return -1;
	*p = n;
	*cap = c;
	return 0;
}

/* The interned copy of name (binary search in the sorted names). */
static const char *
intern(struct tsw_dumpacc *d, const char *name)
{
	size_t lo = 0, hi = d->n_names;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(d->names[mid], name);
		if (c == 0)
			return d->names[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (grow((void **)&d->names, &d->names_cap, d->n_names + 1, sizeof(char *)) < 0)
		return NULL;
	char *copy = strdup(name);
	if (copy == NULL)
		return NULL;
	memmove(&d->names[lo + 1], &d->names[lo], (d->n_names - lo) * sizeof(char *));
	d->names[lo] = copy;
	d->n_names++;
	d->names_bytes += strlen(name) + 1;
	return copy;
}

static uint64_t
sort_addr(const struct tsw_dumpacc *d, const json_t *o)
{
	const char *s = json_string_value(json_object_get(o, d->by_ip ? "ip" : "mac"));
	uint64_t v = 0;

	if (s == NULL)
		return 0;
	if (d->by_ip) {
		struct in_addr a;
		return inet_pton(AF_INET, s, &a) == 1 ? ntohl(a.s_addr) : 0;
	}
	for (; *s != '\0'; s++)     /* aa:bb:cc:dd:ee:ff, fixed width */
		if (*s != ':')
			v = v << 4 | (uint64_t)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
	return v;
}

/* Room for n more text bytes in the last chunk (a new one if need be). */
static char *
text_room(struct tsw_dumpacc *d, size_t n)
{
	if (n > CHUNK)
		return NULL;
	if (d->n_chunks == 0 || CHUNK - d->used < n) {
		if (grow((void **)&d->chunks, &d->chunks_cap, d->n_chunks + 1, sizeof(char *)) < 0 ||
		    (d->chunks[d->n_chunks] = malloc(CHUNK)) == NULL)
			return NULL;
		d->n_chunks++;
		d->used = 0;
	}
	return d->chunks[d->n_chunks - 1] + d->used;
}

int
tsw_dumpacc_add(struct tsw_dumpacc *d, const json_t *entries)
{
	size_t i;
	const json_t *o;

	json_array_foreach(entries, i, o) {
		const char *net = json_string_value(json_object_get(o, "network"));
		size_t n = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
		char *at = n > 0 ? text_room(d, n) : NULL;
		struct row *r;

		if (at == NULL || grow((void **)&d->rows, &d->n_cap, d->n + 1, sizeof(*d->rows)) < 0)
			return -1;
		r = &d->rows[d->n];
		r->net = intern(d, net != NULL ? net : "");
		if (r->net == NULL)
			return -1;
		r->addr = sort_addr(d, o);
		r->text = at;
		r->len = (uint32_t)json_dumpb(o, at, n, JSON_COMPACT | JSON_PRESERVE_ORDER);
		d->used += r->len;
		d->len += r->len;
		d->n++;
	}
	return 0;
}

static int
cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = x->net == y->net ? 0 : strcmp(x->net, y->net);

	if (c != 0)
		return c;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

char *
tsw_dumpacc_finish(struct tsw_dumpacc *d, const json_t *id, size_t *len)
{
	char *idtext = json_dumps(id != NULL ? id : json_null(), JSON_ENCODE_ANY | JSON_COMPACT);
	size_t total, at;
	char *out;
	int n;

	if (idtext == NULL)
		return NULL;
	qsort(d->rows, d->n, sizeof(*d->rows), cmp_row);
	/* {"id":ID,"ok":true,"result":[E,E,...]} */
	total = strlen(idtext) + 32 + d->len + d->n;
	out = malloc(total + 1);
	if (out == NULL) {
		free(idtext);
		return NULL;
	}
	n = snprintf(out, total, "{\"id\":%s,\"ok\":true,\"result\":[", idtext);
	free(idtext);
	at = (size_t)n;
	for (size_t i = 0; i < d->n; i++) {
		if (i > 0)
			out[at++] = ',';
		memcpy(out + at, d->rows[i].text, d->rows[i].len);
		at += d->rows[i].len;
	}
	memcpy(out + at, "]}", 3);
	*len = at + 2;
	release(d);
	return out;
}
