// SPDX-License-Identifier: MIT
/*
 * XDP_PASS stub for the peers of veth pairs in tests: a veth whose peer has
 * no XDP program (and no GRO) silently drops frames redirected into it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("xdp")
int xlb_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
