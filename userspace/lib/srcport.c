// SPDX-License-Identifier: MIT
/* Keep lbd's own ephemeral ports in the band the XDP tier never hands out. */
#include <netinet/in.h>
#include <sys/socket.h>

#include "lb_kern_user.h"
#include "srcport.h"

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51 /* Linux 6.3+ */
#endif

static bool host_band;

void srcport_set_host_band(bool on)
{
	__atomic_store_n(&host_band, on, __ATOMIC_RELEASE);
}

void srcport_apply(int fd)
{
	unsigned int range = ((unsigned int)XLB_HOST_PORT_MAX << 16) | XLB_HOST_PORT_MIN;

	if (__atomic_load_n(&host_band, __ATOMIC_ACQUIRE))
		setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range, sizeof(range));
}
