// SPDX-License-Identifier: MIT
/*
 * Slot tables: weighted Maglev (balance, minimal disruption, determinism,
 * errors) and the smooth round-robin slot array (lb_rr_slots).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "algo.h"
#include "t.h"

#define M LB_MAGLEV_SIZE

static uint32_t tab_a[M], tab_b[M];

/* Keys as the model makes them: hashes of server names. */
static void mk_ents(struct lb_maglev_entry *e, int n, const uint32_t *w)
{
	char name[32];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "srv%d", i + 1);
		e[i].key = lb_hash_bytes(name, strlen(name));
		e[i].weight = w ? w[i] : 1;
	}
}

/* Every server's share of the table is within 1% (relative) of its weight share. */
static void check_balance(const char *what, const uint32_t *w, int n)
{
	struct lb_maglev_entry e[64];
	int cnt[64] = { 0 };
	uint64_t tot = 0;
	double worst = 0;
	int i, bad = 0, ret;

	mk_ents(e, n, w);
	ret = lb_maglev_build(e, n, tab_a, M);
	T_EQ_INT(ret, 0, "maglev %s: build", what);
	for (i = 0; i < n; i++)
		tot += e[i].weight;
	for (i = 0; i < M; i++) {
		if (tab_a[i] >= (uint32_t)n)
			bad++;
		else
			cnt[tab_a[i]]++;
	}
	T_EQ_INT(bad, 0, "maglev %s: every slot holds a valid entry", what);
	for (i = 0; i < n; i++) {
		double want = (double)M * e[i].weight / tot;
		double err = (cnt[i] - want) / want;

		if (err < 0)
			err = -err;
		if (err > worst)
			worst = err;
	}
	T_OK(worst <= 0.01, "maglev %s: shares within 1%% of weights (worst %.4f%%)", what,
	     worst * 100);
}

/* Fraction of slots whose server (by key) differs between two tables. */
static double moved(const uint32_t *a, const struct lb_maglev_entry *ea, const uint32_t *b,
		    const struct lb_maglev_entry *eb)
{
	int i, n = 0;

	for (i = 0; i < M; i++) {
		if (ea[a[i]].key != eb[b[i]].key)
			n++;
	}
	return (double)n / M;
}

static void check_removal(const char *what, const uint32_t *w, int n, int gone)
{
	struct lb_maglev_entry e[64], e2[64];
	uint64_t tot = 0;
	double frac, own;
	int i, j;

	mk_ents(e, n, w);
	for (i = 0, j = 0; i < n; i++) {
		tot += e[i].weight;
		if (i != gone)
			e2[j++] = e[i];
	}
	lb_maglev_build(e, n, tab_a, M);
	lb_maglev_build(e2, n - 1, tab_b, M);
	frac = moved(tab_a, e, tab_b, e2);
	own = (double)e[gone].weight / tot;
	T_OK(frac <= own + 0.01,
	     "maglev %s: removing one server moves %.2f%% of slots (its share %.2f%%)", what,
	     frac * 100, own * 100);
}

