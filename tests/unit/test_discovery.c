// SPDX-License-Identifier: MIT
/*
 * Service discovery without a store: registration values, server names,
 * the etcd gateway's encodings, the `discovery` keyword (valid and invalid
 * lines, file:line), and how reported keys reach a backend (add, update in
 * place, remove with draining, full re-sync applying only the difference,
 * name conflicts, the state file, re-attaching to a reloaded model), driven
 * through a test source registered beside etcd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "algo.h"
#include "cfg.h"
#include "discovery.h"
#include "log.h"
#include "t.h"

/* ---- a source that only parses: the test reports keys itself ---- */

static int test_starts, test_stops;

static void *test_parse(struct disc_cfg *dc, struct cfg_ctx *ctx, char **args, int nargs,
			char **err)
{
	if (nargs != 2 || strcmp(args[0], "prefix")) {
		cfg_err(err, "'discovery test': expected 'prefix P'");
		return NULL;
	}
	dc->prefix = strdup(args[1]);
	return strdup("test");
}

static int test_start(struct disc_source *src)
{
	test_starts++;
	return 0;
}

static void test_stop(struct disc_source *src)
{
	test_stops++;
}

static const struct discovery_ops test_ops = {
	.name = "test",
	.parse = test_parse,
	.cfg_free = free,
	.start = test_start,
	.stop = test_stop,
};

/* ---- helpers ---- */

/* The value as a TAP line can show it: newlines as \n. */
static const char *shown(const char *val)
{
	static char buf[256];
	size_t o = 0;

	for (; *val && o < sizeof(buf) - 3; val++) {
		if (*val == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *val;
		}
	}
	buf[o] = '\0';
	return buf;
}

static int port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)ss)->sin6_port) :
					   ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static const char *ip_of(const struct sockaddr_storage *ss)
{
	static char buf[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf,
			  sizeof(buf));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, sizeof(buf));
	return buf;
}

static void value_ok(const char *val, const char *ip, int port, int weight)
{
	struct disc_value v;
	const char *why = NULL;
	int rc = disc_parse_value(val, strlen(val), &v, &why);

	T_OK(rc == 0 && !strcmp(ip_of(&v.addr), ip) && port_of(&v.addr) == port &&
		     v.weight == weight,
	     "value '%s' -> %s port %d weight %d", shown(val), ip, port, weight);
	if (rc)
		printf("#   refused: %s\n", why);
	else if (strcmp(ip_of(&v.addr), ip) || port_of(&v.addr) != port || v.weight != weight)
		printf("#   got %s port %d weight %d\n", ip_of(&v.addr), port_of(&v.addr),
		       v.weight);
}

/* A value naming a host: kept as a name (with port and weight) for the resolver. */
static void value_name(const char *val, const char *host, int port, int weight)
{
	struct disc_value v;
	const char *why = NULL;
	int rc = disc_parse_value(val, strlen(val), &v, &why);

	T_OK(rc == 0 && !strcmp(v.host, host) && v.port == port && v.weight == weight,
	     "value '%s' -> host name %s port %d weight %d", shown(val), host, port, weight);
	if (rc)
		printf("#   refused: %s\n", why);
	else if (strcmp(v.host, host) || v.port != port || v.weight != weight)
		printf("#   got host '%s' port %d weight %d\n", v.host, v.port, v.weight);
}

static void value_bad(const char *val, const char *needle)
{
	struct disc_value v;
	const char *why = NULL;
	int rc = disc_parse_value(val, strlen(val), &v, &why);

	T_OK(rc < 0 && why && strstr(why, needle), "value '%s' refused: %s", shown(val), needle);
	if (rc == 0 || !why || !strstr(why, needle))
		printf("#   rc %d, why '%s'\n", rc, why ? why : "(none)");
}

