/* SPDX-License-Identifier: MIT */
/*
 * Incremental Internet checksum updates (RFC 1071, RFC 1624 eqn. 3:
 * HC' = ~(~HC + ~m + m')). The sums run over raw memory words, which is
 * byte-order neutral: a diff built from raw 16- or 32-bit loads applies to
 * the raw checksum field as it is in the packet.
 *
 * A diff is a plain 64-bit sum of 32- and 16-bit words: the end-around
 * carries of ones' complement addition are deferred to csum_apply(), which
 * folds them in (2^32 and 2^16 are both 1 modulo 0xffff). No branch per
 * word, and the same checksum as a word-by-word ones' complement sum: both
 * end in 1..0xffff (a fold of a non-zero sum is never 0).
 */
#ifndef XLB_BPF_CSUM_H
#define XLB_BPF_CSUM_H

/* Replace a 32-bit word in a diff: subtract the old value, add the new one. */
static __always_inline __u64 csum_diff32(__u64 diff, __u32 old, __u32 new)
{
	return diff + (__u32)~old + new;
}

static __always_inline __u64 csum_diff16(__u64 diff, __u16 old, __u16 new)
{
	return diff + (__u16)~old + new;
}

/* A 16-byte address replaced: four words. */
static __always_inline __u64 csum_diff128(__u64 diff, const __be32 *old, const __be32 *new)
{
	diff = csum_diff32(diff, old[0], new[0]);
	diff = csum_diff32(diff, old[1], new[1]);
	diff = csum_diff32(diff, old[2], new[2]);
	return csum_diff32(diff, old[3], new[3]);
}

/*
 * Apply a diff (a sum of at most a few dozen words, far below 2^48) to a
 * checksum field: ~(~HC + diff), folded to 16 bits.
 */
static __always_inline __u16 csum_apply(__u16 check, __u64 diff)
{
	__u64 sum = (__u16)~check + diff;

	sum = (sum & 0xffff) + ((sum >> 16) & 0xffff) + (sum >> 32); /* < 2^18 */
	sum = (sum & 0xffff) + (sum >> 16); /* <= 0xffff + 3 */
	sum = (sum & 0xffff) + (sum >> 16); /* <= 0xffff */
	return (__u16)~sum;
}

#endif
