/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_scan.c - `spotfs scan SOURCE_DIR`: sample every dataset of a folder
 * and write a starter config listing every column with a rule and why.
 *
 * The folder is walked the way the daemon reads it (srcdir.h): confined,
 * no symlink followed, regular files and folders only. Each file is read
 * through the table of formats (format.h): rows of a format with a row
 * source (CSV, Parquet) from that source, tables of a format with objects
 * (SQLite) through its build with a plan whose row filter samples and then
 * stops the build (scan_sample.c). Values go to the detectors (detect.h),
 * which keep counters only: nothing written or printed holds a value, and
 * no name that looks like one (a path with an e-mail in it is withheld).
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect.h"
#include "format.h"
#include "plan.h"
#include "scan_i.h"
#include "srcdir.h"

#define SCAN_DEPTH 32
#define SCAN_FILES 100000u
#define SCAN_HEAD 16
#define SCAN_MAX_ROWS 10000000
#define SCAN_WITHHELD "(a path withheld)"

static int scan_dirent_cmp(const void *a, const void *b);

/* ---- the folder ---- */

/*
 * The name of a file, folder or table as scan may print or write it: a
 * path any part of which looks like a value (an e-mail, phone, card, SSN
 * or IBAN: a folder per customer) is withheld, whatever the file is.
 */
static const char *scan_shown(const char *rel)
{
	return msk_pii_detect((const uint8_t *)rel, strlen(rel)) ? SCAN_WITHHELD
								 : rel;
}

static void scan_say(struct scan *sc, const char *rel, const char *what)
{
	char name[PATH_MAX], why[SPOT_ERR_MAX + 128];

	scan_comment_text(scan_shown(rel), name, sizeof(name));
	scan_comment_text(what, why, sizeof(why));
	scan_progress_clear(sc);
	fprintf(stderr, "spotfs scan: %s: %s\n", name, why);
	sc->problems++;
}

/* Remember a file that is left out, with why (no value in it). */
static int scan_skip(struct scan *sc, const char *rel, const char *table,
		     const char *why)
{
	struct scan_ds *d = scan_ds_add(sc, scan_shown(rel), NULL);
	char msg[SPOT_ERR_MAX + 64];

	if (!d)
		return -ENOMEM;
	if (table && scan_shown(table) != table)
		table = "a table";
	snprintf(msg, sizeof(msg), "%s%s%s", table ? table : "",
		 table ? ": " : "", why);
	d->skip = strdup(msg);
	scan_say(sc, rel, msg);
	return d->skip ? 0 : -ENOMEM;
}

/*
 * The name SQLite opens must be the confined file (see sbx_path_same in
 * sandbox_build.c): a swap of the file or a folder on the way fails.
 */
static bool scan_path_same(const char *path, const struct stat *st)
{
	struct stat now;

	return !stat(path, &now) && now.st_dev == st->st_dev &&
	       now.st_ino == st->st_ino && S_ISREG(now.st_mode);
}

