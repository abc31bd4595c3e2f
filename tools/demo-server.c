// SPDX-License-Identifier: MIT
/*
 * demo-server: a small HTTP/1.1 (and TCP/UDP echo) server that answers with
 * its own name, for `make run` and the tests.
 *
 *   demo-server -n NAME -l ADDR:PORT [-l ...] [-u ADDR:PORT] [-e]
 *
 * HTTP paths: /            -> "NAME\n"
 *             /big?n=N     -> N bytes of body (long transfers)
 *             /slow?ms=N   -> answer after N ms
 *             /status/N    -> answer with status N
 *             /echo        -> the request head, as received, in the body
 * -e: TCP echo instead of HTTP (every byte read is written back, prefixed by
 *     nothing); the first line written on connect is "NAME\n".
 * -c: TCP count: read until the client shuts its write side, then answer
 *     "NAME N\n" (N = bytes read) and close; an answer that needs the
 *     client's FIN to arrive first (half-close).
 * -u: UDP echo on ADDR:PORT, replies "NAME:" + payload.
 * -s CERT: HTTP over TLS (CERT: PEM with the certificate and its key);
 *     /tls answers "sni=NAME cn=CLIENT-CN conns=N conn=I resumed=0|1" (N: TCP
 *     connections accepted so far, I: this connection's number). -a CAFILE: require a client certificate
 *     signed by one of these CAs.
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cfg.h"

#define RBUF 65536

static const char *name = "demo";
static bool echo_mode;
static bool count_mode;
static SSL_CTX *tls_ctx; /* -s */
static unsigned long accepted;

struct dconn {
	int fd;
	ev_io io;
	ev_timer delay;
	char in[RBUF];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	uint64_t big_left; /* bytes of a /big body still to generate */
	uint64_t counted; /* -c: bytes read so far */
	bool close_after;
	bool greeted;
	unsigned long id; /* the connection's number: `accepted` when it came */
	SSL *ssl;
};

/* read()/send() through TLS when on: -1 with EAGAIN when it must wait. */
static ssize_t c_io(struct dconn *c, void *buf, size_t len, bool wr)
{
	int r, e;

	if (!c->ssl)
		return wr ? send(c->fd, buf, len, MSG_NOSIGNAL) : read(c->fd, buf, len);
	ERR_clear_error();
	r = wr ? SSL_write(c->ssl, buf, (int)len) : SSL_read(c->ssl, buf, (int)len);
	if (r > 0)
		return r;
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN && !wr)
		return 0;
	errno = ECONNRESET;
	return -1;
}

static void dconn_free(struct ev_loop *loop, struct dconn *c)
{
	ev_io_stop(loop, &c->io);
	ev_timer_stop(loop, &c->delay);
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	free(c->out);
	free(c);
}

static void out_append(struct dconn *c, const char *data, size_t len)
{
	char *n = realloc(c->out, c->outlen + len);

	if (!n)
		return;
	c->out = n;
	memcpy(c->out + c->outlen, data, len);
	c->outlen += len;
}

