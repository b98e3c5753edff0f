/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * manifest.c - the virtual folder MNT/.spotfs/ (manifest.json and README):
 * what the caller is looking at, written for the caller.
 *
 * The folder and its two files have fixed inode numbers just below the
 * overlay's range (daemon_i.h), which neither ns nor any overlay tree ever
 * hands out. Every FUSE request passes through the wrappers below first:
 * a request about one of the three inodes, or about the name ".spotfs" in
 * the root, is answered here and never reaches the daemon's handlers; every
 * other request goes on unchanged (dmn_ops). So the folder can never be
 * written, copied up, renamed or removed, and a source entry or overlay
 * name ".spotfs" in the root is shadowed by it (the source one is hidden
 * and recorded once in the audit log at mount).
 *
 * Privacy: the content depends on the caller's role, so it is rendered per
 * request and served with direct I/O (the kernel never caches it: no
 * caller is ever served another's page cache) and zero attribute and entry
 * timeouts. It names only the datasets the caller's role may open
 * (allow:), and for each column only whether it is masked and the method's
 * name: never a secret, a key, a pattern or any other parameter.
 */
#include "daemon_i.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "engine.h"
#include "manifest.h"
#include "methods.h"

#define META_NAME ".spotfs"
#define META_DIR_INO DMN_META_INO_DIR
#define META_JSON_INO DMN_META_INO_JSON
#define META_README_INO DMN_META_INO_README

static bool meta_ino(fuse_ino_t ino)
{
	return ino == META_DIR_INO || ino == META_JSON_INO ||
	       ino == META_README_INO;
}

/* Whether (parent, name) is the virtual folder or something inside it. */
static bool meta_name(fuse_ino_t parent, const char *name)
{
	return (parent == NS_ROOT_INO && !strcmp(name, META_NAME)) ||
	       meta_ino(parent);
}

/* ---- rendering ---- */

static void meta_time(uint64_t left, char *buf, size_t len)
{
	time_t end = time(NULL) + (time_t)left;
	struct tm tm;

	if (!gmtime_r(&end, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "unknown");
}

/* The method of a column rule, by name only (no parameter). */
static const char *meta_method(const struct cfg_column *col)
{
	if (!col)
		return NULL;
	if (!col->has_rule)
		return "policy"; /* a Lua column function */
	return msk_method_name(col->rule.method);
}

struct meta_cols {
	const char **names;
	size_t n, cap;
};

static int meta_cols_add(struct meta_cols *mc, const char *name)
{
	for (size_t i = 0; i < mc->n; i++)
		if (!strcmp(mc->names[i], name))
			return 0;
	if (mc->n == mc->cap) {
		size_t ncap = mc->cap ? mc->cap * 2 : 16;
		const char **nn = realloc(mc->names, ncap * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		mc->names = nn;
		mc->cap = ncap;
	}
	mc->names[mc->n++] = name;
	return 0;
}

/* Every column a rule names for role, in the config's order. */
static int meta_cols_of(const struct cfg_dataset *ds, const struct cfg_table *t,
			const char *role, struct meta_cols *mc)
{
	const struct cfg_rules *sets[4];
	bool dsl[4];
	size_t n = 0;
	int rc = 0;

	cfg_rule_sets(ds, t, role, sets, dsl, &n);
	for (size_t i = n; !rc && i-- > 0;) /* base rules first */
		for (size_t j = 0; !rc && j < sets[i]->ncols; j++)
			rc = meta_cols_add(mc, sets[i]->cols[j].name);
	return rc;
}

/* The columns part of one dataset or table, JSON or text. */
static int meta_columns(struct spot_buf *o, bool json,
			const struct cfg_dataset *ds, const struct cfg_table *t,
			const char *role)
{
	struct meta_cols mc = { 0 };
	enum cfg_unlisted ul = cfg_unlisted_of(ds, t);
	const struct cfg_kanon *k = t && t->kanon ? t->kanon : ds->kanon;
	int rc = meta_cols_of(ds, t, role, &mc);

	if (json)
		spot_buf_printf(o, "\"columns\":[");
	for (size_t i = 0; !rc && i < mc.n; i++) {
		const struct cfg_column *c =
			cfg_column_rule(ds, t, role, mc.names[i]);
		const char *m = meta_method(c);
		bool masked = !c || !c->has_rule || c->rule.method != MSK_KEEP;

		if (json) {
			spot_buf_printf(o, "%s{\"name\":", i ? "," : "");
			spot_buf_json_str(o, mc.names[i]);
			spot_buf_printf(o, ",\"masked\":%s,\"method\":",
					masked ? "true" : "false");
			spot_buf_json_str(o, m ? m : "none");
			spot_buf_printf(o, "}");
		} else {
			char pn[256];

			spot_printable(mc.names[i], pn, sizeof(pn));
			spot_buf_printf(o, "    column %s: %s (%s)\n", pn,
					masked ? "masked" : "not masked",
					m ? m : "none");
		}
	}
	if (json) {
		spot_buf_printf(o, "],\"unlisted_columns\":");
		spot_buf_json_str(o, cfg_unlisted_name(ul));
		spot_buf_printf(o, ",\"k_anonymity\":");
		if (k) {
			spot_buf_printf(o, "{\"k\":%llu,\"quasi\":[",
					(unsigned long long)k->k);
			for (size_t i = 0; i < k->nquasi; i++) {
				if (i)
					spot_buf_putc(o, ',');
				spot_buf_json_str(o, k->quasi[i]);
			}
			spot_buf_printf(o, "]}");
		} else {
			spot_buf_printf(o, "null");
		}
	} else {
		spot_buf_printf(o, "    every other column: %s\n",
				ul == CFG_UNLISTED_KEEP
					? "served unchanged (not masked)"
					: "served empty (redacted)");
		if (k)
			spot_buf_printf(o,
					"    k-anonymity: k=%llu over %zu "
					"quasi-identifier column(s)\n",
					(unsigned long long)k->k, k->nquasi);
	}
	free(mc.names);
	return rc;
}

/* The names a dataset is served under (source-relative), JSON array. */
static void meta_served(struct dmn *d, const struct cfg_dataset *ds,
			struct spot_buf *o, bool json)
{
	char buf[PATH_MAX + 16];
	unsigned forms = 0;
	bool self = true, first = true;

	if (json)
		spot_buf_printf(o, "\"served\":[");
	if (sbx_has_objects(d->sbx, ds)) {
		const struct sbx_objs *ob = sbx_sqlite_objs_cached(d->sbx, ds);
		char dn[DMN_NAME_MAX + 8];
		const char *slash = strrchr(ds->name, '/');
		int dl = slash ? (int)(slash - ds->name + 1) : 0;

		sbx_sqlite_dirname(ds, dn, sizeof(dn));
		/* The masked database itself, then one CSV per table. */
		if (json) {
			spot_buf_printf(o, "{\"name\":");
			spot_buf_json_str(o, ds->name);
			spot_buf_printf(o, ",\"format\":\"sqlite\"}");
		} else {
			char pn[PATH_MAX];

			spot_printable(ds->name, pn, sizeof(pn));
			spot_buf_printf(o, "  served as %s (sqlite)\n", pn);
		}
		first = false;
		for (size_t i = 0; ob && i < ob->n; i++) {
			snprintf(buf, sizeof(buf), "%.*s%s/%s.csv", dl,
				 ds->name, dn, ob->names[i]);
			if (json) {
				spot_buf_printf(
					o, "%s{\"name\":", first ? "" : ",");
				spot_buf_json_str(o, buf);
				spot_buf_printf(o, ",\"format\":\"csv\"}");
			} else {
				char pn[PATH_MAX];

				spot_printable(buf, pn, sizeof(pn));
				spot_buf_printf(o, "  served as %s (csv)\n",
						pn);
			}
			first = false;
		}
		if (json)
			spot_buf_printf(o, "]");
		return;
	}
	forms = sbx_forms(d->sbx, ds, &self);
	/* Pass 0: the dataset itself; then each converted form. */
	for (int pass = 0; pass < VIEW_FMT_COUNT; pass++) {
		const char *name = pass ? NULL : (self ? ds->name : NULL);
		const char *fmt = pass ? view_fmt_name((enum view_fmt)pass)
				       : view_fmt_name(sbx_format(d->sbx, ds));

		if (pass && (forms & VIEW_FMT_BIT(pass)) &&
		    !sbx_form_name_of(d->sbx, ds, (enum view_fmt)pass, buf,
				      sizeof(buf)))
			name = buf;
		if (!name)
			continue;
		if (json) {
			spot_buf_printf(o, "%s{\"name\":", first ? "" : ",");
			spot_buf_json_str(o, name);
			spot_buf_printf(o, ",\"format\":");
			spot_buf_json_str(o, fmt ? fmt : "unknown");
			spot_buf_printf(o, "}");
		} else {
			char pn[PATH_MAX];

			spot_printable(name, pn, sizeof(pn));
			spot_buf_printf(o, "  served as %s (%s)\n", pn,
					fmt ? fmt : "unknown");
		}
		first = false;
	}
	if (json)
		spot_buf_printf(o, "]");
}

/* The DP releases of ds: their files and what each costs. */
static void meta_dp(const struct cfg_dataset *ds, struct spot_buf *o, bool json)
{
	static const char *const kinds[] = { "count", "sum", "mean",
					     "histogram" };
	char e[32], path[PATH_MAX + 64];
	bool first = true;

	if (json)
		spot_buf_printf(o, "\"dp\":[");
	for (size_t i = 0; i <= ds->naggs; i++) {
		const struct cfg_dp_agg *a =
			i < ds->naggs ? &ds->aggs[i] : NULL;

		if (!a && !ds->synth)
			break;
		dp_nano_text(dp_ratio_nano(a ? a->q.epsilon
					     : ds->synth->spec.epsilon),
			     e, sizeof(e));
		if (a)
			snprintf(path, sizeof(path), "_dp/%s/%s.csv", ds->name,
				 a->name);
		else if (cfg_synth_name(ds, VIEW_FMT_CSV, path, sizeof(path)))
			continue;
		if (json) {
			spot_buf_printf(o, "%s{\"file\":", first ? "" : ",");
			spot_buf_json_str(o, path);
			spot_buf_printf(o, ",\"kind\":\"%s\",\"epsilon\":%s}",
					a ? kinds[a->q.kind] : "synthetic", e);
		} else {
			char pp[PATH_MAX];

			spot_printable(path, pp, sizeof(pp));
			spot_buf_printf(o, "  dp: %s (%s, epsilon %s)\n", pp,
					a ? kinds[a->q.kind] : "synthetic", e);
		}
		first = false;
	}
	if (json)
		spot_buf_printf(o, "],");
}

/* The caller's role's epsilon budget and what it spent. */
static void meta_dp_budget(struct dmn *d, const char *role, struct spot_buf *o,
			   bool json)
{
	uint64_t spent, per_role;
	char s[32], r[32], l[32];

	if (dmn_dp_role_use(d, role, &spent, &per_role))
		return;
	dp_nano_text(spent, s, sizeof(s));
	dp_nano_text(per_role, r, sizeof(r));
	dp_nano_text(per_role > spent ? per_role - spent : 0, l, sizeof(l));
	if (json)
		spot_buf_printf(o,
				",\"dp_budget\":{\"per_role\":%s,"
				"\"spent\":%s,\"remaining\":%s}",
				per_role ? r : "null", s,
				per_role ? l : "null");
	else
		spot_buf_printf(o,
				"\nDP budget of your role: spent epsilon %s of "
				"%s (remaining %s). The first open of a DP "
				"file charges it; reopening is free.\n",
				s, per_role ? r : "unlimited",
				per_role ? l : "unlimited");
}

static int meta_dataset(struct dmn *d, const struct cfg_dataset *ds,
			const char *role, struct spot_buf *o, bool json)
{
	struct pol_engine *e = sbx_engine(d->sbx, ds);
	bool row = e && pol_engine_has_row(e);
	bool access = e && pol_engine_has_access(e);
	int rc = 0;

	if (json) {
		spot_buf_printf(o, "{\"name\":");
		spot_buf_json_str(o, ds->name);
		spot_buf_printf(o, ",");
		meta_served(d, ds, o, true);
		spot_buf_printf(o, ",\"row_filter\":%s,\"access_policy\":%s,",
				row ? "true" : "false",
				access ? "true" : "false");
		/* The caller's role's limits and their use (quota.h). */
		spot_buf_printf(o, "\"quota\":[");
		if (d->quota)
			qta_describe(d->quota, qta_ref(d->quota, ds, role), o,
				     true);
		spot_buf_printf(o, "],");
		meta_dp(ds, o, true);
	} else {
		char pn[PATH_MAX];

		spot_printable(ds->name, pn, sizeof(pn));
		spot_buf_printf(o, "\ndataset %s\n", pn);
		meta_served(d, ds, o, false);
		spot_buf_printf(o, "  row filter: %s\n", row ? "yes" : "no");
		if (access)
			spot_buf_printf(o, "  a policy decides each open\n");
		if (d->quota)
			qta_describe(d->quota, qta_ref(d->quota, ds, role), o,
				     false);
		meta_dp(ds, o, false);
	}
	if (ds->ntables) {
		bool first = true;

		if (json)
			spot_buf_printf(o, "\"tables\":[");
		for (size_t i = 0; !rc && i < ds->ntables; i++) {
			const struct cfg_table *t = &ds->tables[i];

			/* Never served (sbx_sqlite_objs): nor named here. */
			if (msk_pii_detect((const uint8_t *)t->name,
					   strlen(t->name)))
				continue;
			if (json) {
				spot_buf_printf(
					o, "%s{\"name\":", first ? "" : ",");
				spot_buf_json_str(o, t->name);
				spot_buf_printf(o, ",");
			} else {
				char pn[256];

				spot_printable(t->name, pn, sizeof(pn));
				spot_buf_printf(o, "  table %s\n", pn);
			}
			rc = meta_columns(o, json, ds, t, role);
			if (json)
				spot_buf_printf(o, "}");
			first = false;
		}
		if (json)
			spot_buf_printf(o, "],");
	} else if (json) {
		spot_buf_printf(o, "\"tables\":[],");
	}
	if (!rc)
		rc = meta_columns(o, json, ds, NULL, role);
	if (json)
		spot_buf_printf(o, "}");
	return rc;
}

/* The manifest (json) or README (text) for caller c into o. */
int meta_render(struct dmn *d, const struct dmn_caller *c, bool json,
		struct spot_buf *o)
{
	const struct cfg *cfg = d->sbx->cfg;
	uint64_t left = d->life ? life_remaining(d->life) : UINT64_MAX;
	const char *id = d->life ? life_id(d->life) : d->sbx->id;
	char when[64];
	size_t shown = 0;
	int rc = 0;

	meta_time(left == UINT64_MAX ? 0 : left, when, sizeof(when));
	if (json) {
		spot_buf_printf(o, "{\"schema\":\"spotfs-manifest/1\","
				   "\"sandbox\":");
		spot_buf_json_str(o, id);
		if (left == UINT64_MAX)
			spot_buf_printf(o, ",\"deadline\":null,"
					   "\"seconds_left\":null");
		else
			spot_buf_printf(o,
					",\"deadline\":\"%s\","
					"\"seconds_left\":%llu",
					when, (unsigned long long)left);
		spot_buf_printf(o, ",\"role\":");
		spot_buf_json_str(o, c->role);
		spot_buf_printf(o, ",\"uid\":%lld,\"datasets\":[",
				(long long)c->uid);
	} else {
		char pr[256];

		spot_printable(c->role, pr, sizeof(pr));
		spot_buf_printf(
			o,
			"This folder is a spotfs sandbox: a masked, read-only "
			"view of source\ndatasets with a private writable "
			"overlay. Nothing written here reaches\nthe source; "
			"everything ends when the sandbox does.\n\n"
			"sandbox: %s\n",
			id);
		if (left == UINT64_MAX)
			spot_buf_printf(o, "deadline: none (no TTL)\n");
		else
			spot_buf_printf(o,
					"deadline: %s (%llu seconds left when "
					"this was read)\n",
					when, (unsigned long long)left);
		spot_buf_printf(o,
				"your role: %s (uid %lld)\n"
				"The same as JSON: .spotfs/manifest.json\n",
				pr, (long long)c->uid);
	}
	for (size_t i = 0; !rc && i < cfg->ndatasets; i++) {
		const struct cfg_dataset *ds = &cfg->datasets[i];

		if (!cfg_dataset_allows(ds, c->role))
			continue; /* another role's: never named */
		if (json && shown)
			spot_buf_putc(o, ',');
		rc = meta_dataset(d, ds, c->role, o, json);
		shown++;
	}
	if (json)
		spot_buf_printf(o, "]");
	else if (!shown)
		spot_buf_printf(o, "\nNo dataset is served to your role.\n");
	meta_dp_budget(d, c->role, o, json);
	if (json)
		spot_buf_printf(o, "}\n");
	return rc;
}

/* ---- the wrapped operations ---- */

struct meta_fh {
	uint8_t *p;
	size_t len;
	uint64_t id;	      /* fi->fh: never reused */
	struct meta_fh *next; /* meta_open_list */
};

/*
 * Open manifest files by id, not by pointer: an interrupted read may still
 * be served after its release (the kernel sends RELEASE once the reader
 * gave up), and a freed pointer could by then be another caller's file.
 */
static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static struct meta_fh *meta_open_list; /* protected by meta_lock */
static uint64_t meta_next_id = 1;      /* protected by meta_lock */

static struct meta_fh **meta_find(uint64_t id)
{
	struct meta_fh **pp = &meta_open_list;

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

static void meta_forget_fh(uint64_t id)
{
	struct meta_fh **pp, *f = NULL;

	pthread_mutex_lock(&meta_lock);
	pp = meta_find(id);
	if (*pp) {
		f = *pp;
		*pp = f->next;
	}
	pthread_mutex_unlock(&meta_lock);
	if (f) {
		free(f->p);
		free(f);
	}
}

static int meta_content(fuse_req_t req, fuse_ino_t ino, struct meta_fh *out)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_caller c;
	struct spot_buf b;
	int rc = dmn_caller_get(d, req, &c);

	if (rc)
		return rc;
	spot_buf_init(&b);
	rc = meta_render(d, &c, ino == META_JSON_INO, &b);
	if (rc) {
		spot_buf_fini(&b);
		return rc;
	}
	out->p = spot_buf_steal(&b, &out->len);
	return 0;
}

static int meta_stat(fuse_req_t req, fuse_ino_t ino, struct stat *st)
{
	struct dmn *d = fuse_req_userdata(req);

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = d->owner;
	st->st_gid = d->owner_gid;
	st->st_blksize = 4096;
	if (ino == META_DIR_INO) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		return 0;
	}
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	if (ino == META_JSON_INO || ino == META_README_INO) {
		struct meta_fh f;
		int rc = meta_content(req, ino, &f);

		if (rc)
			return rc;
		st->st_size = (off_t)f.len;
		st->st_blocks = (blkcnt_t)((f.len + 511) / 512);
		free(f.p);
	}
	return 0;
}

static void meta_reply_entry(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e;
	int rc;

	memset(&e, 0, sizeof(e));
	rc = meta_stat(req, ino, &e.attr);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	e.ino = ino;
	e.entry_timeout = 0.0; /* per caller: ask every time */
	e.attr_timeout = 0.0;
	fuse_reply_entry(req, &e);
}

/*
 * Another user's `spotfs status` (extend, unmount) cannot reach the
 * owner's control socket; the CLI looks up .spotfs/.denied-WHAT instead,
 * so the refusal is on record with the kernel's word for who asked.
 */
static void meta_denied(fuse_req_t req, const char *what)
{
	static const char *const known[] = { "status", "extend", "unmount" };
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_caller c;
	struct aud_event ev;
	size_t i;

	for (i = 0; i < SPOT_ARRAY_SIZE(known); i++)
		if (!strcmp(what, known[i]))
			break;
	if (i < SPOT_ARRAY_SIZE(known) && !dmn_caller_get(d, req, &c) &&
	    c.uid != d->owner) {
		aud_event_init(&ev, AUD_EV_DENY, NULL);
		ev.path = META_NAME;
		ev.decision = "deny";
		ev.reason = "another user's command: permission denied";
		ev.detail = known[i];
		dmn_audit(d, &ev, &c, false);
	}
	fuse_reply_err(req, EACCES);
}

static void meta_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (parent == META_DIR_INO && !strncmp(name, ".denied-", 8))
		meta_denied(req, name + 8);
	else if (parent == NS_ROOT_INO && !strcmp(name, META_NAME))
		meta_reply_entry(req, META_DIR_INO);
	else if (parent == META_DIR_INO && !strcmp(name, "manifest.json"))
		meta_reply_entry(req, META_JSON_INO);
	else if (parent == META_DIR_INO && !strcmp(name, "README"))
		meta_reply_entry(req, META_README_INO);
	else if (meta_ino(parent))
		fuse_reply_err(req, parent == META_DIR_INO ? ENOENT : ENOTDIR);
	else
		dmn_ops.lookup(req, parent, name);
}

static void meta_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	if (meta_ino(ino))
		fuse_reply_none(req); /* fixed inodes: nothing counted */
	else
		dmn_ops.forget(req, ino, nlookup);
}

