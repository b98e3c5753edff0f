/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon_ops.c - FUSE operations on the merged namespace: lookup,
 * attributes, opens, reads and writes; the lower layer's rules (what the
 * policy shows, and as what). Callers, audit and open handles are in
 * daemon_caller.c.
 */
#include "daemon_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "engine.h"
#include "view.h"

/*
 * The file name of converted form fmt of dataset ds (as: csv/parquet), in
 * buf (the last component is returned); NULL when ds does not serve it.
 */
static const char *dmn_form_name(struct dmn *d, const struct cfg_dataset *ds,
				 enum view_fmt fmt, char *buf, size_t len)
{
	const char *base;

	if (sbx_form_name_of(d->sbx, ds, fmt, buf, len))
		return NULL;
	base = strrchr(buf, '/');
	return base ? base + 1 : buf;
}

/* The form a node's sub names ("csv", "parquet"), or VIEW_FMT_UNKNOWN. */
static enum view_fmt dmn_sub_form(const char *sub)
{
	const struct view_format *f = view_format_by_name(sub);

	return f ? f->id : VIEW_FMT_UNKNOWN;
}

/* The mount-relative path of a lower node, for the audit. */
void dmn_node_path(struct dmn *d, const struct ns_node *n, char *buf,
		   size_t len)
{
	if (n->sub && sbx_dp_is(n->sub)) { /* a DP release's file */
		const char *slash = strrchr(n->ds->name, '/');

		if (!strncmp(n->sub + 1, "agg/", 4))
			snprintf(buf, len, "_dp/%s/%s", n->ds->name, n->name);
		else
			snprintf(buf, len, "%.*s%s",
				 slash ? (int)(slash - n->ds->name + 1) : 0,
				 n->ds->name, n->name);
	} else if (n->sub && n->sub[0] && !sbx_has_objects(d->sbx, n->ds)) {
		if (!dmn_form_name(d, n->ds, dmn_sub_form(n->sub), buf, len))
			snprintf(buf, len, "%s", n->relpath);
	} else if (n->sub && n->sub[0]) {
		char dn[DMN_NAME_MAX + 8];
		const char *slash = strrchr(n->relpath, '/');

		sbx_sqlite_dirname(n->ds, dn, sizeof(dn));
		snprintf(buf, len, "%.*s%s/%s.csv",
			 slash ? (int)(slash - n->relpath + 1) : 0, n->relpath,
			 dn, n->sub);
	} else {
		snprintf(buf, len, "%s", n->relpath);
	}
}

/* Audit the decision on opening a lower file; -EIO if it cannot be. */
int dmn_audit_open(struct dmn *d, const struct ns_node *n,
		   const struct dmn_caller *c, int rc, const char *why)
{
	struct aud_event ev;
	char path[PATH_MAX];

	dmn_node_path(d, n, path, sizeof(path));
	aud_event_init(&ev,
		       rc == -EIO && why ? AUD_EV_POLICY_ERROR : AUD_EV_OPEN,
		       NULL);
	ev.path = path;
	ev.decision = rc == 0 ? "allow" : rc == -EACCES ? "deny" : "error";
	ev.reason = rc == 0	    ? ""
		    : rc == -EACCES ? "not allowed for role"
				    : strerror(-rc);
	ev.detail = why;
	return dmn_audit(d, &ev, c, rc == 0);
}

/* ---- the lower layer ---- */

