/* SPDX-License-Identifier: BSD-3-Clause
 * Control socket server: non-blocking UNIX stream sockets driven by ppoll.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tsw_ctlsock.h"
#include "tsw_sockpath.h"

#define REQS_PER_POLL   64            /* per client per poll: fairness */
#define OUT_HIGH_WATER  (4u << 20)    /* stop reading a client with this unread */
#define OUT_KEEP        (64u << 10)   /* a used buffer larger than this is freed */
#define N_WAKE          2

char tsw_ctlsock_later;

struct client {
	int fd;
	uint64_t id;
	bool pending;            /* a reply to come through tsw_ctlsock_reply */
	bool eof;                /* peer closed its side: finish and close */
	bool closing;            /* close once the output is sent */
	char *in;
	size_t in_len, in_cap;   /* grown as requests need, up to max_request + 2 */
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t last_ms;        /* last request completed (or connect) */
	uint64_t in_since_ms;    /* first byte of the request in progress */
	uint64_t out_since_ms;   /* replies waiting to be read since */
};

struct tsw_ctlsock {
	struct tsw_ctlsock_conf c;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	unsigned int n;
	struct client *cl;       /* max_clients */
	struct pollfd *pfd;      /* 1 + N_WAKE + max_clients: listener, wake fds, clients */
	int wake_fd[N_WAKE];
	uint64_t next_id;
	unsigned int rr;         /* first client served in the next poll */
	struct tsw_ctlsock_stats st;
};

/* An existing socket file: in use by a live server, or stale. */
struct tsw_ctlsock *
tsw_ctlsock_open(const struct tsw_ctlsock_conf *c, char *err, size_t errlen)
{
	struct tsw_ctlsock *s = calloc(1, sizeof(*s));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int rc;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->c = *c;
	s->lfd = -1;
	s->cl = calloc(c->max_clients, sizeof(*s->cl));
	s->pfd = calloc(c->max_clients + 1u + N_WAKE, sizeof(*s->pfd));
	for (int i = 0; i < N_WAKE; i++)
		s->wake_fd[i] = -1;
	if (s->cl == NULL || s->pfd == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (tsw_sockpath_claim(c->path, err, errlen) < 0)
		goto fail;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	snprintf(s->path, sizeof(s->path), "%s", c->path);
	{
		/* the parent directory, e.g. /run/tunsw, private to root and group */
		char dir[sizeof(sa.sun_path)];
		char *slash;
		snprintf(dir, sizeof(dir), "%s", c->path);
		slash = strrchr(dir, '/');
		if (slash != NULL && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
				snprintf(err, errlen, "%s: cannot create directory: %s", dir,
					 strerror(errno));
				goto fail;
			}
		}
	}
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	old = umask(0177);     /* born owner-only; opened up to mode below */
	rc = bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0) {
		snprintf(err, errlen, "%s: bind: %s", c->path, strerror(errno));
		goto fail;
	}
	if (c->group != NULL && c->group[0] != '\0') {
		struct group *g = getgrnam(c->group);
		if (g == NULL || chown(c->path, (uid_t)-1, g->gr_gid) < 0) {
			snprintf(err, errlen, "%s: socket_group '%s': %s", c->path, c->group,
				 g == NULL ? "no such group" : strerror(errno));
			goto fail_unlink;
		}
	}
	if (chmod(c->path, c->mode) < 0 || listen(s->lfd, SOMAXCONN) < 0) {
		snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
		goto fail_unlink;
	}
	return s;
fail_unlink:
	unlink(c->path);
fail:
	if (s->lfd >= 0)
		close(s->lfd);
	free(s->cl);
	free(s->pfd);
	free(s);
	return NULL;
}

static void
drop_client(struct tsw_ctlsock *s, unsigned int i)
{
	struct client *c = &s->cl[i];

	close(c->fd);
	free(c->in);
	free(c->out);
	s->cl[i] = s->cl[--s->n];
	memset(&s->cl[s->n], 0, sizeof(s->cl[s->n]));
}

