/* SPDX-License-Identifier: MIT */
/*
 * Incremental Internet checksum updates (RFC 1071, RFC 1624 eqn. 3:
 * HC' = ~(~HC + ~m + m')). The sums run over raw memory words, which is
 * byte-order neutral: a diff built from raw 16- or 32-bit loads applies to
 * the raw checksum field as it is in the packet.
 */
#ifndef XLB_BPF_CSUM_H
#define XLB_BPF_CSUM_H

/* Ones' complement 32-bit add with end-around carry. */
static __always_inline __u32 csum_add(__u32 sum, __u32 v)
{
	sum += v;
	return sum + (sum < v);
}

/* Replace a 32-bit word in a diff: subtract the old value, add the new one. */
static __always_inline __u32 csum_diff32(__u32 diff, __u32 old, __u32 new)
{
	return csum_add(csum_add(diff, ~old), new);
}

static __always_inline __u32 csum_diff16(__u32 diff, __u16 old, __u16 new)
{
	return csum_add(csum_add(diff, (__u16)~old), new);
}

/* A 16-byte address replaced: four words. */
static __always_inline __u32 csum_diff128(__u32 diff, const __be32 *old, const __be32 *new)
{
	diff = csum_diff32(diff, old[0], new[0]);
	diff = csum_diff32(diff, old[1], new[1]);
	diff = csum_diff32(diff, old[2], new[2]);
	return csum_diff32(diff, old[3], new[3]);
}

/* Apply a diff to a checksum field: ~(~HC + diff), folded to 16 bits. */
static __always_inline __u16 csum_apply(__u16 check, __u32 diff)
{
	__u32 sum = csum_add((__u16)~check, diff);

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#endif
