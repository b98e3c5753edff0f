/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon_i.h - state shared by the daemon's source files (fs/ only).
 *
 * The mount is a union of two layers addressed by one inode space:
 *   lower - the source as the policy shows it (ns.h): folders, masked views
 *           and passed-through files; read-only, built from the source.
 *   upper - the encrypted overlay (ovl.h): everything created or changed in
 *           the sandbox. Names and metadata in memory, contents in seal.
 * An inode number is looked up in the overlay first. Copy-up gives the
 * upper node the lower node's inode number, so an inode never changes
 * number when it is written; a lower folder that gets an upper twin keeps
 * both, and its listing merges the two (upper entries and whiteouts win).
 *
 * Per-role overlay (the default; "overlay: shared" turns it off): every
 * role has its own upper tree, so names, whiteouts and bytes written by one
 * role never reach another. Inode numbers never mean different things to
 * different roles: each tree hands out its own range (DMN_UPPER_INO_BASE
 * times the tree's index plus one), and lower files and views are keyed by
 * the caller's role in ns, so a copy-up takes over an inode only its own
 * role was ever given. Lower folders alone are shared inodes (their upper
 * twins keep no kernel lookups: ns counts them). The kernel's dentry cache
 * is shared by every caller, so entries are replied with entry_timeout 0
 * (and folders with attr_timeout 0): every path walk asks again, as the
 * caller; open, getattr and the rest check the caller's role by inode.
 */
#ifndef SPOT_DAEMON_I_H
#define SPOT_DAEMON_I_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <fuse_lowlevel.h>

#include "daemon.h"
#include "ns.h"
#include "ovl.h"
#include "plan.h"
#include "quota.h"
#include "sandbox.h"
#include "life.h"
#include "seal.h"

/* Attribute and entry timeouts, seconds. */
#define DMN_TTL_VIEW 3600.0 /* views are immutable within a sandbox */
#define DMN_TTL_SOURCE 1.0  /* folders and passed-through files may change */
#define DMN_TTL_UPPER 1.0   /* overlay entries */
#define DMN_TTL_ROLE 0.0    /* per-role overlay: anything shared by name */
#define DMN_NAME_MAX 255
#define DMN_IO_MAX (1u << 20) /* largest read or copy chunk */
/* Inode numbers the overlay hands out start here (lower ones are small). */
#define DMN_UPPER_INO_BASE ((uint64_t)1 << 40)
/* Readdir offsets at or above this address the lower listing. */
#define DMN_LOWER_OFF OVL_COOKIE_MAX

struct dmn {
	struct sbx *sbx;
	struct ns *ns;
	struct fuse_session *se;
	struct seal_store *store;
	struct ovl_tree **ovls; /* per role: cfg->roles[i], then default_role */
	size_t novls;		/* 1 when the overlay is shared */
	bool per_role;		/* !cfg->overlay_shared */
	char *store_dir;	/* this sandbox's store folder */
	uid_t owner;		/* the mounting user: owns every lower entry */
	gid_t owner_gid;
	pthread_mutex_t cu_lock; /* serialises copy-up */
	uint64_t open_files;	 /* atomic */
	struct life *life;	 /* registry, audit log, TTL, control channel */
	pthread_t main_thread;	 /* runs the FUSE loop; signalled to end it */
	int ending; /* atomic: expiry or unmount under way, refuse opens */
	const char *end_reason; /* why the session ended, or NULL */
	const char *mountpoint; /* absolute; read-only after mount */
	int ra_tuned;		/* atomic: read-ahead raised (first request) */
	dev_t mnt_dev; /* atomic: the mount's device, 0 until the first request */
	pthread_mutex_t fh_lock; /* protects fhs */
	struct dmn_fh
		*fhs; /* open handles: freed at teardown if never released */
	struct dmn_dir *dirs;	/* open folders (daemon_dir.c), the same */
	uint64_t build_waiters; /* atomic: requests waiting on builds */
	/* export review (export.c): the recorder the builds feed, its
	 * hooks, and the bytes released so far (control thread only). */
	struct xrec *xrec;
	struct plan_record rec_hooks;
	uint64_t exported_bytes;
	struct qta *quota;     /* per-role read quotas (quota.h) */
	struct ledger *ledger; /* the epsilon ledger (daemon_dp.c), or NULL */
	/* While spotfs export reads (control thread): the exporter's role,
	 * whose charges decide the daemon's own opens of DP releases
	 * (atomic; NULL otherwise). */
	const char *dp_export_role;
	/* prebuild (daemon_build.c) */
	pthread_t pre_thread;
	bool pre_started;
	int pre_ready_fd; /* mount --wait: readiness goes after the builds */
	const struct dmn_opts *pre_opts;
};

/* FUSE worker threads at most; of them, at most this many wait on view
 * builds (the rest serve everything else). */
#define DMN_MAX_THREADS 64
#define DMN_BUILD_WAITERS_MAX (DMN_MAX_THREADS - 16)

/* A caller waiting this long on a build is shown by status. */
#define DMN_WAIT_SHOWN_MS 2000

/* Send the detached daemon's log where it goes (--log, syslog, or the
 * state folder's spotfs.log). */
void dmn_log_detach(const struct dmn_opts *opts);
/* Free the folders still open when the session ended (daemon_dir.c). */
struct dmn_dir;
void dmn_dirs_free_all(struct dmn *d);
/* Tell the waiting parent the mount is ready (or not) and detach. */
void dmn_ready(int fd, const struct dmn_opts *opts, bool ok);

/* daemon_build.c: spill views to the store; 0 or -errno with err set. */
int dmn_views_setup(struct dmn *d, struct spot_err *err);
/* Build every view of the default role on a low-priority thread. */
int dmn_prebuild_start(struct dmn *d);
void dmn_prebuild_join(struct dmn *d);
/* The views part of status, as text lines or JSON members. */
void dmn_views_status(struct dmn *d, struct spot_buf *out, bool json);

struct aud_event;

/* Who is asking: credentials and role of a request. */
struct dmn_caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	/* Every supplementary group, in a buffer of the request's thread:
	 * valid until that thread asks again (NULL in a copy kept past the
	 * request, fh->who). */
	const gid_t *groups;
	size_t ngroups;
	const char *role;
};

