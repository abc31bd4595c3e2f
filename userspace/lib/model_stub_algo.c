// SPDX-License-Identifier: MIT
/* TEMPORARY: weak server refcounting until model.c lands; delete then. */
#include "model.h"

__attribute__((weak)) void server_get(struct server *s)
{
	__atomic_add_fetch(&s->refcnt, 1, __ATOMIC_RELAXED);
}

__attribute__((weak)) void server_put(struct server *s)
{
	__atomic_sub_fetch(&s->refcnt, 1, __ATOMIC_RELAXED);
}
