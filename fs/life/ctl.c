/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ctl.c - the control channel: runtime folder, a poll()-driven unix socket
 * server on its own thread, and the client call used by the CLI.
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CTL_BACKLOG 16
#define CTL_NCAND 5 /* candidate runtime folders */

/* ---- runtime folder ---- */

/*
 * The candidate folders for uid, best first. With create, the first one
 * is the one the daemon uses.
 */
static int ctl_candidates(uid_t uid, char out[CTL_NCAND][256])
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *env = getenv("SPOTFS_RUNTIME_DIR");
	char run_user[64];
	struct stat st;
	int n = 0;

	if (env && env[0] == '/' && strlen(env) < 250)
		snprintf(out[n++], 256, "%s", env);
	if (uid == 0)
		snprintf(out[n++], 256, "/run/spotfs");
	if (uid != 0 && uid == getuid() && xdg && xdg[0] == '/' &&
	    strlen(xdg) < 200)
		snprintf(out[n++], 256, "%s/spotfs", xdg);
	snprintf(run_user, sizeof(run_user), "/run/user/%u", (unsigned)uid);
	if (uid != 0 && !lstat(run_user, &st) && S_ISDIR(st.st_mode) &&
	    st.st_uid == uid)
		snprintf(out[n++], 256, "%s/spotfs", run_user);
	snprintf(out[n++], 256, "/tmp/spotfs-%u", (unsigned)uid);
	return n;
}

int ctl_runtime_dir(uid_t uid, char *buf, size_t len)
{
	char cand[CTL_NCAND][256];
	struct stat st;

	if (uid != geteuid())
		return -EPERM; /* only a process's own folder is made */
	ctl_candidates(uid, cand);
	if (strlen(cand[0]) >= len)
		return -ENAMETOOLONG;
	if (mkdir(cand[0], 0700) && errno != EEXIST) {
		int saverr = errno;

		spot_log(SPOT_LOG_ERR, "cannot create runtime folder %s: %s",
			 cand[0], strerror(saverr));
		return -saverr;
	}
	if (lstat(cand[0], &st))
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 077)) {
		spot_log(SPOT_LOG_ERR,
			 "runtime folder %s must be a folder (not a symlink) "
			 "owned by uid %u with mode 0700",
			 cand[0], (unsigned)uid);
		return -EPERM;
	}
	strcpy(buf, cand[0]);
	return 0;
}

int ctl_socket_find(uid_t owner, const char *id, char *buf, size_t len)
{
	char cand[CTL_NCAND][256], path[512];
	struct stat st;
	int n = ctl_candidates(owner, cand);

	if (strlen(id) > 64 || strchr(id, '/'))
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		int k;

		if (lstat(cand[i], &st) || !S_ISDIR(st.st_mode) ||
		    (st.st_uid != owner && st.st_uid != 0))
			continue;
		k = snprintf(path, sizeof(path), "%.255s/%.64s%s", cand[i], id,
			     CTL_SOCK_SUFFIX);
		if (k < 0 || lstat(path, &st) || !S_ISSOCK(st.st_mode))
			continue;
		if (strlen(path) >= len)
			return -ENAMETOOLONG;
		strcpy(buf, path);
		return 0;
	}
	return -ENOENT;
}

/* ---- shared helpers ---- */

static int64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ctl_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

