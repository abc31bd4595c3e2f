// SPDX-License-Identifier: MIT
/*
 * Plain and TLS transports (see tls.h). TLS uses OpenSSL 3 in non-blocking
 * mode: every call may answer "want read" or "want write", which is turned
 * into EAGAIN plus x->want for the event loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
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
	/* a client that verifies: say why the certificate was refused */
	if (!SSL_is_server(x->ssl) && (SSL_get_verify_mode(x->ssl) & SSL_VERIFY_PEER) &&
	    SSL_get_verify_result(x->ssl) != X509_V_OK)
		x->err = X509_verify_cert_error_string(SSL_get_verify_result(x->ssl));
	else if (ret == 0 || errno == ECONNRESET)
		x->err = "connection closed during the handshake";
	errno = EPROTO;
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

/* HAProxy's names of the protocol versions, in order, and of their options. */
static const struct {
	const char *name, *suffix; /* "TLSv1.2", "tlsv12" (no-tlsv12, force-tlsv12) */
	int version;
	long no_flag;
} tls_versions[] = {
	{ "SSLv3", "sslv3", SSL3_VERSION, SSL_OP_NO_SSLv3 },
	{ "TLSv1.0", "tlsv10", TLS1_VERSION, SSL_OP_NO_TLSv1 },
	{ "TLSv1.1", "tlsv11", TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
	{ "TLSv1.2", "tlsv12", TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
	{ "TLSv1.3", "tlsv13", TLS1_3_VERSION, SSL_OP_NO_TLSv1_3 },
};
#define N_TLS_VERSIONS (int)(sizeof(tls_versions) / sizeof(tls_versions[0]))

/* The index of a version by name ("TLSv1.2") or by option suffix ("tlsv12"); -1 if none. */
static int tls_version_index(const char *name)
{
	for (int i = 0; i < N_TLS_VERSIONS; i++) {
		if (!strcmp(name, tls_versions[i].name) || !strcmp(name, tls_versions[i].suffix))
			return i;
	}
	return -1;
}

/*
 * `ssl-default-bind-options` or `ssl-default-server-options` (checked by the
 * config parser; `what` names the keyword in messages): versions with
 * ssl-min-ver/ssl-max-ver, force-*, no-* (a no-* below the lowest allowed
 * version raises the minimum, as HAProxy does), no-tls-tickets and
 * prefer-client-ciphers. Without options: TLSv1.2 and up, server cipher
 * preference, tickets on (HAProxy 2.6's defaults).
 */
static int apply_tls_options(SSL_CTX *ctx, const char *what, const char *options, char **err)
{
	char buf[512], *save = NULL, *w;
	int min = tls_version_index("TLSv1.2"), max = N_TLS_VERSIONS - 1, i;
	bool no[N_TLS_VERSIONS] = { false };

	snprintf(buf, sizeof(buf), "%s", options ? options : "");
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (!strcmp(w, "ssl-min-ver") || !strcmp(w, "ssl-max-ver")) {
			char *v = strtok_r(NULL, " ", &save);

			i = v ? tls_version_index(v) : -1;
			if (i < 0)
				return cfg_err(err, "%s: bad version '%s'", what, v ? v : "");
			if (!strcmp(w, "ssl-min-ver"))
				min = i;
			else
				max = i;
		} else if (!strncmp(w, "force-", 6) && (i = tls_version_index(w + 6)) >= 0) {
			min = max = i;
		} else if (!strncmp(w, "no-", 3) && (i = tls_version_index(w + 3)) >= 0) {
			no[i] = true;
		} else if (!strcmp(w, "no-tls-tickets")) {
			SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		} else if (!strcmp(w, "prefer-client-ciphers")) {
			SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
		}
	}
	/* the no-* at the ends of the range move them */
	while (min <= max && no[min])
		min++;
	while (max >= min && no[max])
		max--;
	if (min > max)
		return cfg_err(err, "%s: no TLS version left between %s and %s", what,
			       tls_versions[min < N_TLS_VERSIONS ? min : N_TLS_VERSIONS - 1].name,
			       tls_versions[max >= 0 ? max : 0].name);
	for (i = min + 1; i < max; i++) {
		if (no[i])
			SSL_CTX_set_options(ctx, tls_versions[i].no_flag);
	}
	if (SSL_CTX_set_min_proto_version(ctx, tls_versions[min].version) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, tls_versions[max].version) != 1)
		return cfg_err(err, "%s: %s..%s is not available in OpenSSL", what,
			       tls_versions[min].name, tls_versions[max].name);
	return 0;
}

