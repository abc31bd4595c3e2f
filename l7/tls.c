// SPDX-License-Identifier: MIT
/*
 * Plain and TLS transports (see tls.h). TLS uses OpenSSL 3 in non-blocking
 * mode: every call may answer "want read" or "want write", which is turned
 * into EAGAIN plus x->want for the event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cfg.h"
#include "tls.h"

/* ---- plain sockets ---- */

static int raw_handshake(struct xconn *x)
{
	return 1;
}

static ssize_t raw_recv(struct xconn *x, void *buf, size_t len)
{
	ssize_t n;

	do {
		n = recv(x->fd, buf, len, 0);
	} while (n < 0 && errno == EINTR);
	return n;
}

static ssize_t raw_send(struct xconn *x, const void *buf, size_t len)
{
	ssize_t n;

	do {
		n = send(x->fd, buf, len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n;
}

static bool raw_pending(struct xconn *x)
{
	return false;
}

static void raw_shutw(struct xconn *x)
{
	if (!x->shut)
		shutdown(x->fd, SHUT_WR);
	x->shut = true;
}

static void raw_release(struct xconn *x)
{
}

const struct xprt_ops xprt_raw = {
	.name = "raw",
	.handshake = raw_handshake,
	.recv = raw_recv,
	.send = raw_send,
	.pending = raw_pending,
	.shutw = raw_shutw,
	.release = raw_release,
};

void xconn_init_raw(struct xconn *x, int fd)
{
	memset(x, 0, sizeof(*x));
	x->ops = &xprt_raw;
	x->fd = fd;
}

/* ---- TLS ---- */

/* Map an OpenSSL result to our convention; sets errno and x->want. */
static int tls_result(struct xconn *x, int ret)
{
	int e = SSL_get_error(x->ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		x->want = XPRT_WANT_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		x->want = XPRT_WANT_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (errno == 0 || errno == EAGAIN)
			errno = ECONNRESET;
		x->err = "TLS: connection error";
		return -1;
	default: {
		unsigned long le = ERR_get_error();

		x->err = le ? ERR_reason_error_string(le) : "TLS: protocol error";
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
	}
}

static int tls_handshake(struct xconn *x)
{
	int ret;

	x->want = 0;
	ERR_clear_error();
	ret = SSL_do_handshake(x->ssl);
	if (ret == 1)
		return 1;
	if (tls_result(x, ret) < 0 && errno == EAGAIN)
		return 0;
	return -1;
}

static ssize_t tls_recv(struct xconn *x, void *buf, size_t len)
{
	int ret;

	x->want = 0;
	ERR_clear_error();
	ret = SSL_read(x->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (ret > 0)
		return ret;
	return tls_result(x, ret);
}

static ssize_t tls_send(struct xconn *x, const void *buf, size_t len)
{
	int ret;

	x->want = 0;
	ERR_clear_error();
	ret = SSL_write(x->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (ret > 0)
		return ret;
	ret = tls_result(x, ret);
	if (ret == 0) {
		errno = EPIPE;
		ret = -1;
	}
	return ret;
}

static bool tls_pending(struct xconn *x)
{
	return SSL_pending(x->ssl) > 0;
}

static void tls_shutw(struct xconn *x)
{
	if (x->shut)
		return;
	x->shut = true;
	ERR_clear_error();
	SSL_shutdown(x->ssl); /* best effort: sends close_notify if it can */
	ERR_clear_error();
	shutdown(x->fd, SHUT_WR);
}

static void tls_release(struct xconn *x)
{
	SSL_free(x->ssl);
	x->ssl = NULL;
}

const struct xprt_ops xprt_tls = {
	.name = "tls",
	.handshake = tls_handshake,
	.recv = tls_recv,
	.send = tls_send,
	.pending = tls_pending,
	.shutw = tls_shutw,
	.release = tls_release,
};

/* Offer only HTTP/1.1 with ALPN: the L7 tier speaks HTTP/1.x. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "http/1.1";
	unsigned int i = 0;

	while (i < inlen) {
		unsigned int l = in[i];

		if (i + 1 + l > inlen)
			break;
		if (l == 8 && !memcmp(in + i + 1, h11, 8)) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + l;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

static char *ssl_errors(void)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (!e)
		return strdup("unknown error");
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return strdup(buf);
}

void *tls_ctx_new(const char *crt, const char *ciphers, const char *ciphersuites, char **err)
{
	SSL_CTX *ctx;
	char *why;

	if (!crt || !*crt) {
		cfg_err(err, "'ssl' needs 'crt FILE'");
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		why = ssl_errors();
		cfg_err(err, "cannot create a TLS context: %s", why);
		free(why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (ciphers && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		cfg_err(err, "invalid ciphers '%s'", ciphers);
		goto fail;
	}
	if (ciphersuites && SSL_CTX_set_ciphersuites(ctx, ciphersuites) != 1) {
		cfg_err(err, "invalid ciphersuites '%s'", ciphersuites);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1) {
		why = ssl_errors();
		cfg_err(err, "cannot load certificate from '%s': %s", crt, why);
		free(why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, crt, SSL_FILETYPE_PEM) != 1) {
		why = ssl_errors();
		cfg_err(err,
			"cannot load the private key from '%s' (the PEM file must hold it): %s",
			crt, why);
		free(why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		cfg_err(err, "the private key in '%s' does not match its certificate", crt);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

int xconn_init_tls(struct xconn *x, void *ctx, int fd)
{
	SSL *ssl = SSL_new(ctx);

	memset(x, 0, sizeof(*x));
	x->fd = fd;
	if (!ssl)
		return -1;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return -1;
	}
	SSL_set_accept_state(ssl);
	x->ssl = ssl;
	x->ops = &xprt_tls;
	return 0;
}

const char *xconn_sni(const struct xconn *x)
{
	if (!x->ssl)
		return NULL;
	return SSL_get_servername(x->ssl, TLSEXT_NAMETYPE_host_name);
}