/* Per-open state (fi->fh). Exactly one of view, fd >= 0, up is set. */
struct dmn_fh {
	struct vc_view *view;	    /* a lower masked view */
	int fd;			    /* a lower passed-through file */
	struct ovl_node *up;	    /* an overlay file */
	struct ovl_tree *ovl;	    /* the tree of up */
	char *opath;		    /* up's audit path at open */
	uint64_t bytes_read;	    /* atomic */
	uint64_t bytes_written;	    /* atomic */
	const struct ns_node *low;  /* the lower node opened (for the audit) */
	struct dmn_caller who;	    /* the opener (for the audit at release) */
	struct dmn_fh *next, *prev; /* dmn.fhs, protected by dmn.fh_lock */
	/* fd's identity at open (srcdir.h): checked before every read. */
	struct src_id pin;
	/* A masked view's open: reads count against qref (quota.h). */
	bool counted;
	struct qta_ref qref;
};

/* ---- differential privacy (daemon_dp.c) ---- */
/* The ledger of a config with dp_budget:. 0 or -errno with err set. */
int dmn_dp_setup(struct dmn *d, struct spot_err *err);
void dmn_dp_fini(struct dmn *d);
/*
 * Whether lower view n is a DP release role (c, when the daemon itself
 * asks for spotfs export) has not been charged for: it is neither built
 * nor is its size shown.
 */
bool dmn_dp_hidden(struct dmn *d, const struct ns_node *n, const char *role,
		   const struct dmn_caller *c);
/*
 * Opening lower view n for c: a DP release is charged to c's role
 * (audited as dp_charge) before it is built, and read with direct I/O;
 * *rel gets the identity charged, which the built view must have. 0,
 * -EDQUOT (over the budget) or -EIO.
 */
int dmn_dp_open(struct dmn *d, const struct ns_node *n,
		const struct dmn_caller *c, uint8_t rel[32],
		struct fuse_file_info *fi);
/* The budget part of status, as text lines or a JSON member. */
void dmn_dp_status(struct dmn *d, struct spot_buf *out, bool json);
/* What role spent and may spend (nano-epsilon); -ENOENT: no ledger. */
int dmn_dp_role_use(struct dmn *d, const char *role, uint64_t *spent,
		    uint64_t *per_role);
/*
 * Whether name in folder parent is a DP release's place: anything in
 * _dp/, _dp itself, a synthetic table's files. Never written, removed,
 * renamed or linked, in any overlay (EROFS): no role forges a release.
 */
bool dmn_dp_reserved(struct dmn *d, uint64_t parent, const char *name);
/* The path of lower node n as the mount shows it (for the audit log). */
void dmn_node_path(struct dmn *d, const struct ns_node *n, char *buf,
		   size_t len);
/* The "synthetic ROLE DATASET" control request: the utility report. */
int dmn_dp_request(struct dmn *d, const char *req, struct spot_buf *r);

/* ---- quotas (daemon_quota.c) ---- */

/*
 * Opening masked view n for c: 0, or -EDQUOT (the first refusal of a
 * quota audited as quota_exceeded). Sets fh's counting and, when a
 * read_bytes limit applies, direct I/O in fi (so the page cache cannot
 * serve reads the daemon never counts).
 */
