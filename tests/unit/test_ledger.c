/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_ledger.c - policy/ledger.c, the epsilon ledger: a release charged
 * once per role, budgets per role and per sandbox refused exactly and
 * without charging, overflow, bad names, 8 threads racing on one ledger,
 * and the persistent ledger: two handles and several processes sharing
 * one file, reopening, budgets changing between sandboxes, and every way
 * the file can be wrong (garbled lines, mode, owner, symlink, size,
 * replaced, a write cut short) failing closed; allocation failures
 * never grant a charge that is not counted.
 *
 * Works in a fresh folder under /tmp that it removes at the end.
 */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc_fail.h"
#include "check.h"

#define NANO 1000000000ULL /* one epsilon */
#define TENTH (NANO / 10)

static char tdir[64] = "/tmp/test_ledger.XXXXXX";

static void tpath(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tdir, name);
}

static void put(const char *name, const char *text, size_t n, mode_t mode)
{
	char path[256];
	int fd;

	tpath(path, sizeof(path), name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n || fchmod(fd, mode)) {
		perror(path);
		exit(2);
	}
	close(fd);
}

static struct ledger *open_l(uint64_t per_role, uint64_t per_sandbox,
			     const char *name)
{
	struct ledger_opts o = { per_role, per_sandbox, NULL };
	struct spot_err err = { "" };
	struct ledger *l = NULL;
	char path[256];
	int rc;

	if (name) {
		tpath(path, sizeof(path), name);
		o.path = path;
	}
	rc = ledger_open(&o, &l, &err);
	if (rc) {
		CHECK(0, "ledger opens: %s", err.msg);
		exit(1);
	}
	return l;
}

static int charge(struct ledger *l, const char *role, const char *key,
		  uint64_t eps, bool *fresh)
{
	struct spot_err err = { "" };
	bool f = false;
	int rc;

	rc = ledger_charge(l, role, key, eps, 0, &f, &err);
	if (fresh)
		*fresh = f;
	return rc;
}

static uint64_t spent(struct ledger *l, const char *role)
{
	struct ledger_use u = { 0, 0, 0 };

	if (ledger_spent(l, role, &u))
		return UINT64_MAX;
	return u.eps;
}

/* ---- in memory ---- */

static void test_once(void)
{
	struct ledger *l = open_l(NANO, 3 * NANO, NULL);
	struct ledger_use u;
	uint64_t pr, ps;
	bool fresh = false;

	ledger_budget(l, &pr, &ps);
	CHECK(pr == NANO && ps == 3 * NANO, "the budgets are those given");
	CHECK(!ledger_charged(l, "analyst", "ds/count"), "nothing charged");
	CHECK(charge(l, "analyst", "ds/count", 3 * TENTH, &fresh) == 0 && fresh,
	      "a first open charges");
	CHECK(ledger_charged(l, "analyst", "ds/count"), "then it is charged");
	fresh = true;
	CHECK(charge(l, "analyst", "ds/count", 3 * TENTH, &fresh) == 0 &&
		      !fresh,
	      "a second open is free (not fresh)");
	CHECK(ledger_spent(l, "analyst", &u) == 0 && u.eps == 3 * TENTH &&
		      u.releases == 1,
	      "the second open spent nothing (%llu nano, %llu releases)",
	      (unsigned long long)u.eps, (unsigned long long)u.releases);
	CHECK(charge(l, "analyst", "ds/count", 9 * NANO, &fresh) == 0 && !fresh,
	      "a reopen is free even when its epsilon would not fit");
	CHECK(charge(l, "auditor", "ds/count", 3 * TENTH, &fresh) == 0 && fresh,
	      "another role pays for the same release");
	CHECK(spent(l, "analyst") == 3 * TENTH &&
		      spent(l, "auditor") == 3 * TENTH,
	      "each role has its own spend");
	CHECK(ledger_spent(l, NULL, &u) == 0 && u.eps == 6 * TENTH &&
		      u.releases == 2,
	      "the sandbox total is the sum over roles");
	CHECK(spent(l, "nobody") == 0, "a role that spent nothing: 0");
	ledger_free(l);
}