static int scan_objects(struct scan *sc, const struct view_format *f,
			struct view_req *req, const char *rel,
			const struct stat *st)
{
	struct spot_err err = { "" };
	char path[PATH_MAX], **names = NULL;
	unsigned *kinds = NULL;
	struct scan_ds *d;
	size_t n = 0;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", sc->srcpath, rel) >=
	    sizeof(path))
		return scan_skip(sc, rel, NULL, "path too long");
	if (!scan_path_same(path, st))
		return scan_skip(sc, rel, NULL,
				 "the path does not lead to the file opened "
				 "(a symlink or a swap): not read");
	req->path = path;
	rc = f->objects->list(path, &names, &kinds, &n, &err);
	if (rc)
		return scan_skip(sc, rel, NULL, err.msg);
	d = scan_ds_add(sc, rel, f);
	for (size_t i = 0; d && i < n; i++) {
		struct scan_tbl *t;

		if (kinds[i] != VIEW_SQL_TABLE)
			continue; /* views, virtual, shadow, sqlite_*: not served */
		if (!scan_utf8(names[i], strlen(names[i]))) {
			scan_say(sc, rel,
				 "a table name is not UTF-8: left out");
			continue;
		}
		if (msk_pii_detect((const uint8_t *)names[i],
				   strlen(names[i]))) {
			scan_say(sc, rel,
				 "a table whose name looks like "
				 "personal data: left out");
			continue;
		}
		t = scan_tbl_add(d, names[i]);
		if (!t) {
			d = NULL;
			break;
		}
		err.msg[0] = 0;
		rc = scan_object(f, req, names[i], t, sc->o.rows, &err);
		if (!rc && !scan_path_same(path, st)) {
			rc = -ESTALE;
			spot_err_set(&err, "the file was replaced while it was "
					   "read");
		}
		if (rc) {
			char msg[SPOT_ERR_MAX + 64];

			t->skip = strdup(err.msg[0] ? err.msg : strerror(-rc));
			snprintf(msg, sizeof(msg), "table %s: %s", names[i],
				 t->skip ? t->skip : "error");
			scan_say(sc, rel, msg);
		}
	}
	view_names_free(names, n);
	free(kinds);
	return d ? 0 : -ENOMEM;
}

/* Whether a file is a dataset scan reads: by magic, else by suffix. */
static const struct view_format *scan_format(int fd, const char *name)
{
	uint8_t head[SCAN_HEAD];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	const struct view_format *f;
	size_t len = strlen(name);

	f = view_format_by_magic(head, n > 0 ? (size_t)n : 0);
	if (f)
		return f;
	/* Prose is often .txt: its first line would become column names. */
	if (len > 4 && !strcasecmp(name + len - 4, ".txt"))
		return NULL;
	return view_format_by_suffix(name);
}

static int scan_file(struct scan *sc, const char *rel, const char *name)
{
	struct spot_err err = { "" };
	const struct view_format *f;
	struct view_req req;
	struct scan_ds *d;
	struct stat st;
	int fd, rc;

	/* Never write a value: not even one a file or folder is named by. */
	if (scan_shown(rel) != rel)
		return scan_skip(sc, rel, NULL,
				 "its name looks like personal data (an "
				 "e-mail, phone, card, SSN or IBAN): left out; "
				 "name it in the config by hand if it must be "
				 "served");
	/* YAML is Unicode: no config can name it. */
	if (!scan_utf8(rel, strlen(rel)))
		return scan_skip(sc, rel, NULL,
				 "its path is not UTF-8: no config can name "
				 "it, left out");
	rc = src_open(sc->srcfd, rel, &fd, &st);
	if (rc)
		return scan_skip(sc, rel, NULL, strerror(-rc));
	f = scan_format(fd, name);
	if (!f) {
		close(fd);
		sc->others++;
		return 0;
	}
	scan_progress(sc, rel);
	memset(&req, 0, sizeof(req));
	req.form = f->id;
	req.sub = "";
	req.fd = fd;
	req.threads = 1;
	req.limit = UINT64_MAX;
	if (f->objects) {
		rc = scan_objects(sc, f, &req, rel, &st);
	} else if (!(d = scan_ds_add(sc, rel, f)) || !scan_tbl_add(d, NULL)) {
		rc = -ENOMEM;
	} else {
		rc = scan_source(f, &req, &d->tbls[0], sc->o.rows, &err);
		if (rc) {
			d->skip = strdup(err.msg[0] ? err.msg : strerror(-rc));
			scan_say(sc, rel, d->skip ? d->skip : "error");
			rc = d->skip ? 0 : -ENOMEM;
		}
	}
	close(fd);
	return rc;
}