int dmn_quota_open(struct dmn *d, const struct ns_node *n,
		   const struct dmn_caller *c, struct dmn_fh *fh,
		   struct fuse_file_info *fi);
/*
 * A copy-up of masked view n by c, bytes long (0: without its data): an
 * open and all its bytes at once (qta_copy). 0 or -EDQUOT (audited once).
 * Only dmn_copy_up calls it: every copy-up of a view is charged there.
 */
int dmn_quota_copy(struct dmn *d, const struct ns_node *n,
		   const struct dmn_caller *c, uint64_t bytes);
/* Before a read through fh: 0 or -EDQUOT (audited once). */
int dmn_quota_read(struct dmn *d, struct dmn_fh *fh);
/* After n bytes of fh were served. */
void dmn_quota_served(struct dmn *d, struct dmn_fh *fh, uint64_t n);

/*
 * The caller of req, with all its groups, and its role: 0, or -EIO when
 * its groups cannot be read (audited; the request must fail, never run
 * with fewer groups, which could mean another role).
 */
int dmn_caller_get(struct dmn *d, fuse_req_t req, struct dmn_caller *c);
/*
 * Every supplementary group of the caller of req into c->groups (a buffer
 * of this thread, valid until it asks again): 0 or -errno.
 */
int dmn_caller_groups(fuse_req_t req, struct dmn_caller *c);

/*
 * Passthrough entries (default: show) are read as the caller, with the
 * source's own checks (srcdir.h, src_cred_enter). A handler names its
 * caller for this thread with dmn_act_begin and clears it with
 * dmn_act_end before replying; without one, the daemon reads as itself.
 */
void dmn_act_begin(fuse_req_t req, const struct dmn_caller *c);
void dmn_act_end(void);
/*
 * Open passthrough file n (sbx_pass_open) as this thread's caller, and
 * only if it is the file n's last attributes came from (else -ESTALE:
 * the kernel looks it up again). pin may be NULL.
 */
int dmn_pass_open(struct dmn *d, const struct ns_node *n, int *fd,
		  struct src_id *pin);

/* ---- per-role overlay (daemon_write.c) ---- */

/* The overlay tree of role (the only one when the overlay is shared). */
struct ovl_tree *dmn_ovl(struct dmn *d, const char *role);
/*
 * The caller of req (into c) and its overlay tree; NULL when the caller
 * cannot be told (dmn_caller_get): reply EIO.
 */
struct ovl_tree *dmn_ovl_req(struct dmn *d, fuse_req_t req,
			     struct dmn_caller *c);
/*
 * The tree whose node ino holds kernel lookups (for forget), or NULL when
 * ns holds them all (lower folders in a per-role overlay).
 */
struct ovl_tree *dmn_ovl_of_ino(struct dmn *d, uint64_t ino);
/* Whether lower node n may be served to role (per-role keys match). */
bool dmn_lower_for(struct dmn *d, const struct ns_node *n, const char *role);
/* The view cache key of lower view n ("" when it masks alike for all). */
const char *dmn_view_key(const struct ns_node *n);
/* Entry and attribute timeouts of an overlay node. */
double dmn_upper_entry_ttl(struct dmn *d);
double dmn_upper_attr_ttl(struct dmn *d, struct ovl_node *n);
/*
 * The audit path of the overlay entry name in folder dir of tree t (name
 * NULL: dir itself): "ovl:" and 16 hex digits of a keyed hash of the full
 * path, or the path itself when it names a configured dataset.
 */
void dmn_ovl_path(struct dmn *d, struct ovl_tree *t, struct ovl_node *dir,
		  const char *name, char *buf, size_t len);

/* ---- lower layer (daemon_ops.c) ---- */

/*
 * Find name in the lower folder p as caller c sees it: the visible source
 * entry (counting one kernel lookup on its node) and its source stat.
 * -ENOENT for hidden or missing names, -ENAMETOOLONG.
 */
int dmn_lower_lookup(struct dmn *d, const struct ns_node *p, const char *name,
		     const struct dmn_caller *c, struct ns_node **out,
		     struct stat *src);
/* Whether the lower folder p shows name (no lookup counted). */
bool dmn_lower_has(struct dmn *d, const struct ns_node *p, const char *name,
		   bool *is_dir);
/* Whether lower node n is a folder (a source folder or a table folder). */
bool dmn_lower_is_dir(const struct ns_node *n);
/* Call fn for every entry lower folder p shows; stops at fn's non-zero. */
typedef int (*dmn_child_fn)(void *arg, const char *name, bool is_dir);
int dmn_lower_children(struct dmn *d, const struct ns_node *p, dmn_child_fn fn,
		       void *arg);
/*
 * Attributes of a lower node as served. With wait, a view is built (or its
 * build waited for) first; without, it never waits. A view that is not
 * ready (building, failed, or not built: size 0) sets *unready if given:
 * answer it with attr timeout 0, so the kernel asks again (getattr waits
 * for that view only) before it trusts the size.
 */
