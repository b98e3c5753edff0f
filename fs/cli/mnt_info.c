/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mnt_info.c - /proc/self/mountinfo, parsed (see proc(5)): field 5 is the
 * mount point (octal escapes for space, tab, newline, backslash); after the
 * " - " separator come the fstype, the source and the super options, where
 * a FUSE mount has user_id=UID.
 */
#include "mnt_info.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mnt_normalise(const char *path, char *out, size_t len)
{
	char abs[PATH_MAX], cwd[PATH_MAX];
	size_t n = 0;
	int k;

	if (path[0] == '/')
		k = snprintf(abs, sizeof(abs), "%s", path);
	else if (getcwd(cwd, sizeof(cwd)))
		k = snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
	else
		return -errno;
	if (k < 0 || (size_t)k >= sizeof(abs) || len < 2)
		return -ENAMETOOLONG;
	for (char *save, *t = strtok_r(abs, "/", &save); t;
	     t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			while (n > 0 && out[--n] != '/')
				;
			continue;
		}
		k = snprintf(out + n, len - n, "/%s", t);
		if (k < 0 || (size_t)k >= len - n)
			return -ENAMETOOLONG;
		n += (size_t)k;
	}
	if (!n)
		out[n++] = '/';
	out[n] = 0;
	return 0;
}

/* Undo mountinfo's octal escapes in place. */
static void mnt_unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] &&
		    r[3]) {
			*w++ = (char)(((r[1] - '0') << 6) |
				      ((r[2] - '0') << 3) | (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

/* One line into m; false if it cannot be parsed. */
static bool mnt_parse(char *line, struct mnt_info *m)
{
	char *save, *f[5], *sep, *fstype, *opts, *u;

	sep = strstr(line, " - ");
	if (!sep)
		return false;
	*sep = 0;
	f[0] = strtok_r(line, " ", &save);
	for (int i = 1; i < 5 && f[i - 1]; i++)
		f[i] = strtok_r(NULL, " ", &save);
	if (!f[0] || !f[4])
		return false;
	fstype = strtok_r(sep + 3, " ", &save);
	(void)strtok_r(NULL, " ", &save); /* source */
	opts = strtok_r(NULL, " \n", &save);
	if (!fstype)
		return false;
	mnt_unescape(f[4]);
	snprintf(m->point, sizeof(m->point), "%s", f[4]);
	snprintf(m->fstype, sizeof(m->fstype), "%s", fstype);
	m->spotfs = !strcmp(fstype, "fuse.spotfs");
	m->owner = -1;
	u = opts ? strstr(opts, "user_id=") : NULL;
	if (u)
		m->owner = strtoll(u + 8, NULL, 10);
	return true;
}

typedef bool (*mnt_fn)(void *arg, const struct mnt_info *m);

static void mnt_each(mnt_fn fn, void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	struct mnt_info *m = malloc(sizeof(*m));

	if (!f || !m) {
		if (f)
			fclose(f);
		free(m);
		return;
	}
	while (getline(&line, &cap, f) > 0)
		if (mnt_parse(line, m) && !fn(arg, m))
			break;
	free(line);
	free(m);
	fclose(f);
}

struct mnt_find_ctx {
	const char *path;
	bool inside;
	size_t best;
	bool found;
	struct mnt_info *out;
};

static bool mnt_find_one(void *arg, const struct mnt_info *m)
{
	struct mnt_find_ctx *c = arg;
	size_t pl = strlen(m->point);

	if (!strcmp(m->point, c->path) ||
	    (c->inside && (pl == 1 || (!strncmp(m->point, c->path, pl) &&
				       c->path[pl] == '/')))) {
		/* The last of equal length is the one on top. */
		if (!c->found || pl >= c->best) {
			*c->out = *m;
			c->best = pl;
			c->found = true;
		}
	}
	return true;
}

int mnt_find(const char *path, bool inside, struct mnt_info *out)
{
	char norm[PATH_MAX];
	struct mnt_find_ctx c = { norm, inside, 0, false, out };
	int rc = mnt_normalise(path, norm, sizeof(norm));

	if (rc)
		return rc;
	mnt_each(mnt_find_one, &c);
	if (!c.found && inside && norm[0] == '/') {
		/* A chroot whose / is no mount point: / still holds it. */
		memset(out, 0, sizeof(*out));
		strcpy(out->point, "/");
		out->owner = -1;
		return 0;
	}
	return c.found ? 0 : -ENOENT;
}

void mnt_note_denied(const char *point, const char *what)
{
	char p[PATH_MAX + 64];
	struct stat st;

	snprintf(p, sizeof(p), "%s/.spotfs/.denied-%s", point, what);
	(void)lstat(p, &st);
}
