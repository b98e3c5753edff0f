/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_registry.c - the sandbox registry: state folder rules, insert/update/
 * get/list across two connections and two processes, file modes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "registry.h"
#include "spot.h"

static char tmpdir[256];

static void sb_fill(struct reg_sandbox *sb, uid_t owner, const char *mnt,
		    int64_t created)
{
	memset(sb, 0, sizeof(*sb));
	reg_new_id(sb->id);
	sb->owner = owner;
	sb->mountpoint = (char *)mnt;
	sb->source = (char *)"/data/src";
	sb->config_path = (char *)"/data/sandbox.yaml";
	snprintf(sb->config_digest, sizeof(sb->config_digest), "%064d", 7);
	sb->created = created;
	sb->deadline = created + 3600;
	sb->pid = 4242;
	sb->store_dir = (char *)"/tmp/store-x";
	sb->state = REG_RUNNING;
}

static void test_default_dir(void)
{
	char buf[512], want[512];
	struct stat st;
	int rc;

	snprintf(want, sizeof(want), "%s/state/a/b", tmpdir);
	setenv("SPOTFS_STATE_DIR", want, 1);
	rc = reg_default_dir(buf, sizeof(buf));
	CHECK(rc == 0 && !strcmp(buf, want), "SPOTFS_STATE_DIR is used (%d)",
	      rc);
	CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode) &&
		      (st.st_mode & 0777) == 0700,
	      "state folder created with mode 0700");
	CHECK(reg_default_dir(buf, sizeof(buf)) == 0,
	      "existing state folder accepted");
	CHECK(reg_default_dir(buf, 8) == -ENAMETOOLONG,
	      "short buffer is -ENAMETOOLONG");
	chmod(want, 0777);
	CHECK(reg_default_dir(buf, sizeof(buf)) == -EPERM,
	      "world-writable state folder refused");
	chmod(want, 0700);
	setenv("SPOTFS_STATE_DIR", "relative/dir", 1);
	CHECK(reg_default_dir(buf, sizeof(buf)) == -EINVAL,
	      "relative SPOTFS_STATE_DIR refused");
	unsetenv("SPOTFS_STATE_DIR");
	if (geteuid() != 0) {
		snprintf(want, sizeof(want), "%s/xdg", tmpdir);
		setenv("XDG_STATE_HOME", want, 1);
		rc = reg_default_dir(buf, sizeof(buf));
		strcat(want, "/spotfs");
		CHECK(rc == 0 && !strcmp(buf, want),
		      "XDG_STATE_HOME/spotfs for a user");
	} else {
		printf("# running as root: default is /var/lib/spotfs "
		       "(not created by this test)\n");
	}
}

static void test_ids(void)
{
	char a[REG_ID_LEN + 1], b[REG_ID_LEN + 1];
	size_t i;
	int hex = 1;

	CHECK(reg_new_id(a) == 0 && reg_new_id(b) == 0, "ids generated");
	for (i = 0; i < REG_ID_LEN; i++)
		hex &= !!strchr("0123456789abcdef", a[i]);
	CHECK(hex && strlen(a) == REG_ID_LEN, "id is %d hex chars", REG_ID_LEN);
	CHECK(strcmp(a, b) != 0, "two ids differ");
}

static int count_cb(const struct reg_sandbox *sb, void *arg)
{
	int *n = arg;

	(void)sb;
	(*n)++;
	return 0;
}

static int stop_cb(const struct reg_sandbox *sb, void *arg)
{
	(void)sb;
	(void)arg;
	return 77;
}

