/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_ovl.c - the in-memory upper tree: every namespace operation with its
 * errnos, whiteouts and opaque directories, attributes and times, xattrs,
 * unlink while open, hard links, rename (replace, NOREPLACE, EXCHANGE),
 * readdir offsets under concurrent changes, and node lifetime.
 */

#include "ovl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"

static struct ovl_tree *t;
static struct ovl_node *root;
static const struct ovl_new file_new = { .mode = S_IFREG | 0644,
					 .uid = 1000,
					 .gid = 1000 };
static const struct ovl_new dir_new = { .mode = S_IFDIR | 0755,
					.uid = 1000,
					.gid = 1000 };

/* Create and forget at once: tests mostly hold no references. */
static struct ovl_node *mk(struct ovl_node *dir, const char *name, bool isdir)
{
	struct ovl_node *n = NULL;
	int rc = isdir ? ovl_mkdir(t, dir, name, &dir_new, &n)
		       : ovl_create(t, dir, name, &file_new, &n);

	if (rc)
		return NULL;
	ovl_node_forget(t, n, 1);
	return n;
}

static enum ovl_hit hit_of(struct ovl_node *dir, const char *name,
			   struct ovl_node **out)
{
	enum ovl_hit h = OVL_MISS;
	struct ovl_node *n = NULL;

	if (ovl_lookup(t, dir, name, &h, &n))
		return (enum ovl_hit) - 1;
	if (h == OVL_FOUND)
		ovl_node_forget(t, n, 1);
	if (out)
		*out = n;
	return h;
}

static nlink_t nlink_of(struct ovl_node *n)
{
	struct stat st;

	ovl_node_stat(t, n, &st);
	return st.st_nlink;
}

static void test_create(void)
{
	struct ovl_node *a, *n = NULL, *d;
	char longname[300];
	struct ovl_new dev = file_new;

	a = mk(root, "a", false);
	CHECK(a && hit_of(root, "a", NULL) == OVL_FOUND, "create + lookup");
	CHECK(ovl_create(t, root, "a", &file_new, &n) == -EEXIST,
	      "create existing is EEXIST");
	CHECK(ovl_mkdir(t, root, "a", &dir_new, &n) == -EEXIST,
	      "mkdir over a file is EEXIST");
	CHECK(hit_of(root, "nothing", NULL) == OVL_MISS, "absent name: MISS");
	memset(longname, 'x', sizeof(longname));
	longname[256] = 0;
	CHECK(ovl_create(t, root, longname, &file_new, &n) == -ENAMETOOLONG,
	      "256-byte name is ENAMETOOLONG");
	longname[255] = 0;
	CHECK(ovl_create(t, root, longname, &file_new, &n) == 0,
	      "255-byte name is fine");
	ovl_node_forget(t, n, 1);
	CHECK(ovl_unlink(t, root, longname, 0) == 0, "unlink long name");
	CHECK(ovl_create(t, root, "..", &file_new, &n) == -EINVAL &&
		      ovl_create(t, root, "a/b", &file_new, &n) == -EINVAL,
	      "dot-dot and slash are EINVAL");
	CHECK(ovl_create(t, a, "x", &file_new, &n) == -ENOTDIR,
	      "create under a file is ENOTDIR");
	dev.mode = S_IFCHR | 0600;
	dev.rdev = makedev(1, 3);
	CHECK(ovl_create(t, root, "dev", &dev, &n) == 0 &&
		      ovl_node_type(n) == S_IFCHR && !ovl_node_file(n),
	      "device nodes are metadata only");
	{
		struct stat st;

		ovl_node_stat(t, n, &st);
		CHECK(st.st_rdev == makedev(1, 3) && st.st_size == 0,
		      "a device node keeps its numbers");
		CHECK(ovl_file_pread(t, n, &st, 1, 0) < 0,
		      "and has no contents to read");
	}
	ovl_node_forget(t, n, 1);
	dev.mode = S_IFBLK | 0600;
	dev.rdev = makedev(8, 0);
	CHECK(ovl_create(t, root, "blk", &dev, &n) == 0 &&
		      ovl_node_type(n) == S_IFBLK,
	      "block device nodes too");
	ovl_node_forget(t, n, 1);
	CHECK(!ovl_unlink(t, root, "dev", 0) && !ovl_unlink(t, root, "blk", 0),
	      "device nodes unlink");
	dev.rdev = 0;
	dev.mode = S_IFIFO | 0600;
	CHECK(ovl_create(t, root, "fifo", &dev, &n) == 0 &&
		      ovl_node_type(n) == S_IFIFO && !ovl_node_file(n),
	      "FIFO nodes work");
	ovl_node_forget(t, n, 1);
	d = mk(root, "d", true);
	CHECK(d && nlink_of(d) == 2 && nlink_of(root) == 3,
	      "mkdir: nlink 2, parent nlink +1");
	dev = file_new;
	dev.ino = ovl_node_ino(a);
	CHECK(ovl_create(t, root, "dup", &dev, &n) == -EBUSY,
	      "an inode number in use is EBUSY");
	dev.ino = 777777;
	CHECK(ovl_create(t, root, "dup", &dev, &n) == 0 &&
		      ovl_node_ino(n) == 777777 && ovl_node_get(t, 777777) == n,
	      "caller-chosen inode number");
	ovl_node_forget(t, n, 1);
	ovl_unlink(t, root, "dup", 0);
	CHECK(ovl_node_get(t, 777777) == NULL, "unlinked node is freed");
}

