/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_vcache.c - the view cache: build once, failures classified as
 * transient (built again at the next vc_get) or deterministic (kept until
 * the source stamp changes), out-of-memory paths, peeking without building,
 * and builds of different keys running at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "vcache.h"

struct fake {
	atomic_int builds;   /* build callback calls */
	int fail;	     /* -errno the next builds return, or 0 */
	int ret_no_read;     /* return 0 without filling content */
	uint64_t stamp_ino;  /* the source's version */
	int stamp_err;	     /* stamp callback result */
	atomic_int in_build; /* builds running now */
	atomic_int max_in;   /* most builds seen running at once */
	useconds_t delay;    /* each build takes this long */
};

static int fake_build(void *arg, const char *dataset, const char *sub,
		      const char *role, struct vc_content *out,
		      struct spot_err *err)
{
	struct fake *f = arg;
	struct spot_buf b;
	int now;

	(void)sub;
	(void)role;
	atomic_fetch_add(&f->builds, 1);
	now = atomic_fetch_add(&f->in_build, 1) + 1;
	for (int m = atomic_load(&f->max_in);
	     now > m && !atomic_compare_exchange_weak(&f->max_in, &m, now);)
		;
	if (f->delay)
		usleep(f->delay);
	atomic_fetch_sub(&f->in_build, 1);
	if (f->fail) {
		spot_err_set(err, "%s: failed on purpose", dataset);
		return f->fail;
	}
	if (f->ret_no_read)
		return 0; /* a buggy build: no callbacks */
	spot_buf_init(&b);
	if (spot_buf_append(&b, dataset, strlen(dataset)))
		return -ENOMEM;
	return vc_content_from_buf(out, &b);
}

static int fake_stamp(void *arg, const char *dataset, const char *sub,
		      struct vc_stamp *out)
{
	struct fake *f = arg;

	(void)dataset;
	(void)sub;
	if (f->stamp_err)
		return f->stamp_err;
	out->ino = f->stamp_ino;
	out->size = 1;
	return 0;
}

static struct vc *fake_cache(struct fake *f)
{
	struct vc *c = NULL;

	memset(f, 0, sizeof(*f));
	f->stamp_ino = 1;
	if (vc_new(fake_build, f, &c))
		abort();
	vc_set_stamp(c, fake_stamp);
	return c;
}

static enum vc_state get_state(struct vc *c, const char *ds)
{
	struct vc_view *v = NULL;

	if (vc_get(c, ds, "", "", &v) || !v)
		return (enum vc_state) - 1;
	return v->state;
}

static void test_build_once(void)
{
	struct fake f;
	struct vc *c = fake_cache(&f);
	struct vc_view *v = NULL, *w = NULL;
	char buf[16] = "";

	CHECK(vc_peek(c, "a.csv", "", "") == NULL,
	      "peek of a key never built is NULL");
	CHECK(atomic_load(&f.builds) == 0, "peek does not build");
	CHECK(vc_get(c, "a.csv", "", "", &v) == 0 && v->state == VC_READY,
	      "first get builds the view");
	CHECK(vc_view_read(v, buf, sizeof(buf), 0) == 5 &&
		      !memcmp(buf, "a.csv", 5),
	      "a ready view reads its bytes");
	CHECK(vc_get(c, "a.csv", "", "", &w) == 0 && w == v &&
		      atomic_load(&f.builds) == 1,
	      "second get serves the same view without a build");
	CHECK(vc_peek(c, "a.csv", "", "") == v, "peek finds the ready view");
	CHECK(vc_get(c, "a.csv", "", "r", &w) == 0 && w != v &&
		      atomic_load(&f.builds) == 2,
	      "another role is another key");
	vc_free(c);
}

static void test_transient(int err, const char *name)
{
	struct fake f;
	struct vc *c = fake_cache(&f);
	struct vc_view *v = NULL, *w = NULL;

	f.fail = err;
	CHECK(vc_get(c, "t.csv", "", "", &v) == 0 && v->state == VC_FAILED &&
		      v->err == err,
	      "%s: the build fails and says why", name);
	CHECK(vc_peek(c, "t.csv", "", "") == NULL,
	      "%s: peek of a failed view is NULL and builds nothing", name);
	CHECK(atomic_load(&f.builds) == 1, "%s: one build so far", name);
	f.fail = 0;
	CHECK(vc_get(c, "t.csv", "", "", &w) == 0 && w->state == VC_READY &&
		      w != v && w->gen == v->gen + 1,
	      "%s: transient, so the next get builds again", name);
	CHECK(atomic_load(&f.builds) == 2, "%s: exactly one rebuild", name);
	CHECK(v->state == VC_FAILED,
	      "%s: the failed view stays valid (and failed) for its holders",
	      name);
	vc_free(c);
}

