/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon.c - mount life cycle: fork, mount, report readiness to the CLI,
 * serve, unmount and wipe.
 *
 * Order matters: the process forks before anything creates a thread or
 * locks key memory (neither survives fork), mounts, builds the sandbox
 * (keys, policies), and only then tells the waiting parent "ready". A
 * failure at any step reaches the parent as a non-zero exit and a message
 * on the terminal, and leaves no mount behind.
 */

#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/openat2.h>
#include <sodium.h>

#include "daemon_i.h"
#include "export.h"
#include "fault.h"
#include "manifest.h"

#define DMN_READAHEAD_KB 1024
#define DMN_IDLE_THREADS 4
/*
 * A request waiting for a view's build (getattr or open of that view)
 * holds its thread until the build ends; the others are served by the
 * rest (DMN_MAX_THREADS, DMN_BUILD_WAITERS_MAX in daemon_i.h). Threads are
 * started on demand and cost little while they wait.
 */

/*
 * Raise the mount's read-ahead (root only): the kernel otherwise caps FUSE
 * reads at 128 KiB, and larger reads roughly halve the per-byte cost. The
 * device number comes from mountinfo: stat() of the mount point would wait
 * for this very daemon. Called on the first request after INIT, because
 * the kernel sets read-ahead from the INIT reply (it can only lower it).
 */
void dmn_tune_readahead(const char *mountpoint, dev_t *dev)
{
	char real[PATH_MAX], line[4096], path[128];
	unsigned maj, min;
	FILE *f;
	int found = 0;

	if (geteuid() != 0 || !realpath(mountpoint, real))
		return;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (!found && fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX];

		/* "id parent major:minor root mountpoint ..." */
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mp) ==
			    3 &&
		    strcmp(mp, real) == 0 && strstr(line, " fuse.spotfs "))
			found = 1;
	}
	fclose(f);
	if (!found)
		return;
	__atomic_store_n(dev, makedev(maj, min), __ATOMIC_RELEASE);
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", maj,
		 min);
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%d\n", DMN_READAHEAD_KB);
	fclose(f);
}

static int dmn_session_new(struct dmn *d, const struct dmn_opts *opts,
			   const char *source)
{
	char fsname[512];
	const char *argv[8];
	int argc = 0;
	struct fuse_args args;
	struct fuse_lowlevel_ops ops;

	snprintf(fsname, sizeof(fsname),
		 "-ofsname=spotfs,subtype=spotfs,default_permissions%s",
		 opts->allow_other ? ",allow_other" : "");
	(void)source;
	argv[argc++] = "spotfs";
	argv[argc++] = fsname;
	if (opts->debug)
		argv[argc++] = "-d";
	args.argc = argc;
	args.argv = (char **)argv;
	args.allocated = 0;
	if (dmn_meta_ops(&ops))
		return -EINVAL;
	d->se = fuse_session_new(&args, &ops, sizeof(ops), d);
	fuse_opt_free_args(&args);
	return d->se ? 0 : -EIO;
}

/* The state folder's log file (set at mount), for a detached daemon
 * without --log when no syslog daemon listens. */
static char dmn_log_fallback[PATH_MAX];

/* The syslog socket: /dev/log ($SPOTFS_SYSLOG_SOCKET for tests). */
static const char *dmn_syslog_socket(void)
{
	const char *e = getenv("SPOTFS_SYSLOG_SOCKET");

	return e && e[0] == '/' ? e : "/dev/log";
}

/* The --log file, opened by dmn_mount before the daemon detaches. */
static int dmn_log_fd = -1;

/*
 * Open the log file at path for appending as a daemon (often root) may:
 * never through a symlink, in any component of the path (openat2's
 * RESOLVE_NO_SYMLINKS: a link to a folder another user controls would
 * let them choose where root writes), never a FIFO or device (opened
 * without blocking, then refused), never a file of another user (who
 * could read the log, or had it append to a file they chose) or one with
 * other hard links (a link to a file root did not choose). A new file is
 * 0600; an existing one of the daemon's user readable or writable by
 * others is made 0600, since the log tells the datasets, roles, readers'
 * uids and rows served. The fd, or -errno with why in msg.
 */