/* Source-relative path of a child: "name" under the root, "p/name" else. */
static int dmn_child_path(const struct ns_node *p, const char *name, char *buf,
			  size_t len)
{
	int n;

	if (p->relpath[0])
		n = snprintf(buf, len, "%s/%s", p->relpath, name);
	else
		n = snprintf(buf, len, "%s", name);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/* Confined and never following a symlink: see srcdir.h. */
static int dmn_src_stat(struct dmn *d, const char *relpath, struct stat *st)
{
	return src_stat(d->sbx->srcfd, relpath, st);
}

/*
 * The caller this thread's request acts as on passthrough entries (when
 * not on: the daemon itself, e.g. for the overlay's own bookkeeping). Set
 * by the handlers that serve source entries to a caller (lookup, getattr,
 * open, opendir, copy-ups), cleared before they reply.
 */
static __thread struct {
	fuse_req_t req;
	struct dmn_caller who; /* a copy: its groups are read when needed */
	bool on;
} dmn_act;

void dmn_act_begin(fuse_req_t req, const struct dmn_caller *c)
{
	dmn_act.req = req;
	dmn_act.who = *c;
	dmn_act.on = true;
}

void dmn_act_end(void)
{
	memset(&dmn_act, 0, sizeof(dmn_act));
}

/*
 * Whether source path rel is a passthrough entry (a file or folder shown
 * only because of default: show): those are read as the caller. The
 * source folder itself, datasets and the folders holding them are read
 * by the daemon (the policy decides who reads a dataset).
 */
static bool dmn_rel_is_pass(struct dmn *d, const char *rel)
{
	const struct cfg *cfg = d->sbx->cfg;

	return rel[0] && cfg->dflt == CFG_DEFAULT_SHOW &&
	       !cfg_dataset_find(cfg, rel) && !cfg_is_dataset_parent(cfg, rel);
}

/*
 * Act as this thread's caller (srcdir.h, src_cred_enter): 1 switched (call
 * src_cred_leave), 0 nothing to switch, -EIO fail closed. The caller's
 * groups are read here when its role did not need them.
 */
static int dmn_pass_enter(void)
{
	struct dmn_caller *c = &dmn_act.who;
	struct src_cred who;
	int rc;

	if (!dmn_act.on)
		return 0;
	if (!c->groups) {
		rc = dmn_caller_groups(dmn_act.req, c);
		if (rc) {
			spot_log(SPOT_LOG_WARN,
				 "uid %ld pid %ld: caller's groups cannot be "
				 "read (%s): source access refused",
				 (long)c->uid, (long)c->pid, strerror(-rc));
			return -EIO;
		}
	}
	who.uid = c->uid;
	who.gid = c->gid;
	who.groups = c->groups;
	who.ngroups = c->ngroups;
	rc = src_cred_enter(&who);
	if (rc < 0)
		spot_log(SPOT_LOG_ERR,
			 "uid %ld: cannot act as the caller: source access "
			 "refused",
			 (long)c->uid);
	return rc;
}

static void dmn_pass_leave(int entered)
{
	if (entered > 0)
		src_cred_leave();
}

/* Stat rel, as the caller when it is a passthrough entry. */
static int dmn_entry_stat(struct dmn *d, const char *rel, struct stat *st)
{
	int in, rc;

	if (!dmn_rel_is_pass(d, rel))
		return dmn_src_stat(d, rel, st);
	in = dmn_pass_enter();
	if (in < 0)
		return in;
	rc = dmn_src_stat(d, rel, st);
	dmn_pass_leave(in);
	return rc;
}

/*
 * Remember which source file n's attributes (as last given) came from.
 * The pin is atomic state beside the node's identity, hence the cast.
 */
static void dmn_pin_set(const struct ns_node *cn, const struct stat *st)
{
	struct ns_node *n = (struct ns_node *)cn;

	__atomic_store_n(&n->pin_dev, (uint64_t)st->st_dev, __ATOMIC_RELEASE);
	__atomic_store_n(&n->pin_ino, (uint64_t)st->st_ino, __ATOMIC_RELEASE);
}

/*
 * Whether the file just opened is the one n was last looked up (or
 * stat'ed) as: else -ESTALE, and the kernel looks the name up again, so
 * its permission check and the file served agree.
 */
static int dmn_pin_check(const struct ns_node *n, dev_t dev, ino_t ino)
{
	if (__atomic_load_n(&n->pin_dev, __ATOMIC_ACQUIRE) != (uint64_t)dev ||
	    __atomic_load_n(&n->pin_ino, __ATOMIC_ACQUIRE) != (uint64_t)ino)
		return -ESTALE;
	return 0;
}

int dmn_pass_open(struct dmn *d, const struct ns_node *n, int *fd,
		  struct src_id *pin)
{
	struct src_id id;
	struct stat st;
	int in, rc;

	in = dmn_pass_enter();
	if (in < 0)
		return in;
	rc = src_open(d->sbx->srcfd, n->relpath, fd, &st);
	dmn_pass_leave(in);
	if (rc)
		return rc;
	src_id_from_stat(&st, &id);
	/* As the daemon: it stats datasets the caller may not reach. */
	rc = sbx_pass_vet(d->sbx, n->relpath, &st);
	if (!rc)
		rc = dmn_pin_check(n, id.dev, id.ino);
	if (rc) {
		close(*fd);
		*fd = -1;
		return rc;
	}
	if (pin)
		*pin = id;
	return 0;
}

/* Whether dataset ds lives directly in the folder at relpath dir. */
static bool dmn_ds_in_dir(const struct cfg_dataset *ds, const char *dir)
{
	const char *slash = strrchr(ds->name, '/');
	size_t dl = strlen(dir);

	if (!slash)
		return dl == 0;
	return (size_t)(slash - ds->name) == dl && !strncmp(ds->name, dir, dl);
}

/* The SQLite dataset whose table folder is named name in folder p. */
static const struct cfg_dataset *
dmn_vdir_ds(struct dmn *d, const struct ns_node *p, const char *name)
{
	const struct cfg *cfg = d->sbx->cfg;
	char dn[DMN_NAME_MAX + 8];

	for (size_t i = 0; i < cfg->ndatasets; i++) {
		const struct cfg_dataset *ds = &cfg->datasets[i];

		if (!dmn_ds_in_dir(ds, p->relpath))
			continue;
		sbx_sqlite_dirname(ds, dn, sizeof(dn));
		if (!strcmp(dn, name) && sbx_has_objects(d->sbx, ds))
			return ds;
	}
	return NULL;
}

/*
 * Whether a dataset in folder p exists but its format could not be read
 * just now (an I/O error on its first bytes): any name of the folder may
 * then be one of its forms or its table folder, so a lookup answers EIO,
 * not ENOENT (which the kernel would remember). Found by fault injection.
 */
static bool dmn_dir_undetected(struct dmn *d, const struct ns_node *p)
{
	const struct cfg *cfg = d->sbx->cfg;
	struct stat st;

	for (size_t i = 0; i < cfg->ndatasets; i++) {
		const struct cfg_dataset *ds = &cfg->datasets[i];

		if (dmn_ds_in_dir(ds, p->relpath) &&
		    sbx_format(d->sbx, ds) == VIEW_FMT_UNKNOWN &&
		    !dmn_src_stat(d, ds->name, &st) && S_ISREG(st.st_mode))
			return true;
	}
	return false;
}

/* The dataset in folder p serving a converted form under name. */
static const struct cfg_dataset *dmn_form_ds(struct dmn *d,
					     const struct ns_node *p,
					     const char *name,
					     const char **form)
{
	const struct cfg *cfg = d->sbx->cfg;
	char buf[PATH_MAX + 16];
	const char *fn;
	bool self;

	for (size_t i = 0; i < cfg->ndatasets; i++) {
		const struct cfg_dataset *ds = &cfg->datasets[i];
		unsigned forms;

		if (!dmn_ds_in_dir(ds, p->relpath))
			continue;
		forms = sbx_forms(d->sbx, ds, &self);
		for (int f = VIEW_FMT_UNKNOWN + 1; f < VIEW_FMT_COUNT; f++)
			if ((forms & VIEW_FMT_BIT(f)) &&
			    (fn = dmn_form_name(d, ds, (enum view_fmt)f, buf,
						sizeof(buf))) &&
			    !strcmp(fn, name)) {
				*form = view_fmt_name((enum view_fmt)f);
				return ds;
			}
	}
	return NULL;
}

/* What a lower folder shows under a name. */
struct dmn_lower_ent {
	enum ns_kind kind;
	const struct cfg_dataset *ds;
	const char *sub;    /* borrowed from the sandbox's table list */
	char rel[PATH_MAX]; /* source path (the database for its tables) */
	char subbuf[DMN_NAME_MAX + 16]; /* a DP release's sub */
};

/* ---- DP releases: _dp/DATASET/NAME.csv and STEM.synthetic.csv ---- */

#define DMN_DP_DIR "_dp"

/* Whether any dataset has aggregates (then the root shows _dp/). */
static bool dmn_dp_on(const struct dmn *d)
{
	const struct cfg *cfg = d->sbx->cfg;

	for (size_t i = 0; i < cfg->ndatasets; i++)
		if (cfg->datasets[i].naggs)
			return true;
	return false;
}

/* The part of NS_DPDIR p's relpath after "_dp": "" or "/sub". */
static const char *dmn_dp_inner(const struct ns_node *p)
{
	return p->relpath + strlen(DMN_DP_DIR);
}

/*
 * name in _dp folder p: a dataset's folder (*ds set), a folder on the way
 * to one (*ds NULL), or -ENOENT. rel gets the child's relpath.
 */
static int dmn_dp_child_dir(struct dmn *d, const struct ns_node *p,
			    const char *name, const struct cfg_dataset **ds,
			    char *rel, size_t len)
{
	const struct cfg *cfg = d->sbx->cfg;
	const char *in = dmn_dp_inner(p);
	size_t rl;
	int n = snprintf(rel, len, "%s%s/%s", DMN_DP_DIR, in, name);

	*ds = NULL;
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	rl = strlen(rel) - strlen(DMN_DP_DIR "/");
	for (size_t i = 0; i < cfg->ndatasets; i++) {
		const char *dn = cfg->datasets[i].name;

		if (!cfg->datasets[i].naggs ||
		    strncmp(dn, rel + strlen(DMN_DP_DIR "/"), rl))
			continue;
		if (!dn[rl]) {
			*ds = &cfg->datasets[i];
			return 0;
		}
		if (dn[rl] == '/')
			return 0;
	}
	return -ENOENT;
}

/* The files of aggregate a in its folder: NAME.csv, NAME.json and, when
 * the dataset is served as Parquet too, NAME.parquet. */
static const char *const dmn_dp_exts[] = { "csv", "json", "parquet" };

static bool dmn_dp_ext_on(const struct cfg_dataset *ds, size_t i)
{
	return i < 2 || (ds->as & CFG_AS_PARQUET);
}

/* name in the folder of dataset ds under _dp: an aggregate's file. */
static bool dmn_dp_file(const struct cfg_dataset *ds, const char *name,
			struct dmn_lower_ent *e)
{
	const char *dot = strrchr(name, '.');
	char stem[DMN_NAME_MAX + 1];

	if (!dot || (size_t)(dot - name) > DMN_NAME_MAX)
		return false;
	memcpy(stem, name, (size_t)(dot - name));
	stem[dot - name] = 0;
	if (!cfg_dp_agg_find(ds, stem))
		return false;
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(dmn_dp_exts); i++)
		if (dmn_dp_ext_on(ds, i) && !strcmp(dot + 1, dmn_dp_exts[i]))
			return !sbx_dp_sub(stem, dmn_dp_exts[i], e->subbuf,
					   sizeof(e->subbuf));
	return false;
}

