/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: capture files for the replay harness.
 *
 * Contract, reading: the frames come through libpcap — classic pcap (micro-
 * or nanosecond, either byte order) and pcapng, e.g. what dpdk-dumpcap
 * writes from a running daemon — with Ethernet link type, at nanosecond
 * precision; other link types and frames cut by the capture's snap length
 * are refused with a message naming the file and record. libpcap does not
 * say on which interface of a pcapng file a frame was captured: for pcapng
 * the file's blocks are walked beside it (tsw_pcapng_walk) for the
 * interfaces (name, description, hardware) and each frame's interface, and
 * the two must agree frame for frame. A classic pcap file has one
 * interface without a name.
 *
 * Writing: classic pcap (one file per port, nanosecond timestamps) through
 * libpcap, or pcapng with one interface per port in one file. libpcap
 * 1.10 writes only classic pcap and DPDK 22.11's rte_pcapng fixes its
 * interfaces to the ethdev ports present when the file is opened, so the
 * pcapng writer is here: a section header, an interface block per port
 * (added when the port appears), enhanced packet blocks (nanoseconds).
 */
#ifndef TSW_PCAP_H
#define TSW_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tsw_types.h"

#define TSW_PCAP_SNAP 65535
#define TSW_PCAP_MAX_IFACES 1024
#define TSW_PCAP_IFNAME_LEN 128

/* Direction of a frame (pcapng epb_flags bits 0-1, as dpdk-dumpcap
 * records it): what a port received, or what was sent on it. */
enum tsw_pcap_dir { TSW_PCAP_DIR_UNKNOWN = 0, TSW_PCAP_DIR_IN = 1, TSW_PCAP_DIR_OUT = 2 };

struct tsw_pcap_rec {
	tsw_ns_t ts;
	uint32_t len;
	uint32_t iface;    /* index into the file's interfaces */
	uint8_t dir;       /* enum tsw_pcap_dir */
	uint8_t *data;     /* malloc'ed */
};

/* An interface of a capture file: its options if_name, if_description and
 * if_hardware ("" when absent). dpdk-dumpcap 22.11 names an interface
 * after its kernel interface or "dpdk:PORT" and puts the device in the
 * hardware option as "BUS-DEVICE" (e.g. "vdev-net_vhost0"). */
struct tsw_pcap_iface {
	char name[TSW_PCAP_IFNAME_LEN];
	char descr[TSW_PCAP_IFNAME_LEN];
	char hw[TSW_PCAP_IFNAME_LEN];
};

struct tsw_pcap_file {
	struct tsw_pcap_rec *recs;
	size_t n;
	struct tsw_pcap_iface *ifaces;
	uint32_t n_ifaces;
};

/* Read every record of path into f (free with tsw_pcap_free). 0, or -1
 * with err naming the file and what is wrong. */
int tsw_pcap_read(const char *path, struct tsw_pcap_file *f, char *err, size_t errlen);
void tsw_pcap_free(struct tsw_pcap_file *f);

/* The interface i of f matches sel: sel is its name, its description, its
 * hardware string or the device part of it (after the first '-'), or with
 * by_index its index in decimal. */
bool tsw_pcap_iface_match(const struct tsw_pcap_file *f, uint32_t i, const char *sel,
			  bool by_index);

/* A packet block of a pcapng file: its interface (index over the file)
 * and direction. */
struct tsw_pcapng_pkt {
	uint32_t iface;
	uint8_t dir;
};

/* Walk a pcapng image (buf, len): the interfaces (*ifaces malloc'ed, up to
 * TSW_PCAP_MAX_IFACES over all sections) and, for each packet block in
 * file order (enhanced, simple, obsolete), its interface and direction
 * (*pkts malloc'ed). Sections of either byte order; block and option
 * lengths are checked against the buffer and each other. 0, or -1 with
 * err (the block's offset and the reason). Exposed for the unit test. */
int tsw_pcapng_walk(const uint8_t *buf, size_t len, struct tsw_pcap_iface **ifaces,
		    uint32_t *n_ifaces, struct tsw_pcapng_pkt **pkts, size_t *n_pkts, char *err,
		    size_t errlen);

/* Output. */
enum tsw_pcap_format { TSW_PCAP_FMT_PCAPNG, TSW_PCAP_FMT_PCAP };

struct tsw_pcap_out;
/* A classic pcap file (one port's frames). NULL with err on failure. */
struct tsw_pcap_out *tsw_pcap_create(const char *path, char *err, size_t errlen);
/* A pcapng file; appname goes into the section header. */
struct tsw_pcap_out *tsw_pcapng_create(const char *path, const char *appname, char *err,
				       size_t errlen);
/* The same on an open descriptor (taken over: closed by tsw_pcap_close);
 * what names it in errors. */
struct tsw_pcap_out *tsw_pcapng_fdopen(int fd, const char *what, const char *appname,
				       char *err, size_t errlen);
/* pcapng: a new interface (name, description); its index, or -1. */
int tsw_pcapng_add_iface(struct tsw_pcap_out *o, const char *name, const char *descr);
/* Write a frame (iface: an index from tsw_pcapng_add_iface, 0 for pcap).
 * 0, or -1 when the file could not be written (the error is sticky). */
int tsw_pcap_write(struct tsw_pcap_out *o, uint32_t iface, tsw_ns_t ts, const void *data,
		   uint32_t len);
/* pcapng: a frame with its direction (epb_flags, as dumpcap writes it;
 * none for TSW_PCAP_DIR_UNKNOWN) and its length on the wire (origlen >=
 * caplen: a frame cut at a snap length). 0, or -1. */
int tsw_pcapng_write_epb(struct tsw_pcap_out *o, uint32_t iface, tsw_ns_t ts,
			 enum tsw_pcap_dir dir, const void *data, uint32_t caplen,
			 uint32_t origlen);
/* Flush and close; -1 when any write failed. */
int tsw_pcap_close(struct tsw_pcap_out *o);

#endif