static void test_symlink(void)
{
	struct ovl_node *n = NULL;
	char buf[5000], big[5000];
	struct stat st;

	CHECK(ovl_symlink(t, root, "ln", "a/target", &file_new, &n) == 0,
	      "symlink");
	ovl_node_stat(t, n, &st);
	CHECK(S_ISLNK(st.st_mode) && st.st_size == 8, "symlink stat");
	CHECK(ovl_readlink(t, n, buf, sizeof(buf)) == 8 &&
		      !memcmp(buf, "a/target", 8),
	      "readlink");
	CHECK(ovl_readlink(t, root, buf, sizeof(buf)) == -EINVAL,
	      "readlink of a dir is EINVAL");
	CHECK(ovl_setxattr(t, n, "user.x", "1", 1, 0) == -EPERM,
	      "user xattr on a symlink is EPERM");
	ovl_node_forget(t, n, 1);
	memset(big, 'y', sizeof(big));
	big[4096] = 0;
	CHECK(ovl_symlink(t, root, "ln2", big, &file_new, &n) == -ENAMETOOLONG,
	      "4096-byte target is ENAMETOOLONG");
	big[4095] = 0;
	CHECK(ovl_symlink(t, root, "ln2", big, &file_new, &n) == 0,
	      "4095-byte target works");
	ovl_node_forget(t, n, 1);
	CHECK(ovl_symlink(t, root, "ln3", "", &file_new, &n) == -ENOENT,
	      "empty target is ENOENT");
}

