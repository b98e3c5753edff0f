/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_export.c - spotfs export MNT/PATH... DEST: ask the sandbox's daemon
 * to review the files (export.h), print its findings, and on pass (or an
 * approved override) copy exactly the bytes it reviewed to DEST.
 *
 * The copy is all or nothing: every file goes to a temporary file next to
 * its destination first, hashed while it is written; only when every
 * digest is the one the daemon reviewed are they renamed into place (never
 * over an existing file). A file changed between review and copy is
 * refused, and nothing is left behind.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd_life.h"
#include "ctl.h"
#include "export.h"
#include "registry.h"

#define XCLI_TIMEOUT_MS (10 * 60 * 1000) /* the review of large files */
#define XCLI_CHUNK (1u << 20)

struct xcli_file {
	char *path; /* relative to the mount, as reviewed */
	uint64_t size;
	char hex[2 * crypto_generichash_BYTES + 1];
	char type[16];
	uint64_t nfindings;
	char *dest; /* where it goes */
	char *tmp;  /* the temporary copy, until renamed */
};

struct xcli {
	const char *cmd;
	char mnt[PATH_MAX];
	char *rel[64]; /* requested paths, relative to the mount */
	size_t nrel;
	struct xcli_file *files;
	size_t nfiles;
	char verdict[16];
	bool json;
	struct spot_buf findings; /* JSON array members, or text lines */
};

static void xcli_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs export [options] MNT/PATH... DEST\n"
		"Copy files or folders out of a sandbox after the daemon "
		"reviewed them\n(raw values of masked columns, personal data, "
		"small counts, copies of rows).\n"
		"  -r, --reason TEXT    why (recorded in the audit log)\n"
		"  -o, --override       release despite findings (roles in "
		"export: approve)\n"
		"  -j, --json           print the review as JSON\n"
		"  -S, --state-dir DIR  registry and audit folder\n"
		"  -h, --help           show this help\n");
}

/* On a TTY: the daemon's progress line, rewritten in place. */
static void xcli_progress(void *arg, const char *text)
{
	char line[512];

	(void)arg;
	spot_printable(text, line, sizeof(line)); /* no escapes reach the TTY */
	fprintf(stderr, "\r\033[Kspotfs export: %.*s", 100, line);
	fflush(stderr);
}

/* The mount point holding abs: the topmost folder on abs's device. */
static int xcli_mount_of(const char *abs, char *out, size_t len)
{
	char cur[PATH_MAX];
	struct stat st, up;

	if (stat(abs, &st) || strlen(abs) >= sizeof(cur))
		return -errno ? -errno : -ENAMETOOLONG;
	strcpy(cur, abs);
	for (;;) {
		char *slash = strrchr(cur, '/');
		char save;

		if (!slash || slash == cur) {
			if (!stat("/", &up) && up.st_dev == st.st_dev)
				return -ENOENT; /* not on a mount of its own */
			break;
		}
		save = *slash;
		*slash = 0;
		if (stat(cur, &up) || up.st_dev != st.st_dev) {
			*slash = save;
			break;
		}
	}
	if (strlen(cur) >= len)
		return -ENAMETOOLONG;
	strcpy(out, cur);
	return 0;
}

/* Resolve every source to (mount, relative path); one mount for all. */
static int xcli_sources(struct xcli *x, char **srcs, size_t n)
{
	char abs[PATH_MAX], mnt[PATH_MAX];

	if (n > SPOT_ARRAY_SIZE(x->rel)) {
		cli_error(x->cmd, "at most %zu paths in one export",
			  SPOT_ARRAY_SIZE(x->rel));
		return -E2BIG;
	}
	for (size_t i = 0; i < n; i++) {
		size_t ml;

		if (!realpath(srcs[i], abs) ||
		    xcli_mount_of(abs, mnt, sizeof(mnt))) {
			cli_error(x->cmd, "%s: not found in a sandbox",
				  srcs[i]);
			return -ENOENT;
		}
		if (i && strcmp(mnt, x->mnt)) {
			cli_error(x->cmd, "all paths must be in one sandbox");
			return -EINVAL;
		}
		strcpy(x->mnt, mnt);
		ml = strlen(mnt);
		if (abs[ml] != '/' || !abs[ml + 1]) {
			cli_error(x->cmd,
				  "%s: name files or folders inside the mount",
				  srcs[i]);
			return -EINVAL;
		}
		x->rel[x->nrel] = strdup(abs + ml + 1);
		if (!x->rel[x->nrel])
			return -ENOMEM;
		x->nrel++;
	}
	return 0;
}