static void test_values(void)
{
	value_ok("{\"addr\":\"10.0.0.5\",\"port\":49153,\"weight\":100}", "10.0.0.5", 49153, 100);
	value_ok("{\"addr\":\"10.0.0.5\",\"port\":80}", "10.0.0.5", 80, -1);
	value_ok("{\"port\":80,\"addr\":\"10.0.0.5\",\"zone\":\"a\",\"meta\":{\"x\":[1]}}",
		 "10.0.0.5", 80, -1);
	value_ok("{\"addr\":\"fd00::5\",\"port\":8080,\"weight\":0}", "fd00::5", 8080, 0);
	value_ok("{\"addr\":\"10.0.0.5\",\"port\":\"8080\"}", "10.0.0.5", 8080, -1);
	value_ok("{\"addr\":\"10.0.0.5\",\"port\":80,\"weight\":null}", "10.0.0.5", 80, -1);
	value_ok("  {\"addr\":\"10.0.0.5\",\"port\":80}\n", "10.0.0.5", 80, -1);
	value_ok("10.0.0.5:80", "10.0.0.5", 80, -1);
	value_ok("[::1]:8080", "::1", 8080, -1);
	value_ok("127.0.0.1:65535\n", "127.0.0.1", 65535, -1);

	value_bad("", "empty");
	value_bad("  \n", "empty");
	value_bad("{", "not a JSON object");
	value_name("{\"addr\":\"web.example\",\"port\":80}", "web.example", 80, -1);
	value_name("{\"addr\":\"db-1.svc_a.internal\",\"port\":\"5432\",\"weight\":3}",
		   "db-1.svc_a.internal", 5432, 3);
	value_name("web1:80", "web1", 80, -1);
	value_name("localhost:8080\n", "localhost", 8080, -1);
	value_bad("{\"addr\":\"web..example\",\"port\":80}", "'addr'");
	value_bad("{\"addr\":\"-web\",\"port\":80}", "'addr'");
	value_bad("{\"addr\":\"10.0.0.256\",\"port\":80}", "'addr'");
	value_bad("{\"addr\":\"web example\",\"port\":80}", "'addr'");
	value_bad("web/1:80", "not an IP address or a host name");
	value_bad("1.2.3:80", "not an IP address or a host name");
	value_bad("[web1]:80", "[IPv6]:PORT");
	value_bad("{\"addr\":10,\"port\":80}", "'addr'");
	value_bad("{\"port\":80}", "'addr'");
	value_bad("{\"addr\":\"10.0.0.5\"}", "'port'");
	value_bad("{\"addr\":\"10.0.0.5\",\"port\":0}", "'port'");
	value_bad("{\"addr\":\"10.0.0.5\",\"port\":70000}", "'port'");
	value_bad("{\"addr\":\"10.0.0.5\",\"port\":\"8x\"}", "'port'");
	value_bad("{\"addr\":\"10.0.0.5\",\"port\":80,\"weight\":257}", "'weight'");
	value_bad("{\"addr\":\"10.0.0.5\",\"port\":80,\"weight\":\"5\"}", "'weight'");
	value_bad("{\"addr\":\"10.0.0.5\",\"port\":80,\"weight\":-1}", "'weight'");
	value_bad("nonsense", "not JSON and not IP:PORT");
	value_bad("10.0.0.5", "not JSON and not IP:PORT");
	value_bad("::1:80", "not JSON and not IP:PORT");
	value_bad("10.0.0.5:0", "port");
	value_bad("10.0.0.5:8o", "port");
	value_bad("10.0.0.5:123456", "port");
	value_bad("[::1]8080", "[IPv6]:PORT");
	value_bad("[10.0.0.5]:80", "[IPv6]:PORT");
	value_bad("[1,2]", "[IPv6]:PORT");
	{
		struct disc_value v;
		const char *why = NULL;

		T_OK(disc_parse_value("1.2.3.4:5\0x", 11, &v, &why) < 0 && strstr(why, "binary"),
		     "a value with a NUL byte is refused");
	}
}

static void name_is(const char *id, const char *want)
{
	char *n = disc_server_name(id, strlen(id));

	T_EQ_STR(n, want, "instance id '%s' -> server name '%s'", id, want ? want : "(none)");
	free(n);
}

static void test_names(void)
{
	char longid[300];

	name_is("web-1", "web-1");
	name_is("web_1.zone-a:8080", "web_1.zone-a:8080");
	name_is("a/b c", "a_b_c");
	name_is("caf\xc3\xa9", "caf__");
	name_is("", NULL);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	name_is(longid, NULL);
	longid[255] = '\0';
	name_is(longid, longid);
}

