/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_life.c - a sandbox's lifecycle without FUSE: registry rows and
 * states, the audit trail (mount, extend, expire, unmount) and its chain,
 * TTL expiry on time and once, extend and its max_ttl limit, status and
 * unmount over the control channel, a non-owner refused and audited, and
 * gc of crashed sandboxes (dead pid, reused pid, live daemon untouched,
 * store folder checks, stale socket, dry run).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <grp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "cmd_life.h"
#include "ctl.h"
#include "life.h"
#include "spot.h"

#define NOBODY 65534

static char tmpdir[256], statedir[300], rundir[300];
static atomic_int n_expire, n_unmount;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void op_expire(void *arg)
{
	(void)arg;
	atomic_fetch_add(&n_expire, 1);
}

static void op_unmount(void *arg)
{
	(void)arg;
	atomic_fetch_add(&n_unmount, 1);
}

static void op_status(void *arg, struct spot_buf *out)
{
	(void)arg;
	spot_buf_printf(out, "views built: 3\nopen files: 1\n");
}

static const struct life_ops ops = { op_expire, op_unmount, op_status, NULL,
				     NULL };

/* main.c's, which the unit test does not link. */
void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spotfs %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uid_t r_uids[] = { 0 };
static gid_t r_gids[] = { 1001 };
static struct cfg_role roles[2];
static struct cfg cfg;

static void cfg_fill(void)
{
	roles[0].name = (char *)"analyst";
	roles[0].gids = r_gids;
	roles[0].ngids = 1;
	roles[1].name = (char *)"steward";
	roles[1].uids = r_uids;
	roles[1].nuids = 1;
	cfg.path = (char *)"/etc/spotfs/sandbox.yaml";
	cfg.source = (char *)"/data/src";
	cfg.roles = roles;
	cfg.nroles = 2;
	cfg.default_role = (char *)"default";
	cfg.max_ttl = 10;
	for (size_t i = 0; i < sizeof(cfg.digest); i++)
		cfg.digest[i] = (uint8_t)i;
}

static int start(uint64_t ttl, const char *mnt, struct life **l,
		 char id[REG_ID_LEN + 1])
{
	struct life_info in = { 0 };
	struct spot_err err = { "" };
	int rc;

	reg_new_id(id);
	in.id = id;
	in.mountpoint = mnt;
	in.cfg = &cfg;
	in.ttl = ttl;
	in.owner = getuid();
	rc = life_start(&in, &ops, NULL, l, &err);
	if (rc)
		printf("# life_start: %s\n", err.msg);
	return rc;
}

static int call(const char *id, const char *req, struct spot_buf *r,
		struct spot_err *err)
{
	char sock[512];
	int rc = ctl_socket_find(getuid(), id, sock, sizeof(sock));

	return rc ? rc : ctl_call(sock, req, r, err);
}

static int reg_state_of(const char *id, struct reg_sandbox *out)
{
	char path[400];
	struct reg_db *db;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", statedir, REG_DB_NAME);
	rc = reg_open(path, &db);
	if (rc)
		return rc;
	rc = reg_get(db, id, out);
	reg_close(db);
	return rc;
}

/* Audit event types of one sandbox, as "mount,extend,..." */
static int types_cb(const struct aud_event *ev, void *arg)
{
	struct spot_buf *b = arg;

	return spot_buf_printf(b, "%s%s", b->len ? "," : "",
			       aud_type_name(ev->type));
}

static void audit_types(const char *id, struct spot_buf *b)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", statedir, AUD_DB_NAME);
	spot_buf_reset(b);
	spot_buf_putc(b, 0);
	b->len = 0;
	aud_query(path, id, 0, types_cb, b);
}