/* ---- the reply ---- */

static void xcli_json_str(struct spot_buf *b, const char *s)
{
	spot_buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			spot_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			spot_buf_printf(b, "\\u%04x", *p);
		else
			spot_buf_putc(b, (char)*p);
	}
	spot_buf_putc(b, '"');
}

static const char *xcli_kind_text(const char *kind)
{
	if (!strcmp(kind, "raw_value"))
		return "a raw value of a masked column";
	if (!strcmp(kind, "pii"))
		return "personal data";
	if (!strcmp(kind, "small_count"))
		return "a small count";
	if (!strcmp(kind, "row_copy"))
		return "a copy of served rows";
	if (!strcmp(kind, "opaque"))
		return "an opaque file (binary or compressed)";
	return kind;
}

/* Split line into at most n tab-separated fields (in place). */
static size_t xcli_split(char *line, char **f, size_t n)
{
	size_t k = 0;

	while (k < n) {
		f[k++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = 0;
	}
	return k;
}

static int xcli_parse(struct xcli *x, char *reply)
{
	struct spot_buf u;
	char *save, *line, *f[6];
	size_t nfind = 0;
	int rc = 0;

	spot_buf_init(&u);
	for (line = strtok_r(reply, "\n", &save); line && !rc;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t n = xcli_split(line, f, 6);

		if (n == 6 && !strcmp(f[0], "file")) {
			struct xcli_file *nf, *fl;

			nf = realloc(x->files, (x->nfiles + 1) * sizeof(*nf));
			if (!nf || xprt_unescape(f[1], strlen(f[1]), &u))
				return -EPROTO;
			x->files = nf;
			fl = &x->files[x->nfiles++];
			memset(fl, 0, sizeof(*fl));
			fl->path = strdup((char *)u.p);
			fl->size = strtoull(f[2], NULL, 10);
			snprintf(fl->hex, sizeof(fl->hex), "%s", f[3]);
			snprintf(fl->type, sizeof(fl->type), "%s", f[4]);
			fl->nfindings = strtoull(f[5], NULL, 10);
			if (!fl->path || strlen(fl->hex) != sizeof(fl->hex) - 1)
				rc = -EPROTO;
		} else if (n == 6 && !strcmp(f[0], "finding")) {
			char path[PATH_MAX], what[256];

			if (xprt_unescape(f[1], strlen(f[1]), &u))
				return -EPROTO;
			spot_printable((char *)u.p, path, sizeof(path));
			if (xprt_unescape(f[5], strlen(f[5]), &u))
				return -EPROTO;
			spot_printable((char *)u.p, what, sizeof(what));
			if (x->json) {
				spot_buf_printf(&x->findings, "%s{\"path\":",
						nfind ? "," : "");
				xcli_json_str(&x->findings, path);
				spot_buf_printf(&x->findings, ",\"kind\":");
				xcli_json_str(&x->findings, f[2]);
				spot_buf_printf(&x->findings,
						",\"line\":%s,\"column\":%s,"
						"\"detail\":",
						f[3], f[4]);
				xcli_json_str(&x->findings, what);
				spot_buf_putc(&x->findings, '}');
			} else {
				spot_buf_printf(&x->findings, "  %s", path);
				if (strcmp(f[3], "0"))
					spot_buf_printf(&x->findings,
							": line %s", f[3]);
				if (strcmp(f[4], "0"))
					spot_buf_printf(&x->findings,
							", column %s", f[4]);
				spot_buf_printf(&x->findings, ": %s%s%s%s\n",
						xcli_kind_text(f[2]),
						what[0] ? " (" : "", what,
						what[0] ? ")" : "");
			}
			nfind++;
		} else if (n == 2 && !strcmp(f[0], "verdict")) {
			snprintf(x->verdict, sizeof(x->verdict), "%s", f[1]);
		}
	}
	spot_buf_fini(&u);
	if (!rc && !x->verdict[0])
		rc = -EPROTO;
	return rc;
}

/* ---- the copy ---- */

/* Where reviewed file path goes: DEST, or DEST/<name>/<rest>. */
static int xcli_dest(struct xcli *x, struct xcli_file *f, const char *dest,
		     bool into)
{
	for (size_t i = 0; i < x->nrel; i++) {
		size_t rl = strlen(x->rel[i]);
		const char *base = strrchr(x->rel[i], '/');

		if (strncmp(f->path, x->rel[i], rl) ||
		    (f->path[rl] && f->path[rl] != '/'))
			continue;
		base = base ? base + 1 : x->rel[i];
		if (!into)
			f->dest = strdup(dest);
		else if (asprintf(&f->dest, "%s/%s%s", dest, base,
				  f->path + rl) < 0)
			f->dest = NULL;
		return f->dest ? 0 : -ENOMEM;
	}
	return -EPROTO;
}

/* mkdir -p of dest's parent folders below top, refusing symlinks. */
static int xcli_mkdirs(const char *top, const char *dest)
{
	char p[PATH_MAX];
	size_t tl = strlen(top);
	struct stat st;

	if (strlen(dest) >= sizeof(p))
		return -ENAMETOOLONG;
	strcpy(p, dest);
	for (char *s = p + tl + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST)
			return -errno;
		if (lstat(p, &st) || !S_ISDIR(st.st_mode))
			return -ENOTDIR; /* a symlink or a file: refused */
		*s = '/';
	}
	return 0;
}