static void test_refusals(void)
{
	struct ledger *l = open_l(NANO, 0, NULL);
	struct ledger_use u;
	bool fresh;

	CHECK(charge(l, "r", "a", 6 * TENTH, &fresh) == 0 && fresh,
	      "0.6 of 1.0 is granted");
	CHECK(charge(l, "r", "b", 5 * TENTH, &fresh) == -EDQUOT,
	      "0.5 more would pass the role's budget: EDQUOT");
	CHECK(ledger_spent(l, "r", &u) == 0 && u.eps == 6 * TENTH &&
		      u.releases == 1 && !ledger_charged(l, "r", "b"),
	      "the refusal charged nothing");
	CHECK(charge(l, "s", "b", 5 * TENTH, &fresh) == 0 && fresh,
	      "another role's budget is untouched");
	CHECK(charge(l, "r", "c", 4 * TENTH, &fresh) == 0 && fresh,
	      "0.4 more reaches the budget exactly and is granted");
	CHECK(charge(l, "r", "d", 1, &fresh) == -EDQUOT,
	      "then one nano-epsilon more is refused");
	ledger_free(l);

	l = open_l(0, NANO, NULL);
	CHECK(charge(l, "r", "a", 6 * TENTH, &fresh) == 0, "sandbox: r 0.6");
	CHECK(charge(l, "s", "a", 5 * TENTH, &fresh) == -EDQUOT,
	      "sandbox: s 0.5 would pass the sandbox budget across roles");
	CHECK(spent(l, NULL) == 6 * TENTH && spent(l, "s") == 0,
	      "sandbox: the refusal charged nothing");
	CHECK(charge(l, "s", "a", 4 * TENTH, &fresh) == 0 && fresh,
	      "sandbox: s 0.4 fills it exactly");
	CHECK(charge(l, "t", "x", 1, &fresh) == -EDQUOT,
	      "sandbox: a third role gets nothing more");
	ledger_free(l);
}

static void test_exact(void)
{
	struct ledger *l = open_l(NANO, 0, NULL);
	char key[32];
	int i, ok = 0;
	bool fresh;

	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "q%d", i);
		ok += charge(l, "r", key, TENTH, &fresh) == 0 && fresh;
	}
	CHECK(ok == 10 && spent(l, "r") == NANO,
	      "ten charges of 0.1 are granted and sum to exactly 1.0");
	CHECK(charge(l, "r", "q10", TENTH, &fresh) == -EDQUOT,
	      "the eleventh 0.1 is refused");
	ledger_free(l);

	/* 1/3 has no exact decimal: three of 0.333333333 leave 1 nano. */
	l = open_l(NANO, 0, NULL);
	ok = charge(l, "r", "a", 333333333, &fresh) == 0 &&
	     charge(l, "r", "b", 333333333, &fresh) == 0 &&
	     charge(l, "r", "c", 333333333, &fresh) == 0 &&
	     charge(l, "r", "d", 2, &fresh) == -EDQUOT &&
	     charge(l, "r", "e", 1, &fresh) == 0;
	CHECK(ok && spent(l, "r") == NANO,
	      "thirds are counted to the nano-epsilon");
	ledger_free(l);
}

static void test_overflow(void)
{
	struct ledger *l = open_l(0, 0, NULL);
	struct spot_err err;
	bool fresh;

	CHECK(charge(l, "r", "a", UINT64_MAX - 5, &fresh) == 0,
	      "no budget: a huge amount is granted");
	CHECK(charge(l, "r", "b", 10, &fresh) == -EDQUOT,
	      "an amount that overflows the role's sum is refused");
	CHECK(charge(l, "s", "b", 10, &fresh) == -EDQUOT,
	      "an amount that overflows the sandbox sum is refused");
	CHECK(spent(l, NULL) == UINT64_MAX - 5, "the refusals spent nothing");
	CHECK(charge(l, "r", "c", 5, &fresh) == 0 &&
		      spent(l, "r") == UINT64_MAX,
	      "the last 5 fit exactly");
	ledger_free(l);

	l = open_l(0, 0, NULL);
	CHECK(ledger_charge(l, "r", "a", 1, UINT64_MAX, &fresh, &err) == 0,
	      "delta: a huge delta is granted (no delta budget)");
	CHECK(ledger_charge(l, "r", "b", 1, 1, &fresh, &err) == -EDQUOT,
	      "delta: a delta that overflows is refused");
	ledger_free(l);
}