static void test_start_status_unmount(void)
{
	struct spot_err err = { "" };
	struct reg_sandbox sb;
	struct spot_buf r;
	struct life *l = NULL;
	char id[REG_ID_LEN + 1], sock[512];
	const char *p;
	struct stat st;
	double t0;
	int rc;

	spot_buf_init(&r);
	CHECK(start(3, "/mnt/exp", &l, id) == 0, "life_start");
	rc = reg_state_of(id, &sb);
	CHECK(rc == 0 && sb.state == REG_RUNNING && sb.pid == getpid() &&
		      sb.deadline == sb.created + 3 && sb.owner == getuid() &&
		      !strcmp(sb.mountpoint, "/mnt/exp") &&
		      !strcmp(sb.source, "/data/src") &&
		      !strncmp(sb.config_digest, "000102030405", 12),
	      "registry row: running, pid, deadline, paths, digest");
	if (!rc)
		reg_sandbox_fini(&sb);
	CHECK(life_healthy(l), "audit log healthy");
	CHECK(life_remaining(l) >= 2 && life_remaining(l) <= 3,
	      "remaining about 3 s (%llu)",
	      (unsigned long long)life_remaining(l));
	CHECK(!strcmp(life_id(l), id), "life_id");
	CHECK(ctl_socket_find(getuid(), id, sock, sizeof(sock)) == 0 &&
		      !strncmp(sock, rundir, strlen(rundir)),
	      "control socket is in the runtime folder");
	rc = call(id, "ping", &r, &err);
	CHECK(rc == 0 && !strncmp((char *)r.p, "id: ", 4) &&
		      strstr((char *)r.p, id),
	      "ping answers with the id");
	rc = call(id, "status", &r, &err);
	p = (const char *)r.p;
	CHECK(rc == 0 && strstr(p, "mountpoint: /mnt/exp\n") &&
		      strstr(p, "source: /data/src\n") &&
		      strstr(p, "config: /etc/spotfs/sandbox.yaml\n") &&
		      strstr(p, "config digest: 000102030405") &&
		      strstr(p, "roles: analyst(groups 1001), steward(users "
				"0); default_role default\n") &&
		      strstr(p, "time left: ") && strstr(p, "deadline: ") &&
		      strstr(p, "state: running\n") &&
		      strstr(p, "audit: ok\n") &&
		      strstr(p, "views built: 3\nopen files: 1\n"),
	      "status has every field and the daemon's lines");
	if (rc || !strstr(p, "views built"))
		printf("# status: %d %s\n%s", rc, err.msg, p);
	rc = call(id, "frobnicate", &r, &err);
	CHECK(rc == -EREMOTEIO && strstr(err.msg, "unknown request"),
	      "unknown request refused");
	rc = call(id, "unmount", &r, &err);
	CHECK(rc == 0, "unmount request answered ok");
	t0 = now_s();
	while (atomic_load(&n_unmount) == 0 && now_s() - t0 < 2)
		usleep(5000);
	CHECK(atomic_load(&n_unmount) == 1, "ops->unmount called once");
	rc = call(id, "extend 5", &r, &err);
	CHECK(rc == -EREMOTEIO, "no extend while unmounting");
	life_stop(l, "unmounted by request");
	CHECK(lstat(sock, &st) && errno == ENOENT, "socket removed at stop");
	rc = reg_state_of(id, &sb);
	CHECK(rc == 0 && sb.state == REG_UNMOUNTED &&
		      !strcmp(sb.end_reason, "unmounted by request") &&
		      sb.ended > 0,
	      "registry: unmounted with the reason");
	if (!rc)
		reg_sandbox_fini(&sb);
	audit_types(id, &r);
	CHECK(!strcmp((char *)r.p, "mount,unmount"),
	      "audit: mount, unmount (%s)", (char *)r.p);
	CHECK(atomic_load(&n_expire) == 0, "no expiry");
	spot_buf_fini(&r);
}

