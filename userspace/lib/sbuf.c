// SPDX-License-Identifier: MIT
/* A growable text buffer (see sbuf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

void sbuf_add(struct sbuf *b, const void *data, size_t len)
{
	if (b->oom || !len)
		return;
	if (b->len + len + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 1024;
		char *nb;

		while (ncap < b->len + len + 1)
			ncap *= 2;
		nb = realloc(b->buf, ncap);
		if (!nb) {
			b->oom = true;
			return;
		}
		b->buf = nb;
		b->cap = ncap;
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
	if (s)
		sbuf_add(b, s, strlen(s));
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sbuf_add(b, small, n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n >= 0)
		sbuf_add(b, big, n);
	else
		b->oom = true;
	free(big);
}

void sbuf_free(struct sbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}
