/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * life_gc.c - crash clean-up (`spotfs gc`): find sandboxes whose daemon is
 * gone (kill -9, a crash, a machine restart) and remove what they left: a
 * stale mount, the encrypted store folder, the control socket; then mark
 * them "gc" in the registry and audit it.
 *
 * The registry is trusted only as far as its writer: before deleting
 * anything the store folder must be a real folder (opened O_NOFOLLOW)
 * named by the sandbox id and owned by the sandbox owner, and only regular
 * files inside it are unlinked (through the folder's descriptor).
 */
#include "life.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define LIFE_PID_SLACK 2 /* seconds between daemon start and registration */

extern char **environ;

/* ---- is the daemon alive? ---- */

/*
 * State letter and start (unix seconds) of pid, from /proc.
 * 0 or -1 if unreadable.
 */
static int life_proc_stat(pid_t pid, char *state, int64_t *start_s)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0, btime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* comm may hold spaces and ')': fields count from the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 state, &start) != 2)
		return -1;
	f = fopen("/proc/stat", "re");
	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	if (!btime || hz <= 0)
		return -1;
	*start_s = (int64_t)(btime + start / (unsigned long long)hz);
	return 0;
}

enum life_daemon life_daemon_check(const struct reg_sandbox *sb)
{
	char comm[32], state = '?';
	int64_t start = 0;

	if (sb->pid <= 0 || (kill(sb->pid, 0) && errno == ESRCH))
		return LIFE_DAEMON_DEAD;
	life_proc_comm(sb->pid, comm, sizeof(comm));
	if (!comm[0])
		return LIFE_DAEMON_ALIVE; /* /proc hidden: assume the best */
	if (strcmp(comm, LIFE_DAEMON_COMM))
		return LIFE_DAEMON_FOREIGN;
	if (life_proc_stat(sb->pid, &state, &start))
		return LIFE_DAEMON_ALIVE;
	if (state == 'Z' || state == 'X')
		return LIFE_DAEMON_DEAD; /* killed, not yet reaped */
	if (start > sb->created + LIFE_PID_SLACK)
		return LIFE_DAEMON_FOREIGN; /* a later spotfs reusing the pid */
	return LIFE_DAEMON_ALIVE;
}

/* ---- mounts ---- */

/* Undo the octal escapes of /proc/self/mounts ("\040" for a space). */
static void life_unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
}

bool life_mount_present(const char *mountpoint)
{
	char line[2 * PATH_MAX], mp[PATH_MAX], type[64];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %4095s %63s", mp, type) != 2)
			continue;
		life_unescape(mp);
		found = !strcmp(mp, mountpoint) && !strcmp(type, "fuse.spotfs");
	}
	fclose(f);
	return found;
}

static int life_unmount_lazy(const char *mp)
{
	char *argv[] = { (char *)"fusermount3", (char *)"-u", (char *)"-z",
			 (char *)mp, NULL };
	int status, rc;
	pid_t pid;

	if (geteuid() == 0)
		return umount2(mp, MNT_DETACH) ? -errno : 0;
	rc = posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ);
	if (rc)
		return -rc;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

/* ---- store folder ---- */

/* Only "<anything>/<id>", absolute, no "." or ".." parts. */
static bool life_store_path_ok(const struct reg_sandbox *sb)
{
	const char *d = sb->store_dir, *base;

	if (!d || d[0] != '/' || strstr(d, "/../") || strstr(d, "/./"))
		return false;
	base = strrchr(d, '/') + 1;
	return !strcmp(base, sb->id);
}

/*
 * Remove the store folder: 0 (also when it is already gone), -EPERM for a
 * folder failing the checks, -ENOTEMPTY when non-files were left.
 */
static int life_store_remove(const struct reg_sandbox *sb, bool dry_run)
{
	struct dirent *de;
	struct stat st;
	int fd, left = 0;
	DIR *d;

	if (!life_store_path_ok(sb))
		return -EPERM;
	fd = open(sb->store_dir,
		  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT			      ? 0
		       : (errno == ELOOP || errno == ENOTDIR) ? -EPERM
							      : -errno;
	if (fstat(fd, &st) || st.st_uid != sb->owner) {
		close(fd);
		return -EPERM;
	}
	if (dry_run) {
		close(fd);
		return 0;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode) || unlinkat(fd, de->d_name, 0))
			left++;
	}
	closedir(d);
	if (left)
		return -ENOTEMPTY;
	/* rmdir does not follow a symlink swapped in meanwhile. */
	return rmdir(sb->store_dir) && errno != ENOENT ? -errno : 0;
}