static void test_deterministic(int err, const char *name)
{
	struct fake f;
	struct vc *c = fake_cache(&f);
	struct vc_view *v = NULL;

	f.fail = err;
	for (int i = 0; i < 4; i++)
		vc_get(c, "d.csv", "", "", &v);
	CHECK(v && v->state == VC_FAILED && v->err == err,
	      "%s: the view is failed", name);
	CHECK(atomic_load(&f.builds) == (err == -EIO ? 2 : 1),
	      "%s: kept, not built at each get (%d builds)", name,
	      atomic_load(&f.builds));
	f.fail = 0;
	CHECK(get_state(c, "d.csv") == VC_FAILED,
	      "%s: same source: still failed", name);
	f.stamp_ino = 2; /* the source was replaced or rewritten */
	CHECK(get_state(c, "d.csv") == VC_READY,
	      "%s: a changed source builds again", name);
	vc_free(c);
}

static void test_stamp_unknown(void)
{
	struct fake f;
	struct vc *c = fake_cache(&f);

	f.fail = -EINVAL;
	f.stamp_err = -ENOENT; /* the source is missing */
	CHECK(get_state(c, "m.csv") == VC_FAILED, "missing source fails");
	CHECK(get_state(c, "m.csv") == VC_FAILED && atomic_load(&f.builds) == 1,
	      "still missing: not built again");
	f.fail = 0;
	f.stamp_err = 0; /* it appeared */
	CHECK(get_state(c, "m.csv") == VC_READY,
	      "a source that appears builds again");
	vc_free(c);
}

static void test_no_callbacks(void)
{
	struct fake f;
	struct vc *c = fake_cache(&f);
	struct vc_view *v = NULL;
	char buf[4];

	f.ret_no_read = 1;
	CHECK(vc_get(c, "n.csv", "", "", &v) == 0 && v->state == VC_FAILED &&
		      v->err == -ENOMEM,
	      "a build without a read callback is failed, never ready");
	CHECK(vc_view_read(v, buf, sizeof(buf), 0) == -EIO,
	      "reading it gives EIO");
	f.ret_no_read = 0;
	CHECK(get_state(c, "n.csv") == VC_READY,
	      "and it is transient: built again");
	vc_free(c);
}

static void test_content_from_buf(void)
{
	struct vc_content ct;
	struct spot_buf b;

	spot_buf_init(&b);
	CHECK(spot_buf_append(&b, "xyz", 3) == 0 &&
		      vc_content_from_buf(&ct, &b) == 0 && ct.read && ct.free &&
		      ct.obj && ct.size == 3 && b.p == NULL,
	      "content from a buffer takes it over with callbacks");
	ct.free(ct.obj);
}

static void test_classification(void)
{
	static const int transient[] = { -ENOMEM, -ENOBUFS, -EAGAIN, -EINTR,
					 -EBUSY,  -EMFILE,  -ENFILE, -ESTALE };
	static const int determ[] = { -EINVAL,	-ENOENT,    -EACCES, -ERANGE,
				      -ENOTSUP, -ETIMEDOUT, -EPERM };

	for (size_t i = 0; i < sizeof(transient) / sizeof(*transient); i++)
		CHECK(vc_err_transient(transient[i], 1) &&
			      vc_err_transient(transient[i], 5),
		      "%s is transient, every time", strerror(-transient[i]));
	for (size_t i = 0; i < sizeof(determ) / sizeof(*determ); i++)
		CHECK(!vc_err_transient(determ[i], 1), "%s is deterministic",
		      strerror(-determ[i]));
	CHECK(vc_err_transient(-EIO, 1) && !vc_err_transient(-EIO, 2),
	      "EIO: tried once more, then kept");
}

struct getter {
	struct vc *c;
	const char *ds;
	enum vc_state st;
};

static void *getter_run(void *arg)
{
	struct getter *g = arg;

	g->st = get_state(g->c, g->ds);
	return NULL;
}

static void test_parallel_keys(void)
{
	struct fake f;
	struct vc *c = fake_cache(&f);
	struct getter g[4] = { { c, "p1.csv", 0 },
			       { c, "p2.csv", 0 },
			       { c, "p1.csv", 0 },
			       { c, "p3.csv", 0 } };
	pthread_t t[4];

	f.delay = 300000;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, getter_run, &g[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(g[0].st == VC_READY && g[1].st == VC_READY &&
		      g[2].st == VC_READY && g[3].st == VC_READY,
	      "all gets see ready views");
	CHECK(atomic_load(&f.builds) == 3, "one build per key (%d)",
	      atomic_load(&f.builds));
	CHECK(atomic_load(&f.max_in) >= 2,
	      "builds of different keys ran at once (%d)",
	      atomic_load(&f.max_in));
	vc_free(c);
}

int main(void)
{
	test_build_once();
	test_transient(-ENOMEM, "ENOMEM");
	test_transient(-EAGAIN, "EAGAIN");
	test_transient(-EMFILE, "EMFILE");
	test_transient(-ESTALE, "ESTALE (source changed during the build)");
	test_transient(-EIO, "first EIO");
	test_deterministic(-EINVAL, "EINVAL (malformed data, missing column)");
	test_deterministic(-EIO, "EIO twice in a row");
	test_deterministic(-ETIMEDOUT, "ETIMEDOUT (a policy budget)");
	test_stamp_unknown();
	test_no_callbacks();
	test_content_from_buf();
	test_classification();
	test_parallel_keys();
	return check_done();
}
