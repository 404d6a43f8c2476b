/* SPDX-License-Identifier: BSD-3-Clause
 * Unix socket paths on disk (see tsw_sockpath.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tsw_sockpath.h"

_Static_assert(TSW_SOCKPATH_MAX + 1 == sizeof(((struct sockaddr_un *)0)->sun_path),
	       "a socket address holds TSW_SOCKPATH_MAX bytes");

static bool
too_long(const char *path, char *why, size_t whylen)
{
	size_t n = strlen(path);

	if (n <= TSW_SOCKPATH_MAX)
		return false;
	snprintf(why, whylen, "socket path of %zu bytes: a socket address holds at most %d", n,
		 TSW_SOCKPATH_MAX);
	return true;
}

/* Someone accepts connections on the socket at path. */
static bool
listened_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool alive;

	if (fd < 0)
		return true;                  /* cannot tell: leave it alone */
	memcpy(sa.sun_path, path, strlen(path));
	/* EAGAIN: a full backlog is still a listener */
	alive = connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN;
	close(fd);
	return alive;
}

int
tsw_sockpath_claim(const char *path, char *why, size_t whylen)
{
	struct stat st;

	if (too_long(path, why, whylen))
		return -1;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(why, whylen, "%s exists and is not a socket (%s); it is left as it is", path,
			 S_ISLNK(st.st_mode) ? "a symbolic link" : S_ISREG(st.st_mode) ? "a file" :
			 S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory" :
			 "a device");
		return -1;
	}
	if (listened_on(path)) {
		snprintf(why, whylen, "%s is a socket another process listens on; it is left as it "
			 "is", path);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(why, whylen, "%s: stale socket cannot be removed: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* An O_PATH descriptor on the socket at path, never through a link; -1
 * when there is none (errno ENOENT) or something else is there. */
static int
open_socket_nofollow(const char *path, struct stat *st)
{
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISSOCK(st->st_mode)) {
		close(fd);
		errno = S_ISLNK(st->st_mode) ? ELOOP : ENOTSOCK;
		return -1;
	}
	return fd;
}

int
tsw_sockpath_pin(struct tsw_sockpin *p, const char *path, char *why, size_t whylen)
{
	struct stat st;
	int fd;

	p->fd = -1;
	if (too_long(path, why, whylen))
		return -1;
	fd = open_socket_nofollow(path, &st);
	if (fd < 0 && errno != ENOENT) {
		snprintf(why, whylen, "%s: %s", path, errno == ELOOP ? "is a symbolic link" :
			 errno == ENOTSOCK ? "exists and is not a socket" : strerror(errno));
		return -1;
	}
	if (fd < 0) {                         /* not there yet: refuse connections */
		fd = open("/dev/null", O_PATH | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, whylen, "/dev/null: %s", strerror(errno));
			return -1;
		}
		st.st_dev = 0;
		st.st_ino = 0;
	}
	p->fd = fd;
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	snprintf(p->path, sizeof(p->path), "%s", path);
	snprintf(p->via, sizeof(p->via), "/proc/self/fd/%d", fd);
	return 0;
}

bool
tsw_sockpath_refresh(struct tsw_sockpin *p)
{
	struct stat st;
	int fd;

	if (p->fd < 0)
		return false;
	fd = open_socket_nofollow(p->path, &st);
	if (fd < 0)
		return false;                 /* nothing new to connect to: keep the pin */
	if (st.st_dev == p->dev && st.st_ino == p->ino) {
		close(fd);
		return false;
	}
	if (dup3(fd, p->fd, O_CLOEXEC) < 0) {
		close(fd);
		return false;
	}
	close(fd);
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	return true;
}

void
tsw_sockpath_unpin(struct tsw_sockpin *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* path with its directory resolved (links and dots), into out */
static void
canonical(const char *path, char *out, size_t outlen)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t dl = slash != NULL ? (size_t)(slash - path) : 0;

	if (slash == NULL || dl >= sizeof(dir)) {
		snprintf(out, outlen, "%s", path);
		return;
	}
	memcpy(dir, path, dl);
	dir[dl] = '\0';
	if (realpath(dl > 0 ? dir : "/", real) == NULL)
		snprintf(out, outlen, "%s", path);
	else
		snprintf(out, outlen, "%s/%s", strcmp(real, "/") == 0 ? "" : real, slash + 1);
}

bool
tsw_sockpath_same(const char *a, const char *b)
{
	char ca[PATH_MAX + 256], cb[PATH_MAX + 256];

	canonical(a, ca, sizeof(ca));
	canonical(b, cb, sizeof(cb));
	return strcmp(ca, cb) == 0;
}

int
tsw_sockpath_vhost_dir(const char *dir, const char *group, bool *made, bool *grouped,
		       char *why, size_t whylen)
{
	char parent[TSW_SOCKPATH_MAX + 1];
	struct stat st;
	struct group *g;
	char *slash;

	*made = *grouped = false;
	if (strlen(dir) >= sizeof(parent) || dir[0] != '/') {
		snprintf(why, whylen, "%s: not an absolute path of at most %d bytes", dir,
			 TSW_SOCKPATH_MAX);
		return -1;
	}
	if (lstat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;                 /* the operator's: as it is */
		snprintf(why, whylen, "%s: not a directory%s", dir,
			 S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
		return -1;
	}
	if (errno != ENOENT) {
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (mkdir(parent, 0751) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "%s: cannot create: %s", parent, strerror(errno));
		return -1;
	}
	if (mkdir(dir, 0700) < 0) {
		snprintf(why, whylen, "%s: cannot create: %s", dir, strerror(errno));
		return -1;
	}
	*made = true;
	g = group != NULL && group[0] != '\0' ? getgrnam(group) : NULL;
	if (g != NULL && chown(dir, (uid_t)-1, g->gr_gid) == 0)
		*grouped = true;
	if (chmod(dir, 03775) < 0) {
		snprintf(why, whylen, "%s: chmod: %s", dir, strerror(errno));
		return -1;
	}
	/* QEMU must reach it: the parent traversable (not listable) by all */
	if (strcmp(parent, "/") != 0 && stat(parent, &st) == 0 && !(st.st_mode & S_IXOTH) &&
	    chmod(parent, (st.st_mode & 07777) | S_IXOTH) < 0) {
		snprintf(why, whylen, "%s: chmod: %s", parent, strerror(errno));
		return -1;
	}
	return 0;
}
