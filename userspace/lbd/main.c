// SPDX-License-Identifier: MIT
/*
 * lbd: the xlb daemon. Flags follow HAProxy's so tools written for haproxy
 * drive lbd too: -f CFG (repeatable), -c (check only), -D (daemon),
 * -p PIDFILE, -d (debug, foreground), -v (version).
 *
 * The main thread runs the control loop: signals, the runtime API, health
 * checks, discovery and the XDP maps. Worker threads serve connections.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "algo.h"
#include "cfg.h"
#include "lbd.h"
#include "control.h"
#include "log.h"
#include "tlog.h"
#include "version.h"

static ev_signal sig_term, sig_int, sig_usr1, sig_hup;
static ev_timer stop_timer, hard_stop_timer;

static void usage(FILE *f)
{
	fprintf(f, "Usage: lbd -f CFG [-f CFG...] [-c] [-D] [-p PIDFILE] [-d] [-V] [-v]\n"
		   "  -f CFG      configuration file (HAProxy language); may repeat\n"
		   "  -c          check the configuration and exit (0 valid, 1 invalid)\n"
		   "  -D          run as a daemon\n"
		   "  -p PIDFILE  write the pid to PIDFILE\n"
		   "  -d          debug: foreground, verbose logs\n"
		   "  -q          quiet: only errors\n"
		   "  -V          verbose: informational logs\n"
		   "  -v          print the version and exit\n");
}

static void stop_check_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	if (workers_total_conns(&lbd) == 0 || lbd.nworkers == 0) {
		ev_timer_stop(loop, t);
		ev_break(loop, EVBREAK_ALL);
	}
}

/* `hard-stop-after`: a soft stop that takes too long closes what is left. */
static void hard_stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	lb_notice("hard-stop-after expired: closing %d remaining connection(s)",
		  workers_total_conns(&lbd));
	workers_hard_stop(&lbd);
	ev_break(loop, EVBREAK_ALL);
}

static void soft_stop(struct ev_loop *loop)
{
	if (lbd.soft_stopping)
		return;
	lbd.soft_stopping = true;
	lb_notice("soft stop: no longer accepting, waiting for %d open connection(s)",
		  workers_total_conns(&lbd));
	control_stop(&lbd);
	pthread_mutex_lock(&lbd_listeners_lock);
	workers_soft_stop(&lbd);
	listeners_shutdown(&lbd);
	pthread_mutex_unlock(&lbd_listeners_lock);
	ev_timer_init(&stop_timer, stop_check_cb, 0.05, 0.05);
	ev_timer_start(loop, &stop_timer);
	if (lbd.m->global.hard_stop_after) {
		ev_timer_init(&hard_stop_timer, hard_stop_cb,
			      lbd.m->global.hard_stop_after / 1000.0, 0.0);
		ev_timer_start(loop, &hard_stop_timer);
	}
}

static void sig_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	switch (w->signum) {
	case SIGUSR1:
		soft_stop(loop);
		break;
	case SIGHUP:
		control_reload(&lbd, NULL);
		break;
	default:
		lb_notice("received signal %d, stopping", w->signum);
		control_stop(&lbd);
		workers_hard_stop(&lbd);
		ev_break(loop, EVBREAK_ALL);
		break;
	}
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		lb_err("cannot write pidfile '%s': %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	return 0;
}