static void test_names(void)
{
	struct ledger *l = open_l(0, 0, NULL);
	char big[1100];
	struct ledger_use u;
	bool fresh;
	int rc;

	memset(big, 'k', sizeof(big));
	big[1024] = '\0';
	CHECK(charge(l, "r", big, 1, &fresh) == 0 && fresh,
	      "a 1024-byte key is accepted");
	CHECK(charge(l, big, "k", 1, &fresh) == 0 && fresh,
	      "a 1024-byte role is accepted");
	big[1024] = 'k';
	big[1025] = '\0';
	CHECK(charge(l, "r", big, 1, &fresh) == -EINVAL, "1025 bytes: EINVAL");
	CHECK(charge(l, big, "k", 1, &fresh) == -EINVAL,
	      "a 1025-byte role: EINVAL");
	CHECK(charge(l, "r", "", 1, &fresh) == -EINVAL, "empty key: EINVAL");
	CHECK(charge(l, "", "k", 1, &fresh) == -EINVAL, "empty role: EINVAL");
	CHECK(charge(l, "r", "a\tb", 1, &fresh) == -EINVAL, "tab: EINVAL");
	CHECK(charge(l, "r", "a\nb", 1, &fresh) == -EINVAL, "LF: EINVAL");
	CHECK(charge(l, "r\n", "k", 1, &fresh) == -EINVAL, "role LF: EINVAL");
	rc = charge(l, NULL, "k", 1, &fresh);
	CHECK(rc == -EINVAL, "NULL role: EINVAL");
	CHECK(!ledger_charged(l, "r", "a\tb") && !ledger_charged(l, "", "k"),
	      "bad names are never charged");
	CHECK(ledger_spent(l, "a\tb", &u) == -EINVAL,
	      "spent of a bad role: EINVAL");
	CHECK(spent(l, NULL) == 2, "bad names spent nothing");
	ledger_free(l);
}

/* ---- threads ---- */

#define THR_N 8
#define THR_KEYS 200
#define THR_ROLES 2
#define THR_ROLE_GRANTS 100 /* per role budget, in releases */
#define THR_ALL_GRANTS 150  /* sandbox budget, in releases */

static struct ledger *thr_l;
static int thr_granted[THR_ROLES][THR_KEYS]; /* atomic */
static int thr_bad;			     /* atomic */
static pthread_barrier_t thr_go;