static int dmn_log_open(const char *path, char *msg, size_t len)
{
	struct open_how how = {
		.flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
			 O_NOFOLLOW | O_NOCTTY | O_NONBLOCK,
		.mode = 0600,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	struct stat st;
	int rc = 0;

	if (fd < 0) {
		rc = -errno;
		snprintf(msg, len, "%s",
			 rc == -ELOOP ? "a symbolic link: refused (no folder "
					"of the path may be one either)"
			 : rc == -ENXIO
				 ? "not a regular file (a FIFO or a device): "
				   "refused"
				 : strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		snprintf(msg, len, "%s", strerror(-rc));
	} else if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(msg, len, "not a regular file: refused");
	} else if (st.st_uid != geteuid()) {
		rc = -EPERM;
		snprintf(msg, len,
			 "owned by uid %lu, not by the daemon's user (uid "
			 "%lu): refused",
			 (unsigned long)st.st_uid, (unsigned long)geteuid());
	} else if (st.st_nlink > 1) {
		rc = -EPERM;
		snprintf(msg, len, "a file with other hard links: refused");
	} else if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600)) {
		rc = -errno;
		snprintf(msg, len, "cannot make it mode 0600: %s",
			 strerror(-rc));
	} else if (fcntl(fd, F_SETFL, O_APPEND) < 0) { /* blocking again */
		rc = -errno;
		snprintf(msg, len, "%s", strerror(-rc));
	}
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/* Stderr to the log file fd (kept open), each line stamped. */
static void dmn_log_to_fd(int fd)
{
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		return;
	spot_log_use_stamps(1);
}

/* Log to the file at path (appended, 0600), each line stamped. */
static void dmn_log_to(const char *path)
{
	char msg[256];
	int lfd = dmn_log_open(path, msg, sizeof(msg));

	if (lfd < 0)
		return;
	dmn_log_to_fd(lfd);
	close(lfd);
}

void dmn_log_detach(const struct dmn_opts *opts)
{
	if (opts->log_path && dmn_log_fd >= 0)
		dmn_log_to_fd(dmn_log_fd);
	else if (opts->log_path)
		dmn_log_to(opts->log_path); /* opened by dmn_mount, normally */
	else if (spot_log_syslog_listens(dmn_syslog_socket()))
		spot_log_use_syslog(1); /* syslog, or the journal behind it */
	else if (dmn_log_fallback[0])
		/* No syslog daemon (a container, a minimal machine): the
		 * state folder's log file, never nowhere. */
		dmn_log_to(dmn_log_fallback);
}

void dmn_ready(int fd, const struct dmn_opts *opts, bool ok)
{
	int devnull;

	if (fd < 0)
		return;
	if (write(fd, ok ? "1" : "0", 1) != 1)
		spot_log(SPOT_LOG_WARN, "cannot report readiness: %s",
			 strerror(errno));
	close(fd);
	if (!ok)
		return;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		if (!opts->log_path)
			dup2(devnull, STDERR_FILENO);
		close(devnull);
	}
	dmn_log_detach(opts);
}

/*
 * The overlay store folder: the config's store:, else /var/tmp/spotfs for
 * root, else $XDG_RUNTIME_DIR/spotfs-store, else /var/tmp/spotfs-UID; one
 * subfolder per sandbox, named by its id.
 */