static void test_remove(void)
{
	struct ovl_node *d = mk(root, "rm", true), *sub;

	mk(d, "f", false);
	sub = mk(d, "sub", true);
	CHECK(ovl_unlink(t, d, "sub", 0) == -EISDIR, "unlink dir is EISDIR");
	CHECK(ovl_rmdir(t, d, "f", 0) == -ENOTDIR, "rmdir file is ENOTDIR");
	CHECK(ovl_rmdir(t, root, "rm", 0) == -ENOTEMPTY,
	      "rmdir non-empty is ENOTEMPTY");
	CHECK(ovl_unlink(t, d, "nope", 0) == -ENOENT,
	      "unlink absent is ENOENT");
	CHECK(ovl_unlink(t, d, "f", 0) == 0 && hit_of(d, "f", NULL) == OVL_MISS,
	      "unlink");
	CHECK(nlink_of(d) == 3 && sub, "dir nlink counts subdirs");
	CHECK(ovl_rmdir(t, d, "sub", 0) == 0 && nlink_of(d) == 2,
	      "rmdir drops the parent's nlink");
	/* Whiteouts: hide lower entries, do not count for emptiness. */
	CHECK(ovl_unlink(t, d, "lower-only", OVL_WHITEOUT) == 0 &&
		      hit_of(d, "lower-only", NULL) == OVL_HIDDEN,
	      "whiteout for a lower-only name");
	CHECK(ovl_unlink(t, d, "lower-only", 0) == -ENOENT,
	      "unlink of a whiteout is ENOENT");
	CHECK(ovl_dir_whiteout(t, d, "w2") == 0 &&
		      hit_of(d, "w2", NULL) == OVL_HIDDEN,
	      "ovl_dir_whiteout");
	mk(d, "w3", false);
	CHECK(ovl_dir_whiteout(t, d, "w3") == -EEXIST,
	      "whiteout over an upper entry is EEXIST");
	CHECK(ovl_unlink(t, d, "w3", OVL_WHITEOUT) == 0 &&
		      hit_of(d, "w3", NULL) == OVL_HIDDEN,
	      "unlink upper entry leaving a whiteout");
	CHECK(ovl_rmdir(t, root, "rm", 0) == 0, "dir with whiteouts only is "
						"empty");
	/* A directory made over a whiteout is opaque. */
	CHECK(ovl_rmdir(t, root, "gone", OVL_WHITEOUT) == 0, "whiteout a dir");
	d = mk(root, "gone", true);
	CHECK(d && ovl_dir_opaque(t, d) &&
		      hit_of(d, "lower-file", NULL) == OVL_HIDDEN,
	      "mkdir over a whiteout is opaque");
	CHECK(ovl_dir_set_opaque(t, d, false) == 0 &&
		      hit_of(d, "lower-file", NULL) == OVL_MISS,
	      "opaque flag can be cleared");
	ovl_rmdir(t, root, "gone", 0);
}

static void test_open_unlinked(void)
{
	struct ovl_node *n = NULL, *l = NULL;
	char buf[32];
	struct stat st;

	ovl_create(t, root, "open", &file_new, &n);
	ovl_node_open(t, n);
	CHECK(ovl_file_pwrite(t, n, "keep me", 7, 0) == 7, "write");
	CHECK(ovl_link(t, n, root, "open2", &l) == 0 && l == n &&
		      nlink_of(n) == 2,
	      "hard link shares the node, nlink 2");
	ovl_node_forget(t, l, 1);
	CHECK(ovl_link(t, root, root, "rootlink", &l) == -EPERM,
	      "hard link to a dir is EPERM");
	CHECK(ovl_link(t, n, root, "open2", &l) == -EEXIST,
	      "link over existing is EEXIST");
	{
		enum ovl_hit h;
		struct ovl_node *m = NULL;

		ovl_lookup(t, root, "open2", &h, &m);
		CHECK(h == OVL_FOUND && ovl_file_pread(t, m, buf, 7, 0) == 7 &&
			      !memcmp(buf, "keep me", 7),
		      "data visible through the other name");
		ovl_node_forget(t, m, 1);
	}
	ovl_unlink(t, root, "open", 0);
	ovl_unlink(t, root, "open2", 0);
	ovl_node_stat(t, n, &st);
	CHECK(st.st_nlink == 0 && hit_of(root, "open", NULL) == OVL_MISS,
	      "unlinked: nlink 0 and no name");
	CHECK(ovl_file_pread(t, n, buf, sizeof(buf), 0) == 7 &&
		      !memcmp(buf, "keep me", 7),
	      "unlinked but open file still reads");
	CHECK(ovl_link(t, n, root, "back", &l) == -ENOENT,
	      "linking an unlinked file is ENOENT");
	ovl_node_forget(t, n, 1);
	CHECK(ovl_node_get(t, st.st_ino) == n, "open keeps the node alive");
	ovl_node_release(t, n);
	CHECK(ovl_node_get(t, st.st_ino) == NULL, "last release frees it");
}

