/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: frames arriving on the uplink (decapsulation, learning
 * from tunnels, delivery). Input: [split a][split b][frame...].
 * Oracles: nothing crashes; every mbuf returns to the pool; a chained copy
 * of the frame (split at a, a + b) gives exactly the linear frame's
 * outputs, drops and punts; nothing from a tunnel goes back out the uplink
 * (split horizon); a VM port receives a frame only if the tunnel id maps
 * to that port's network (no frame crosses networks). The uplink also
 * carries physical network phys1 (R-V4): a frame that is not the
 * underlay's (untagged to the uplink's MAC) reaches only the ports of the
 * provider network its tag names, without the tag, and never leaves again.
 */
#include <string.h>

#include "harness.h"
#include "tsw_encap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *frame = data + 2;
	size_t len = size - 2, a, b;
	int net = -1;

	if (size < 2 || len > FZ_SNAP)
		return 0;
	a = data[0];
	b = a + data[1];
	/* which network the frame is for, decapsulated on the side */
	{
		struct rte_mbuf *m = fz_mbuf(frame, len, 0, 0);
		struct tsw_decap_info info;
		if (m == NULL)
			fz_fail("mempool empty");
		if (tsw_decap_parse(m, &FZ.dp->conf.decap, &info) == TSW_OK)
			net = tsw_dp_net_by_id(FZ.dp, info.type, info.id);
		rte_pktmbuf_free(m);
	}
	fz_linear_vs_chained(TSW_OUT_UPLINK, frame, len, a, b);
	if (len < 14 || memcmp(frame, FZ.dp->conf.decap.mac.addr_bytes, 6) != 0 ||
	    (frame[12] == 0x81 && frame[13] == 0x00) || (frame[12] == 0x88 && frame[13] == 0xa8)) {
		size_t hl;
		int pnet = fz_phys_net((uint16_t)FZ.dp->uplink_phys, frame, len, &hl);

		fz_check_from_phys(frame, len, pnet, hl);
		return 0;
	}
	for (unsigned int i = 0; i < FZ.n_out; i++) {
		uint16_t p = FZ.out[i].port;
		if (p == TSW_OUT_UPLINK)
			fz_fail("a frame from the uplink went back out the uplink");
		if (net < 0 || tsw_dp_port_net(FZ.dp, p) != net)
			fz_fail("output on port %u (network %d) for a frame of network %d", p,
				tsw_dp_port_net(FZ.dp, p), net);
	}
	return 0;
}
