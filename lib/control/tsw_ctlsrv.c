/* SPDX-License-Identifier: BSD-3-Clause
 * The control thread: socket, JSON, plans; answers from the table writer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "tsw_clock.h"
#include "tsw_ctlsrv.h"

#define POLL_US  50000       /* deadlines are looked at this often at least */
#define BIG_LINE (64u << 10)  /* longer requests are parsed by the planner */
/* An unpaged show_fdb or show_arp is read DUMP_PAGE entries at a time (about
 * a millisecond of the table writer each), the pages gathered here and
 * sorted by the planner. */
#define DUMP_PAGE 1000
#define PLANNER_NICE 10

/* A request on its way through the planner, or waiting for its turn. */
struct item {
	uint64_t client;
	char *line;                      /* a long request line, not parsed yet */
	size_t len;
	struct tsw_ctlmsg *m;            /* parsed (and planned) */
	char *reply;                     /* the planner's refusal, or a whole dump */
	size_t reply_len;                /* of a whole dump (0: strlen) */
	struct item *next;
};

struct fifo {
	struct item *head, *tail;
};

struct tsw_ctlsrv {
	struct tsw_ctlsock *sock;
	struct tsw_ctl *ctl;
	struct tsw_ctlexec *x;
	pthread_t th;
	bool stop;                       /* atomic */
	/* the socket thread's */
	unsigned int nets_out;           /* network_add/del submitted, not answered */
	unsigned int at_planner;         /* items given to the planner, not back */
	struct fifo held;                /* waiting for their turn, in order */
	/* the planner thread: parses long lines, plans l2population */
	pthread_t pth;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fifo todo, done;          /* under mu */
	int done_fd;                     /* eventfd: items done */
	size_t dump_bytes;               /* atomic: what unpaged dumps hold */
	uint64_t dumps_refused, dumps_abandoned;   /* atomic */
	size_t max_reply;                /* bytes all pending replies may hold */
};

static void
push(struct fifo *f, struct item *it)
{
	it->next = NULL;
	if (f->tail != NULL)
		f->tail->next = it;
	else
		f->head = it;
	f->tail = it;
}

static struct item *
pop(struct fifo *f)
{
	struct item *it = f->head;

	if (it != NULL && (f->head = it->next) == NULL)
		f->tail = NULL;
	return it;
}

static void
item_free(struct item *it)
{
	free(it->line);
	free(it->reply);
	tsw_ctlmsg_free(it->m);
	free(it);
}

static char *
dump(json_t *reply)
{
	char *s = reply != NULL ? json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(reply);
	return s;
}

static struct tsw_ctlmsg *
parse(struct tsw_ctlsrv *s, uint64_t client, const char *line, size_t len, char **reply)
{
	struct tsw_ctlmsg *m;
	json_error_t je;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);

	*reply = NULL;
	if (req == NULL) {
		*reply = dump(tsw_ctl_parse_error(s->ctl, &je));
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		json_decref(req);
		return NULL;
	}
	m->client = client;
	m->req = req;
	m->cls = tsw_ctl_classify(req);
	return m;
}

/* ---- unpaged dumps, page by page ----------------------------------------- */

/* The error reply to m's request (a JSON line). */
static char *
refusal(const struct tsw_ctlmsg *m, const char *field, const char *reason)
{
	json_t *r = json_pack("{s:O, s:b, s:s++, s:s, s:s}", "id",
			      json_object_get(m->req, "id") ? json_object_get(m->req, "id")
							    : json_null(),
			      "ok", 0, "error", field, ": ", reason, "field", field,
			      "reason", reason);
	return dump(r);
}

/* Memory the pending replies hold: the clients' unread output and the
 * dumps being gathered. */
static size_t
reply_memory(const struct tsw_ctlsrv *s)
{
	return tsw_ctlsock_out_bytes(s->sock) + __atomic_load_n(&s->dump_bytes, __ATOMIC_RELAXED);
}

static char *
over_budget(struct tsw_ctlsrv *s, const struct tsw_ctlmsg *m)
{
	char why[200];

	__atomic_add_fetch(&s->dumps_refused, 1, __ATOMIC_RELAXED);
	snprintf(why, sizeof(why), "pending replies hold %zu MiB, [control] "
		 "max_reply_memory_mb is %zu: read them first, or page with cursor and limit",
		 reply_memory(s) >> 20, s->max_reply >> 20);
	return refusal(m, "request", why);
}

/* show_fdb or show_arp of a whole table (no page asked for, no single MAC):
 * turned into its first page, the pages gathered in m->dump. NULL, or the
 * refusal when the pending replies hold the whole budget already. */