static void test_encoding(void)
{
	unsigned char bytes[256];
	char *s, *d;
	size_t n = 0;

	s = etcd_b64_encode("foo", 3);
	T_EQ_STR(s, "Zm9v", "base64 of 'foo'");
	free(s);
	s = etcd_b64_encode("/services/web/", 14);
	T_EQ_STR(s, "L3NlcnZpY2VzL3dlYi8=", "base64 of '/services/web/' (one pad)");
	free(s);
	s = etcd_b64_encode("ab", 2);
	T_EQ_STR(s, "YWI=", "base64 of 'ab'");
	free(s);
	s = etcd_b64_encode("a", 1);
	T_EQ_STR(s, "YQ==", "base64 of 'a' (two pads)");
	free(s);
	s = etcd_b64_encode("", 0);
	T_EQ_STR(s, "", "base64 of ''");
	free(s);
	d = etcd_b64_decode("eyJhZGRyIjoiMTI3LjAuMC4xIiwicG9ydCI6MX0=", 40, &n);
	T_EQ_STR(d, "{\"addr\":\"127.0.0.1\",\"port\":1}", "base64 decode of an etcd value");
	T_EQ_INT(n, 29, "decoded length");
	free(d);
	d = etcd_b64_decode("YWI", 3, &n);
	T_OK(d && !strcmp(d, "ab") && n == 2, "base64 decode without padding");
	free(d);
	d = etcd_b64_decode("Zm9v!", 5, &n);
	T_OK(!d, "base64 decode refuses a bad character");
	free(d);
	d = etcd_b64_decode("Z", 1, &n);
	T_OK(!d, "base64 decode refuses a truncated quantum");
	free(d);
	for (int i = 0; i < 256; i++)
		bytes[i] = (unsigned char)(255 - i);
	s = etcd_b64_encode(bytes, sizeof(bytes));
	d = s ? etcd_b64_decode(s, strlen(s), &n) : NULL;
	T_OK(d && n == sizeof(bytes) && !memcmp(d, bytes, n), "base64 round trip of 256 bytes");
	free(s);
	free(d);

	s = etcd_prefix_end("/services/web/", 14, &n);
	T_OK(s && n == 14 && !memcmp(s, "/services/web0", 14), "range end of '/services/web/'");
	free(s);
	s = etcd_prefix_end("a\xff", 2, &n);
	T_OK(s && n == 1 && s[0] == 'b', "range end drops trailing 0xff bytes");
	free(s);
	s = etcd_prefix_end("\xff\xff", 2, &n);
	T_OK(s && n == 1 && s[0] == '\0', "range end of only 0xff bytes is \"\\0\"");
	free(s);
}

/* ---- the keyword ---- */

static char fix[256];

static void cfg_good(const char *text, const char *what)
{
	char *err = NULL;
	struct model *m = cfg_load_string("t.cfg", text, &err);

	T_OK(m != NULL, "valid: %s", what);
	if (!m)
		printf("#   error: %s\n", err ? err : "(none)");
	free(err);
	model_free(m);
}

static void cfg_bad(const char *text, const char *needle, const char *what)
{
	char *err = NULL;
	struct model *m = cfg_load_string("t.cfg", text, &err);
	bool ok = !m && err && strstr(err, needle);

	T_OK(ok, "invalid: %s", what);
	if (!ok)
		printf("#   error: %s (wanted '%s')\n", err ? err : "(none)", needle);
	free(err);
	model_free(m);
}

#define BE "backend web\n    balance roundrobin\n"