static const char *reason(int st)
{
	switch (st) {
	case 200:
		return "OK";
	case 404:
		return "Not Found";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

static long query_num(const char *target, const char *key, long def)
{
	const char *q = strchr(target, '?');
	size_t kl = strlen(key);

	while (q) {
		q++;
		if (!strncmp(q, key, kl) && q[kl] == '=')
			return strtol(q + kl + 1, NULL, 10);
		q = strchr(q, '&');
	}
	return def;
}

static void set_io(struct ev_loop *loop, struct dconn *c, int ev)
{
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->fd, ev);
	ev_io_start(loop, &c->io);
}

/* Build the response for one complete request head; returns bytes of input consumed or 0. */
static size_t handle_request(struct dconn *c)
{
	char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	char method[16] = "", target[2048] = "", hdr[256];
	size_t head, body = 0;
	long cl = 0, st = 200;
	const char *p;
	int n;

	if (!end)
		return 0;
	head = end - c->in + 4;
	if (sscanf(c->in, "%15s %2047s", method, target) != 2) {
		c->close_after = true;
		out_append(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 47);
		return c->inlen;
	}
	p = strcasestr(c->in, "\r\ncontent-length:");
	if (p && p < end)
		cl = strtol(p + 17, NULL, 10);
	if (cl < 0)
		cl = 0;
	if (head + (size_t)cl > c->inlen)
		return 0; /* wait for the body */
	body = cl;
	p = strcasestr(c->in, "\r\nconnection:");
	if (p && p < end && !strncasecmp(p + 13 + strspn(p + 13, " \t"), "close", 5))
		c->close_after = true;
	if (strstr(c->in, "HTTP/1.0\r\n") && !(p && p < end && strcasestr(p, "keep-alive")))
		c->close_after = true;

	if (!strncmp(target, "/status/", 8))
		st = strtol(target + 8, NULL, 10);
	if (st < 100 || st > 599)
		st = 200;
	if (!strncmp(target, "/big", 4)) {
		long sz = query_num(target, "n", 1 << 20);

		n = snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\nX-Server: %s\r\n\r\n", sz,
			     name);
		out_append(c, hdr, n);
		c->big_left = sz;
	} else if (!strcmp(target, "/tls") && c->ssl) {
		const char *sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
		X509 *peer = SSL_get1_peer_certificate(c->ssl);
		char cn[128] = "-", b[512];
		int bl;

		if (peer)
			X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
						  sizeof(cn));
		X509_free(peer);
		bl = snprintf(b, sizeof(b), "sni=%s cn=%s conns=%lu conn=%lu resumed=%d\n",
			      sni ? sni : "-", cn, accepted, c->id,
			      SSL_session_reused(c->ssl) ? 1 : 0);
		n = snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Server: %s\r\n\r\n", bl,
			     name);
		out_append(c, hdr, n);
		out_append(c, b, bl);
	} else if (!strncmp(target, "/echo", 5)) {
		n = snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nX-Server: %s\r\n\r\n",
			     head + body, name);
		out_append(c, hdr, n);
		out_append(c, c->in, head + body);
	} else {
		char b[300];
		int bl = snprintf(b, sizeof(b), "%s\n", name);

		if (!strcmp(method, "HEAD"))
			bl = 0;
		n = snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 %ld %s\r\nContent-Length: %d\r\nX-Server: %s\r\n%s\r\n", st,
			     reason(st), (int)strlen(name) + 1, name,
			     c->close_after ? "Connection: close\r\n" : "");
		out_append(c, hdr, n);
		out_append(c, b, bl);
	}
	return head + body;
}

static void conn_cb(struct ev_loop *loop, ev_io *io, int revents);

static void flush_out(struct ev_loop *loop, struct dconn *c)
{
	for (;;) {
		while (c->outoff < c->outlen) {
			ssize_t n = c_io(c, c->out + c->outoff, c->outlen - c->outoff, true);

			if (n < 0) {
				if (errno == EAGAIN) {
					set_io(loop, c, EV_WRITE);
					return;
				}
				dconn_free(loop, c);
				return;
			}
			c->outoff += n;
		}
		c->outoff = c->outlen = 0;
		if (!c->big_left)
			break;
		{
			static char chunk[65536];
			size_t n = c->big_left > sizeof(chunk) ? sizeof(chunk) : c->big_left;

			if (!chunk[0])
				memset(chunk, 'x', sizeof(chunk));
			out_append(c, chunk, n);
			c->big_left -= n;
		}
	}
	if (c->close_after) {
		dconn_free(loop, c);
		return;
	}
	set_io(loop, c, EV_READ);
}

static void delay_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	flush_out(loop, t->data);
}

