// SPDX-License-Identifier: MIT
/*
 * Listening sockets of the frontends. Every worker watches every listener;
 * accept() is non-blocking so the loser of a race just sees EAGAIN. On
 * reload, a bind whose address did not change keeps its socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "cfg.h"
#include "lbd.h"
#include "log.h"

bool lbd_addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

void lbd_addr_ip_port(const struct sockaddr_storage *ss, char *ip, size_t iplen, int *port)
{
	snprintf(ip, iplen, "-");
	*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, ip, iplen);
		*port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, ip, iplen);
		*port = ntohs(s->sin6_port);
	}
}

void lbd_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	int port;

	lbd_addr_ip_port(ss, ip, sizeof(ip), &port);
	snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port);
}

/*
 * An inherited socket (`bind fd@N`): it must be an open TCP socket. One that
 * is bound but not listening yet is put to listen, as HAProxy does; anything
 * else (a file, a UDP or unix socket, an unbound socket) is refused, since
 * watching it would spin the workers.
 */
static int open_inherited(struct bind *b, int backlog, char **err)
{
	int fd = b->inherited_fd, fl, type = 0, acc = 0;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(type);

	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return cfg_err(err, "%s:%d: bind '%s': fd %d is not open", b->loc.file, b->loc.line,
			       b->name, fd);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
		return cfg_err(err, "%s:%d: bind '%s': fd %d is not a stream socket", b->loc.file,
			       b->loc.line, b->name, fd);
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return cfg_err(err, "%s:%d: bind '%s': fd %d is not a TCP/IP socket", b->loc.file,
			       b->loc.line, b->name, fd);
	len = sizeof(acc);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0)
		acc = 0;
	if (!acc) {
		/* A socket never bound gets an ephemeral port from listen(): refuse it. */
		if ((ss.ss_family == AF_INET && !((struct sockaddr_in *)&ss)->sin_port) ||
		    (ss.ss_family == AF_INET6 && !((struct sockaddr_in6 *)&ss)->sin6_port))
			return cfg_err(err, "%s:%d: bind '%s': fd %d is not bound to an address",
				       b->loc.file, b->loc.line, b->name, fd);
		if (listen(fd, backlog) < 0)
			return cfg_err(err, "%s:%d: bind '%s': cannot listen on fd %d: %s",
				       b->loc.file, b->loc.line, b->name, fd, strerror(errno));
	}
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/* Socket options of the bind line, before bind(). */
static int bind_sockopts(struct bind *b, int fd, const char *where, char **err)
{
	int one = 1, zero = 0;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (b->addr.ss_family == AF_INET6 && (b->v6only || b->v4v6) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, b->v6only ? &one : &zero, sizeof(one)) < 0)
		return cfg_err(err, "%s:%d: bind %s: cannot set %s: %s", b->loc.file, b->loc.line,
			       where, b->v6only ? "v6only" : "v4v6", strerror(errno));
	if (b->transparent) {
		int rc = b->addr.ss_family == AF_INET6 ?
				 setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one)) :
				 setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one));

		if (rc < 0)
			return cfg_err(err, "%s:%d: bind %s: cannot set transparent: %s",
				       b->loc.file, b->loc.line, where, strerror(errno));
	}
	return 0;
}

static int open_one(struct bind *b, int backlog, char **err)
{
	int fd;
	char where[80];

	if (b->inherited_fd >= 0)
		return open_inherited(b, backlog, err);
	lbd_addr_str(&b->addr, where, sizeof(where));
	fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cfg_err(err, "%s:%d: bind '%s': socket: %s", b->loc.file, b->loc.line, where,
			       strerror(errno));
	if (bind_sockopts(b, fd, where, err) < 0) {
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&b->addr, b->addrlen) < 0 || listen(fd, backlog) < 0) {
		int e = errno;

		close(fd);
		return cfg_err(err, "%s:%d: cannot bind %s for '%s': %s", b->loc.file, b->loc.line,
			       where, b->fe ? b->fe->name : "?", strerror(e));
	}
	return fd;
}

/*
 * Open the listeners of model m. Sockets of the current listeners whose
 * address is unchanged are taken over; the rest of the old ones are closed
 * by the caller after the swap (listeners_close_unused).
 */
