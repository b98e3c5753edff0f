/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_ctl.c - the control channel: runtime folder rules, request/reply
 * round trips, errors, a non-owner refused (a child that setuid()s to
 * nobody), slow, oversized and half-written clients that must not block
 * others, and stale socket replacement.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ctl.h"
#include "spot.h"

#define NOBODY 65534

static char tmpdir[256];
static atomic_int refused_n, refused_uid, handled_n, handled_uid;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int handler(void *arg, const char *req, uid_t uid, pid_t pid,
		   struct spot_buf *r)
{
	(void)arg;
	(void)pid;
	atomic_fetch_add(&handled_n, 1);
	atomic_store(&handled_uid, (int)uid);
	if (!strcmp(req, "ping"))
		return spot_buf_printf(r, "pong\nsecond line\n") ? -ENOMEM : 0;
	if (!strcmp(req, "fail")) {
		spot_buf_printf(r, "it went wrong");
		return -EINVAL;
	}
	if (!strcmp(req, "fail-silent"))
		return -ENOSPC;
	if (!strncmp(req, "echo ", 5))
		return spot_buf_printf(r, "%s\n", req + 5) ? -ENOMEM : 0;
	if (!strcmp(req, "slow")) { /* progress lines, then the body */
		for (int i = 0; i < 3; i++) {
			ctl_progress("step %d\nnot this", i);
			ctl_progress("too soon after the last: dropped");
			usleep((CTL_PROGRESS_MS + 20) * 1000);
		}
		return spot_buf_printf(r, "done\n") ? -ENOMEM : 0;
	}
	return spot_buf_printf(r, "unknown") ? -ENOMEM : -EINVAL;
}

struct seen {
	char text[256];
	int n;
};

static void on_progress(void *arg, const char *text)
{
	struct seen *s = arg;

	if (s->n++ < 8)
		snprintf(s->text + strlen(s->text),
			 sizeof(s->text) - strlen(s->text), "[%s]", text);
}

