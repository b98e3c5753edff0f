/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * life.h - the lifecycle of one mounted sandbox, without FUSE: its
 * registry row, its audit trail, its TTL deadline and its control channel;
 * and the crash clean-up used by `spotfs gc`.
 *
 * The daemon calls life_start once the mount is live, life_audit for every
 * event it records, and life_stop when the session has ended. In between,
 * life runs two threads of its own (all signals blocked, so that SIGTERM,
 * SIGINT and SIGHUP reach the FUSE loop):
 *
 *  - the life thread waits for the deadline and calls ops->expire once
 *    (after auditing "expire"), and calls ops->unmount once when an
 *    "unmount" request came over the control channel. Both callbacks run
 *    on this thread, never on the caller's, and must not call life_stop:
 *    they ask the FUSE loop to end; the daemon calls life_stop after the
 *    loop has returned.
 *  - the control server (ctl.h) answers "ping", "status", "extend SECONDS",
 *    "unmount" and "unmounting" ["cancel"] (spotfs unmount announcing
 *    itself, for the record; both may end in "by NAME", the sender's
 *    process name, recorded rather than /proc/PID/comm read when the
 *    request is handled) from the owner or root; others are refused
 *    and audited.
 *
 * Time: deadlines are computed on CLOCK_BOOTTIME, which like
 * CLOCK_MONOTONIC cannot be set (changing the system clock neither extends
 * nor shortens a sandbox) and which also counts time spent suspended, so a
 * laptop that sleeps through the deadline expires the sandbox on resume.
 * The life thread waits on a CLOCK_MONOTONIC condition variable in slices
 * of at most LIFE_TICK_MS. The registry's wall-clock deadline is for
 * display only.
 *
 * extend: "extend N" sets deadline = now + N seconds (it may also shorten
 * it), but never past created + max_ttl: such a request is refused, not
 * clamped, and the error says the maximum and how much is left, e.g.
 * "extend past max_ttl 8h00m00s: at most 1h12m00s left". A sandbox
 * without a TTL, or one that has expired, cannot be extended.
 *
 * Locking: struct life is internal; every public function is thread-safe
 * except life_stop, which must be the last call.
 */
#ifndef SPOT_LIFE_H
#define SPOT_LIFE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"
#include "config.h"
#include "registry.h"
#include "spot.h"

#define LIFE_TICK_MS 1000	  /* longest single wait of the life thread */
#define LIFE_DAEMON_COMM "spotfs" /* /proc/PID/comm of a daemon */

struct life_info {		/* all borrowed during life_start only */
	const char *id;		/* sandbox id (REG_ID_LEN hex) */
	const char *mountpoint; /* absolute */
	const struct cfg *cfg;	/* source, path, digest, roles, ttl limits */
	uint64_t ttl;		/* seconds; 0 = none (cfg->allow_no_ttl) */
	const char *store_dir;	/* overlay store folder, or NULL */
	uid_t owner; /* = geteuid(): may use the control channel (and root) */
	const uint8_t *audit_seed; /* Ed25519 seed to sign with, or NULL */
};

struct life_ops { /* each may be NULL; see above for the thread */
	/* The deadline passed: refuse new opens, unmount lazily, end. */
	void (*expire)(void *arg);
	/* "unmount" over the control channel: unmount, end. */
	void (*unmount)(void *arg);
	/* Append daemon "key: value\n" lines (views built, open files,
	 * overlay bytes) to out for "status". Called on the control thread. */
	void (*status)(void *arg, struct spot_buf *out);
	/* The same as JSON members ("key":value, comma-separated, no outer
	 * braces) for "status json". */
	void (*status_json)(void *arg, struct spot_buf *out);
	/* Any other request (e.g. "export ..."), as a ctl_handler: 0 or
	 * -errno with the message in r; -ENOSYS: not one it knows. */
	int (*request)(void *arg, const char *req, uid_t uid, pid_t pid,
		       struct spot_buf *r);
};

struct life;

/*
 * The state folder for cfg: cfg->state_dir (created mode 0700 if missing;
 * it must be a folder, not a symlink, owned by the effective uid and not
 * writable by group or others), else reg_default_dir. cfg may be NULL.
 * 0 or -errno (-EPERM for a folder failing the checks).
 */
int life_state_dir(const struct cfg *cfg, char *buf, size_t len);

