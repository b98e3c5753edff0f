/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * life.c - one mounted sandbox's lifecycle: registry row, audit trail,
 * TTL deadline on a clock nobody can set, and the control requests.
 */
#include "life.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define LIFE_ROLES_MAX 1024 /* bytes of the roles summary */
#define LIFE_EXTEND_MAX (100ull * 365 * 86400)

struct life {
	char id[REG_ID_LEN + 1];
	char *mountpoint, *source, *config_path, *store_dir, *roles;
	char digest[REG_DIGEST_HEX_LEN + 1];
	uid_t owner;
	uint64_t ttl, max_ttl; /* seconds */
	const struct life_ops *ops;
	void *arg;
	struct reg_db *reg;
	struct aud_log *aud;
	struct ctl_server *ctl;
	char sock[PATH_MAX];
	pthread_t thread;
	bool thread_started;
	int64_t created_ms; /* CLOCK_BOOTTIME */
	int64_t created_wall;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	/* Protected by mu: */
	int64_t deadline_ms;   /* CLOCK_BOOTTIME; 0 = no TTL */
	int64_t deadline_wall; /* unix seconds, for display */
	bool expired, unmount_req, unmount_called, stopping;
	/* Who asked to unmount (spotfs unmount, over the control channel),
	 * for the unmount record; end_at_ms 0 = nobody (CLOCK_BOOTTIME). */
	int64_t end_at_ms;
	uid_t end_uid;
	pid_t end_pid;
	bool end_lazy;
	char end_comm[32];
};

#define LIFE_INTENT_MS 60000 /* an unmount announcement stays valid */

static int64_t life_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void life_fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm))
		snprintf(buf, len, "%" PRId64, t);
}

void life_proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

int life_state_dir(const struct cfg *cfg, char *buf, size_t len)
{
	struct stat st;

	if (!cfg || !cfg->state_dir)
		return reg_default_dir(buf, len);
	if (strlen(cfg->state_dir) >= len)
		return -ENAMETOOLONG;
	if (mkdir(cfg->state_dir, 0700) && errno != EEXIST)
		return -errno;
	if (lstat(cfg->state_dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022)) {
		spot_log(SPOT_LOG_ERR,
			 "state folder %s must be a folder (not a symlink) "
			 "owned by uid %u, not writable by others",
			 cfg->state_dir, (unsigned)geteuid());
		return -EPERM;
	}
	strcpy(buf, cfg->state_dir);
	return 0;
}

/* "analyst(groups 1001), steward(users 0); default_role default" */
static char *life_roles_summary(const struct cfg *c)
{
	struct spot_buf b;
	uint8_t *p;
	size_t len;

	spot_buf_init(&b);
	for (size_t i = 0; i < c->nroles && b.len < LIFE_ROLES_MAX; i++) {
		const struct cfg_role *r = &c->roles[i];

		spot_buf_printf(&b, "%s%s(", i ? ", " : "", r->name);
		if (r->nuids)
			spot_buf_printf(&b, "users");
		for (size_t k = 0; k < r->nuids; k++)
			spot_buf_printf(&b, " %u", (unsigned)r->uids[k]);
		if (r->ngids)
			spot_buf_printf(&b, "%sgroups", r->nuids ? "; " : "");
		for (size_t k = 0; k < r->ngids; k++)
			spot_buf_printf(&b, " %u", (unsigned)r->gids[k]);
		spot_buf_printf(&b, ")");
	}
	if (b.len >= LIFE_ROLES_MAX)
		spot_buf_printf(&b, ", ...");
	spot_buf_printf(&b, "%sdefault_role %s", c->nroles ? "; " : "none; ",
			c->default_role ? c->default_role : "default");
	p = spot_buf_steal(&b, &len);
	return (char *)p;
}

/* ---- audit ---- */

