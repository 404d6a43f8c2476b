/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness shared by the fuzz targets: EAL without hugepages, one
 * set of tables built from a fixed configuration (three networks of two
 * tunnel types, five VM ports on them, one with port security, vm1 and vm2
 * with security groups, two remotes; two physical networks, one the
 * uplink, with two VLAN and a flat network, a port on each), a worker
 * whose transmissions are captured, and the oracles every target applies.
 */
#ifndef TSW_FUZZ_HARNESS_H
#define TSW_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "tsw_config.h"
#include "tsw_config_apply.h"
#include "tsw_ctl.h"
#include "tsw_dp.h"
#include "tsw_mgmt.h"
#include "tsw_pipeline.h"

#define FZ_MAX_OUT 256
#define FZ_SNAP 2048

struct fz_out {
	uint16_t port;            /* VM port index, TSW_OUT_UPLINK, TSW_OUT_PHYS0 + i */
	uint16_t len;
	uint8_t bytes[FZ_SNAP];
};

struct fz {
	struct tsw_config *cfg;
	struct tsw_dp *dp;
	struct tsw_worker *w;
	struct rte_mempool *pool;
	struct rte_ring *learn, *punt, *inject;
	struct tsw_mgmt mg;
	struct tsw_ctl *ctl;
	unsigned int n_out;
	struct fz_out out[FZ_MAX_OUT];
};

extern struct fz FZ;

/* EAL and tables, once per process (LLVMFuzzerInitialize). */
int fz_init(void);

/* The tables (and worker, control handler) built again from the fixed
 * configuration: fuzz_control's tables grow from input to input, and every
 * request then costs more (show_counters of hundreds of tunnels). */
void fz_reset_tables(void);

/* The frame data as one mbuf, or chained at the split points a < b
 * (0 or out of range: fewer segments). NULL: out of mbufs. */
struct rte_mbuf *fz_mbuf(const uint8_t *data, size_t len, size_t a, size_t b);

/* Run one frame received on input (VM port index or TSW_OUT_UPLINK) through
 * the pipeline; the outputs are captured in FZ.out, the frames punted to
 * the slow path counted in *punted; learn events are drained and dropped
 * (the tables do not change). */
void fz_run(uint16_t input, struct rte_mbuf *m, unsigned int *punted);

/* Delete every tracked connection (vm1 and vm2 have security groups). */
void fz_forget_connections(void);

/* Abort (a finding) when the mempool does not hold all its mbufs again. */
void fz_check_pool(const char *what);

/* The provider network a frame arriving on physical network ph belongs to
 * (-1: none, or too big for it: dropped), its tag's length in *hl. */
int fz_phys_net(uint16_t ph, const uint8_t *f, size_t len, size_t *hl);
/* The oracle for a frame that came from a physical network: every output
 * is a port of net, and each got the frame without its tag (R-V2). */
void fz_check_from_phys(const uint8_t *f, size_t len, int net, size_t hl);

/* Abort with a message: the oracle failed. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

/* Run frame (len bytes) from input twice, as one mbuf and chained at a, b;
 * abort unless both give the same outputs, the same drop counts and the
 * same slow-path punts, and every mbuf is back in the pool. The linear
 * run's outputs are left in FZ.out / FZ.n_out. */
void fz_linear_vs_chained(uint16_t input, const uint8_t *frame, size_t len, size_t a, size_t b);