/* Write all of (p, n) before deadline_ms. 0 or -errno. */
static int ctl_write_all(int fd, const void *p, size_t n, int64_t deadline_ms)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int64_t left;

		if (w > 0) {
			c += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		left = deadline_ms - ctl_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

/* ---- server ---- */

struct ctl_conn {
	int fd; /* -1 when the slot is free */
	uid_t uid;
	pid_t pid;
	int64_t deadline_ms;
	size_t len;
	char buf[CTL_REQ_MAX + 1];
};

struct ctl_server {
	int lfd;
	int wake[2]; /* a byte on wake[1] stops the thread */
	pthread_t thread;
	char *path;
	dev_t dev; /* the socket file we made, to unlink only that */
	ino_t ino;
	uid_t owner;
	ctl_handler fn;
	ctl_refused_fn refused;
	void *arg;
	/* Touched by the server thread only. */
	struct ctl_conn conns[CTL_CONN_MAX];
	struct spot_buf reply;
};

static void ctl_conn_close(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* The connection whose request the server thread is handling. */
static _Thread_local struct ctl_conn *ctl_cur;
static _Thread_local int64_t ctl_cur_last_ms;

void ctl_progress(const char *fmt, ...)
{
	struct ctl_conn *c = ctl_cur;
	int64_t now = ctl_now_ms();
	char line[512];
	va_list ap;
	ssize_t w;
	int n;

	if (!c || c->fd < 0 || now - ctl_cur_last_ms < CTL_PROGRESS_MS)
		return;
	ctl_cur_last_ms = now;
	n = snprintf(line, sizeof(line), "progress: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[strcspn(line, "\n")] = 0; /* one line, whatever the text */
	n = (int)strlen(line);
	line[n++] = '\n';
	/* Non-blocking: a peer that does not read loses progress, not time.
	 * A line is written whole or not at all while the buffer has room;
	 * a partial write would corrupt the reply, so it ends the lines. */
	w = send(c->fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w != n && w > 0) {
		ctl_write_all(c->fd, line + w, (size_t)(n - w), c->deadline_ms);
		ctl_cur = NULL;
	}
}

/* Run the handler and send its reply with the final status line. */
static void ctl_conn_answer(struct ctl_server *s, struct ctl_conn *c)
{
	struct spot_buf *r = &s->reply;
	size_t len;
	char *nl;
	int rc;

	nl = memchr(c->buf, '\n', c->len);
	len = nl ? (size_t)(nl - c->buf) : c->len;
	if (len && c->buf[len - 1] == '\r')
		len--;
	c->buf[len] = 0;
	spot_buf_reset(r);
	if (memchr(c->buf, 0, len)) {
		rc = -EINVAL;
		spot_buf_printf(r, "NUL byte in request");
	} else {
		ctl_cur = c;
		ctl_cur_last_ms = 0;
		rc = s->fn(s->arg, c->buf, c->uid, c->pid, r);
		ctl_cur = NULL;
		/* A long request (export reviews files) still gets its
		 * reply's full time to be sent. */
		c->deadline_ms = ctl_now_ms() + CTL_TIMEOUT_MS;
	}
	if (rc) {
		char msg[256];

		if (r->len)
			snprintf(msg, sizeof(msg), "%.*s", (int)r->len,
				 (const char *)r->p);
		else
			snprintf(msg, sizeof(msg), "%s", strerror(-rc));
		msg[strcspn(msg, "\n")] = 0;
		spot_buf_reset(r);
		spot_buf_printf(r, "error: %s\n", msg);
	} else if (r->len > CTL_REPLY_MAX - 64) {
		spot_buf_reset(r);
		spot_buf_printf(r, "error: reply too long\n");
	} else {
		if (r->len && r->p[r->len - 1] != '\n')
			spot_buf_putc(r, '\n');
		spot_buf_printf(r, "ok\n");
	}
	if (r->len)
		ctl_write_all(c->fd, r->p, r->len, c->deadline_ms);
	else /* out of memory: the client sees EOF without a status */
		spot_log(SPOT_LOG_WARN, "control reply lost: out of memory");
	ctl_conn_close(c);
}

static void ctl_conn_reply_error(struct ctl_conn *c, const char *msg)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "error: %s\n", msg);

	ctl_write_all(c->fd, line, (size_t)n, c->deadline_ms);
	ctl_conn_close(c);
}

static void ctl_accept(struct ctl_server *s)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct ctl_conn *c = NULL;
	int fd;

	fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (size_t i = 0; i < CTL_CONN_MAX && !c; i++)
		if (s->conns[i].fd < 0)
			c = &s->conns[i];
	if (!c || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen)) {
		close(fd); /* the poll loop does not accept when full */
		return;
	}
	c->fd = fd;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->len = 0;
	c->deadline_ms = ctl_now_ms() + CTL_TIMEOUT_MS;
	if (cred.uid != s->owner && cred.uid != 0) {
		/* Refused before reading anything from the peer. */
		ctl_conn_reply_error(c, "permission denied");
		if (s->refused)
			s->refused(s->arg, cred.uid, cred.pid);
	}
}

