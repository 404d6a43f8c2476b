/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: frames from VM ports (classification, port security, ARP
 * responder, learning, flooding, encapsulation). Input:
 * [port][split a][split b][frame...].
 * Oracles: nothing crashes; every mbuf returns to the pool; linear and
 * chained copies give the same outputs, drops and punts; VM outputs go to
 * ports of the input port's network only (an ARP reply back to the input
 * port comes from the responder's table); every uplink output is a tunnel
 * frame with our addresses (uplink MAC, local_ip) to a configured remote,
 * with the network's id and type, carrying the VM's frame unchanged; a
 * frame from the port with port security leaves only with an allowed
 * source MAC; vm2's IPv4 frames leave only as its stateless security
 * group allows (TCP) or R-G2 (DHCP requests).
 */
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>

#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_uplink(const struct fz_out *o, uint16_t net, const uint8_t *frame, size_t len)
{
	const struct tsw_dp *dp = FZ.dp;
	const struct tsw_network *n = &dp->nets[net];
	const uint8_t *b = o->bytes;
	uint32_t src, dst, id;
	size_t hdr;

	if (o->len < 14 + 20 || o->len > FZ_SNAP)
		fz_fail("uplink output of %u bytes", o->len);
	if (memcmp(b + 6, dp->conf.encap.src_mac.addr_bytes, 6) != 0 || b[12] != 0x08 ||
	    b[13] != 0x00)
		fz_fail("uplink output without our MAC or not IPv4");
	memcpy(&src, b + 26, 4);
	memcpy(&dst, b + 30, 4);
	if (src != dp->conf.encap.local_ip ||
	    (dst != rte_cpu_to_be_32(0xc6120002u) &&        /* 198.18.0.2 */
	     dst != rte_cpu_to_be_32(0xc6120003u)))          /* 198.18.0.3 */
		fz_fail("uplink output from/to foreign addresses");
	if (b[23] == 17) {
		if (n->type != TSW_TUN_VXLAN || b[36] != 0x12 || b[37] != 0xb5)
			fz_fail("VXLAN output for a %s network", tsw_tun_type_name(n->type));
		id = (uint32_t)b[46] << 16 | (uint32_t)b[47] << 8 | b[48];
		hdr = 50;
	} else if (b[23] == 47) {
		if (n->type != TSW_TUN_GRE)
			fz_fail("GRE output for a VXLAN network");
		id = (uint32_t)b[38] << 24 | (uint32_t)b[39] << 16 | (uint32_t)b[40] << 8 | b[41];
		hdr = 42;
	} else {
		fz_fail("uplink output is neither VXLAN nor GRE");
	}
	if (id != n->seg_id)
		fz_fail("tunnel id %u for network %s (%u)", id, n->name, n->seg_id);
	if (len >= 18 && ((frame[12] == 0x81 && frame[13] == 0x00) ||
			  (frame[12] == 0x88 && frame[13] == 0xa8))) {
		/* a priority tag is taken off, as OVS's access port does */
		if (o->len != hdr + len - 4 || memcmp(b + hdr, frame, 12) != 0 ||
		    memcmp(b + hdr + 12, frame + 16, len - 16) != 0)
			fz_fail("the VM's priority-tagged frame changed in the tunnel");
	} else if (o->len != hdr + len || memcmp(b + hdr, frame, len) != 0) {
		fz_fail("the VM's frame changed in the tunnel");
	}
}

/* A provider network's frame to its physical network (R-V1, R-V5): on
 * that network's output, tagged with its VLAN id (a priority tag's
 * priority kept) or untagged (flat), within its MTU. */
static void
check_phys(const struct fz_out *o, uint16_t net, const uint8_t *f, size_t len)
{
	const struct tsw_network *n = &FZ.dp->nets[net];
	const struct tsw_physnet *ph = &FZ.dp->phys[n->phys];
	bool prio = len >= 18 && ((f[12] == 0x81 && f[13] == 0x00) ||
				  (f[12] == 0x88 && f[13] == 0xa8));
	uint8_t want[FZ_SNAP];
	size_t wl;

	if (o->port != ph->out)
		fz_fail("network %s left on output %u, not its physical network's", n->name, o->port);
	if (len - 14 - (prio ? 4 : 0) > ph->mtu)
		fz_fail("a frame over %s's MTU left", ph->name);
	memcpy(want, f, 12);
	if (n->kind == TSW_NET_VLAN) {
		uint16_t tci = (uint16_t)((prio ? (f[14] << 8) & 0xe000 : 0) | n->vlan);
		want[12] = 0x81;
		want[13] = 0x00;
		want[14] = (uint8_t)(tci >> 8);
		want[15] = (uint8_t)tci;
		memcpy(want + 16, f + (prio ? 16 : 12), len - (prio ? 16 : 12));
		wl = len + (prio ? 0 : 4);
	} else {
		memcpy(want + 12, f + (prio ? 16 : 12), len - (prio ? 16 : 12));
		wl = len - (prio ? 4 : 0);
	}
	if (o->len != wl || memcmp(o->bytes, want, wl) != 0)
		fz_fail("network %s's frame left changed beyond its tag", n->name);
}