static void test_setattr(void)
{
	struct ovl_node *n = NULL;
	struct ovl_setattr sa = { 0 };
	struct timespec before;
	struct stat st;
	char buf[16];

	ovl_create(t, root, "attr", &file_new, &n);
	ovl_file_pwrite(t, n, "0123456789", 10, 0);
	sa.valid = OVL_SET_MODE | OVL_SET_UID | OVL_SET_GID;
	sa.mode = S_IFDIR | 04711;
	sa.uid = 42;
	sa.gid = 43;
	CHECK(ovl_setattr(t, n, &sa, &st) == 0 &&
		      st.st_mode == (S_IFREG | 04711) && st.st_uid == 42 &&
		      st.st_gid == 43,
	      "chmod keeps the type; chown");
	sa.valid = OVL_SET_SIZE;
	sa.size = 4;
	CHECK(ovl_setattr(t, n, &sa, &st) == 0 && st.st_size == 4 &&
		      ovl_file_pread(t, n, buf, 16, 0) == 4,
	      "truncate down");
	sa.size = 8;
	CHECK(ovl_setattr(t, n, &sa, &st) == 0 && st.st_size == 8 &&
		      ovl_file_pread(t, n, buf, 16, 0) == 8 && buf[5] == 0,
	      "truncate up reads zeros");
	CHECK(ovl_setattr(t, root, &sa, NULL) == -EISDIR,
	      "truncate a dir is EISDIR");
	sa.valid = OVL_SET_ATIME | OVL_SET_MTIME;
	sa.atime = (struct timespec){ 1000, 5 };
	sa.mtime = (struct timespec){ 2000, 6 };
	CHECK(ovl_setattr(t, n, &sa, &st) == 0 && st.st_atim.tv_sec == 1000 &&
		      st.st_atim.tv_nsec == 5 && st.st_mtim.tv_sec == 2000,
	      "utimens explicit times");
	sa.atime.tv_nsec = UTIME_OMIT;
	sa.mtime.tv_nsec = UTIME_NOW;
	clock_gettime(CLOCK_REALTIME, &before);
	CHECK(ovl_setattr(t, n, &sa, &st) == 0 && st.st_atim.tv_sec == 1000 &&
		      st.st_mtim.tv_sec >= before.tv_sec &&
		      st.st_ctim.tv_sec >= before.tv_sec,
	      "UTIME_OMIT keeps, UTIME_NOW sets, ctime updated");
	sa.valid = OVL_SET_ATIME_NOW;
	CHECK(ovl_setattr(t, n, &sa, &st) == 0 &&
		      st.st_atim.tv_sec >= before.tv_sec,
	      "ATIME_NOW");
	/* Writes update mtime; creating an entry updates the parent. */
	sa.valid = OVL_SET_MTIME;
	sa.mtime = (struct timespec){ 5, 0 };
	ovl_setattr(t, n, &sa, NULL);
	ovl_setattr(t, root, &sa, NULL);
	ovl_file_pwrite(t, n, "x", 1, 0);
	ovl_node_stat(t, n, &st);
	CHECK(st.st_mtim.tv_sec >= before.tv_sec, "write updates mtime");
	mk(root, "touch-parent", false);
	ovl_node_stat(t, root, &st);
	CHECK(st.st_mtim.tv_sec >= before.tv_sec,
	      "create updates parent mtime");
	ovl_node_forget(t, n, 1);
}