static int dmn_store_path(const struct cfg *cfg, const char *id, char *buf,
			  size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char root[PATH_MAX], canon[PATH_MAX];
	int n;

	if (cfg->store)
		snprintf(root, sizeof(root), "%s", cfg->store);
	else if (geteuid() == 0)
		snprintf(root, sizeof(root), "/var/tmp/spotfs");
	else if (xdg && *xdg)
		snprintf(root, sizeof(root), "%s/spotfs-store", xdg);
	else
		snprintf(root, sizeof(root), "/var/tmp/spotfs-%u",
			 (unsigned)geteuid());
	if (mkdir(root, 0700) && errno != EEXIST)
		return -errno;
	/* Recorded as a canonical path: gc matches it after a crash. */
	if (!realpath(root, canon))
		return -errno;
	n = snprintf(buf, len, "%s/%s", canon, id);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static int dmn_overlay_open(struct dmn *d, struct spot_err *err)
{
	struct ovl_tree_opts o;
	char path[PATH_MAX];
	int rc;

	rc = dmn_store_path(d->sbx->cfg, d->sbx->id, path, sizeof(path));
	if (!rc)
		rc = seal_store_open(path, NULL, &d->store);
	if (!rc)
		flt_set_dir(FLT_DIR_STORE, path);
	if (rc) {
		spot_err_set(err, "cannot create the overlay store %s: %s",
			     path, strerror(-rc));
		return rc;
	}
	d->store_dir = strdup(path);
	/*
	 * One tree per role (then one for the default role), or one shared.
	 * Without roles everyone has the default role: one tree, and the
	 * kernel may cache entries as before.
	 */
	d->per_role = !d->sbx->cfg->overlay_shared && d->sbx->cfg->nroles;
	d->novls = d->per_role ? d->sbx->cfg->nroles + 1 : 1;
	d->ovls = calloc(d->novls, sizeof(*d->ovls));
	rc = d->ovls ? 0 : -ENOMEM;
	for (size_t i = 0; !rc && i < d->novls; i++) {
		memset(&o, 0, sizeof(o));
		o.root_ino = NS_ROOT_INO;
		o.root_mode = 0755;
		o.root_uid = d->owner;
		o.root_gid = d->owner_gid;
		o.ino_base = DMN_UPPER_INO_BASE * (i + 1); /* disjoint ranges */
		rc = ovl_tree_new(d->store, &o, &d->ovls[i]);
	}
	if (rc || !d->store_dir) {
		spot_err_set(err, "cannot create the overlay: %s",
			     strerror(rc ? -rc : ENOMEM));
		return rc ? rc : -ENOMEM;
	}
	return 0;
}

/* Discard the overlay: contents, names and the key. */
static void dmn_overlay_close(struct dmn *d)
{
	for (size_t i = 0; d->ovls && i < d->novls; i++)
		ovl_tree_free(d->ovls[i]);
	free(d->ovls);
	if (d->store)
		seal_store_close(d->store, true);
	free(d->store_dir);
	d->ovls = NULL;
	d->novls = 0;
	d->store = NULL;
	d->store_dir = NULL;
}

/* ---- lifecycle callbacks (life.h; they run on life's thread) ---- */

static void dmn_inval_list(struct dmn *d, uint64_t *inos, size_t n)
{
	for (size_t i = 0; inos && i < n; i++)
		fuse_lowlevel_notify_inval_inode(d->se, inos[i], 0, 0);
	free(inos);
}

/*
 * Drop the page cache and attributes of every inode the kernel may know,
 * so a held descriptor or a mapping has to ask again, and gets EIO (reads
 * fail once ending is set). Not from a request handler: the kernel may
 * wait for reads in flight, which the loop must still answer.
 */
static void dmn_inval_all(struct dmn *d)
{
	uint64_t *inos = NULL;
	size_t n = 0;

	if (!ns_inos(d->ns, &inos, &n))
		dmn_inval_list(d, inos, n);
	for (size_t i = 0; i < d->novls; i++)
		if (!ovl_inos(d->ovls[i], &inos, &n))
			dmn_inval_list(d, inos, n);
}

/* End the session: the FUSE loop returns, teardown unmounts (lazily). */
static void dmn_end(struct dmn *d, const char *reason)
{
	if (__atomic_exchange_n(&d->ending, 1, __ATOMIC_ACQ_REL))
		return;
	d->end_reason = reason;
	dmn_inval_all(d);
	/* Builds under way stop at their next batch: the views die with the
	 * session, and the expiry must not wait for them. */
	vc_shutdown(d->sbx->views);
	fuse_session_exit(d->se);
	/* Wakes the loop's wait; libfuse's handler also marks the exit. */
	pthread_kill(d->main_thread, SIGTERM);
}

static void dmn_life_expire(void *arg)
{
	dmn_end(arg, "expired");
}

static void dmn_life_unmount(void *arg)
{
	dmn_end(arg, "unmount requested");
}

static void dmn_life_status(void *arg, struct spot_buf *out)
{
	struct dmn *d = arg;
	uint64_t bytes;
	size_t views;

	dmn_views_status(d, out, false);
	if (d->quota)
		qta_status(d->quota, out, false);
	dmn_dp_status(d, out, false);
	vc_stats(d->sbx->views, &views, &bytes);
	spot_buf_printf(out, "views built: %zu (%llu bytes)\n", views,
			(unsigned long long)bytes);
	spot_buf_printf(out, "open files: %llu\n",
			(unsigned long long)__atomic_load_n(&d->open_files,
							    __ATOMIC_RELAXED));
	spot_buf_printf(out,
			"store bytes: %llu (overlay files and spilled views, "
			"encrypted)\n",
			(unsigned long long)seal_store_bytes(d->store));
	spot_buf_printf(out, "overlay cipher: %s\n",
			seal_store_cipher_name(d->store));
	{
		struct rlimit rl = { 1, 1 };

		getrlimit(RLIMIT_CORE, &rl);
		spot_buf_printf(out, "core dumps: %s\n",
				prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 &&
						rl.rlim_cur == 0 &&
						rl.rlim_max == 0
					? "off"
					: "ON");
	}
}

static void dmn_life_status_json(void *arg, struct spot_buf *out)
{
	struct dmn *d = arg;
	struct rlimit rl = { 1, 1 };

	getrlimit(RLIMIT_CORE, &rl);
	spot_buf_printf(out,
			"\"open_files\":%llu,\"store_bytes\":%llu,"
			"\"overlay_cipher\":\"%s\",\"core_dumps\":%s,",
			(unsigned long long)__atomic_load_n(&d->open_files,
							    __ATOMIC_RELAXED),
			(unsigned long long)seal_store_bytes(d->store),
			seal_store_cipher_name(d->store),
			prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 &&
					rl.rlim_cur == 0 && rl.rlim_max == 0
				? "false"
				: "true");
	if (d->quota)
		qta_status(d->quota, out, true);
	dmn_dp_status(d, out, true);
	dmn_views_status(d, out, true);
}

/*
 * SIGTERM, SIGINT and SIGHUP end the session like expiry does, through
 * dmn_end on a thread of their own: the page cache must be dropped while
 * the loop still answers, which libfuse's own handler cannot do. The
 * handler only posts a semaphore (async-signal-safe); the semaphore stays
 * valid to the end of the process, so a late signal is harmless.
 */
static sem_t dmn_sig_sem;
static volatile sig_atomic_t dmn_sig_num;
static volatile sig_atomic_t dmn_sig_stop;

static void dmn_sig_handler(int sig)
{
	if (!dmn_sig_num)
		dmn_sig_num = sig;
	sem_post(&dmn_sig_sem);
}

static void *dmn_sig_main(void *arg)
{
	struct dmn *d = arg;
	int sig;

	while (sem_wait(&dmn_sig_sem) && errno == EINTR)
		;
	sig = dmn_sig_num;
	if (!dmn_sig_stop)
		dmn_end(d, sig == SIGINT   ? "signal SIGINT"
			   : sig == SIGHUP ? "signal SIGHUP"
					   : "signal SIGTERM");
	return NULL;
}

/* Replace libfuse's exit handlers (after fuse_set_signal_handlers). */
static int dmn_sig_start(struct dmn *d, pthread_t *th)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	sigset_t all, old;
	int rc;

	if (sem_init(&dmn_sig_sem, 0, 0))
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = dmn_sig_handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(sigs); i++)
		if (sigaction(sigs[i], &sa, NULL))
			return -errno;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(th, NULL, dmn_sig_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void dmn_sig_join(pthread_t th)
{
	dmn_sig_stop = 1;
	sem_post(&dmn_sig_sem);
	pthread_join(th, NULL);
}

static int dmn_life_request(void *arg, const char *req, uid_t uid, pid_t pid,
			    struct spot_buf *r)
{
	if (!strncmp(req, "export ", 7))
		return dmn_export_request(arg, req + 7, uid, pid, r);
	if (!strncmp(req, "synthetic ", 10))
		return dmn_dp_request(arg, req + 10, r);
	return -ENOSYS;
}

static const struct life_ops dmn_life_ops = {
	.expire = dmn_life_expire,
	.unmount = dmn_life_unmount,
	.status = dmn_life_status,
	.status_json = dmn_life_status_json,
	.request = dmn_life_request,
};

static int dmn_life_start(struct dmn *d, const char *mountpoint,
			  struct spot_err *err)
{
	const struct cfg *cfg = d->sbx->cfg;
	struct life_info li;

	memset(&li, 0, sizeof(li));
	li.id = d->sbx->id;
	li.mountpoint = mountpoint;
	li.cfg = cfg;
	li.ttl = cfg->ttl == CFG_TTL_NONE ? 0
		 : cfg->ttl		  ? cfg->ttl
					  : CFG_DEFAULT_TTL;
	li.store_dir = d->store_dir;
	li.owner = geteuid();
	if (cfg->audit_key) {
		/* The seed lives in locked memory only while the log is set up. */
		uint8_t *seed = sodium_malloc(AUD_SEED_LEN);
		int rc;

		if (!seed)
			return -ENOMEM;
		rc = aud_key_load(cfg->audit_key, seed);
		if (rc) {
			spot_err_set(err, "audit_key %s: %s", cfg->audit_key,
				     rc == -EPERM ? "must not be readable "
						    "by others (chmod 600)"
						  : strerror(-rc));
			sodium_free(seed);
			return rc;
		}
		li.audit_seed = seed;
		rc = life_start(&li, &dmn_life_ops, d, &d->life, err);
		sodium_free(seed); /* wipes */
		return rc;
	}
	return life_start(&li, &dmn_life_ops, d, &d->life, err);
}

/*
 * No core file and no ptrace/proc access for the daemon's own uid: its
 * memory holds keys, views and overlay plaintext. Before anything secret
 * is loaded. Fails closed: a daemon that cannot drop these does not start.
 */
static int dmn_no_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) || setrlimit(RLIMIT_CORE, &rl))
		return -errno;
	return 0;
}

