/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * registry.h - the sandbox registry: one SQLite database that records every
 * sandbox (live or ended) so that `spotfs list`, `status`, `extend` and `gc`
 * can find them, across processes and across reboots.
 *
 * The database lives outside any mount, in the state folder (see
 * reg_default_dir). Several daemons and CLIs use the same file at once: it is
 * opened in WAL mode with a busy timeout (REG_BUSY_TIMEOUT_MS), and every
 * write is one short IMMEDIATE transaction. The file is created mode 0600.
 *
 * Locking: a struct reg_db holds one SQLite connection guarded by an internal
 * mutex, so one handle may be shared by threads; calls are serialised.
 *
 * Nothing here is personal data: ids, paths, uids, times and states only.
 */
#ifndef SPOT_REGISTRY_H
#define SPOT_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define REG_DB_NAME "registry.db" /* file name inside the state folder */
#define REG_ID_LEN 16		  /* hex characters in a sandbox id */
#define REG_DIGEST_HEX_LEN 64	  /* hex characters of a BLAKE2b-256 digest */
#define REG_BUSY_TIMEOUT_MS 5000

enum reg_state {
	REG_RUNNING = 0, /* daemon alive (as far as the registry knows) */
	REG_UNMOUNTED,	 /* ended by unmount or a signal */
	REG_EXPIRED,	 /* ended by its TTL */
	REG_CRASHED,	 /* daemon found dead by gc/list; not yet cleaned */
	REG_GC,		 /* cleaned up by spotfs gc */
};

/*
 * One sandbox. As input (reg_insert) the strings are borrowed from the
 * caller. As output (reg_get, reg_get_by_mount) they are heap copies owned by
 * the struct: release with reg_sandbox_fini. In reg_list callbacks the struct
 * and its strings are valid only during the call.
 */
struct reg_sandbox {
	char id[REG_ID_LEN + 1]; /* random, lower-case hex */
	uid_t owner;
	char *mountpoint;			    /* absolute */
	char *source;				    /* absolute source folder */
	char *config_path;			    /* absolute */
	char config_digest[REG_DIGEST_HEX_LEN + 1]; /* hex, "" if unknown */
	int64_t created;			    /* unix seconds */
	int64_t deadline; /* unix seconds; 0 = no deadline */
	pid_t pid;	  /* the daemon */
	char *store_dir;  /* overlay store folder, removed on clean-up */
	enum reg_state state;
	char *end_reason; /* "" while running */
	int64_t ended;	  /* unix seconds; 0 while running */
};

struct reg_db;

/*
 * The default state folder, holding the registry and the audit log:
 * $SPOTFS_STATE_DIR if set and non-empty; else /var/lib/spotfs when running
 * as root (euid 0); else $XDG_STATE_HOME/spotfs if XDG_STATE_HOME is an
 * absolute path; else $HOME/.local/state/spotfs (HOME from the password
 * database when unset). Missing folders are created mode 0700. The final
 * folder must be a directory owned by the effective uid and not writable by
 * group or others.
 * 0, -ENAMETOOLONG (buf too small), -ENOENT (no home), -ENOTDIR, -EPERM
 * (wrong owner or mode; logged) or another -errno from mkdir.
 */
int reg_default_dir(char *buf, size_t len);

/* A fresh random sandbox id (REG_ID_LEN hex chars + NUL). 0 or -errno. */
int reg_new_id(char id[REG_ID_LEN + 1]);

/*
 * Open (creating if needed, mode 0600) the registry at path and make sure
 * the schema exists. 0 or -errno (-EIO for SQLite errors, logged). Free with
 * reg_close.
 */
int reg_open(const char *path, struct reg_db **out);
/* Close the connection. NULL is a no-op. */
void reg_close(struct reg_db *db);

/*
 * Add a sandbox. Its state and end fields are taken from sb (normally
 * REG_RUNNING, NULL/"" and 0). -EEXIST if the id is already there, -EINVAL
 * for a malformed id or missing paths, -EIO/-EBUSY on database errors.
 */
int reg_insert(struct reg_db *db, const struct reg_sandbox *sb);

/* Move the deadline. 0, -ENOENT (no such id) or -errno. */
int reg_update_deadline(struct reg_db *db, const char *id, int64_t deadline);

/*
 * Set the state and end reason (reason may be NULL). Leaving REG_RUNNING
 * stamps the ended time (once: a later transition, e.g. crashed -> gc,
 * keeps the first time). 0, -ENOENT or -errno.
 */
int reg_set_state(struct reg_db *db, const char *id, enum reg_state state,
		  const char *reason);

/* One sandbox by id. 0, -ENOENT or -errno; on 0 fini *out. */
int reg_get(struct reg_db *db, const char *id, struct reg_sandbox *out);

/*
 * The sandbox at a mount point: the running one if any, else the most
 * recently created. 0, -ENOENT or -errno; on 0 fini *out.
 */
int reg_get_by_mount(struct reg_db *db, const char *mountpoint,
		     struct reg_sandbox *out);

/*
 * Called per sandbox, oldest first; a non-zero return stops the listing and
 * is returned by reg_list. The database lock is held during the call: do
 * not call back into the same reg_db (collect ids and act afterwards).
 */
typedef int (*reg_list_fn)(const struct reg_sandbox *sb, void *arg);

/*
 * Every sandbox of owner (or of everyone when owner is -1), in any state.
 * 0, the callback's non-zero value, or -errno.
 */
int reg_list(struct reg_db *db, int64_t owner, reg_list_fn fn, void *arg);

/* Free the strings of a struct filled by reg_get/reg_get_by_mount. */
void reg_sandbox_fini(struct reg_sandbox *sb);

/* "running", "unmounted", "expired", "crashed", "gc". */
const char *reg_state_name(enum reg_state s);
/* Parse a state name. 0 or -EINVAL. */
int reg_state_parse(const char *name, enum reg_state *out);

/* ---- SQLite helpers shared with the audit log (audit_*.c) ---- */

struct sqlite3;

/*
 * Open an SQLite database for spotfs state. Unless readonly, a missing file
 * is first created mode 0600 (O_NOFOLLOW; SQLite then gives its -wal and -shm
 * files the same mode). Sets busy_timeout to busy_ms and, unless readonly,
 * journal_mode=WAL and synchronous=NORMAL. 0 or -errno (logged with path).
 */
int reg_sqlite_open(const char *path, int readonly, int busy_ms,
		    struct sqlite3 **out);

/* Map an SQLite result code to a negative errno (-EBUSY, -ENOSPC, ...). */
int reg_sqlite_errno(int rc);

#endif /* SPOT_REGISTRY_H */