static void test_keyword(void)
{
	char buf[1024];
	struct model *m;
	struct proxy *be;
	char *err = NULL;

	m = cfg_load_string(
		"t.cfg",
		BE "    default-server check inter 1s\n"
		   "    discovery etcd endpoints http://127.0.0.1:2379,http://127.0.0.1:22379 "
		   "prefix /services/web/\n",
		&err);
	T_OK(m != NULL, "valid: the documented example");
	be = m ? model_find_backend(m, "web") : NULL;
	T_OK(be && be->discovery && be->discovery_free, "the backend keeps its discovery settings");
	if (be && be->discovery) {
		struct disc_cfg *dc = be->discovery;

		T_EQ_STR(dc->ops->name, "etcd", "source etcd");
		T_EQ_STR(dc->prefix, "/services/web/", "prefix kept");
		T_EQ_INT(dc->loc.line, 4, "line of the discovery keyword");
	}
	model_free(m);
	free(err);

	cfg_good(BE
		 "    discovery etcd endpoints http://127.0.0.1:2379/ prefix /s/ user web password "
		 "pw\n",
		 "user and password");
	cfg_good("listen app\n    bind 127.0.0.1:1\n    discovery etcd prefix /a/ endpoints "
		 "http://[::1]:2379\n",
		 "listen section, options in any order, IPv6 endpoint");
	snprintf(buf, sizeof(buf),
		 "global\n    ca-base %s\n    crt-base %s\n" BE
		 "    discovery etcd endpoints https://127.0.0.1:2379 prefix /s/ ca-file dummy.pem "
		 "crt dummy.pem key dummy.pem\n",
		 fix, fix);
	cfg_good(buf, "https with ca-file, crt, key relative to ca-base/crt-base");
	cfg_good(BE "    server static1 127.0.0.1:1\n    discovery etcd endpoints "
		    "http://127.0.0.1:2379 prefix /s/\n",
		 "static servers beside discovery");

	cfg_bad("frontend fe\n    bind 127.0.0.1:1\n    discovery etcd endpoints http://a prefix "
		"/s/\n",
		"t.cfg:3:", "not in a frontend (file:line)");
	cfg_bad("defaults\n    discovery etcd endpoints http://a prefix /s/\n",
		"t.cfg:2:", "not in defaults");
	cfg_bad(BE "    discovery\n", "expected a source", "no source");
	cfg_bad(BE "    discovery consul endpoints http://a prefix /s/\n",
		"unknown source 'consul'", "unknown source");
	cfg_bad(BE "    discovery etcd prefix /s/\n",
		"t.cfg:3: 'discovery etcd': missing 'endpoints", "endpoints missing");
	cfg_bad(BE "    discovery etcd endpoints http://a\n", "missing 'prefix", "prefix missing");
	cfg_bad(BE "    discovery etcd endpoints ftp://a prefix /s/\n",
		"not an http:// or https://", "endpoint scheme");
	cfg_bad(BE "    discovery etcd endpoints http:// prefix /s/\n",
		"not an http:// or https://", "endpoint without a host");
	cfg_bad(BE "    discovery etcd endpoints , prefix /s/\n", "expects URL", "empty endpoints");
	cfg_bad(BE "    discovery etcd endpoints http://a prefix /s/ user web\n", "go together",
		"user without password");
	cfg_bad(BE "    discovery etcd endpoints http://a prefix /s/ password pw\n", "go together",
		"password without user");
	cfg_bad(BE "    discovery etcd endpoints http://a prefix\n", "'prefix' expects a value",
		"option without a value");
	cfg_bad(BE "    discovery etcd endpoints http://a prefix /s/ ttl 5\n",
		"unknown option 'ttl'", "unknown option");
	cfg_bad(BE "    discovery etcd endpoints http://a prefix /s/ prefix /t/\n", "given twice",
		"prefix twice");
	cfg_bad(BE
		"    discovery etcd endpoints https://a prefix /s/ ca-file /nonexistent/ca.pem\n",
		"cannot read '/nonexistent/ca.pem'", "unreadable ca-file");
	snprintf(buf, sizeof(buf),
		 BE "    discovery etcd endpoints https://a prefix /s/ key %s/dummy.pem\n", fix);
	cfg_bad(buf, "'key' needs 'crt'", "key without crt");
	cfg_bad(BE "    discovery etcd endpoints http://a prefix /s/\n"
		   "    discovery etcd endpoints http://b prefix /t/\n",
		"t.cfg:4: 'discovery': backend 'web' already has a discovery source (line 3)",
		"one source per backend");
}

/* ---- applying keys to a backend ---- */

static char state_file[256];