static int scan_dir(struct scan *sc, int dirfd, const char *rel, int depth)
{
	struct dirent **ents = NULL;
	DIR *dir = fdopendir(dirfd);
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!dir) {
		close(dirfd);
		return scan_skip(sc, rel[0] ? rel : ".", NULL,
				 "cannot list the folder");
	}
	/* Sorted, so the config lists datasets in a stable order. */
	for (struct dirent *e; (e = readdir(dir));) {
		struct dirent **ne;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ne = realloc(ents, cap * sizeof(*ents));
			if (!ne) {
				rc = -ENOMEM;
				break;
			}
			ents = ne;
		}
		ents[n] = malloc(sizeof(*e));
		if (!ents[n]) {
			rc = -ENOMEM;
			break;
		}
		memcpy(ents[n++], e, sizeof(*e));
	}
	if (n)
		qsort(ents, n, sizeof(*ents), scan_dirent_cmp);
	for (size_t i = 0; !rc && i < n && sc->files < SCAN_FILES; i++) {
		char path[PATH_MAX];
		struct stat st;
		int sub;

		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", rel,
				     rel[0] ? "/" : "",
				     ents[i]->d_name) >= sizeof(path)) {
			rc = scan_skip(sc, ents[i]->d_name, NULL,
				       "path too long");
			continue;
		}
		if (fstatat(dirfd, ents[i]->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue; /* gone meanwhile */
		if (S_ISDIR(st.st_mode)) {
			if (depth >= SCAN_DEPTH)
				rc = scan_skip(sc, path, NULL,
					       "folder too deep: not scanned");
			else if (src_opendir(sc->srcfd, path, &sub))
				rc = scan_skip(sc, path, NULL,
					       "cannot open the folder");
			else
				rc = scan_dir(sc, sub, path, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			sc->files++;
			rc = scan_file(sc, path, ents[i]->d_name);
		} else {
			char msg[96];

			/* The daemon never shows these: neither does scan. */
			snprintf(msg, sizeof(msg), "%s: not followed, left out",
				 src_kind_name(st.st_mode));
			rc = scan_skip(sc, path, NULL, msg);
		}
	}
	if (!rc && sc->files >= SCAN_FILES && !sc->capped) {
		char msg[96];

		sc->capped = true;
		snprintf(msg, sizeof(msg),
			 "stopped after %u files: the rest is not scanned",
			 SCAN_FILES);
		scan_say(sc, rel[0] ? rel : ".", msg);
	}
	for (size_t i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	closedir(dir);
	return rc;
}

static int scan_dirent_cmp(const void *a, const void *b)
{
	const struct dirent *const *x = a, *const *y = b;

	return strcmp((*x)->d_name, (*y)->d_name);
}

/* ---- the command ---- */

static void cli_scan_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs scan SOURCE_DIR [-o FILE [--force]] [--json]\n"
		"                   [--rows N]\n"
		"\n"
		"Sample every dataset under SOURCE_DIR (CSV, Parquet, the\n"
		"tables of SQLite files) and write a starter config: every\n"
		"column with keep or a masking rule, and a comment saying why\n"
		"(by name in en/de/fr/es, by values: the share of sampled\n"
		"values that matched). No value is ever written. Symlinks are\n"
		"not followed; a file that cannot be read is left out with a\n"
		"line on stderr. Review the rules, then spotfs check "
		"--strict.\n"
		"\n"
		"options:\n"
		"  -o, --output FILE  write the config to FILE (default: "
		"stdout)\n"
		"  -f, --force        overwrite FILE if it exists\n"
		"  -j, --json         print the findings as JSON on stdout\n"
		"                     (the config still goes to -o FILE)\n"
		"  -n, --rows N       rows sampled per table (default %d,\n"
		"                     as many as spotfs check samples)\n"
		"  -h, --help         show this help\n",
		PLAN_SCAN_ROWS);
}

static int cli_scan_opts(int argc, char **argv, struct scan_opts *o)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "rows", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->rows = PLAN_SCAN_ROWS;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:fjn:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case 'f':
			o->force = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'n':
			errno = 0;
			o->rows = strtoull(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-' || !o->rows ||
			    o->rows > SCAN_MAX_ROWS) {
				cli_error("scan", "bad --rows '%s' (1 to %d)",
					  optarg, SCAN_MAX_ROWS);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h':
			cli_scan_usage(stdout);
			return -1;
		default:
			cli_scan_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_scan_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	o->dir = argv[optind];
	return 0;
}

