/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_fault.c - the fault injection module (masking/fault.h) on its own:
 * the SPOTFS_FAULT syntax, the after/every/count/from=serve arithmetic,
 * and each kind of point through the same wrappers the daemon is linked
 * with (malloc, sodium_malloc, pread/read, pwrite, fallocate, and SQLite's
 * allocator and VFS shim), only on files under the named folders.
 * Built only with -Dfault_injection=true.
 */
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "check.h"

static void test_syntax(void)
{
	struct spot_err err = { "" };

	/* Arming copies the spec with strdup: alloc is armed far ahead. */
	CHECK(flt_arm("sqlite_busy", &err) == 0, "a bare point arms");
	CHECK(flt_arm("src_read_eio:after=3:every=2:count=5:from=serve,"
		      "alloc:after=1000000:trace",
		      &err) == 0,
	      "options and a list arm");
	CHECK(flt_arm("nosuch", &err) == -EINVAL && strstr(err.msg, "nosuch"),
	      "an unknown point is refused by name: %s", err.msg);
	CHECK(flt_arm("alloc:every=0", &err) == -EINVAL &&
		      strstr(err.msg, "every"),
	      "every=0 is refused: %s", err.msg);
	CHECK(flt_arm("alloc:after=x", &err) == -EINVAL,
	      "a non-number is refused");
	CHECK(flt_arm("alloc:after=-1", &err) == -EINVAL,
	      "a negative number is refused");
	CHECK(flt_arm("alloc:from=later", &err) == -EINVAL,
	      "an unknown from= is refused");
	CHECK(flt_arm("alloc:bogus=1", &err) == -EINVAL,
	      "an unknown option is refused");
	flt_reset();
}

static void test_counting(void)
{
	struct spot_err err = { "" };
	char got[16] = "";

	/* after=2 every=3 count=2: calls 3 and 6 fire, 9 does not. */
	flt_arm("store_read_eio:after=2:every=3:count=2", &err);
	for (int i = 1; i <= 10; i++)
		got[i - 1] = flt_fire(FLT_STORE_READ_EIO) ? 'x' : '.';
	CHECK(!strcmp(got, "..x..x...."), "after/every/count: %s", got);
	CHECK(flt_fired(FLT_STORE_READ_EIO) == 2, "two firings counted");
	CHECK(!flt_fire(FLT_SRC_READ_EIO), "an unarmed point never fires");
	flt_reset();

	flt_arm("sqlite_busy:from=serve", &err);
	CHECK(!flt_fire(FLT_SQLITE_BUSY) && !flt_fire(FLT_SQLITE_BUSY),
	      "from=serve: nothing before serving");
	flt_serving();
	CHECK(flt_fire(FLT_SQLITE_BUSY), "from=serve: fires once serving");
	flt_reset();
}

static void test_alloc(void)
{
	struct spot_err err = { "" };
	void *a, *b, *c;
	char *s;

	flt_arm("alloc:after=1:count=1", &err);
	a = malloc(16);
	errno = 0;
	b = malloc(16);
	CHECK(a && !b && errno == ENOMEM, "the second malloc fails: ENOMEM");
	c = calloc(1, 16);
	CHECK(c != NULL, "count=1: the next allocation works");
	free(a);
	free(c);
	flt_reset();
	flt_arm("alloc", &err);
	s = strdup("x");
	CHECK(!s && !realloc(NULL, 8) && !calloc(2, 2),
	      "strdup, realloc, calloc fail too");
	free(s);
	flt_reset(); /* arming allocates */
	flt_arm("alloc_sodium:count=1", &err);
	a = sodium_malloc(32);
	b = sodium_malloc(32);
	CHECK(!a && b, "sodium_malloc fails once");
	sodium_free(b);
	flt_reset();
}