/*
 * Fault builds (masking/fault.h): arm the points SPOTFS_FAULT names and
 * tell them the source and state folders. Nothing in other builds.
 */
static int dmn_fault_setup(const struct cfg *cfg, struct spot_err *err)
{
#ifdef SPOT_FAULT_INJECTION
	char dir[PATH_MAX];
	int rc = flt_setup(err);

	if (rc)
		return rc;
	flt_set_dir(FLT_DIR_SRC, cfg->source);
	if (!life_state_dir(cfg, dir, sizeof(dir)))
		flt_set_dir(FLT_DIR_STATE, dir);
#else
	(void)cfg;
	(void)err;
#endif
	return 0;
}

/* The child (or the foreground process): mount, serve, tear down. */
static int dmn_serve(struct cfg *cfg, const char *mountpoint,
		     const struct dmn_opts *opts, int ready_fd)
{
	struct dmn d;
	struct spot_err err = { "" };
	struct fuse_loop_config *lc;
	pthread_t sig_th;
	bool sig_on = false;
	int rc;

	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.cu_lock, NULL);
	pthread_mutex_init(&d.fh_lock, NULL);
	d.main_thread = pthread_self();
	d.owner = getuid();
	d.owner_gid = getgid();
	/*
	 * Views and their builds' buffers are large and short-lived: from
	 * 1 MiB on they get their own mappings, returned to the system when
	 * freed (glibc would otherwise raise this threshold as they are freed
	 * and keep later ones in its heap, out of the budget's reach).
	 */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	rc = dmn_no_dumps();
	if (rc) {
		fprintf(stderr, "spotfs: cannot disable core dumps: %s\n",
			strerror(-rc));
		goto out_cfg;
	}
	rc = dmn_fault_setup(cfg, &err);
	if (rc) {
		fprintf(stderr, "spotfs: %s\n", err.msg);
		goto out_cfg;
	}
	if (!opts->foreground && !opts->log_path) {
		char dir[PATH_MAX - 16];

		if (!life_state_dir(cfg, dir, sizeof(dir)))
			snprintf(dmn_log_fallback, sizeof(dmn_log_fallback),
				 "%s/spotfs.log", dir);
	}
	rc = ns_new(&d.ns);
	if (rc)
		goto out_cfg;
	rc = dmn_session_new(&d, opts, cfg->source);
	if (rc) {
		fprintf(stderr, "spotfs: cannot create the FUSE session\n");
		goto out_cfg;
	}
	if (fuse_set_signal_handlers(d.se)) {
		rc = -EIO;
		goto out_session;
	}
	if (fuse_session_mount(d.se, mountpoint)) {
		fprintf(stderr, "spotfs: cannot mount on %s\n", mountpoint);
		rc = -EIO;
		goto out_signals;
	}
	rc = sbx_new(cfg, &d.sbx, &err);
	cfg = NULL; /* taken over by sbx_new, also on failure */
	if (!rc)
		rc = dmn_overlay_open(&d, &err);
	if (!rc)
		rc = dmn_views_setup(&d, &err);
	if (!rc)
		rc = dmn_export_setup(&d, &err);
	if (!rc && (rc = qta_new(d.sbx->cfg, &d.quota)))
		spot_err_set(&err, "out of memory");
	if (!rc)
		rc = dmn_dp_setup(&d, &err);
	/* Nothing is served before the mount is registered and audited. */
	if (!rc)
		rc = dmn_life_start(&d, mountpoint, &err);
	if (rc) {
		fprintf(stderr, "spotfs: %s\n", err.msg);
		goto out_unmount;
	}
	d.mountpoint = mountpoint; /* read-ahead is tuned after INIT */
	if (ready_fd < 0)
		printf("spotfs: sandbox %s mounted on %s (foreground)\n",
		       d.sbx->id, mountpoint);
	fflush(stdout);
	d.pre_ready_fd = -1;
	d.pre_opts = opts;
	if (opts->wait && ready_fd >= 0) {
		d.pre_ready_fd = ready_fd; /* the prebuild thread reports */
		/* The builds log where the daemon will: not on the terminal
		 * of mount --wait, which shows their report at the end. */
		dmn_log_detach(opts);
		if (write(ready_fd, "+", 1) != 1) /* mounted, now building */
			spot_log(SPOT_LOG_WARN, "cannot report progress: %s",
				 strerror(errno));
	} else {
		dmn_ready(ready_fd, opts, true);
	}
	ready_fd = -1;
	spot_log(SPOT_LOG_INFO, "sandbox %s mounted on %s", d.sbx->id,
		 mountpoint);
	if (opts->wait || d.sbx->cfg->prebuild) {
		rc = dmn_prebuild_start(&d);
		if (rc) {
			spot_log(SPOT_LOG_ERR, "cannot start prebuild: %s",
				 strerror(-rc));
			ready_fd = d.pre_ready_fd;
			d.pre_ready_fd = -1;
			goto out_unmount;
		}
	}
	rc = dmn_sig_start(&d, &sig_th);
	if (rc) {
		spot_log(SPOT_LOG_ERR, "cannot handle signals: %s",
			 strerror(-rc));
		goto out_unmount;
	}
	sig_on = true;
	lc = fuse_loop_cfg_create();
	if (!lc) {
		rc = -ENOMEM;
		goto out_unmount;
	}
	fuse_loop_cfg_set_clone_fd(lc, 0);
	fuse_loop_cfg_set_idle_threads(lc, DMN_IDLE_THREADS);
	fuse_loop_cfg_set_max_threads(lc, DMN_MAX_THREADS);
	flt_serving();
	rc = fuse_session_loop_mt(d.se, lc);
	fuse_loop_cfg_destroy(lc);
	if (!d.end_reason && rc > 0)
		d.end_reason = rc == SIGTERM  ? "signal SIGTERM"
			       : rc == SIGINT ? "signal SIGINT"
			       : rc == SIGHUP ? "signal SIGHUP"
					      : "signal";
	rc = rc < 0 ? rc : 0;
	spot_log(SPOT_LOG_INFO, "sandbox %s: session ended (%s)", d.sbx->id,
		 d.end_reason ? d.end_reason : "unmounted");
