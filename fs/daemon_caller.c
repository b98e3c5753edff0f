/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon_caller.c - who is asking: a request's credentials, all its groups
 * and its role; the audit records of the daemon (the process name as the
 * executable's, never comm); the table of open handles; whether the
 * session is ending.
 */
#include "daemon_i.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <sodium.h>

#include "life.h"

/* A thread's buffer for the groups of its callers (freed at its exit). */
struct dmn_gbuf {
	gid_t *g;
	size_t cap;
};

static pthread_key_t dmn_gkey;
static pthread_once_t dmn_gonce = PTHREAD_ONCE_INIT;
static int dmn_gkey_rc;

static void dmn_gbuf_free(void *p)
{
	struct dmn_gbuf *b = p;

	if (b)
		free(b->g);
	free(b);
}

static void dmn_gkey_init(void)
{
	dmn_gkey_rc = pthread_key_create(&dmn_gkey, dmn_gbuf_free);
}

/* This thread's buffer, with room for at least want groups; or NULL. */
static struct dmn_gbuf *dmn_gbuf_get(size_t want)
{
	struct dmn_gbuf *b;
	gid_t *g;

	pthread_once(&dmn_gonce, dmn_gkey_init);
	if (dmn_gkey_rc)
		return NULL;
	b = pthread_getspecific(dmn_gkey);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b || pthread_setspecific(dmn_gkey, b)) {
			free(b);
			return NULL;
		}
	}
	if (b->cap < want) {
		g = realloc(b->g, want * sizeof(*g));
		if (!g)
			return NULL;
		b->g = g;
		b->cap = want;
	}
	return b;
}

/*
 * Every supplementary group of the caller of req: 0 or -errno. The count
 * fuse_req_getgroups returns is the total: a longer list is read again
 * into a buffer of that size (the groups may change in between: a few
 * tries), up to the kernel's NGROUPS_MAX.
 */
int dmn_caller_groups(fuse_req_t req, struct dmn_caller *c)
{
	size_t want = 64;
	struct dmn_gbuf *b;
	int n;

	for (int tries = 0; tries < 4; tries++) {
		b = dmn_gbuf_get(want);
		if (!b)
			return -ENOMEM;
		n = fuse_req_getgroups(req, (int)b->cap, b->g);
		if (n < 0)
			return n;
		if ((size_t)n <= b->cap) {
			c->groups = b->g;
			c->ngroups = (size_t)n;
			return 0;
		}
		if ((size_t)n > (size_t)NGROUPS_MAX)
			return -E2BIG;
		want = (size_t)n;
	}
	return -EAGAIN;
}

/*
 * Whether a request needs the caller's groups: a role given by groups, or
 * a Lua access() (its ctx.groups). Reading them costs a /proc read.
 */
static bool dmn_needs_groups(const struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->nroles; i++)
		if (cfg->roles[i].ngids)
			return true;
	for (size_t i = 0; i < cfg->ndatasets; i++)
		if (cfg->datasets[i].policy)
			return true;
	return false;
}

int dmn_caller_get(struct dmn *d, fuse_req_t req, struct dmn_caller *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	const struct cfg *cfg = d->sbx->cfg;
	struct aud_event ev;
	char reason[96];
	int rc = 0;

	c->uid = ctx->uid;
	c->gid = ctx->gid;
	c->pid = ctx->pid;
	c->groups = NULL;
	c->ngroups = 0;
	if (dmn_needs_groups(cfg))
		rc = dmn_caller_groups(req, c);
	if (!rc) {
		c->role = cfg_role_for(cfg, c->uid, c->gid, c->groups,
				       c->ngroups);
		return 0;
	}
	/* Fewer groups could be another role: no role, no request. */
	c->role = "";
	snprintf(reason, sizeof(reason), "caller's groups cannot be read (%s)",
		 strerror(-rc));
	spot_log(SPOT_LOG_WARN, "uid %ld pid %ld: %s: request refused",
		 (long)c->uid, (long)c->pid, reason);
	aud_event_init(&ev, AUD_EV_DENY, NULL);
	ev.decision = "deny";
	ev.reason = reason;
	dmn_audit(d, &ev, c, false);
	return -EIO;
}

/* ---- audit ---- */

/*
 * Whether device maj:min is a FUSE file system's (another sandbox's mount,
 * say, whose file names are its data), from this process's mountinfo.
 */
static bool dmn_dev_is_fuse(unsigned maj, unsigned min)
{
	char line[PATH_MAX * 2];
	bool fuse = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return true; /* unknown: treated as one (a digest) */
	while (!fuse && fgets(line, sizeof(line), f)) {
		unsigned a, b;
		const char *sep;

		if (sscanf(line, "%*d %*d %u:%u", &a, &b) != 2 || a != maj ||
		    b != min)
			continue;
		sep = strstr(line, " - ");
		fuse = sep && !strncmp(sep + 3, "fuse", 4);
	}
	fclose(f);
	return fuse;
}