static int make_file(const char *dir, const char *name, char *path)
{
	int fd;

	snprintf(path, PATH_MAX, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0 && write(fd, "0123456789", 10) != 10) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void test_io(const char *base)
{
	struct spot_err err = { "" };
	char src[PATH_MAX - 32], store[PATH_MAX - 32], path[PATH_MAX];
	char buf[16];
	int fs, fo, ft;

	snprintf(src, sizeof(src), "%s/src", base);
	snprintf(store, sizeof(store), "%s/store", base);
	mkdir(src, 0700);
	mkdir(store, 0700);
	fs = make_file(src, "a.csv", path);
	fo = make_file(base, "outside", path);
	ft = make_file(store, "0123abcd", path);
	flt_set_dir(FLT_DIR_SRC, src);
	flt_set_dir(FLT_DIR_STORE, store);
	CHECK(flt_fd_dir(fs) == FLT_DIR_SRC &&
		      flt_fd_dir(ft) == FLT_DIR_STORE &&
		      flt_fd_dir(fo) == FLT_DIR_NONE,
	      "descriptors are told apart by folder");

	flt_arm("src_read_eio:count=1", &err);
	errno = 0;
	CHECK(pread(fo, buf, 4, 0) == 4, "a file outside the folders reads");
	CHECK(pread(fs, buf, 4, 0) == -1 && errno == EIO,
	      "a source read fails with EIO");
	CHECK(pread(fs, buf, 4, 0) == 4, "then reads again (count=1)");

	flt_arm("src_read_short", &err);
	CHECK(pread(fs, buf, 10, 0) == 5, "a short source read gives half");
	CHECK(pread(ft, buf, 10, 0) == 10, "store reads are not cut");

	flt_arm("store_write_enospc:count=1,store_read_eio:count=1", &err);
	CHECK(pwrite(fs, "x", 1, 0) == 1, "writes outside the store pass");
	errno = 0;
	CHECK(pwrite(ft, "x", 1, 0) == -1 && errno == ENOSPC,
	      "a store write fails with ENOSPC");
	CHECK(pread(ft, buf, 1, 0) == -1 && errno == EIO,
	      "a store read fails with EIO");
	flt_arm("store_write_enospc", &err);
	CHECK(fallocate(ft, 0, 0, 4096) == -1 && errno == ENOSPC,
	      "fallocate in the store: ENOSPC");
	flt_arm("store_write_eio", &err);
	CHECK(fsync(ft) == -1 && errno == EIO, "fsync in the store: EIO");
	flt_reset();
	close(fs);
	close(fo);
	close(ft);
}

static void test_sqlite(const char *base)
{
	struct spot_err err = { "" };
	char state[PATH_MAX - 32], path[PATH_MAX];
	sqlite3 *db = NULL;
	int rc;

	snprintf(state, sizeof(state), "%s/state", base);
	mkdir(state, 0700);
	snprintf(path, sizeof(path), "%s/registry.db", state);
	setenv(FLT_ENV, "sqlite_full:count=1,sqlite_nomem:after=100000", 1);
	CHECK(flt_setup(&err) == 0, "flt_setup arms from the environment");
	flt_set_dir(FLT_DIR_STATE, state);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK, "open through the shim");
	rc = sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)",
			  NULL, NULL, NULL);
	CHECK(rc == SQLITE_FULL, "a write in the state folder: FULL (%d)", rc);
	rc = sqlite3_exec(db, "CREATE TABLE u(x)", NULL, NULL, NULL);
	CHECK(rc == SQLITE_OK, "then writes again (%d)", rc);
	sqlite3_close(db);
	flt_arm("sqlite_busy:count=2,sqlite_ioerr:after=1000000", &err);
	sqlite3_open(path, &db);
	sqlite3_busy_timeout(db, 2000);
	rc = sqlite3_exec(db, "INSERT INTO u VALUES(2)", NULL, NULL, NULL);
	CHECK(rc == SQLITE_OK && flt_fired(FLT_SQLITE_BUSY) == 2,
	      "BUSY twice, the busy handler retries (%d)", rc);
	sqlite3_close(db);
	flt_arm("sqlite_nomem", &err);
	db = NULL;
	rc = sqlite3_open(":memory:", &db);
	CHECK(rc == SQLITE_NOMEM, "SQLite's allocator fails: NOMEM (%d)", rc);
	sqlite3_close(db);
	flt_reset();
	unsetenv(FLT_ENV);
}

int main(void)
{
	char base[] = "/tmp/spotfs-test-fault.XXXXXX";
	char cmd[PATH_MAX + 16];

	if (sodium_init() < 0 || !mkdtemp(base))
		return 1;
	test_syntax();
	test_counting();
	test_alloc();
	test_io(base);
	test_sqlite(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", base);
	return check_done();
}
