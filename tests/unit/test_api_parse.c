// SPDX-License-Identifier: MIT
/*
 * The runtime API without sockets: word splitting and escapes, command
 * dispatch and levels, HAProxy's messages and formats, and server changes
 * reaching the backend's pool, through api_exec() on a model loaded from a
 * string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "algo.h"
#include "api.h"
#include "cfg.h"
#include "lbd.h"
#include "t.h"

/* main.c defines these in lbd; weak so that a future move out of main.c still links. */
__attribute__((weak)) struct lbd lbd;
__attribute__((weak)) uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *cfg_text = "global\n"
			      "    stats socket /tmp/unused.sock level admin\n"
			      "defaults\n"
			      "    mode tcp\n"
			      "frontend fe\n"
			      "    bind 127.0.0.1:8080\n"
			      "    default_backend web\n"
			      "backend web\n"
			      "    server s1 127.0.0.1:9001 weight 10\n"
			      "    server s2 127.0.0.1:9002 weight 20 check\n"
			      "    server b1 127.0.0.1:9003 backup\n";

static char *last;

/* Run a line as a session of `level`; the answer stays valid until the next run(). */
static char *run(const char *line, int level)
{
	free(last);
	last = api_exec(line, level);
	return last ? last : "(null)";
}

static const char *last_answer(void)
{
	return last ? last : "";
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int pool_has(struct proxy *be, const char *name)
{
	for (int i = 0; be->pool && i < be->pool->n; i++)
		if (!strcmp(be->pool->srv[i]->name, name))
			return 1;
	return 0;
}

int main(void)
{
	char *err = NULL, buf[256], *w[8];
	struct proxy *web;
	struct server *s1;
	int n;

	lbd.m = cfg_load_string("api.cfg", cfg_text, &err);
	if (!lbd.m) {
		printf("not ok - config: %s\n", err ? err : "?");
		return 1;
	}
	lbd.start_ms = now_ms();
	web = model_find_backend(lbd.m, "web");
	s1 = backend_find_server(web, "s1");

	/* Words: blanks separate, a backslash escapes the next character. */
	snprintf(buf, sizeof(buf), "  set   server\tweb/s1 weight\\ 3 a\\\\b ");
	n = api_split_words(buf, w, 8);
	T_EQ_INT(n, 5, "split: 5 words");
	T_EQ_STR(w[3], "weight 3", "split: escaped blank stays in the word");
	T_EQ_STR(w[4], "a\\b", "split: escaped backslash");
	snprintf(buf, sizeof(buf), "a b c d e f g h i");
	T_EQ_INT(api_split_words(buf, w, 8), -1, "split: too many words is an error");

	/* Framing: every answer ends with an empty line; ';' separates commands. */
	T_EQ_STR(run("show cli level", API_LVL_ADMIN), "admin\n\n", "answer + empty line");
	T_EQ_STR(run("show cli level;show cli level", API_LVL_OPER), "operator\n\noperator\n\n",
		 "two commands on one line");
	T_EQ_STR(run("get weight web/s\\;1", API_LVL_USER), "No such server.\n\n",
		 "escaped ';' is part of the word");
	T_EQ_STR(run("set server web/s1 weight 10", API_LVL_ADMIN), "\n", "no output = empty line");
	T_EQ_STR(run("", API_LVL_ADMIN), "", "empty line: nothing");
	T_EQ_STR(run("quit;show cli level", API_LVL_ADMIN), "", "quit stops the line");

	/* Levels. */
	T_EQ_STR(run("set server web/s1 weight 3", API_LVL_USER), "Permission denied\n\n",
		 "user cannot set a weight");
	T_EQ_STR(run("set server web/s1 weight 3", API_LVL_OPER), "Permission denied\n\n",
		 "operator cannot set a weight");
	T_EQ_STR(run("show sess", API_LVL_USER), "Permission denied\n\n",
		 "show sess needs operator");
	T_EQ_STR(run("user;show cli level", API_LVL_ADMIN), "\nuser\n\n",
		 "'user' lowers the level");
	T_EQ_STR(run("operator", API_LVL_USER), "Permission denied\n\n", "'operator' cannot raise");
	T_OK(!strncmp(run("nothing here", API_LVL_USER), "Unknown command. Please enter", 29),
	     "unknown command: HAProxy's message");
	T_OK(strstr(run("nothing here", API_LVL_USER), "add server") == NULL,
	     "unknown command at level user lists only user commands");
	T_OK(!strncmp(run("show nothing", API_LVL_ADMIN), "Unknown command, but maybe", 26),
	     "unknown subcommand: commands sharing the first word");
	run("help set", API_LVL_ADMIN);
	T_OK(!strncmp(last_answer(), "The following commands are valid at this level:\n", 48) &&
		     strstr(last_answer(), "set server") && !strstr(last_answer(), "show stat") &&
		     strstr(last_answer(), "  quit ") &&
		     !strcmp(last_answer() + strlen(last_answer()) - 14, ": disconnect\n\n"),
	     "help WORD: HAProxy's header, the matching commands, its footer");
	T_OK(!strstr(run("help set", API_LVL_USER), "set server"),
	     "help WORD lists only the commands of the session's level");

	/* Weights. */
	T_EQ_STR(run("set server web/s1 weight 50%", API_LVL_ADMIN), "\n", "weight 50%%");
	T_EQ_INT(s1->weight, 5, "50%% of initial weight 10");
	T_EQ_STR(run("get weight web/s1", API_LVL_USER), "5 (initial 10)\n\n", "get weight");
	T_EQ_STR(run("set server web/s1 weight 257", API_LVL_ADMIN),
		 "Absolute weight can only be between 0 and 256 inclusive.\n\n", "weight 257");
	T_EQ_STR(run("set server web/s1 weight x", API_LVL_ADMIN),
		 "Empty weight string empty or preceded by garbage\n\n", "weight x");
	T_EQ_STR(run("set server web/s1 weight 3x", API_LVL_ADMIN),
		 "Trailing garbage in weight string\n\n", "weight 3x");
	T_EQ_STR(run("set server web/s1 weight 0", API_LVL_ADMIN), "\n", "weight 0");
	T_OK(!pool_has(web, "s1"), "weight 0: out of the pool");
	T_EQ_INT(web->pool->tot_weight, 20, "pool weight follows");
	run("set server web/s1 weight 10", API_LVL_ADMIN);
	T_OK(pool_has(web, "s1"), "weight 10: back in the pool");

	/* States. */
	T_EQ_STR(run("set server web/s1 state drain", API_LVL_ADMIN), "\n", "state drain");
	T_OK(s1->admin == SRV_ADMIN_DRAIN && !pool_has(web, "s1"), "drain: out of the pool");
	T_EQ_STR(run("disable server web/s1", API_LVL_ADMIN), "\n", "disable server");
	T_OK(s1->admin == SRV_ADMIN_MAINT, "disable: maintenance");
	T_EQ_STR(run("set server web/s1 state nope", API_LVL_ADMIN),
		 "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n", "bad state");
	run("set server web/s2 state maint", API_LVL_ADMIN);
	T_OK(pool_has(web, "b1") && web->pool->backup, "all actives out: the backup serves");
	run("enable server web/s1", API_LVL_ADMIN);
	run("enable server web/s2", API_LVL_ADMIN);
	T_OK(pool_has(web, "s1") && pool_has(web, "s2") && !web->pool->backup,
	     "enabled again: the actives serve");
	T_EQ_STR(run("set server web/s2 health down", API_LVL_ADMIN), "\n", "health down");
	T_OK(!pool_has(web, "s2"), "health down: out of the pool");
	run("set server web/s2 health up", API_LVL_ADMIN);
	T_OK(pool_has(web, "s2"), "health up: back");

	/* Name errors. */
	T_EQ_STR(run("set server web weight 1", API_LVL_ADMIN), "Require 'backend/server'.\n\n",
		 "no slash");
	T_EQ_STR(run("set server nope/s1 weight 1", API_LVL_ADMIN), "No such backend.\n\n",
		 "unknown backend");
	T_EQ_STR(run("set server fe/s1 weight 1", API_LVL_ADMIN), "No such backend.\n\n",
		 "a frontend is not a backend");

	/* show stat / show servers state formats. */
	run("show stat", API_LVL_USER);
	T_OK(!strncmp(last_answer(), "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,", 55),
	     "show stat header");
	T_EQ_INT(count_lines(last_answer()), 7,
		 "show stat: header, FRONTEND, 3 servers, BACKEND, empty");
	T_OK(strstr(last_answer(), "\nweb,s2,") != NULL, "show stat: server row");
	run("show servers state web", API_LVL_USER);
	T_OK(!strncmp(last_answer(), "1\n# be_id be_name srv_id srv_name srv_addr", 42),
	     "show servers state: version 1 header");
	T_OK(strstr(last_answer(), " web 1 s1 127.0.0.1 2 0 10 10 ") != NULL,
	     "show servers state: s1 running, ready, weights");
	T_EQ_STR(run("show servers state nope", API_LVL_USER), "Can't find backend.\n\n",
		 "show servers state of an unknown backend");
	T_EQ_STR(run("show backend", API_LVL_USER), "# name\nweb\n\n", "show backend");

	/* add / del server. */
	T_EQ_STR(run("add server web/s3 127.0.0.1:9004 weight 5 maxconn 9", API_LVL_ADMIN),
		 "New server registered.\n\n", "add server");
	{
		struct server *s3 = backend_find_server(web, "s3");

		T_OK(s3 && s3->admin == SRV_ADMIN_MAINT && s3->origin == SRV_ORIGIN_API &&
			     s3->weight == 5 && s3->maxconn == 9,
		     "added: in maintenance, origin api, options applied");
		T_OK(!pool_has(web, "s3"), "added in maintenance: not in the pool");
	}
	run("enable server web/s3", API_LVL_ADMIN);
	T_OK(pool_has(web, "s3"), "enabled: in the pool");
	T_EQ_STR(run("del server web/s3", API_LVL_ADMIN),
		 "Only servers in maintenance mode can be deleted.\n\n", "del needs maintenance");
	run("disable server web/s3", API_LVL_ADMIN);
	T_EQ_STR(run("del server web/s3", API_LVL_ADMIN), "Server deleted.\n\n", "del server");
	T_OK(!backend_find_server(web, "s3"), "deleted: gone from the backend");
	run("add server web/s4 127.0.0.1:notaport", API_LVL_ADMIN);
	T_OK(!strncmp(last_answer(), "'server s4' : invalid address", 29),
	     "add server: bad address");
	T_EQ_STR(run("add server web/s4 127.0.0.1:1 frob", API_LVL_ADMIN),
		 "unknown keyword 'frob'.\n\n", "add server: unknown keyword");
	T_OK(!backend_find_server(web, "s4"), "a refused add leaves nothing behind");

	/* JSON */
	T_OK(!strncmp(run("show servers json web", API_LVL_USER), "{\n  \"servers\": [", 16),
	     "show servers json");
	T_OK(strstr(run("show status json", API_LVL_USER), "\"tier\": \"userspace\"") != NULL,
	     "show status json: tier");
	T_DONE();
}