static void test_ttl_extend(void)
{
	struct spot_err err = { "" };
	struct reg_sandbox sb;
	struct spot_buf r;
	struct life *l = NULL;
	char id[REG_ID_LEN + 1];
	double t0, dt;
	int64_t dl0 = 0;
	int rc;

	spot_buf_init(&r);
	atomic_store(&n_expire, 0);
	CHECK(start(5, "/mnt/ttl", &l, id) == 0, "life_start ttl 5s");
	if (!reg_state_of(id, &sb)) {
		dl0 = sb.deadline;
		reg_sandbox_fini(&sb);
	}
	rc = call(id, "extend 20", &r, &err);
	CHECK(rc == -EREMOTEIO &&
		      strstr(err.msg, "extend past max_ttl 10s: at most ") &&
		      strstr(err.msg, "s left"),
	      "extend past max_ttl refused with the limit (%s)", err.msg);
	CHECK(life_remaining(l) >= 4, "refused extend leaves the deadline");
	rc = call(id, "extend 0", &r, &err);
	CHECK(rc == -EREMOTEIO, "extend 0 refused");
	rc = call(id, "extend 1x", &r, &err);
	CHECK(rc == -EREMOTEIO, "extend with junk refused");
	rc = call(id, "extend 9", &r, &err);
	CHECK(rc == 0 && strstr((char *)r.p, "deadline: ") &&
		      strstr((char *)r.p, "time left: 9s"),
	      "extend 9 replies the new deadline");
	CHECK(life_remaining(l) >= 8 && life_remaining(l) <= 9,
	      "extend moved the deadline (%llu)",
	      (unsigned long long)life_remaining(l));
	rc = reg_state_of(id, &sb);
	CHECK(rc == 0 && sb.deadline >= dl0 + 3,
	      "registry deadline moved (%lld -> %lld)", (long long)dl0,
	      (long long)(rc ? 0 : sb.deadline));
	if (!rc)
		reg_sandbox_fini(&sb);
	/* Shorten to 1 s and time the expiry. */
	t0 = now_s();
	rc = call(id, "extend 1", &r, &err);
	CHECK(rc == 0, "extend 1 shortens the deadline");
	while (atomic_load(&n_expire) == 0 && now_s() - t0 < 3)
		usleep(2000);
	dt = now_s() - t0;
	CHECK(atomic_load(&n_expire) == 1 && dt > 0.9 && dt < 1.5,
	      "expire fired after %.3f s", dt);
	usleep(300 * 1000);
	CHECK(atomic_load(&n_expire) == 1, "expire fired once");
	CHECK(life_expired(l) && life_remaining(l) == 0,
	      "expired, nothing left");
	rc = call(id, "extend 5", &r, &err);
	CHECK(rc == -EREMOTEIO, "no extend after expiry");
	rc = call(id, "status", &r, &err);
	CHECK(rc == 0 && strstr((char *)r.p, "state: expired\n"),
	      "status says expired");
	life_stop(l, NULL);
	rc = reg_state_of(id, &sb);
	CHECK(rc == 0 && sb.state == REG_EXPIRED &&
		      !strcmp(sb.end_reason, "expired"),
	      "registry: expired");
	if (!rc)
		reg_sandbox_fini(&sb);
	audit_types(id, &r);
	CHECK(!strcmp((char *)r.p, "mount,extend,extend,expire,unmount"),
	      "audit: mount, extend, extend, expire, unmount (%s)",
	      (char *)r.p);
	spot_buf_fini(&r);
}

static void test_ttl_one_second(void)
{
	struct life *l = NULL;
	char id[REG_ID_LEN + 1];
	double t0, dt;

	atomic_store(&n_expire, 0);
	t0 = now_s();
	CHECK(start(1, "/mnt/one", &l, id) == 0, "life_start ttl 1s");
	while (atomic_load(&n_expire) == 0 && now_s() - t0 < 3)
		usleep(2000);
	dt = now_s() - t0;
	CHECK(atomic_load(&n_expire) == 1 && dt >= 0.95 && dt < 1.5,
	      "ttl 1s expires within 1.5 s (%.3f s)", dt);
	life_stop(l, NULL);
}

static void test_bad_start(void)
{
	struct life_info in = { 0 };
	struct spot_err err = { "" };
	struct life *l = NULL;
	char id[REG_ID_LEN + 1];

	reg_new_id(id);
	in.id = id;
	in.mountpoint = "/mnt/x";
	in.cfg = &cfg;
	in.owner = getuid();
	in.ttl = 0;
	CHECK(life_start(&in, &ops, NULL, &l, &err) == -EINVAL && !l &&
		      strstr(err.msg, "ttl is required"),
	      "no ttl refused without allow_no_ttl (%s)", err.msg);
	in.ttl = 11;
	CHECK(life_start(&in, &ops, NULL, &l, &err) == -EINVAL,
	      "ttl past max_ttl refused");
	in.ttl = 5;
	in.mountpoint = "rel/x";
	CHECK(life_start(&in, &ops, NULL, &l, &err) == -EINVAL,
	      "relative mount point refused");
	in.mountpoint = "/mnt/x";
	in.id = "XYZ";
	CHECK(life_start(&in, &ops, NULL, &l, &err) == -EINVAL,
	      "bad id refused");
}