static void test_two_connections(const char *path)
{
	struct reg_db *a = NULL, *b = NULL;
	struct reg_sandbox s1, s2, s3, got;
	struct stat st;
	int n, rc;

	CHECK(reg_open(path, &a) == 0 && reg_open(path, &b) == 0,
	      "two connections open");
	if (!a || !b)
		goto out;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	      "registry file mode 0600");
	sb_fill(&s1, 1000, "/mnt/exp", 100);
	sb_fill(&s2, 1001, "/mnt/other", 200);
	CHECK(reg_insert(a, &s1) == 0, "insert on connection a");
	CHECK(reg_insert(b, &s2) == 0, "insert on connection b");
	CHECK(reg_insert(b, &s1) == -EEXIST, "duplicate id is -EEXIST");
	got = s1;
	strcpy(got.id, "NOT-HEX-ID-12345");
	CHECK(reg_insert(a, &got) == -EINVAL, "malformed id is -EINVAL");

	rc = reg_get(b, s1.id, &got);
	CHECK(rc == 0 && got.owner == 1000 && got.pid == 4242 &&
		      !strcmp(got.mountpoint, "/mnt/exp") &&
		      !strcmp(got.store_dir, "/tmp/store-x") &&
		      got.deadline == 3700 && got.state == REG_RUNNING &&
		      !strcmp(got.config_digest, s1.config_digest) &&
		      got.ended == 0 && !strcmp(got.end_reason, ""),
	      "connection b reads what a wrote");
	if (!rc)
		reg_sandbox_fini(&got);

	CHECK(reg_update_deadline(b, s1.id, 9999) == 0, "deadline updated");
	rc = reg_get(a, s1.id, &got);
	CHECK(rc == 0 && got.deadline == 9999, "new deadline seen by a");
	if (!rc)
		reg_sandbox_fini(&got);
	CHECK(reg_update_deadline(a, "0123456789abcdef", 1) == -ENOENT,
	      "unknown id is -ENOENT");

	CHECK(reg_set_state(a, s1.id, REG_UNMOUNTED, "unmount") == 0,
	      "state set");
	rc = reg_get(b, s1.id, &got);
	CHECK(rc == 0 && got.state == REG_UNMOUNTED && got.ended > 0 &&
		      !strcmp(got.end_reason, "unmount"),
	      "ended time and reason stamped");
	if (!rc) {
		int64_t ended = got.ended;

		reg_sandbox_fini(&got);
		sleep(1);
		reg_set_state(b, s1.id, REG_GC, "gc");
		rc = reg_get(a, s1.id, &got);
		CHECK(rc == 0 && got.state == REG_GC && got.ended == ended,
		      "a later transition keeps the first end time");
		if (!rc)
			reg_sandbox_fini(&got);
	}

	/* A new sandbox on the same mount point is the one found. */
	sb_fill(&s3, 1000, "/mnt/exp", 50);
	CHECK(reg_insert(b, &s3) == 0, "second sandbox on /mnt/exp");
	rc = reg_get_by_mount(a, "/mnt/exp", &got);
	CHECK(rc == 0 && !strcmp(got.id, s3.id),
	      "get_by_mount prefers the running sandbox");
	if (!rc)
		reg_sandbox_fini(&got);
	CHECK(reg_get_by_mount(a, "/mnt/none", &got) == -ENOENT,
	      "unknown mount point is -ENOENT");

	n = 0;
	CHECK(reg_list(a, -1, count_cb, &n) == 0 && n == 3, "list all: %d", n);
	n = 0;
	CHECK(reg_list(b, 1000, count_cb, &n) == 0 && n == 2,
	      "list by owner: %d", n);
	CHECK(reg_list(a, -1, stop_cb, NULL) == 77,
	      "callback value stops the listing");
	CHECK(reg_state_name(REG_EXPIRED)[0] == 'e' &&
		      reg_state_parse("crashed", (enum reg_state *)&rc) == 0 &&
		      rc == REG_CRASHED &&
		      reg_state_parse("bogus", (enum reg_state *)&rc) ==
			      -EINVAL,
	      "state names round trip");
out:
	reg_close(a);
	reg_close(b);
}

#define PROC_INSERTS 200

static void test_two_processes(const char *path)
{
	struct reg_db *db = NULL;
	struct reg_sandbox sb;
	int i, status = -1, n = 0, fails = 0;
	pid_t child = fork();

	if (child == 0) {
		if (reg_open(path, &db))
			_exit(2);
		for (i = 0; i < PROC_INSERTS; i++) {
			sb_fill(&sb, 2000, "/mnt/child", i);
			if (reg_insert(db, &sb))
				fails++;
		}
		reg_close(db);
		_exit(fails ? 1 : 0);
	}
	if (reg_open(path, &db) == 0) {
		for (i = 0; i < PROC_INSERTS; i++) {
			sb_fill(&sb, 2001, "/mnt/parent", i);
			if (reg_insert(db, &sb))
				fails++;
		}
	}
	waitpid(child, &status, 0);
	CHECK(db && fails == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "two processes insert concurrently without errors");
	if (db) {
		reg_list(db, 2000, count_cb, &n);
		reg_list(db, 2001, count_cb, &n);
	}
	CHECK(n == 2 * PROC_INSERTS, "all %d inserts present (%d)",
	      2 * PROC_INSERTS, n);
	reg_close(db);
}

int main(void)
{
	char path[512];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/spotfs-reg-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	spot_log_set_level(SPOT_LOG_WARN);
	test_default_dir();
	test_ids();
	snprintf(path, sizeof(path), "%s/%s", tmpdir, REG_DB_NAME);
	test_two_connections(path);
	test_two_processes(path);
	reg_close(NULL);
	if (!check_failed) {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			printf("# could not remove %s\n", tmpdir);
	}
	return check_done();
}
