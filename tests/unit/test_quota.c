/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_quota.c - quota.c: a copy-up is an open and all its bytes at once,
 * refused unless it fits (and then costs nothing), never passed by
 * copy-ups at once; the role's and the dataset's limits both count.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "quota.h"

/* The "read_bytes" and "opens" use of the role's line in qta_status. */
static void use(struct qta *q, const char *scope, unsigned long long *bytes,
		unsigned long long *opens)
{
	struct spot_buf b;
	char *line;

	spot_buf_init(&b);
	qta_status(q, &b, false);
	spot_buf_putc(&b, 0);
	*bytes = *opens = ~0ULL;
	line = strstr((char *)b.p, scope);
	if (line)
		sscanf(line + strlen(scope), ": %llu %*[^,], %llu", bytes,
		       opens);
	spot_buf_fini(&b);
}

struct racer {
	struct qta *q;
	struct qta_ref r;
	int rc;
};

static void *race(void *arg)
{
	struct racer *x = arg;
	const char *what = NULL;
	bool first = false;

	x->rc = qta_copy(x->q, x->r, 30, &what, &first);
	return NULL;
}

int main(void)
{
	struct cfg_role roles[2];
	struct cfg_dataset ds[1];
	struct cfg cfg;
	struct qta *q = NULL;
	struct qta_ref r, r2;
	const char *what = NULL;
	bool first = false;
	unsigned long long b, o;
	struct racer x[8];
	pthread_t th[8];
	int ok = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(roles, 0, sizeof(roles));
	memset(ds, 0, sizeof(ds));
	roles[0].name = (char[]){ "agent" };
	roles[0].quota.read_bytes = 100;
	roles[0].quota.opens = 5;
	roles[1].name = (char[]){ "other" };
	roles[1].quota.read_bytes = 100;
	ds[0].name = (char[]){ "people.csv" };
	ds[0].quota.read_bytes = 50;
	cfg.roles = roles;
	cfg.nroles = 2;
	cfg.datasets = ds;
	cfg.ndatasets = 1;
	CHECK(qta_new(&cfg, &q) == 0, "counters made");
	if (!q)
		return check_done();
	r = qta_ref(q, &ds[0], "agent");

	CHECK(qta_copy(q, r, 40, &what, &first) == 0, "a copy that fits");
	use(q, "quota: role agent", &b, &o);
	CHECK(b == 40 && o == 1, "an open and all its bytes (%llu, %llu)", b,
	      o);
	CHECK(qta_copy(q, r, 20, &what, &first) == -EDQUOT,
	      "a copy past the dataset's limit is refused");
	CHECK(what && !strcmp(what, "read_bytes") && first,
	      "named read_bytes, the first refusal of that slot");
	use(q, "quota: role agent", &b, &o);
	CHECK(b == 40 && o == 1, "the refused copy costs nothing (%llu, %llu)",
	      b, o);
	use(q, "quota: role agent dataset people.csv", &b, &o);
	CHECK(b == 40 && o == 1, "nor to the dataset (%llu, %llu)", b, o);
	CHECK(qta_copy(q, r, 10, &what, &first) == 0, "one that fits exactly");
	first = true;
	CHECK(qta_copy(q, r, 0, &what, &first) == -EDQUOT && !first,
	      "at the limit, a copy of no bytes is refused, audited before");
	CHECK(qta_read(q, r, &what, &first) == -EDQUOT, "and so is a read");

	/* Eight copy-ups of 30 bytes at once against 100: three fit. */
	r2 = qta_ref(q, NULL, "other");
	for (int i = 0; i < 8; i++) {
		x[i].q = q;
		x[i].r = r2;
		pthread_create(&th[i], NULL, race, &x[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ok += x[i].rc == 0;
	}
	use(q, "quota: role other", &b, &o);
	CHECK(ok == 3 && b == 90 && o == 3,
	      "copy-ups at once never pass the limit (%d, %llu, %llu)", ok, b,
	      o);
	qta_free(q);
	return check_done();
}
