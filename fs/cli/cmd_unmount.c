/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_unmount.c - `spotfs unmount`: end a sandbox and return only once its
 * daemon has wiped the overlay and exited, or say why not.
 *
 * The daemon is found before the unmount (afterwards the mount point no
 * longer leads to it): by the registry, else, when the registry cannot be
 * read (a failed state file system) or has no record of this mount, by
 * asking every control socket of the caller's runtime folder for its
 * mount point. An unmount whose daemon cannot be found is reported as
 * such: exit 1, not a silent 0.
 */
#include "cli.h"
#include "mnt_info.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "life.h"
#include "registry.h"

#define CLI_UNMOUNT_WAIT_S 30 /* default wait for the daemon to exit */
#define CLI_POLL_MS 50
#define CLI_WAIT_MAX_S (UINT64_C(1) << 32) /* -T past this: no overflow */

/*
 * When -T runs out (CLOCK_MONOTONIC, ms): every control call and the wait
 * for the daemon's exit share it, so a stopped daemon, which answers
 * nothing, costs -T in all, not a control call's own time limit more.
 */
static int64_t cli_deadline_ms;

static int64_t cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ctl_call within what is left of -T (and CTL_TIMEOUT_MS). */
static int cli_ctl_call(const char *sock, const char *req, struct spot_buf *r,
			struct spot_err *err)
{
	int64_t left = cli_deadline_ms - cli_now_ms();

	if (left <= 0) {
		spot_err_set(err, "the daemon did not answer in time");
		return -ETIMEDOUT;
	}
	return ctl_call_ms(sock, req,
			   left < CTL_TIMEOUT_MS ? (int)left : CTL_TIMEOUT_MS,
			   r, err);
}

static void cli_unmount_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs unmount [-z] [-S DIR] [-T DURATION] MOUNTPOINT\n"
		"\n"
		"Unmount a sandbox; its overlay and keys are discarded. "
		"Returns\n"
		"once the daemon has wiped the overlay and exited; exit 1 "
		"with the\n"
		"reason when it has not within the timeout or cannot be "
		"found.\n"
		"\n"
		"options:\n"
		"  -z, --lazy           end now even if files are open (they "
		"get\n"
		"                       errors)\n"
		"  -S, --state-dir DIR  registry and audit folder (the "
		"config's\n"
		"                       state_dir:, if it sets one)\n"
		"  -T, --timeout DURATION  how long to wait for the daemon, "
		"in all\n"
		"                       (30s)\n"
		"  -h, --help           show this help\n");
}

/* The daemon of a mount point, as far as it could be found. */
struct cli_daemon {
	pid_t pid;		  /* > 0: a live daemon to wait for */
	bool known;		  /* pid is an answer (0: no live daemon) */
	char sock[PATH_MAX];	  /* its control socket, or "" */
	char why[PATH_MAX + 160]; /* when !known: why not */
};