static char *
dump_by_pages(struct tsw_ctlsrv *s, struct tsw_ctlmsg *m)
{
	const char *op = json_string_value(json_object_get(m->req, "op"));

	if (op == NULL || (strcmp(op, "show_fdb") != 0 && strcmp(op, "show_arp") != 0) ||
	    json_object_get(m->req, "cursor") != NULL || json_object_get(m->req, "limit") != NULL ||
	    json_object_get(m->req, "mac") != NULL)
		return NULL;
	if (reply_memory(s) >= s->max_reply)
		return over_budget(s, m);
	m->dump = tsw_dumpacc_new(strcmp(op, "show_arp") == 0);
	if (m->dump == NULL)
		return NULL;                 /* served unpaged, as it is */
	json_object_set_new(m->req, "cursor", json_integer(0));
	json_object_set_new(m->req, "limit", json_integer(DUMP_PAGE));
	return NULL;
}

static void
dump_drop(struct tsw_ctlsrv *s, struct tsw_ctlmsg *m)
{
	__atomic_sub_fetch(&s->dump_bytes, tsw_dumpacc_bytes(m->dump), __ATOMIC_RELAXED);
	tsw_dumpacc_free(m->dump);
	m->dump = NULL;
}

enum dump_step { DUMP_MORE, DUMP_COMPLETE, DUMP_AS_IS, DUMP_REFUSED };

/* A page came back: DUMP_MORE when m is to be submitted again for the next
 * one, DUMP_COMPLETE when the planner is to finish it, DUMP_AS_IS when
 * m->reply (an error) goes as it is, DUMP_REFUSED when *line does (the
 * budget exceeded; NULL: out of memory). */
static enum dump_step
dump_page(struct tsw_ctlsrv *s, struct tsw_ctlmsg *m, char **line)
{
	json_t *res = json_object_get(m->reply, "result"), *next;
	size_t before = tsw_dumpacc_bytes(m->dump);
	int rc;

	if (!json_is_true(json_object_get(m->reply, "ok")) || !json_is_object(res)) {
		dump_drop(s, m);
		return DUMP_AS_IS;
	}
	rc = tsw_dumpacc_add(m->dump, json_object_get(res, "entries"));
	__atomic_add_fetch(&s->dump_bytes, tsw_dumpacc_bytes(m->dump) - before, __ATOMIC_RELAXED);
	if (rc < 0 || reply_memory(s) > s->max_reply) {
		*line = rc < 0 ? NULL : over_budget(s, m);
		dump_drop(s, m);
		return DUMP_REFUSED;
	}
	next = json_object_get(res, "next");
	if (!json_is_integer(next))
		return DUMP_COMPLETE;
	json_object_set(m->req, "cursor", next);
	json_decref(m->reply);
	m->reply = NULL;
	return DUMP_MORE;
}

/* ---- the planner thread ------------------------------------------------ */

static void *
planner(void *arg)
{
	struct tsw_ctlsrv *s = arg;
	uint64_t one = 1;

	/* Long work at a lower priority: it shares a core with the table
	 * writer and the socket thread, which must get it back at once. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), PLANNER_NICE) < 0) {
		/* not fatal: only the latency of other clients suffers */
	}
	for (;;) {
		struct item *it;
		json_t *reply = NULL;

		pthread_mutex_lock(&s->mu);
		while (s->todo.head == NULL && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
			pthread_cond_wait(&s->cv, &s->mu);
		it = pop(&s->todo);
		pthread_mutex_unlock(&s->mu);
		if (it == NULL)
			return NULL;   /* stopping */
		if (it->line != NULL) {
			it->m = parse(s, it->client, it->line, it->len, &it->reply);
			free(it->line);
			it->line = NULL;
		}
		if (it->m != NULL && it->m->dump != NULL) {
			size_t held = tsw_dumpacc_bytes(it->m->dump);
			it->reply = tsw_dumpacc_finish(it->m->dump, json_object_get(it->m->req, "id"),
						       &it->reply_len);   /* NULL: out of memory */
			__atomic_sub_fetch(&s->dump_bytes, held, __ATOMIC_RELAXED);
			tsw_ctlmsg_free(it->m);
			it->m = NULL;
		} else if (it->m != NULL && it->m->cls == TSW_CTL_L2POP) {
			it->m->job = tsw_ctl_prepare(s->ctl, it->m->req, &reply);
			json_decref(it->m->req);
			it->m->req = NULL;
			if (it->m->job == NULL) {
				tsw_ctlmsg_free(it->m);
				it->m = NULL;
				it->reply = dump(reply);
			}
		}
		pthread_mutex_lock(&s->mu);
		push(&s->done, it);
		pthread_mutex_unlock(&s->mu);
		if (write(s->done_fd, &one, sizeof(one)) < 0) {
			/* EAGAIN: a wake-up is pending already */
		}
	}
}

/* ---- the socket thread ------------------------------------------------- */

