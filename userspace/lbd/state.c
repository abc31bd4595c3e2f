// SPDX-License-Identifier: MIT
/* Process-wide state of lbd, apart from main() so tests can link the daemon's modules. */
#include <pthread.h>
#include <time.h>

#include "lbd.h"

struct lbd lbd;

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int lbd_add_server(struct proxy *be, struct server *s, bool locked, char **err)
{
	int rc;

	*err = NULL;
	if (server_prepare_hook && server_prepare_hook(be, s, err) < 0)
		return LBD_SRV_REFUSED;
	if (!locked)
		pthread_mutex_lock(&be->lock);
	rc = backend_add_server(be, s);
	if (!locked)
		pthread_mutex_unlock(&be->lock);
	return rc;
}