static void test_xattr(void)
{
	struct ovl_node *n = mk(root, "xa", false);
	char buf[256], name[300], *big = calloc(1, OVL_XATTR_VALUE_MAX + 1);
	int i, rc = 0;

	CHECK(ovl_setxattr(t, n, "user.a", "va", 2, 0) == 0, "setxattr");
	CHECK(ovl_getxattr(t, n, "user.a", NULL, 0) == 2, "size query");
	CHECK(ovl_getxattr(t, n, "user.a", buf, 1) == -ERANGE, "ERANGE");
	CHECK(ovl_getxattr(t, n, "user.a", buf, sizeof(buf)) == 2 &&
		      !memcmp(buf, "va", 2),
	      "getxattr");
	CHECK(ovl_getxattr(t, n, "user.b", buf, sizeof(buf)) == -ENODATA,
	      "missing is ENODATA");
	CHECK(ovl_setxattr(t, n, "user.a", "x", 1, XATTR_CREATE) == -EEXIST,
	      "XATTR_CREATE on existing is EEXIST");
	CHECK(ovl_setxattr(t, n, "user.b", "x", 1, XATTR_REPLACE) == -ENODATA,
	      "XATTR_REPLACE on missing is ENODATA");
	CHECK(ovl_setxattr(t, n, "user.a", "new", 3, XATTR_REPLACE) == 0 &&
		      ovl_getxattr(t, n, "user.a", buf, sizeof(buf)) == 3,
	      "XATTR_REPLACE");
	CHECK(ovl_setxattr(t, n, "user.e", "", 0, 0) == 0 &&
		      ovl_getxattr(t, n, "user.e", buf, sizeof(buf)) == 0,
	      "empty value");
	CHECK(ovl_listxattr(t, n, NULL, 0) == 14 &&
		      ovl_listxattr(t, n, buf, 5) == -ERANGE &&
		      ovl_listxattr(t, n, buf, sizeof(buf)) == 14 &&
		      (!memcmp(buf, "user.e\0user.a\0", 14) ||
		       !memcmp(buf, "user.a\0user.e\0", 14)),
	      "listxattr");
	CHECK(ovl_setxattr(t, n, "trusted.x", "1", 1, 0) == -EOPNOTSUPP &&
		      ovl_getxattr(t, n, "security.x", buf, 9) == -EOPNOTSUPP,
	      "non-user namespaces are EOPNOTSUPP");
	CHECK(ovl_setxattr(t, n, "user.", "1", 1, 0) == -EINVAL,
	      "empty user name is EINVAL");
	snprintf(name, sizeof(name), "user.%0251d", 0);
	CHECK(ovl_setxattr(t, n, name, "1", 1, 0) == -ERANGE,
	      "name over 255 is ERANGE");
	CHECK(ovl_setxattr(t, n, "user.big", big, OVL_XATTR_VALUE_MAX + 1, 0) ==
		      -E2BIG,
	      "value over 64 KiB is E2BIG");
	for (i = 0; i < 8 && !rc; i++) {
		snprintf(name, sizeof(name), "user.fill%d", i);
		rc = ovl_setxattr(t, n, name, big, OVL_XATTR_VALUE_MAX, 0);
	}
	CHECK(rc == -ENOSPC, "per-node total is ENOSPC");
	CHECK(ovl_setxattr(t, n, "user.a", "1", 1,
			   XATTR_CREATE | XATTR_REPLACE) == -EINVAL,
	      "both flags is EINVAL");
	CHECK(ovl_removexattr(t, n, "user.a") == 0 &&
		      ovl_removexattr(t, n, "user.a") == -ENODATA,
	      "removexattr");
	free(big);
}