out_unmount:
	if (sig_on)
		dmn_sig_join(sig_th);
	/* Lazy: a process holding a file open cannot keep the sandbox. */
	fuse_session_unmount(d.se);
	/* Builds under way see the end (d.ending) or finish; either way the
	 * prebuild thread is gone before the views are freed. */
	__atomic_store_n(&d.ending, 1, __ATOMIC_RELAXED);
	if (d.sbx)
		vc_shutdown(d.sbx->views); /* a streamed build stops now */
	dmn_prebuild_join(&d);
	if (d.life)
		life_stop(d.life, d.end_reason); /* NULL: life names it */
	d.life = NULL;
out_signals:
	fuse_remove_signal_handlers(d.se);
out_session:
	fuse_session_destroy(d.se);
out_cfg:
	dmn_fh_free_all(&d);   /* files still open when the session ended */
	dmn_dirs_free_all(&d); /* and folders */
	sbx_free(d.sbx);       /* wipes the keys; views spilled to the store */
	dmn_export_fini(&d);   /* after the builds that fed it */
	qta_free(d.quota);
	dmn_dp_fini(&d);
	dmn_overlay_close(&d); /* deletes the store, wipes its key */
	cfg_free(cfg);
	ns_free(d.ns);
	pthread_mutex_destroy(&d.cu_lock);
	pthread_mutex_destroy(&d.fh_lock);
	dmn_ready(ready_fd, opts, false);
	return rc;
}

