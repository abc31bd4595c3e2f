/* SPDX-License-Identifier: MIT */
/*
 * TEMPORARY: the BPF tests link every lbd object except main.o, and some of
 * them use `lbd` and now_ms(), which main.c defines. These weak stand-ins
 * let the tests link until those move out of main.c; a strong definition
 * anywhere in the linked objects replaces them. Include from one test file
 * per binary only.
 */
#ifndef XLB_TEST_BPF_STUBS_H
#define XLB_TEST_BPF_STUBS_H

#include <stdint.h>
#include <time.h>

#include "lbd.h"

__attribute__((weak)) struct lbd lbd;

__attribute__((weak)) uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