static void meta_forget_multi(fuse_req_t req, size_t count,
			      struct fuse_forget_data *forgets)
{
	size_t k = 0;

	for (size_t i = 0; i < count; i++)
		if (!meta_ino(forgets[i].ino))
			forgets[k++] = forgets[i];
	dmn_ops.forget_multi(req, k, forgets);
}

static void meta_getattr(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	struct stat st;
	int rc;

	if (!meta_ino(ino)) {
		dmn_ops.getattr(req, ino, fi);
		return;
	}
	rc = meta_stat(req, ino, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, 0.0);
}

static void meta_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			 int to_set, struct fuse_file_info *fi)
{
	if (meta_ino(ino))
		fuse_reply_err(req, EROFS);
	else
		dmn_ops.setattr(req, ino, attr, to_set, fi);
}

static void meta_readlink(fuse_req_t req, fuse_ino_t ino)
{
	if (meta_ino(ino))
		fuse_reply_err(req, EINVAL);
	else
		dmn_ops.readlink(req, ino);
}

static void meta_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, dev_t rdev)
{
	if (meta_name(parent, name))
		fuse_reply_err(req, meta_ino(parent) ? EROFS : EEXIST);
	else
		dmn_ops.mknod(req, parent, name, mode, rdev);
}

static void meta_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode)
{
	if (meta_name(parent, name))
		fuse_reply_err(req, meta_ino(parent) ? EROFS : EEXIST);
	else
		dmn_ops.mkdir(req, parent, name, mode);
}