/* The name of ds's synthetic file with extension ext, last component. */
static const char *dmn_syn_name(const struct cfg_dataset *ds, size_t ext,
				char *buf, size_t len)
{
	const char *slash;

	if (cfg_synth_name(ds, VIEW_FMT_CSV, buf, len) ||
	    strlen(buf) + 8 >= len)
		return NULL;
	strcpy(buf + strlen(buf) - 3, dmn_dp_exts[ext]);
	slash = strrchr(buf, '/');
	return slash ? slash + 1 : buf;
}

/* name in source folder p: the synthetic table of a dataset there. */
static const struct cfg_dataset *dmn_syn_ds(struct dmn *d,
					    const struct ns_node *p,
					    const char *name,
					    struct dmn_lower_ent *e)
{
	const struct cfg *cfg = d->sbx->cfg;
	char buf[PATH_MAX + 32];
	const char *fn;

	for (size_t i = 0; i < cfg->ndatasets; i++) {
		const struct cfg_dataset *ds = &cfg->datasets[i];

		if (!ds->synth || !dmn_ds_in_dir(ds, p->relpath))
			continue;
		for (size_t x = 0; x < SPOT_ARRAY_SIZE(dmn_dp_exts); x++)
			if (dmn_dp_ext_on(ds, x) &&
			    (fn = dmn_syn_name(ds, x, buf, sizeof(buf))) &&
			    !strcmp(fn, name)) {
				if (e &&
				    sbx_dp_sub(NULL, dmn_dp_exts[x], e->subbuf,
					       sizeof(e->subbuf)))
					return NULL;
				return ds;
			}
	}
	return NULL;
}

bool dmn_dp_reserved(struct dmn *d, uint64_t parent, const char *name)
{
	const struct ns_node *p = ns_get(d->ns, parent);

	if (!p)
		return false;
	if (p->kind == NS_DPDIR)
		return true;
	if (p->kind != NS_DIR)
		return false;
	if (!p->relpath[0] && !strcmp(name, DMN_DP_DIR) && dmn_dp_on(d))
		return true;
	return dmn_syn_ds(d, p, name, NULL) != NULL;
}

/* Resolve name in _dp folder p (see dmn_lower_resolve). */
static int dmn_dp_resolve(struct dmn *d, const struct ns_node *p,
			  const char *name, struct dmn_lower_ent *e,
			  struct stat *src)
{
	int rc;

	if (p->ds) {
		if (!dmn_dp_file(p->ds, name, e))
			return -ENOENT;
		e->kind = NS_VIEW;
		e->ds = p->ds;
		e->sub = e->subbuf;
		snprintf(e->rel, sizeof(e->rel), "%s", p->ds->name);
		return dmn_src_stat(d, e->rel, src);
	}
	rc = dmn_dp_child_dir(d, p, name, &e->ds, e->rel, sizeof(e->rel));
	if (rc)
		return rc;
	e->kind = NS_DPDIR;
	return dmn_src_stat(d, "", src);
}

/*
 * Resolve name in lower folder p: a source entry the policy shows, the
 * table folder of a SQLite dataset, or a table inside one. Hidden entries
 * (and anything that is not a file or folder) are ENOENT.
 */
static int dmn_lower_resolve(struct dmn *d, const struct ns_node *p,
			     const char *name, struct dmn_lower_ent *e,
			     struct stat *src)
{
	const struct cfg *cfg = d->sbx->cfg;
	int rc;

	e->ds = NULL;
	e->sub = "";
	if (strlen(name) > DMN_NAME_MAX)
		return -ENAMETOOLONG;
	if (p->kind == NS_VDIR) {
		const struct sbx_objs *o;
		size_t nl = strlen(name);

		/* A listing that failed for now is no answer: not ENOENT,
		 * which the kernel would remember. */
		rc = sbx_sqlite_objs_get(d->sbx, p->ds, &o);
		if (rc)
			return -EIO;
		for (size_t i = 0; o && i < o->n; i++)
			if (nl == strlen(o->names[i]) + 4 &&
			    !strncmp(name, o->names[i], nl - 4) &&
			    !strcmp(name + nl - 4, ".csv"))
				e->sub = o->names[i];
		if (!e->sub[0])
			return -ENOENT;
		e->kind = NS_VIEW;
		e->ds = p->ds;
		snprintf(e->rel, sizeof(e->rel), "%s", p->ds->name);
		return dmn_src_stat(d, e->rel, src);
	}
	if (p->kind == NS_DPDIR)
		return dmn_dp_resolve(d, p, name, e, src);
	if (p->kind != NS_DIR)
		return -ENOTDIR;
	/* Every dataset's format first: which names the folder holds
	 * depends on them (forms, table folders). */
	if (dmn_dir_undetected(d, p))
		return -EIO;
	if (!p->relpath[0] && !strcmp(name, DMN_DP_DIR) && dmn_dp_on(d)) {
		e->kind = NS_DPDIR; /* it hides a source entry of that name */
		snprintf(e->rel, sizeof(e->rel), "%s", DMN_DP_DIR);
		return dmn_src_stat(d, "", src);
	}
	e->ds = dmn_syn_ds(d, p, name, e);
	if (e->ds) { /* a synthetic table comes before a source file */
		e->kind = NS_VIEW;
		e->sub = e->subbuf;
		snprintf(e->rel, sizeof(e->rel), "%s", e->ds->name);
		return dmn_src_stat(d, e->rel, src);
	}
	e->ds = dmn_form_ds(d, p, name, &e->sub);
	if (e->ds) { /* a converted form comes before a source file */
		e->kind = NS_VIEW;
		snprintf(e->rel, sizeof(e->rel), "%s", e->ds->name);
		return dmn_src_stat(d, e->rel, src);
	}
	e->ds = dmn_vdir_ds(d, p, name);
	if (e->ds) {
		e->kind = NS_VDIR;
		snprintf(e->rel, sizeof(e->rel), "%s", e->ds->name);
		return dmn_src_stat(d, e->rel, src);
	}
	rc = dmn_child_path(p, name, e->rel, sizeof(e->rel));
	if (!rc) /* a passthrough entry: as the caller (the source's checks) */
		rc = dmn_entry_stat(d, e->rel, src);
	if (rc)
		return rc == -ENOTDIR ? -ENOENT : rc;
	if (S_ISDIR(src->st_mode)) {
		e->kind = NS_DIR;
		return (cfg->dflt == CFG_DEFAULT_SHOW ||
			cfg_is_dataset_parent(cfg, e->rel))
			       ? 0
			       : -ENOENT;
	}
	if (!S_ISREG(src->st_mode))
		return -ENOENT;
	e->ds = cfg_dataset_find(cfg, e->rel);
	e->kind = e->ds ? NS_VIEW : NS_PASS;
	/* A dataset's bytes under another name (hard link) are never raw. */
	if (!e->ds && sbx_is_dataset_file(d->sbx, e->rel, src))
		return -ENOENT;
	if (e->ds && e->ds->as) {
		bool self;

		sbx_form(d->sbx, e->ds, &self);
		if (!self) /* as: lists only the converted form */
			return -ENOENT;
	}
	return (e->ds || cfg->dflt == CFG_DEFAULT_SHOW) ? 0 : -ENOENT;
}

