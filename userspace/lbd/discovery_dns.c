// SPDX-License-Identifier: MIT
/*
 * Host names in discovery values, resolved off the control loop.
 *
 * getaddrinfo() blocks (a slow DNS server holds it for seconds), and the
 * control loop must not: one resolver thread takes the jobs in order, runs
 * getaddrinfo() for each and queues the answer; an ev_async wakes the
 * control loop, which hands every answer to disc_resolved(). The thread
 * never touches the model or the sources: it only copies strings in and an
 * address out. An IPv4 address is preferred when the name has both (the
 * XDP tier keeps the address family of the VIP), as documented in
 * doc/discovery.md.
 */
#include <errno.h>
#include <ev.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "discovery.h"
#include "log.h"

struct dns_job {
	struct dns_job *next;
	/* in: what to resolve and where the answer goes (src only compared) */
	struct disc_source *src;
	uint64_t serial, id;
	int64_t rev;
	char *key;
	char host[DISC_MAX_HOST + 1];
	int port, weight;
	/* out */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int gai;
};

static pthread_mutex_t dns_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dns_cond = PTHREAD_COND_INITIALIZER;
static struct dns_job *todo, **todo_tail = &todo; /* FIFO */
static struct dns_job *done; /* answers, any order */
static bool dns_started;
static ev_async dns_async;
static struct ev_loop *dns_loop;

static void job_free(struct dns_job *j)
{
	free(j->key);
	free(j);
}

static void resolve(struct dns_job *j)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *a, *pick = NULL;

	j->gai = getaddrinfo(j->host, NULL, &hints, &res);
	if (j->gai)
		return;
	for (a = res; a; a = a->ai_next) {
		if (a->ai_family == AF_INET) {
			pick = a;
			break;
		}
		if (a->ai_family == AF_INET6 && !pick)
			pick = a;
	}
	if (!pick || pick->ai_addrlen > sizeof(j->addr)) {
		j->gai = EAI_NONAME;
	} else {
		memcpy(&j->addr, pick->ai_addr, pick->ai_addrlen);
		j->addrlen = pick->ai_addrlen;
		if (pick->ai_family == AF_INET)
			((struct sockaddr_in *)&j->addr)->sin_port = htons(j->port);
		else
			((struct sockaddr_in6 *)&j->addr)->sin6_port = htons(j->port);
	}
	freeaddrinfo(res);
}

static void *dns_thread(void *arg)
{
	struct dns_job *j;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&dns_lock);
		while (!todo)
			pthread_cond_wait(&dns_cond, &dns_lock);
		j = todo;
		todo = j->next;
		if (!todo)
			todo_tail = &todo;
		pthread_mutex_unlock(&dns_lock);

		resolve(j);

		pthread_mutex_lock(&dns_lock);
		j->next = done;
		done = j;
		pthread_mutex_unlock(&dns_lock);
		ev_async_send(dns_loop, &dns_async);
	}
	return NULL;
}

/* On the control loop: apply every answer that came. */
static void dns_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct dns_job *list, *j;

	(void)loop;
	(void)w;
	(void)revents;
	pthread_mutex_lock(&dns_lock);
	list = done;
	done = NULL;
	pthread_mutex_unlock(&dns_lock);
	while (list) {
		j = list;
		list = j->next;
		disc_resolved(j->src, j->serial, j->key, j->id, j->rev, j->host, j->weight,
			      &j->addr, j->addrlen, j->gai);
		job_free(j);
	}
}

static int dns_start(void)
{
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	dns_loop = lbd.loop;
	ev_async_init(&dns_async, dns_async_cb);
	ev_async_start(dns_loop, &dns_async);
	ev_unref(dns_loop); /* pending names do not keep lbd running */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, dns_thread, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		ev_ref(dns_loop);
		ev_async_stop(dns_loop, &dns_async);
		lb_err("discovery: cannot start the resolver thread: %s", strerror(rc));
		return -1;
	}
	pthread_setname_np(tid, "lbd-dns");
	dns_started = true;
	return 0;
}

int disc_dns_submit(struct disc_source *src, const char *key, const struct disc_value *v,
		    int64_t rev, uint64_t id)
{
	struct dns_job *j;

	if (!dns_started && dns_start() < 0)
		return -1;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->key = strdup(key))) {
		free(j);
		return -1;
	}
	j->src = src;
	j->serial = src->serial;
	j->id = id;
	j->rev = rev;
	snprintf(j->host, sizeof(j->host), "%s", v->host);
	j->port = v->port;
	j->weight = v->weight;
	pthread_mutex_lock(&dns_lock);
	*todo_tail = j;
	todo_tail = &j->next;
	pthread_cond_signal(&dns_cond);
	pthread_mutex_unlock(&dns_lock);
	return 0;
}