static void *thr_main(void *arg)
{
	int t = (int)(intptr_t)arg, i, k, r, rc;
	char key[32], role[8];
	bool fresh;

	/* Every thread walks the same releases in the same order, from the
	 * same instant: as many races on one release as can be. */
	pthread_barrier_wait(&thr_go);
	for (i = 0; i < THR_KEYS * THR_ROLES; i++) {
		k = i / THR_ROLES;
		r = i % THR_ROLES;
		snprintf(key, sizeof(key), "ds/agg%d", k);
		snprintf(role, sizeof(role), "r%d", r);
		fresh = false;
		rc = charge(thr_l, role, key, TENTH, &fresh);
		if (rc == 0 && fresh)
			__atomic_add_fetch(&thr_granted[r][k], 1,
					   __ATOMIC_RELAXED);
		else if (rc != 0 && rc != -EDQUOT)
			__atomic_add_fetch(&thr_bad, 1, __ATOMIC_RELAXED);
		if ((i + t) % 8 == 0)
			(void)spent(thr_l, role);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[THR_N];
	int t, r, k, twice = 0, total = 0, per[THR_ROLES] = { 0 };
	char key[32], role[8];
	int mismatch = 0;

	thr_l = open_l(THR_ROLE_GRANTS * TENTH, THR_ALL_GRANTS * TENTH, NULL);
	pthread_barrier_init(&thr_go, NULL, THR_N);
	for (t = 0; t < THR_N; t++)
		pthread_create(&th[t], NULL, thr_main, (void *)(intptr_t)t);
	for (t = 0; t < THR_N; t++)
		pthread_join(th[t], NULL);
	for (r = 0; r < THR_ROLES; r++) {
		for (k = 0; k < THR_KEYS; k++) {
			twice += thr_granted[r][k] > 1;
			per[r] += thr_granted[r][k];
			snprintf(key, sizeof(key), "ds/agg%d", k);
			snprintf(role, sizeof(role), "r%d", r);
			mismatch += ledger_charged(thr_l, role, key) !=
				    (thr_granted[r][k] == 1);
		}
		total += per[r];
		CHECK(per[r] <= THR_ROLE_GRANTS &&
			      spent(thr_l, role) == (uint64_t)per[r] * TENTH,
		      "threads: role %d granted %d, within its budget, spent "
		      "matches",
		      r, per[r]);
	}
	CHECK(thr_bad == 0, "threads: no error but EDQUOT");
	CHECK(twice == 0, "threads: no release granted twice to a role");
	CHECK(mismatch == 0, "threads: charged() agrees with the grants");
	CHECK(total == THR_ALL_GRANTS &&
		      spent(thr_l, NULL) == THR_ALL_GRANTS * TENTH,
	      "threads: the sandbox budget filled exactly (%d granted)", total);
	pthread_barrier_destroy(&thr_go);
	ledger_free(thr_l);
}

/* ---- the file ---- */

static char *slurp(const char *name, size_t *n)
{
	static char buf[1 << 16];
	char path[256];
	ssize_t r;
	int fd;

	tpath(path, sizeof(path), name);
	fd = open(path, O_RDONLY);
	r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	*n = r < 0 ? 0 : (size_t)r;
	buf[*n] = '\0';
	return buf;
}

static void test_file_shared(void)
{
	struct ledger *a, *b, *c, *d, *e;
	char path[256];
	struct stat st;
	const char *text;
	size_t n;
	bool fresh;

	umask(0);
	a = open_l(NANO, 0, "shared");
	umask(022);
	tpath(path, sizeof(path), "shared");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	      "the file is made 0600 even under umask 0 (%o)",
	      (unsigned)(st.st_mode & 07777));
	b = open_l(NANO, 0, "shared");
	CHECK(charge(a, "r", "k1", 6 * TENTH, &fresh) == 0 && fresh,
	      "shared: sandbox A charges 0.6");
	CHECK(ledger_charged(b, "r", "k1") && spent(b, "r") == 6 * TENTH,
	      "shared: sandbox B sees A's charge");
	CHECK(charge(b, "r", "k1", 6 * TENTH, &fresh) == 0 && !fresh,
	      "shared: B opening the same release is free");
	CHECK(charge(b, "r", "k2", 5 * TENTH, &fresh) == -EDQUOT,
	      "shared: B cannot spend what A spent");
	CHECK(charge(b, "r", "k2", 4 * TENTH, &fresh) == 0 && fresh,
	      "shared: B spends the rest");
	CHECK(charge(a, "r", "k3", 1, &fresh) == -EDQUOT &&
		      spent(a, "r") == NANO,
	      "shared: A sees B's charge and is refused");
	text = slurp("shared", &n);
	CHECK(!strcmp(text, "v1\tr\tk1\t600000000\t0\n"
			    "v1\tr\tk2\t400000000\t0\n"),
	      "shared: one line per charge, nothing for refusals or reopens");
	ledger_free(a);
	ledger_free(b);

	c = open_l(NANO, 0, "shared");
	CHECK(spent(c, "r") == NANO && ledger_charged(c, "r", "k1") &&
		      ledger_charged(c, "r", "k2"),
	      "reopen: what was spent stays spent");
	CHECK(charge(c, "r", "k4", 1, &fresh) == -EDQUOT,
	      "reopen: the budget stays used");
	ledger_free(c);

	/* A later sandbox with a smaller budget: already over it. */
	d = open_l(5 * TENTH, 0, "shared");
	CHECK(charge(d, "r", "k1", 6 * TENTH, &fresh) == 0 && !fresh,
	      "smaller budget: a release already paid for stays free");
	CHECK(charge(d, "s", "k1", 6 * TENTH, &fresh) == -EDQUOT,
	      "smaller budget: a new role is held to the new budget");
	CHECK(charge(d, "s", "k1", 5 * TENTH, &fresh) == 0 && fresh,
	      "smaller budget: within it is granted");
	CHECK(charge(d, "r", "k9", 1, &fresh) == -EDQUOT &&
		      spent(d, "r") == NANO,
	      "smaller budget: an overspent role gets nothing more");
	/* A later sandbox with a larger budget sees everything spent. */
	e = open_l(2 * NANO, 3 * NANO, "shared");
	CHECK(charge(e, "r", "k5", NANO, &fresh) == 0 && fresh,
	      "larger budget: the role may spend up to it");
	CHECK(charge(e, "s", "k5", 6 * TENTH, &fresh) == -EDQUOT &&
		      spent(e, NULL) == 25 * TENTH,
	      "larger budget: the shared total counts every sandbox (%llu)",
	      (unsigned long long)spent(e, NULL));
	ledger_free(d);
	ledger_free(e);
}