static void conn_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct dconn *c = io->data;
	ssize_t n;

	if (revents & EV_WRITE) {
		flush_out(loop, c);
		return;
	}
	if (count_mode) {
		char line[300];
		int ll;

		n = read(c->fd, c->in, sizeof(c->in));
		if (n > 0) {
			c->counted += n;
			return;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			dconn_free(loop, c);
			return;
		}
		ll = snprintf(line, sizeof(line), "%s %llu\n", name,
			      (unsigned long long)c->counted);
		out_append(c, line, ll);
		c->close_after = true;
		flush_out(loop, c);
		return;
	}
	n = c_io(c, c->in + c->inlen, sizeof(c->in) - c->inlen - 1, false);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		if (echo_mode && n == 0) {
			shutdown(c->fd, SHUT_WR);
		}
		dconn_free(loop, c);
		return;
	}
	if (echo_mode) {
		out_append(c, c->in, n);
		flush_out(loop, c);
		return;
	}
	c->inlen += n;
	c->in[c->inlen] = 0;
	for (;;) {
		size_t used = handle_request(c);
		long ms;

		if (!used)
			break;
		ms = query_num(c->in, "ms", 0);
		if (!strncmp(c->in + strcspn(c->in, " ") + 1, "/slow", 5) && ms > 0) {
			memmove(c->in, c->in + used, c->inlen - used);
			c->inlen -= used;
			ev_io_stop(loop, &c->io);
			ev_timer_set(&c->delay, ms / 1000.0, 0);
			ev_timer_start(loop, &c->delay);
			return;
		}
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		c->in[c->inlen] = 0;
	}
	if (c->inlen >= sizeof(c->in) - 1) {
		dconn_free(loop, c);
		return;
	}
	if (c->outlen)
		flush_out(loop, c);
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	for (;;) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct dconn *c;
		int one = 1;

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = ++accepted;
		if (tls_ctx) {
			/* handshake in blocking mode, bounded: a test server, one at a time */
			struct timeval tv = { 2, 0 };
			int fl = fcntl(fd, F_GETFL);

			c->ssl = SSL_new(tls_ctx);
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1 || SSL_accept(c->ssl) != 1) {
				unsigned long e = ERR_get_error();

				fprintf(stderr, "demo-server: TLS handshake failed: %s\n",
					e ? ERR_reason_error_string(e) : "closed");
				ERR_clear_error();
				SSL_free(c->ssl);
				close(fd);
				free(c);
				continue;
			}
			fcntl(fd, F_SETFL, fl);
		}
		ev_io_init(&c->io, conn_cb, fd, EV_READ);
		c->io.data = c;
		ev_timer_init(&c->delay, delay_cb, 0, 0);
		c->delay.data = c;
		ev_io_start(loop, &c->io);
		if (echo_mode) {
			char g[300];
			int gl = snprintf(g, sizeof(g), "%s\n", name);

			out_append(c, g, gl);
			flush_out(loop, c);
		}
	}
}

static void udp_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	char in[2048], out[2400];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(io->fd, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
	int ol;

	if (n < 0)
		return;
	ol = snprintf(out, sizeof(out), "%s:", name);
	memcpy(out + ol, in, n);
	sendto(io->fd, out, ol + n, 0, (struct sockaddr *)&from, fl);
}

static int open_sock(const char *spec, int type)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char *err = NULL;
	int fd, one = 1;

	if (cfg_parse_addr(spec, &ss, &len, 0, &err) < 0) {
		fprintf(stderr, "demo-server: bad address '%s': %s\n", spec, err ? err : "");
		exit(1);
	}
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		exit(1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
		fprintf(stderr, "demo-server: cannot listen on %s: %s\n", spec, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct ev_loop *loop = ev_default_loop(0);
	int opt, n = 0;

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "n:l:u:ecs:a:")) != -1) {
		ev_io *io;

		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 'e':
			echo_mode = true;
			break;
		case 'c':
			count_mode = true;
			break;
		case 's':
			tls_ctx = SSL_CTX_new(TLS_server_method());
			if (!tls_ctx || SSL_CTX_use_certificate_chain_file(tls_ctx, optarg) != 1 ||
			    SSL_CTX_use_PrivateKey_file(tls_ctx, optarg, SSL_FILETYPE_PEM) != 1) {
				fprintf(stderr, "demo-server: cannot load '%s'\n", optarg);
				return 1;
			}
			break;
		case 'a':
			if (!tls_ctx || SSL_CTX_load_verify_locations(tls_ctx, optarg, NULL) != 1) {
				fprintf(stderr, "demo-server: -a needs -s first and a CA file\n");
				return 1;
			}
			SSL_CTX_set_verify(tls_ctx,
					   SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
			break;
		case 'l':
		case 'u':
			io = calloc(1, sizeof(*io));
			if (!io)
				return 1;
			if (opt == 'l')
				ev_io_init(io, accept_cb, open_sock(optarg, SOCK_STREAM), EV_READ);
			else
				ev_io_init(io, udp_cb, open_sock(optarg, SOCK_DGRAM), EV_READ);
			ev_io_start(loop, io);
			n++;
			break;
		default:
			fprintf(stderr,
				"usage: demo-server -n NAME -l ADDR:PORT [-u ADDR:PORT] [-e|-c] [-s CERT [-a CA]]\n");
			return 1;
		}
	}
	if (!n) {
		fprintf(stderr,
			"usage: demo-server -n NAME -l ADDR:PORT [-u ADDR:PORT] [-e|-c] [-s CERT [-a CA]]\n");
		return 1;
	}
	ev_run(loop, 0);
	return 0;
}