/* Copy mount/f->path to a temporary file beside f->dest, checking its
 * digest against the reviewed one. */
static int xcli_copy_one(struct xcli *x, struct xcli_file *f)
{
	crypto_generichash_state h;
	uint8_t dig[crypto_generichash_BYTES];
	char src[PATH_MAX * 2], hex[sizeof(f->hex)];
	uint8_t *buf = malloc(XCLI_CHUNK);
	uint64_t total = 0;
	int in = -1, out = -1, rc = 0;

	snprintf(src, sizeof(src), "%s/%s", x->mnt, f->path);
	if (!buf || asprintf(&f->tmp, "%s.spotfs-export-XXXXXX", f->dest) < 0) {
		f->tmp = NULL;
		free(buf);
		return -ENOMEM;
	}
	in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	out = in < 0 ? -1 : mkostemp(f->tmp, O_CLOEXEC);
	if (in < 0 || out < 0) {
		rc = -errno;
		if (out < 0) {
			free(f->tmp);
			f->tmp = NULL;
		}
		goto out;
	}
	crypto_generichash_init(&h, NULL, 0, sizeof(dig));
	for (;;) {
		ssize_t n = read(in, buf, XCLI_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (!n)
			break;
		crypto_generichash_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
		for (ssize_t w, off = 0; off < n; off += w) {
			w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				rc = -errno;
				goto out;
			}
		}
	}
	crypto_generichash_final(&h, dig, sizeof(dig));
	sodium_bin2hex(hex, sizeof(hex), dig, sizeof(dig));
	if (total != f->size || strcmp(hex, f->hex))
		rc = -ESTALE; /* changed since the review */
	else if (fsync(out))
		rc = -errno;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(buf);
	return rc;
}

static void xcli_unlink_tmps(struct xcli *x)
{
	for (size_t i = 0; i < x->nfiles; i++)
		if (x->files[i].tmp) {
			unlink(x->files[i].tmp);
			free(x->files[i].tmp);
			x->files[i].tmp = NULL;
		}
}