/* vm2's group is stateless and lets out IPv4 TCP only; R-G2 adds DHCP
 * requests: an IPv4 frame of vm2's that left is one of those, from vm2's
 * address (port security). */
static void
check_stateless_egress(const uint8_t *f, size_t len)
{
	size_t l3 = 14, ihl;
	uint16_t et;

	if (len < 14)
		return;
	et = (uint16_t)(f[12] << 8 | f[13]);
	if ((et == 0x8100 || et == 0x88a8) && len >= 18) {
		et = (uint16_t)(f[16] << 8 | f[17]);
		l3 = 18;
	}
	if (et != 0x0800)
		return;
	if (len < l3 + 20)
		fz_fail("vm2: a cut-short IPv4 header left");
	ihl = (size_t)(f[l3] & 0xf) * 4;
	if (f[l3 + 9] == 17 && ((f[l3 + 6] << 8 | f[l3 + 7]) & 0x1fff) == 0 &&
	    len >= l3 + ihl + 4 && f[l3 + ihl] == 0 && f[l3 + ihl + 1] == 68 &&
	    f[l3 + ihl + 2] == 0 && f[l3 + ihl + 3] == 67)
		return;                        /* DHCP (from 0.0.0.0 too, R-S2) */
	if (f[l3 + 12] != 10 || f[l3 + 13] != 0 || f[l3 + 14] != 0 || f[l3 + 15] != 2)
		fz_fail("vm2: a foreign IPv4 source left");
	if (f[l3 + 9] == 6)
		return;
	fz_fail("vm2: IPv4 protocol %u left through a TCP-only stateless group", f[l3 + 9]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *frame = data + 3;
	size_t len = size - 3, a, b;
	uint16_t port;
	int net;

	if (size < 3 || len + 64 > FZ_SNAP)
		return 0;
	port = (uint16_t)(data[0] % FZ.cfg->n_ports);
	a = data[1];
	b = a + data[2];
	net = tsw_dp_port_net(FZ.dp, port);
	fz_linear_vs_chained(port, frame, len, a, b);
	for (unsigned int i = 0; i < FZ.n_out; i++) {
		const struct fz_out *o = &FZ.out[i];
		if (!tsw_out_is_port(o->port) && FZ.dp->nets[net].kind != TSW_NET_TUNNEL) {
			check_phys(o, (uint16_t)net, frame, len);
		} else if (o->port == TSW_OUT_UPLINK) {
			check_uplink(o, (uint16_t)net, frame, len);
		} else if (tsw_dp_port_net(FZ.dp, o->port) != net) {
			fz_fail("a frame of network %d reached port %u of network %d", net, o->port,
				tsw_dp_port_net(FZ.dp, o->port));
		} else if (o->port == port && !(o->len >= 42 && o->bytes[12] == 0x08 &&
						 o->bytes[13] == 0x06 && o->bytes[21] == 2)) {
			fz_fail("a frame went back to its own port and is no ARP reply");
		}
	}
	if (port == 0 && FZ.n_out > 0 && len >= 12) {
		static const uint8_t ok1[6] = { 0xfa, 0x16, 0x3e, 0, 0, 1 };
		static const uint8_t ok5[6] = { 0xfa, 0x16, 0x3e, 0, 0, 5 };
		bool answered = FZ.n_out == 1 && FZ.out[0].port == port;
		if (!answered && memcmp(frame + 6, ok1, 6) != 0 && memcmp(frame + 6, ok5, 6) != 0)
			fz_fail("port security let a foreign source MAC through");
	}
	if (port == 1 && FZ.n_out > 0)
		check_stateless_egress(frame, len);
	return 0;
}