/* Drop privileges once the sockets are bound: chroot, then group, then user. */
static int drop_privileges(struct global *g)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (g->user) {
		struct passwd *pw = getpwnam(g->user);

		if (!pw) {
			lb_err("global 'user': unknown user '%s'", g->user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else if (g->uid >= 0) {
		uid = g->uid;
	}
	if (g->group) {
		struct group *gr = getgrnam(g->group);

		if (!gr) {
			lb_err("global 'group': unknown group '%s'", g->group);
			return -1;
		}
		gid = gr->gr_gid;
	} else if (g->gid >= 0) {
		gid = g->gid;
	}
	if (g->chroot) {
		if (chroot(g->chroot) < 0 || chdir("/") < 0) {
			lb_err("global 'chroot': cannot chroot to '%s': %s", g->chroot,
			       strerror(errno));
			return -1;
		}
	}
	if (gid != (gid_t)-1) {
		if (setgroups(0, NULL) < 0 && errno != EPERM)
			lb_warn("setgroups: %s", strerror(errno));
		if (setgid(gid) < 0) {
			lb_err("cannot set group id %d: %s", (int)gid, strerror(errno));
			return -1;
		}
	}
	if (uid != (uid_t)-1 && setuid(uid) < 0) {
		lb_err("cannot set user id %d: %s", (int)uid, strerror(errno));
		return -1;
	}
	return 0;
}

/* The daemon's end of the readiness pipe (-1 when not daemonized). */
static int ready_fd = -1;

/*
 * Detach as a daemon. The process that started lbd exits only once the
 * daemon has its pidfile, listeners and workers (daemon_ready()): 0 then,
 * 1 if the daemon died before that. So `lbd -D -p F && cat F` always finds
 * the pid, as init scripts and systemd's Type=forking expect.
 */
static int daemonize(void)
{
	int p[2], fd;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		char c = 1;
		ssize_t n;

		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1 || c != 0) {
			fprintf(stderr,
				"lbd: the daemon exited before it was ready (see syslog)\n");
			_exit(1);
		}
		_exit(0);
	}
	close(p[0]);
	setsid();
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	ready_fd = p[1];
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (!lbd.debug)
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

/* Release the process that started the daemon: everything is up. */
static void daemon_ready(void)
{
	char c = 0;

	if (ready_fd < 0)
		return;
	if (write(ready_fd, &c, 1) != 1)
		lb_warn("cannot notify the starting process: %s", strerror(errno));
	close(ready_fd);
	ready_fd = -1;
}

int main(int argc, char **argv)
{
	bool check_only = false, daemon_mode = false;
	const char *pidfile = NULL;
	char *err = NULL;
	struct model *m;
	int opt, rc = 0;

	lbd.cfg_files = calloc(argc + 1, sizeof(char *));
	if (!lbd.cfg_files)
		return 1;
	/* HAProxy's -sf/-st/-Ws take arguments or are long; accept the common subset. */
	while ((opt = getopt(argc, argv, "f:cDp:dqVvhW")) != -1) {
		switch (opt) {
		case 'f':
			lbd.cfg_files[lbd.ncfg_files++] = optarg;
			break;
		case 'c':
			check_only = true;
			break;
		case 'D':
			daemon_mode = true;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'd':
			lbd.debug = true;
			lb_log_set_level(LB_LOG_DEBUG);
			break;
		case 'q':
			lb_log_set_level(LB_LOG_ERR);
			break;
		case 'V':
			lb_log_set_level(LB_LOG_INFO);
			break;
		case 'W':
			break; /* master-worker: lbd is always a single process */
		case 'v':
			printf("lbd version %s (xlb), HAProxy configuration language %s\n",
			       XLB_VERSION, XLB_HAPROXY_COMPAT);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!lbd.ncfg_files) {
		fprintf(stderr, "lbd: no configuration file (-f CFG)\n");
		usage(stderr);
		return 1;
	}

	m = cfg_load(lbd.cfg_files, lbd.ncfg_files, &err);
	if (!m) {
		fprintf(stderr, "%s\n", err ? err : "configuration error");
		if (check_only)
			fprintf(stderr, "Configuration file has errors.\n");
		free(err);
		return 1;
	}
	if (check_only) {
		printf("Configuration file is valid\n");
		model_free(m);
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	lbd.m = m;
	lbd.pid = getpid();
	lbd.start_ms = now_ms();
	lbd.loop = ev_default_loop(EVFLAG_AUTO);
	tlog_set_global(&m->global);

	/* The XDP tier decides which frontends it serves before sockets are opened. */
	if (control_pre_listen(&lbd, &err) < 0) {
		lb_err("%s", err ? err : "cannot set up the control plane");
		return 1;
	}
	if (listeners_open(&lbd, m, &err) < 0) {
		lb_err("%s", err ? err : "cannot open listeners");
		free(err);
		return 1;
	}
	if (daemon_mode || m->global.daemon) {
		if (!lbd.debug && daemonize() < 0) {
			lb_err("cannot daemonize: %s", strerror(errno));
			return 1;
		}
		lbd.pid = getpid();
		ev_loop_fork(lbd.loop);
		/* stderr is /dev/null now: later errors go to syslog. */
		if (!lbd.debug)
			lb_log_use_syslog(true);
	}
	/* the one given at start, kept whatever a reload says (as HAProxy) */
	if (!pidfile && m->global.pidfile)
		pidfile = strdup(m->global.pidfile);
	if (pidfile)
		write_pidfile(pidfile);
	if (control_start(&lbd, &err) < 0) {
		lb_err("%s", err ? err : "cannot start the control plane");
		goto fail;
	}
	if (drop_privileges(&m->global) < 0)
		goto fail;
	rc = workers_start(&lbd, m->global.nbthread);
	if (rc < 0) {
		lb_err("cannot start workers: %s", strerror(-rc));
		goto fail;
	}

	ev_signal_init(&sig_term, sig_cb, SIGTERM);
	ev_signal_init(&sig_int, sig_cb, SIGINT);
	ev_signal_init(&sig_usr1, sig_cb, SIGUSR1);
	ev_signal_init(&sig_hup, sig_cb, SIGHUP);
	ev_signal_start(lbd.loop, &sig_term);
	ev_signal_start(lbd.loop, &sig_int);
	ev_signal_start(lbd.loop, &sig_usr1);
	ev_signal_start(lbd.loop, &sig_hup);

	lb_notice("lbd %s started: %d worker(s), %d listener(s), pid %d", XLB_VERSION, lbd.nworkers,
		  lbd.nlisteners, lbd.pid);
	daemon_ready();
	ev_run(lbd.loop, 0);

	workers_hard_stop(&lbd);
	workers_join(&lbd);
	listeners_close_all(&lbd);
	control_exit(&lbd);
	xdp_ctl_exit(&lbd);
	if (pidfile)
		unlink(pidfile);
	lb_notice("lbd stopped");
	return 0;
fail:
	/* no stale pidfile for a daemon that never ran */
	if (pidfile)
		unlink(pidfile);
	return 1;
}
