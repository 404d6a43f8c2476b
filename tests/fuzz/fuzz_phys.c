/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: frames arriving on a physical network's own device (phys2:
 * VLAN 100 is network p2v100; no flat network). Input: [split a][split b]
 * [frame...].
 * Oracles: nothing crashes; every mbuf returns to the pool; a chained copy
 * gives exactly the linear frame's outputs, drops and punts; a frame
 * reaches only the ports of the provider network its tag names on phys2,
 * without the tag (R-V2), within phys2's MTU (R-V5); nothing leaves on a
 * physical network or the uplink (R-V3, R-V4).
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *frame = data + 2;
	size_t len = size - 2, a, b, hl;
	int ph, net;

	if (size < 2 || len > FZ_SNAP)
		return 0;
	ph = tsw_dp_physnet_find(FZ.dp, "phys2");
	if (ph < 0)
		fz_fail("no physical network phys2 in the harness");
	a = data[0];
	b = a + data[1];
	net = fz_phys_net((uint16_t)ph, frame, len, &hl);
	fz_linear_vs_chained(FZ.dp->phys[ph].out, frame, len, a, b);
	fz_check_from_phys(frame, len, net, hl);
	return 0;
}