/*
 * The name of the program pid runs, for the audit log: the base name of
 * its executable, never /proc/PID/comm, which is the name of a script or
 * of a copied binary and so may be a file name from the overlay (names are
 * never written in plaintext). An executable that lives on this mount, or
 * on any FUSE file system (another sandbox's overlay), is recorded as
 * "ovl:" and a keyed digest of its path. Its device comes from
 * /proc/PID/maps: a stat() of it could wait for this very daemon. Empty
 * when any of it cannot be read.
 */
static void dmn_proc_name(struct dmn *d, pid_t pid, char *buf, size_t len)
{
	char path[64], exe[PATH_MAX], line[PATH_MAX + 128];
	dev_t mdev = __atomic_load_n(&d->mnt_dev, __ATOMIC_ACQUIRE);
	bool on_mount = false, seen = false;
	const char *base;
	unsigned maj, min;
	uint8_t h[8];
	ssize_t n;
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0 || !mdev)
		return;
	exe[n] = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (!seen && fgets(line, sizeof(line), f)) {
		int at = 0;
		char *p;

		if (sscanf(line, "%*s %*s %*s %x:%x %*u %n", &maj, &min, &at) <
			    2 ||
		    !at)
			continue;
		p = line + at;
		p[strcspn(p, "\n")] = 0;
		if (strcmp(p, exe))
			continue;
		seen = true;
		on_mount =
			makedev(maj, min) == mdev || dmn_dev_is_fuse(maj, min);
	}
	fclose(f);
	if (!seen)
		return;
	if (on_mount) {
		crypto_generichash(h, sizeof(h), (const uint8_t *)exe,
				   strlen(exe), d->sbx->name_key, 32);
		snprintf(buf, len, "ovl:");
		sodium_bin2hex(buf + 4, len > 4 ? len - 4 : 0, h, sizeof(h));
		return;
	}
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	n = (ssize_t)strnlen(base, len - 1); /* a name is cut, as comm is */
	memcpy(buf, base, (size_t)n);
	buf[n] = 0;
}

int dmn_audit(struct dmn *d, struct aud_event *ev, const struct dmn_caller *c,
	      bool sync)
{
	char comm[64] = "";
	int rc;

	if (!d->life)
		return 0; /* spotfs check/preview: no sandbox to audit */
	ev->sandbox = d->sbx->id;
	if (c) {
		ev->uid = c->uid;
		ev->gid = c->gid;
		ev->pid = c->pid;
		ev->role = c->role;
		/* The process name costs a /proc read: decisions carry it, the
		 * high-rate overlay events (overlay_open too) do not. */
		if (ev->type == AUD_EV_OPEN || ev->type == AUD_EV_DENY ||
		    ev->type == AUD_EV_POLICY_ERROR) {
			dmn_proc_name(d, c->pid, comm, sizeof(comm));
			ev->process = comm;
		}
	}
	rc = life_audit(d->life, ev, sync);
	if (rc) {
		spot_log(SPOT_LOG_ERR,
			 "audit log unavailable (%s): failing "
			 "closed for new opens",
			 strerror(-rc));
		/* The open this record was for is refused: counted. */
		if (ev->type == AUD_EV_OPEN || ev->type == AUD_EV_OVERLAY_OPEN)
			life_note_refusal(d->life);
	}
	return rc ? -EIO : 0;
}

void dmn_fh_track(struct dmn *d, struct dmn_fh *fh)
{
	pthread_mutex_lock(&d->fh_lock);
	fh->prev = NULL;
	fh->next = d->fhs;
	if (d->fhs)
		d->fhs->prev = fh;
	d->fhs = fh;
	pthread_mutex_unlock(&d->fh_lock);
}

void dmn_fh_untrack(struct dmn *d, struct dmn_fh *fh)
{
	pthread_mutex_lock(&d->fh_lock);
	if (fh->prev)
		fh->prev->next = fh->next;
	else if (d->fhs == fh)
		d->fhs = fh->next;
	if (fh->next)
		fh->next->prev = fh->prev;
	fh->next = fh->prev = NULL;
	pthread_mutex_unlock(&d->fh_lock);
}

void dmn_fh_close(struct dmn *d, struct dmn_fh *fh)
{
	dmn_fh_untrack(d, fh);
	if (fh->fd >= 0)
		close(fh->fd);
	if (fh->up)
		ovl_node_release(fh->ovl, fh->up);
	vc_put(fh->view); /* a replaced view is freed with its last open */
	free(fh->opath);
	free(fh);
	__atomic_sub_fetch(&d->open_files, 1, __ATOMIC_RELAXED);
}

void dmn_fh_free_all(struct dmn *d)
{
	struct dmn_fh *fh = d->fhs, *next;

	for (; fh; fh = next) {
		next = fh->next;
		if (fh->fd >= 0)
			close(fh->fd);
		free(fh->opath);
		free(fh);
	}
	d->fhs = NULL;
}

bool dmn_ending(struct dmn *d)
{
	return __atomic_load_n(&d->ending, __ATOMIC_ACQUIRE);
}

bool dmn_closing(struct dmn *d)
{
	if (__atomic_load_n(&d->ending, __ATOMIC_ACQUIRE))
		return true;
	if (!d->life || life_healthy(d->life))
		return false;
	life_note_refusal(d->life); /* an open refused: the outage counts it */
	return true;
}
