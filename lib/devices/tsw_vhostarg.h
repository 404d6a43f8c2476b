/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: what a control client may plug in at run time.
 *
 * Contract: the control socket's port_add accepts a vhost-user device only
 * (DPDK's net_vhost) whose socket lies directly inside one directory, the
 * configured [control] vhost_socket_dir; every other driver (pcap, tap,
 * af_packet, PCI...) and every other path is refused with the reason, so
 * that a client of the socket cannot make root write or read a file of its
 * choosing, inject a file into a tenant network or create host interfaces.
 * The uplink and other devices come from the config file only.
 */
#ifndef TSW_VHOSTARG_H
#define TSW_VHOSTARG_H

#include <stdbool.h>
#include <stddef.h>

/* 0 when devargs is "net_vhost<suffix>,iface=<dir>/<name>[,key=value...]"
 * with a known key set; otherwise -1 and a reason in why. An existing
 * symbolic link at the socket path is refused too. */
int tsw_vhost_devargs_check(const char *devargs, const char *dir, char *why, size_t whylen);

/* The socket path (iface) of a net_vhost devargs into path, and whether
 * tunsw connects to it (client=1). 1: a net_vhost device with an iface;
 * 0: another device, or no iface; -1: the path does not fit in path. */
int tsw_vhost_devargs_iface(const char *devargs, char *path, size_t pathlen, bool *client);

/* devargs with its iface value replaced by iface, into out; -1 when it does
 * not fit (or there is no iface). */
int tsw_vhost_devargs_set_iface(const char *devargs, const char *iface, char *out,
				size_t outlen);

#endif