/* TLSv1.2 cipher list and TLSv1.3 suites (OpenSSL syntax); NULL: the library's. */
static int apply_ciphers(SSL_CTX *ctx, const char *ciphers, const char *suites, char **err)
{
	if (ciphers && SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
		return cfg_err(err, "invalid ciphers '%s'", ciphers);
	if (suites && SSL_CTX_set_ciphersuites(ctx, suites) != 1)
		return cfg_err(err, "invalid ciphersuites '%s'", suites);
	return 0;
}

/*
 * Diffie-Hellman parameters for the DHE ciphers: `ssl-dh-param-file`, else
 * the RFC 7919 group of `tune.ssl.default-dh-param` bits (2048 when not
 * set, as HAProxy 2.6; 1024 is not offered, it is below OpenSSL 3's
 * security level).
 */
static int apply_dh(SSL_CTX *ctx, const char *file, int bits, char **err)
{
	EVP_PKEY *pkey = NULL;

	if (file) {
		BIO *bio = BIO_new_file(file, "r");

		if (bio)
			pkey = PEM_read_bio_Parameters(bio, NULL);
		BIO_free(bio);
		if (!pkey)
			return cfg_err(err, "ssl-dh-param-file '%s': no DH parameters in it", file);
	} else {
		const char *group = bits > 6144 ? "ffdhe8192" :
				    bits > 4096 ? "ffdhe6144" :
				    bits > 3072 ? "ffdhe4096" :
				    bits > 2048 ? "ffdhe3072" :
						  "ffdhe2048";
		EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
		OSSL_PARAM params[2];

		params[0] = OSSL_PARAM_construct_utf8_string("group", (char *)group, 0);
		params[1] = OSSL_PARAM_construct_end();
		if (!pctx || EVP_PKEY_paramgen_init(pctx) <= 0 ||
		    EVP_PKEY_CTX_set_params(pctx, params) <= 0 ||
		    EVP_PKEY_paramgen(pctx, &pkey) <= 0)
			pkey = NULL;
		EVP_PKEY_CTX_free(pctx);
		if (!pkey)
			return cfg_err(err, "cannot make the DH group %s", group);
	}
	if (SSL_CTX_set0_tmp_dh_pkey(ctx, pkey) != 1) {
		EVP_PKEY_free(pkey);
		return cfg_err(err, "cannot use the DH parameters");
	}
	return 0;
}

void *tls_ctx_new(const char *crt, const struct global *g, char **err)
{
	const char *ciphers = g ? g->ssl_bind_ciphers : NULL;
	const char *ciphersuites = g ? g->ssl_bind_ciphersuites : NULL;
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
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (apply_tls_options(ctx, "ssl-default-bind-options", g ? g->ssl_bind_options : NULL,
			      err) < 0 ||
	    apply_dh(ctx, g ? g->ssl_dh_param_file : NULL, g ? g->tune_ssl_dh_param : 0, err) < 0)
		goto fail;
	if (apply_ciphers(ctx, ciphers, ciphersuites, err) < 0)
		goto fail;
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

/* ---- TLS to servers ---- */

/*
 * A server's client context and its session cache: one session, the last
 * the server gave, offered again on the next connection (resumption). The
 * state lives as long as the context (ex_data freed with it): connections
 * hold the context, so a session callback never sees freed state.
 */
struct tls_srv {
	SSL_CTX *ctx;
	pthread_mutex_t lock;
	SSL_SESSION *sess;
};

static int tls_srv_idx = -1;
static pthread_once_t tls_srv_once = PTHREAD_ONCE_INIT;

static void tls_srv_exfree(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			   void *argp)
{
	struct tls_srv *ts = ptr;

	if (!ts)
		return;
	SSL_SESSION_free(ts->sess);
	pthread_mutex_destroy(&ts->lock);
	free(ts);
}

static void tls_srv_init_idx(void)
{
	tls_srv_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tls_srv_exfree);
}

static int tls_srv_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_srv *ts = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tls_srv_idx);
	SSL_SESSION *old;

	if (!ts)
		return 0;
	pthread_mutex_lock(&ts->lock);
	old = ts->sess;
	ts->sess = sess;
	pthread_mutex_unlock(&ts->lock);
	SSL_SESSION_free(old);
	return 1; /* the reference is ours */
}