int dmn_lower_lookup(struct dmn *d, const struct ns_node *p, const char *name,
		     const struct dmn_caller *c, struct ns_node **out,
		     struct stat *src)
{
	struct dmn_lower_ent e;
	struct ns_node *n;
	int rc = dmn_lower_resolve(d, p, name, &e, src);

	if (rc)
		return rc;
	/* Per-role overlay: every file is its role's own inode; a DP
	 * release always is. */
	n = ns_intern(d->ns, p->ino, name,
		      (d->per_role || sbx_dp_is(e.sub)) && e.kind != NS_DIR &&
				      e.kind != NS_VDIR && e.kind != NS_DPDIR
			      ? c->role
		      : e.kind == NS_VIEW ? sbx_role_key(e.ds, c->role)
					  : "",
		      e.kind, e.rel, e.ds, e.sub);
	if (!n)
		return -ENOMEM;
	*out = n;
	return 0;
}

bool dmn_lower_has(struct dmn *d, const struct ns_node *p, const char *name,
		   bool *is_dir)
{
	struct dmn_lower_ent e;
	struct stat st;

	if (!p || dmn_lower_resolve(d, p, name, &e, &st))
		return false;
	if (is_dir)
		*is_dir = e.kind == NS_DIR || e.kind == NS_VDIR ||
			  e.kind == NS_DPDIR;
	return true;
}

bool dmn_lower_is_dir(const struct ns_node *n)
{
	return n &&
	       (n->kind == NS_DIR || n->kind == NS_VDIR || n->kind == NS_DPDIR);
}

/* The entries of _dp folder p. */
static int dmn_dp_children(struct dmn *d, const struct ns_node *p,
			   dmn_child_fn fn, void *arg)
{
	const struct cfg *cfg = d->sbx->cfg;
	const char *in = dmn_dp_inner(p);
	size_t il = in[0] ? strlen(in) - 1 : 0; /* without its '/' */
	char name[DMN_NAME_MAX + 1];
	int rc = 0;

	if (p->ds) {
		for (size_t i = 0; !rc && i < p->ds->naggs; i++)
			for (size_t x = 0;
			     !rc && x < SPOT_ARRAY_SIZE(dmn_dp_exts); x++) {
				int n = snprintf(name, sizeof(name), "%s.%s",
						 p->ds->aggs[i].name,
						 dmn_dp_exts[x]);

				if (dmn_dp_ext_on(p->ds, x) && n > 0 &&
				    (size_t)n < sizeof(name))
					rc = fn(arg, name, false);
			}
		return rc;
	}
	/* The next component of every dataset with aggregates under it,
	 * each once (datasets are sorted by name). */
	name[0] = 0;
	for (size_t i = 0; !rc && i < cfg->ndatasets; i++) {
		const char *dn = cfg->datasets[i].name, *next, *end;
		size_t l;

		if (!cfg->datasets[i].naggs)
			continue;
		if (il && (strncmp(dn, in + 1, il) || dn[il] != '/'))
			continue;
		next = il ? dn + il + 1 : dn;
		end = strchr(next, '/');
		l = end ? (size_t)(end - next) : strlen(next);
		if (l > DMN_NAME_MAX || (!strncmp(name, next, l) && !name[l]))
			continue;
		memcpy(name, next, l);
		name[l] = 0;
		rc = fn(arg, name, true);
	}
	return rc;
}

/*
 * Open source folder p for listing: a passthrough folder as the caller,
 * and only if it still is the folder the kernel checked (dmn_pin_check).
 */
static int dmn_lower_opendir(struct dmn *d, const struct ns_node *p, int *fd)
{
	struct stat st;
	int in, rc;

	if (!dmn_rel_is_pass(d, p->relpath))
		return src_opendir(d->sbx->srcfd, p->relpath, fd);
	in = dmn_pass_enter();
	if (in < 0)
		return in;
	rc = src_opendir(d->sbx->srcfd, p->relpath, fd);
	dmn_pass_leave(in);
	if (rc)
		return rc;
	if (!dmn_act.on) /* the daemon's own walk: no kernel check to match */
		return 0;
	if (fstat(*fd, &st))
		rc = -errno;
	else
		rc = dmn_pin_check(p, st.st_dev, st.st_ino);
	if (rc) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

int dmn_lower_children(struct dmn *d, const struct ns_node *p, dmn_child_fn fn,
		       void *arg)
{
	const struct cfg *cfg = d->sbx->cfg;
	struct dirent *de;
	DIR *dp;
	int fd = -1, rc = 0;

	if (p->kind == NS_VDIR) {
		const struct sbx_objs *o;
		char name[DMN_NAME_MAX + 1];

		if (sbx_sqlite_objs_get(d->sbx, p->ds, &o))
			return -EIO; /* not an empty folder */
		for (size_t i = 0; !rc && o && i < o->n; i++) {
			int n = snprintf(name, sizeof(name), "%s.csv",
					 o->names[i]);

			if (n > 0 && (size_t)n < sizeof(name))
				rc = fn(arg, name, false);
		}
		return rc;
	}
	if (p->kind == NS_DPDIR)
		return dmn_dp_children(d, p, fn, arg);
	if (!p->relpath[0] && dmn_dp_on(d))
		rc = fn(arg, DMN_DP_DIR, true);
	for (size_t i = 0; !rc && i < cfg->ndatasets; i++) {
		const struct cfg_dataset *ds = &cfg->datasets[i];
		char sn[PATH_MAX + 32];
		const char *sf;

		if (!ds->synth || !dmn_ds_in_dir(ds, p->relpath))
			continue;
		for (size_t x = 0; !rc && x < SPOT_ARRAY_SIZE(dmn_dp_exts); x++)
			if (dmn_dp_ext_on(ds, x) &&
			    (sf = dmn_syn_name(ds, x, sn, sizeof(sn))))
				rc = fn(arg, sf, false);
	}
	for (size_t i = 0; !rc && i < cfg->ndatasets; i++) {
		const struct cfg_dataset *ds = &cfg->datasets[i];
		char dn[DMN_NAME_MAX + 8];

		char fname[PATH_MAX + 16];
		const char *base;
		unsigned forms;
		bool self;

		if (!dmn_ds_in_dir(ds, p->relpath))
			continue;
		if (sbx_has_objects(d->sbx, ds)) {
			sbx_sqlite_dirname(ds, dn, sizeof(dn));
			rc = fn(arg, dn, true);
			continue;
		}
		forms = sbx_forms(d->sbx, ds, &self);
		for (int f = VIEW_FMT_UNKNOWN + 1; !rc && f < VIEW_FMT_COUNT;
		     f++)
			if ((forms & VIEW_FMT_BIT(f)) &&
			    (base = dmn_form_name(d, ds, (enum view_fmt)f,
						  fname, sizeof(fname))))
				rc = fn(arg, base, false);
	}
	if (!rc)
		rc = dmn_lower_opendir(d, p, &fd);
	if (rc)
		return rc;
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return -ENOMEM;
	}
	rewinddir(dp);
	while (!rc && (de = readdir(dp))) {
		bool is_dir = false;
		mode_t type;
		const char *form;

		/* Symlinks, FIFOs, sockets, devices: never listed. */
		if (!src_entry_servable(dirfd(dp), de->d_name, de->d_type,
					&type) ||
		    !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    dmn_vdir_ds(d, p, de->d_name) || /* listed above */
		    dmn_form_ds(d, p, de->d_name, &form) ||
		    dmn_syn_ds(d, p, de->d_name, NULL) ||
		    (!p->relpath[0] && !strcmp(de->d_name, DMN_DP_DIR) &&
		     dmn_dp_on(d)))
			continue;
		if (dmn_lower_has(d, p, de->d_name, &is_dir))
			rc = fn(arg, de->d_name, is_dir);
	}
	closedir(dp);
	return rc;
}

