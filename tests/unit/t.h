/* SPDX-License-Identifier: MIT */
/*
 * Minimal TAP-style test helpers shared by tests/unit and tests/bpf.
 * Each check prints "ok - what" or "not ok - what"; tests/run.sh counts them.
 */
#ifndef XLB_TEST_T_H
#define XLB_TEST_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed;
static int t_count;

#define T_OK(cond, ...)                                                 \
	do {                                                            \
		t_count++;                                              \
		if (cond) {                                             \
			printf("ok - ");                                \
		} else {                                                \
			t_failed++;                                     \
			printf("not ok - %s:%d: ", __FILE__, __LINE__); \
		}                                                       \
		printf(__VA_ARGS__);                                    \
		printf("\n");                                           \
		fflush(stdout);                                         \
	} while (0)

#define T_EQ_INT(a, b, ...)                                              \
	do {                                                             \
		long long _a = (long long)(a), _b = (long long)(b);      \
		T_OK(_a == _b, __VA_ARGS__);                             \
		if (_a != _b)                                            \
			printf("#   got %lld, expected %lld\n", _a, _b); \
	} while (0)

#define T_EQ_STR(a, b, ...)                                                             \
	do {                                                                            \
		const char *_a = (a), *_b = (b);                                        \
		int _eq = (_a && _b) ? strcmp(_a, _b) == 0 : _a == _b;                  \
		T_OK(_eq, __VA_ARGS__);                                                 \
		if (!_eq)                                                               \
			printf("#   got \"%s\", expected \"%s\"\n", _a ? _a : "(null)", \
			       _b ? _b : "(null)");                                     \
	} while (0)

#define T_SKIP(...)                     \
	do {                            \
		printf("ok - # skip "); \
		printf(__VA_ARGS__);    \
		printf("\n");           \
	} while (0)

/* Exit status: 0 when every check passed. */
#define T_DONE() return t_failed ? 1 : 0

#endif