static void refused(void *arg, uid_t uid, pid_t pid)
{
	(void)arg;
	(void)pid;
	atomic_store(&refused_uid, (int)uid);
	atomic_fetch_add(&refused_n, 1);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read what the server sends until EOF or timeout_ms. */
static double raw_read(int fd, char *buf, size_t len, int timeout_ms)
{
	double t0 = now_s();
	size_t n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		k = read(fd, buf + n, len - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	buf[n] = 0;
	return now_s() - t0;
}

static void test_runtime_dir(void)
{
	char want[300], buf[300], link[300];
	struct stat st;

	snprintf(want, sizeof(want), "%s/rt", tmpdir);
	setenv("SPOTFS_RUNTIME_DIR", want, 1);
	CHECK(ctl_runtime_dir(getuid(), buf, sizeof(buf)) == 0 &&
		      !strcmp(buf, want),
	      "SPOTFS_RUNTIME_DIR is the runtime folder");
	CHECK(!lstat(want, &st) && S_ISDIR(st.st_mode) &&
		      (st.st_mode & 0777) == 0700,
	      "runtime folder created mode 0700");
	CHECK(ctl_runtime_dir(getuid(), buf, 8) == -ENAMETOOLONG,
	      "short buffer is -ENAMETOOLONG");
	chmod(want, 0755);
	CHECK(ctl_runtime_dir(getuid(), buf, sizeof(buf)) == -EPERM,
	      "runtime folder readable by others is refused");
	chmod(want, 0700);
	snprintf(link, sizeof(link), "%s/rt-link", tmpdir);
	CHECK(symlink(want, link) == 0, "symlink made");
	setenv("SPOTFS_RUNTIME_DIR", link, 1);
	CHECK(ctl_runtime_dir(getuid(), buf, sizeof(buf)) == -EPERM,
	      "a symlink as runtime folder is refused");
	snprintf(link, sizeof(link), "%s/rt-other", tmpdir);
	mkdir(link, 0700);
	if (getuid() == 0) {
		CHECK(chown(link, NOBODY, NOBODY) == 0, "chown to nobody");
		setenv("SPOTFS_RUNTIME_DIR", link, 1);
		CHECK(ctl_runtime_dir(getuid(), buf, sizeof(buf)) == -EPERM,
		      "a runtime folder pre-made by another user is refused");
	}
	CHECK(ctl_runtime_dir(getuid() + 1, buf, sizeof(buf)) == -EPERM,
	      "another uid's runtime folder is not made");
	unsetenv("SPOTFS_RUNTIME_DIR");
	if (getuid() == 0) {
		/* Without the override root uses /run/spotfs: compute only. */
		CHECK(ctl_socket_find(0, "0011223344556677", buf,
				      sizeof(buf)) == -ENOENT,
		      "no socket found for an unknown id");
	}
	CHECK(ctl_socket_find(getuid(), "../x", buf, sizeof(buf)) == -EINVAL,
	      "an id with a slash is refused");
}

static void test_round_trip(const char *sock)
{
	struct ctl_server *s = NULL;
	struct spot_err err = { "" };
	struct spot_buf r;
	struct stat st;
	int rc;

	spot_buf_init(&r);
	rc = ctl_server_start(sock, getuid(), handler, refused, NULL, &s, &err);
	CHECK(rc == 0, "server starts (%s)", err.msg);
	CHECK(!lstat(sock, &st) && S_ISSOCK(st.st_mode) &&
		      (st.st_mode & 0777) == 0600,
	      "socket file has mode 0600");
	rc = ctl_call(sock, "ping", &r, &err);
	CHECK(rc == 0 && !strcmp((char *)r.p, "pong\nsecond line\n"),
	      "ping round trip gives the body without the ok line");
	rc = ctl_call(sock, "echo hello world", &r, &err);
	CHECK(rc == 0 && !strcmp((char *)r.p, "hello world\n"),
	      "request argument reaches the handler");
	{
		struct seen seen = { "", 0 };

		rc = ctl_call_progress(sock, "slow", 5000, on_progress, &seen,
				       &r, &err);
		CHECK(rc == 0 && !strcmp((char *)r.p, "done\n") &&
			      !strcmp(seen.text, "[step 0][step 1][step 2]"),
		      "progress lines reach the callback before the body, "
		      "one line each, at most one per CTL_PROGRESS_MS (%s)",
		      seen.text);
		rc = ctl_call(sock, "slow", &r, &err);
		CHECK(rc == 0 && !strcmp((char *)r.p, "done\n"),
		      "without a callback progress lines are dropped (%s)",
		      (char *)r.p);
		CHECK(ctl_call(sock, "ping", &r, &err) == 0 &&
			      ctl_call_progress(sock, "ping", 5000, on_progress,
						&seen, &r, &err) == 0 &&
			      !strcmp((char *)r.p, "pong\nsecond line\n"),
		      "a body is whole with or without a callback");
		ctl_progress("outside a handler: a no-op");
	}
	rc = ctl_call(sock, "fail", &r, &err);
	CHECK(rc == -EREMOTEIO && !strcmp(err.msg, "it went wrong"),
	      "handler error comes back as its message (%d, %s)", rc, err.msg);
	rc = ctl_call(sock, "fail-silent", &r, &err);
	CHECK(rc == -EREMOTEIO && strstr(err.msg, "space"),
	      "handler error without a message gives strerror (%s)", err.msg);
	CHECK(atomic_load(&handled_uid) == (int)getuid(),
	      "handler sees the peer uid");
	CHECK(ctl_call(sock, "a\nb", &r, &err) == -EINVAL,
	      "client refuses a request with a newline");
	{
		struct ctl_server *s2 = NULL;

		rc = ctl_server_start(sock, getuid(), handler, refused, NULL,
				      &s2, &err);
		CHECK(rc == -EADDRINUSE && !s2,
		      "second server on a live socket is -EADDRINUSE");
	}
	ctl_server_stop(s);
	CHECK(lstat(sock, &st) && errno == ENOENT, "stop removes the socket");
	rc = ctl_call(sock, "ping", &r, &err);
	CHECK(rc == -ENOENT && strstr(err.msg, "no sandbox daemon"),
	      "call without a server is -ENOENT with a clear message");
	spot_buf_fini(&r);
}

static void test_stale_socket(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_server *s = NULL;
	struct spot_err err = { "" };
	struct spot_buf r;
	int fd, rc;

	/* A socket file left by a dead daemon: bound, never unlinked. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)),
	      "stale socket made");
	close(fd);
	rc = ctl_server_start(sock, getuid(), handler, refused, NULL, &s, &err);
	CHECK(rc == 0, "a stale socket is replaced (%s)", err.msg);
	spot_buf_init(&r);
	CHECK(ctl_call(sock, "ping", &r, &err) == 0,
	      "server on a replaced socket answers");
	spot_buf_fini(&r);
	ctl_server_stop(s);
}

/* In a child that becomes nobody: try to talk, report via exit code. */
static int child_call(const char *sock, const char *req)
{
	struct spot_err err = { "" };
	struct spot_buf r;
	int rc;

	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return 100;
	spot_buf_init(&r);
	rc = ctl_call(sock, req, &r, &err);
	spot_buf_fini(&r);
	if (rc == -EACCES && strstr(err.msg, "permission denied"))
		return 0;
	return 1;
}

static int run_as_nobody(const char *sock, const char *req)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(child_call(sock, req));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_non_owner(const char *sock)
{
	struct ctl_server *s = NULL;
	struct spot_err err = { "" };
	struct spot_buf r;
	int rc, before;

	if (getuid() != 0) {
		printf("# skipping non-owner tests: not root\n");
		return;
	}
	/* The owner is a third uid; root (us) may talk, nobody may not. */
	rc = ctl_server_start(sock, 4321, handler, refused, NULL, &s, &err);
	CHECK(rc == 0, "server for owner 4321 starts (%s)", err.msg);
	spot_buf_init(&r);
	CHECK(ctl_call(sock, "ping", &r, &err) == 0,
	      "root may talk to another owner's sandbox");
	spot_buf_fini(&r);
	before = atomic_load(&handled_n);
	/* Socket mode 0600: nobody cannot even connect. */
	CHECK(run_as_nobody(sock, "ping") == 0,
	      "nobody cannot connect to a 0600 socket (EACCES)");
	CHECK(atomic_load(&refused_n) == 0,
	      "no refusal was needed: the file mode kept nobody out");
	/* Open the file: the peer check alone must refuse. */
	chmod(sock, 0666);
	CHECK(run_as_nobody(sock, "extend 99999") == 0,
	      "nobody gets 'error: permission denied' from the peer check");
	CHECK(run_as_nobody(sock, "unmount") == 0,
	      "nobody cannot ask for unmount either");
	CHECK(atomic_load(&refused_n) == 2 &&
		      atomic_load(&refused_uid) == NOBODY,
	      "the refused callback saw uid 65534 twice (%d)",
	      atomic_load(&refused_n));
	CHECK(atomic_load(&handled_n) == before,
	      "the handler never ran for nobody");
	ctl_server_stop(s);
}

static void test_bad_clients(const char *sock)
{
	struct ctl_server *s = NULL;
	struct spot_err err = { "" };
	char big[CTL_REQ_MAX + 100], got[256];
	struct spot_buf r;
	int slow, fd, rc;
	double t0, dt;

	rc = ctl_server_start(sock, getuid(), handler, refused, NULL, &s, &err);
	CHECK(rc == 0, "server starts (%s)", err.msg);
	spot_buf_init(&r);
	slow = raw_connect(sock);
	CHECK(slow >= 0, "a slow client connects and sends nothing");
	t0 = now_s();
	rc = ctl_call(sock, "ping", &r, &err);
	dt = now_s() - t0;
	CHECK(rc == 0 && dt < 0.5,
	      "another client is served while the slow one waits (%.3f s)", dt);
	/* Oversized request. */
	fd = raw_connect(sock);
	memset(big, 'x', sizeof(big));
	CHECK(fd >= 0 && write(fd, big, sizeof(big)) > 0,
	      "oversized request sent");
	raw_read(fd, got, sizeof(got), 2000);
	CHECK(!strcmp(got, "error: request too long\n"),
	      "oversized request gets 'request too long' (%s)", got);
	close(fd);
	/* A request written in two parts. */
	fd = raw_connect(sock);
	CHECK(fd >= 0 && write(fd, "pi", 2) == 2, "half a request sent");
	usleep(100 * 1000);
	CHECK(write(fd, "ng\r\n", 4) == 4, "rest sent (with CRLF)");
	raw_read(fd, got, sizeof(got), 2000);
	CHECK(!strcmp(got, "pong\nsecond line\nok\n"),
	      "a request split across writes is answered (%s)", got);
	close(fd);
	/* A request without newline, ended by shutdown. */
	fd = raw_connect(sock);
	CHECK(fd >= 0 && write(fd, "ping", 4) == 4 && !shutdown(fd, SHUT_WR),
	      "request ended by shutdown");
	raw_read(fd, got, sizeof(got), 2000);
	CHECK(!strcmp(got, "pong\nsecond line\nok\n"),
	      "a request ended by EOF is answered");
	close(fd);
	/* A NUL byte inside. */
	fd = raw_connect(sock);
	CHECK(fd >= 0 && write(fd, "pi\0ng\n", 6) == 6, "request with NUL");
	raw_read(fd, got, sizeof(got), 2000);
	CHECK(!strncmp(got, "error: NUL byte", 15),
	      "a NUL byte in a request is refused");
	close(fd);
	/* The slow client is dropped after the timeout, with a message. */
	dt = raw_read(slow, got, sizeof(got), CTL_TIMEOUT_MS + 2000);
	CHECK(!strcmp(got, "error: timed out reading request\n"),
	      "the slow client is told it timed out (%s)", got);
	CHECK(dt > (CTL_TIMEOUT_MS - 1500) / 1000.0 &&
		      dt < (CTL_TIMEOUT_MS + 1500) / 1000.0,
	      "after about CTL_TIMEOUT_MS (%.2f s)", dt);
	close(slow);
	CHECK(ctl_call(sock, "ping", &r, &err) == 0,
	      "the server still answers afterwards");
	spot_buf_fini(&r);
	ctl_server_stop(s);
}

static void test_many_clients(const char *sock)
{
	struct ctl_server *s = NULL;
	struct spot_err err = { "" };
	int fds[CTL_CONN_MAX + 4], ok = 0, rc;
	char got[256];

	rc = ctl_server_start(sock, getuid(), handler, refused, NULL, &s, &err);
	CHECK(rc == 0, "server starts (%s)", err.msg);
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(fds); i++) {
		fds[i] = raw_connect(sock);
		if (fds[i] >= 0 && write(fds[i], "ping\n", 5) != 5) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(fds); i++) {
		if (fds[i] < 0)
			continue;
		raw_read(fds[i], got, sizeof(got), 3000);
		ok += !strcmp(got, "pong\nsecond line\nok\n");
		close(fds[i]);
	}
	CHECK(ok == (int)SPOT_ARRAY_SIZE(fds),
	      "more clients than slots are all answered (%d)", ok);
	ctl_server_stop(s);
}

int main(void)
{
	char sock[300];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_ctl.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	/* Traversable, so that nobody can reach a socket made 0666. */
	chmod(tmpdir, 0711);
	snprintf(sock, sizeof(sock), "%s/s.sock", tmpdir);
	test_runtime_dir();
	test_round_trip(sock);
	test_stale_socket(sock);
	test_non_owner(sock);
	test_many_clients(sock);
	test_bad_clients(sock);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd))
			printf("# could not remove %s\n", tmpdir);
	}
	return check_done();
}