static void meta_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (meta_name(parent, name))
		fuse_reply_err(req, EROFS);
	else
		dmn_ops.unlink(req, parent, name);
}

static void meta_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (meta_name(parent, name))
		fuse_reply_err(req, EROFS);
	else
		dmn_ops.rmdir(req, parent, name);
}

static void meta_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			 const char *name)
{
	if (meta_name(parent, name))
		fuse_reply_err(req, meta_ino(parent) ? EROFS : EEXIST);
	else
		dmn_ops.symlink(req, link, parent, name);
}

static void meta_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			fuse_ino_t newparent, const char *newname,
			unsigned int flags)
{
	if (meta_name(parent, name) || meta_name(newparent, newname))
		fuse_reply_err(req, EROFS);
	else
		dmn_ops.rename(req, parent, name, newparent, newname, flags);
}

static void meta_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		      const char *newname)
{
	if (meta_ino(ino) || meta_name(newparent, newname))
		fuse_reply_err(req, EROFS);
	else
		dmn_ops.link(req, ino, newparent, newname);
}

static void meta_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct meta_fh *f;
	int rc;

	if (!meta_ino(ino)) {
		dmn_ops.open(req, ino, fi);
		return;
	}
	if (ino == META_DIR_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY ||
	    (fi->flags & (O_TRUNC | O_APPEND | O_CREAT))) {
		fuse_reply_err(req, EROFS);
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = meta_content(req, ino, f);
	if (rc) {
		free(f);
		fuse_reply_err(req, -rc);
		return;
	}
	pthread_mutex_lock(&meta_lock);
	f->id = meta_next_id++;
	f->next = meta_open_list;
	meta_open_list = f;
	pthread_mutex_unlock(&meta_lock);
	fi->fh = f->id;
	fi->direct_io = 1; /* per caller: never in the shared page cache */
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		meta_forget_fh(f->id);
}