#define PROC_N 4
#define PROC_KEYS 60
#define PROC_GRANTS 40 /* the budget, in releases */

/* Each child waits for go to close, charges every key in the same order
 * as the others and writes a byte per key: 1 granted fresh, 0 otherwise,
 * 2 an unexpected error. */
static void proc_child(int wfd, int go)
{
	struct ledger_opts o = { PROC_GRANTS * TENTH, 0, NULL };
	struct spot_err err;
	struct ledger *l;
	char path[256], key[32], got[PROC_KEYS];
	bool fresh;
	int i, k, rc;

	tpath(path, sizeof(path), "procs");
	o.path = path;
	if (ledger_open(&o, &l, &err))
		_exit(3);
	if (read(go, &i, 1) != 0)
		_exit(5);
	for (i = 0; i < PROC_KEYS; i++) {
		k = i;
		snprintf(key, sizeof(key), "k%d", k);
		fresh = false;
		rc = ledger_charge(l, "r", key, TENTH, 0, &fresh, &err);
		got[k] = rc == 0 ? fresh : rc == -EDQUOT ? 0 : 2;
	}
	ledger_free(l);
	_exit(write(wfd, got, sizeof(got)) == sizeof(got) ? 0 : 4);
}

static void test_file_procs(void)
{
	int pfd[PROC_N][2], go[2], p, k, st, bad = 0, twice = 0, granted = 0;
	char got[PROC_KEYS];
	int per_key[PROC_KEYS] = { 0 };
	struct ledger *l;
	pid_t pid[PROC_N];
	const char *text, *q;
	size_t n, lines = 0;

	fflush(stdout);
	if (pipe(go))
		exit(2);
	for (p = 0; p < PROC_N; p++) {
		if (pipe(pfd[p]))
			exit(2);
		pid[p] = fork();
		if (pid[p] == 0) {
			close(pfd[p][0]);
			close(go[1]);
			proc_child(pfd[p][1], go[0]);
		}
		close(pfd[p][1]);
	}
	close(go[0]);
	close(go[1]); /* go */
	for (p = 0; p < PROC_N; p++) {
		if (read(pfd[p][0], got, sizeof(got)) != sizeof(got))
			bad++;
		else
			for (k = 0; k < PROC_KEYS; k++) {
				bad += got[k] == 2;
				per_key[k] += got[k] == 1;
			}
		close(pfd[p][0]);
		bad += waitpid(pid[p], &st, 0) != pid[p] || !WIFEXITED(st) ||
		       WEXITSTATUS(st) != 0;
	}
	for (k = 0; k < PROC_KEYS; k++) {
		twice += per_key[k] > 1;
		granted += per_key[k];
	}
	CHECK(bad == 0, "processes: no error but EDQUOT");
	CHECK(twice == 0, "processes: no release granted twice");
	CHECK(granted == PROC_GRANTS,
	      "processes: exactly the budget granted (%d of %d)", granted,
	      PROC_GRANTS);
	text = slurp("procs", &n);
	for (q = text; (q = strchr(q, '\n')); q++)
		lines++;
	CHECK(lines == PROC_GRANTS, "processes: one line per grant (%zu)",
	      lines);
	l = open_l(0, 0, "procs");
	CHECK(spent(l, "r") == PROC_GRANTS * TENTH,
	      "processes: the file sums to the budget");
	ledger_free(l);
}