/* DEST: refuse symlinks and the mount itself; a folder takes the files. */
static int xcli_dest_check(struct xcli *x, const char *dest, bool *into)
{
	char parent[PATH_MAX], *slash;
	struct stat st, mst;
	bool many = x->nfiles > 1 || x->nrel > 1;

	for (size_t i = 0; i < x->nfiles && !many; i++)
		many = strcmp(x->files[i].path, x->rel[0]) != 0; /* a folder */
	if (!lstat(dest, &st)) {
		if (S_ISLNK(st.st_mode)) {
			cli_error(x->cmd, "%s is a symlink: refused", dest);
			return -ELOOP;
		}
		*into = S_ISDIR(st.st_mode);
		if (!*into) {
			cli_error(x->cmd, "%s exists: not overwritten", dest);
			return -EEXIST;
		}
	} else if (many) {
		if (mkdir(dest, 0755)) {
			cli_error(x->cmd, "cannot create %s: %s", dest,
				  strerror(errno));
			return -errno;
		}
		*into = true;
	} else {
		*into = false;
	}
	snprintf(parent, sizeof(parent), "%s", dest);
	slash = *into ? NULL : strrchr(parent, '/');
	if (slash)
		*slash = 0;
	if (!*into && !slash)
		snprintf(parent, sizeof(parent), ".");
	if (!parent[0])
		snprintf(parent, sizeof(parent), "/");
	if (stat(parent, &st) || stat(x->mnt, &mst)) {
		cli_error(x->cmd, "%s: %s", parent, strerror(errno));
		return -errno;
	}
	if (st.st_dev == mst.st_dev) {
		cli_error(x->cmd, "%s is inside the sandbox: export goes out",
			  dest);
		return -EINVAL;
	}
	return 0;
}

static int xcli_copy(struct xcli *x, const char *dest)
{
	struct stat st;
	bool into = false;
	int rc;

	rc = xcli_dest_check(x, dest, &into);
	for (size_t i = 0; !rc && i < x->nfiles; i++) {
		struct xcli_file *f = &x->files[i];

		rc = xcli_dest(x, f, dest, into);
		if (!rc && into)
			rc = xcli_mkdirs(dest, f->dest);
		if (!rc && !lstat(f->dest, &st)) {
			cli_error(x->cmd, "%s exists: not overwritten",
				  f->dest);
			rc = -EEXIST;
			break;
		}
		if (!rc)
			rc = xcli_copy_one(x, f);
		if (rc)
			cli_error(x->cmd, "%s: %s", f->path,
				  rc == -ESTALE
					  ? "changed since the review: nothing "
					    "copied"
					  : strerror(-rc));
	}
	for (size_t i = 0; !rc && i < x->nfiles; i++) {
		struct xcli_file *f = &x->files[i];

		if (renameat2(AT_FDCWD, f->tmp, AT_FDCWD, f->dest,
			      RENAME_NOREPLACE)) {
			rc = -errno;
			cli_error(x->cmd, "%s: %s", f->dest, strerror(-rc));
			/* Keep what is in place already; drop the rest. */
			break;
		}
		free(f->tmp);
		f->tmp = NULL;
	}
	xcli_unlink_tmps(x);
	return rc;
}

/* ---- the command ---- */

static int xcli_request(struct xcli *x, const char *reason, bool override,
			struct spot_buf *req)
{
	spot_buf_printf(req, "export %c\t", override ? 'o' : '-');
	xprt_escape(req, reason, strlen(reason));
	for (size_t i = 0; i < x->nrel; i++) {
		spot_buf_putc(req, '\t');
		xprt_escape(req, x->rel[i], strlen(x->rel[i]));
	}
	if (spot_buf_putc(req, 0))
		return -ENOMEM;
	if (req->len >= CTL_REQ_MAX) {
		cli_error(x->cmd, "too many or too long paths for one export");
		return -E2BIG;
	}
	return 0;
}

