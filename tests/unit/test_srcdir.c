/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_srcdir.c - confined source access: symlinks (last component and in
 * the middle), escapes, FIFOs (never opened, never blocking), hidden-entry
 * walks and pinned identities.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "srcdir.h"

static char root[256];

static void put(const char *rel, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void at(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", root, rel);
}

struct seen {
	char names[8][64];
	int n;
};

static void on_hidden(void *arg, const char *rel, mode_t type)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->names[s->n++], 64, "%s=%s", rel,
			 src_kind_name(type));
}

static bool seen_has(const struct seen *s, const char *what)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], what))
			return true;
	return false;
}

int main(void)
{
	char p[PATH_MAX], q[PATH_MAX];
	const char *kind;
	struct src_id id;
	struct seen seen = { .n = 0 };
	struct stat st;
	int srcfd, fd = -1, rc;

	snprintf(root, sizeof(root), "/tmp/spotfs-srcdir.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	put("a.csv", "x\n");
	at(p, sizeof(p), "sub");
	mkdir(p, 0755);
	put("sub/b.csv", "y\n");
	at(p, sizeof(p), "link.csv");
	symlink("a.csv", p);
	at(p, sizeof(p), "dirlink");
	symlink("sub", p);
	at(p, sizeof(p), "out.csv");
	symlink("/etc/passwd", p);
	at(p, sizeof(p), "fifo");
	mkfifo(p, 0644);
	srcfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	rc = src_open(srcfd, "a.csv", &fd, &st);
	CHECK(rc == 0 && fd >= 0 && S_ISREG(st.st_mode), "a file opens");
	CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK), "O_NONBLOCK cleared after");
	src_id_from_stat(&st, &id);
	CHECK(src_id_check(fd, &id) == 0, "an unchanged file passes the pin");
	put("a.csv", "changed in place\n");
	CHECK(src_id_check(fd, &id) == -ESTALE, "a rewrite fails the pin");
	fstat(fd, &st);
	src_id_from_stat(&st, &id);
	at(p, sizeof(p), "a.csv");
	at(q, sizeof(q), "a2.csv");
	link(p, q);
	CHECK(src_id_check(fd, &id) == -ESTALE, "a new hard link (ctime)");
	fstat(fd, &st);
	src_id_from_stat(&st, &id);
	unlink(q);
	fstat(fd, &st);
	src_id_from_stat(&st, &id);
	unlink(p);
	CHECK(src_id_check(fd, &id) == -ESTALE, "a removed file fails the pin");
	close(fd);
	put("a.csv", "x\n");

	CHECK(src_open(srcfd, "sub/b.csv", &fd, &st) == 0, "a nested file");
	close(fd);
	CHECK(src_open(srcfd, "link.csv", &fd, &st) == -ENOENT,
	      "a symlink is hidden");
	CHECK(src_open(srcfd, "dirlink/b.csv", &fd, &st) == -ENOENT,
	      "a path through a symlinked folder is hidden");
	CHECK(src_open(srcfd, "out.csv", &fd, &st) == -ENOENT,
	      "a symlink out of the tree is hidden");
	CHECK(src_open(srcfd, "../etc/passwd", &fd, &st) == -ENOENT,
	      "dot-dot out of the tree is hidden");
	CHECK(src_open(srcfd, "/etc/passwd", &fd, &st) == -ENOENT,
	      "an absolute path is hidden");
	CHECK(src_open(srcfd, "fifo", &fd, &st) == -ENOENT,
	      "a FIFO is hidden and the open did not block");
	CHECK(src_stat(srcfd, "fifo", &st) == -ENOENT, "a FIFO has no stat");
	CHECK(src_stat(srcfd, "link.csv", &st) == -ENOENT,
	      "a symlink has no stat");
	CHECK(src_stat(srcfd, "sub", &st) == 0 && S_ISDIR(st.st_mode),
	      "a folder stats");
	CHECK(src_open(srcfd, "sub", &fd, &st) == -EISDIR, "a folder: EISDIR");
	CHECK(src_opendir(srcfd, "dirlink", &fd) == -ENOENT,
	      "a symlinked folder does not open");
	CHECK(src_opendir(srcfd, "sub", &fd) == 0, "a folder opens");
	close(fd);

	CHECK(src_dataset_probe(srcfd, "a.csv", &kind) == 0, "probe: fine");
	CHECK(src_dataset_probe(srcfd, "link.csv", &kind) == -ELOOP &&
		      !strcmp(kind, "symlink"),
	      "probe: a symlink");
	CHECK(src_dataset_probe(srcfd, "dirlink/b.csv", &kind) == -ELOOP,
	      "probe: through a symlink");
	CHECK(src_dataset_probe(srcfd, "../x.csv", &kind) == -EXDEV,
	      "probe: leaves the tree");
	CHECK(src_dataset_probe(srcfd, "fifo", &kind) == -EINVAL &&
		      !strcmp(kind, "fifo"),
	      "probe: a FIFO");
	CHECK(src_dataset_probe(srcfd, "nope.csv", &kind) == -ENOENT,
	      "probe: missing");

	src_walk_hidden(srcfd, on_hidden, &seen);
	CHECK(seen.n == 4 && seen_has(&seen, "link.csv=symlink") &&
		      seen_has(&seen, "dirlink=symlink") &&
		      seen_has(&seen, "out.csv=symlink") &&
		      seen_has(&seen, "fifo=fifo"),
	      "the walk lists exactly the hidden entries (%d)", seen.n);

	close(srcfd);
	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	if (system(p))
		return 1;
	return check_done();
}
