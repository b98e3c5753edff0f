/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ctl.h - the control channel between a sandbox daemon and the CLI: one
 * unix stream socket per sandbox, one line of text per request.
 *
 * Protocol: the client connects, writes one request line ("status",
 * "extend 3600", "unmount", "ping") ending in '\n' (or closes its write
 * side), and reads text lines until EOF. The last line is "ok" or
 * "error: MESSAGE"; the lines before it are the reply body. A long request
 * (export) may first send lines "progress: TEXT" while it works; they come
 * before the body, and ctl_call_progress hands them to its caller (the
 * bodies of requests that send them never start with "progress: ").
 *
 * Who may talk: the server reads the peer's credentials (SO_PEERCRED) as
 * soon as a connection is accepted. Only the sandbox owner's uid and root
 * are served; anybody else gets "error: permission denied" at once,
 * without the server reading their request, and the server's refused
 * callback is told (the daemon audits it). This check is the real guard;
 * the socket's mode (0600) and its private folder (0700) are a second one.
 *
 * Bounds: a request is at most CTL_REQ_MAX bytes and must arrive within
 * CTL_TIMEOUT_MS of the connection; a reply at most CTL_REPLY_MAX bytes.
 * The server multiplexes up to CTL_CONN_MAX connections with poll(), so a
 * slow or stuck client never delays another one.
 *
 * Threads: the server runs one thread (all signals blocked, so that
 * SIGTERM/SIGINT/SIGHUP reach the FUSE loop). The handler is called on that
 * thread, one request at a time; it must not call ctl_server_stop.
 *
 * No personal data passes here: ids, paths, times and counters only.
 */
#ifndef SPOT_CTL_H
#define SPOT_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "spot.h"

#define CTL_REQ_MAX 4096	/* bytes of one request line */
#define CTL_REPLY_MAX (1 << 20) /* bytes of one reply */
#define CTL_TIMEOUT_MS 5000	/* per connection, both sides */
#define CTL_CONN_MAX 16		/* connections served at once */
#define CTL_SOCK_SUFFIX ".sock"

/*
 * The runtime folder for uid's control sockets, created (mode 0700) if
 * missing: $SPOTFS_RUNTIME_DIR if it is an absolute path (tests, unusual
 * setups; the CLI must see the same value); else /run/spotfs for root; $XDG_RUNTIME_DIR/spotfs when uid is the
 * caller's own uid and XDG_RUNTIME_DIR is an absolute path; else
 * /run/user/UID/spotfs when /run/user/UID is a folder owned by uid; else
 * /tmp/spotfs-UID. The folder (checked with lstat, so never a symlink) must
 * be owned by uid and have no group/other access. uid must be the
 * effective uid (a daemon makes only its own folder).
 * 0, -ENAMETOOLONG, -EPERM (another uid; wrong owner, mode or type: logged)
 * or the -errno of mkdir/lstat.
 */
int ctl_runtime_dir(uid_t uid, char *buf, size_t len);

/*
 * Find the control socket of sandbox id owned by owner, without creating
 * anything: tries each candidate folder of ctl_runtime_dir in turn and
 * returns the first "<folder>/<id>.sock" that exists as a socket in a
 * folder owned by owner (or root) that is not a symlink.
 * 0, -ENOENT (none found), -EINVAL (bad id) or -ENAMETOOLONG.
 */
int ctl_socket_find(uid_t owner, const char *id, char *buf, size_t len);

/*
 * Handle one request from an allowed peer (owner or root). request is the
 * line without its '\n' (NUL-terminated, at most CTL_REQ_MAX bytes, no
 * NUL inside). On 0, reply holds the body lines (each ending in '\n') and
 * the server adds "ok". On -errno, reply holds a one-line message (without
 * "error: "; empty means strerror) and the server sends "error: MESSAGE".
 */
typedef int (*ctl_handler)(void *arg, const char *request, uid_t peer_uid,
			   pid_t peer_pid, struct spot_buf *reply);

/* Told about a refused peer (not owner, not root). May be NULL. */
typedef void (*ctl_refused_fn)(void *arg, uid_t peer_uid, pid_t peer_pid);

struct ctl_server;

/*
 * Listen on path (a stale socket there, one nobody answers on, is
 * replaced; a live one is -EADDRINUSE), chmod it 0600 and start the server
 * thread. fn, refused and arg must outlive the server.
 * 0 or -errno with err set (-ENAMETOOLONG for paths longer than a
 * sockaddr_un holds, -EADDRINUSE, or the errno of socket/bind/listen).
 * *out only on success; stop with ctl_server_stop.
 */
int ctl_server_start(const char *path, uid_t owner, ctl_handler fn,
		     ctl_refused_fn refused, void *arg, struct ctl_server **out,
		     struct spot_err *err);

/*
 * Stop the thread (a request being handled finishes first), close every
 * connection, remove the socket file (only if it is still ours) and free.
 * NULL is a no-op. Not from the handler.
 */
void ctl_server_stop(struct ctl_server *s);

/*
 * Send one request to the server at path and read the reply. reply gets
 * the body lines (without the final "ok"/"error:" line) and is
 * NUL-terminated. 0 when the server said "ok"; -EREMOTEIO when it said
 * "error: ..." (err has the message, and -EACCES instead when the message
 * is "permission denied"); -ENOENT/-ECONNREFUSED when no daemon listens;
 * -EACCES when the socket may not be opened; -ETIMEDOUT after
 * CTL_TIMEOUT_MS; -EPROTO for a malformed or oversized reply.
 * err is set on every failure.
 */
int ctl_call(const char *path, const char *request, struct spot_buf *reply,
	     struct spot_err *err);
/* ctl_call with another time limit (export waits for its review). */
int ctl_call_ms(const char *path, const char *request, int timeout_ms,
		struct spot_buf *reply, struct spot_err *err);

/* Called with each progress line's text (without "progress: " and '\n'). */
typedef void (*ctl_progress_fn)(void *arg, const char *text);

/* ctl_call_ms that passes progress lines to fn as they arrive (ctl_call
 * and ctl_call_ms drop them). */
int ctl_call_progress(const char *path, const char *request, int timeout_ms,
		      ctl_progress_fn fn, void *arg, struct spot_buf *reply,
		      struct spot_err *err);

/*
 * From a handler: send "progress: TEXT" to the peer whose request it is
 * handling, now. Best effort and never slow: at most one line every
 * CTL_PROGRESS_MS, dropped when the peer's socket is full, a no-op outside
 * a handler. TEXT is cut at a newline; it goes to the peer only, like the
 * reply, so it may name what the reply names (paths inside the mount).
 */
void ctl_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CTL_PROGRESS_MS 200

#endif /* SPOT_CTL_H */
