/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * export.c - the "export" control request: who may export, reading the
 * files from the daemon's own mount, the review, the audit records and
 * the reply (see export.h).
 */
#include "export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "ctl.h"
#include "daemon_i.h"
#include "export_review.h"
#include "export_set.h"
#include "vcache.h"

#define XPRT_DEPTH_MAX 32
#define XPRT_GROUPS_MAX 256

/* One reviewed file. */
struct xprt_file {
	char *path; /* relative to the mount */
	uint64_t size;
	uint8_t digest[crypto_generichash_BYTES];
	struct xrv_result res;
};

struct xprt {
	struct dmn *d;
	const char *role;
	struct xprt_file *files;
	size_t nfiles;
	uint64_t bytes;
	uint64_t budget; /* bytes this export may still read */
	struct spot_buf *r;
};

/* ---- escaping ---- */

int xprt_escape(struct spot_buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc = c < '!' || c > '~' || c == '%'
				 ? spot_buf_printf(b, "%%%02X", c)
				 : spot_buf_putc(b, (char)c);

		if (rc)
			return rc;
	}
	return 0;
}

static int xprt_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int xprt_unescape(const char *s, size_t len, struct spot_buf *out)
{
	spot_buf_reset(out);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = i + 2 < len + 0 ? xprt_hex(s[i + 1]) : -1;
			int lo = hi >= 0 ? xprt_hex(s[i + 2]) : -1;

			if (i + 2 >= len || hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (!c || spot_buf_putc(out, c))
			return c ? -ENOMEM : -EINVAL;
	}
	return spot_buf_putc(out, 0) ? -ENOMEM : (out->len--, 0);
}

/* ---- setup ---- */

int dmn_export_setup(struct dmn *d, struct spot_err *err)
{
	int rc;

	/* Off unless the config asks for it: no sets, no cost. */
	if (!d->sbx->cfg->export_.enabled)
		return 0;
	rc = xrec_new(d->sbx->cfg, &d->xrec);
	if (rc) {
		spot_err_set(err, "cannot make the export review's sets: %s",
			     strerror(-rc));
		return rc;
	}
	xrec_hooks(d->xrec, &d->rec_hooks);
	d->sbx->record = &d->rec_hooks;
	return 0;
}

void dmn_export_fini(struct dmn *d)
{
	xrec_free(d->xrec);
	d->xrec = NULL;
}

/* ---- the sets: every view of the role built ---- */

static void xprt_build_one(struct dmn *d, const struct cfg_dataset *ds,
			   const char *sub, const char *role)
{
	struct vc_view *v;

	if (!vc_get(d->sbx->views, ds->name, sub, sbx_role_key(ds, role), &v))
		vc_put(v); /* a failed build serves nothing: nothing to know */
}

/*
 * The review knows the raw values of the views built so far. A raw value
 * can reach the overlay other ways (a passed-through copy of the data,
 * an import): build every view of the exporter's role first, so the sets
 * hold every masked column it has. Views built already cost nothing.
 */
static void xprt_build_views(struct dmn *d, const char *role)
{
	const struct cfg *cfg = d->sbx->cfg;

	for (size_t i = 0; i < cfg->ndatasets; i++) {
		const struct cfg_dataset *ds = &cfg->datasets[i];
		unsigned forms;
		bool self = true;

		ctl_progress("building the views the review knows: %s (%zu of "
			     "%zu)",
			     ds->name, i + 1, cfg->ndatasets);
		if (sbx_has_objects(d->sbx, ds)) {
			const struct sbx_objs *o =
				sbx_sqlite_objs_cached(d->sbx, ds);

			for (size_t k = 0; o && k < o->n; k++)
				xprt_build_one(d, ds, o->names[k], role);
			continue;
		}
		forms = sbx_forms(d->sbx, ds, &self);
		if (self)
			xprt_build_one(d, ds, "", role);
		for (int f = VIEW_FMT_UNKNOWN + 1; f < VIEW_FMT_COUNT; f++)
			if (forms & VIEW_FMT_BIT(f))
				xprt_build_one(d, ds,
					       view_fmt_name((enum view_fmt)f),
					       role);
	}
}

/* ---- the peer ---- */

