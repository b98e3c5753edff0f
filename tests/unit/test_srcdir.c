/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_srcdir.c - confined source access: symlinks (last component and in
 * the middle), escapes, FIFOs (never opened, never blocking), hidden-entry
 * walks and pinned identities.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
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

static int srcfd_g;
static pthread_barrier_t bar;

/*
 * A thread started before main switches (a thread cloned while switched
 * would inherit the caller's credentials: the daemon never starts one
 * then) opens a root-only file while main acts as a caller.
 */
static void *other_thread(void *arg)
{
	struct stat st;
	int fd, rc;

	(void)arg;
	pthread_barrier_wait(&bar); /* main has switched */
	rc = src_open(srcfd_g, "root600.txt", &fd, &st);
	if (!rc)
		close(fd);
	pthread_barrier_wait(&bar);
	return rc ? (void *)1 : NULL;
}

/* Acting as a caller (root only: a daemon that is not root cannot). */
static void test_cred(int srcfd)
{
	const gid_t team[] = { 4343 };
	struct src_cred nobody = { 65534, 65534, NULL, 0 };
	struct src_cred member = { 65534, 65534, team, 1 };
	gid_t before[64], after[64];
	int nb, na, fd, rc;
	struct stat st;
	pthread_t th;
	void *res = (void *)1;
	char p[PATH_MAX];

	if (geteuid() != 0) {
		struct src_cred me = { geteuid(), getegid(), NULL, 0 };

		CHECK(src_cred_enter(&me) == 0, "not root: itself, no switch");
		CHECK(src_cred_enter(&nobody) == -EIO,
		      "not root: anyone else fails closed");
		return;
	}
	chmod(root, 0755);
	put("root600.txt", "secret\n");
	at(p, sizeof(p), "root600.txt");
	chmod(p, 0600);
	put("team640.txt", "team\n");
	at(p, sizeof(p), "team640.txt");
	chmod(p, 0640);
	chown(p, 0, 4343);
	nb = getgroups(64, before);
	srcfd_g = srcfd;

	pthread_barrier_init(&bar, NULL, 2);
	rc = pthread_create(&th, NULL, other_thread, NULL);
	CHECK(src_cred_enter(&nobody) == 1, "root switches");
	if (!rc)
		pthread_barrier_wait(&bar);
	CHECK(src_open(srcfd, "root600.txt", &fd, &st) == -EACCES,
	      "as the caller: the source's mode applies");
	CHECK(src_open(srcfd, "team640.txt", &fd, &st) == -EACCES,
	      "no groups: no group access");
	CHECK(src_stat(srcfd, "root600.txt", &st) == 0,
	      "stat needs no read permission");
	if (!rc)
		pthread_barrier_wait(&bar); /* the other thread has opened */
	src_cred_leave();
	CHECK(!rc && pthread_join(th, &res) == 0 && res == NULL,
	      "the switch is this thread's only");
	pthread_barrier_destroy(&bar);
	CHECK(setfsuid((uid_t)-1) == 0 &&
		      (gid_t)setfsgid((gid_t)-1) == getegid(),
	      "the daemon's own ids are back");
	na = getgroups(64, after);
	CHECK(na == nb && !memcmp(before, after, sizeof(gid_t) * (size_t)na),
	      "the daemon's own groups are back");
	rc = src_open(srcfd, "root600.txt", &fd, &st);
	CHECK(rc == 0, "as the daemon again: opens");
	if (!rc)
		close(fd);

	CHECK(src_cred_enter(&member) == 1, "with a group");
	rc = src_open(srcfd, "team640.txt", &fd, &st);
	src_cred_leave();
	CHECK(rc == 0, "a supplementary group grants as in the source");
	if (!rc)
		close(fd);
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

	test_cred(srcfd);

	close(srcfd);
	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	if (system(p))
		return 1;
	return check_done();
}
