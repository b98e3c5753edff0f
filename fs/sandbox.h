/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox.h - one live sandbox: its config, keys, policy engines, view
 * cache and source folder. FUSE-free: the daemon, `spotfs check` and
 * `spotfs preview` all build views through it.
 *
 * Created after the daemon has forked (locked key memory is not inherited
 * by fork) and freed at the end of the session, which wipes the keys.
 */
#ifndef SPOT_SANDBOX_H
#define SPOT_SANDBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "spot.h"
#include "srcdir.h"
#include "vcache.h"

struct pol_engine;

struct sbx {
	struct cfg *cfg; /* owned */
	struct msk_keys *keys;
	/* Keys overlay names in the audit log (sodium_malloc'd, 32 bytes). */
	uint8_t *name_key;
	/* The source folder, O_RDONLY | O_DIRECTORY: reached only through
	 * srcdir.h (confined, no symlinks, regular files and folders only). */
	int srcfd;
	struct vc *views;
	/* Engines by dataset index (NULL without a policy); shared files
	 * share one engine. */
	struct pol_engine **engines;
	char id[17];  /* random hex sandbox id */
	int *formats; /* per dataset: enum view_fmt + 1 once detected (atomic) */
	/* Where build warnings go (no row values); default: spot_log. */
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
	/* spotfs check: how every column is served (see plan.h), or NULL. */
	struct plan_scan *scan;
	/* The export review's recorder (plan.h), or NULL; set before the
	 * first build. */
	const struct plan_record *record;
	pthread_mutex_t lock;  /* protects objs */
	struct sbx_objs *objs; /* per dataset: SQLite tables, listed once */
	/* Every source file a view was built from (st_dev, st_ino), kept
	 * for the sandbox's life: never passed through under another name,
	 * even after the dataset was replaced. */
	pthread_mutex_t pin_lock;
	struct sbx_pinned *pinned;
	size_t npinned;
	/* Build workers in use across every build (atomic): `threads:` is
	 * the sandbox's pool, not each build's. */
	unsigned workers_busy;
};

struct sbx_pinned {
	dev_t dev;
	ino_t ino;
};

/* The tables and views of a SQLite dataset (immutable once listed). */
struct sbx_objs {
	bool listed;
	int err; /* -errno of the listing */
	char **names;
	size_t n;
	size_t withheld;	 /* names that look like personal data */
	unsigned withheld_kinds; /* their msk_pii_detect kinds */
};

/*
 * Set up a sandbox over a loaded config (taken over: freed with the
 * sandbox, also on error). Reads the secret, derives keys, opens the source
 * and loads every Lua policy. 0 or -errno with err set.
 */
int sbx_new(struct cfg *cfg, struct sbx **out, struct spot_err *err);
void sbx_free(struct sbx *s);

/*
 * The sandbox secret: random bytes, or the bytes of the secret file (at
 * least 16, at most SBX_SECRET_FILE_MAX, read with the caller's rights).
 * secret must hold SBX_SECRET_FILE_MAX bytes (locked memory: the caller
 * wipes it). 0 or -errno with err set (the file's path, never its bytes).
 */
#define SBX_SECRET_FILE_MAX 4096
int sbx_read_secret(const struct cfg *cfg, uint8_t *secret, size_t *len,
		    struct spot_err *err);

/*
 * Whether the source file rel (stat st) holds a configured dataset's raw
 * bytes: the same file (st_dev, st_ino) under any name (a hard link), a
 * file a view was built from (a dataset's file before it was replaced),
 * or the SQLite journal (X-wal, X-shm, X-journal) of any such file X in
 * the same folder. Such a file is never passed through.
 */
bool sbx_is_dataset_file(struct sbx *s, const char *rel, const struct stat *st);

/*
 * Open the passed-through source file rel (confined, see srcdir.h) into
 * *fd with its identity in *pin (may be NULL). -ENOENT also when the file
 * is a configured dataset under another name (hard link). Caller closes.
 */