int life_audit(struct life *l, struct aud_event *ev, bool sync)
{
	int rc;

	if (!ev->sandbox)
		ev->sandbox = l->id;
	rc = sync ? aud_log_append_sync(l->aud, ev)
		  : aud_log_append(l->aud, ev);
	return rc ? -EIO : 0;
}

bool life_healthy(const struct life *l)
{
	return aud_log_healthy(l->aud);
}

void life_note_refusal(struct life *l)
{
	aud_log_note_refusal(l->aud);
}

static void life_ev_peer(struct aud_event *ev, uid_t uid, pid_t pid, char *comm,
			 size_t len)
{
	life_proc_comm(pid, comm, len);
	ev->uid = uid;
	ev->pid = pid;
	ev->process = comm;
}

/* ---- time ---- */

uint64_t life_remaining(const struct life *l)
{
	struct life *m = (struct life *)l; /* the mutex only */
	uint64_t left = UINT64_MAX;
	int64_t now = life_now_ms();

	pthread_mutex_lock(&m->mu);
	if (m->expired)
		left = 0;
	else if (m->deadline_ms)
		left = m->deadline_ms > now
			       ? (uint64_t)(m->deadline_ms - now + 999) / 1000
			       : 0;
	pthread_mutex_unlock(&m->mu);
	return left;
}

bool life_expired(const struct life *l)
{
	struct life *m = (struct life *)l;
	bool e;

	pthread_mutex_lock(&m->mu);
	e = m->expired;
	pthread_mutex_unlock(&m->mu);
	return e;
}

const char *life_id(const struct life *l)
{
	return l->id;
}

static void life_expire_now(struct life *l)
{
	struct aud_event ev;
	char ttl[32];

	spot_format_duration(l->ttl, ttl, sizeof(ttl));
	aud_event_init(&ev, AUD_EV_EXPIRE, l->id);
	ev.reason = "ttl reached";
	ev.detail = ttl;
	if (life_audit(l, &ev, true))
		spot_log(SPOT_LOG_ERR, "sandbox %s: cannot audit expiry",
			 l->id);
	spot_log(SPOT_LOG_INFO, "sandbox %s: ttl reached, expiring", l->id);
	if (l->ops && l->ops->expire)
		l->ops->expire(l->arg);
}

/* Wait on the monotonic condvar for at most ms (capped at a tick). */
static void life_wait(struct life *l, int64_t ms)
{
	struct timespec ts;

	if (ms > LIFE_TICK_MS)
		ms = LIFE_TICK_MS;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&l->cv, &l->mu, &ts);
}

