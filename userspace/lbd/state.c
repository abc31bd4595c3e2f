// SPDX-License-Identifier: MIT
/* Process-wide state of lbd, apart from main() so tests can link the daemon's modules. */
#include <time.h>

#include "lbd.h"

struct lbd lbd;

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
