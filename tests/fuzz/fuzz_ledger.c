/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_ledger.c - libFuzzer target for the epsilon ledger's file
 * (policy/ledger.c): the input is the file's content.
 *
 * Beyond "no crash, no leak", it checks against a small reference reader
 * written here that:
 *   - the file is accepted exactly when every line is well formed
 *     ("v1", role, key, eps, delta; names of 1 to 1024 bytes without NUL;
 *     numbers of 1 to 20 digits within 64 bits; at most 4096 bytes with
 *     its LF, the last line included) and the totals do not overflow;
 *   - a refused file gives -EIO and a message, and no ledger;
 *   - an accepted file's totals are the reference's, and a new charge
 *     appended to it leaves a file that reads back with one more release.
 *
 *   tests/fuzz/run 60 ledger
 * Linked with fuzz_main.c it replays the files named on the command
 * line, so the unit suite runs the corpus.
 */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FZ_MAX (1 << 20) /* inputs beyond this are skipped */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_dir[64], fz_path[128];

static void fz_fail(const char *what)
{
	fprintf(stderr, "fuzz_ledger: oracle failed: %s\n", what);
	abort();
}

static void fz_cleanup(void)
{
	unlink(fz_path);
	rmdir(fz_dir);
}

static void fz_setup(void)
{
	snprintf(fz_dir, sizeof(fz_dir), "/tmp/fuzz_ledger.XXXXXX");
	if (!mkdtemp(fz_dir))
		fz_fail("mkdtemp");
	snprintf(fz_path, sizeof(fz_path), "%s/ledger", fz_dir);
	atexit(fz_cleanup);
	spot_log_set_level(SPOT_LOG_ERR);
}

/* The reference reader: what ledger.h and ledger.c document. */
struct fz_ref {
	uint64_t eps, delta, lines;
};

static int fz_num(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t i;

	*v = 0;
	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (*v > UINT64_MAX / 10 ||
		    *v * 10 > UINT64_MAX - (uint64_t)(p[i] - '0'))
			return -1;
		*v = *v * 10 + (uint64_t)(p[i] - '0');
	}
	return 0;
}

static int fz_ref_read(const uint8_t *d, size_t size, struct fz_ref *r)
{
	size_t at = 0, end, f, i, start;
	const uint8_t *fp[5];
	size_t fl[5];
	uint64_t e, dl;

	memset(r, 0, sizeof(*r));
	while (at < size) {
		for (end = at; end < size && d[end] != '\n'; end++)
			;
		if (end == size || end - at + 1 > 4096)
			return -1;
		for (f = 0, start = at, i = at; i <= end; i++) {
			if (i < end && d[i] != '\t')
				continue;
			if (f == 5)
				return -1;
			fp[f] = d + start;
			fl[f++] = i - start;
			start = i + 1;
		}
		if (f != 5 || fl[0] != 2 || memcmp(fp[0], "v1", 2))
			return -1;
		for (i = 1; i <= 2; i++)
			if (fl[i] == 0 || fl[i] > 1024 ||
			    memchr(fp[i], '\0', fl[i]))
				return -1;
		if (fz_num(fp[3], fl[3], &e) || fz_num(fp[4], fl[4], &dl))
			return -1;
		if (r->eps > UINT64_MAX - e || r->delta > UINT64_MAX - dl)
			return -1;
		r->eps += e;
		r->delta += dl;
		r->lines++;
		at = end + 1;
	}
	return 0;
}

static int fz_write(const uint8_t *data, size_t size)
{
	int fd = open(fz_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && write(fd, data, size) == (ssize_t)size;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ledger_opts o = { 0, 0, NULL };
	struct ledger *l = NULL;
	struct ledger_use u;
	struct spot_err err;
	struct fz_ref ref;
	bool fresh = false;
	int want, rc;

	if (!fz_path[0])
		fz_setup();
	if (size > FZ_MAX)
		return 0;
	if (fz_write(data, size))
		fz_fail("cannot write the input");
	o.path = fz_path;
	want = fz_ref_read(data, size, &ref);
	err.msg[0] = '\0';
	rc = ledger_open(&o, &l, &err);
	if (rc) {
		if (rc != -EIO || !err.msg[0] || l)
			fz_fail("a refusal is not -EIO with a message");
		if (!want)
			fz_fail("a well-formed file is refused");
		return 0;
	}
	if (want)
		fz_fail("a malformed file is accepted");
	if (ledger_spent(l, NULL, &u) || u.eps != ref.eps ||
	    u.delta != ref.delta || u.releases != ref.lines)
		fz_fail("the totals differ from the reference");
	rc = ledger_charge(l, "fuzz\x01role", "fuzz\x01key", 1, 0, &fresh,
			   &err);
	if (rc != 0 && !(rc == -EDQUOT && ref.eps == UINT64_MAX))
		fz_fail("a new charge failed");
	ledger_free(l);
	l = NULL;
	if (ledger_open(&o, &l, &err) || ledger_spent(l, NULL, &u) ||
	    u.releases != ref.lines + (rc == 0 && fresh))
		fz_fail("the file does not read back after a charge");
	ledger_free(l);
	return 0;
}