static void test_rename(void)
{
	struct ovl_node *a = mk(root, "ra", true), *b = mk(a, "rb", true), *x;
	struct ovl_node *f, *g, *e = mk(root, "empty", true);
	uint64_t gino, eino = ovl_node_ino(e);
	struct stat st;

	f = mk(root, "rf", false);
	g = mk(root, "rg", false);
	mk(b, "inner", false);
	CHECK(ovl_rename(t, root, "none", root, "x", 0, 0) == -ENOENT,
	      "missing source is ENOENT");
	CHECK(ovl_rename(t, root, "ra", b, "moved", 0, 0) == -EINVAL,
	      "dir into its own subtree is EINVAL");
	CHECK(ovl_rename(t, root, "ra", a, "self", 0, 0) == -EINVAL,
	      "dir into itself is EINVAL");
	CHECK(ovl_rename(t, a, "rb", root, "ra", 0, 0) == -ENOTEMPTY,
	      "over an ancestor is ENOTEMPTY");
	CHECK(ovl_rename(t, root, "rf", root, "rg", RENAME_NOREPLACE, 0) ==
		      -EEXIST,
	      "NOREPLACE over existing is EEXIST");
	CHECK(ovl_rename(t, root, "rf", root, "zz", RENAME_EXCHANGE, 0) ==
		      -ENOENT,
	      "EXCHANGE with a missing target is ENOENT");
	CHECK(ovl_rename(t, root, "rf", root, "rg",
			 RENAME_EXCHANGE | RENAME_NOREPLACE, 0) == -EINVAL,
	      "EXCHANGE|NOREPLACE is EINVAL");
	CHECK(ovl_rename(t, root, "ra", root, "rf", 0, 0) == -ENOTDIR,
	      "dir over file is ENOTDIR");
	CHECK(ovl_rename(t, root, "rf", root, "ra", 0, 0) == -EISDIR,
	      "file over dir is EISDIR");
	CHECK(ovl_rename(t, root, "empty", root, "ra", 0, 0) == -ENOTEMPTY,
	      "dir over non-empty dir is ENOTEMPTY");
	CHECK(ovl_rename(t, a, "rb", root, "empty", 0, 0) == 0 &&
		      hit_of(root, "empty", &x) == OVL_FOUND && x == b &&
		      hit_of(a, "rb", NULL) == OVL_MISS &&
		      ovl_dir_parent(t, b) == root && nlink_of(a) == 2,
	      "dir over empty dir replaces it");
	CHECK(ovl_node_get(t, eino) == NULL, "replaced dir is freed");
	gino = ovl_node_ino(g);
	CHECK(ovl_rename(t, root, "rf", root, "rg", 0, 0) == 0 &&
		      hit_of(root, "rg", &x) == OVL_FOUND && x == f &&
		      hit_of(root, "rf", NULL) == OVL_MISS,
	      "file over file");
	CHECK(ovl_node_get(t, gino) == NULL, "replaced file is freed");
	f = mk(root, "rf", false);
	CHECK(ovl_rename(t, root, "rf", root, "rg", RENAME_EXCHANGE, 0) == 0 &&
		      hit_of(root, "rg", &x) == OVL_FOUND && x == f,
	      "EXCHANGE swaps two files");
	CHECK(ovl_rename(t, root, "rg", root, "empty", RENAME_EXCHANGE, 0) ==
			      0 &&
		      hit_of(root, "rg", &x) == OVL_FOUND && x == b &&
		      hit_of(root, "empty", &x) == OVL_FOUND && x == f,
	      "EXCHANGE a file and a dir");
	CHECK(ovl_rename(t, root, "rg", a, "back", RENAME_EXCHANGE, 0) ==
		      -ENOENT,
	      "EXCHANGE needs both");
	CHECK(ovl_rename(t, root, "rg", a, "rb", 0,
			 OVL_WHITEOUT | OVL_OPAQUE) == 0 &&
		      hit_of(root, "rg", NULL) == OVL_HIDDEN &&
		      ovl_dir_opaque(t, b) && nlink_of(a) == 3 &&
		      ovl_dir_parent(t, b) == a,
	      "move a dir leaving a whiteout, made opaque");
	CHECK(ovl_rename(t, root, "empty", root, "rg", 0, 0) == 0 &&
		      hit_of(root, "rg", NULL) == OVL_FOUND,
	      "rename onto a whiteout");
	CHECK(ovl_link(t, f, root, "rg-link", &x) == 0, "link for rename");
	ovl_node_forget(t, x, 1);
	CHECK(ovl_rename(t, root, "rg", root, "rg-link", 0, 0) == 0 &&
		      hit_of(root, "rg", NULL) == OVL_FOUND && nlink_of(f) == 2,
	      "rename onto a hard link of itself does nothing");
	CHECK(ovl_rename(t, root, "rg", root, "rg", 0, 0) == 0 &&
		      ovl_rename(t, root, "rg", root, "rg", RENAME_NOREPLACE,
				 0) == -EEXIST,
	      "rename onto itself");
	ovl_node_stat(t, f, &st);
	CHECK(st.st_nlink == 2, "link count intact");
}