/* Submit m to the table writer. Returns the reply line when it is answered
 * here, else TSW_CTLSOCK_LATER. */
static char *
submit(struct tsw_ctlsrv *s, struct tsw_ctlmsg *m)
{
	if (tsw_ctlexec_submit(s->x, m) < 0) {
		/* cannot happen: one request per client, room for every client */
		tsw_ctlmsg_free(m);
		return strdup("{\"id\":null,\"ok\":false,\"error\":\"request: busy\","
			      "\"field\":\"request\",\"reason\":\"busy\"}");
	}
	s->nets_out += m->cls == TSW_CTL_NETS;
	return TSW_CTLSOCK_LATER;
}

/* What the planner does (parse, plan) reads the networks: never while a
 * network change is on its way, and no network change while it works. */
static bool
ready(const struct tsw_ctlsrv *s, const struct item *it)
{
	if (it->m != NULL && it->m->cls == TSW_CTL_NETS)
		return s->at_planner == 0;
	return s->nets_out == 0;
}

static void reply_to(struct tsw_ctlsrv *s, uint64_t client, char *line);

static void
go(struct tsw_ctlsrv *s, struct item *it)
{
	if (it->m != NULL && it->m->cls == TSW_CTL_NETS) {
		char *line = submit(s, it->m);
		if (line != TSW_CTLSOCK_LATER)
			reply_to(s, it->client, line);
		it->m = NULL;
		item_free(it);
		return;
	}
	s->at_planner++;
	pthread_mutex_lock(&s->mu);
	push(&s->todo, it);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void
go_or_hold(struct tsw_ctlsrv *s, struct item *it)
{
	if (s->held.head == NULL && ready(s, it))
		go(s, it);
	else
		push(&s->held, it);
}

static char *
handle(void *arg, uint64_t client, const char *line, size_t len)
{
	struct tsw_ctlsrv *s = arg;
	struct tsw_ctlmsg *m = NULL;
	struct item *it;
	char *reply;

	if (len <= BIG_LINE) {
		m = parse(s, client, line, len, &reply);
		if (m == NULL)
			return reply;   /* refused, or NULL: out of memory */
		if (m->cls == TSW_CTL_READ && (reply = dump_by_pages(s, m)) != NULL) {
			tsw_ctlmsg_free(m);
			return reply;
		}
		if (m->cls == TSW_CTL_READ || m->cls == TSW_CTL_WRITE)
			return submit(s, m);
	}
	it = calloc(1, sizeof(*it));
	if (it == NULL || (m == NULL && (it->line = malloc(len)) == NULL)) {
		free(it);
		tsw_ctlmsg_free(m);
		return NULL;
	}
	it->client = client;
	it->m = m;
	if (m == NULL) {
		memcpy(it->line, line, len);
		it->len = len;
	}
	go_or_hold(s, it);
	return TSW_CTLSOCK_LATER;
}

/* line: malloc'd with its NUL (or len + 1 bytes), taken; NULL: out of memory */
static void
reply_len_to(struct tsw_ctlsrv *s, uint64_t client, char *line, size_t len)
{
	static const char oom[] = "{\"id\":null,\"ok\":false,\"error\":\"request: out of memory\","
		"\"field\":\"request\",\"reason\":\"out of memory\"}";

	if (line == NULL)
		tsw_ctlsock_reply(s->sock, client, oom, tsw_mono_ms());
	else
		tsw_ctlsock_reply_take(s->sock, client, line, len, tsw_mono_ms());
}

static void
reply_to(struct tsw_ctlsrv *s, uint64_t client, char *line)
{
	reply_len_to(s, client, line, line != NULL ? strlen(line) : 0);
}

static void
collect(struct tsw_ctlsrv *s)
{
	struct tsw_ctlmsg *m;
	struct item *it;
	uint64_t v;
	ssize_t r = read(tsw_ctlexec_answer_fd(s->x), &v, sizeof(v));

	r = read(s->done_fd, &v, sizeof(v));
	(void)r;
	while ((m = tsw_ctlexec_collect(s->x)) != NULL) {
		s->nets_out -= m->cls == TSW_CTL_NETS;
		if (m->dump != NULL && tsw_ctlsock_gone(s->sock, m->client)) {
			/* nobody to read it: build no more of it (the answer only
			 * frees the client's slot) */
			dump_drop(s, m);
			__atomic_add_fetch(&s->dumps_abandoned, 1, __ATOMIC_RELAXED);
			reply_to(s, m->client, refusal(m, "request", "the client went away"));
			tsw_ctlmsg_free(m);
			continue;
		}
		if (m->dump != NULL) {
			char *line = NULL;
			switch (dump_page(s, m, &line)) {
			case DUMP_MORE: {
				uint64_t client = m->client;
				line = submit(s, m);      /* the next page */
				if (line != TSW_CTLSOCK_LATER)
					reply_to(s, client, line);   /* m is freed */
				continue;
			}
			case DUMP_COMPLETE:                    /* sort it off this thread */
				it = calloc(1, sizeof(*it));
				if (it != NULL) {
					it->client = m->client;
					it->m = m;
					go(s, it);
					continue;
				}
				dump_drop(s, m);
				__attribute__((fallthrough));   /* out of memory */
			case DUMP_REFUSED:
				reply_to(s, m->client, line);
				tsw_ctlmsg_free(m);
				continue;
			case DUMP_AS_IS:
				break;
			}
		}
		reply_to(s, m->client, dump(m->reply));
		m->reply = NULL;
		tsw_ctlmsg_free(m);
	}
	for (;;) {
		pthread_mutex_lock(&s->mu);
		it = pop(&s->done);
		pthread_mutex_unlock(&s->mu);
		if (it == NULL)
			break;
		s->at_planner--;
		if (it->m == NULL) {
			if (it->reply_len > 0)
				reply_len_to(s, it->client, it->reply, it->reply_len);
			else
				reply_to(s, it->client, it->reply);
			it->reply = NULL;
		} else if (it->m->cls == TSW_CTL_NETS) {
			/* a long network change: before everything held after it */
			it->next = s->held.head;
			s->held.head = it;
			if (s->held.tail == NULL)
				s->held.tail = it;
			continue;
		} else {
			char *line = submit(s, it->m);
			if (line != TSW_CTLSOCK_LATER)
				reply_to(s, it->client, line);
			it->m = NULL;
		}
		item_free(it);
	}
	/* requests that waited for their turn, in order */
	while (s->held.head != NULL && ready(s, s->held.head))
		go(s, pop(&s->held));
}

static void *
run(void *arg)
{
	struct tsw_ctlsrv *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		tsw_ctlsock_poll(s->sock, tsw_mono_ms(), POLL_US, handle, s);
		collect(s);
		tsw_ctlsock_flush(s->sock, tsw_mono_ms());
	}
	return NULL;
}