static void test_no_ttl(void)
{
	struct spot_err err = { "" };
	struct spot_buf r;
	struct life *l = NULL;
	char id[REG_ID_LEN + 1];
	int rc;

	cfg.allow_no_ttl = true;
	spot_buf_init(&r);
	CHECK(start(0, "/mnt/forever", &l, id) == 0, "no ttl when allowed");
	CHECK(life_remaining(l) == UINT64_MAX, "remaining is unlimited");
	rc = call(id, "extend 5", &r, &err);
	CHECK(rc == -EREMOTEIO && strstr(err.msg, "no ttl"),
	      "extend refused without a ttl");
	rc = call(id, "status", &r, &err);
	CHECK(rc == 0 && strstr((char *)r.p, "time left: unlimited"),
	      "status: unlimited");
	life_stop(l, "signal SIGTERM");
	cfg.allow_no_ttl = false;
	spot_buf_fini(&r);
}

static int nobody_extend(const char *id)
{
	struct spot_err err = { "" };
	struct spot_buf r;
	char sock[512];
	int rc;

	snprintf(sock, sizeof(sock), "%s/%s.sock", rundir, id);
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return 100;
	spot_buf_init(&r);
	rc = ctl_call(sock, "extend 9", &r, &err);
	spot_buf_fini(&r);
	return rc == -EACCES ? 0 : 1;
}

static int deny_cb(const struct aud_event *ev, void *arg)
{
	int *n = arg;

	if (ev->type == AUD_EV_DENY && ev->uid == NOBODY &&
	    !strcmp(ev->decision, "deny"))
		(*n)++;
	return 0;
}

static void test_other_user(void)
{
	struct life *l = NULL;
	char id[REG_ID_LEN + 1], sock[512], path[400];
	int status, denies = 0;
	uint64_t before;
	pid_t pid;

	if (getuid() != 0) {
		printf("# skipping other-user test: not root\n");
		return;
	}
	CHECK(start(5, "/mnt/other", &l, id) == 0, "life_start (owner root)");
	before = life_remaining(l);
	/* Weaken the file fences so that only the peer check stands. */
	snprintf(sock, sizeof(sock), "%s/%s.sock", rundir, id);
	chmod(rundir, 0711);
	chmod(sock, 0666);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(nobody_extend(id));
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "another user gets permission denied for extend");
	CHECK(life_remaining(l) <= before, "the deadline did not move");
	chmod(rundir, 0700);
	life_stop(l, NULL);
	snprintf(path, sizeof(path), "%s/%s", statedir, AUD_DB_NAME);
	aud_query(path, id, 0, deny_cb, &denies);
	CHECK(denies == 1, "the refused attempt is audited as a deny");
}

static void test_verify(void)
{
	struct aud_verify_result res;
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", statedir, AUD_DB_NAME);
	CHECK(aud_verify(path, NULL, &res) == 0 &&
		      res.status == AUD_VERIFY_OK && res.records >= 10,
	      "the audit chain verifies (%llu records)",
	      (unsigned long long)res.records);
}

/* ---- gc ---- */

static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

/* A child that sleeps, named comm. */
static pid_t live_child(const char *comm)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, comm, 0, 0, 0);
		pause();
		_exit(0);
	}
	usleep(50 * 1000); /* let the name be set */
	return pid;
}

static void make_store(const char *dir)
{
	char f[600];

	mkdir(dir, 0700);
	for (int i = 0; i < 3; i++) {
		int fd;

		snprintf(f, sizeof(f), "%s/%032x", dir, i);
		fd = open(f, O_CREAT | O_WRONLY, 0600);
		if (fd >= 0) {
			if (write(fd, "ciphertext", 10) != 10)
				printf("# short write\n");
			close(fd);
		}
	}
}

/* Insert a running row for sb->id (set by the caller). */
static void gc_row(struct reg_db *db, struct reg_sandbox *sb, pid_t pid,
		   int64_t created, const char *store, const char *mnt)
{
	sb->owner = getuid();
	sb->mountpoint = (char *)mnt;
	sb->source = (char *)"/data/src";
	sb->config_path = (char *)"/etc/x.yaml";
	sb->created = created;
	sb->deadline = created + 60;
	sb->pid = pid;
	sb->store_dir = (char *)store;
	sb->state = REG_RUNNING;
	sb->end_reason = (char *)"";
	CHECK(reg_insert(db, sb) == 0, "row for %s inserted", mnt);
}

