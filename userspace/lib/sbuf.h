/* SPDX-License-Identifier: MIT */
/*
 * A growable, NUL-terminated text buffer for building answers (runtime API
 * output, the statistics page). A failed allocation sets oom and makes
 * every later append a no-op, so callers check once at the end.
 */
#ifndef XLB_SBUF_H
#define XLB_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *buf; /* NULL until the first append */
	size_t len, cap;
	bool oom;
};

void sbuf_add(struct sbuf *b, const void *data, size_t len);
/* s may be NULL (nothing appended). */
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Release the memory; the buffer is empty and usable again. */
void sbuf_free(struct sbuf *b);

#endif
