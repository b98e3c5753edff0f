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
	size_t size;	     /* content bytes (0: the dataset's name) */
	uint64_t src_size;   /* the stamp's source size (0: 1) */
	atomic_int sinks;    /* builds that streamed into their sink */
	bool checked;	     /* views check the source (as Parquet's do) */
	atomic_int version;  /* the source's version, for check */
	atomic_int freed;    /* checked views freed */
};

/* A checked view: a buffer's content whose check() compares versions. */
struct fake_obj {
	struct fake *f;
	int version;
	struct vc_content in;
};

static ssize_t fake_obj_read(void *obj, void *buf, size_t len, uint64_t off)
{
	struct fake_obj *o = obj;

	return o->in.read(o->in.obj, buf, len, off);
}

static void fake_obj_free(void *obj)
{
	struct fake_obj *o = obj;

	atomic_fetch_add(&o->f->freed, 1);
	o->in.free(o->in.obj);
	free(o);
}

static int fake_obj_check(void *obj)
{
	struct fake_obj *o = obj;

	return o->version == atomic_load(&o->f->version) ? 0 : -ESTALE;
}

/* Wrap c (from a buffer) as a checked view of f's current version. */
static int fake_checked(struct fake *f, struct vc_content *c)
{
	struct fake_obj *o = malloc(sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->f = f;
	o->version = atomic_load(&f->version);
	o->in = *c;
	c->obj = o;
	c->read = fake_obj_read;
	c->free = fake_obj_free;
	c->check = fake_obj_check;
	c->data = NULL; /* read through the wrapper */
	return 0;
}

/* The byte at off of a sized fake view of dataset ds. */
static uint8_t fake_byte(const char *ds, uint64_t off)
{
	return (uint8_t)(ds[0] * 7 + off * 13 + (off >> 9));
}

static int fake_build(void *arg, const char *dataset, const char *sub,
		      const char *role, struct vc_sink *sink,
		      struct vc_content *out, struct spot_err *err)
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
	/* As the CSV builder: in memory up to the sink's room, else
	 * streamed (the fake streams all of it). */
	if (sink && f->size > vc_sink_room(sink)) {
		atomic_fetch_add(&f->sinks, 1);
		/* Streamed in odd pieces, the last 10 bytes left as a tail. */
		for (size_t off = 0; f->size && off + 10 < f->size;) {
			uint8_t piece[333];
			size_t n = f->size - 10 - off < sizeof(piece)
					   ? f->size - 10 - off
					   : sizeof(piece);

			for (size_t i = 0; i < n; i++)
				piece[i] = fake_byte(dataset, off + i);
			if (vc_sink_write(sink, piece, n))
				return -EIO;
			off += n;
		}
		if (f->size) {
			for (size_t i = f->size - 10; i < f->size; i++)
				if (spot_buf_putc(&b, fake_byte(dataset, i)))
					return -ENOMEM;
			return vc_sink_content(sink, &b, out);
		}
	}
	if (f->size) {
		if (spot_buf_reserve(&b, f->size))
			return -ENOMEM;
		for (size_t i = 0; i < f->size; i++)
			b.p[i] = fake_byte(dataset, i);
		b.len = f->size;
	} else if (spot_buf_append(&b, dataset, strlen(dataset))) {
		return -ENOMEM;
	}
	if (vc_content_from_buf(out, &b))
		return -ENOMEM;
	if (f->checked && fake_checked(f, out)) {
		out->free(out->obj);
		return -ENOMEM;
	}
	return 0;
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
	out->size = f->src_size ? f->src_size : 1;
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

/* A key failed by EIO twice is tried again after its wait, and only EIO. */
static void test_eio_waits_then_retries(void)
{
	struct fake f;
	struct vc *c = fake_cache(&f);
	struct vc_view *v = NULL;

	vc_set_eio_wait(c, 150);
	CHECK(vc_eio_wait_ms(c, 2) == 150 && vc_eio_wait_ms(c, 3) == 300 &&
		      vc_eio_wait_ms(c, 4) == 600,
	      "the wait doubles at each failure");
	CHECK(vc_eio_wait_ms(c, 40) == 10 * 60 * 1000,
	      "and stops at 10 minutes");
	f.fail = -EIO;
	for (int i = 0; i < 4; i++)
		vc_get(c, "e.csv", "", "", &v);
	CHECK(v && v->state == VC_FAILED && atomic_load(&f.builds) == 2,
	      "EIO twice: kept (%d builds)", atomic_load(&f.builds));
	f.fail = 0; /* the disk recovers, the source is the same */
	CHECK(get_state(c, "e.csv") == VC_FAILED,
	      "before the wait: still failed");
	usleep(200 * 1000);
	CHECK(get_state(c, "e.csv") == VC_READY && atomic_load(&f.builds) == 3,
	      "after the wait: built again, and served");

	f.fail = -EIO; /* fails on and on: waits grow */
	for (int i = 0; i < 2; i++)
		vc_get(c, "g.csv", "", "", &v);
	usleep(200 * 1000);
	vc_get(c, "g.csv", "", "", &v); /* the third failure: waits 300 ms */
	CHECK(atomic_load(&f.builds) == 6, "a third build after the wait");
	usleep(50 * 1000);
	CHECK(get_state(c, "g.csv") == VC_FAILED && atomic_load(&f.builds) == 6,
	      "the next wait is 300 ms: not built 50 ms later");
	vc_free(c);

	c = fake_cache(&f);
	vc_set_eio_wait(c, 1);
	f.fail = -EINVAL;
	vc_get(c, "d.csv", "", "", &v);
	f.fail = 0;
	usleep(20 * 1000);
	CHECK(get_state(c, "d.csv") == VC_FAILED && atomic_load(&f.builds) == 1,
	      "a deterministic error does not come back with time");
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

/* ---- spill ---- */

struct mfile {
	uint8_t *p;
	size_t len;
};

static struct {
	atomic_int creates, destroys, writes;
	int create_err;	  /* create fails with it */
	int write_fail;	  /* pwrite fails from this call on (1-based), or 0 */
	bool short_file;  /* pread stops at half the file */
	uint64_t bad_off; /* a block failing authentication here, or 0 */
} ms;

static int m_create(void *arg, void **file)
{
	(void)arg;
	if (ms.create_err)
		return ms.create_err;
	*file = calloc(1, sizeof(struct mfile));
	if (!*file)
		return -ENOMEM;
	atomic_fetch_add(&ms.creates, 1);
	return 0;
}

static ssize_t m_pwrite(void *file, const void *buf, size_t len, uint64_t off)
{
	struct mfile *m = file;
	int n = atomic_fetch_add(&ms.writes, 1) + 1;
	uint8_t *np;

	if (ms.write_fail && n >= ms.write_fail)
		return -ENOSPC;
	if (off + len > m->len) {
		np = realloc(m->p, off + len);
		if (!np)
			return -ENOMEM;
		m->p = np;
		m->len = off + len;
	}
	memcpy(m->p + off, buf, len);
	return (ssize_t)len;
}

static ssize_t m_pread(void *file, void *buf, size_t len, uint64_t off)
{
	struct mfile *m = file;
	size_t end = ms.short_file ? m->len / 2 : m->len;

	if (off >= end)
		return 0;
	if (len > end - off)
		len = end - off;
	if (ms.bad_off && off <= ms.bad_off && ms.bad_off < off + len) {
		/* as seal: the bytes before the bad block, then -EIO */
		if (ms.bad_off == off)
			return -EIO;
		len = (size_t)(ms.bad_off - off);
	}
	memcpy(buf, m->p + off, len);
	return (ssize_t)len;
}

static void m_destroy(void *file)
{
	struct mfile *m = file;

	atomic_fetch_add(&ms.destroys, 1);
	free(m->p);
	free(m);
}

static const struct vc_spill_ops m_ops = { m_create, m_pwrite, m_pread,
					   m_destroy };

struct seen {
	char ds[16];
	bool spilled, spill_failed;
	uint64_t mem;
	size_t nwaiters;
	uint32_t uid;
};

static struct seen seen[8];
static size_t nseen;

static void collect(void *arg, const struct vc_info *in)
{
	(void)arg;
	if (nseen >= 8)
		return;
	snprintf(seen[nseen].ds, sizeof(seen[nseen].ds), "%s", in->dataset);
	seen[nseen].spilled = in->spilled;
	seen[nseen].spill_failed = in->spill_failed;
	seen[nseen].mem = in->mem;
	seen[nseen].nwaiters = in->nwaiters;
	seen[nseen].uid = in->nwaiters ? in->waiters[0].uid : 0;
	nseen++;
}

static struct seen *seen_of(struct vc *c, const char *ds)
{
	nseen = 0;
	vc_foreach(c, collect, NULL);
	for (size_t i = 0; i < nseen; i++)
		if (!strcmp(seen[i].ds, ds))
			return &seen[i];
	return NULL;
}

/* The whole view of ds, read in odd pieces, matches its bytes. */
static bool view_intact(struct vc *c, const char *ds, size_t size)
{
	struct vc_view *v;
	uint8_t buf[777];
	uint64_t off = 0;

	if (vc_get(c, ds, "", "", &v) || v->state != VC_READY ||
	    v->content.size != size)
		return false;
	while (off < size) {
		ssize_t n = vc_view_read(v, buf, sizeof(buf), off);

		if (n <= 0)
			return false;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != fake_byte(ds, off + (uint64_t)i))
				return false;
		off += (uint64_t)n;
	}
	return vc_view_read(v, buf, 1, size) == 0;
}

static struct vc *spill_cache(struct fake *f, uint64_t budget, size_t size)
{
	struct vc *c = fake_cache(f);

	memset(&ms, 0, sizeof(ms));
	f->size = size;
	if (vc_set_spill(c, budget, &m_ops, NULL))
		abort();
	return c;
}

static void test_spill_lru(void)
{
	struct fake f;
	struct vc *c = spill_cache(&f, 3000, 2000);
	uint64_t budget, mem;
	struct seen *a, *b, *cc;
	const uint8_t *data;
	uint64_t dsize;
	struct vc_view *v;

	CHECK(view_intact(c, "a.csv", 2000), "a built and read");
	vc_spill_settle(c);
	CHECK(vc_mem(c, &budget) == 2000 && budget == 3000,
	      "one view fits the budget: nothing spilled");
	CHECK(view_intact(c, "b.csv", 2000), "b built and read");
	vc_spill_settle(c);
	a = seen_of(c, "a.csv");
	CHECK(a && a->spilled && a->mem == 0,
	      "over budget: the least recently read view (a) spilled");
	CHECK(view_intact(c, "a.csv", 2000),
	      "a reads the same after its spill");
	CHECK(view_intact(c, "c.csv", 2000), "c built and read");
	vc_spill_settle(c);
	mem = vc_mem(c, NULL);
	b = seen_of(c, "b.csv");
	CHECK(b && b->spilled, "then b, read longer ago than c, spilled");
	cc = seen_of(c, "c.csv");
	CHECK(cc && !cc->spilled && cc->mem == 2000, "c stays in memory");
	CHECK(mem == 2000, "memory within the budget (%llu)",
	      (unsigned long long)mem);
	CHECK(atomic_load(&ms.creates) == 2, "one spill file per spilled view");
	CHECK(vc_get(c, "a.csv", "", "", &v) == 0 &&
		      !vc_view_data_lock(v, &data, &dsize),
	      "a spilled view is not offered as a buffer");
	CHECK(vc_get(c, "c.csv", "", "", &v) == 0 &&
		      vc_view_data_lock(v, &data, &dsize) && dsize == 2000 &&
		      data[5] == fake_byte("c.csv", 5),
	      "a view in memory is, locked");
	vc_view_data_unlock(v);
	CHECK(atomic_load(&f.builds) == 3, "spilling never rebuilt a view");
	vc_free(c);
	CHECK(atomic_load(&ms.destroys) == 2, "vc_free destroyed spill files");
}

static void test_spill_everything(void)
{
	struct fake f;
	struct vc *c = spill_cache(&f, 0, 100000);

	CHECK(view_intact(c, "big.csv", 100000), "built");
	vc_spill_settle(c);
	CHECK(vc_mem(c, NULL) == 0, "budget 0: nothing stays in memory");
	CHECK(view_intact(c, "big.csv", 100000),
	      "a view larger than the copy chunk reads back whole");
	vc_free(c);
}

static void test_spill_create_fails(void)
{
	struct fake f;
	struct vc *c = spill_cache(&f, 8000, 5000);
	struct seen *s;

	ms.create_err = -ENOSPC;
	CHECK(view_intact(c, "a.csv", 5000), "built");
	CHECK(view_intact(c, "b.csv", 5000), "b built: a must spill");
	vc_spill_settle(c);
	s = seen_of(c, "a.csv");
	CHECK(s && s->spill_failed && !s->spilled && s->mem == 5000,
	      "no spill file: kept in memory, marked");
	CHECK(view_intact(c, "a.csv", 5000), "and served whole");
	vc_free(c);
}

static void test_spill_write_fails(void)
{
	struct fake f;
	struct vc *c = spill_cache(&f, 4u << 20, 3u << 20);
	struct seen *s;

	ms.write_fail = 2; /* the second 1 MiB piece: disk full */
	CHECK(view_intact(c, "a.csv", 3u << 20), "built");
	CHECK(view_intact(c, "b.csv", 3u << 20), "b built: a must spill");
	vc_spill_settle(c);
	s = seen_of(c, "a.csv");
	CHECK(s && s->spill_failed && !s->spilled,
	      "a spill failing half way keeps the view in memory");
	CHECK(atomic_load(&ms.creates) >= 1 &&
		      atomic_load(&ms.creates) == atomic_load(&ms.destroys),
	      "and its partial file is destroyed");
	CHECK(view_intact(c, "a.csv", 3u << 20), "served whole");
	vc_free(c);
}

static void test_spill_short_file(void)
{
	struct fake f;
	struct vc *c = spill_cache(&f, 0, 10000);
	struct vc_view *v;
	uint8_t buf[100];

	CHECK(view_intact(c, "a.csv", 10000), "built");
	vc_spill_settle(c);
	ms.short_file = true; /* the store lost the end of the file */
	CHECK(vc_get(c, "a.csv", "", "", &v) == 0 &&
		      vc_view_read(v, buf, sizeof(buf), 9000) == -EIO,
	      "a spill file shorter than its view reads as EIO, not EOF");
	ms.short_file = false;
	ms.bad_off = 9050; /* a tampered block inside the next read */
	CHECK(vc_get(c, "a.csv", "", "", &v) == 0 &&
		      vc_view_read(v, buf, sizeof(buf), 9000) == -EIO,
	      "a read over a failed block is EIO, not the bytes before it");
	ms.bad_off = 0;
	CHECK(vc_view_read(v, buf, sizeof(buf), 9000) == sizeof(buf),
	      "reads of good blocks still work");
	vc_free(c);
}

struct reader {
	struct vc *c;
	const char *ds;
	size_t size;
	bool ok;
};

static void *reader_run(void *arg)
{
	struct reader *r = arg;

	r->ok = true;
	for (int i = 0; i < 20 && r->ok; i++)
		r->ok = view_intact(r->c, r->ds, r->size);
	return NULL;
}

static void test_spill_while_reading(void)
{
	struct fake f;
	struct vc *c = spill_cache(&f, 1u << 20, 600000);
	struct reader r[4] = { { c, "a.csv", 600000, false },
			       { c, "b.csv", 600000, false },
			       { c, "a.csv", 600000, false },
			       { c, "c.csv", 600000, false } };
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, reader_run, &r[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	vc_spill_settle(c);
	CHECK(r[0].ok && r[1].ok && r[2].ok && r[3].ok,
	      "readers see the same bytes while views spill under them");
	CHECK(vc_mem(c, NULL) <= (1u << 20), "memory within the budget");
	vc_free(c);
}

struct waiter {
	struct vc *c;
	int rc;
};

static void *waiter_run(void *arg)
{
	struct waiter *w = arg;
	struct vc_caller who = { 1234, 99 };
	struct vc_view *v;

	w->rc = vc_get_by(w->c, "slow.csv", "", "", &who, &v);
	return NULL;
}

static void test_waiters_shown(void)
{
	struct fake f;
	struct vc *c = fake_cache(&f);
	struct waiter w = { c, -1 };
	struct seen *s = NULL;
	pthread_t t;

	f.delay = 400000;
	pthread_create(&t, NULL, waiter_run, &w);
	for (int i = 0; i < 100 && !(s && s->nwaiters); i++) {
		usleep(5000);
		s = seen_of(c, "slow.csv");
	}
	CHECK(s && s->nwaiters == 1 && s->uid == 1234,
	      "a caller waiting on a build is listed with its uid");
	pthread_join(t, NULL);
	s = seen_of(c, "slow.csv");
	CHECK(w.rc == 0 && s && s->nwaiters == 0,
	      "and no longer once the build is done");
	vc_free(c);
}

static void test_stream_big_source(void)
{
	struct fake f;
	struct vc *c = spill_cache(&f, 3000, 5000);
	struct seen *s;

	f.src_size = 5000; /* more than the whole budget */
	CHECK(view_intact(c, "big.csv", 5000),
	      "a view streamed to its spill file reads whole");
	CHECK(atomic_load(&f.sinks) == 1,
	      "a source larger than the budget streams into its sink");
	s = seen_of(c, "big.csv");
	CHECK(s && s->spilled && s->mem == 0 && vc_mem(c, NULL) == 0,
	      "it is built spilled: no memory held");
	vc_free(c);
	CHECK(atomic_load(&ms.creates) == 1 && atomic_load(&ms.destroys) == 1,
	      "its spill file goes with the cache");
}

static void test_stream_write_fails(void)
{
	struct fake f;
	struct vc *c = spill_cache(&f, 3000, 5000);

	f.src_size = 5000;
	ms.write_fail = 3; /* disk full while streaming */
	CHECK(get_state(c, "big.csv") == VC_FAILED,
	      "a streamed build whose spill file cannot be written fails");
	CHECK(atomic_load(&ms.creates) == atomic_load(&ms.destroys),
	      "and its partial file is destroyed");
	ms.write_fail = 0;
	CHECK(get_state(c, "big.csv") == VC_READY &&
		      view_intact(c, "big.csv", 5000),
	      "the next open builds it again (transient)");
	vc_free(c);
}

static void test_stream_beside_running_builds(void)
{
	struct fake f;
	struct vc *c = spill_cache(&f, 3000, 2000);
	struct getter g[2] = { { c, "r1.csv", 0 }, { c, "r2.csv", 0 } };
	pthread_t t[2];

	f.src_size = 2000;
	f.delay = 300000; /* both run at once */
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, getter_run, &g[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK(g[0].st == VC_READY && g[1].st == VC_READY, "both built");
	CHECK(atomic_load(&f.sinks) == 1,
	      "the build that did not fit beside the other streamed (%d)",
	      atomic_load(&f.sinks));
	CHECK(view_intact(c, "r1.csv", 2000) && view_intact(c, "r2.csv", 2000),
	      "both read whole");
	vc_spill_settle(c);
	CHECK(vc_mem(c, NULL) <= 3000, "memory within the budget");
	vc_free(c);
}

static void test_stream_sink_unused(void)
{
	struct fake f;
	struct vc *c = spill_cache(&f, 10, 0);

	f.src_size = 5; /* fits: offered a sink with room, builds in memory */
	CHECK(get_state(c, "a.csv") == VC_READY, "built in memory");
	CHECK(atomic_load(&f.sinks) == 0 && atomic_load(&ms.creates) == 0,
	      "a sink nobody writes to makes no spill file");
	vc_spill_settle(c);
	vc_free(c);
	CHECK(atomic_load(&ms.creates) == atomic_load(&ms.destroys),
	      "every spill file made is destroyed (%d/%d)",
	      atomic_load(&ms.creates), atomic_load(&ms.destroys));
}

/* How many entries of ds vc_foreach lists, and how many are retired. */
static size_t count_of(struct vc *c, const char *ds, size_t *retired);

struct counted {
	const char *ds;
	size_t n, retired;
};

static void count_one(void *arg, const struct vc_info *in)
{
	struct counted *k = arg;

	if (strcmp(in->dataset, k->ds))
		return;
	k->n++;
	k->retired += in->retired;
}

static size_t count_of(struct vc *c, const char *ds, size_t *retired)
{
	struct counted k = { ds, 0, 0 };

	vc_foreach(c, count_one, &k);
	if (retired)
		*retired = k.retired;
	return k.n;
}

/*
 * A view replaced because its source changed is freed (memory, spill
 * file) when the last holder lets go, not kept until the sandbox ends.
 */
static void test_retired_freed(void)
{
	struct fake f;
	struct vc *c = fake_cache(&f);
	struct vc_view *v1 = NULL, *v2 = NULL, *p = NULL;
	size_t retired = 0;
	char buf[8];

	f.checked = true;
	CHECK(vc_get(c, "p.parquet", "", "", &v1) == 0 &&
		      v1->state == VC_READY && v1->gen == 1,
	      "checked view built");
	atomic_fetch_add(&f.version, 1); /* the source is replaced */
	CHECK(vc_peek(c, "p.parquet", "", "") == NULL,
	      "peek never gives out a view whose source changed");
	CHECK(vc_get(c, "p.parquet", "", "", &v2) == 0 && v2 != v1 &&
		      v2->gen == 2 && atomic_load(&f.builds) == 2,
	      "the next get builds it again");
	CHECK(count_of(c, "p.parquet", &retired) == 2 && retired == 1 &&
		      atomic_load(&f.freed) == 0,
	      "the old view is kept, retired, while it is held");
	CHECK(vc_view_read(v1, buf, sizeof(buf), 0) == 8,
	      "its holder still reads it");
	vc_put(v1);
	CHECK(atomic_load(&f.freed) == 1 && count_of(c, "p.parquet", NULL) == 1,
	      "freed at its last put");
	p = vc_peek(c, "p.parquet", "", "");
	CHECK(p == v2, "peek holds the current view");
	vc_put(p);
	vc_put(v2);
	CHECK(atomic_load(&f.freed) == 1,
	      "a current view is cached when nobody holds it");
	atomic_fetch_add(&f.version, 1);
	CHECK(vc_get(c, "p.parquet", "", "", &v1) == 0 && v1->gen == 3 &&
		      atomic_load(&f.freed) == 2 &&
		      count_of(c, "p.parquet", NULL) == 1,
	      "a replaced view nobody holds is freed at once");
	vc_put(v1);
	for (int i = 0; i < 50; i++) {
		atomic_fetch_add(&f.version, 1);
		if (vc_get(c, "p.parquet", "", "", &v1))
			break;
		vc_put(v1);
	}
	CHECK(count_of(c, "p.parquet", NULL) == 1 &&
		      atomic_load(&f.freed) == 52,
	      "50 replacements leave one view (freed %d)",
	      atomic_load(&f.freed));
	vc_free(c);
	CHECK(atomic_load(&f.freed) == 53, "vc_free frees the last");
}

/* A retired view's spill file goes with it. */
static void test_retired_spill_destroyed(void)
{
	struct fake f;
	struct vc *c = spill_cache(&f, 0, 5000);
	struct vc_view *v = NULL;

	f.checked = true;
	CHECK(vc_get(c, "s.parquet", "", "", &v) == 0 && v->state == VC_READY,
	      "built");
	vc_put(v);
	vc_spill_settle(c);
	CHECK(atomic_load(&ms.creates) == 1 && vc_mem(c, NULL) == 0,
	      "spilled (budget 0)");
	CHECK(view_intact(c, "s.parquet", 5000),
	      "reads back from its spill file");
	atomic_fetch_add(&f.version, 1);
	CHECK(vc_get(c, "s.parquet", "", "", &v) == 0 && v->gen == 1,
	      "a spilled view no longer reads the source: kept");
	vc_put(v);
	vc_free(c);
	CHECK(atomic_load(&ms.destroys) == atomic_load(&ms.creates),
	      "every spill file destroyed");
}

static void test_spill_bad_ops(void)
{
	struct fake f;
	struct vc *c = fake_cache(&f);
	struct vc_spill_ops half = { m_create, NULL, m_pread, m_destroy };

	CHECK(vc_set_spill(c, 10, &half, NULL) == -EINVAL,
	      "spill ops without pwrite are refused");
	CHECK(vc_set_spill(c, 10, &m_ops, NULL) == 0 &&
		      vc_set_spill(c, 10, &m_ops, NULL) == -EINVAL,
	      "spill is set once");
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
	test_eio_waits_then_retries();
	test_no_callbacks();
	test_content_from_buf();
	test_classification();
	test_parallel_keys();
	test_spill_lru();
	test_spill_everything();
	test_spill_create_fails();
	test_spill_write_fails();
	test_spill_short_file();
	test_spill_while_reading();
	test_waiters_shown();
	test_stream_big_source();
	test_stream_write_fails();
	test_stream_beside_running_builds();
	test_stream_sink_unused();
	test_spill_bad_ops();
	test_retired_freed();
	test_retired_spill_destroyed();
	return check_done();
}