int sbx_pass_open(struct sbx *s, const char *rel, int *fd, struct src_id *pin);
/*
 * The check sbx_pass_open makes on a file opened otherwise (as a caller):
 * -ENOENT when rel (stat st) is a configured dataset or holds one's bytes.
 * Call it with the daemon's own credentials: it stats every dataset.
 */
int sbx_pass_vet(struct sbx *s, const char *rel, const struct stat *st);

/* The engine for dataset d, or NULL. */
struct pol_engine *sbx_engine(const struct sbx *s, const struct cfg_dataset *d);

/*
 * Build the view of dataset d (sub: "", a table inside it, or the name of
 * a converted form: "csv", "parquet") for role through the table of
 * formats into *out, bypassing the cache (check and preview use this; the
 * daemon goes through s->views). 0 or -errno with err set.
 */
int sbx_build(struct sbx *s, const struct cfg_dataset *d, const char *sub,
	      const char *role, struct vc_content *out, struct spot_err *err);
/* The same, streaming into sink (NULL: none) where the format can (CSV). */
int sbx_build_to(struct sbx *s, const struct cfg_dataset *d, const char *sub,
		 const char *role, struct vc_sink *sink, struct vc_content *out,
		 struct spot_err *err);

/*
 * Differential privacy releases (sandbox_dp.c): a DP aggregate's file
 * _dp/DATASET/NAME.csv (.parquet) and its statement NAME.json, a
 * synthetic table STEM.synthetic.csv (.parquet) and its statement. They
 * are views of the dataset whose sub starts with SBX_DP_MARK (a byte no
 * table name the daemon serves starts with): "\x01agg/NAME.EXT",
 * "\x01syn.EXT". A data file is built from the source rows the role's
 * row filter keeps, with noise seeded by the sandbox secret, the
 * release, the role and the source file's identity; its content carries
 * the release's identity (vc_content.release), which the ledger charges.
 */
#define SBX_DP_MARK '\x01'
static inline bool sbx_dp_is(const char *sub)
{
	return sub && sub[0] == SBX_DP_MARK;
}
/* The sub of aggregate name (or, name NULL, the synthetic table) with
 * extension ext ("csv", "parquet", "json"). 0 or -ENAMETOOLONG. */
int sbx_dp_sub(const char *name, const char *ext, char *buf, size_t len);
/*
 * What the release sub of d costs, in nano units (dp_ratio_nano): 0 for
 * a statement (.json), which holds no data. -ENOENT for a sub d does not
 * serve.
 */
int sbx_dp_cost(const struct cfg_dataset *d, const char *sub, uint64_t *eps,
		uint64_t *delta);
/* Whether sub is a release with data (charged), not a statement. */
bool sbx_dp_charged(const char *sub);
int sbx_dp_build(struct sbx *s, const struct cfg_dataset *d, const char *sub,
		 const char *role, struct vc_sink *sink, struct vc_content *out,
		 struct spot_err *err);
/*
 * The identity a build of release sub of d for role would have now (from
 * the source file's identity, without reading it): what the ledger is
 * charged for before the release is built, so nothing of it (not even its
 * size in the store) exists for a role that has not paid. A build whose
 * content.release differs read another version: refuse it. 0 or -errno.
 */
int sbx_dp_release(struct sbx *s, const struct cfg_dataset *d, const char *sub,
		   const char *role, uint8_t release[32], struct spot_err *err);
/*
 * The report of d's synthetic table for role: the total variation
 * distance of every modelled marginal between the source rows and the
 * synthetic rows, as text lines ("age\t0.0123\n"). 0 or -errno.
 */
int sbx_dp_tvd(struct sbx *s, const struct cfg_dataset *d, const char *role,
	       struct spot_buf *out, struct spot_err *err);

/*
 * The format of dataset d (enum view_fmt, format.h): from the config, else
 * detected once; VIEW_FMT_UNKNOWN while the file cannot be opened or its
 * first bytes cannot be read (not remembered: asked again next time).
 */
int sbx_format(struct sbx *s, const struct cfg_dataset *d);
/*
 * Whether d's format holds tables of its own (SQLite), served as a folder
 * of CSV files: the table of formats says so.
 */
bool sbx_has_objects(struct sbx *s, const struct cfg_dataset *d);