static void
tsw_ctlsrv_stop_planner(struct tsw_ctlsrv *s)
{
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&s->mu);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->pth, NULL);
}

static void
srv_free(struct tsw_ctlsrv *s)
{
	struct item *it;

	while ((it = pop(&s->held)) != NULL)
		item_free(it);
	while ((it = pop(&s->todo)) != NULL)
		item_free(it);
	while ((it = pop(&s->done)) != NULL)
		item_free(it);
	tsw_ctlsock_close(s->sock);
	if (s->done_fd >= 0)
		close(s->done_fd);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

struct tsw_ctlsrv *
tsw_ctlsrv_start(const struct tsw_ctlsock_conf *c, struct tsw_ctl *ctl, struct tsw_ctlexec *x,
		 char *err, size_t errlen)
{
	struct tsw_ctlsrv *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->ctl = ctl;
	s->x = x;
	s->max_reply = c->max_reply_memory ? c->max_reply_memory : (size_t)256 << 20;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->done_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		srv_free(s);
		return NULL;
	}
	s->sock = tsw_ctlsock_open(c, err, errlen);
	if (s->sock == NULL) {
		srv_free(s);
		return NULL;
	}
	tsw_ctlsock_add_wake_fd(s->sock, tsw_ctlexec_answer_fd(x));
	tsw_ctlsock_add_wake_fd(s->sock, s->done_fd);
	if (pthread_create(&s->pth, NULL, planner, s) != 0) {
		snprintf(err, errlen, "cannot start the control planner thread");
		srv_free(s);
		return NULL;
	}
	if (pthread_create(&s->th, NULL, run, s) != 0) {
		snprintf(err, errlen, "cannot start the control thread");
		tsw_ctlsrv_stop_planner(s);
		srv_free(s);
		return NULL;
	}
	pthread_setname_np(s->th, "tsw-control");
	pthread_setname_np(s->pth, "tsw-ctl-plan");
	return s;
}

void
tsw_ctlsrv_stop(struct tsw_ctlsrv *s)
{
	if (s == NULL)
		return;
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	pthread_join(s->th, NULL);
	tsw_ctlsrv_stop_planner(s);
	srv_free(s);
}

void
tsw_ctlsrv_stats(const struct tsw_ctlsrv *s, struct tsw_ctlsrv_stats *st)
{
	st->dump_bytes = __atomic_load_n(&s->dump_bytes, __ATOMIC_RELAXED);
	st->dumps_refused = __atomic_load_n(&s->dumps_refused, __ATOMIC_RELAXED);
	st->dumps_abandoned = __atomic_load_n(&s->dumps_abandoned, __ATOMIC_RELAXED);
}