static bool life_store_exists(const struct reg_sandbox *sb)
{
	struct stat st;

	return sb->store_dir && sb->store_dir[0] && !lstat(sb->store_dir, &st);
}

/* A socket file nobody answers on. */
static bool life_socket_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	rc = rc && errno == ECONNREFUSED;
	close(fd);
	return rc;
}

/* ---- gc ---- */

struct life_gc_item {
	struct reg_sandbox sb; /* strings owned */
};

struct life_gc_list {
	struct life_gc_item *v;
	size_t n, cap;
};

static char *life_dup(const char *s)
{
	return strdup(s ? s : "");
}

static int life_gc_collect(const struct reg_sandbox *sb, void *arg)
{
	struct life_gc_list *L = arg;
	struct reg_sandbox *c;

	if (L->n == L->cap) {
		size_t cap = L->cap ? 2 * L->cap : 16;
		void *p = realloc(L->v, cap * sizeof(*L->v));

		if (!p)
			return -ENOMEM;
		L->v = p;
		L->cap = cap;
	}
	c = &L->v[L->n].sb;
	*c = *sb;
	c->mountpoint = life_dup(sb->mountpoint);
	c->source = life_dup(sb->source);
	c->config_path = life_dup(sb->config_path);
	c->store_dir = life_dup(sb->store_dir);
	c->end_reason = life_dup(sb->end_reason);
	L->n++; /* counted first so that fini frees partial copies */
	if (!c->mountpoint || !c->source || !c->config_path || !c->store_dir ||
	    !c->end_reason)
		return -ENOMEM;
	return 0;
}

/* A record whose sandbox ended (unmounted, expired or already gc). */
static bool life_finished(const struct reg_sandbox *sb)
{
	return sb->state != REG_RUNNING && sb->state != REG_CRASHED;
}

/* Whether a live sandbox other than skip uses mountpoint. */
static bool life_mount_taken(const struct life_gc_list *L, size_t skip)
{
	const struct reg_sandbox *me = &L->v[skip].sb;

	for (size_t i = 0; i < L->n; i++) {
		const struct reg_sandbox *o = &L->v[i].sb;

		if (i != skip && o->state == REG_RUNNING &&
		    !strcmp(o->mountpoint, me->mountpoint) &&
		    life_daemon_check(o) == LIFE_DAEMON_ALIVE)
			return true;
	}
	return false;
}

/*
 * Whether the stale mount on record i's mount point is record i's: the
 * kernel does not say which daemon a dead FUSE mount had, so it belongs
 * to the newest unfinished record there (a later sandbox can only have
 * mounted there after the earlier mount was gone or under it). Finished
 * records own no mount: a crash on a mount point used before is never
 * charged to the old sandbox.
 */
static bool life_mount_mine(const struct life_gc_list *L, size_t i)
{
	const struct reg_sandbox *me = &L->v[i].sb;

	if (life_finished(me) || life_mount_taken(L, i))
		return false;
	for (size_t k = 0; k < L->n; k++) {
		const struct reg_sandbox *o = &L->v[k].sb;

		if (k != i && !life_finished(o) &&
		    !strcmp(o->mountpoint, me->mountpoint) &&
		    (o->created > me->created ||
		     (o->created == me->created && strcmp(o->id, me->id) > 0)))
			return false;
	}
	return life_mount_present(me->mountpoint);
}

/*
 * Whether record sb is still as gc read it: same pid, and still unfinished
 * if it was (a daemon that ended meanwhile, or a concurrent gc, wins).
 */
static bool life_gc_current(struct reg_db *reg, const struct reg_sandbox *sb)
{
	struct reg_sandbox now;
	bool same;

	if (reg_get(reg, sb->id, &now))
		return false;
	same = now.pid == sb->pid && now.owner == sb->owner &&
	       life_finished(&now) == life_finished(sb);
	reg_sandbox_fini(&now);
	return same;
}

static void life_gc_audit(struct aud_log *aud, const struct reg_sandbox *sb,
			  const char *reason, const char *detail)
{
	struct aud_event ev;
	char comm[32];

	if (!aud)
		return;
	life_proc_comm(getpid(), comm, sizeof(comm));
	aud_event_init(&ev, AUD_EV_GC, sb->id);
	ev.uid = getuid();
	ev.pid = getpid();
	ev.process = comm;
	ev.reason = reason;
	ev.detail = detail;
	if (aud_log_append(aud, &ev))
		spot_log(SPOT_LOG_ERR, "cannot audit gc of %s", sb->id);
}