/*
 * The folder a SQLite dataset's tables appear in: its name without its
 * format's suffix (.db/.sqlite/.sqlite3: "crm.db" -> "crm"), or NAME.d
 * without one. Only the last component (the folder sits beside the
 * database).
 */
void sbx_sqlite_dirname(const struct cfg_dataset *d, char *buf, size_t len);

/*
 * The tables and views a SQLite dataset serves (view "sub" names): the
 * tables named in tables: (all ordinary tables, never virtual, shadow or
 * sqlite_* ones, with "tables: all" or when neither tables: nor views: is
 * given), the database's own views with db_views (views only), then the
 * configured views. A name that looks like personal data (msk_pii_detect:
 * an e-mail address, phone number, SSN... as a table per customer) is
 * left out, whoever chose it: names are served as they are, in the
 * folder, the manifest and the masked database. *withheld (may be NULL)
 * gets how many were, *kinds (may be NULL) their kinds. Free with
 * sbx_names_free. 0 or -errno with err set.
 */
int sbx_sqlite_objs(struct sbx *s, const struct cfg_dataset *d, char ***names,
		    size_t *n, size_t *withheld, unsigned *kinds,
		    struct spot_err *err);
void sbx_names_free(char **names, size_t n);
/*
 * The same, listed once per sandbox and cached (the served folder must not
 * change under the kernel). The result is borrowed; NULL on error.
 */
const struct sbx_objs *sbx_sqlite_objs_cached(struct sbx *s,
					      const struct cfg_dataset *d);
/*
 * The same with the reason: 0 with *out the listing, or NULL when the
 * database cannot be listed for good (not a database, a named table
 * missing: cached like a listing); -ENOMEM, -EIO, -EAGAIN, -EBUSY,
 * -EINTR or -ESTALE (*out NULL) when it failed for now: not cached, the
 * next call lists again.
 */
int sbx_sqlite_objs_get(struct sbx *s, const struct cfg_dataset *d,
			const struct sbx_objs **out);
/*
 * How many tables and views of d were left out for their names (0 when
 * none, or d is no database or cannot be listed), with a message naming
 * the dataset and the kind of data, never a name, in msg.
 */
size_t sbx_sqlite_withheld(struct sbx *s, const struct cfg_dataset *d,
			   char *msg, size_t len);

/*
 * The first limit rows of a dataset whose format converts to CSV (Parquet)
 * as role would read them, as CSV (header included) appended to out: the
 * source's rows through the same plan the mount uses (same per-row seeds).
 * 0 or -errno with err set.
 */
int sbx_csv_rows(struct sbx *s, const struct cfg_dataset *d, const char *role,
		 uint64_t limit, struct spot_buf *out, struct spot_err *err);

/*
 * The converted forms dataset d is also served as, as a set of
 * VIEW_FMT_BIT() bits (csv for a Parquet dataset with as: [.., csv],
 * parquet for a CSV one, either or both for JSON Lines), 0 for none;
 * *self says whether the dataset is still served under its own name. A
 * form's name is cfg_form_name(); its view is built with sub = the form's
 * name ("csv", "parquet").
 */
unsigned sbx_forms(struct sbx *s, const struct cfg_dataset *d, bool *self);
/* The first of sbx_forms() by name ("csv" before "parquet"), or NULL. */
const char *sbx_form(struct sbx *s, const struct cfg_dataset *d, bool *self);
/* The source-relative name of form of dataset d into buf; -ENOENT when d
 * does not serve it. */
int sbx_form_name_of(struct sbx *s, const struct cfg_dataset *d,
		     enum view_fmt form, char *buf, size_t len);
/*
 * The source-relative name of dataset d's first converted form (sbx_form)
 * into buf, and the form ("csv", "parquet") into *form. 0, or -ENOENT when
 * d serves none.
 */
int sbx_form_name(struct sbx *s, const struct cfg_dataset *d, const char **form,
		  char *buf, size_t len);
/* The role key of a view: role, or "" if d masks the same for all roles. */
const char *sbx_role_key(const struct cfg_dataset *d, const char *role);

#endif /* SPOT_SANDBOX_H */