/* ---- readdir ---- */

struct rd_ctx {
	uint64_t last;
	int taken, limit;
	int seen[2000];
	int whiteouts;
};

static int rd_cb(void *p, const struct ovl_dirent_info *e)
{
	struct rd_ctx *c = p;
	int i;

	if (c->taken >= c->limit)
		return 1;
	c->taken++;
	c->last = e->cookie;
	if (e->whiteout) {
		c->whiteouts++;
	} else if (sscanf(e->name, "e%d", &i) == 1 && i >= 0 && i < 2000) {
		c->seen[i]++;
	}
	return 0;
}

struct churn {
	struct ovl_node *dir;
	int stop; /* atomic */
};

static void *churn_run(void *p)
{
	struct churn *c = p;
	char name[32];
	int i = 0;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		struct ovl_node *n = NULL;

		snprintf(name, sizeof(name), "tmp%d", i++ % 50);
		if (!ovl_create(t, c->dir, name, &file_new, &n))
			ovl_node_forget(t, n, 1);
		snprintf(name, sizeof(name), "tmp%d", (i + 25) % 50);
		ovl_unlink(t, c->dir, name, 0);
	}
	return NULL;
}

static void test_readdir(void)
{
	struct ovl_node *d = mk(root, "rd", true);
	struct rd_ctx *c = calloc(1, sizeof(*c));
	struct churn ch = { .dir = d };
	pthread_t th;
	char name[32];
	int i, dup = 0, missing = 0, rounds = 0;

	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		mk(d, name, i % 10 == 0);
	}
	for (i = 0; i < 1000; i += 3) {
		snprintf(name, sizeof(name), "e%d", i);
		ovl_unlink(t, d, name, 0);
		ovl_rmdir(t, d, name, 0);
	}
	ovl_dir_whiteout(t, d, "hidden");
	pthread_create(&th, NULL, churn_run, &ch);
	/* Small batches, resuming from the last cookie, while names churn. */
	for (;;) {
		c->taken = 0;
		c->limit = 7;
		ovl_readdir(t, d, c->last, false, rd_cb, c);
		rounds++;
		if (!c->taken)
			break;
		usleep(100);
	}
	__atomic_store_n(&ch.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	for (i = 0; i < 1000; i++) {
		if (i % 3 == 0)
			missing += c->seen[i] != 0;
		else
			missing += c->seen[i] != 1;
		dup += c->seen[i] > 1;
	}
	CHECK(missing == 0 && dup == 0 && c->whiteouts == 1,
	      "resumed readdir under churn: every stable entry once "
	      "(%d wrong, %d dups, %d rounds)",
	      missing, dup, rounds);
	memset(c, 0, sizeof(*c));
	c->limit = 1;
	ovl_readdir(t, d, 0, true, rd_cb, c);
	{
		enum ovl_hit h;
		struct ovl_node *n = NULL;
		struct stat st;

		uint64_t ino;
		bool alive;

		ovl_lookup(t, d, "e1", &h, &n);
		ino = ovl_node_ino(n);
		ovl_node_forget(t, n, 1); /* the lookup's */
		ovl_unlink(t, d, "e1", 0);
		alive = ovl_node_get(t, ino) == n;
		ovl_node_forget(t, n, 1); /* the readdirplus one */
		CHECK(c->taken == 1 && alive && ovl_node_get(t, ino) == NULL,
		      "readdirplus takes exactly one reference");
		ovl_node_stat(t, d, &st);
	}
	CHECK(ovl_readdir(t, ovl_node_get(t, 1), 0, false, rd_cb, c) == 0,
	      "readdir root");
	free(c);
}