static void xcli_print(struct xcli *x, bool copied, const char *dest)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < x->nfiles; i++)
		bytes += x->files[i].size;
	if (x->json) {
		struct spot_buf b;

		spot_buf_init(&b);
		spot_buf_printf(&b, "{\"verdict\":");
		xcli_json_str(&b, x->verdict);
		spot_buf_printf(&b, ",\"copied\":%s,\"dest\":",
				copied ? "true" : "false");
		xcli_json_str(&b, dest);
		spot_buf_printf(&b, ",\"files\":[");
		for (size_t i = 0; i < x->nfiles; i++) {
			spot_buf_printf(&b, "%s{\"path\":", i ? "," : "");
			xcli_json_str(&b, x->files[i].path);
			spot_buf_printf(&b,
					",\"size\":%" PRIu64
					",\"blake2b\":\"%s\",\"type\":\"%s\","
					"\"findings\":%" PRIu64 "}",
					x->files[i].size, x->files[i].hex,
					x->files[i].type,
					x->files[i].nfindings);
		}
		spot_buf_printf(&b, "],\"findings\":[%.*s]}\n",
				(int)x->findings.len,
				x->findings.len ? (char *)x->findings.p : "");
		fwrite(b.p, 1, b.len, stdout);
		spot_buf_fini(&b);
		return;
	}
	if (x->findings.len)
		fprintf(stderr, "spotfs export: findings:\n%.*s",
			(int)x->findings.len, (char *)x->findings.p);
	if (copied)
		printf("spotfs export: %s: %zu file%s (%" PRIu64
		       " bytes) copied to %s\n",
		       x->verdict, x->nfiles, x->nfiles == 1 ? "" : "s", bytes,
		       dest);
	else if (!strcmp(x->verdict, "findings"))
		fprintf(stderr,
			"spotfs export: refused: nothing copied (fix the "
			"files, or ask a role in export: approve to "
			"--override)\n");
}

static void xcli_fini(struct xcli *x)
{
	for (size_t i = 0; i < x->nrel; i++)
		free(x->rel[i]);
	for (size_t i = 0; i < x->nfiles; i++) {
		free(x->files[i].path);
		free(x->files[i].dest);
		free(x->files[i].tmp);
	}
	free(x->files);
	spot_buf_fini(&x->findings);
}

int cli_export(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "override", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct xcli x = { .cmd = "export" };
	const char *reason = "", *state = NULL, *dest;
	struct spot_err err = { "" };
	struct reg_sandbox sb;
	char sock[PATH_MAX];
	struct spot_buf req, reply;
	bool override = false, copied = false, tty;
	int o, rc = CLI_EXIT_FAIL, rc_call;

	optind = 1;
	while ((o = getopt_long(argc, argv, "r:ojS:h", lopts, NULL)) != -1) {
		switch (o) {
		case 'r':
			reason = optarg;
			break;
		case 'o':
			override = true;
			break;
		case 'j':
			x.json = true;
			break;
		case 'S':
			state = optarg;
			break;
		case 'h':
			xcli_usage(stdout);
			return CLI_EXIT_OK;
		default:
			xcli_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		cli_error(x.cmd, "expected MNT/PATH... DEST");
		xcli_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return CLI_EXIT_FAIL;
	dest = argv[argc - 1];
	spot_buf_init(&req);
	spot_buf_init(&reply);
	spot_buf_init(&x.findings);
	if (xcli_sources(&x, argv + optind, (size_t)(argc - 1 - optind)) ||
	    xcli_request(&x, reason, override, &req))
		goto out;
	if (cli_live_sandbox(x.cmd, state, x.mnt, &sb, sock, sizeof(sock)))
		goto out;
	tty = isatty(STDERR_FILENO);
	rc_call = ctl_call_progress(sock, (const char *)req.p, XCLI_TIMEOUT_MS,
				    tty ? xcli_progress : NULL, NULL, &reply,
				    &err);
	if (tty)
		fputs("\r\033[K", stderr); /* the progress line goes */
	if (rc_call) {
		cli_error(x.cmd, "refused: %s", err.msg);
		reg_sandbox_fini(&sb);
		goto out;
	}
	reg_sandbox_fini(&sb);
	if (xcli_parse(&x, (char *)reply.p)) {
		cli_error(x.cmd, "malformed reply from the daemon");
		goto out;
	}
	if (strcmp(x.verdict, "findings") && !xcli_copy(&x, dest)) {
		copied = true;
		rc = CLI_EXIT_OK;
	}
	xcli_print(&x, copied, dest);
out:
	spot_buf_fini(&req);
	spot_buf_fini(&reply);
	xcli_fini(&x);
	return rc;
}