static int open_rc(const char *name, struct spot_err *err)
{
	struct ledger_opts o = { NANO, 0, NULL };
	struct ledger *l = NULL;
	char path[256];
	int rc;

	tpath(path, sizeof(path), name);
	o.path = path;
	memset(err, 0, sizeof(*err));
	rc = ledger_open(&o, &l, err);
	ledger_free(l);
	return rc;
}

static void test_file_garbled(void)
{
	static const struct {
		const char *text;
		size_t n; /* 0: strlen */
		const char *what;
	} bad[] = {
		{ "v1\tr\tsecretkey\t1\t0", 0, "a last line without LF" },
		{ "v1\tr\ta\t1\t0\nv1\tr\tsecretkey\t1", 0,
		  "a partial last line" },
		{ "v2\tr\tsecretkey\t1\t0\n", 0, "another version" },
		{ "v1\tr\tsecretkey\t1\n", 0, "four fields" },
		{ "v1\tr\tsecretkey\t1\t0\t\n", 0, "six fields" },
		{ "v1\tr\tsecretkey\t-1\t0\n", 0, "a sign" },
		{ "v1\tr\tsecretkey\t1x\t0\n", 0, "a non-digit" },
		{ "v1\tr\tsecretkey\t\t0\n", 0, "an empty number" },
		{ "v1\tr\tsecretkey\t1\t 0\n", 0, "a space" },
		{ "v1\tr\tsecretkey\t18446744073709551616\t0\n", 0,
		  "a number past 2^64" },
		{ "v1\tr\tsecretkey\t0\t000000000000000000001\n", 0,
		  "21 digits" },
		{ "v1\t\tsecretkey\t1\t0\n", 0, "an empty role" },
		{ "v1\tr\t\t1\t0\n", 0, "an empty key" },
		{ "\n", 0, "a blank line" },
		{ "v1\tr\tsecret\0key\t1\t0\n", 20, "a NUL" },
		{ "\0\0\0\0\0\0\0\0\0\0", 10, "zeros left by a crash" },
		{ "v1\tr\ta\t18446744073709551615\t0\n"
		  "v1\tr\tsecretkey\t1\t0\n",
		  0, "totals that overflow" },
	};
	char path[256], *longline;
	struct spot_err err;
	struct ledger *l;
	size_t i, leaks = 0, n, good;
	bool fresh;
	int rc;

	for (i = 0; i < SPOT_ARRAY_SIZE(bad); i++) {
		n = bad[i].n ? bad[i].n : strlen(bad[i].text);
		put("garbled", bad[i].text, n, 0600);
		rc = open_rc("garbled", &err);
		CHECK(rc == -EIO && strstr(err.msg, "line"),
		      "garbled: %s is refused (%s)", bad[i].what, err.msg);
		leaks += strstr(err.msg, "secret") != NULL;
	}
	CHECK(leaks == 0, "garbled: no message quotes the line");
	put("garbled", "v1\tr\ta\t1\t0", 10, 0600);
	open_rc("garbled", &err);
	CHECK(strstr(err.msg, "line 1 has no end of line") &&
		      strstr(err.msg, "steward deletes") &&
		      strstr(err.msg, "whole line is on disk"),
	      "garbled: a cut-short line says what to do");

	longline = malloc(5000);
	memcpy(longline, "v1\tr\t", 5);
	memset(longline + 5, 'k', 4990);
	memcpy(longline + 4995, "\t1\t0\n", 5);
	put("garbled", longline, 5000, 0600);
	CHECK(open_rc("garbled", &err) == -EIO && strstr(err.msg, "4096"),
	      "garbled: a line over 4096 bytes is refused");
	free(longline);

	/* Garbage appearing under a running sandbox fails its next calls,
	 * and a repaired file works again. */
	put("garbled", "", 0, 0600);
	l = open_l(NANO, 0, "garbled");
	CHECK(charge(l, "r", "a", TENTH, &fresh) == 0, "later: a charge");
	slurp("garbled", &good);
	tpath(path, sizeof(path), "garbled");
	{
		FILE *f = fopen(path, "a");

		fputs("v1\tr\tb\t1", f); /* a cut-short line */
		fclose(f);
	}
	memset(&err, 0, sizeof(err));
	rc = ledger_charge(l, "r", "c", TENTH, 0, &fresh, &err);
	CHECK(rc == -EIO && strstr(err.msg, "line 2"),
	      "later: the next charge fails closed (%s)", err.msg);
	CHECK(!ledger_charged(l, "r", "a"),
	      "later: charged() cannot read it: false");
	CHECK(spent(l, "r") == UINT64_MAX, "later: spent() fails");
	CHECK(truncate(path, (off_t)good) == 0 &&
		      charge(l, "r", "c", TENTH, &fresh) == 0 && fresh &&
		      spent(l, "r") == 2 * TENTH,
	      "later: once the steward deletes the line, charges work");
	ledger_free(l);
}