static void ctl_conn_read(struct ctl_server *s, struct ctl_conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, CTL_REQ_MAX - c->len);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			ctl_conn_close(c);
		return;
	}
	c->len += (size_t)n;
	if ((n == 0 && c->len) || memchr(c->buf, '\n', c->len)) {
		ctl_conn_answer(s, c);
		return;
	}
	if (n == 0)
		ctl_conn_close(c); /* closed without a request */
	else if (c->len == CTL_REQ_MAX)
		ctl_conn_reply_error(c, "request too long");
}

static int ctl_poll_timeout(struct ctl_server *s)
{
	int64_t now = ctl_now_ms(), t = -1;

	for (size_t i = 0; i < CTL_CONN_MAX; i++) {
		struct ctl_conn *c = &s->conns[i];

		if (c->fd < 0)
			continue;
		if (c->deadline_ms <= now) {
			ctl_conn_reply_error(c, "timed out reading request");
			continue;
		}
		if (t < 0 || c->deadline_ms - now < t)
			t = c->deadline_ms - now;
	}
	return (int)t;
}

static void *ctl_thread(void *arg)
{
	struct ctl_server *s = arg;
	struct pollfd pfd[CTL_CONN_MAX + 2];
	size_t map[CTL_CONN_MAX];

	for (;;) {
		int timeout = ctl_poll_timeout(s);
		nfds_t n = 0, nc = 0;
		bool room = false;

		pfd[n++] =
			(struct pollfd){ .fd = s->wake[0], .events = POLLIN };
		for (size_t i = 0; i < CTL_CONN_MAX; i++) {
			if (s->conns[i].fd < 0) {
				room = true;
				continue;
			}
			map[nc++] = i;
			pfd[n++] = (struct pollfd){ .fd = s->conns[i].fd,
						    .events = POLLIN };
		}
		/* Full: leave new clients in the backlog until a slot frees. */
		pfd[n++] = (struct pollfd){ .fd = room ? s->lfd : -1,
					    .events = POLLIN };
		if (poll(pfd, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			spot_log(SPOT_LOG_ERR, "control server: poll: %s",
				 strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		for (size_t k = 0; k < nc; k++)
			if (pfd[1 + k].revents)
				ctl_conn_read(s, &s->conns[map[k]]);
		if (pfd[n - 1].revents & POLLIN)
			ctl_accept(s);
	}
	return NULL;
}

/*
 * Bind path; if a socket file is already there and nobody answers on it,
 * it is stale (its daemon died): replace it.
 */
static int ctl_bind(int fd, const char *path, struct spot_err *err)
{
	struct sockaddr_un sa;
	struct stat st;
	int probe, rc;

	rc = ctl_addr(path, &sa);
	if (rc) {
		spot_err_set(err, "control socket path too long: %s", path);
		return rc;
	}
	if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 0;
	if (errno != EADDRINUSE)
		goto fail;
	if (lstat(path, &st) || !S_ISSOCK(st.st_mode)) {
		errno = EADDRINUSE;
		goto fail;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		goto fail;
	rc = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
	close(probe);
	if (!rc || errno != ECONNREFUSED) {
		spot_err_set(err, "%s: a live server already listens there",
			     path);
		return -EADDRINUSE;
	}
	if (unlink(path) && errno != ENOENT)
		goto fail;
	if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 0;
fail:
	rc = -errno;
	spot_err_set(err, "cannot bind control socket %s: %s", path,
		     strerror(-rc));
	return rc;
}

/* Start the thread with every signal blocked (see ctl.h). */
static int ctl_thread_start(struct ctl_server *s)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->thread, NULL, ctl_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -rc;
}

int ctl_server_start(const char *path, uid_t owner, ctl_handler fn,
		     ctl_refused_fn refused, void *arg, struct ctl_server **out,
		     struct spot_err *err)
{
	struct ctl_server *s;
	struct stat st;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	s->owner = owner;
	s->fn = fn;
	s->refused = refused;
	s->arg = arg;
	s->wake[0] = s->wake[1] = -1;
	spot_buf_init(&s->reply);
	for (size_t i = 0; i < CTL_CONN_MAX; i++)
		s->conns[i].fd = -1;
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0 || pipe2(s->wake, O_CLOEXEC)) {
		rc = -errno;
		spot_err_set(err, "control socket: %s", strerror(-rc));
		goto fail;
	}
	rc = ctl_bind(s->lfd, path, err);
	if (rc)
		goto fail;
	/* The folder is private already; the mode is a second fence. */
	if (chmod(path, 0600) || lstat(path, &st) ||
	    listen(s->lfd, CTL_BACKLOG)) {
		rc = -errno;
		spot_err_set(err, "control socket %s: %s", s->path,
			     strerror(-rc));
		unlink(path);
		goto fail;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	rc = ctl_thread_start(s);
	if (rc) {
		spot_err_set(err, "control thread: %s", strerror(-rc));
		unlink(path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	free(s->path);
	free(s);
	return rc;
}

void ctl_server_stop(struct ctl_server *s)
{
	struct stat st;
	ssize_t w;

	if (!s)
		return;
	do
		w = write(s->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(s->thread, NULL);
	for (size_t i = 0; i < CTL_CONN_MAX; i++)
		ctl_conn_close(&s->conns[i]);
	/* A later daemon may have replaced a file we thought stale. */
	if (!lstat(s->path, &st) && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	spot_buf_fini(&s->reply);
	free(s->path);
	free(s);
}

/* ---- client ---- */

static int ctl_connect(const char *path, int *out, struct spot_err *err)
{
	struct sockaddr_un sa;
	int fd, rc;

	rc = ctl_addr(path, &sa);
	if (rc) {
		spot_err_set(err, "control socket path too long: %s", path);
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		spot_err_set(err, "socket: %s", strerror(-rc));
		return rc;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		if (rc == -ENOENT || rc == -ECONNREFUSED)
			spot_err_set(err,
				     "no sandbox daemon answers at %s (%s)",
				     path, strerror(-rc));
		else if (rc == -EACCES)
			spot_err_set(err,
				     "%s: permission denied (not your sandbox)",
				     path);
		else
			spot_err_set(err, "cannot connect to %s: %s", path,
				     strerror(-rc));
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

#define CTL_PROGRESS_TAG "progress: "

/*
 * Hand the progress lines at the start of reply to fn and drop them.
 * true once the body has started (no progress line can follow).
 */
static bool ctl_take_progress(struct spot_buf *reply, ctl_progress_fn fn,
			      void *arg)
{
	const size_t tag = sizeof(CTL_PROGRESS_TAG) - 1;

	for (;;) {
		char *nl;
		size_t n;

		if (memcmp(reply->p, CTL_PROGRESS_TAG,
			   reply->len < tag ? reply->len : tag))
			return true;
		nl = reply->len > tag ? memchr(reply->p, '\n', reply->len)
				      : NULL;
		if (!nl)
			return false; /* the rest of the line is to come */
		*nl = 0;
		fn(arg, (const char *)reply->p + tag);
		n = (size_t)(nl + 1 - (char *)reply->p);
		memmove(reply->p, reply->p + n, reply->len - n);
		reply->len -= n;
		if (!reply->len)
			return false;
	}
}

static void ctl_progress_drop(void *arg, const char *text)
{
	(void)arg;
	(void)text;
}

/* Read until EOF (bounded in size and time) into reply; progress lines
 * before the body go to fn (dropped without one). */
static int ctl_read_all(int fd, struct spot_buf *reply, int64_t deadline_ms,
			ctl_progress_fn fn, void *arg, struct spot_err *err)
{
	bool body = false;

	if (!fn)
		fn = ctl_progress_drop;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline_ms - ctl_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			spot_err_set(err, "the daemon did not answer in time");
			return -ETIMEDOUT;
		}
		if (spot_buf_reserve(reply, 4096)) {
			spot_err_set(err, "out of memory");
			return -ENOMEM;
		}
		n = read(fd, reply->p + reply->len, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		/* A server that refused us before reading resets the link
		 * after its reply: that is the end of the reply. */
		if (n < 0 && errno == ECONNRESET && reply->len)
			return 0;
		if (n < 0) {
			int rc = -errno;

			spot_err_set(err, "reading the reply: %s",
				     strerror(-rc));
			return rc;
		}
		if (n == 0)
			return 0;
		reply->len += (size_t)n;
		if (!body)
			body = ctl_take_progress(reply, fn, arg);
		if (reply->len > CTL_REPLY_MAX) {
			spot_err_set(err, "reply too long");
			return -EPROTO;
		}
	}
}

/* Split off the final status line. */
static int ctl_parse_status(struct spot_buf *reply, struct spot_err *err)
{
	size_t end, start;
	const char *line;

	if (!reply->len || reply->p[reply->len - 1] != '\n' ||
	    memchr(reply->p, 0, reply->len)) {
		spot_err_set(err, "malformed reply from the daemon");
		return -EPROTO;
	}
	end = reply->len - 1;
	start = end;
	while (start > 0 && reply->p[start - 1] != '\n')
		start--;
	reply->p[end] = 0;
	line = (const char *)reply->p + start;
	reply->len = start;
	if (!strcmp(line, "ok")) {
		reply->p[reply->len] = 0;
		return 0;
	}
	if (!strncmp(line, "error: ", 7)) {
		spot_err_set(err, "%s", line + 7);
		reply->p[reply->len] = 0;
		return strcmp(line + 7, "permission denied") ? -EREMOTEIO
							     : -EACCES;
	}
	spot_err_set(err, "malformed reply from the daemon");
	return -EPROTO;
}

int ctl_call(const char *path, const char *request, struct spot_buf *reply,
	     struct spot_err *err)
{
	return ctl_call_ms(path, request, CTL_TIMEOUT_MS, reply, err);
}

int ctl_call_ms(const char *path, const char *request, int timeout_ms,
		struct spot_buf *reply, struct spot_err *err)
{
	return ctl_call_progress(path, request, timeout_ms, NULL, NULL, reply,
				 err);
}

int ctl_call_progress(const char *path, const char *request, int timeout_ms,
		      ctl_progress_fn fn, void *arg, struct spot_buf *reply,
		      struct spot_err *err)
{
	int64_t deadline = ctl_now_ms() + timeout_ms;
	size_t rlen = strlen(request);
	int fd = -1, rc;

	if (rlen >= CTL_REQ_MAX || memchr(request, '\n', rlen)) {
		spot_err_set(err, "bad control request");
		return -EINVAL;
	}
	rc = ctl_connect(path, &fd, err);
	if (rc)
		return rc;
	rc = ctl_write_all(fd, request, rlen, deadline);
	if (!rc)
		rc = ctl_write_all(fd, "\n", 1, deadline);
	/* A refused peer may find the socket closed already: read anyway. */
	if (rc && rc != -EPIPE && rc != -ECONNRESET) {
		spot_err_set(err, "sending the request: %s", strerror(-rc));
		goto out;
	}
	spot_buf_reset(reply);
	rc = ctl_read_all(fd, reply, deadline, fn, arg, err);
	if (!rc)
		rc = ctl_parse_status(reply, err);
out:
	close(fd);
	return rc;
}