/* Clean one sandbox whose daemon is gone. 0 or the first -errno. */
static int life_gc_one(struct reg_db *reg, struct aud_log *aud,
		       const struct life_gc_list *L, size_t i, bool dry_run,
		       enum life_daemon how, struct spot_buf *rep)
{
	const struct reg_sandbox *sb = &L->v[i].sb;
	const char *would = dry_run ? "would " : "";
	char sock[PATH_MAX], reason[128];
	struct spot_buf acts;
	bool changed = !life_finished(sb);
	int rc, first = 0;

	if (!dry_run && !life_gc_current(reg, sb))
		return 0; /* ended or collected meanwhile: not ours to touch */
	spot_buf_init(&acts);
	snprintf(reason, sizeof(reason), "daemon pid %d %s", (int)sb->pid,
		 how == LIFE_DAEMON_DEAD ? "gone"
					 : "replaced by another "
					   "program");
	spot_buf_printf(rep, "%s %s (%s): %s\n", sb->id, sb->mountpoint,
			reg_state_name(sb->state), reason);
	if (life_mount_mine(L, i)) {
		rc = dry_run ? 0 : life_unmount_lazy(sb->mountpoint);
		spot_buf_printf(rep, "  %sunmount stale mount %s%s%s\n", would,
				sb->mountpoint, rc ? ": " : "",
				rc ? strerror(-rc) : "");
		spot_buf_printf(&acts, "%sunmounted", acts.len ? ", " : "");
		changed |= !rc;
		first = first ? first : rc;
	}
	if (life_store_exists(sb)) {
		rc = life_store_remove(sb, dry_run);
		spot_buf_printf(rep, "  %sremove store folder %s%s%s\n", would,
				sb->store_dir, rc ? ": " : "",
				rc == -EPERM ? "refused: not a private folder "
					       "named by the sandbox id"
				: rc	     ? strerror(-rc)
					     : "");
		spot_buf_printf(&acts, "%sstore %s", acts.len ? ", " : "",
				rc ? "kept" : "removed");
		changed |= !rc;
		first = first ? first : rc;
	}
	if (!ctl_socket_find(sb->owner, sb->id, sock, sizeof(sock)) &&
	    life_socket_stale(sock)) {
		rc = dry_run || !unlink(sock) ? 0 : -errno;
		spot_buf_printf(rep, "  %sremove control socket %s\n", would,
				sock);
		spot_buf_printf(&acts, "%ssocket removed",
				acts.len ? ", " : "");
		changed |= !rc;
		first = first ? first : rc;
	}
	if (!changed) {
		spot_buf_fini(&acts);
		return first; /* already gc, nothing new: no audit noise */
	}
	if (!life_finished(sb))
		spot_buf_printf(rep, "  %smark gc\n", would);
	if (!dry_run) {
		/* A finished record keeps its end (state and reason). */
		rc = life_finished(sb)
			     ? 0
			     : reg_set_state(reg, sb->id, REG_GC, reason);
		first = first ? first : rc;
		life_gc_audit(aud, sb, reason,
			      acts.len ? (const char *)acts.p : "");
	}
	spot_buf_fini(&acts);
	return first;
}

int life_gc(struct reg_db *reg, struct aud_log *aud, int64_t owner,
	    bool dry_run, struct spot_buf *report, unsigned *ncleaned)
{
	struct life_gc_list L = { NULL, 0, 0 };
	unsigned done = 0;
	int rc, first = 0;

	rc = reg_list(reg, owner, life_gc_collect, &L);
	for (size_t i = 0; !rc && i < L.n; i++) {
		const struct reg_sandbox *sb = &L.v[i].sb;
		enum life_daemon how = life_daemon_check(sb);
		bool todo;

		if (how == LIFE_DAEMON_ALIVE)
			continue;
		/* A finished record only ever gets its own store folder
		 * (named by its id) retried; unfinished ones everything. */
		todo = !life_finished(sb) || life_store_exists(sb);
		if (!todo)
			continue;
		rc = life_gc_one(reg, aud, &L, i, dry_run, how, report);
		first = first ? first : rc;
		rc = 0;
		done++;
	}
	for (size_t i = 0; i < L.n; i++)
		reg_sandbox_fini(&L.v[i].sb);
	free(L.v);
	if (ncleaned)
		*ncleaned = done;
	return rc ? rc : first;
}