static void test_file_bad(void)
{
	char path[256], other[256];
	struct spot_err err;
	struct ledger *l;
	bool fresh;
	int rc;

	put("mode", "", 0, 0640);
	CHECK(open_rc("mode", &err) == -EIO && strstr(err.msg, "chmod 600"),
	      "a group-readable file is refused (%s)", err.msg);
	put("mode", "", 0, 0604);
	CHECK(open_rc("mode", &err) == -EIO, "an other-readable file too");
	put("mode", "", 0, 0400);
	CHECK(open_rc("mode", &err) == 0 || geteuid() != 0,
	      "a 0400 file has no group or other access");

	put("target", "", 0, 0600);
	tpath(path, sizeof(path), "link");
	tpath(other, sizeof(other), "target");
	CHECK(symlink(other, path) == 0 && open_rc("link", &err) == -EIO,
	      "a symlink is refused (%s)", err.msg);

	tpath(path, sizeof(path), "dir");
	CHECK(mkdir(path, 0700) == 0 && open_rc("dir", &err) == -EIO,
	      "a folder is refused (%s)", err.msg);
	tpath(path, sizeof(path), "fifo");
	CHECK(mkfifo(path, 0600) == 0 && open_rc("fifo", &err) == -EIO &&
		      strstr(err.msg, "not a regular file"),
	      "a FIFO is refused (%s)", err.msg);
	CHECK(open_rc("nofolder/ledger", &err) == -EIO,
	      "a missing folder is an error (%s)", err.msg);

	if (geteuid() == 0) {
		put("owner", "", 0, 0600);
		tpath(path, sizeof(path), "owner");
		CHECK(chown(path, 65534, 65534) == 0 &&
			      open_rc("owner", &err) == -EIO &&
			      strstr(err.msg, "owned by uid 65534"),
		      "a file of another user is refused (%s)", err.msg);
	} else {
		CHECK(1, "# SKIP owner test needs root");
	}

	put("huge", "", 0, 0600);
	tpath(path, sizeof(path), "huge");
	CHECK(truncate(path, (64 << 20) + 1) == 0 &&
		      open_rc("huge", &err) == -EIO &&
		      strstr(err.msg, "64 MiB"),
	      "a file over 64 MiB is refused unread (%s)", err.msg);

	/* Changed under a running sandbox. */
	put("changed", "", 0, 0600);
	l = open_l(NANO, 0, "changed");
	tpath(path, sizeof(path), "changed");
	chmod(path, 0644);
	memset(&err, 0, sizeof(err));
	rc = ledger_charge(l, "r", "a", 1, 0, &fresh, &err);
	CHECK(rc == -EIO, "a file made 0644 later fails closed (%s)", err.msg);
	chmod(path, 0600);
	CHECK(charge(l, "r", "a", 1, &fresh) == 0, "and 0600 again works");
	put("new", "", 0, 0600);
	tpath(other, sizeof(other), "new");
	rename(other, path);
	memset(&err, 0, sizeof(err));
	rc = ledger_charge(l, "r", "b", 1, 0, &fresh, &err);
	CHECK(rc == -EIO && strstr(err.msg, "replaced"),
	      "a file replaced later fails closed (%s)", err.msg);
	CHECK(!ledger_charged(l, "r", "a"), "and charged() says false");
	unlink(path);
	memset(&err, 0, sizeof(err));
	rc = ledger_charge(l, "r", "b", 1, 0, &fresh, &err);
	CHECK(rc == -EIO && access(path, F_OK) != 0,
	      "a file removed later fails closed and is not remade (%s)",
	      err.msg);
	ledger_free(l);
}