void
tsw_ctlsock_close(struct tsw_ctlsock *s)
{
	if (s == NULL)
		return;
	while (s->n > 0)
		drop_client(s, s->n - 1);
	close(s->lfd);
	unlink(s->path);
	free(s->cl);
	free(s->pfd);
	free(s);
}

static int
queue_out(struct client *c, const char *data, size_t len)
{
	if (c->out_len + len + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *n;
		while (cap < c->out_len + len + 1)
			cap *= 2;
		n = realloc(c->out, cap);
		if (n == NULL)
			return -1;
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	return 0;
}

static void
queue_error(struct client *c, const char *reason)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "{\"id\":null,\"ok\":false,\"error\":\"request: %s\","
			 "\"field\":\"request\",\"reason\":\"%s\"}", reason, reason);
	if (n > 0 && (size_t)n < sizeof(line))
		queue_out(c, line, (size_t)n);
}

static void
accept_clients(struct tsw_ctlsock *s, uint64_t now_ms)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (s->n == s->c.max_clients) {
			static const char busy[] = "{\"id\":null,\"ok\":false,\"error\":\"request: too "
				"many clients\",\"field\":\"request\",\"reason\":\"too many clients\"}\n";
			/* the client may be gone already: never SIGPIPE, never wait */
			ssize_t w = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)w;
			close(fd);
			s->st.refused_busy++;
			continue;
		}
		s->cl[s->n] = (struct client){ .fd = fd, .id = ++s->next_id, .last_ms = now_ms };
		s->n++;
		s->st.accepted++;
	}
}

static void
oversize(struct tsw_ctlsock *s, struct client *c)
{
	char why[80];

	snprintf(why, sizeof(why), "longer than max_request (%zu bytes)", s->c.max_request);
	queue_error(c, why);
	c->closing = true;
	s->st.closed_oversize++;
}

/* Handle up to REQS_PER_POLL complete lines of c's input. */
static unsigned int
handle_lines(struct tsw_ctlsock *s, struct client *c, uint64_t now_ms, tsw_ctlsock_handler h,
	     void *arg)
{
	unsigned int done = 0;
	size_t off = 0;

	if (c->in_len == 0)
		return 0;
	while (done < REQS_PER_POLL && !c->closing && !c->pending &&
	       c->out_len - c->out_off < OUT_HIGH_WATER) {
		char *nl = memchr(c->in + off, '\n', c->in_len - off);
		size_t len;
		char *reply;

		if (nl == NULL)
			break;
		len = (size_t)(nl - (c->in + off));
		if (len > s->c.max_request) {
			oversize(s, c);
			break;
		}
		if (len > 0 && c->in[off + len - 1] == '\r')
			len--;
		c->last_ms = now_ms;
		if (len > 0) {
			reply = h(arg, c->id, c->in + off, len);
			if (reply == TSW_CTLSOCK_LATER)
				c->pending = true;
			else if (reply == NULL || queue_out(c, reply, strlen(reply)) < 0)
				c->closing = true;   /* out of memory: give up on this client */
			if (reply != TSW_CTLSOCK_LATER)
				free(reply);
			done++;
		}
		off = (size_t)(nl - c->in) + 1;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
		c->in_since_ms = now_ms;   /* what is left started arriving by now */
		if (c->in_len == 0 && c->in_cap > OUT_KEEP) {   /* a large request's buffer */
			free(c->in);
			c->in = NULL;
			c->in_cap = 0;
		}
	}
	return done;
}

/* Room for more input: the buffer doubles (from 4 KiB) up to max bytes, so
 * that a client costs what it sends, not max_request. False: no memory, or
 * the buffer is full at max. */
static bool
in_room(struct client *c, size_t max)
{
	size_t cap;
	char *n;

	if (c->in_len < c->in_cap)
		return true;
	if (c->in_cap >= max)
		return false;
	cap = c->in_cap ? c->in_cap * 2 : 4096;
	if (cap > max)
		cap = max;
	n = realloc(c->in, cap);
	if (n == NULL) {
		c->closing = true;
		return false;
	}
	c->in = n;
	c->in_cap = cap;
	return true;
}