/* Write buf to path: a new file, or with force over an old one. */
static int scan_write_file(const char *path, bool force,
			   const struct spot_buf *b)
{
	char tmp[PATH_MAX];
	size_t off = 0;
	int fd, rc = 0;

	if (force) {
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
		    sizeof(tmp))
			return -ENAMETOOLONG;
		fd = mkstemp(tmp);
		if (fd >= 0 && fchmod(fd, 0644))
			rc = -errno;
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return -errno;
	while (!rc && off < b->len) {
		ssize_t n = write(fd, b->p + off, b->len - off);

		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && force && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(force ? tmp : path);
	return rc;
}

static void scan_summary(const struct scan *sc)
{
	size_t tables = 0, cols = 0, kept = 0;

	for (size_t i = 0; i < sc->nds; i++)
		for (size_t t = 0; t < sc->ds[i].ntbls; t++) {
			const struct scan_tbl *tb = &sc->ds[i].tbls[t];

			if (tb->skip || sc->ds[i].skip || !tb->ncols)
				continue;
			tables++;
			for (size_t c = 0; c < tb->ncols; c++) {
				struct det_rule r;

				det_col_decide(&tb->cols[c].det,
					       tb->cols[c].name,
					       strlen(tb->cols[c].name), &r);
				cols++;
				kept += r.keep;
			}
		}
	fprintf(stderr,
		"spotfs scan: %u files, %zu tables listed, %zu columns: %zu "
		"masked, %zu kept; %d left out%s%s\n",
		sc->files, tables, cols, cols - kept, kept, sc->problems,
		sc->o.out ? "; wrote " : "", sc->o.out ? sc->o.out : "");
}

int cli_scan(int argc, char **argv)
{
	struct spot_buf yaml, json;
	struct scan sc;
	struct stat st;
	int rc, fd;

	memset(&sc, 0, sizeof(sc));
	sc.srcfd = -1;
	rc = cli_scan_opts(argc, argv, &sc.o);
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (sc.o.out && !sc.o.force && !lstat(sc.o.out, &st)) {
		cli_error("scan", "%s exists: pass --force to overwrite it",
			  sc.o.out);
		return CLI_EXIT_FAIL;
	}
	if (!realpath(sc.o.dir, sc.srcpath) ||
	    (sc.srcfd = open(sc.srcpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
		    0) {
		cli_error("scan", "cannot open the folder %s: %s", sc.o.dir,
			  strerror(errno));
		return CLI_EXIT_FAIL;
	}
	sc.tty = isatty(STDERR_FILENO);
	spot_buf_init(&yaml);
	spot_buf_init(&json);
	rc = src_opendir(sc.srcfd, "", &fd);
	if (!rc)
		rc = scan_dir(&sc, fd, "", 0);
	scan_progress_clear(&sc);
	if (!rc)
		rc = scan_write_yaml(&sc, &yaml);
	if (!rc && sc.o.json)
		rc = scan_write_json(&sc, &json);
	if (rc) {
		cli_error("scan", "%s", strerror(-rc));
		goto out;
	}
	if (sc.o.out) {
		rc = scan_write_file(sc.o.out, sc.o.force, &yaml);
		if (rc) {
			cli_error("scan", "cannot write %s: %s", sc.o.out,
				  rc == -EEXIST ? "it exists (pass --force)"
						: strerror(-rc));
			goto out;
		}
	} else if (!sc.o.json) {
		fwrite(yaml.p, 1, yaml.len, stdout);
	}
	if (sc.o.json)
		fwrite(json.p, 1, json.len, stdout);
	scan_summary(&sc);
out:
	spot_buf_fini(&yaml);
	spot_buf_fini(&json);
	scan_fini(&sc);
	close(sc.srcfd);
	return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