static void *life_thread(void *arg)
{
	struct life *l = arg;

	pthread_mutex_lock(&l->mu);
	while (!l->stopping) {
		int64_t now = life_now_ms();

		if (l->unmount_req && !l->unmount_called) {
			l->unmount_called = true;
			pthread_mutex_unlock(&l->mu);
			if (l->ops && l->ops->unmount)
				l->ops->unmount(l->arg);
			pthread_mutex_lock(&l->mu);
		} else if (l->deadline_ms && !l->expired &&
			   now >= l->deadline_ms) {
			l->expired = true;
			pthread_mutex_unlock(&l->mu);
			life_expire_now(l);
			pthread_mutex_lock(&l->mu);
		} else if (l->deadline_ms && !l->expired) {
			life_wait(l, l->deadline_ms - now);
		} else {
			pthread_cond_wait(&l->cv, &l->mu);
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---- control requests ---- */

/* The deadline (0: none) and the state's name, read once under the lock. */
static const char *life_state_of(struct life *l, int64_t *dwall)
{
	const char *st;

	pthread_mutex_lock(&l->mu);
	*dwall = l->deadline_wall;
	st = l->expired ? "expired" : l->unmount_req ? "unmounting" : "running";
	pthread_mutex_unlock(&l->mu);
	return st;
}

static int life_ctl_status(struct life *l, struct spot_buf *r)
{
	char created[64], deadline[64], left[32], max[32];
	uint64_t rem = life_remaining(l);
	int64_t dwall;
	const char *state = life_state_of(l, &dwall);

	life_fmt_time(l->created_wall, created, sizeof(created));
	spot_format_duration(l->max_ttl, max, sizeof(max));
	spot_buf_printf(r,
			"id: %s\nstate: %s\nmountpoint: %s\nsource: %s\n"
			"config: %s\nconfig digest: %s\nroles: %s\n"
			"owner: %u\npid: %d\ncreated: %s\n",
			l->id, state, l->mountpoint, l->source, l->config_path,
			l->digest, l->roles, (unsigned)l->owner, (int)getpid(),
			created);
	if (dwall) {
		life_fmt_time(dwall, deadline, sizeof(deadline));
		spot_format_duration(rem, left, sizeof(left));
		spot_buf_printf(r, "deadline: %s\ntime left: %s\nmax ttl: %s\n",
				deadline, left, max);
	} else {
		spot_buf_printf(r, "deadline: none\ntime left: unlimited\n");
	}
	if (l->store_dir[0])
		spot_buf_printf(r, "store: %s\n", l->store_dir);
	if (aud_log_healthy(l->aud) && !aud_log_lost(l->aud))
		spot_buf_printf(r, "audit: ok\n");
	else if (aud_log_healthy(l->aud))
		spot_buf_printf(r,
				"audit: ok (%" PRIu64 " events lost in an "
				"outage: see its audit_error record)\n",
				aud_log_lost(l->aud));
	else
		spot_buf_printf(r,
				"audit: FAILING (%" PRIu64 " events lost); "
				"new opens are refused until it can be "
				"written again\n",
				aud_log_lost(l->aud));
	if (l->ops && l->ops->status)
		l->ops->status(l->arg, r);
	return 0;
}

/* "status json": the fields of status as one JSON object. */
static int life_ctl_status_json(struct life *l, struct spot_buf *r)
{
	uint64_t rem = life_remaining(l);
	int64_t dwall;
	const char *state = life_state_of(l, &dwall);

	spot_buf_printf(r, "{\"id\":");
	spot_buf_json_str(r, l->id);
	spot_buf_printf(r, ",\"state\":\"%s\",\"mountpoint\":", state);
	spot_buf_json_str(r, l->mountpoint);
	spot_buf_printf(r, ",\"source\":");
	spot_buf_json_str(r, l->source);
	spot_buf_printf(r, ",\"config\":");
	spot_buf_json_str(r, l->config_path);
	spot_buf_printf(r, ",\"config_digest\":");
	spot_buf_json_str(r, l->digest);
	spot_buf_printf(r, ",\"roles\":");
	spot_buf_json_str(r, l->roles);
	spot_buf_printf(r,
			",\"owner\":%u,\"pid\":%d,\"created\":%" PRId64
			",\"deadline\":",
			(unsigned)l->owner, (int)getpid(), l->created_wall);
	if (dwall)
		spot_buf_printf(r, "%" PRId64 ",\"seconds_left\":%" PRIu64,
				dwall, rem);
	else
		spot_buf_printf(r, "null,\"seconds_left\":null");
	spot_buf_printf(r, ",\"max_ttl\":%" PRIu64 ",\"store\":", l->max_ttl);
	spot_buf_json_str(r, l->store_dir);
	spot_buf_printf(r, ",\"audit_ok\":%s,\"audit_lost\":%" PRIu64,
			aud_log_healthy(l->aud) ? "true" : "false",
			aud_log_lost(l->aud));
	if (l->ops && l->ops->status_json) {
		spot_buf_printf(r, ",");
		l->ops->status_json(l->arg, r);
	}
	return spot_buf_printf(r, "}\n") ? -ENOMEM : 0;
}

/* Check an extension under the lock; set *new_ms or write the refusal. */
static int life_extend_check(struct life *l, uint64_t sec, int64_t *new_ms,
			     struct spot_buf *r)
{
	int64_t now = life_now_ms(), limit;
	char a[32], b[32];
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	limit = l->created_ms + (int64_t)l->max_ttl * 1000;
	*new_ms = now + (int64_t)sec * 1000;
	if (!l->deadline_ms) {
		spot_buf_printf(r, "this sandbox has no ttl");
		rc = -EINVAL;
	} else if (l->expired || l->unmount_req) {
		spot_buf_printf(r, "the sandbox is ending");
		rc = -ESHUTDOWN;
	} else if (*new_ms > limit) {
		spot_format_duration(l->max_ttl, a, sizeof(a));
		spot_format_duration(
			limit > now ? (uint64_t)(limit - now) / 1000 : 0, b,
			sizeof(b));
		spot_buf_printf(r, "extend past max_ttl %s: at most %s left", a,
				b);
		rc = -ERANGE;
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

static int life_ctl_extend(struct life *l, const char *arg, uid_t uid,
			   pid_t pid, struct spot_buf *r)
{
	char comm[32], dur[32], when[64], detail[128];
	struct aud_event ev;
	unsigned long long sec;
	int64_t new_ms, wall;
	char *end;
	int rc;

	errno = 0;
	sec = strtoull(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || !sec ||
	    sec > LIFE_EXTEND_MAX) {
		spot_buf_printf(r, "extend needs a number of seconds > 0");
		return -EINVAL;
	}
	rc = life_extend_check(l, sec, &new_ms, r);
	if (rc)
		return rc;
	wall = (int64_t)time(NULL) + (int64_t)sec;
	spot_format_duration(sec, dur, sizeof(dur));
	life_fmt_time(wall, when, sizeof(when));
	snprintf(detail, sizeof(detail), "deadline %s (%s from now)", when,
		 dur);
	aud_event_init(&ev, AUD_EV_EXTEND, l->id);
	life_ev_peer(&ev, uid, pid, comm, sizeof(comm));
	ev.reason = "requested over the control channel";
	ev.detail = detail;
	/* Audited first: an extension the log cannot record is refused. */
	if (life_audit(l, &ev, true)) {
		spot_buf_printf(r, "the audit log is failing");
		return -EIO;
	}
	pthread_mutex_lock(&l->mu);
	l->deadline_ms = new_ms;
	l->deadline_wall = wall;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	rc = reg_update_deadline(l->reg, l->id, wall);
	if (rc)
		spot_log(SPOT_LOG_WARN, "sandbox %s: registry deadline: %s",
			 l->id, strerror(-rc));
	spot_buf_printf(r, "deadline: %s\ntime left: %s\n", when, dur);
	return 0;
}

/*
 * The process name a request gives for its sender ("unmounting by NAME"):
 * at most 15 printable bytes, as a kernel comm. The request is handled
 * when the daemon runs; a daemon that was stopped reads it after the
 * command gave up and exited, when /proc/PID/comm is gone (or is another
 * process's, its pid reused). A name a process gives for itself is no
 * weaker than its comm, which it sets itself (prctl PR_SET_NAME).
 */
static bool life_claimed_comm(const char *by, char *buf, size_t len)
{
	size_t n = by ? strlen(by) : 0;

	if (!n || n > 15 || n >= len)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)by[i] < 0x21 || (unsigned char)by[i] > 0x7e)
			return false;
	memcpy(buf, by, n + 1);
	return true;
}

static void life_note_unmounter(struct life *l, uid_t uid, pid_t pid, bool lazy,
				const char *by)
{
	char comm[32];

	if (!life_claimed_comm(by, comm, sizeof(comm)))
		life_proc_comm(pid, comm, sizeof(comm));
	pthread_mutex_lock(&l->mu);
	l->end_at_ms = life_now_ms();
	l->end_uid = uid;
	l->end_pid = pid;
	l->end_lazy = lazy;
	memcpy(l->end_comm, comm, sizeof(comm));
	pthread_mutex_unlock(&l->mu);
}

static int life_ctl(void *arg, const char *req, uid_t uid, pid_t pid,
		    struct spot_buf *r)
{
	struct life *l = arg;

	if (!strcmp(req, "ping"))
		return spot_buf_printf(r, "id: %s\n", l->id) ? -ENOMEM : 0;
	if (!strcmp(req, "status"))
		return life_ctl_status(l, r);
	if (!strcmp(req, "status json"))
		return life_ctl_status_json(l, r);
	if (!strncmp(req, "extend ", 7))
		return life_ctl_extend(l, req + 7, uid, pid, r);
	if (!strcmp(req, "unmount") || !strncmp(req, "unmount by ", 11)) {
		/* The life thread calls ops->unmount, after this reply. */
		life_note_unmounter(l, uid, pid, true,
				    req[7] ? req + 11 : NULL);
		pthread_mutex_lock(&l->mu);
		l->unmount_req = true;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	/* spotfs unmount says who it is before it unmounts (the kernel does
	 * not tell the daemon), and takes it back if the unmount failed. */
	if (!strcmp(req, "unmounting") || !strncmp(req, "unmounting by ", 14)) {
		life_note_unmounter(l, uid, pid, false,
				    req[10] ? req + 14 : NULL);
		return 0;
	}
	if (!strcmp(req, "unmounting cancel")) {
		pthread_mutex_lock(&l->mu);
		l->end_at_ms = 0;
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	if (l->ops && l->ops->request) {
		int rc = l->ops->request(l->arg, req, uid, pid, r);

		if (rc != -ENOSYS)
			return rc;
		spot_buf_reset(r);
	}
	spot_buf_printf(r, "unknown request (try ping, status, extend "
			   "SECONDS, unmount, unmounting, export)");
	return -EINVAL;
}

static void life_ctl_refused(void *arg, uid_t uid, pid_t pid)
{
	struct life *l = arg;
	struct aud_event ev;
	char comm[32];

	aud_event_init(&ev, AUD_EV_DENY, l->id);
	life_ev_peer(&ev, uid, pid, comm, sizeof(comm));
	ev.decision = "deny";
	ev.reason = "control channel: not the owner";
	life_audit(l, &ev, false);
}

/* ---- start / stop ---- */

static void life_free(struct life *l)
{
	free(l->mountpoint);
	free(l->source);
	free(l->config_path);
	free(l->store_dir);
	free(l->roles);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static int life_new(const struct life_info *in, struct life **out)
{
	const struct cfg *c = in->cfg;
	pthread_condattr_t ca;
	struct life *l;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&l->mu, NULL);
	snprintf(l->id, sizeof(l->id), "%s", in->id);
	l->mountpoint = strdup(in->mountpoint);
	l->source = strdup(c->source ? c->source : "");
	l->config_path = strdup(c->path ? c->path : "");
	l->store_dir = strdup(in->store_dir ? in->store_dir : "");
	l->roles = life_roles_summary(c);
	for (size_t i = 0; i < sizeof(c->digest); i++)
		snprintf(l->digest + 2 * i, 3, "%02x", c->digest[i]);
	l->owner = in->owner;
	l->ttl = in->ttl;
	l->max_ttl = c->max_ttl ? c->max_ttl : CFG_DEFAULT_MAX_TTL;
	if (!l->mountpoint || !l->source || !l->config_path || !l->store_dir ||
	    !l->roles) {
		life_free(l);
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

static int life_check_info(const struct life_info *in, struct spot_err *err)
{
	uint64_t max;
	size_t i;

	for (i = 0; in->id && in->id[i]; i++)
		if (!strchr("0123456789abcdef", in->id[i]))
			break;
	if (!in->id || i != REG_ID_LEN || in->id[i]) {
		spot_err_set(err, "bad sandbox id");
		return -EINVAL;
	}
	if (!in->mountpoint || in->mountpoint[0] != '/' || !in->cfg) {
		spot_err_set(err, "mount point must be an absolute path");
		return -EINVAL;
	}
	if (!in->ttl && !in->cfg->allow_no_ttl) {
		spot_err_set(err, "a ttl is required (the config does not "
				  "allow sandboxes without one)");
		return -EINVAL;
	}
	max = in->cfg->max_ttl ? in->cfg->max_ttl : CFG_DEFAULT_MAX_TTL;
	if (in->ttl > max) {
		spot_err_set(err, "ttl longer than max_ttl");
		return -EINVAL;
	}
	return 0;
}

/* Open the stores; the audit writer thread starts with signals blocked. */
static int life_open_stores(struct life *l, const struct life_info *in,
			    struct spot_err *err)
{
	struct aud_log_opts ao = { .sign_seed = in->audit_seed,
				   .sandbox = in->id };
	char dir[PATH_MAX - 32], path[PATH_MAX];
	sigset_t all, old;
	int rc;

	rc = life_state_dir(in->cfg, dir, sizeof(dir));
	if (rc) {
		spot_err_set(err, "state folder: %s", strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, REG_DB_NAME);
	rc = reg_open(path, &l->reg);
	if (rc) {
		spot_err_set(err, "cannot open the registry %s: %s", path,
			     strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, AUD_DB_NAME);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = aud_log_open(path, &ao, &l->aud);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		spot_err_set(err, "cannot open the audit log %s: %s", path,
			     strerror(-rc));
	return rc;
}

static int life_register(struct life *l, struct spot_err *err)
{
	struct reg_sandbox sb;
	struct aud_event ev;
	char detail[PATH_MAX + 128], ttl[32];
	int rc;

	memset(&sb, 0, sizeof(sb));
	memcpy(sb.id, l->id, sizeof(sb.id));
	sb.owner = l->owner;
	sb.mountpoint = l->mountpoint;
	sb.source = l->source;
	sb.config_path = l->config_path;
	memcpy(sb.config_digest, l->digest, sizeof(sb.config_digest));
	sb.created = l->created_wall;
	sb.deadline = l->deadline_wall;
	sb.pid = getpid();
	sb.store_dir = l->store_dir;
	sb.state = REG_RUNNING;
	sb.end_reason = (char *)"";
	rc = reg_insert(l->reg, &sb);
	if (rc) {
		spot_err_set(err, "cannot record the sandbox: %s",
			     strerror(-rc));
		return rc;
	}
	if (l->ttl)
		spot_format_duration(l->ttl, ttl, sizeof(ttl));
	else
		snprintf(ttl, sizeof(ttl), "none");
	snprintf(detail, sizeof(detail), "mountpoint %s; source %s; ttl %s",
		 l->mountpoint, l->source, ttl);
	aud_event_init(&ev, AUD_EV_MOUNT, l->id);
	ev.uid = l->owner;
	ev.pid = getpid();
	ev.reason = l->digest;
	ev.detail = detail;
	if (life_audit(l, &ev, true)) {
		spot_err_set(err, "cannot write the audit log: the sandbox is "
				  "not served unaudited");
		reg_set_state(l->reg, l->id, REG_UNMOUNTED,
			      "start failed: audit log");
		return -EIO;
	}
	return 0;
}

static int life_start_threads(struct life *l, struct spot_err *err)
{
	char dir[PATH_MAX - 64];
	sigset_t all, old;
	int rc;

	rc = ctl_runtime_dir(l->owner, dir, sizeof(dir));
	if (rc) {
		spot_err_set(err, "runtime folder: %s", strerror(-rc));
		return rc;
	}
	snprintf(l->sock, sizeof(l->sock), "%s/%s%s", dir, l->id,
		 CTL_SOCK_SUFFIX);
	rc = ctl_server_start(l->sock, l->owner, life_ctl, life_ctl_refused, l,
			      &l->ctl, err);
	if (rc)
		return rc;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&l->thread, NULL, life_thread, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		spot_err_set(err, "life thread: %s", strerror(-rc));
		return rc;
	}
	l->thread_started = true;
	return 0;
}

int life_start(const struct life_info *info, const struct life_ops *ops,
	       void *arg, struct life **out, struct spot_err *err)
{
	struct life *l;
	int rc;

	rc = life_check_info(info, err);
	if (rc)
		return rc;
	rc = life_new(info, &l);
	if (rc) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	l->ops = ops;
	l->arg = arg;
	l->created_ms = life_now_ms();
	l->created_wall = (int64_t)time(NULL);
	if (l->ttl) {
		l->deadline_ms = l->created_ms + (int64_t)l->ttl * 1000;
		l->deadline_wall = l->created_wall + (int64_t)l->ttl;
	}
	rc = life_open_stores(l, info, err);
	if (!rc)
		rc = life_register(l, err);
	if (rc)
		goto fail;
	rc = life_start_threads(l, err);
	if (rc) {
		reg_set_state(l->reg, l->id, REG_UNMOUNTED, "start failed");
		goto fail;
	}
	*out = l;
	return 0;
fail:
	ctl_server_stop(l->ctl);
	aud_log_close(l->aud);
	reg_close(l->reg);
	life_free(l);
	return rc;
}

/*
 * The reason and the caller of the end, for the unmount record: expiry
 * and the daemon's own reasons (signals) are the daemon's; an unmount
 * announced by spotfs unmount names its uid, pid and process; any other
 * unmount came from fusermount3 -u or umount, whose caller the kernel
 * does not name (uid and pid stay -1).
 */
static const char *life_end_reason(struct life *l, const char *reason,
				   struct aud_event *ev)
{
	bool have;

	pthread_mutex_lock(&l->mu);
	have = l->end_at_ms && life_now_ms() - l->end_at_ms < LIFE_INTENT_MS &&
	       !l->expired;
	pthread_mutex_unlock(&l->mu);
	if (l->expired || (reason && !(have && l->end_lazy))) {
		ev->uid = l->owner;
		ev->pid = getpid();
		ev->process = LIFE_DAEMON_COMM;
		return reason ? reason : "expired";
	}
	if (!have)
		return "unmounted by fusermount3 -u or umount (caller not "
		       "known to the daemon)";
	ev->uid = l->end_uid;
	ev->pid = l->end_pid;
	ev->process = l->end_comm;
	if (reason)
		return reason; /* the daemon's word for an unmount request */
	return l->end_lazy ? "spotfs unmount -z" : "spotfs unmount";
}

void life_stop(struct life *l, const char *reason)
{
	struct aud_event ev;
	enum reg_state st;
	uint64_t lost;
	int rc;

	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	if (l->thread_started)
		pthread_join(l->thread, NULL);
	ctl_server_stop(l->ctl);
	st = l->expired ? REG_EXPIRED : REG_UNMOUNTED;
	aud_event_init(&ev, AUD_EV_UNMOUNT, l->id);
	reason = life_end_reason(l, reason, &ev);
	ev.reason = reason;
	ev.detail = reg_state_name(st);
	/* A failing log is tried once more now: the end must be on record. */
	if (aud_log_retry(l->aud) || life_audit(l, &ev, true))
		spot_log(SPOT_LOG_ERR,
			 "sandbox %s: the audit log cannot record the unmount",
			 l->id);
	rc = reg_set_state(l->reg, l->id, st, reason);
	if (rc)
		spot_log(SPOT_LOG_ERR, "sandbox %s: registry state: %s", l->id,
			 strerror(-rc));
	lost = aud_log_lost(l->aud);
	if (aud_log_close(l->aud))
		spot_log(SPOT_LOG_ERR,
			 "sandbox %s: the audit log failed and lost %" PRIu64
			 " events",
			 l->id, lost);
	reg_close(l->reg);
	life_free(l);
}