static void
read_client(struct tsw_ctlsock *s, struct client *c, uint64_t now_ms)
{
	size_t cap = s->c.max_request + 2;   /* a full request, its newline, one more */

	while (!c->eof && in_room(c, cap)) {
		ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n > 0) {
			if (c->in_len == 0)
				c->in_since_ms = now_ms;
			c->in_len += (size_t)n;
			continue;
		}
		if (n == 0)
			c->eof = true;
		else if (errno != EAGAIN && errno != EINTR)
			c->eof = c->closing = true;
		break;
	}
}

unsigned int
tsw_ctlsock_poll(struct tsw_ctlsock *s, uint64_t now_ms, unsigned int timeout_us,
		 tsw_ctlsock_handler h, void *arg)
{
	struct timespec ts = { .tv_sec = timeout_us / 1000000,
			       .tv_nsec = (long)(timeout_us % 1000000) * 1000 };
	unsigned int done = 0, np = 1 + N_WAKE, n;

	s->pfd[0] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	for (int i = 0; i < N_WAKE; i++)
		s->pfd[1 + i] = (struct pollfd){ .fd = s->wake_fd[i], .events = POLLIN };
	for (unsigned int i = 0; i < s->n; i++) {
		struct client *c = &s->cl[i];
		/* pending complete lines: do not sleep */
		if (!c->pending && c->in_len > 0 && memchr(c->in, '\n', c->in_len) != NULL)
			ts.tv_sec = ts.tv_nsec = 0;
		/* a peer that closed, with nothing to send it: not polled (it
		 * would report POLLHUP at once, every time) */
		s->pfd[np++] = (struct pollfd){ .fd = c->eof && c->out_len == c->out_off ? -1 : c->fd,
			.events = (short)((c->eof || c->closing ||
					   c->in_len >= s->c.max_request + 2 ? 0 : POLLIN) |
					  (c->out_len > c->out_off ? POLLOUT : 0)) };
	}
	if (ppoll(s->pfd, np, &ts, NULL) < 0 && errno != EINTR)
		return 0;
	n = s->n;                 /* clients polled (accepting adds more) */
	if (s->pfd[0].revents & POLLIN)
		accept_clients(s, now_ms);
	for (unsigned int k = 0; k < n; k++) {
		unsigned int i = (s->rr + k) % n;
		struct client *c = &s->cl[i];

		if (s->pfd[i + 1 + N_WAKE].revents & (POLLIN | POLLHUP | POLLERR))
			read_client(s, c, now_ms);
		/* a last request without its newline before the peer's EOF */
		if (c->eof && c->in_len > 0 && c->in_len <= s->c.max_request &&
		    memchr(c->in, '\n', c->in_len) == NULL && in_room(c, s->c.max_request + 2))
			c->in[c->in_len++] = '\n';
		done += handle_lines(s, c, now_ms, h, arg);
		if (!c->closing && c->in_len > s->c.max_request &&
		    memchr(c->in, '\n', c->in_len) == NULL)
			oversize(s, c);
	}
	s->rr = n ? (s->rr + 1) % n : 0;
	s->st.requests += done;
	return done;
}

/* A client past a deadline: its request or its reading of replies took
 * longer than request_timeout, or it did nothing for idle_timeout. */
static bool
past_deadline(struct tsw_ctlsock *s, struct client *c, uint64_t now_ms)
{
	bool partial = c->in_len > 0 && memchr(c->in, '\n', c->in_len) == NULL && !c->eof;

	if (!c->pending && partial && now_ms - c->in_since_ms > s->c.request_timeout_ms) {
		s->st.closed_slow++;
		return true;
	}
	if (c->out_len > c->out_off && now_ms - c->out_since_ms > s->c.request_timeout_ms) {
		s->st.closed_slow++;
		return true;
	}
	if (!c->pending && c->in_len == 0 && c->out_len == c->out_off &&
	    now_ms - c->last_ms > s->c.idle_timeout_ms) {
		s->st.closed_idle++;
		return true;
	}
	return false;
}

