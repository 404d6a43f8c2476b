/* SPDX-License-Identifier: BSD-3-Clause
 * Validation of run-time port devargs (see tsw_vhostarg.h).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tsw_sockpath.h"
#include "tsw_vhostarg.h"

#define DRIVER "net_vhost"
#define NAME_MAX_LEN 63            /* DPDK's device names (RTE_DEV_NAME_MAX_LEN - 1) */

/* net_vhost's options that change nothing outside the port itself; values
 * are 0/1 flags except queues. */
static const char *const flag_keys[] = { "client", "tso", "linear-buffer", "ext-buffer",
	"iommu-support", "postcopy-support", "legacy-ol-flags", NULL };

/* Index of flag key k in flag_keys, or -1. */
static int
flag_key(const char *k, size_t n)
{
	for (int i = 0; flag_keys[i] != NULL; i++)
		if (strlen(flag_keys[i]) == n && memcmp(flag_keys[i], k, n) == 0)
			return i;
	return -1;
}

static bool
socket_name_ok(const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static int
check_iface(const char *v, size_t n, const char *dir, char *why, size_t whylen)
{
	size_t dl = strlen(dir);
	char path[256];
	struct stat st;

	/* dir is normalized (absolute, no trailing slash unless "/") */
	bool root = dl == 1 && dir[0] == '/';
	if (n >= sizeof(path) || n <= dl + (root ? 0 : 1) || memcmp(v, dir, dl) != 0 ||
	    (!root && v[dl] != '/') || !socket_name_ok(v + dl + (root ? 0 : 1),
							n - dl - (root ? 0 : 1))) {
		snprintf(why, whylen, "iface '%.*s' is not a socket name (A-Z a-z 0-9 . _ -) "
			 "directly in vhost_socket_dir %s", (int)(n > 200 ? 200 : n), v, dir);
		return -1;
	}
	if (n > TSW_SOCKPATH_MAX) {
		snprintf(why, whylen, "iface of %zu bytes: a socket path holds at most %d", n,
			 TSW_SOCKPATH_MAX);
		return -1;
	}
	memcpy(path, v, n);
	path[n] = '\0';
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(why, whylen, "iface '%s' is a symbolic link", path);
		return -1;
	}
	return 0;
}

int
tsw_vhost_devargs_check(const char *devargs, const char *dir, char *why, size_t whylen)
{
	const char *p = devargs, *comma = strchr(devargs, ',');
	size_t nl = comma ? (size_t)(comma - devargs) : strlen(devargs);
	bool iface = false, seen_queues = false;
	unsigned int seen_flags = 0;

	if (nl < strlen(DRIVER) || strncmp(devargs, DRIVER, strlen(DRIVER)) != 0) {
		snprintf(why, whylen, "only vhost-user ports (net_vhost...) can be added at run "
			 "time; '%.*s' and other devices belong in the config file",
			 (int)(nl > 64 ? 64 : nl), devargs);
		return -1;
	}
	if (nl > NAME_MAX_LEN) {
		snprintf(why, whylen, "device name longer than %d characters", NAME_MAX_LEN);
		return -1;
	}
	for (size_t i = strlen(DRIVER); i < nl; i++)
		if (!isalnum((unsigned char)devargs[i]) && devargs[i] != '_') {
			snprintf(why, whylen, "device name '%.*s' has a character other than "
				 "A-Z a-z 0-9 _ after net_vhost", (int)nl, devargs);
			return -1;
		}
	for (p = comma; p != NULL; p = comma) {
		const char *k = p + 1, *eq;
		size_t len, kl, vl;
		comma = strchr(k, ',');
		len = comma ? (size_t)(comma - k) : strlen(k);
		eq = memchr(k, '=', len);
		if (eq == NULL) {
			snprintf(why, whylen, "'%.*s' is not key=value", (int)(len > 64 ? 64 : len),
				 k);
			return -1;
		}
		kl = (size_t)(eq - k);
		vl = len - kl - 1;
		if (kl == 5 && memcmp(k, "iface", 5) == 0) {
			if (iface) {
				snprintf(why, whylen, "iface given twice");
				return -1;
			}
			if (check_iface(eq + 1, vl, dir, why, whylen) < 0)
				return -1;
			iface = true;
		} else if (kl == 6 && memcmp(k, "queues", 6) == 0) {
			unsigned long q = 0;
			bool digits = vl > 0 && vl <= 3;
			for (size_t i = 0; i < vl && digits; i++)
				digits = isdigit((unsigned char)eq[1 + i]) != 0;
			if (digits)
				q = strtoul(eq + 1, NULL, 10);
			if (!digits || q < 1 || q > 64 || seen_queues) {
				snprintf(why, whylen, "queues must be given once, 1..64");
				return -1;
			}
			seen_queues = true;
		} else if (flag_key(k, kl) >= 0) {
			unsigned int bit = 1u << flag_key(k, kl);
			if (vl != 1 || (eq[1] != '0' && eq[1] != '1') || (seen_flags & bit)) {
				snprintf(why, whylen, "%.*s must be given once, 0 or 1", (int)kl, k);
				return -1;
			}
			seen_flags |= bit;
		} else {
			snprintf(why, whylen, "'%.*s' is not a net_vhost option allowed here (iface, "
				 "queues, client, tso, linear-buffer, ext-buffer, iommu-support, "
				 "postcopy-support, legacy-ol-flags)", (int)(kl > 32 ? 32 : kl), k);
			return -1;
		}
	}
	if (!iface) {
		snprintf(why, whylen, "iface (the vhost-user socket path) is required");
		return -1;
	}
	return 0;
}

/* The value of key k (kl bytes) among devargs' options: its start and
 * length, or NULL. The last occurrence wins, as in DPDK's kvargs. */
static const char *
option(const char *devargs, const char *k, size_t kl, size_t *vl)
{
	const char *found = NULL;

	for (const char *p = strchr(devargs, ','); p != NULL; p = strchr(p + 1, ',')) {
		const char *end = strchr(p + 1, ',');
		size_t len = end ? (size_t)(end - p - 1) : strlen(p + 1);
		if (len > kl && memcmp(p + 1, k, kl) == 0 && p[1 + kl] == '=') {
			found = p + 2 + kl;
			*vl = len - kl - 1;
		}
	}
	return found;
}

int
tsw_vhost_devargs_iface(const char *devargs, char *path, size_t pathlen, bool *client)
{
	const char *v, *c;
	size_t vl = 0, cl = 0;

	if (strncmp(devargs, DRIVER, strlen(DRIVER)) != 0 ||
	    (v = option(devargs, "iface", 5, &vl)) == NULL)
		return 0;
	if (vl >= pathlen)
		return -1;
	memcpy(path, v, vl);
	path[vl] = '\0';
	c = option(devargs, "client", 6, &cl);
	*client = c != NULL && cl == 1 && c[0] == '1';
	return 1;
}

int
tsw_vhost_devargs_set_iface(const char *devargs, const char *iface, char *out, size_t outlen)
{
	size_t vl = 0;
	const char *v = option(devargs, "iface", 5, &vl);
	int n;

	if (v == NULL)
		return -1;
	n = snprintf(out, outlen, "%.*s%s%s", (int)(v - devargs), devargs, iface, v + vl);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