/* A write cut short (file size limit): the charge is refused and the file
 * is left whole. Runs in a child (the limit is per process). */
static void test_file_short_write(void)
{
	struct ledger_opts o = { NANO, 0, NULL };
	struct spot_err err;
	struct ledger *l;
	struct rlimit rl;
	char path[256];
	struct stat st;
	bool fresh;
	pid_t pid;
	int status, rc;

	put("short", "v1\tr\ta\t1\t0\n", 11, 0600);
	tpath(path, sizeof(path), "short");
	o.path = path;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		if (ledger_open(&o, &l, &err) || getrlimit(RLIMIT_FSIZE, &rl))
			_exit(10);
		rl.rlim_cur = 11 + 5; /* room for 5 bytes of the line */
		setrlimit(RLIMIT_FSIZE, &rl);
		rc = ledger_charge(l, "r", "b", TENTH, 0, &fresh, &err);
		if (rc != -EIO)
			_exit(11);
		if (stat(path, &st) || st.st_size != 11)
			_exit(12);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_FSIZE, &rl);
		rc = ledger_charge(l, "r", "b", TENTH, 0, &fresh, &err);
		ledger_free(l);
		_exit(rc == 0 && fresh ? 0 : 13);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "a short write is refused, cut back, and a retry works (%d)",
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	l = open_l(NANO, 0, "short");
	CHECK(spent(l, "r") == TENTH + 1, "the file holds the two charges");
	ledger_free(l);
}

/* ---- allocation failures ---- */

#define AF_KEYS_MEM 40
#define AF_KEYS_FILE 6

/* Charge n keys; every charge granted must be counted (in memory, or as a
 * line of the file), none refused may be. 1 when broken. */
static int af_charges(struct ledger *l, int n, const char *file)
{
	char key[32], role[8], buf[4096];
	int i, granted = 0, failed = 0, rc;
	struct ledger_use u;
	ssize_t r;
	bool fresh;
	int fd;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(role, sizeof(role), "r%d", i % 3);
		fresh = false;
		rc = charge(l, role, key, TENTH / 10, &fresh);
		if (rc == 0 && fresh)
			granted++;
		else if (rc == -ENOMEM || rc == -EIO)
			failed++;
		else
			return 1;
	}
	if (file) {
		fd = open(file, O_RDONLY);
		r = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
		if (fd >= 0)
			close(fd);
		if (r < 0)
			return 1;
		for (i = 0, rc = 0; i < r; i++)
			rc += buf[i] == '\n';
		if (rc != granted)
			return 1;
	} else if (ledger_spent(l, NULL, &u) ||
		   u.releases != (uint64_t)granted ||
		   u.eps != (uint64_t)granted * (TENTH / 10)) {
		return 1;
	}
	return failed ? -ENOMEM : 0;
}

static int af_mem(void *arg)
{
	struct ledger_opts o = { NANO, 0, NULL };
	struct spot_err err;
	struct ledger *l = NULL;
	int rc;

	(void)arg;
	rc = ledger_open(&o, &l, &err);
	if (rc)
		return rc;
	rc = af_charges(l, AF_KEYS_MEM, NULL);
	ledger_free(l);
	return rc;
}

static int af_file(void *arg)
{
	struct ledger_opts o = { NANO, 0, arg };
	struct spot_err err;
	struct ledger *l = NULL;
	int rc;

	unlink(arg);
	rc = ledger_open(&o, &l, &err);
	if (rc)
		return rc;
	rc = af_charges(l, AF_KEYS_FILE, arg);
	ledger_free(l);
	return rc;
}

static void test_alloc(void)
{
	char path[256];

	alloc_fail_loop("in memory: open and 40 charges", af_mem, NULL);
	tpath(path, sizeof(path), "alloc");
	alloc_fail_loop("file: open and 6 charges", af_file, path);
}

static void rm_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tdir);
}

int main(void)
{
	if (!mkdtemp(tdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_once();
	test_refusals();
	test_exact();
	test_overflow();
	test_names();
	test_threads();
	test_file_shared();
	test_file_procs();
	test_file_garbled();
	test_file_bad();
	test_file_short_write();
	test_alloc();
	rm_tree();
	return check_done();
}