/* Unmount as root directly, otherwise through fusermount3. */
static int cli_do_unmount(const char *mp, bool lazy)
{
	pid_t pid;
	int status;

	if (geteuid() == 0) {
		if (umount2(mp, lazy ? MNT_DETACH : 0)) {
			int saverr = errno;

			cli_error("unmount", "%s: %s%s", mp, strerror(saverr),
				  saverr == EBUSY
					  ? " (files are open; use --lazy)"
					  : "");
			return -saverr;
		}
		return 0;
	}
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (lazy)
			execlp("fusermount3", "fusermount3", "-u", "-z", mp,
			       (char *)NULL);
		else
			execlp("fusermount3", "fusermount3", "-u", mp,
			       (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : -EIO;
}

/*
 * From the registry: 1 when it has a record of real (dd->pid set when its
 * daemon is alive), 0 when it has none, -errno when it cannot be read.
 */
static int cli_daemon_by_registry(const char *real, const char *state_dir,
				  struct cli_daemon *dd)
{
	char dir[PATH_MAX - 32], path[PATH_MAX];
	struct reg_sandbox sb;
	struct reg_db *db = NULL;
	int rc;

	if (state_dir)
		snprintf(dir, sizeof(dir), "%s", state_dir);
	else if ((rc = life_state_dir(NULL, dir, sizeof(dir))))
		return rc;
	snprintf(path, sizeof(path), "%s/%s", dir, REG_DB_NAME);
	if (access(path, F_OK))
		return -errno;
	rc = reg_open(path, &db);
	if (rc)
		return rc;
	rc = reg_get_by_mount(db, real, &sb);
	reg_close(db);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	dd->known = true;
	if (sb.state == REG_RUNNING &&
	    life_daemon_check(&sb) == LIFE_DAEMON_ALIVE) {
		dd->pid = sb.pid;
		if (ctl_socket_find(sb.owner, sb.id, dd->sock,
				    sizeof(dd->sock)))
			dd->sock[0] = 0;
	}
	reg_sandbox_fini(&sb);
	return 1;
}

/* Whether a "status json" reply is the daemon of real; its pid if so. */
static bool cli_status_matches(const char *reply, const char *real, pid_t *pid)
{
	struct spot_buf want;
	const char *p;
	bool ok;
	long v;

	spot_buf_init(&want);
	spot_buf_printf(&want, "\"mountpoint\":");
	spot_buf_json_str(&want, real);
	spot_buf_printf(&want, ",");
	ok = want.p && strstr(reply, (const char *)want.p);
	spot_buf_fini(&want);
	p = ok ? strstr(reply, "\"pid\":") : NULL;
	if (!p)
		return false;
	v = strtol(p + 6, NULL, 10);
	if (v <= 0 || v > INT_MAX)
		return false;
	*pid = (pid_t)v;
	return true;
}

/* Ask every control socket of the caller's runtime folder. 1 if found. */
static int cli_daemon_by_socket(const char *real, struct cli_daemon *dd)
{
	char dir[PATH_MAX - 64 - NAME_MAX];
	const size_t suf = strlen(CTL_SOCK_SUFFIX);
	struct dirent *de;
	int found = 0;
	DIR *d;

	if (ctl_runtime_dir(getuid(), dir, sizeof(dir)))
		return 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		struct spot_err err = { "" };
		size_t n = strlen(de->d_name);
		struct spot_buf r;
		pid_t pid;

		if (n != REG_ID_LEN + suf ||
		    strcmp(de->d_name + REG_ID_LEN, CTL_SOCK_SUFFIX))
			continue;
		snprintf(dd->sock, sizeof(dd->sock), "%s/%.*s", dir, (int)n,
			 de->d_name);
		spot_buf_init(&r);
		if (!cli_ctl_call(dd->sock, "status json", &r, &err) && r.p &&
		    cli_status_matches((const char *)r.p, real, &pid)) {
			dd->pid = pid;
			dd->known = true;
			found = 1;
		}
		spot_buf_fini(&r);
	}
	closedir(d);
	if (!found)
		dd->sock[0] = 0;
	return found;
}

static void cli_daemon_find(const char *mp, const char *state_dir,
			    struct cli_daemon *dd)
{
	char real[PATH_MAX];
	int rc;

	memset(dd, 0, sizeof(*dd));
	if (!realpath(mp, real)) {
		snprintf(dd->why, sizeof(dd->why), "%s: %s", mp,
			 strerror(errno));
		return;
	}
	rc = cli_daemon_by_registry(real, state_dir, dd);
	/* No live daemon on record: one whose config names another state
	 * folder may still serve here, and it has a socket. */
	if (dd->pid > 0 || cli_daemon_by_socket(real, dd))
		return;
	if (rc >= 0) {
		dd->known = true; /* the registry knows no live sandbox here */
		return;
	}
	snprintf(dd->why, sizeof(dd->why),
		 "the registry cannot be read (%s) and no control socket "
		 "answers for %s",
		 strerror(-rc), real);
}

/* Whether pid has exited (gone, or a zombie its parent has not reaped). */
static bool cli_pid_exited(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool gone;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	gone = !fgets(buf, sizeof(buf), f);
	fclose(f);
	/* "pid (comm) S ...": the state follows the last ')'. */
	p = gone ? NULL : strrchr(buf, ')');
	return gone || (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* Wait until the daemon has wiped its overlay and exited (-T). */
static int cli_wait_daemon(pid_t pid)
{
	for (;;) {
		if (pid <= 0 || cli_pid_exited(pid))
			return 0;
		if (cli_now_ms() >= cli_deadline_ms)
			return -ETIMEDOUT;
		usleep(CLI_POLL_MS * 1000);
	}
}

/*
 * A control request naming this process ("unmounting by spotfs"): the
 * daemon may read it only after this command exited (a stopped daemon),
 * when /proc no longer tells who sent it (life.h).
 */
static void cli_request_by(const char *req, char *buf, size_t len)
{
	char comm[32];

	life_proc_comm(getpid(), comm, sizeof(comm));
	if (comm[0])
		snprintf(buf, len, "%s by %s", req, comm);
	else
		snprintf(buf, len, "%s", req);
}

/* Tell the daemon who unmounts it (audited), or take that back. */
static void cli_unmount_intent(const struct cli_daemon *dd, bool cancel)
{
	struct spot_err err = { "" };
	struct spot_buf r;
	char req[64];

	if (!dd->sock[0])
		return;
	if (cancel)
		snprintf(req, sizeof(req), "unmounting cancel");
	else
		cli_request_by("unmounting", req, sizeof(req));
	spot_buf_init(&r);
	cli_ctl_call(dd->sock, req, &r, &err);
	spot_buf_fini(&r);
}

/* -z: the daemon ends the sandbox as at expiry. 0, or -errno. */
static int cli_ctl_end_sock(const struct cli_daemon *dd)
{
	struct spot_err err = { "" };
	struct spot_buf r;
	char req[64];
	int rc;

	if (!dd->sock[0] || dd->pid <= 0)
		return -ENOENT;
	cli_request_by("unmount", req, sizeof(req));
	spot_buf_init(&r);
	rc = cli_ctl_call(dd->sock, req, &r, &err);
	spot_buf_fini(&r);
	return rc;
}

/* Say why mp cannot be unmounted here: not a mount, not ours, not spotfs. */
static int cli_unmount_vet(const char *mp)
{
	struct mnt_info *m = malloc(sizeof(*m));
	int rc = CLI_EXIT_OK;

	if (!m)
		return CLI_EXIT_FAIL;
	if (mnt_find(mp, false, m)) {
		cli_error("unmount",
			  "%s is not a mount point: nothing to unmount "
			  "(leftovers "
			  "of a crashed sandbox: 'spotfs gc')",
			  mp);
		rc = CLI_EXIT_FAIL;
	} else if (!m->spotfs) {
		cli_error("unmount", "%s is not a spotfs mount (it is %s)", mp,
			  m->fstype);
		rc = CLI_EXIT_FAIL;
	} else if (m->owner >= 0 && m->owner != (long long)getuid() &&
		   geteuid() != 0) {
		mnt_note_denied(m->point, "unmount");
		cli_error(
			"unmount",
			"%s: permission denied: the sandbox belongs to another "
			"user (uid %lld)",
			mp, m->owner);
		rc = CLI_EXIT_FAIL;
	}
	free(m);
	return rc;
}

static int cli_unmount_run(const char *mp, const char *state, bool lazy,
			   uint64_t timeout_s)
{
	struct cli_daemon dd;
	bool detached_only = false;
	char t[32];
	int rc;

	cli_deadline_ms = cli_now_ms() + (int64_t)(timeout_s < CLI_WAIT_MAX_S
							   ? timeout_s
							   : CLI_WAIT_MAX_S) *
						 1000;
	rc = cli_unmount_vet(mp);
	if (rc)
		return rc;
	cli_daemon_find(mp, state, &dd);
	/*
	 * -z: the daemon ends the sandbox as at expiry, so a process holding a
	 * file open, a mapping or a folder inside gets errors instead of
	 * reading on after the detach. A plain lazy detach is the fallback
	 * when the daemon cannot be asked.
	 */
	if (!lazy || cli_ctl_end_sock(&dd)) {
		if (!lazy)
			cli_unmount_intent(&dd, false);
		rc = cli_do_unmount(mp, lazy);
		if (rc) {
			if (!lazy)
				cli_unmount_intent(&dd, true);
			return CLI_EXIT_FAIL;
		}
		detached_only = lazy;
	}
	if (!dd.known) {
		cli_error("unmount",
			  "%s was unmounted, but whether its daemon has exited "
			  "is unknown: %s",
			  mp, dd.why);
		return CLI_EXIT_FAIL;
	}
	if (!cli_wait_daemon(dd.pid))
		return CLI_EXIT_OK;
	spot_format_duration(timeout_s, t, sizeof(t));
	if (detached_only)
		cli_error("unmount",
			  "%s is detached, but its daemon (pid %d) has not "
			  "exited after %s: it could not be asked to end, "
			  "and serves files still open until they are "
			  "closed or its ttl passes",
			  mp, (int)dd.pid, t);
	else
		cli_error("unmount",
			  "the daemon (pid %d) has not exited after %s: it "
			  "may still be wiping the overlay, or be stopped or "
			  "stuck; see 'spotfs list' and its log",
			  (int)dd.pid, t);
	return CLI_EXIT_FAIL;
}

int cli_unmount(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "lazy", no_argument, NULL, 'z' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state = NULL;
	uint64_t timeout_s = CLI_UNMOUNT_WAIT_S;
	bool lazy = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "zS:T:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'z':
			lazy = true;
			break;
		case 'S':
			state = optarg;
			break;
		case 'T':
			if (spot_parse_duration(optarg, &timeout_s) ||
			    !timeout_s) {
				cli_error("unmount",
					  "bad --timeout '%s': use e.g. 10s, "
					  "2m",
					  optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h':
			cli_unmount_usage(stdout);
			return CLI_EXIT_OK;
		default:
			cli_unmount_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("unmount", "expected one MOUNTPOINT");
		cli_unmount_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	return cli_unmount_run(argv[optind], state, lazy, timeout_s);
}