static void meta_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct meta_fh *f;

	if (!meta_ino(ino)) {
		dmn_ops.read(req, ino, size, off, fi);
		return;
	}
	/* Replied under the lock: release cannot free it meanwhile. */
	pthread_mutex_lock(&meta_lock);
	f = *meta_find(fi->fh);
	if (!f)
		fuse_reply_err(req, EBADF);
	else if (off < 0 || (size_t)off >= f->len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, (const char *)f->p + off,
			       size < f->len - (size_t)off
				       ? size
				       : f->len - (size_t)off);
	pthread_mutex_unlock(&meta_lock);
}

static void meta_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		       size_t size, off_t off, struct fuse_file_info *fi)
{
	if (meta_ino(ino))
		fuse_reply_err(req, EROFS);
	else
		dmn_ops.write(req, ino, buf, size, off, fi);
}

static void meta_flush(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	if (meta_ino(ino))
		fuse_reply_err(req, 0);
	else
		dmn_ops.flush(req, ino, fi);
}

static void meta_release(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	if (!meta_ino(ino)) {
		dmn_ops.release(req, ino, fi);
		return;
	}
	meta_forget_fh(fi->fh);
	fuse_reply_err(req, 0);
}

static void meta_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi)
{
	if (meta_ino(ino))
		fuse_reply_err(req, 0);
	else
		dmn_ops.fsync(req, ino, datasync, fi);
}