/*
 * A build refused because its source changed while it was read (a torn
 * view, see sandbox.c): on record once per build, by whoever saw it first
 * (an open, or a getattr whose caller is not known here).
 */
static void dmn_build_changed(struct dmn *d, const struct ns_node *n,
			      struct vc_view *v, const struct dmn_caller *c)
{
	struct aud_event ev;
	char path[PATH_MAX];

	if (v->state != VC_FAILED || v->err != -ESTALE ||
	    __atomic_exchange_n(&v->noted, true, __ATOMIC_ACQ_REL))
		return;
	dmn_node_path(d, n, path, sizeof(path));
	spot_log(SPOT_LOG_ERR,
		 "%s: the source changed while its view was built: refused",
		 path);
	aud_event_init(&ev, AUD_EV_SOURCE_CHANGED, NULL);
	ev.path = path;
	ev.decision = "error";
	ev.reason = "source changed";
	dmn_audit(d, &ev, c, false);
}

/* vc_get naming the caller, whom status shows while the build runs. */
static int dmn_view_get(struct dmn *d, const struct ns_node *n,
			const struct dmn_caller *c, struct vc_view **v)
{
	struct vc_caller w = { 0, 0 };

	int rc;

	if (c) {
		w.uid = (uint32_t)c->uid;
		w.pid = (int32_t)c->pid;
	}
	*v = vc_peek(d->sbx->views, n->ds->name, n->sub, dmn_view_key(n));
	if (*v)
		return 0; /* built: nothing to wait for */
	/*
	 * A caller waiting on a build holds one of the daemon's threads:
	 * some are kept for everything else, so callers piling onto a slow
	 * build (any user can) never freeze the mount for the others.
	 */
	if (__atomic_add_fetch(&d->build_waiters, 1, __ATOMIC_RELAXED) >
	    DMN_BUILD_WAITERS_MAX) {
		__atomic_sub_fetch(&d->build_waiters, 1, __ATOMIC_RELAXED);
		return -EAGAIN;
	}
	rc = vc_get_by(d->sbx->views, n->ds->name, n->sub, dmn_view_key(n),
		       c ? &w : NULL, v);
	__atomic_sub_fetch(&d->build_waiters, 1, __ATOMIC_RELAXED);
	return rc;
}

/* Whether the policy of view n's dataset decides each caller (access()). */
static bool dmn_per_caller(struct dmn *d, const struct ns_node *n)
{
	struct pol_engine *eng = sbx_engine(d->sbx, n->ds);

	return eng && pol_engine_has_access(eng);
}

/*
 * Whether the policy's access() would refuse this thread's caller an open
 * of view n (an unknown caller, or a failing policy: refused). Only asked
 * of datasets whose policy has access(); their views are per role, with
 * attribute timeout 0, so every caller's stat comes here. Callers of one
 * role share the inode, so its size the kernel holds flips between 0 and
 * the view's: opens of it are direct I/O (dmn_open_lower).
 */
static bool dmn_access_denied(struct dmn *d, const struct ns_node *n)
{
	if (!dmn_per_caller(d, n))
		return false;
	return !dmn_act.on || dmn_view_access(d, n, &dmn_act.who) != 0;
}

/*
 * The view of a node for attributes: NULL if the caller may not open it
 * (allow:, or access()), or (with wait false) if it is not built yet.
 */
static struct vc_view *dmn_node_view(struct dmn *d, const struct ns_node *n,
				     const char *role, bool wait)
{
	struct vc_view *v = NULL;

	/* No build, and no size, for a caller who cannot open it. */
	if (!cfg_dataset_allows(n->ds, role))
		return NULL;
	if (!wait) {
		/* Nothing built shows size 0 anyway: access() not asked. */
		v = vc_peek(d->sbx->views, n->ds->name, n->sub,
			    dmn_view_key(n));
		if (v && dmn_access_denied(d, n)) {
			vc_put(v);
			v = NULL;
		}
		return v;
	}
	if (dmn_access_denied(d, n) ||
	    dmn_view_get(d, n, dmn_act.on ? &dmn_act.who : NULL, &v))
		return NULL;
	dmn_build_changed(d, n, v, NULL);
	return v;
}

/*
 * Source mode, owner and group, never widened (set-id bits dropped), so
 * default_permissions protects what the source protects.
 */
static void dmn_src_owner(struct stat *st, const struct stat *src)
{
	st->st_mode = (st->st_mode & S_IFMT) |
		      (src->st_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID));
	st->st_uid = src->st_uid;
	st->st_gid = src->st_gid;
}

