/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests: the control socket and the run-time port check against
 * hostile clients (issue: nothing kills tunsw, nothing escalates through it).
 * They run in the unit suite, so under ASan/UBSan too, with SIGPIPE at its
 * default (a write that raises it kills this process: the test fails).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "tsw_ctlsock.h"
#include "tsw_sockpath.h"
#include "tsw_vhostarg.h"

#include "test_hostile.h"

static char dir[] = "/tmp/tswhostileXXXXXX";
static char sock_path[64];
static unsigned int handled;

static char *
handler(void *arg, uint64_t client, const char *line, size_t len)
{
	size_t big = arg != NULL ? *(size_t *)arg : 0;
	char *r = malloc(big + 32);

	(void)client;
	(void)line;
	(void)len;
	handled++;
	if (r == NULL)
		return NULL;
	memset(r, 'x', big);
	snprintf(r + big, 32, "{\"ok\":true}");
	return r;
}

static struct tsw_ctlsock *
server(unsigned int max_clients, size_t max_request)
{
	struct tsw_ctlsock_conf c = { .path = sock_path, .mode = 0600, .max_clients = max_clients,
				      .max_request = max_request, .idle_timeout_ms = 60000,
				      .request_timeout_ms = 10000 };
	char err[256];
	struct tsw_ctlsock *s = tsw_ctlsock_open(&c, err, sizeof(err));

	if (s == NULL)
		fprintf(stderr, "\nctlsock: %s\n", err);
	handled = 0;
	return s;
}

static int
client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
round_at(struct tsw_ctlsock *s, uint64_t now_ms, void *arg)
{
	tsw_ctlsock_poll(s, now_ms, 0, handler, arg);
	tsw_ctlsock_flush(s, now_ms);
}

static void
test_idle_client_no_undefined_behaviour(void)
{
	struct tsw_ctlsock *s = server(4, 1024);
	struct tsw_ctlsock_stats st;
	int fd = client();

	CU_ASSERT_FATAL(s != NULL && fd >= 0);
	/* connected, nothing sent: the line splitter has no buffer yet */
	for (uint64_t t = 0; t < 5; t++)
		round_at(s, t, NULL);
	tsw_ctlsock_stats(s, &st);
	CU_ASSERT_EQUAL(st.clients, 1);
	CU_ASSERT_EQUAL(handled, 0);
	round_at(s, 60001 + 5, NULL);          /* idle_timeout: closed */
	tsw_ctlsock_stats(s, &st);
	CU_ASSERT_EQUAL(st.clients, 0);
	CU_ASSERT_EQUAL(st.closed_idle, 1);
	close(fd);
	tsw_ctlsock_close(s);
}

static void
test_refused_client_gone_no_sigpipe(void)
{
	struct tsw_ctlsock *s = server(2, 1024);
	struct tsw_ctlsock_stats st;
	int fds[2], gone[50];

	CU_ASSERT_FATAL(s != NULL);
	for (int i = 0; i < 2; i++)
		fds[i] = client();
	round_at(s, 0, NULL);
	/* one more, and many more, each gone before tunsw answers "too many" */
	for (int i = 0; i < 50; i++) {
		gone[i] = client();
		CU_ASSERT(gone[i] >= 0);
		if (gone[i] >= 0 && i % 2 == 0)
			(void)!write(gone[i], "{\"op\":", 6);   /* half a request */
		close(gone[i]);
	}
	round_at(s, 1, NULL);                  /* SIGPIPE here would end this test */
	tsw_ctlsock_stats(s, &st);
	CU_ASSERT_EQUAL(st.refused_busy, 50);
	CU_ASSERT_EQUAL(st.clients, 2);
	/* a served client that sends half a request and vanishes */
	(void)!write(fds[0], "{\"op\":\"help\"}\n{\"op\":", 20);
	close(fds[0]);
	round_at(s, 2, NULL);
	round_at(s, 3, NULL);
	tsw_ctlsock_stats(s, &st);
	CU_ASSERT_EQUAL(st.clients, 1);
	CU_ASSERT_EQUAL(handled, 1);
	close(fds[1]);
	tsw_ctlsock_close(s);
}