static const char *const meta_ents[] = { ".", "..", "manifest.json", "README" };

static void meta_opendir(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	if (!meta_ino(ino))
		dmn_ops.opendir(req, ino, fi);
	else if (ino != META_DIR_INO)
		fuse_reply_err(req, ENOTDIR);
	else
		fuse_reply_open(req, fi);
}

static void meta_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			 struct fuse_file_info *fi)
{
	static const fuse_ino_t inos[] = { META_DIR_INO, NS_ROOT_INO,
					   META_JSON_INO, META_README_INO };
	char buf[512];
	size_t used = 0;

	if (ino != META_DIR_INO) {
		dmn_ops.readdir(req, ino, size, off, fi);
		return;
	}
	if (size > sizeof(buf))
		size = sizeof(buf);
	for (size_t i = off < 0 ? 0 : (size_t)off; i < 4; i++) {
		struct stat st;
		size_t len;

		memset(&st, 0, sizeof(st));
		st.st_ino = inos[i];
		st.st_mode = i < 2 ? S_IFDIR : S_IFREG;
		len = fuse_add_direntry(req, buf + used, size - used,
					meta_ents[i], &st, (off_t)(i + 1));
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
}

static void meta_releasedir(fuse_req_t req, fuse_ino_t ino,
			    struct fuse_file_info *fi)
{
	if (ino == META_DIR_INO)
		fuse_reply_err(req, 0);
	else
		dmn_ops.releasedir(req, ino, fi);
}

static void meta_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			  const char *value, size_t size, int flags)
{
	if (meta_ino(ino))
		fuse_reply_err(req, EROFS);
	else
		dmn_ops.setxattr(req, ino, name, value, size, flags);
}