int dmn_lower_attr(struct dmn *d, const struct ns_node *n, const char *role,
		   bool wait, bool *unready, struct stat *st)
{
	struct vc_view *v = NULL;
	struct stat src;
	int rc = n->kind == NS_PASS || n->kind == NS_DIR
			 ? dmn_entry_stat(d, n->relpath, &src)
		 : n->kind == NS_DPDIR ? dmn_src_stat(d, "", &src)
				       : dmn_src_stat(d, n->relpath, &src);

	if (rc)
		return rc;
	if (n->kind == NS_PASS || n->kind == NS_DIR)
		dmn_pin_set(n, &src); /* what the kernel will check */
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = d->owner;
	st->st_gid = d->owner_gid;
	st->st_atim = src.st_atim;
	st->st_mtim = src.st_mtim;
	st->st_ctim = src.st_ctim;
	st->st_blksize = 4096;
	switch (n->kind) {
	case NS_DIR:
	case NS_VDIR:
	case NS_DPDIR:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		if (n->kind == NS_DIR && n->ino != NS_ROOT_INO)
			dmn_src_owner(st, &src); /* a 0700 folder stays 0700 */
		break;
	case NS_VIEW:
		/* A DP release the role has not paid for is not even built. */
		if (dmn_dp_hidden(d, n, role,
				  dmn_act.on ? &dmn_act.who : NULL)) {
			st->st_mode = S_IFREG | 0444;
			st->st_nlink = 1;
			if (unready)
				*unready = true;
			break;
		}
		v = dmn_node_view(d, n, role, wait);
		if (unready)
			*unready = !v || v->state != VC_READY;
		/* Per-role views cannot be copied up: show them read-only. */
		st->st_mode = S_IFREG | (dmn_view_key(n)[0] ? 0444 : 0644);
		st->st_nlink = 1;
		st->st_size = (v && v->state == VC_READY)
				      ? (off_t)v->content.size
				      : 0;

		/* The pinned source's mtime: a rebuilt view shows its own. */
		if (v && v->state == VC_READY &&
		    (v->content.src_mtime.tv_sec ||
		     v->content.src_mtime.tv_nsec))
			st->st_mtim = v->content.src_mtime;
		vc_put(v);
		break;
	case NS_PASS:
		st->st_mode = S_IFREG;
		st->st_nlink = 1;
		st->st_size = src.st_size;
		dmn_src_owner(st, &src); /* a 0600 file stays 0600 */
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

double dmn_lower_timeout(struct dmn *d, const struct ns_node *n)
{
	/* Per-role overlay: what a name is differs by role; ask each walk. */
	if (d->per_role)
		return DMN_TTL_ROLE;
	if (n->kind != NS_VIEW)
		return DMN_TTL_SOURCE;
	/* Per-role views must be looked up again by every caller. */
	return n->role[0] ? 0.0 : DMN_TTL_VIEW;
}

double dmn_lower_attr_timeout(struct dmn *d, const struct ns_node *n)
{
	/* Folders are one inode for all roles, with per-role twins. */
	if (d->per_role && dmn_lower_is_dir(n))
		return DMN_TTL_ROLE;
	if (n->kind != NS_VIEW)
		return DMN_TTL_SOURCE;
	return dmn_view_key(n)[0] ? 0.0 : DMN_TTL_VIEW;
}

int dmn_view_access(struct dmn *d, const struct ns_node *n,
		    const struct dmn_caller *c)
{
	struct pol_engine *eng = sbx_engine(d->sbx, n->ds);
	struct spot_err err = { "" };
	struct pol_ctx ctx;
	char reason[256] = "";
	bool allowed = false;
	int rc;

	if (n->role[0] && strcmp(n->role, c->role) != 0)
		return -EACCES; /* a node looked up for another role */
	if (!cfg_dataset_allows(n->ds, c->role))
		return -EACCES;
	if (!eng || !pol_engine_has_access(eng))
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.uid = c->uid;
	ctx.gid = c->gid;
	ctx.groups = c->groups;
	ctx.ngroups = c->ngroups;
	ctx.role = c->role;
	ctx.pid = c->pid;
	ctx.dataset = n->ds->name;
	ctx.path = n->relpath;
	rc = pol_engine_access(eng, &ctx, &allowed, reason, sizeof(reason),
			       &err);
	if (rc) {
		spot_log(SPOT_LOG_ERR, "%s: access policy failed: %s",
			 n->ds->name, err.msg);
		return -EIO;
	}
	return allowed ? 0 : -EACCES;
}

/* ---- lookup and attributes ---- */

/* The first request proves INIT is done: now read-ahead can be raised. */
static void dmn_ra_once(struct dmn *d)
{
	if (d->mountpoint &&
	    !__atomic_exchange_n(&d->ra_tuned, 1, __ATOMIC_ACQ_REL))
		dmn_tune_readahead(d->mountpoint, &d->mnt_dev);
}

static void dmn_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	struct ovl_node *up, *un;
	struct ns_node *p, *n;
	struct fuse_entry_param e;
	struct stat src;
	enum ovl_hit hit = OVL_MISS;
	bool pending = false;
	int rc;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	up = ovl_node_get(t, parent);
	dmn_ra_once(d);
	if (strlen(name) > DMN_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if (up) {
		rc = ovl_lookup(t, up, name, &hit, &un);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
		if (hit == OVL_FOUND) {
			dmn_reply_upper_entry(d, t, req, un);
			return;
		}
		if (hit == OVL_HIDDEN) {
			fuse_reply_err(req, ENOENT);
			return;
		}
	}
	p = ns_get(d->ns, parent);
	if (!dmn_lower_is_dir(p)) {
		fuse_reply_err(req, (!p || up) ? ENOENT : ENOTDIR);
		return;
	}
	dmn_act_begin(req, &c); /* passthrough entries: as the caller */
	rc = dmn_lower_lookup(d, p, name, &c, &n, &src);
	/* Never waits for a build: the kernel holds the folder's lock
	 * across a lookup, so a build here would stall the folder. */
	if (!rc)
		rc = dmn_lower_attr(d, n, c.role, false, &pending, &e.attr);
	dmn_act_end();
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	e.ino = n->ino;
	e.generation = 0;
	e.entry_timeout = dmn_lower_timeout(d, n);
	e.attr_timeout = pending ? 0.0 : dmn_lower_attr_timeout(d, n);
	if (fuse_reply_entry(req, &e) == -ENOENT)
		ns_forget(d->ns, n->ino, 1);
}

static void dmn_forget_one(struct dmn *d, fuse_ino_t ino, uint64_t nlookup)
{
	struct ovl_node *up;
	struct ovl_tree *t;
	uint64_t rest = nlookup - ns_forget(d->ns, ino, nlookup);

	if (!rest)
		return;
	t = dmn_ovl_of_ino(d, ino);
	up = t ? ovl_node_get(t, ino) : NULL;
	if (up)
		ovl_node_forget(t, up, rest);
}

static void dmn_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	dmn_forget_one(fuse_req_userdata(req), ino, nlookup);
	fuse_reply_none(req);
}

static void dmn_forget_multi(fuse_req_t req, size_t count,
			     struct fuse_forget_data *forgets)
{
	struct dmn *d = fuse_req_userdata(req);

	for (size_t i = 0; i < count; i++)
		dmn_forget_one(d, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void dmn_getattr(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	struct ovl_node *up;
	struct ns_node *n;
	struct stat st;
	bool unready = false;
	int rc;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	up = ovl_node_get(t, ino);
	(void)fi;
	dmn_ra_once(d);
	if (up) {
		ovl_node_stat(t, up, &st);
		fuse_reply_attr(req, &st, dmn_upper_attr_ttl(d, up));
		return;
	}
	n = ns_get(d->ns, ino);
	if (!n || !dmn_lower_for(d, n, c.role)) {
		fuse_reply_err(req, ENOENT); /* none, or another role's */
		return;
	}
	dmn_act_begin(req, &c); /* passthrough entries: as the caller */
	rc = dmn_lower_attr(d, n, c.role, true, &unready, &st);
	dmn_act_end();
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st,
				unready ? 0.0 : dmn_lower_attr_timeout(d, n));
}

/* ---- files ---- */

static void dmn_view_gen(struct dmn *d, struct ns_node *n,
			 const struct vc_view *v, struct fuse_file_info *fi)
{
	uint64_t prev =
		__atomic_exchange_n(&n->view_gen, v->gen, __ATOMIC_ACQ_REL);

	/* gen > 1: rebuilt, also after a failed build whose size 0 the
	 * kernel may still hold from a getattr. */
	fi->keep_cache = prev == v->gen || (prev == 0 && v->gen == 1);
	if (fi->keep_cache)
		return;
	spot_log(SPOT_LOG_WARN, "%s: the source changed: view rebuilt",
		 n->relpath);
	/* The old size and mtime must not stay cached either. */
	if (d->se)
		fuse_lowlevel_notify_inval_inode(d->se, n->ino, -1, 0);
}

/* A pinned source changed under an open handle: audit, fail the read. */
static void dmn_source_changed(struct dmn *d, const struct dmn_fh *fh)
{
	struct aud_event ev;
	char path[PATH_MAX];

	dmn_node_path(d, fh->low, path, sizeof(path));
	spot_log(SPOT_LOG_ERR,
		 "%s: the source changed since it was opened: read refused",
		 path);
	aud_event_init(&ev, AUD_EV_SOURCE_CHANGED, NULL);
	ev.path = path;
	ev.decision = "error";
	ev.reason = "source changed";
	dmn_audit(d, &ev, &fh->who, false);
}

static int dmn_open_lower(struct dmn *d, struct ns_node *n,
			  const struct dmn_caller *c, struct dmn_fh *fh,
			  struct fuse_file_info *fi)
{
	const char *why = NULL;
	int rc = 0, arc;

	fh->low = n;
	fh->who = *c;
	fh->who.groups = NULL; /* the request's: gone after it */
	fh->who.ngroups = 0;
	if (n->kind == NS_PASS) {
		/* As the caller, the file the kernel checked; pinned: each
		 * read checks fd still is this file. */
		rc = dmn_pass_open(d, n, &fh->fd, &fh->pin);
		if (rc)
			fh->fd = -1;
	} else {
		uint8_t rel[32];

		rc = dmn_view_access(d, n, c);
		if (!rc) /* quota: EDQUOT once the role was served its limit */
			rc = dmn_quota_open(d, n, c, fh, fi);
		/* A DP release: charged to the role before it is built. */
		if (!rc && (rc = dmn_dp_open(d, n, c, rel, fi)))
			why = rc == -EDQUOT ? "dp budget" : "dp ledger";
		if (!rc)
			rc = dmn_view_get(d, n, c, &fh->view);
		if (rc == -EAGAIN) {
			why = "too many callers wait on view builds: try again";
			spot_log(SPOT_LOG_WARN, "%s: %s", n->relpath, why);
		}
		if (!rc && fh->view->state != VC_READY) {
			/* Built while its source changed: refused, on record. */
			dmn_build_changed(d, n, fh->view, &fh->who);
			spot_log(SPOT_LOG_ERR, "%s", fh->view->msg);
			why = fh->view->msg; /* no row values: see vcache.h */
			rc = -EIO;
		}
		/* ... and the one built is the one charged (else the source
		 * changed in between: refused, the next open charges anew). */
		if (!rc && sbx_dp_charged(n->sub) &&
		    memcmp(fh->view->content.release, rel, sizeof(rel))) {
			why = "the source changed while its DP release was "
			      "charged";
			spot_log(SPOT_LOG_ERR, "%s: %s", n->relpath, why);
			rc = -EIO;
		}
		/* A view never changes: keep the page cache, unless the
		 * source changed and this is a rebuilt view (new generation). */
		if (!rc)
			dmn_view_gen(d, n, fh->view, fi);
		/* access(): a denied caller's stat of this inode shows size 0
		 * (dmn_access_denied); reads must not stop at the size the
		 * kernel holds, nor be served from pages it dropped. */
		if (!rc && dmn_per_caller(d, n))
			fi->direct_io = 1;
		if (!rc && fi->direct_io) /* quota: counted reads only */
			fi->keep_cache = 0;
	}
	/* No data flows before the decision is on record (fail closed). */
	arc = dmn_audit_open(d, n, c, rc, why);
	if (!rc && arc) {
		if (fh->fd >= 0)
			close(fh->fd);
		fh->fd = -1;
		rc = arc;
	}
	return rc;
}

static void dmn_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	struct ovl_node *up;
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct ns_node *n = NULL;
	struct dmn_fh *fh;
	int rc = 0;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	up = ovl_node_get(t, ino);
	if (!up) {
		n = ns_get(d->ns, ino);
		/* Another role's inode is not there for this caller. */
		if (!n || !dmn_lower_for(d, n, c.role)) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		if (dmn_lower_is_dir(n)) {
			fuse_reply_err(req, EISDIR);
			return;
		}
	}
	fh = calloc(1, sizeof(*fh));
	if (!fh) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fh->fd = -1;
	if (dmn_closing(d))
		rc = -EIO; /* expiring, or the audit log is down */
	/* Passthrough sources (and a copy-up's): as the caller. */
	dmn_act_begin(req, &c);
	if (!rc && !up && writing) {
		/* First write: copy the masked bytes up, then write there
		 * (a view's copy-up is decided, charged and audited as an
		 * open of it, see dmn_copy_up). */
		rc = dmn_copy_up(d, t, &c, ino, !(fi->flags & O_TRUNC), &up);
	}
	if (!rc && up) {
		if (S_ISDIR(ovl_node_type(up)))
			rc = -EISDIR;
		else if (!S_ISREG(ovl_node_type(up)))
			rc = -ENXIO;
		if (!rc && (fi->flags & O_TRUNC) && writing) {
			struct ovl_setattr sa = { .valid = OVL_SET_SIZE };

			rc = ovl_setattr(t, up, &sa, NULL);
		}
		if (!rc)
			rc = dmn_fh_open_upper(d, fh, t, up, &c, writing);
		if (!rc) {
			/* Every write goes through this kernel's page cache, so
			 * it never goes stale: keep it across opens. */
			fi->keep_cache = 1;
		}
	} else if (!rc) {
		rc = dmn_open_lower(d, n, &c, fh, fi);
	}
	dmn_act_end();
	if (rc) {
		vc_put(fh->view); /* a refused open (EIO, EDQUOT) holds none */
		free(fh);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)fh;
	__atomic_add_fetch(&d->open_files, 1, __ATOMIC_RELAXED);
	dmn_fh_track(d, fh);
	/* An interrupted opener: nothing will release the handle. */
	if (fuse_reply_open(req, fi) == -ENOENT)
		dmn_fh_close(d, fh);
}

static void dmn_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_fh *fh = (struct dmn_fh *)(uintptr_t)fi->fh;
	struct vc_view *view;
	const uint8_t *data;
	uint64_t vsize;
	ssize_t n;
	char *buf;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* Expiry under way: nothing more leaves, not even a held handle. */
	if (dmn_ending(d)) {
		fuse_reply_err(req, EIO);
		return;
	}
	if (size > DMN_IO_MAX)
		size = DMN_IO_MAX;
	/* quota: a role served its limit reads no more (EDQUOT). */
	if (fh->counted && dmn_quota_read(d, fh)) {
		fuse_reply_err(req, EDQUOT);
		return;
	}
	/* A view held in one buffer is sent from it: no copy, no allocation. */
	if (fh->view && vc_view_data_lock(view = fh->view, &data, &vsize)) {
		size_t n0 = (uint64_t)off >= vsize ? 0
			    : (size_t)(vsize - (uint64_t)off) < size
				    ? (size_t)(vsize - (uint64_t)off)
				    : size;

		__atomic_add_fetch(&fh->bytes_read, (uint64_t)n0,
				   __ATOMIC_RELAXED);
		dmn_quota_served(d, fh, n0);
		/* Sent before the unlock: the spill thread may free it. The
		 * reply lets a release free fh: the view (which lives until
		 * unmount) is not reached through it afterwards. */
		fuse_reply_buf(req, n0 ? (const char *)data + off : NULL, n0);
		vc_view_data_unlock(view);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fh->up) {
		n = ovl_file_pread(fh->ovl, fh->up, buf, size, off);
		/* A short count before the end means a block failed: ask for
		 * the rest, so the error is replied, not a truncated file. */
		while (n > 0 && (size_t)n < size) {
			ssize_t m = ovl_file_pread(fh->ovl, fh->up, buf + n,
						   size - (size_t)n,
						   off + (off_t)n);

			if (m <= 0) {
				n = m < 0 ? m : n;
				break;
			}
			n += m;
		}
		if (n == -EIO) {
			struct aud_event ev;

			aud_event_init(&ev, AUD_EV_INTEGRITY_ERROR, NULL);
			ev.detail = "an overlay block failed authentication";
			dmn_audit(d, &ev, NULL, false);
		}
	} else {
		/* A passed-through file is read into a buffer, not spliced:
		 * the bytes leave only if the pin held before and after the
		 * read (a rewrite in place landing in between is refused). */
		n = fh->fd >= 0
			    ? src_pread_pinned(fh->fd, &fh->pin, buf, size, off)
			    : vc_view_read(fh->view, buf, size, (uint64_t)off);
		if (n == -ESTALE) {
			dmn_source_changed(d, fh);
			n = -EIO;
		}
	}
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
	} else {
		__atomic_add_fetch(&fh->bytes_read, (uint64_t)n,
				   __ATOMIC_RELAXED);
		dmn_quota_served(d, fh, (uint64_t)n);
		fuse_reply_buf(req, buf, (size_t)n);
	}
	free(buf);
}