static void
test_max_request_plus_one_refused(void)
{
	struct tsw_ctlsock *s = server(4, 1024);
	struct tsw_ctlsock_stats st;
	char line[1026], buf[512];
	int ok = client(), big = client();
	ssize_t n;

	CU_ASSERT_FATAL(s != NULL && ok >= 0 && big >= 0);
	memset(line, 'a', sizeof(line));
	line[1024] = '\n';                     /* exactly max_request: accepted */
	CU_ASSERT_EQUAL(write(ok, line, 1025), 1025);
	line[1024] = 'a';
	line[1025] = '\n';                     /* max_request + 1: refused */
	CU_ASSERT_EQUAL(write(big, line, 1026), 1026);
	round_at(s, 0, NULL);
	round_at(s, 1, NULL);
	tsw_ctlsock_stats(s, &st);
	CU_ASSERT_EQUAL(handled, 1);
	CU_ASSERT_EQUAL(st.closed_oversize, 1);
	CU_ASSERT_EQUAL(st.clients, 1);
	n = read(big, buf, sizeof(buf) - 1);
	CU_ASSERT(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CU_ASSERT(strstr(buf, "longer than max_request (1024 bytes)") != NULL);
	close(ok);
	close(big);
	tsw_ctlsock_close(s);
}

static void
test_slow_clients_closed_by_deadline(void)
{
	struct tsw_ctlsock *s = server(4, 1024);
	struct tsw_ctlsock_stats st;
	size_t big = 8u << 20;                 /* a reply larger than any socket buffer */
	int trickle = client(), reader = client(), quick = client();

	CU_ASSERT_FATAL(s != NULL && trickle >= 0 && reader >= 0 && quick >= 0);
	round_at(s, 0, NULL);                  /* accepted */
	/* one byte a second, never a newline: every byte is "progress" */
	for (uint64_t t = 0; t <= 9000; t += 1000) {
		CU_ASSERT_EQUAL(write(trickle, "{", 1), 1);
		round_at(s, t, NULL);
	}
	/* asks, never reads the 8 MB answer */
	CU_ASSERT_EQUAL(write(reader, "{}\n", 3), 3);
	round_at(s, 9000, &big);
	tsw_ctlsock_stats(s, &st);
	CU_ASSERT_EQUAL(st.clients, 3);
	CU_ASSERT_EQUAL(write(trickle, "{", 1), 1);
	round_at(s, 10001, NULL);              /* the trickler's request is 10 s old */
	tsw_ctlsock_stats(s, &st);
	CU_ASSERT_EQUAL(st.closed_slow, 1);
	CU_ASSERT_EQUAL(st.clients, 2);
	round_at(s, 19001, NULL);              /* the reader's replies are 10 s old */
	tsw_ctlsock_stats(s, &st);
	CU_ASSERT_EQUAL(st.closed_slow, 2);
	CU_ASSERT_EQUAL(st.clients, 1);        /* the quiet client stays (idle_timeout) */
	close(trickle);
	close(reader);
	close(quick);
	tsw_ctlsock_close(s);
}

static void
test_vhost_devargs_only_vhost_in_dir(void)
{
	static const struct {
		const char *devargs;
		const char *why;              /* NULL: accepted */
	} cases[] = {
		{ "net_vhost0,iface=/run/tunsw/vm1.sock", NULL },
		{ "net_vhost_0123abcd,iface=/run/tunsw/vhu0123abcd-01,client=1,queues=2", NULL },
		{ "net_vhost1,iface=/run/tunsw/a,tso=1,linear-buffer=1,ext-buffer=0", NULL },
		{ "net_pcap0,tx_pcap=/etc/shadow", "only vhost-user ports" },
		{ "net_pcap0,rx_pcap=/root/secret.pcap", "only vhost-user ports" },
		{ "net_tap0,iface=evil", "only vhost-user ports" },
		{ "0000:3b:00.0", "only vhost-user ports" },
		{ "net_vhostX/../x,iface=/run/tunsw/a", "has a character other than" },
		{ "net_vhost0,iface=/etc/passwd", "directly in vhost_socket_dir /run/tunsw" },
		{ "net_vhost0,iface=/run/tunsw/../../etc/x", "directly in vhost_socket_dir" },
		{ "net_vhost0,iface=/run/tunsw/sub/x", "directly in vhost_socket_dir" },
		{ "net_vhost0,iface=/run/tunsw/..", "directly in vhost_socket_dir" },
		{ "net_vhost0,iface=/run/tunswx/a", "directly in vhost_socket_dir" },
		{ "net_vhost0,iface=/run/tunsw/", "directly in vhost_socket_dir" },
		{ "net_vhost0", "iface (the vhost-user socket path) is required" },
		{ "net_vhost0,iface=/run/tunsw/a,iface=/tmp/b", "iface given twice" },
		{ "net_vhost0,iface=/run/tunsw/a,queues=0", "queues must be" },
		{ "net_vhost0,iface=/run/tunsw/a,queues=1x", "queues must be" },
		{ "net_vhost0,iface=/run/tunsw/a,client=2", "client must be given once, 0 or 1" },
		{ "net_vhost0,iface=/run/tunsw/a,client=1,client=0", "client must be given once" },
		{ "net_vhost0,iface=/run/tunsw/a,dmas=[txq0@0000:00:04.0]", "not a net_vhost option" },
		{ "net_vhost0,iface=/run/tunsw/a,nonsense", "is not key=value" },
	};
	char why[256], link[256], path[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = tsw_vhost_devargs_check(cases[i].devargs, "/run/tunsw", why, sizeof(why));
		if ((rc == 0) != (cases[i].why == NULL) ||
		    (cases[i].why != NULL && strstr(why, cases[i].why) == NULL)) {
			fprintf(stderr, "\n%s: rc %d, '%s', want '%s'\n", cases[i].devargs, rc,
				rc ? why : "", cases[i].why ? cases[i].why : "accepted");
			CU_FAIL("devargs verdict");
		}
	}
	/* a symbolic link in the directory pointing elsewhere is refused */
	snprintf(link, sizeof(link), "%s/evil.sock", dir);
	CU_ASSERT_EQUAL(symlink("/etc/passwd", link), 0);
	snprintf(path, sizeof(path), "net_vhost0,iface=%s", link);
	CU_ASSERT_EQUAL(tsw_vhost_devargs_check(path, dir, why, sizeof(why)), -1);
	CU_ASSERT(strstr(why, "is a symbolic link") != NULL);
	unlink(link);
	CU_ASSERT_EQUAL(tsw_vhost_devargs_check(path, dir, why, sizeof(why)), 0);
}

/* #20 item 3: a path DPDK would cut (108 bytes and more) is refused; 107 fit */
static void
test_vhost_socket_path_longer_than_a_socket_address_refused(void)
{
	char devargs[300], why[256], path[TSW_SOCKPATH_MAX + 1];
	const char *prefix = "net_vhost0,iface=/run/tunsw/";
	size_t fixed = strlen("/run/tunsw/");
	bool client = true;

	for (size_t len = TSW_SOCKPATH_MAX - 1; len <= TSW_SOCKPATH_MAX + 2; len++) {
		int n = snprintf(devargs, sizeof(devargs), "%s", prefix);
		memset(devargs + n, 'a', len - fixed);
		devargs[n + (int)(len - fixed)] = '\0';
		int rc = tsw_vhost_devargs_check(devargs, "/run/tunsw", why, sizeof(why));
		CU_ASSERT_EQUAL(rc, len <= TSW_SOCKPATH_MAX ? 0 : -1);
		if (len > TSW_SOCKPATH_MAX)
			CU_ASSERT(strstr(why, "a socket path holds at most 107") != NULL);
		CU_ASSERT_EQUAL(tsw_vhost_devargs_iface(devargs, path, sizeof(path), &client),
				len <= TSW_SOCKPATH_MAX ? 1 : -1);
		CU_ASSERT_EQUAL(tsw_sockpath_claim(devargs + strlen("net_vhost0,iface="), why,
						   sizeof(why)), len <= TSW_SOCKPATH_MAX ? 0 : -1);
	}
	CU_ASSERT_FALSE(client);
	/* the socket path and mode of a devargs, and the path replaced */
	CU_ASSERT_EQUAL(tsw_vhost_devargs_iface("net_vhost1,queues=2,iface=/r/x.sock,client=1",
						path, sizeof(path), &client), 1);
	CU_ASSERT_STRING_EQUAL(path, "/r/x.sock");
	CU_ASSERT_TRUE(client);
	CU_ASSERT_EQUAL(tsw_vhost_devargs_iface("net_af_packet0,iface=eth0", path, sizeof(path),
						&client), 0);
	CU_ASSERT_EQUAL(tsw_vhost_devargs_set_iface("net_vhost1,queues=2,iface=/r/x.sock,client=1",
						    "/proc/self/fd/9", devargs,
						    sizeof(devargs)), 0);
	CU_ASSERT_STRING_EQUAL(devargs, "net_vhost1,queues=2,iface=/proc/self/fd/9,client=1");
}

static int
listener(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.107s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* 0 when a connection to path reached a listener */
static int
connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.107s", path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc;
}

static bool
same_file(const struct stat *a, const char *path)
{
	struct stat b;

	return lstat(path, &b) == 0 && a->st_ino == b.st_ino && a->st_dev == b.st_dev &&
	       a->st_mode == b.st_mode;
}

/* #20 item 2: a server-mode socket path is claimed without deleting what is
 * there: a file, a FIFO, a link, a socket someone listens on (another VM's
 * QEMU) are refused and left as they were; a stale socket is replaced. */
static void
test_vhost_server_socket_claim_refuses_and_keeps_what_exists(void)
{
	char file[128], fifo[128], live[128], stale[128], link[128], why[256];
	struct stat st;
	int lfd, sfd, fd;

	snprintf(file, sizeof(file), "%s/file.sock", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo.sock", dir);
	snprintf(live, sizeof(live), "%s/live.sock", dir);
	snprintf(stale, sizeof(stale), "%s/stale.sock", dir);
	snprintf(link, sizeof(link), "%s/link.sock", dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
	lfd = listener(live);
	CU_ASSERT_FATAL(lfd >= 0);
	CU_ASSERT_EQUAL_FATAL(symlink(live, link), 0);
	sfd = listener(stale);
	CU_ASSERT_FATAL(sfd >= 0);
	close(sfd);                            /* a socket file no one listens on */

	const char *refused[] = { file, fifo, live, link };
	const char *reason[] = { "not a socket (a file)", "not a socket (a FIFO)",
				 "another process listens on", "not a socket (a symbolic link)" };
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL_FATAL(lstat(refused[i], &st), 0);
		CU_ASSERT_EQUAL(tsw_sockpath_claim(refused[i], why, sizeof(why)), -1);
		CU_ASSERT(strstr(why, reason[i]) != NULL);
		CU_ASSERT(same_file(&st, refused[i]));
	}
	CU_ASSERT_EQUAL(connect_to(live), 0);  /* the other VM's socket still works */
	CU_ASSERT_EQUAL(tsw_sockpath_claim(stale, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(lstat(stale, &st), -1);
	CU_ASSERT_EQUAL(tsw_sockpath_claim(stale, why, sizeof(why)), 0);   /* absent */
	close(lfd);
	unlink(file);
	unlink(fifo);
	unlink(live);
	unlink(link);
}

/* #20 item 3: a client-mode path is pinned: a link planted later (before
 * the guest's socket exists, or after it) is never followed; a restarted
 * guest's new socket is. */
static void
test_vhost_client_socket_pinned_never_follows_a_link(void)
{
	char path[128], outside[128], why[256];
	char odir[] = "/tmp/tswoutsideXXXXXX";
	struct tsw_sockpin pin;
	int ofd, g1, g2;

	CU_ASSERT_FATAL(mkdtemp(odir) != NULL);
	snprintf(path, sizeof(path), "%s/guest.sock", dir);
	snprintf(outside, sizeof(outside), "%s/victim.sock", odir);
	ofd = listener(outside);
	CU_ASSERT_FATAL(ofd >= 0);
	/* a link at the path is refused at once */
	CU_ASSERT_EQUAL_FATAL(symlink(outside, path), 0);
	CU_ASSERT_EQUAL(tsw_sockpath_pin(&pin, path, why, sizeof(why)), -1);
	CU_ASSERT(strstr(why, "symbolic link") != NULL);
	unlink(path);
	/* nothing there yet: pinned, connecting is refused */
	CU_ASSERT_EQUAL_FATAL(tsw_sockpath_pin(&pin, path, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(connect_to(pin.via), -1);
	/* a link planted afterwards: not followed, not even after a refresh */
	CU_ASSERT_EQUAL_FATAL(symlink(outside, path), 0);
	CU_ASSERT_FALSE(tsw_sockpath_refresh(&pin));
	CU_ASSERT_EQUAL(connect_to(pin.via), -1);
	CU_ASSERT_EQUAL(connect_to(path), 0);  /* (the link itself does lead there) */
	close(accept(ofd, NULL, NULL));
	unlink(path);
	/* the guest's socket appears: the pin moves to it */
	g1 = listener(path);
	CU_ASSERT_FATAL(g1 >= 0);
	CU_ASSERT_TRUE(tsw_sockpath_refresh(&pin));
	CU_ASSERT_FALSE(tsw_sockpath_refresh(&pin));   /* same socket: no change */
	CU_ASSERT_EQUAL(connect_to(pin.via), 0);
	/* the name swapped for a link to the outside: the pin stays on the
	 * guest's socket, the outside listener is never reached */
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(symlink(outside, path), 0);
	CU_ASSERT_FALSE(tsw_sockpath_refresh(&pin));
	CU_ASSERT_EQUAL(connect_to(pin.via), 0);
	{
		int fl = fcntl(ofd, F_GETFL);
		CU_ASSERT_EQUAL(fcntl(ofd, F_SETFL, fl | O_NONBLOCK), 0);
		CU_ASSERT_EQUAL(accept(ofd, NULL, NULL), -1);   /* nothing reached it */
	}
	/* the guest restarts: a new socket at the path, the pin follows it */
	unlink(path);
	close(g1);
	g2 = listener(path);
	CU_ASSERT_FATAL(g2 >= 0);
	CU_ASSERT_EQUAL(connect_to(pin.via), -1);      /* the old socket is gone */
	CU_ASSERT_TRUE(tsw_sockpath_refresh(&pin));
	CU_ASSERT_EQUAL(connect_to(pin.via), 0);
	tsw_sockpath_unpin(&pin);
	close(g2);
	close(ofd);
	unlink(path);
	unlink(outside);
	rmdir(odir);
}

static int
setup(void)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", dir);
	return 0;
}

static int
teardown(void)
{
	unlink(sock_path);
	return rmdir(dir);
}

void
register_hostile_tests(void)
{
	CU_pSuite s = CU_add_suite("hostile clients", setup, teardown);

	CU_add_test(s, "idle client: no undefined behaviour, closed at idle_timeout",
		    test_idle_client_no_undefined_behaviour);
	CU_add_test(s, "refused or vanished clients never raise SIGPIPE",
		    test_refused_client_gone_no_sigpipe);
	CU_add_test(s, "a line of max_request + 1 bytes is refused",
		    test_max_request_plus_one_refused);
	CU_add_test(s, "slow clients are closed by a deadline per request",
		    test_slow_clients_closed_by_deadline);
	CU_add_test(s, "port_add: vhost-user in vhost_socket_dir only",
		    test_vhost_devargs_only_vhost_in_dir);
	CU_add_test(s, "vhost-user socket path longer than a socket address: refused",
		    test_vhost_socket_path_longer_than_a_socket_address_refused);
	CU_add_test(s, "server-mode socket: what exists is refused and kept",
		    test_vhost_server_socket_claim_refuses_and_keeps_what_exists);
	CU_add_test(s, "client-mode socket: pinned, never follows a link",
		    test_vhost_client_socket_pinned_never_follows_a_link);
}