/* Paths (audit digests) and inode lists (expiry invalidation). */
static void test_paths(void)
{
	struct ovl_node *d = mk(root, "pd", true), *e, *f, *g;
	char buf[64], tiny[4];
	uint64_t *inos = NULL;
	size_t n = 0;
	bool seen = false;

	e = mk(d, "pe", true);
	f = mk(e, "pf", false);
	CHECK(ovl_node_path(t, root, buf, sizeof(buf)) == 0 &&
		      !strcmp(buf, "/"),
	      "path of the root");
	CHECK(ovl_node_path(t, f, buf, sizeof(buf)) == 0 &&
		      !strcmp(buf, "/pd/pe/pf"),
	      "path of a nested file");
	CHECK(ovl_node_path(t, e, buf, sizeof(buf)) == 0 &&
		      !strcmp(buf, "/pd/pe"),
	      "path of a folder");
	CHECK(ovl_node_path(t, f, tiny, sizeof(tiny)) == -ENAMETOOLONG,
	      "path too long for the buffer");
	CHECK(ovl_rename(t, e, "pf", d, "pg", 0, 0) == 0 &&
		      ovl_node_path(t, f, buf, sizeof(buf)) == 0 &&
		      !strcmp(buf, "/pd/pg"),
	      "path follows a rename");
	CHECK(ovl_inos(t, &inos, &n) == 0 && n >= 4, "inode list");
	for (size_t i = 0; i < n; i++)
		seen |= inos[i] == ovl_node_ino(f);
	CHECK(seen, "inode list holds the file");
	free(inos);
	g = NULL;
	CHECK(ovl_create(t, d, "ph", &file_new, &g) == 0 &&
		      ovl_unlink(t, d, "ph", 0) == 0 &&
		      ovl_node_path(t, g, buf, sizeof(buf)) == -ENOENT,
	      "an unlinked file has no path");
	ovl_node_forget(t, g, 1);
	CHECK(ovl_unlink(t, d, "pg", 0) == 0 && ovl_rmdir(t, d, "pe", 0) == 0 &&
		      ovl_rmdir(t, root, "pd", 0) == 0,
	      "clean up");
}

int main(void)
{
	struct ovl_tree_opts o = { .root_ino = 1,
				   .root_mode = 0755,
				   .ino_base = 1000 };
	char dir[] = "/tmp/test_ovl.XXXXXX", path[64];
	struct seal_store *s = NULL;
	struct statvfs sv;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/store", dir);
	CHECK(seal_store_open(path, NULL, &s) == 0, "store");
	CHECK(ovl_tree_new(s, &o, &t) == 0, "tree");
	root = ovl_tree_root(t);
	CHECK(ovl_node_ino(root) == 1 && ovl_node_get(t, 1) == root, "root");
	test_create();
	test_symlink();
	test_remove();
	test_open_unlinked();
	test_setattr();
	test_xattr();
	test_rename();
	test_readdir();
	test_paths();
	CHECK(ovl_statfs(t, &sv) == 0 && sv.f_namemax == 255, "statfs");
	ovl_tree_free(t);
	CHECK(seal_store_bytes(s) == 0, "tree free destroys every seal file");
	seal_store_close(s, true);
	rmdir(dir);
	return check_done();
}