static void dmn_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		      size_t size, off_t off, struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_fh *fh = (struct dmn_fh *)(uintptr_t)fi->fh;
	ssize_t n;

	(void)ino;
	if (!fh->up) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if (dmn_ending(d)) {
		fuse_reply_err(req, EIO);
		return;
	}
	n = ovl_file_pwrite(fh->ovl, fh->up, buf, size, off);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	__atomic_add_fetch(&fh->bytes_written, (uint64_t)n, __ATOMIC_RELAXED);
	fuse_reply_write(req, (size_t)n);
}

static void dmn_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void dmn_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		      struct fuse_file_info *fi)
{
	struct dmn_fh *fh = (struct dmn_fh *)(uintptr_t)fi->fh;
	int rc = 0;

	(void)ino;
	if (fh->up && ovl_node_file(fh->up))
		rc = seal_file_fsync(ovl_node_file(fh->up), datasync != 0);
	fuse_reply_err(req, -rc);
}

/*
 * Per-open totals: bytes the daemon served through this open, and rows
 * when that was the whole view (else -1). Reads the kernel answered from
 * its page cache (a second open of a cached view) never reach the daemon
 * and are not counted: the record says so, since bytes=0 does not mean
 * nothing was read.
 */
static void dmn_audit_release(struct dmn *d, const struct dmn_fh *fh)
{
	struct aud_event ev;
	char path[PATH_MAX];

	if (fh->low) {
		aud_event_init(&ev, AUD_EV_RELEASE, NULL);
		dmn_node_path(d, fh->low, path, sizeof(path));
		ev.path = path;
		ev.bytes = (int64_t)fh->bytes_read;
		ev.detail = "bytes served by the daemon; reads from the "
			    "kernel page cache are not counted";
		if (fh->view && fh->bytes_read >= fh->view->content.size)
			ev.rows = (int64_t)fh->view->content.rows_out;
		dmn_audit(d, &ev, &fh->who, false);
	} else if (fh->up && fh->bytes_written) {
		aud_event_init(&ev, AUD_EV_OVERLAY_WRITE, NULL);
		ev.path = fh->opath;
		ev.bytes = (int64_t)fh->bytes_written;
		ev.detail = "overlay file written";
		dmn_audit(d, &ev, &fh->who, false);
	}
}