static enum reg_state state_of(struct reg_db *db, const char *id)
{
	struct reg_sandbox sb;
	enum reg_state s;

	if (reg_get(db, id, &sb))
		return (enum reg_state) - 1;
	s = sb.state;
	reg_sandbox_fini(&sb);
	return s;
}

static void test_gc(void)
{
	struct reg_sandbox dead, foreign, alive, old, sym, wrong;
	char path[400], st_dead[400], st_sym[400], target[400], victim[500];
	char st_wrong[400], sock[500];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct reg_db *db = NULL;
	struct aud_log *aud = NULL;
	struct spot_buf rep;
	int64_t now = (int64_t)time(NULL);
	pid_t p_foreign, p_alive;
	unsigned n = 0;
	struct stat st;
	int rc, fd;

	spot_buf_init(&rep);
	snprintf(path, sizeof(path), "%s/%s", statedir, REG_DB_NAME);
	CHECK(reg_open(path, &db) == 0, "registry open");
	snprintf(path, sizeof(path), "%s/%s", statedir, AUD_DB_NAME);
	CHECK(aud_log_open(path, NULL, &aud) == 0, "audit open");
	memset(&dead, 0, sizeof(dead));
	memset(&foreign, 0, sizeof(foreign));
	memset(&alive, 0, sizeof(alive));
	memset(&old, 0, sizeof(old));
	memset(&sym, 0, sizeof(sym));
	memset(&wrong, 0, sizeof(wrong));
	snprintf(path, sizeof(path), "%s/store", tmpdir);
	mkdir(path, 0700);
	/* 1: dead daemon (kill -9 or restart), store folder, socket. */
	reg_new_id(dead.id);
	snprintf(st_dead, sizeof(st_dead), "%s/store/%s", tmpdir, dead.id);
	make_store(st_dead);
	gc_row(db, &dead, dead_pid(), now - 100, st_dead, "/mnt/dead");
	snprintf(sock, sizeof(sock), "%s/%s.sock", rundir, dead.id);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)),
	      "stale socket left behind");
	close(fd);
	/* 2: pid alive but another program. */
	p_foreign = live_child("python3");
	reg_new_id(foreign.id);
	gc_row(db, &foreign, p_foreign, now - 10, "", "/mnt/foreign");
	/* 3: a live spotfs daemon: untouched. */
	p_alive = live_child(LIFE_DAEMON_COMM);
	reg_new_id(alive.id);
	gc_row(db, &alive, p_alive, now + 1, "", "/mnt/alive");
	/* 4: a spotfs process that started long after the row: pid reuse. */
	reg_new_id(old.id);
	gc_row(db, &old, p_alive, now - 3600, "", "/mnt/old");
	/* 5: store folder is a symlink: refused, target kept. */
	snprintf(target, sizeof(target), "%s/precious", tmpdir);
	make_store(target);
	reg_new_id(sym.id);
	snprintf(st_sym, sizeof(st_sym), "%s/store/%s", tmpdir, sym.id);
	CHECK(symlink(target, st_sym) == 0, "symlinked store made");
	gc_row(db, &sym, dead_pid(), now - 100, st_sym, "/mnt/sym");
	/* 6: store folder not named by the id: refused. */
	snprintf(st_wrong, sizeof(st_wrong), "%s/store/not-an-id", tmpdir);
	make_store(st_wrong);
	reg_new_id(wrong.id);
	gc_row(db, &wrong, dead_pid(), now - 100, st_wrong, "/mnt/wrong");

	CHECK(life_daemon_check(&dead) == LIFE_DAEMON_DEAD, "dead pid: dead");
	CHECK(life_daemon_check(&foreign) == LIFE_DAEMON_FOREIGN,
	      "other program on the pid: foreign");
	CHECK(life_daemon_check(&alive) == LIFE_DAEMON_ALIVE,
	      "spotfs started before the row: alive");
	CHECK(life_daemon_check(&old) == LIFE_DAEMON_FOREIGN,
	      "spotfs started after the row: foreign (pid reuse)");
	CHECK(!life_mount_present("/mnt/dead"), "no stale mount here");
	{
		/* kill -9 leaves a zombie until its parent reaps it. */
		struct reg_sandbox z = alive;
		pid_t zp;

		fflush(stdout);
		zp = fork();
		if (zp == 0) {
			prctl(PR_SET_NAME, LIFE_DAEMON_COMM, 0, 0, 0);
			_exit(0);
		}
		usleep(100 * 1000);
		z.pid = zp;
		CHECK(life_daemon_check(&z) == LIFE_DAEMON_DEAD,
		      "a zombie daemon counts as dead");
		waitpid(zp, NULL, 0);
	}

	/* Dry run changes nothing. */
	rc = life_gc(db, aud, getuid(), true, &rep, &n);
	CHECK(rc == -EPERM && n == 5 &&
		      strstr((char *)rep.p, "would remove "
					    "store folder"),
	      "dry run reports 5 sandboxes (%d, %u)", rc, n);
	CHECK(!lstat(st_dead, &st) && !lstat(sock, &st) &&
		      state_of(db, dead.id) == REG_RUNNING,
	      "dry run removed nothing");
	spot_buf_reset(&rep);
	rc = life_gc(db, aud, getuid(), false, &rep, &n);
	printf("# gc report:\n# %s", (char *)rep.p);
	CHECK(rc == -EPERM && n == 5, "gc handled 5 sandboxes (%d, %u)", rc, n);
	CHECK(lstat(st_dead, &st) && errno == ENOENT,
	      "dead sandbox's store folder removed");
	CHECK(lstat(sock, &st) && errno == ENOENT, "stale socket removed");
	CHECK(state_of(db, dead.id) == REG_GC, "dead sandbox marked gc");
	CHECK(state_of(db, foreign.id) == REG_GC, "foreign pid marked gc");
	CHECK(state_of(db, old.id) == REG_GC, "reused pid marked gc");
	CHECK(state_of(db, alive.id) == REG_RUNNING,
	      "live daemon's sandbox untouched");
	snprintf(victim, sizeof(victim), "%s/%032x", target, 0);
	CHECK(!lstat(st_sym, &st) && S_ISLNK(st.st_mode) && !lstat(victim, &st),
	      "symlinked store refused: link and target files kept");
	snprintf(victim, sizeof(victim), "%s/%032x", st_wrong, 0);
	CHECK(!lstat(victim, &st), "store not named by the id kept");
	spot_buf_reset(&rep);
	rc = life_gc(db, aud, getuid(), false, &rep, &n);
	CHECK(n == 2, "second gc only retries the refused stores (%u)", n);
	kill(p_foreign, SIGKILL);
	kill(p_alive, SIGKILL);
	waitpid(p_foreign, NULL, 0);
	waitpid(p_alive, NULL, 0);
	/* The live daemon was "kill -9"ed: the next gc cleans it. */
	spot_buf_reset(&rep);
	rc = life_gc(db, aud, getuid(), false, &rep, &n);
	CHECK(state_of(db, alive.id) == REG_GC,
	      "after kill -9 the sandbox is collected");
	aud_log_close(aud);
	audit_types(dead.id, &rep);
	CHECK(!strcmp((char *)rep.p, "gc"), "gc audited (%s)", (char *)rep.p);
	reg_close(db);
	spot_buf_fini(&rep);
}