static void meta_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			  size_t size)
{
	if (meta_ino(ino))
		fuse_reply_err(req, ENODATA);
	else
		dmn_ops.getxattr(req, ino, name, size);
}

static void meta_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	if (!meta_ino(ino))
		dmn_ops.listxattr(req, ino, size);
	else if (size)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_xattr(req, 0);
}

static void meta_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (meta_ino(ino))
		fuse_reply_err(req, EROFS);
	else
		dmn_ops.removexattr(req, ino, name);
}

static void meta_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, struct fuse_file_info *fi)
{
	if (meta_name(parent, name))
		fuse_reply_err(req, meta_ino(parent) ? EROFS : EEXIST);
	else
		dmn_ops.create(req, parent, name, mode, fi);
}

static void meta_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			   off_t offset, off_t length,
			   struct fuse_file_info *fi)
{
	if (meta_ino(ino))
		fuse_reply_err(req, EROFS);
	else
		dmn_ops.fallocate(req, ino, mode, offset, length, fi);
}

/* A source entry ".spotfs" in the root is shadowed: on record, once. */
static void meta_init(void *userdata, struct fuse_conn_info *conn)
{
	struct dmn *d = userdata;
	struct stat st;

	dmn_ops.init(userdata, conn);
	if (d->sbx && d->sbx->srcfd >= 0 &&
	    fstatat(d->sbx->srcfd, META_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		struct aud_event ev;

		spot_log(SPOT_LOG_WARN,
			 "the source's own %s is hidden: the mount's %s/ "
			 "folder (the manifest) takes its name",
			 META_NAME, META_NAME);
		if (d->life) {
			aud_event_init(&ev, AUD_EV_DENY, NULL);
			ev.path = META_NAME;
			ev.decision = "deny";
			ev.reason = "shadowed by the manifest folder";
			life_audit(d->life, &ev, false);
		}
	}
}

int dmn_meta_ops(struct fuse_lowlevel_ops *ops)
{
	struct fuse_lowlevel_ops rest = dmn_ops, none;

	/* Every handler that takes an inode must be wrapped here, or it
	 * would see the manifest's inodes (and its fi->fh): an operation
	 * the daemon gains that is not wrapped stops the mount. */
	rest.init = NULL;
	rest.lookup = NULL;
	rest.forget = NULL;
	rest.forget_multi = NULL;
	rest.getattr = NULL;
	rest.setattr = NULL;
	rest.readlink = NULL;
	rest.mknod = NULL;
	rest.mkdir = NULL;
	rest.unlink = NULL;
	rest.rmdir = NULL;
	rest.symlink = NULL;
	rest.rename = NULL;
	rest.link = NULL;
	rest.open = NULL;
	rest.read = NULL;
	rest.write = NULL;
	rest.flush = NULL;
	rest.release = NULL;
	rest.fsync = NULL;
	rest.opendir = NULL;
	rest.readdir = NULL;
	rest.releasedir = NULL;
	rest.setxattr = NULL;
	rest.getxattr = NULL;
	rest.listxattr = NULL;
	rest.removexattr = NULL;
	rest.create = NULL;
	rest.fallocate = NULL;
	rest.statfs = NULL; /* no inode-specific answer */
	memset(&none, 0, sizeof(none));
	if (memcmp(&rest, &none, sizeof(none))) {
		spot_log(SPOT_LOG_ERR, "manifest.c does not wrap every FUSE "
				       "operation of the daemon");
		return -EINVAL;
	}
	*ops = dmn_ops;
	ops->init = meta_init;
	ops->lookup = meta_lookup;
	ops->forget = meta_forget;
	ops->forget_multi = meta_forget_multi;
	ops->getattr = meta_getattr;
	ops->setattr = meta_setattr;
	ops->readlink = meta_readlink;
	ops->mknod = meta_mknod;
	ops->mkdir = meta_mkdir;
	ops->unlink = meta_unlink;
	ops->rmdir = meta_rmdir;
	ops->symlink = meta_symlink;
	ops->rename = meta_rename;
	ops->link = meta_link;
	ops->open = meta_open;
	ops->read = meta_read;
	ops->write = meta_write;
	ops->flush = meta_flush;
	ops->release = meta_release;
	ops->fsync = meta_fsync;
	ops->opendir = meta_opendir;
	ops->readdir = meta_readdir;
	ops->releasedir = meta_releasedir;
	ops->setxattr = meta_setxattr;
	ops->getxattr = meta_getxattr;
	ops->listxattr = meta_listxattr;
	ops->removexattr = meta_removexattr;
	ops->create = meta_create;
	ops->fallocate = meta_fallocate;
	return 0;
}