static void dmn_release(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_fh *fh = (struct dmn_fh *)(uintptr_t)fi->fh;

	(void)ino;
	dmn_audit_release(d, fh);
	dmn_fh_close(d, fh);
	fuse_reply_err(req, 0);
}

static void dmn_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	struct statvfs sv;
	int rc;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	(void)ino;
	memset(&sv, 0, sizeof(sv));
	rc = ovl_statfs(t, &sv);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	sv.f_namemax = DMN_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static void dmn_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* O_TRUNC arrives with open, so a truncating open skips copying. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/*
	 * Lookups and readdirs of one folder at once (libfuse's default,
	 * asked explicitly so no option can drop it): without it the kernel
	 * serialises them per folder. The kernel still takes the folder's
	 * lock for each lookup (shared) and create (exclusive), which is why
	 * lookups never build (dmn_lookup). Concurrent requests in one
	 * folder are safe here: ns, each overlay tree and the view cache
	 * take their own locks per call, none across a build.
	 */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	else
		spot_log(SPOT_LOG_WARN, "the kernel serialises lookups in a "
					"folder: builds may hold up a folder");
	/* Listings carry names and types only, never attributes (no
	 * readdirplus): no listing ever waits for a build. */
	conn->want &=
		~(unsigned)(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
}

const struct fuse_lowlevel_ops dmn_ops = {
	.init = dmn_init,
	.lookup = dmn_lookup,
	.forget = dmn_forget,
	.forget_multi = dmn_forget_multi,
	.getattr = dmn_getattr,
	.setattr = dmn_setattr,
	.readlink = dmn_readlink,
	.mknod = dmn_mknod,
	.mkdir = dmn_mkdir,
	.unlink = dmn_unlink,
	.rmdir = dmn_rmdir,
	.symlink = dmn_symlink,
	.rename = dmn_rename,
	.link = dmn_link,
	.open = dmn_open,
	.read = dmn_read,
	.write = dmn_write,
	.flush = dmn_flush,
	.release = dmn_release,
	.fsync = dmn_fsync,
	.opendir = dmn_opendir,
	.readdir = dmn_readdir,
	.releasedir = dmn_releasedir,
	.statfs = dmn_statfs,
	.setxattr = dmn_setxattr,
	.getxattr = dmn_getxattr,
	.listxattr = dmn_listxattr,
	.removexattr = dmn_removexattr,
	.create = dmn_create,
	.fallocate = dmn_fallocate,
};