int dmn_mount(struct cfg *cfg, const char *mp, const struct dmn_opts *opts)
{
	char mountpoint[PATH_MAX];
	int pfd[2], status;
	char ok = 0;
	pid_t pid;
	ssize_t n;

	/* The registry and the CLI find sandboxes by absolute mount point. */
	if (!realpath(mp, mountpoint)) {
		int saverr = errno;

		fprintf(stderr, "spotfs: %s: %s\n", mp, strerror(saverr));
		cfg_free(cfg);
		return -saverr;
	}
	if (opts->foreground)
		return dmn_serve(cfg, mountpoint, opts, -1);
	if (opts->log_path) {
		char why[256];

		/* Now, to fail on the caller's terminal, not after detaching */
		dmn_log_fd = dmn_log_open(opts->log_path, why, sizeof(why));
		if (dmn_log_fd < 0) {
			int rc = dmn_log_fd;
			char pn[PATH_MAX];

			spot_printable(opts->log_path, pn, sizeof(pn));
			fprintf(stderr, "spotfs: --log %s: %s\n", pn, why);
			dmn_log_fd = -1;
			cfg_free(cfg);
			return rc;
		}
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		cfg_free(cfg);
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int saverr = errno;

		close(pfd[0]);
		close(pfd[1]);
		cfg_free(cfg);
		return -saverr;
	}
	if (pid == 0) {
		close(pfd[0]);
		setsid();
		if (chdir("/"))
			_exit(1);
		_exit(dmn_serve(cfg, mountpoint, opts, pfd[1]) ? 1 : 0);
	}
	close(pfd[1]);
	cfg_free(cfg);
	if (dmn_log_fd >= 0) { /* the daemon's now */
		close(dmn_log_fd);
		dmn_log_fd = -1;
	}
	/*
	 * '1' ready, '0' failed. With --wait, '+' (mounted, building) comes
	 * first, then the prebuild's report (text, any bytes), then a NUL
	 * and '1' or '0': the report may hold digits of its own.
	 */
	do
		n = read(pfd[0], &ok, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && ok == '+') {
		fprintf(stderr,
			"spotfs: mounted on %s; building every view "
			"(--wait)...\n",
			mountpoint);
		for (;;) {
			do
				n = read(pfd[0], &ok, 1);
			while (n < 0 && errno == EINTR);
			if (n != 1 || !ok)
				break;
			fputc(ok, stderr);
		}
		if (n == 1)
			do
				n = read(pfd[0], &ok, 1);
			while (n < 0 && errno == EINTR);
	}
	close(pfd[0]);
	if (n == 1 && ok == '1')
		return 0; /* the daemon lives on; init reaps it */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return -EIO;
}