/* Run a CLI command with stdout captured into out. */
static int run_cli(int (*fn)(int, char **), struct spot_buf *out, ...)
{
	char *argv[16], file[400], buf[4096];
	int argc = 0, saved, fd, rc;
	va_list ap;
	ssize_t n;

	va_start(ap, out);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	snprintf(file, sizeof(file), "%s/cli.out", tmpdir);
	fflush(stdout);
	saved = dup(1);
	fd = open(file, O_CREAT | O_TRUNC | O_RDWR, 0600);
	dup2(fd, 1);
	rc = fn(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	spot_buf_reset(out);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		spot_buf_append(out, buf, (size_t)n);
	spot_buf_putc(out, 0);
	out->len--;
	close(fd);
	return rc;
}

static void test_cli(void)
{
	struct spot_buf o;
	struct life *l = NULL;
	char id[REG_ID_LEN + 1], mnt[400];
	int rc;

	spot_buf_init(&o);
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	mkdir(mnt, 0755);
	CHECK(start(5, mnt, &l, id) == 0, "life_start for the CLI");
	rc = run_cli(cli_list, &o, "list", "--json", (char *)NULL);
	CHECK(rc == 0 && o.len && o.p[0] == '[' && strstr((char *)o.p, id),
	      "list --json: an array with the sandbox");
	/* The test process is not named spotfs: the row looks crashed. */
	CHECK(strstr((char *)o.p, "\"crashed\": true") != NULL,
	      "list marks a row whose pid is not a spotfs daemon");
	rc = run_cli(cli_list, &o, "list", (char *)NULL);
	CHECK(rc == 0 && strstr((char *)o.p, "crashed") &&
		      strstr((char *)o.p, "run spotfs gc"),
	      "list text says crashed, run spotfs gc");
	rc = run_cli(cli_status, &o, "status", "/nonexistent/mnt",
		     (char *)NULL);
	CHECK(rc == CLI_EXIT_FAIL, "status of a folder without a sandbox: 1");
	rc = run_cli(cli_extend, &o, "extend", mnt, (char *)NULL);
	CHECK(rc == CLI_EXIT_USAGE, "extend without --ttl: usage error");
	rc = run_cli(cli_extend, &o, "extend", mnt, "--ttl", "soon",
		     (char *)NULL);
	CHECK(rc == CLI_EXIT_USAGE, "extend with a bad duration: 2");
	rc = run_cli(cli_gc, &o, "gc", "--dry-run", (char *)NULL);
	CHECK(strstr((char *)o.p, id) && strstr((char *)o.p, "would mark gc"),
	      "gc --dry-run would collect a row whose pid is no daemon");
	rc = run_cli(cli_status, &o, "status", "--help", (char *)NULL);
	CHECK(rc == 0 && strstr((char *)o.p, "usage: spotfs status"),
	      "status --help");
	life_stop(l, NULL);
	rc = run_cli(cli_audit, &o, "audit", "--sandbox", id, (char *)NULL);
	CHECK(rc == 0 && strstr((char *)o.p, " mount ") &&
		      strstr((char *)o.p, " unmount "),
	      "audit --sandbox prints its events");
	rc = run_cli(cli_audit, &o, "audit", "--json", "--since", "1h",
		     (char *)NULL);
	CHECK(rc == 0 && o.len && o.p[0] == '{', "audit --json --since 1h");
	rc = run_cli(cli_audit, &o, "audit", "--since", "2999-01-01",
		     (char *)NULL);
	CHECK(rc == 0 && o.len == 0, "audit --since in the future: nothing");
	rc = run_cli(cli_audit, &o, "audit", "--since", "yesterday",
		     (char *)NULL);
	CHECK(rc == CLI_EXIT_USAGE, "audit --since junk: 2");
	rc = run_cli(cli_audit, &o, "audit", "--verify", (char *)NULL);
	CHECK(rc == 0 && strstr((char *)o.p, "chain intact"),
	      "audit --verify: intact");
	rc = run_cli(cli_list, &o, "list", "--all", (char *)NULL);
	CHECK(rc == 0 && strstr((char *)o.p, id) &&
		      strstr((char *)o.p, "unmounted"),
	      "list --all shows the ended sandbox");
	rc = run_cli(cli_list, &o, "list", (char *)NULL);
	CHECK(rc == 0 && !strstr((char *)o.p, id),
	      "list: the ended sandbox is not live");
	rc = run_cli(cli_gc, &o, "gc", (char *)NULL);
	CHECK(rc == CLI_EXIT_FAIL && strstr((char *)o.p, "refused"),
	      "gc reports the stores it refused and exits 1");
	spot_buf_fini(&o);
}

int main(void)
{
	char cmd[400];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_life.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	chmod(tmpdir, 0711);
	snprintf(statedir, sizeof(statedir), "%s/state", tmpdir);
	snprintf(rundir, sizeof(rundir), "%s/run", tmpdir);
	setenv("SPOTFS_STATE_DIR", statedir, 1);
	setenv("SPOTFS_RUNTIME_DIR", rundir, 1);
	cfg_fill();
	test_bad_start();
	test_start_status_unmount();
	test_ttl_one_second();
	test_ttl_extend();
	test_no_ttl();
	test_other_user();
	test_verify();
	test_gc();
	test_cli();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		printf("# could not remove %s\n", tmpdir);
	return check_done();
}
