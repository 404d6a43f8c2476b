/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the control socket server (UNIX stream, newline-delimited JSON).
 *
 * Contract: one thread (the management thread) owns the server and calls
 * everything here; nothing blocks. Each client's complete request lines
 * are handed to the handler in order and its replies queued in order.
 * Limits protect the dataplane and other clients: a request longer than
 * max_request is answered with an error and the client closed; beyond
 * max_clients a new client gets an error line and is closed; a request
 * must arrive whole within request_timeout_ms of its first byte and the
 * replies queued for a client must be read within request_timeout_ms too
 * (a client trickling bytes is closed by that deadline, not kept alive by
 * each byte); a client with no request in progress and nothing to read for
 * idle_timeout_ms is closed; nothing ever raises SIGPIPE (a peer that went
 * away is just dropped); the clients are served round-robin from poll to
 * poll, and a client is served at most a fixed number of requests per poll
 * and not at all while it has more than a bounded amount of unread
 * replies. A reply may come later than its request (the handler says so):
 * until it is given to tsw_ctlsock_reply(), that client's next requests
 * wait and no deadline runs for it, and a client that went away meanwhile
 * is kept until then (a peer that half-closed still gets its answer).
 * The socket file is created with the given mode (and group)
 * and removed on close; a stale socket file is replaced, a live one is an
 * error.
 */
#ifndef TSW_CTLSOCK_H
#define TSW_CTLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tsw_ctlsock_conf {
	const char *path;
	mode_t mode;
	const char *group;              /* NULL or "": keep the daemon's */
	unsigned int max_clients;
	size_t max_request;
	uint64_t idle_timeout_ms;
	uint64_t request_timeout_ms;
	size_t max_reply_memory;        /* bytes all pending replies may hold (tsw_ctlsrv) */
};

struct tsw_ctlsock_stats {
	uint64_t accepted, refused_busy, closed_idle, closed_oversize, closed_eof, closed_slow,
		 requests;
	unsigned int clients;
};

/* One request line of client (a number never reused while the server is
 * open). Returns the reply line (malloc'd, no newline), TSW_CTLSOCK_LATER
 * when the reply will be given to tsw_ctlsock_reply(), or NULL when out of
 * memory (the client is closed). */
typedef char *(*tsw_ctlsock_handler)(void *arg, uint64_t client, const char *line, size_t len);
extern char tsw_ctlsock_later;
#define TSW_CTLSOCK_LATER (&tsw_ctlsock_later)

struct tsw_ctlsock;

struct tsw_ctlsock *tsw_ctlsock_open(const struct tsw_ctlsock_conf *c, char *err, size_t errlen);
void tsw_ctlsock_close(struct tsw_ctlsock *s);

/* Wait up to timeout_us for activity (0: just look), accept clients, read
 * and handle complete requests. Returns the number of requests handled;
 * their replies are queued until tsw_ctlsock_flush(). */
unsigned int tsw_ctlsock_poll(struct tsw_ctlsock *s, uint64_t now_ms, unsigned int timeout_us,
			      tsw_ctlsock_handler h, void *arg);
/* Send what can be sent of the queued replies; close finished clients. */
void tsw_ctlsock_flush(struct tsw_ctlsock *s, uint64_t now_ms);

/* The reply (no newline) to client's request that was answered LATER.
 * Returns -1 when that client is gone (the reply is dropped). */
int tsw_ctlsock_reply(struct tsw_ctlsock *s, uint64_t client, const char *reply,
		      uint64_t now_ms);
/* The same, taking the malloc'd reply of len bytes with at least one byte
 * allocated after it: when nothing else waits to be sent to the client it
 * becomes the client's output as it is (no copy of a large reply). */
int tsw_ctlsock_reply_take(struct tsw_ctlsock *s, uint64_t client, char *reply, size_t len,
			   uint64_t now_ms);
/* The client has gone entirely (not a half-closed peer that may still read
 * its reply): nothing it asked for needs building any more. */
bool tsw_ctlsock_gone(const struct tsw_ctlsock *s, uint64_t client);
/* Bytes the clients' output buffers hold (replies not yet read). */
size_t tsw_ctlsock_out_bytes(const struct tsw_ctlsock *s);
/* tsw_ctlsock_poll() also wakes when fd becomes readable (the caller
 * reads it). Up to two such fds; -1 when there is no room. */
int tsw_ctlsock_add_wake_fd(struct tsw_ctlsock *s, int fd);

void tsw_ctlsock_stats(const struct tsw_ctlsock *s, struct tsw_ctlsock_stats *st);

#endif