struct tls_srv *tls_srv_new(const struct server *s, const struct global *g, char **err)
{
	const char *ciphers = g ? g->ssl_server_ciphers : NULL;
	const char *ciphersuites = g ? g->ssl_server_ciphersuites : NULL;
	struct tls_srv *ts;
	SSL_CTX *ctx;
	char *why;

	pthread_once(&tls_srv_once, tls_srv_init_idx);
	ctx = SSL_CTX_new(TLS_client_method());
	ts = calloc(1, sizeof(*ts));
	if (!ctx || !ts || tls_srv_idx < 0) {
		why = ssl_errors();
		cfg_err(err, "cannot create a TLS context: %s", why);
		free(why);
		free(ts);
		SSL_CTX_free(ctx);
		return NULL;
	}
	pthread_mutex_init(&ts->lock, NULL);
	ts->ctx = ctx;
	SSL_CTX_set_ex_data(ctx, tls_srv_idx, ts); /* freed with ctx from now on */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, tls_srv_new_session);
	/* no ALPN offered (HAProxy offers none without `alpn`): never h2 */
	if (apply_tls_options(ctx, "ssl-default-server-options", g ? g->ssl_server_options : NULL,
			      err) < 0)
		goto fail;
	if (apply_ciphers(ctx, ciphers, ciphersuites, err) < 0)
		goto fail;
	if (s->verify_none) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		/*
		 * The chain; the name only against the SNI when one is sent (as
		 * HAProxy 2.6 without `verifyhost`, which lbd does not support)
		 */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (!s->ca_file || SSL_CTX_load_verify_locations(ctx, s->ca_file, NULL) != 1) {
			why = ssl_errors();
			cfg_err(err, "cannot load the CAs from '%s': %s",
				s->ca_file ? s->ca_file : "(none)", why);
			free(why);
			goto fail;
		}
	}
	if (s->crt) {
		if (SSL_CTX_use_certificate_chain_file(ctx, s->crt) != 1) {
			why = ssl_errors();
			cfg_err(err, "cannot load certificate from '%s': %s", s->crt, why);
			free(why);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, s->crt, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			why = ssl_errors();
			cfg_err(err,
				"cannot load the private key matching the certificate from '%s': %s",
				s->crt, why);
			free(why);
			goto fail;
		}
	}
	return ts;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_srv_free(struct tls_srv *ts)
{
	if (ts)
		SSL_CTX_free(ts->ctx); /* ts goes with the last reference to the context */
}

int xconn_init_tls_client(struct xconn *x, struct tls_srv *ts, int fd, const char *sni)
{
	SSL *ssl = SSL_new(ts->ctx);
	SSL_SESSION *sess;

	memset(x, 0, sizeof(*x));
	x->fd = fd;
	if (!ssl)
		return -1;
	if (SSL_set_fd(ssl, fd) != 1 || (sni && *sni && SSL_set_tlsext_host_name(ssl, sni) != 1)) {
		SSL_free(ssl);
		return -1;
	}
	/* a verified certificate must also name the SNI sent, as HAProxy checks it */
	if (sni && *sni && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) &&
	    SSL_set1_host(ssl, sni) != 1) {
		SSL_free(ssl);
		return -1;
	}
	pthread_mutex_lock(&ts->lock);
	sess = ts->sess;
	if (sess)
		SSL_SESSION_up_ref(sess);
	pthread_mutex_unlock(&ts->lock);
	if (sess) {
		/* offered only to the server name it was made for */
		const char *host = SSL_SESSION_get0_hostname(sess);

		if ((!host && !(sni && *sni)) || (host && sni && !strcmp(host, sni)))
			SSL_set_session(ssl, sess);
		SSL_SESSION_free(sess);
	}
	SSL_set_connect_state(ssl);
	x->ssl = ssl;
	x->ops = &xprt_tls;
	return 0;
}

bool xconn_tls_reused(const struct xconn *x)
{
	return x->ssl && SSL_session_reused(x->ssl);
}