void
tsw_ctlsock_flush(struct tsw_ctlsock *s, uint64_t now_ms)
{
	for (unsigned int i = 0; i < s->n;) {
		struct client *c = &s->cl[i];
		bool gone = false;

		if (c->out_len > c->out_off && c->out_since_ms == 0)
			c->out_since_ms = now_ms;   /* replies queued since this poll */
		while (c->out_len > c->out_off) {
			ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				c->out_off += (size_t)n;
				continue;
			}
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				gone = true;   /* peer went away: nothing more to send */
			break;
		}
		if (c->out_off == c->out_len) {
			c->out_off = c->out_len = 0;
			c->out_since_ms = 0;
			if (c->out_cap > OUT_KEEP) {     /* a large reply's buffer goes */
				free(c->out);
				c->out = NULL;
				c->out_cap = 0;
			}
		}
		if (!gone && c->out_len == 0 && !c->pending && (c->closing ||
		    (c->eof && (c->in_len == 0 || memchr(c->in, '\n', c->in_len) == NULL)))) {
			gone = true;
			s->st.closed_eof += !c->closing;
		}
		if (!gone && past_deadline(s, c, now_ms))
			gone = true;
		if (gone)
			drop_client(s, i);
		else
			i++;
	}
}

/* The client waiting for a reply given LATER, its wait over; NULL if gone. */
static struct client *
answered(struct tsw_ctlsock *s, uint64_t client, uint64_t now_ms)
{
	for (unsigned int i = 0; i < s->n; i++) {
		struct client *c = &s->cl[i];
		if (c->id != client || !c->pending)
			continue;
		c->pending = false;
		c->last_ms = now_ms;
		return c;
	}
	return NULL;
}

int
tsw_ctlsock_reply(struct tsw_ctlsock *s, uint64_t client, const char *reply, uint64_t now_ms)
{
	struct client *c = answered(s, client, now_ms);

	if (c == NULL)
		return -1;
	if (queue_out(c, reply, strlen(reply)) < 0)
		c->closing = true;
	return 0;
}

int
tsw_ctlsock_reply_take(struct tsw_ctlsock *s, uint64_t client, char *reply, size_t len,
		       uint64_t now_ms)
{
	struct client *c = answered(s, client, now_ms);

	if (c != NULL && c->out_len == c->out_off) {   /* it becomes the output itself */
		free(c->out);
		reply[len] = '\n';
		c->out = reply;
		c->out_cap = c->out_len = len + 1;
		c->out_off = 0;
		return 0;
	}
	if (c != NULL && queue_out(c, reply, len) < 0)
		c->closing = true;
	free(reply);
	return c != NULL ? 0 : -1;
}

bool
tsw_ctlsock_gone(const struct tsw_ctlsock *s, uint64_t client)
{
	for (unsigned int i = 0; i < s->n; i++) {
		const struct client *c = &s->cl[i];
		struct pollfd p = { .fd = c->fd, .events = 0 };
		if (c->id != client)
			continue;
		if (c->closing)
			return true;
		/* POLLHUP: both directions are shut, the peer closed; a peer
		 * that only shut its writing side reports POLLRDHUP */
		return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
	}
	return true;
}

size_t
tsw_ctlsock_out_bytes(const struct tsw_ctlsock *s)
{
	size_t n = 0;

	for (unsigned int i = 0; i < s->n; i++)
		n += s->cl[i].out_cap;
	return n;
}

int
tsw_ctlsock_add_wake_fd(struct tsw_ctlsock *s, int fd)
{
	for (int i = 0; i < N_WAKE; i++)
		if (s->wake_fd[i] < 0) {
			s->wake_fd[i] = fd;
			return 0;
		}
	return -1;
}

void
tsw_ctlsock_stats(const struct tsw_ctlsock *s, struct tsw_ctlsock_stats *st)
{
	*st = s->st;
	st->clients = s->n;
}