int listeners_open(struct lbd *d, struct model *m, char **err)
{
	struct listener *ls = NULL;
	struct proxy *px;
	struct bind *b;
	int n = 0, cap = 0;

	list_for_each(px, &m->proxies, list) {
		if (!(px->cap & PX_CAP_FE) || px->disabled)
			continue;
		list_for_each(b, &px->binds, list) {
			int fd = -1, i, backlog;

			if (b->proto != BIND_TCP)
				continue; /* UDP VIPs are served by the XDP tier only */
			if (px->xdp)
				continue; /* served in the kernel: no socket on the VIP */
			for (i = 0; i < d->nlisteners; i++) {
				struct listener *ol = &d->listeners[i];

				/*
				 * An inherited socket is the same fd in both
				 * generations: the old listener must give it
				 * up, or closing the old ones would close it.
				 */
				if (ol->fd >= 0 &&
				    (b->inherited_fd >= 0 ?
					     ol->bind->inherited_fd == b->inherited_fd :
					     ol->bind->inherited_fd < 0 &&
						     lbd_addr_equal(&ol->bind->addr, &b->addr))) {
					fd = ol->fd;
					ol->fd = -1; /* taken over */
					break;
				}
			}
			backlog = px->maxconn > 0 ? px->maxconn : 1024;
			if (backlog < 128)
				backlog = 128;
			if (fd < 0)
				fd = open_one(b, backlog, err);
			if (fd < 0)
				goto fail;
			if (n == cap) {
				struct listener *t;

				cap = cap ? cap * 2 : 8;
				t = realloc(ls, cap * sizeof(*ls));
				if (!t) {
					close(fd);
					cfg_err(err, "out of memory");
					goto fail;
				}
				ls = t;
			}
			b->fd = fd;
			ls[n].bind = b;
			ls[n].fe = px;
			ls[n].fd = fd;
			n++;
		}
	}
	/*
	 * Workers still watch the old listeners until they wake up and attach
	 * to the new ones: the old array and the sockets not taken over are
	 * kept until listeners_gc() sees every worker caught up.
	 */
	listeners_gc(d, true);
	d->old_listeners = d->listeners;
	d->nold_listeners = d->nlisteners;
	d->listeners = ls;
	d->nlisteners = n;
	d->listeners_gen++;
	return 0;
fail:
	/* Give taken-over sockets back to the old listeners. */
	for (int j = 0; j < n; j++) {
		int given = 0;

		for (int i = 0; i < d->nlisteners; i++) {
			struct bind *ob = d->listeners[i].bind;

			if (d->listeners[i].fd < 0 &&
			    (ls[j].bind->inherited_fd >= 0 ?
				     ob->inherited_fd == ls[j].bind->inherited_fd :
				     ob->inherited_fd < 0 &&
					     lbd_addr_equal(&ob->addr, &ls[j].bind->addr))) {
				d->listeners[i].fd = ls[j].fd;
				given = 1;
				break;
			}
		}
		if (!given && ls[j].bind->inherited_fd < 0)
			close(ls[j].fd);
	}
	free(ls);
	return -1;
}

void listeners_close_all(struct lbd *d)
{
	listeners_gc(d, true);
	for (int i = 0; i < d->nlisteners; i++) {
		if (d->listeners[i].fd >= 0)
			close(d->listeners[i].fd);
		d->listeners[i].fd = -1;
	}
}

void listeners_gc(struct lbd *d, bool force)
{
	if (!d->old_listeners)
		return;
	if (!force) {
		for (int i = 0; i < d->nworkers; i++)
			if (__atomic_load_n(&d->workers[i].pending_listeners_gen,
					    __ATOMIC_ACQUIRE) != d->listeners_gen)
				return;
	}
	for (int i = 0; i < d->nold_listeners; i++)
		if (d->old_listeners[i].fd >= 0)
			close(d->old_listeners[i].fd);
	free(d->old_listeners);
	d->old_listeners = NULL;
	d->nold_listeners = 0;
}

/*
 * Soft stop: stop listening. shutdown() on a listening socket makes the
 * kernel refuse new connections at once (RST) while the fd stays valid for
 * the workers that may still watch it; it is closed at exit. An inherited
 * socket (`fd@N`) is shared with whoever passed it (a supervisor, the next
 * lbd): it is left listening, the workers just stop accepting on it, and
 * the connections waiting in its backlog are the next holder's.
 */
void listeners_shutdown(struct lbd *d)
{
	for (int i = 0; i < d->nlisteners; i++)
		if (d->listeners[i].fd >= 0 && d->listeners[i].bind->inherited_fd < 0)
			shutdown(d->listeners[i].fd, SHUT_RDWR);
}
