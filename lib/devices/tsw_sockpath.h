/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: Unix socket paths on disk (the control socket, vhost-user ports).
 *
 * Contract:
 *  - A path longer than TSW_SOCKPATH_MAX bytes is refused everywhere: a
 *    socket address holds no more, and DPDK would silently use a shorter
 *    name than the one that was checked.
 *  - tsw_sockpath_claim() readies a path for a listener: nothing there, or
 *    a stale socket (no one listens: a leftover of an earlier run), which
 *    is removed. A regular file, FIFO, directory, symbolic link or a socket
 *    someone listens on is refused and left exactly as it was.
 *  - tsw_sockpath_pin() / _refresh() / _unpin(): a path to connect to,
 *    pinned so that a symbolic link planted there is never followed, at
 *    the first connect or at any later one. The pin is an O_PATH descriptor
 *    opened without following links, kept only when it is a socket; the
 *    connector is given "/proc/self/fd/N" (s->via), which reaches that
 *    socket's inode without looking the name up again. _refresh() looks at
 *    the path again (a restarted peer binds a new socket) and moves the pin
 *    with dup3 onto the same descriptor number, so "via" never changes.
 *    While no socket is at the path the pin refers to /dev/null: connecting
 *    is refused (ECONNREFUSED) as for an absent socket.
 *  - tsw_sockpath_vhost_dir() readies the directory of run-time vhost-user
 *    sockets: an existing directory is left exactly as it is; a missing one
 *    is made for QEMU (mode 3775: its group creates sockets there, setgid
 *    gives them the group, sticky keeps each owner's own; the group given
 *    when it exists), and its parent made traversable by others (x only:
 *    nothing there can be listed, and the control socket keeps its own
 *    mode). A symbolic link or a non-directory at the path is refused.
 *  - tsw_sockpath_same() tells whether two paths name the same file (the
 *    directory resolved, the last component compared), for refusing a
 *    second port on one socket.
 */
#ifndef TSW_SOCKPATH_H
#define TSW_SOCKPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TSW_SOCKPATH_MAX 107          /* sizeof(sun_path) - 1 */

struct tsw_sockpin {
	int fd;                       /* -1: not pinned */
	dev_t dev;                    /* what fd refers to; ino 0: /dev/null */
	ino_t ino;
	char path[TSW_SOCKPATH_MAX + 1];
	char via[32];                 /* "/proc/self/fd/N" */
};

/* 0, or -1 with the reason in why (path named). */
int tsw_sockpath_claim(const char *path, char *why, size_t whylen);

/* 0, or -1 with the reason (a symbolic link or a non-socket at the path,
 * a path too long, no descriptor). */
int tsw_sockpath_pin(struct tsw_sockpin *p, const char *path, char *why, size_t whylen);

/* Look at the path again; true when the pin moved to another socket. */
bool tsw_sockpath_refresh(struct tsw_sockpin *p);

void tsw_sockpath_unpin(struct tsw_sockpin *p);

bool tsw_sockpath_same(const char *a, const char *b);

/* 0 (*made: created now, *grouped: given group), or -1 with the reason. */
int tsw_sockpath_vhost_dir(const char *dir, const char *group, bool *made, bool *grouped,
			   char *why, size_t whylen);

#endif