static struct model *load_model(const char *prefix, bool with_discovery)
{
	char text[2048], *err = NULL;
	struct model *m;

	snprintf(text, sizeof(text),
		 "global\n    xlb-state-file %s\n"
		 "backend web\n    balance roundrobin\n    default-server weight 7\n"
		 "    server static1 127.0.0.1:1\n%s%s%s",
		 state_file, with_discovery ? "    discovery test prefix " : "",
		 with_discovery ? prefix : "", with_discovery ? "\n" : "");
	m = cfg_load_string("d.cfg", text, &err);
	if (!m)
		printf("#   config error: %s\n", err ? err : "?");
	free(err);
	return m;
}

static void put(struct disc_source *src, const char *key, const char *val, int64_t rev)
{
	disc_put(src, key, val, strlen(val), rev);
}

/* Discovered servers of the backend, sorted names: "a:10.0.0.1:80:7 b:..." */
static const char *etcd_servers(struct model *m)
{
	static char out[4096];
	struct proxy *be = model_find_backend(m, "web");
	struct server *s;
	char *names[256];
	int n = 0;

	out[0] = '\0';
	list_for_each(s, &be->servers, list) {
		char *x;

		if (s->origin != SRV_ORIGIN_ETCD || n == 256)
			continue;
		if (asprintf(&x, "%s=%s:%d/%d", s->name, ip_of(&s->addr), port_of(&s->addr),
			     s->weight) < 0)
			continue;
		names[n++] = x;
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char *t = names[i];

				names[i] = names[j];
				names[j] = t;
			}
	for (int i = 0; i < n; i++) {
		size_t l = strlen(out);

		snprintf(out + l, sizeof(out) - l, "%s%s", i ? " " : "", names[i]);
		free(names[i]);
	}
	return out;
}

static int pool_size(struct model *m)
{
	struct proxy *be = model_find_backend(m, "web");

	return be->pool ? be->pool->n : 0;
}