/* The role of the peer uid: its passwd group and supplementary groups. */
static const char *xprt_role(struct dmn *d, uid_t uid)
{
	gid_t groups[XPRT_GROUPS_MAX];
	int n = XPRT_GROUPS_MAX;
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t gid = (gid_t)-1;

	if (!getpwuid_r(uid, &pw, buf, sizeof(buf), &res) && res) {
		gid = pw.pw_gid;
		if (getgrouplist(pw.pw_name, gid, groups, &n) < 0)
			n = 0;
	} else {
		n = 0;
	}
	return cfg_role_for(d->sbx->cfg, uid, gid, groups, (size_t)n);
}

/* ---- reading ---- */

static int xprt_open(int dirfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int xprt_fail(struct xprt *x, int rc, const char *path, const char *why)
{
	char p[512];

	spot_printable(path, p, sizeof(p));
	spot_buf_reset(x->r);
	spot_buf_printf(x->r, "%s: %s", p, why ? why : strerror(-rc));
	return rc;
}

/* A line for the CLI's progress display (a TTY), at most every 200 ms. */
static void xprt_progress(const struct xprt *x, const char *path, uint64_t size)
{
	char p[256];

	spot_printable(path, p, sizeof(p));
	ctl_progress("reviewing %s (%.1f MB); %zu files, %.1f MB reviewed so "
		     "far",
		     p, (double)size / 1e6, x->nfiles, (double)x->bytes / 1e6);
}

static int xprt_review_fd(struct xprt *x, int fd, const char *path,
			  const struct stat *st)
{
	const struct cfg_export *e = &x->d->sbx->cfg->export_;
	struct xrv_opts o = { e->min_count, e->max_row_share, e->allow_opaque };
	struct xprt_file *f, *nf;
	uint8_t *buf;
	size_t got = 0, cap;
	int rc = 0;

	if (x->nfiles == XPRT_MAX_FILES)
		return xprt_fail(x, -E2BIG, path,
				 "too many files in one export");
	if ((uint64_t)st->st_size > x->budget)
		return xprt_fail(x, -EFBIG, path,
				 "over the export limit (export: max_bytes)");
	xprt_progress(x, path, (uint64_t)st->st_size);
	cap = (size_t)st->st_size + 1;
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) { /* to EOF: the size may have changed since fstat */
		ssize_t n;

		if (got == cap) {
			uint8_t *nb;

			if (cap > x->budget) {
				rc = xprt_fail(x, -EFBIG, path,
					       "over the export limit "
					       "(export: max_bytes)");
				goto out;
			}
			nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = xprt_fail(x, -errno, path, NULL);
			goto out;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	nf = realloc(x->files, (x->nfiles + 1) * sizeof(*nf));
	if (!nf) {
		rc = -ENOMEM;
		goto out;
	}
	x->files = nf;
	f = &x->files[x->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path) {
		rc = -ENOMEM;
		goto out;
	}
	x->nfiles++;
	f->size = got;
	crypto_generichash(f->digest, sizeof(f->digest), buf, got, NULL, 0);
	rc = xrv_review(x->d->xrec, x->d->sbx->cfg, &o, path, buf, got,
			&f->res);
	x->bytes += got;
	x->budget -= got < x->budget ? got : x->budget;
out:
	sodium_memzero(buf, got);
	free(buf);
	return rc;
}

static int xprt_walk(struct xprt *x, int root, const char *path, int depth);

static int xprt_dir(struct xprt *x, int root, int fd, const char *path,
		    int depth)
{
	DIR *dir = fdopendir(fd);
	struct dirent *de;
	char sub[PATH_MAX];
	int rc = 0;

	if (!dir) {
		close(fd);
		return -errno;
	}
	while (!rc && (de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		    (int)sizeof(sub))
			rc = xprt_fail(x, -ENAMETOOLONG, path, NULL);
		else
			rc = xprt_walk(x, root, sub, depth + 1);
	}
	closedir(dir);
	return rc;
}

static int xprt_walk(struct xprt *x, int root, const char *path, int depth)
{
	struct stat st;
	int fd, rc;

	if (depth > XPRT_DEPTH_MAX)
		return xprt_fail(x, -ELOOP, path, "folders nested too deep");
	fd = xprt_open(root, path, O_RDONLY);
	if (fd < 0)
		return xprt_fail(x, fd, path,
				 fd == -ELOOP	? "a symlink: not exported"
				 : fd == -EXDEV ? "outside the sandbox"
						: NULL);
	if (fstat(fd, &st)) {
		rc = xprt_fail(x, -errno, path, NULL);
		close(fd);
		return rc;
	}
	if (S_ISDIR(st.st_mode))
		return xprt_dir(x, root, fd, path, depth);
	if (!S_ISREG(st.st_mode))
		rc = xprt_fail(x, -EINVAL, path, "not a regular file");
	else
		rc = xprt_review_fd(x, fd, path, &st);
	close(fd);
	return rc;
}

/* A path relative to the mount: no empty, "." or ".." parts. */
static bool xprt_path_ok(const char *p)
{
	if (!p[0] || p[0] == '/')
		return false;
	for (const char *s = p; *s;) {
		size_t n = strcspn(s, "/");

		if (!n || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += n;
		if (*s && !*++s)
			return false; /* a trailing '/' */
	}
	return true;
}

/* ---- audit and reply ---- */

static const char *xprt_verdict(const struct xprt *x, bool override)
{
	for (size_t i = 0; i < x->nfiles; i++)
		if (x->files[i].res.total)
			return override ? "approved" : "findings";
	return "pass";
}

static void xprt_findings_text(const struct xrv_result *res, struct spot_buf *b)
{
	for (size_t k = 0; k < res->n; k++) {
		const struct xrv_finding *f = &res->f[k];

		spot_buf_printf(b, "%s%s", k ? "," : "",
				xrv_kind_name(f->kind));
		if (f->line)
			spot_buf_printf(b, "@%" PRIu64 ":%u", f->line,
					f->column);
		if (f->what[0] && f->kind != XRV_OPAQUE)
			spot_buf_printf(b, "(%s)", f->what);
	}
	if (res->total > res->n)
		spot_buf_printf(b, ",+%" PRIu64 " more", res->total - res->n);
}

/*
 * A reviewed file's path for the audit log: a view (a dataset's name, or a
 * table beneath one) as it is; anything else lives in the overlay, whose
 * names may be personal data and never reach the disk in plaintext: "ovl:"
 * and the keyed digest of "/PATH" that the overlay's own records use
 * (dmn_ovl_path), so an export links to the file's other events.
 */
static void xprt_audit_path(const struct xprt *x, const char *path, char *buf,
			    size_t len)
{
	const struct cfg *cfg = x->d->sbx->cfg;
	char full[PATH_MAX + 2], top[PATH_MAX + 1];
	size_t k = strcspn(path, "/");
	const struct cfg_dataset *ds;
	const struct view_format *f = NULL;
	uint8_t h[8];

	snprintf(top, sizeof(top), "%.*s", (int)k, path);
	ds = path[k] && !strchr(path + k + 1, '/') ? cfg_dataset_find(cfg, top)
						   : NULL;
	if (ds) /* a table of a database's folder */
		f = view_format_get(sbx_format(x->d->sbx, ds));
	if (cfg_dataset_find(cfg, path) || (f && f->objects)) {
		snprintf(buf, len, "%s", path);
		return;
	}
	snprintf(full, sizeof(full), "/%s", path);
	crypto_generichash(h, sizeof(h), (const uint8_t *)full, strlen(full),
			   x->d->sbx->name_key, 32);
	snprintf(buf, len, "ovl:");
	sodium_bin2hex(buf + 4, len > 4 ? len - 4 : 0, h, sizeof(h));
}

static int xprt_audit(struct xprt *x, uid_t uid, pid_t pid, const char *reason,
		      const char *verdict, bool override)
{
	char apath[PATH_MAX + 8];
	struct spot_buf b;
	struct aud_event ev;
	uint64_t total = 0;
	int rc = 0;

	spot_buf_init(&b);
	for (size_t i = 0; i < x->nfiles && !rc; i++) {
		const struct xprt_file *f = &x->files[i];
		char hex[2 * sizeof(f->digest) + 1];

		sodium_bin2hex(hex, sizeof(hex), f->digest, sizeof(f->digest));
		spot_buf_reset(&b);
		spot_buf_printf(&b, "blake2b=%s type=%s findings=", hex,
				f->res.type);
		xprt_findings_text(&f->res, &b);
		total += f->res.total;
		aud_event_init(&ev, AUD_EV_EXPORT, NULL);
		ev.uid = uid;
		ev.pid = pid;
		ev.role = x->role;
		xprt_audit_path(x, f->path, apath, sizeof(apath));
		ev.path = apath;
		ev.bytes = (int64_t)f->size;
		ev.rows = (int64_t)f->res.total;
		ev.decision = f->res.total
				      ? (override ? "approved" : "findings")
				      : "pass";
		ev.reason = reason;
		ev.detail = (const char *)b.p;
		rc = life_audit(x->d->life, &ev, false);
	}
	if (!rc) {
		spot_buf_reset(&b);
		spot_buf_printf(&b,
				"summary: files=%zu findings=%" PRIu64
				" override=%s",
				x->nfiles, total, override ? "yes" : "no");
		aud_event_init(&ev, AUD_EV_EXPORT, NULL);
		ev.uid = uid;
		ev.pid = pid;
		ev.role = x->role;
		ev.path = "";
		ev.bytes = (int64_t)x->bytes;
		ev.rows = (int64_t)total;
		ev.decision = verdict;
		ev.reason = reason;
		ev.detail = (const char *)b.p;
		rc = life_audit(x->d->life, &ev, true); /* gates the release */
	}
	spot_buf_fini(&b);
	return rc;
}

/* A refusal before any review (who, limits): audited, then the message. */
static int xprt_refuse(struct xprt *x, uid_t uid, pid_t pid, const char *reason,
		       const char *why)
{
	struct aud_event ev;

	aud_event_init(&ev, AUD_EV_EXPORT, NULL);
	ev.uid = uid;
	ev.pid = pid;
	ev.role = x->role;
	ev.decision = "deny";
	ev.reason = reason;
	ev.detail = why;
	life_audit(x->d->life, &ev, true);
	spot_buf_reset(x->r);
	spot_buf_printf(x->r, "%s", why);
	return -EACCES;
}

static void xprt_reply(struct xprt *x, const char *verdict)
{
	struct spot_buf *r = x->r;

	spot_buf_reset(r);
	for (size_t i = 0; i < x->nfiles; i++) {
		const struct xprt_file *f = &x->files[i];
		char hex[2 * sizeof(f->digest) + 1];

		sodium_bin2hex(hex, sizeof(hex), f->digest, sizeof(f->digest));
		spot_buf_printf(r, "file\t");
		xprt_escape(r, f->path, strlen(f->path));
		spot_buf_printf(r, "\t%" PRIu64 "\t%s\t%s\t%" PRIu64 "\n",
				f->size, hex, f->res.type, f->res.total);
		for (size_t k = 0; k < f->res.n; k++) {
			const struct xrv_finding *fd = &f->res.f[k];

			spot_buf_printf(r, "finding\t");
			xprt_escape(r, f->path, strlen(f->path));
			spot_buf_printf(r, "\t%s\t%" PRIu64 "\t%u\t",
					xrv_kind_name(fd->kind), fd->line,
					fd->column);
			xprt_escape(r, fd->what, strlen(fd->what));
			spot_buf_printf(r, "\n");
		}
	}
	spot_buf_printf(r, "verdict\t%s\n", verdict);
}

/* ---- the request ---- */

static int xprt_run(struct xprt *x, char **paths, size_t npaths, uid_t uid,
		    pid_t pid, const char *reason, bool override)
{
	const struct cfg_export *e = &x->d->sbx->cfg->export_;
	const char *verdict;
	int root, rc = 0;

	if (e->allow && !cfg_role_listed(e->allow, e->nallow, x->role))
		return xprt_refuse(x, uid, pid, reason,
				   "your role may not export (export: allow)");
	if (override && !cfg_role_listed(e->approve, e->napprove, x->role))
		return xprt_refuse(x, uid, pid, reason,
				   "your role may not approve findings "
				   "(export: approve)");
	xprt_build_views(x->d, x->role);
	x->budget = e->max_bytes > x->d->exported_bytes
			    ? e->max_bytes - x->d->exported_bytes
			    : 0;
	root = open(x->d->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		spot_buf_reset(x->r);
		spot_buf_printf(x->r, "cannot open the mount point: %s",
				strerror(errno));
		return -EIO;
	}
	/* A DP release read here is charged to the exporter's role, as if
	 * it read it (daemon_dp.c), never to the daemon's. */
	__atomic_store_n(&x->d->dp_export_role, x->role, __ATOMIC_RELEASE);
	for (size_t i = 0; i < npaths && !rc; i++)
		rc = xprt_path_ok(paths[i])
			     ? xprt_walk(x, root, paths[i], 0)
			     : xprt_fail(x, -EINVAL, paths[i],
					 "not a path inside the sandbox");
	__atomic_store_n(&x->d->dp_export_role, NULL, __ATOMIC_RELEASE);
	close(root);
	if (rc == -EFBIG) {
		char why[600];

		snprintf(why, sizeof(why), "%s", (const char *)x->r->p);
		return xprt_refuse(x, uid, pid, reason, why);
	}
	if (rc)
		return rc;
	if (!x->nfiles) {
		spot_buf_reset(x->r);
		spot_buf_printf(x->r, "no files to export");
		return -ENOENT;
	}
	verdict = xprt_verdict(x, override);
	if (xprt_audit(x, uid, pid, reason, verdict, override)) {
		spot_buf_reset(x->r);
		spot_buf_printf(x->r, "the audit log is unavailable: nothing "
				      "is released");
		return -EIO;
	}
	if (strcmp(verdict, "findings"))
		x->d->exported_bytes += x->bytes;
	xprt_reply(x, verdict);
	return 0;
}

int dmn_export_request(struct dmn *d, const char *args, uid_t uid, pid_t pid,
		       struct spot_buf *r)
{
	struct xprt x = { .d = d, .r = r };
	struct spot_buf reason, tmp;
	char **paths = NULL;
	size_t npaths = 0, nf = 0;
	const char *f[XPRT_MAX_FILES + 2];
	size_t flen[XPRT_MAX_FILES + 2];
	bool override;
	int rc = -EINVAL;

	spot_buf_init(&reason);
	spot_buf_init(&tmp);
	if (!d->sbx->cfg->export_.enabled) {
		spot_buf_printf(r,
				"export is not enabled for this sandbox: its "
				"config needs an export: section (export: {} "
				"for the defaults)");
		return -EPERM;
	}
	if (!d->mountpoint || !d->xrec) {
		spot_buf_printf(r, "the sandbox is not ready");
		return -EAGAIN;
	}
	for (const char *s = args; nf < SPOT_ARRAY_SIZE(f);) {
		const char *t = strchr(s, '\t');

		f[nf] = s;
		flen[nf++] = t ? (size_t)(t - s) : strlen(s);
		if (!t)
			break;
		s = t + 1;
	}
	if (nf < 3 || flen[0] != 1 || (f[0][0] != '-' && f[0][0] != 'o')) {
		spot_buf_printf(r, "export: malformed request");
		goto out;
	}
	override = f[0][0] == 'o';
	paths = calloc(nf, sizeof(*paths));
	if (!paths || (rc = xprt_unescape(f[1], flen[1], &reason))) {
		spot_buf_printf(r, "export: malformed request");
		goto out;
	}
	for (size_t i = 2; i < nf; i++) {
		if ((rc = xprt_unescape(f[i], flen[i], &tmp)) ||
		    !(paths[npaths] = strdup(tmp.len ? (char *)tmp.p : ""))) {
			spot_buf_printf(r, "export: malformed request");
			rc = rc ? rc : -ENOMEM;
			goto out;
		}
		npaths++;
	}
	x.role = xprt_role(d, uid);
	rc = xprt_run(&x, paths, npaths, uid, pid,
		      reason.len ? (const char *)reason.p : "", override);
out:
	for (size_t i = 0; i < x.nfiles; i++)
		free(x.files[i].path);
	free(x.files);
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	spot_buf_fini(&reason);
	spot_buf_fini(&tmp);
	return rc;
}
