/* SPDX-License-Identifier: MIT */
/*
 * Transports of the L7 tier behind one vtable: plain sockets and TLS
 * (OpenSSL, `bind ... ssl crt FILE`). The proxy reads and writes through
 * x->ops and never calls OpenSSL itself. A TLS connection may need to read
 * while the proxy wants to write (and the reverse): the transport says so in
 * x->want, which the proxy adds to the events it waits for.
 */
#ifndef XLB_TLS_H
#define XLB_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Events a transport needs (values of libev's EV_READ and EV_WRITE). */
#define XPRT_WANT_READ 0x01
#define XPRT_WANT_WRITE 0x02

struct xconn;

struct xprt_ops {
	const char *name;
	/* 1 when the connection is established, 0 in progress (see x->want), -1 failed */
	int (*handshake)(struct xconn *x);
	/* > 0 bytes, 0 on end of stream, -1 with errno (EAGAIN: try again on x->want) */
	ssize_t (*recv)(struct xconn *x, void *buf, size_t len);
	ssize_t (*send)(struct xconn *x, const void *buf, size_t len);
	/* Bytes already decrypted and waiting in the transport (none for plain sockets). */
	bool (*pending)(struct xconn *x);
	/* Send our end of stream (close_notify, then FIN). */
	void (*shutw)(struct xconn *x);
	/* Free the transport's state; does not close fd. */
	void (*release)(struct xconn *x);
};

struct xconn {
	const struct xprt_ops *ops;
	int fd;
	void *ssl; /* SSL *, TLS only */
	int want; /* XPRT_WANT_*: events the transport waits for, besides the caller's */
	bool shut; /* shutw done */
	const char *err; /* last TLS error, static text for logs */
};

extern const struct xprt_ops xprt_raw;
extern const struct xprt_ops xprt_tls;

/* A plain connection on fd. */
void xconn_init_raw(struct xconn *x, int fd);

/*
 * TLS server context for `crt` (a PEM file with the certificate chain and
 * the private key; the config parser has already resolved it against
 * `crt-base`), with the global section's `ssl-default-bind-ciphers`,
 * `-ciphersuites`, `-options`, `ssl-dh-param-file` and
 * `tune.ssl.default-dh-param` (g may be NULL: the defaults). NULL with *err
 * (malloc'd) on failure.
 */
struct global;
void *tls_ctx_new(const char *crt, const struct global *g, char **err);
void tls_ctx_free(void *ctx);

/* A TLS server connection on fd with ctx; 0 or -1. */
int xconn_init_tls(struct xconn *x, void *ctx, int fd);

/* Server name the client sent (SNI), NULL when none or not TLS. */
const char *xconn_sni(const struct xconn *x);

/*
 * TLS to a server (`server ... ssl`, or `check-ssl`): a client context with
 * the global section's `ssl-default-server-ciphers`, `-ciphersuites` and
 * `-options`, the server's `verify`/`ca-file` (the chain is verified, and
 * the name against the SNI when one is sent, as HAProxy without
 * `verifyhost`) and `crt` (client
 * certificate), and a cache of the last session for resumption. No ALPN is
 * offered. NULL with *err (malloc'd) on failure. Built when the L7 tier
 * compiles the backend; freed with it (connections still open keep it).
 */
struct server;
struct tls_srv;
struct tls_srv *tls_srv_new(const struct server *s, const struct global *g, char **err);
void tls_srv_free(struct tls_srv *ts);

/* A TLS client connection on fd, sending sni when not NULL/empty; 0 or -1. */
int xconn_init_tls_client(struct xconn *x, struct tls_srv *ts, int fd, const char *sni);

/* The handshake resumed a session. */
bool xconn_tls_reused(const struct xconn *x);

#endif