int dmn_lower_attr(struct dmn *d, const struct ns_node *n, const char *role,
		   bool wait, bool *unready, struct stat *st);
/*
 * Audit the decision rc on opening lower file n for c (why: a detail, or
 * NULL); allowed opens wait for the commit. -EIO if it cannot be recorded.
 */
int dmn_audit_open(struct dmn *d, const struct ns_node *n,
		   const struct dmn_caller *c, int rc, const char *why);
/* Whether caller c may open lower view n: 0, -EACCES or -EIO. */
int dmn_view_access(struct dmn *d, const struct ns_node *n,
		    const struct dmn_caller *c);
/* Entry and attribute timeouts of a lower node. */
double dmn_lower_timeout(struct dmn *d, const struct ns_node *n);
double dmn_lower_attr_timeout(struct dmn *d, const struct ns_node *n);

/* ---- upper layer (daemon_write.c) ---- */

/*
 * Open (or create) overlay file up into fh for c: audited (queued, not
 * waited for), then fh holds up, its tree, c and up's audit path. 0, or
 * -EIO when the audit log is down, -ENOMEM; fh is unchanged on failure.
 */
int dmn_fh_open_upper(struct dmn *d, struct dmn_fh *fh, struct ovl_tree *t,
		      struct ovl_node *up, const struct dmn_caller *c,
		      bool writing);

/* Reply to an entry request with overlay node n (holding one reference). */
void dmn_reply_upper_entry(struct dmn *d, struct ovl_tree *t, fuse_req_t req,
			   struct ovl_node *n);
/*
 * The overlay folder standing for merged folder ino, made (with the lower
 * folder's inode number, and its parents first) if it does not exist yet.
 * 0 or -errno.
 */
int dmn_upper_dir(struct dmn *d, struct ovl_tree *t, uint64_t ino,
		  struct ovl_node **out);
/*
 * Copy lower file ino up into c's overlay t (with its masked bytes unless
 * with_data is false) and return the overlay node. The one way a lower
 * file reaches the overlay (open for writing, truncate, chmod and other
 * setattr, link, rename of either name, setxattr): a masked view copied up
 * is read whole by c, so it is an open of the view, decided, charged and
 * audited as one (allow: and access(), the quotas with all its bytes,
 * an open record with detail "copy-up") before a byte is copied. 0,
 * -EACCES, -EDQUOT, -EPERM for a view that masks differently by role,
 * -EROFS for a DP release, -EIO, -ENOMEM.
 */
int dmn_copy_up(struct dmn *d, struct ovl_tree *t, const struct dmn_caller *c,
		uint64_t ino, bool with_data, struct ovl_node **out);

/*
 * Record an event in the audit log (never a row value). sync waits for the
 * commit; events that gate data (opens) are sync. -EIO when the audit log
 * cannot be written: the caller fails closed.
 */
int dmn_audit(struct dmn *d, struct aud_event *ev, const struct dmn_caller *c,
	      bool sync);
/* Track an open handle / stop tracking it (before freeing it). */
void dmn_fh_track(struct dmn *d, struct dmn_fh *fh);
void dmn_fh_untrack(struct dmn *d, struct dmn_fh *fh);
/* Untrack, close and free a handle counted in open_files. */
void dmn_fh_close(struct dmn *d, struct dmn_fh *fh);
/* Free handles the kernel never released (the session ended). */
void dmn_fh_free_all(struct dmn *d);
/* Raise the mount's read-ahead (daemon.c); once, after INIT. */
void dmn_tune_readahead(const char *mountpoint, dev_t *dev);
/* Whether new opens must be refused (ending, or the audit log is down: the
 * caller refuses one, and it is counted for the outage record). */
bool dmn_closing(struct dmn *d);
/* Whether the session is ending: reads fail (EIO) from then on. */
bool dmn_ending(struct dmn *d);

extern const struct fuse_lowlevel_ops dmn_ops;

/* Handlers defined in daemon_dir.c and daemon_write.c. */
void dmn_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dmn_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi);
void dmn_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dmn_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		 struct fuse_file_info *fi);
void dmn_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       dev_t rdev);
void dmn_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
	       mode_t mode);
void dmn_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void dmn_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void dmn_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		 const char *name);
void dmn_readlink(fuse_req_t req, fuse_ino_t ino);
void dmn_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		fuse_ino_t newparent, const char *newname, unsigned int flags);
void dmn_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	      const char *newname);
void dmn_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, struct fuse_file_info *fi);
void dmn_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		   off_t length, struct fuse_file_info *fi);
void dmn_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags);
void dmn_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size);
void dmn_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void dmn_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif /* SPOT_DAEMON_I_H */