static void test_apply(void)
{
	struct model *m, *m2, *m3;
	struct disc_source *src, *src2;
	struct server *a, *b, *st;
	struct proxy *be;
	FILE *f;
	char buf[4096];
	size_t n;

	snprintf(state_file, sizeof(state_file), "/tmp/xlb-test-discovery-%d.json", (int)getpid());
	unlink(state_file);
	discovery_register(&test_ops);
	lbd.loop = ev_default_loop(0);
	m = load_model("/svc/web/", true);
	T_OK(m != NULL, "a backend with a test source loads");
	if (!m)
		return;
	lbd.m = m;
	discovery_start(&lbd);
	src = discovery_find("web");
	T_OK(src && test_starts == 1, "discovery_start() starts the backend's source");
	if (!src)
		return;
	be = model_find_backend(m, "web");

	disc_sync_begin(src);
	put(src, "/svc/web/a", "{\"addr\":\"10.0.0.1\",\"port\":80,\"weight\":100}", 2);
	put(src, "/svc/web/b", "10.0.0.2:81", 3);
	put(src, "/svc/web/bad", "nonsense", 4);
	disc_sync_end(src);
	T_EQ_STR(etcd_servers(m), "a=10.0.0.1:80/100 b=10.0.0.2:81/7",
		 "listing adds a (weight 100) and b (default-server weight 7); bad skipped");
	T_EQ_INT(pool_size(m), 3, "the pool has the static server and both discovered ones");
	T_EQ_INT(src->nskipped, 1, "the unparsable value is counted as skipped");
	a = backend_find_server(be, "a");
	b = backend_find_server(be, "b");
	st = backend_find_server(be, "static1");
	T_OK(a && a->origin == SRV_ORIGIN_ETCD && a->origin_key &&
		     !strcmp(a->origin_key, "/svc/web/a"),
	     "a discovered server has origin etcd and its key");
	T_OK(st && st->origin == SRV_ORIGIN_CONFIG, "the static server stays a config server");
	T_OK(a && a->id && a->puid && a->hash_key, "a discovered server gets ids and a hash key");
	if (!a || !b)
		return;
	server_get(a); /* as an open connection would */

	put(src, "/svc/web/a", "{\"addr\":\"10.0.0.9\",\"port\":8080,\"weight\":100}", 5);
	T_OK(backend_find_server(be, "a") == a, "an address change updates the server in place");
	T_EQ_STR(etcd_servers(m), "a=10.0.0.9:8080/100 b=10.0.0.2:81/7", "new address applied");
	T_EQ_STR(a->addr_str, "10.0.0.9:8080", "address string follows");
	put(src, "/svc/web/a", "{\"addr\":\"10.0.0.9\",\"port\":8080,\"weight\":3}", 6);
	T_EQ_STR(etcd_servers(m), "a=10.0.0.9:8080/3 b=10.0.0.2:81/7", "weight change applied");
	T_OK(backend_find_server(be, "a") == a, "and in place");
	put(src, "/svc/web/a", "{\"addr\":\"10.0.0.9\",\"port\":8080}", 7);
	T_EQ_STR(etcd_servers(m), "a=10.0.0.9:8080/7 b=10.0.0.2:81/7",
		 "weight removed from the value: back to default-server's");
	b->weight = 42; /* as `set server web/b weight 42` */
	put(src, "/svc/web/b", "10.0.0.2:81", 8);
	T_EQ_INT(b->weight, 42, "a put of the same value leaves a run-time weight alone");
	b->weight = 7;
	put(src, "/svc/web/b", "garbage", 9);
	T_EQ_STR(etcd_servers(m), "a=10.0.0.9:8080/7 b=10.0.0.2:81/7",
		 "an unparsable update leaves the server as it was");

	put(src, "/svc/web/static1", "10.0.0.3:80", 10);
	st = backend_find_server(be, "static1");
	T_OK(st && st->origin == SRV_ORIGIN_CONFIG && port_of(&st->addr) == 1,
	     "a key named like a static server is skipped; the static server is untouched");
	put(src, "/svc/web/x y", "10.0.0.4:80", 11);
	T_OK(backend_find_server(be, "x_y") != NULL, "instance id 'x y' becomes server 'x_y'");
	put(src, "/svc/web/x_y", "10.0.0.5:80", 12);
	T_EQ_STR(etcd_servers(m), "a=10.0.0.9:8080/7 b=10.0.0.2:81/7 x_y=10.0.0.4:80/7",
		 "a second key with the same sanitized name is skipped");
	disc_del(src, "/svc/web/x y", 13);
	T_EQ_STR(etcd_servers(m), "a=10.0.0.9:8080/7 b=10.0.0.2:81/7 x_y=10.0.0.5:80/7",
		 "when the first goes, the skipped key takes the name");
	disc_del(src, "/svc/web/x_y", 14);

	disc_del(src, "/svc/web/a", 15);
	T_OK(!backend_find_server(be, "a"), "a delete unlinks the server");
	T_OK(a->removed, "and marks it removed: no new connections");
	T_EQ_INT(a->refcnt, 1, "an open connection keeps the removed server alive");
	T_EQ_INT(pool_size(m), 2, "the pool lost it");
	server_put(a); /* the connection ends */
	disc_del(src, "/svc/web/nothere", 16);
	T_EQ_STR(etcd_servers(m), "b=10.0.0.2:81/7", "a delete of an unknown key changes nothing");

	put(src, "/svc/web/c", "10.0.0.6:80", 17);
	put(src, "/svc/web/d", "10.0.0.7:80", 18);
	/* A re-list (after a compaction): b unchanged, c gone, d changed, e new. */
	disc_sync_begin(src);
	put(src, "/svc/web/b", "10.0.0.2:81", 3);
	put(src, "/svc/web/d", "10.0.0.8:80", 20);
	put(src, "/svc/web/e", "10.0.0.10:80", 21);
	put(src, "/svc/web/bad", "nonsense", 4);
	disc_sync_end(src);
	T_EQ_STR(etcd_servers(m), "b=10.0.0.2:81/7 d=10.0.0.8:80/7 e=10.0.0.10:80/7",
		 "a re-list applies only the difference");
	T_OK(backend_find_server(be, "b") == b, "an unchanged server is left alone by a re-list");
	T_EQ_INT(src->nskipped, 5, "the known bad key was not counted again as a new event");

	/* State file. */
	T_EQ_INT(discovery_save_state(), 0, "the state file is written");
	f = fopen(state_file, "r");
	n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	T_OK(strstr(buf, "\"/svc/web/d\"") && strstr(buf, "10.0.0.8") && !strstr(buf, "/svc/web/c"),
	     "it holds the current set");
	discovery_stop();
	T_EQ_INT(test_stops, 1, "discovery_stop() stops the source");
	model_free(m);

	/* Boot with the store down: the state file gives the last known set. */
	m = load_model("/svc/web/", true);
	lbd.m = m;
	discovery_start(&lbd);
	src = discovery_find("web");
	T_EQ_STR(etcd_servers(m), "", "nothing is discovered before the store answers");
	disc_set_online(src, false, "test: connection refused");
	T_EQ_STR(etcd_servers(m), "b=10.0.0.2:81/7 d=10.0.0.8:80/7 e=10.0.0.10:80/7",
		 "the store down at start: servers come from the state file");
	T_OK(src->from_state && !src->synced, "the source says so");
	disc_sync_begin(src);
	put(src, "/svc/web/b", "10.0.0.2:81", 3);
	disc_sync_end(src);
	T_EQ_STR(etcd_servers(m), "b=10.0.0.2:81/7", "the first listing replaces the saved set");

	/* Reload: a new model with the same line re-attaches the source. */
	m2 = load_model("/svc/web/", true);
	lbd.m = m2;
	discovery_reload(&lbd, m2);
	T_OK(discovery_find("web") == src, "same line: the source keeps running");
	T_EQ_STR(etcd_servers(m2), "b=10.0.0.2:81/7", "the new model gets the discovered servers");
	put(src, "/svc/web/f", "10.0.0.11:80", 30);
	T_EQ_STR(etcd_servers(m2), "b=10.0.0.2:81/7 f=10.0.0.11:80/7",
		 "events go to the new model");
	T_EQ_STR(etcd_servers(m), "b=10.0.0.2:81/7", "and no longer to the old one");
	model_free(m);

	/* A changed prefix is a new source. */
	m3 = load_model("/svc/other/", true);
	lbd.m = m3;
	discovery_reload(&lbd, m3);
	src2 = discovery_find("web");
	T_OK(src2 && !strcmp(src2->cfg->prefix, "/svc/other/") && test_starts == 3 &&
		     test_stops == 2,
	     "a changed line restarts the source");
	T_EQ_STR(etcd_servers(m3), "", "the new source has not listed yet: nothing discovered");
	model_free(m2);
	m2 = m3;

	/* A backend that loses its discovery line loses the discovered servers. */
	m3 = load_model("", false);
	be = model_find_backend(m3, "web");
	{
		struct server *s = server_new(be, "carried");

		s->origin = SRV_ORIGIN_ETCD;
		s->origin_key = strdup("/svc/other/carried");
		backend_add_server(be, s);
	}
	lbd.m = m3;
	discovery_reload(&lbd, m3);
	T_OK(!discovery_find("web"), "no line: no source");
	T_EQ_STR(etcd_servers(m3), "", "servers carried over from a removed source are removed");
	T_OK(backend_find_server(be, "static1") != NULL, "static servers stay");
	discovery_stop();
	model_free(m2);
	model_free(m3);
	unlink(state_file);
}

static void quiet(enum cfg_msg_level level, const char *msg, void *arg)
{
}

int main(void)
{
	const char *slash = strrchr(__FILE__, '/');

	/* __FILE__ is tests/unit/test_discovery.c, relative to the repo root (make's cwd). */
	snprintf(fix, sizeof(fix), "%.*scfg", slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
	if (fix[0] != '/') {
		char cwd[128], rel[sizeof(fix)];

		snprintf(rel, sizeof(rel), "%.100s", fix);
		if (getcwd(cwd, sizeof(cwd)))
			snprintf(fix, sizeof(fix), "%.120s/%.100s", cwd, rel);
	}
	cfg_set_msg_handler(quiet, NULL);
	lb_log_set_level(LB_LOG_CRIT);
	test_values();
	test_names();
	test_encoding();
	test_keyword();
	test_apply();
	T_DONE();
}