static void test_balance(void)
{
	static const uint32_t w3[] = { 1, 1, 1 }, w5[] = { 1, 2, 3, 4, 5 },
			      w10[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
			      wbig[] = { 100, 256, 1, 37, 128, 255 };

	check_balance("3 servers 1,1,1", w3, 3);
	check_balance("5 servers 1..5", w5, 5);
	check_balance("10 equal servers", w10, 10);
	check_balance("6 servers 100,256,1,37,128,255", wbig, 6);
}

static void test_disruption(void)
{
	static const uint32_t w3[] = { 1, 1, 1 }, w5[] = { 1, 2, 3, 4, 5 },
			      w10[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	struct lb_maglev_entry e[10], e2[10];
	double frac, ideal, add;
	int i;

	check_removal("3 equal, remove the 2nd", w3, 3, 1);
	check_removal("10 equal, remove the 1st", w10, 10, 0);
	check_removal("10 equal, remove the 7th", w10, 10, 6);
	check_removal("10 equal, remove the last", w10, 10, 9);
	check_removal("1..5, remove weight 3", w5, 5, 2);
	check_removal("1..5, remove weight 5", w5, 5, 4);

	/*
	 * Weight change 3 -> 4 of the middle server of 1..5: the least that
	 * can move is the share the others lose (4/16 - 3/15 = 5%).
	 */
	mk_ents(e, 5, w5);
	memcpy(e2, e, sizeof(e));
	e2[2].weight = 4;
	lb_maglev_build(e, 5, tab_a, M);
	lb_maglev_build(e2, 5, tab_b, M);
	frac = moved(tab_a, e, tab_b, e2);
	ideal = 4.0 / 16 - 3.0 / 15;
	T_OK(frac <= 2 * ideal + 0.01, "maglev: weight 3->4 moves %.2f%% of slots (least %.2f%%)",
	     frac * 100, ideal * 100);
	add = 0;
	for (i = 0; i < M; i++)
		add += tab_a[i] != 2 && tab_b[i] == 2;
	T_OK(add / M >= ideal * 0.99, "maglev: the heavier server gains its new share (%.2f%%)",
	     add / M * 100);

	/* Adding an 11th equal server takes about 1/11 and moves little else. */
	mk_ents(e, 10, w10);
	lb_maglev_build(e, 10, tab_a, M);
	{
		struct lb_maglev_entry e11[11];

		mk_ents(e11, 11, NULL);
		lb_maglev_build(e11, 11, tab_b, M);
		frac = moved(tab_a, e, tab_b, e11);
	}
	T_OK(frac <= 1.0 / 11 + 0.01, "maglev: adding an 11th server moves %.2f%% of slots",
	     frac * 100);
}

static void test_determinism(void)
{
	static const uint32_t w5[] = { 1, 2, 3, 4, 5 };
	struct lb_maglev_entry e[5], *copy;
	int same, i, cnt[2] = { 0 }, ret;

	/* Two independent builds from separately allocated inputs give the same table. */
	mk_ents(e, 5, w5);
	copy = malloc(sizeof(e));
	memcpy(copy, e, sizeof(e));
	memset(tab_b, 0xab, sizeof(tab_b));
	lb_maglev_build(e, 5, tab_a, M);
	lb_maglev_build(copy, 5, tab_b, M);
	free(copy);
	T_OK(!memcmp(tab_a, tab_b, sizeof(tab_a)), "maglev: two builds give the same table");

	/* A single entry owns everything. */
	ret = lb_maglev_build(e, 1, tab_a, M);
	same = 1;
	for (i = 0; i < M; i++)
		same &= tab_a[i] == 0;
	T_OK(ret == 0 && same, "maglev: a single entry owns every slot");

	/* Weight 0 gets nothing; the others still fill the table. */
	e[1].weight = 0;
	lb_maglev_build(e, 3, tab_a, M);
	for (i = 0; i < M; i++) {
		if (tab_a[i] == 1)
			cnt[0]++;
		if (tab_a[i] > 2)
			cnt[1]++;
	}
	T_EQ_INT(cnt[0], 0, "maglev: a weight-0 entry gets no slot");
	T_EQ_INT(cnt[1], 0, "maglev: no slot points past the entries");

	/*
	 * The table depends on keys, not on positions alone: swapping two
	 * equal-weight entries' keys swaps their slots.
	 */
	mk_ents(e, 3, NULL);
	lb_maglev_build(e, 3, tab_a, M);
	{
		uint32_t k = e[0].key;

		e[0].key = e[1].key;
		e[1].key = k;
	}
	lb_maglev_build(e, 3, tab_b, M);
	same = 0;
	for (i = 0; i < M; i++)
		same += tab_a[i] == tab_b[i];
	T_OK(same < M / 2, "maglev: slots follow the keys (%d of %d unchanged)", same, M);

	/* A small prime table also works and is deterministic. */
	mk_ents(e, 5, w5);
	lb_maglev_build(e, 5, tab_a, 251);
	lb_maglev_build(e, 5, tab_b, 251);
	T_OK(!memcmp(tab_a, tab_b, 251 * sizeof(uint32_t)), "maglev: small table deterministic");
}

static void test_errors(void)
{
	struct lb_maglev_entry e[2] = { { 1, 0 }, { 2, 0 } };

	T_EQ_INT(lb_maglev_build(e, 2, tab_a, 65536), -EINVAL, "maglev: size must be prime");
	T_EQ_INT(lb_maglev_build(e, 0, tab_a, M), -EINVAL, "maglev: no entries");
	T_EQ_INT(lb_maglev_build(NULL, 2, tab_a, M), -EINVAL, "maglev: NULL entries");
	T_EQ_INT(lb_maglev_build(e, 2, tab_a, M), -ENOENT, "maglev: all weights 0");
}

static void test_speed(void)
{
	struct lb_maglev_entry e[100];
	struct timespec t0, t1;
	uint32_t w[100];
	int i, ret;

	for (i = 0; i < 100; i++)
		w[i] = 1 + i % 7;
	mk_ents(e, 100, w);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = lb_maglev_build(e, 100, tab_a, M);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	T_EQ_INT(ret, 0, "maglev: 100 servers build");
	/* Informational only: speed is measured in bench/, never asserted. */
	printf("# maglev build, 100 servers, %d slots: %.2f ms\n", M,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
}

/* Reference: the textbook smooth weighted round-robin, one step at a time. */
static void swrr_ref(const uint32_t *w, int n, uint32_t *out, int len)
{
	int64_t cur[64] = { 0 }, tot = 0;
	int i, t, best;

	for (i = 0; i < n; i++)
		tot += w[i];
	for (t = 0; t < len; t++) {
		best = -1;
		for (i = 0; i < n; i++) {
			if (!w[i])
				continue;
			cur[i] += w[i];
			if (best < 0 || cur[i] > cur[best])
				best = i;
		}
		cur[best] -= tot;
		out[t] = best;
	}
}

static void check_slots(const char *what, const uint32_t *w, int n, const char *want)
{
	uint32_t slots[64];
	char got[65];
	int i, ret;

	ret = lb_rr_slots(w, n, slots, 64);
	for (i = 0; i < ret && i < 64; i++)
		got[i] = 'a' + slots[i];
	got[ret > 0 ? ret : 0] = 0;
	T_EQ_STR(got, want, "rr_slots %s", what);
}

static void test_rr_slots(void)
{
	static const uint32_t w31[] = { 3, 1 }, w111[] = { 1, 1, 1 }, w511[] = { 5, 1, 1 },
			      w62[] = { 6, 2 }, w13[] = { 1, 3 }, w0[] = { 2, 0, 1 },
			      wz[] = { 0, 0 };
	uint32_t w[40], slots[4096], ref[4096];
	int i, ret, run, maxrun, ok;
	unsigned seed = 12345;

	check_slots("3,1", w31, 2, "aaba");
	check_slots("1,1,1", w111, 3, "abc");
	check_slots("5,1,1", w511, 3, "aabacaa");
	check_slots("6,2 reduced by the gcd", w62, 2, "aaba");
	check_slots("1,3: the heavier first", w13, 2, "babb");
	check_slots("2,0,1 skips weight 0", w0, 3, "aca");
	T_EQ_INT(lb_rr_slots(wz, 2, slots, 10), 0, "rr_slots: all weights 0 -> no slot");
	T_EQ_INT(lb_rr_slots(w31, 2, slots, 3), 3, "rr_slots: capped at max");
	T_EQ_INT(lb_rr_slots(NULL, 2, slots, 3), -EINVAL, "rr_slots: NULL weights");
	T_EQ_INT(lb_rr_slots(w31, 2, slots, 0), -EINVAL, "rr_slots: max 0");

	/* 5,1,1: within a period, the light servers are apart and split the heavy one's runs. */
	ret = lb_rr_slots(w511, 3, slots, 64);
	maxrun = 0;
	for (i = 0, run = 0; i < ret; i++) {
		run = slots[i] == 0 ? run + 1 : 0;
		if (run > maxrun)
			maxrun = run;
		if (i + 1 < ret && slots[i] && slots[i + 1])
			maxrun = 99;
	}
	T_EQ_INT(maxrun, 2, "rr_slots 5,1,1: interleaved (no run over 2, light ones apart)");

	/* The grouped computation equals the textbook one, for mixed weights. */
	ok = 1;
	for (int round = 0; round < 20; round++) {
		int n = 1 + round * 2 % 40;

		for (i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			w[i] = (seed >> 16) % (round % 3 ? 5 : 256);
		}
		w[0] |= 1;
		ret = lb_rr_slots(w, n, slots, 4096);
		swrr_ref(w, n, ref, ret > 0 ? ret : 0);
		if (ret <= 0 || memcmp(slots, ref, ret * sizeof(uint32_t)))
			ok = 0;
	}
	T_OK(ok, "rr_slots equals the step-by-step smooth round-robin (20 weight sets)");

	/* Every server appears exactly `weight / gcd` times in a full period. */
	{
		static const uint32_t wp[] = { 4, 8, 12, 2 };
		int cnt[4] = { 0 };

		ret = lb_rr_slots(wp, 4, slots, 4096);
		for (i = 0; i < ret; i++)
			cnt[slots[i]]++;
		T_OK(ret == 13 && cnt[0] == 2 && cnt[1] == 4 && cnt[2] == 6 && cnt[3] == 1,
		     "rr_slots 4,8,12,2: 13 slots, 2/4/6/1 each");
	}
}

/*
 * Hashing is deterministic across runs and hosts: no seed taken from the
 * time, the address space or the byte order. These values were computed
 * once; a change here moves every client of every running balancer (and
 * breaks the XDP tier's agreement with userspace), so it must be deliberate.
 */
static void test_golden(void)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct lb_maglev_entry e[5];
	uint64_t h = 1469598103934665603ull; /* FNV-1a over the table */
	int i;

	T_EQ_INT(lb_hash_bytes("", 0), 0x3cd6e3f3, "golden: lb_hash_bytes(\"\")");
	T_EQ_INT(lb_hash_bytes("a", 1), 0xba1e428e, "golden: lb_hash_bytes(\"a\")");
	T_EQ_INT(lb_hash_bytes("web1", 4), 0xefaf3ff0, "golden: lb_hash_bytes(\"web1\")");
	T_EQ_INT(lb_hash_bytes("hello, world", 12), 0xcac25921,
		 "golden: lb_hash_bytes(\"hello, world\")");
	inet_pton(AF_INET, "192.0.2.1", &s4.sin_addr);
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	T_EQ_INT(lb_hash_addr((struct sockaddr *)&s4), 0xff29f864,
		 "golden: lb_hash_addr(192.0.2.1)");
	T_EQ_INT(lb_hash_addr((struct sockaddr *)&s6), 0x73757382,
		 "golden: lb_hash_addr(2001:db8::1)");
	mk_ents(e, 5, (const uint32_t[]){ 1, 2, 3, 4, 5 });
	T_EQ_INT(lb_maglev_build(e, 5, tab_a, M), 0, "golden: maglev build");
	for (i = 0; i < M; i++) {
		h ^= tab_a[i];
		h *= 1099511628211ull;
	}
	T_OK(h == 0xcdd7ce46a5d8e093ull && tab_a[0] == 2 && tab_a[1] == 4 && tab_a[M - 1] == 2,
	     "golden: the Maglev table of srv1..srv5 weights 1..5 (digest %#llx)",
	     (unsigned long long)h);
}

int main(void)
{
	test_balance();
	test_disruption();
	test_determinism();
	test_golden();
	test_errors();
	test_speed();
	test_rr_slots();
	T_DONE();
}