/*
 * Open the registry and the audit log in the state folder, insert the
 * registry row (state running, deadline, pid = getpid()), append and
 * commit the "mount" event, then start the control server (socket
 * "<ctl_runtime_dir(owner)>/<id>.sock") and the life thread. ops and arg
 * must outlive the life.
 * 0 or -errno with err set: -EINVAL (bad id, relative mount point, ttl 0
 * without allow_no_ttl, ttl past max_ttl), -EIO (audit or registry
 * failure: the sandbox must not be served), -EADDRINUSE, ... On failure
 * after the row was inserted, the row is ended ("unmounted", reason
 * "start failed").
 */
int life_start(const struct life_info *info, const struct life_ops *ops,
	       void *arg, struct life **out, struct spot_err *err);

/*
 * Append ev to the audit log. Fills ev->sandbox (when NULL) and leaves
 * time 0 (= now). With sync, waits until it is committed: use it for
 * events that gate data (open decisions). 0, or -EIO when the audit log is
 * unhealthy: the daemon must then refuse new opens (fail closed).
 */
int life_audit(struct life *l, struct aud_event *ev, bool sync);

/*
 * False while the audit log cannot be written (from a failed commit until
 * a retry succeeds: the log retries every AUD_RETRY_MS).
 */
bool life_healthy(const struct life *l);

/* Count an open refused because the audit log is failing (audit.h). */
void life_note_refusal(struct life *l);

/* Seconds left; 0 once expired; UINT64_MAX without a TTL. */
uint64_t life_remaining(const struct life *l);

/* True once the deadline has passed (and ops->expire was called). */
bool life_expired(const struct life *l);

/* The sandbox id (valid until life_stop). */
const char *life_id(const struct life *l);

/*
 * End the lifecycle: stop the life thread and the control server (the
 * socket file is removed), audit "unmount" with reason and its caller,
 * set the registry state (expired if the deadline passed, else unmounted)
 * with the reason, flush and close the audit log and the registry, and
 * free. reason is the daemon's own (a signal), or NULL when the session
 * simply ended: then it is "expired", "spotfs unmount" (announced over
 * the control channel with "unmounting" in the last LIFE_INTENT_MS: the
 * record names its uid, pid and process) or "unmounted by fusermount3 -u
 * or umount" (the kernel does not say by whom: uid and pid -1). After an
 * "unmount" request (spotfs unmount -z) the record names its caller,
 * with the daemon's reason. NULL l is a no-op. Not from an ops callback.
 */
void life_stop(struct life *l, const char *reason);

/* The process name (/proc/PID/comm) of pid into buf; "" if unknown. */
void life_proc_comm(pid_t pid, char *buf, size_t len);

/* ---- crash clean-up (life_gc.c) ---- */

enum life_daemon {
	LIFE_DAEMON_ALIVE = 0, /* the recorded pid is its spotfs daemon */
	LIFE_DAEMON_DEAD,    /* no such process or a zombie (kill -9, reboot) */
	LIFE_DAEMON_FOREIGN, /* the pid now belongs to another program */
};

/*
 * Whether sb's daemon still runs: its pid exists and is not a zombie, is
 * named LIFE_DAEMON_COMM and started no later than the sandbox was created
 * (pids are reused, e.g. after a restart). When /proc cannot be read the
 * answer is "alive": gc never cleans what it cannot judge.
 */
enum life_daemon life_daemon_check(const struct reg_sandbox *sb);

/* Whether a fuse.spotfs file system is mounted on mountpoint. */
bool life_mount_present(const char *mountpoint);

/*
 * Clean up every sandbox of owner (-1: all) in reg whose daemon is gone
 * (dead or foreign pid) and whose record is unfinished (running or
 * crashed); of a finished record (unmounted, expired, gc) only a store
 * folder still there is removed, its state and end are kept. Each record
 * is re-read by id before it is touched and left alone if its pid or
 * state changed meanwhile. For each: lazily unmount a stale fuse.spotfs
 * mount (umount2(MNT_DETACH) as root, else `fusermount3 -u -z`) only when
 * it is the newest unfinished record on that mount point and no live
 * sandbox uses it now (a dead FUSE mount does not name its daemon, and an
 * old record must never collect a later crash); remove the store
 * folder (only a real folder named by the sandbox id and owned by the
 * owner; its regular files, then the folder; never following symlinks);
 * remove a stale control socket; set the registry state "gc" with a reason
 * and audit "gc" once (aud may be NULL). With dry_run, only report.
 * One line per action is appended to report. *ncleaned (may be NULL) gets
 * the number of sandboxes handled. 0, or the first -errno (the other
 * sandboxes are still handled).
 */
int life_gc(struct reg_db *reg, struct aud_log *aud, int64_t owner,
	    bool dry_run, struct spot_buf *report, unsigned *ncleaned);

#endif /* SPOT_LIFE_H */
