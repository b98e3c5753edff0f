/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ledger.c - the epsilon ledger (see ledger.h): which releases each role
 * was charged for, what each role and the whole ledger spent, in memory
 * or in a file shared by the sandboxes of one source and secret.
 *
 * The state is two open-addressing hash tables (charges by role and key,
 * totals by role) over strings in an arena. A persistent ledger rebuilds
 * that state from the file under flock on every call, so the file is the
 * only truth and several sandboxes (processes) can share it; a charge
 * holds LOCK_EX from the read to the fsync of its appended line.
 *
 * File format, one charge a line, appended with a single write():
 *
 *	v1 TAB role TAB key TAB eps TAB delta LF
 *
 * with eps and delta in nano units (decimal, no sign). Anything else,
 * including a last line without its LF (a write cut short by a crash or
 * a full disk), makes every call fail closed until a steward repairs the
 * file: nothing is ever decided on a partial read.
 */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LDG_NAME_MAX 1024	       /* bytes in a role or a key */
#define LDG_LINE_MAX 4096	       /* bytes in a line, LF included */
#define LDG_FILE_MAX ((off_t)64 << 20) /* bytes in a ledger file */
#define LDG_VERSION "v1"	       /* first field of every line */
#define LDG_NUM_MAX 20		       /* digits in a uint64 */
#define LDG_MIN_CAP 16		       /* initial hash table slots */
#define LDG_EMPTY UINT32_MAX	       /* free hash table slot */

/* One charge: key charged to roles[role]. */
struct ldg_ent {
	const char *key;
	uint32_t role;
	uint64_t hash;
};

/* What one role spent. */
struct ldg_role {
	const char *name;
	uint64_t hash;
	struct ledger_use use;
};

/* An open-addressing table of indexes into an array. */
struct ldg_map {
	uint32_t *slot; /* cap entries, LDG_EMPTY when free */
	size_t cap;	/* a power of two, or 0 */
};

struct ledger {
	uint64_t per_role, per_sandbox; /* read-only after open */
	char *path;			/* NULL: in memory; read-only */
	dev_t dev;			/* the file's identity at open */
	ino_t ino;

	pthread_mutex_t mu;
	/* Everything below is protected by mu. A persistent ledger rebuilds
	 * it from the file on every call. */
	struct spot_arena names;
	struct ldg_ent *ents;
	size_t nents, ents_cap;
	struct ldg_role *roles;
	size_t nroles, roles_cap;
	struct ldg_map ent_map, role_map;
	struct ledger_use total;
};

/* ---- the in-memory state ---- */

static uint64_t ldg_hash(const char *s, size_t n, uint64_t h)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ULL; /* FNV-1a */
	}
	return h;
}

#define LDG_HASH_SEED 0xcbf29ce484222325ULL

static uint64_t ldg_ent_hash(const char *role, size_t rlen, const char *key,
			     size_t klen)
{
	uint64_t h = ldg_hash(role, rlen, LDG_HASH_SEED);

	h = ldg_hash("\t", 1, h); /* a tab is in neither name */
	return ldg_hash(key, klen, h);
}

/* A valid role or key: 1 to LDG_NAME_MAX bytes, no NUL, TAB or LF. */
static bool ldg_name_ok(const char *s, size_t n)
{
	return s && n >= 1 && n <= LDG_NAME_MAX && !memchr(s, '\0', n) &&
	       !memchr(s, '\t', n) && !memchr(s, '\n', n);
}

static bool ldg_cname_ok(const char *s)
{
	return s && ldg_name_ok(s, strnlen(s, LDG_NAME_MAX + 1));
}

static void ldg_state_reset(struct ledger *l)
{
	spot_arena_reset(&l->names);
	l->nents = 0;
	l->nroles = 0;
	if (l->ent_map.cap)
		memset(l->ent_map.slot, 0xff,
		       l->ent_map.cap * sizeof(*l->ent_map.slot));
	if (l->role_map.cap)
		memset(l->role_map.slot, 0xff,
		       l->role_map.cap * sizeof(*l->role_map.slot));
	memset(&l->total, 0, sizeof(l->total));
}

static void ldg_state_fini(struct ledger *l)
{
	spot_arena_fini(&l->names);
	free(l->ents);
	free(l->roles);
	free(l->ent_map.slot);
	free(l->role_map.slot);
}

static bool ldg_ent_is(const struct ledger *l, uint32_t i, uint64_t h,
		       const char *role, size_t rlen, const char *key,
		       size_t klen)
{
	const struct ldg_ent *e = &l->ents[i];
	const char *rn = l->roles[e->role].name;

	return e->hash == h && strlen(rn) == rlen && !memcmp(rn, role, rlen) &&
	       strlen(e->key) == klen && !memcmp(e->key, key, klen);
}

/* The index of (role, key), or LDG_EMPTY. */
static uint32_t ldg_ent_find(const struct ledger *l, const char *role,
			     size_t rlen, const char *key, size_t klen)
{
	uint64_t h = ldg_ent_hash(role, rlen, key, klen);
	size_t m = l->ent_map.cap - 1, i;

	if (!l->ent_map.cap)
		return LDG_EMPTY;
	for (i = h & m; l->ent_map.slot[i] != LDG_EMPTY; i = (i + 1) & m)
		if (ldg_ent_is(l, l->ent_map.slot[i], h, role, rlen, key, klen))
			return l->ent_map.slot[i];
	return LDG_EMPTY;
}

static uint32_t ldg_role_find(const struct ledger *l, const char *role,
			      size_t rlen)
{
	uint64_t h = ldg_hash(role, rlen, LDG_HASH_SEED);
	size_t m = l->role_map.cap - 1, i;
	const struct ldg_role *r;

	if (!l->role_map.cap)
		return LDG_EMPTY;
	for (i = h & m; l->role_map.slot[i] != LDG_EMPTY; i = (i + 1) & m) {
		r = &l->roles[l->role_map.slot[i]];
		if (r->hash == h && strlen(r->name) == rlen &&
		    !memcmp(r->name, role, rlen))
			return l->role_map.slot[i];
	}
	return LDG_EMPTY;
}

/* Room for n entries in map (load at most 1/2), rehashing with the hash
 * of each index given by hash_of. 0 or -ENOMEM. */
static int ldg_map_grow(struct ldg_map *map, size_t n,
			uint64_t (*hash_of)(const struct ledger *, uint32_t),
			const struct ledger *l)
{
	size_t cap = map->cap ? map->cap : LDG_MIN_CAP, i, j;
	uint32_t *slot;

	if (n >= UINT32_MAX / 2)
		return -ENOMEM;
	while (cap / 2 <= n)
		cap *= 2;
	if (cap == map->cap)
		return 0;
	slot = malloc(cap * sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	memset(slot, 0xff, cap * sizeof(*slot));
	for (i = 0; i < map->cap; i++) {
		if (map->slot[i] == LDG_EMPTY)
			continue;
		j = hash_of(l, map->slot[i]) & (cap - 1);
		while (slot[j] != LDG_EMPTY)
			j = (j + 1) & (cap - 1);
		slot[j] = map->slot[i];
	}
	free(map->slot);
	map->slot = slot;
	map->cap = cap;
	return 0;
}

static uint64_t ldg_ent_hash_of(const struct ledger *l, uint32_t i)
{
	return l->ents[i].hash;
}

static uint64_t ldg_role_hash_of(const struct ledger *l, uint32_t i)
{
	return l->roles[i].hash;
}

static void ldg_map_put(struct ldg_map *map, uint64_t h, uint32_t idx)
{
	size_t m = map->cap - 1, i;

	for (i = h & m; map->slot[i] != LDG_EMPTY; i = (i + 1) & m)
		;
	map->slot[i] = idx;
}

static int ldg_grow_array(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : LDG_MIN_CAP;
	void *p;

	if (n < *cap)
		return 0;
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* The index of role, added with nothing spent if new. 0 or -ENOMEM. */
static int ldg_role_get(struct ledger *l, const char *role, size_t rlen,
			uint32_t *out)
{
	uint32_t i = ldg_role_find(l, role, rlen);
	struct ldg_role *r;
	char *name;
	int rc;

	if (i != LDG_EMPTY) {
		*out = i;
		return 0;
	}
	rc = ldg_grow_array((void **)&l->roles, &l->roles_cap, l->nroles,
			    sizeof(*l->roles));
	if (!rc)
		rc = ldg_map_grow(&l->role_map, l->nroles + 1, ldg_role_hash_of,
				  l);
	if (rc)
		return rc;
	name = spot_arena_alloc(&l->names, rlen + 1);
	if (!name)
		return -ENOMEM;
	memcpy(name, role, rlen);
	name[rlen] = '\0';
	r = &l->roles[l->nroles];
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->hash = ldg_hash(role, rlen, LDG_HASH_SEED);
	ldg_map_put(&l->role_map, r->hash, (uint32_t)l->nroles);
	*out = (uint32_t)l->nroles++;
	return 0;
}

/* a += b, or false (a unchanged) on overflow. */
static bool ldg_add(uint64_t *a, uint64_t b)
{
	if (*a > UINT64_MAX - b)
		return false;
	*a += b;
	return true;
}

/*
 * Whether charging (eps, delta) to role r (NULL: a new role) fits: no sum
 * overflows and no budget is passed. Budgets bound epsilon only.
 */
static bool ldg_fits(const struct ledger *l, const struct ldg_role *r,
		     uint64_t eps, uint64_t delta)
{
	uint64_t re = r ? r->use.eps : 0, rd = r ? r->use.delta : 0;
	uint64_t te = l->total.eps, td = l->total.delta;

	if (!ldg_add(&re, eps) || !ldg_add(&rd, delta) || !ldg_add(&te, eps) ||
	    !ldg_add(&td, delta))
		return false;
	if (l->per_role && re > l->per_role)
		return false;
	if (l->per_sandbox && te > l->per_sandbox)
		return false;
	return true;
}

/*
 * Record a charge (the caller checked it is new and fits, or it comes
 * from the file). A key charged twice to a role in the file (written by
 * hand) counts twice: over-counting is the safe side. 0, -ENOMEM, or
 * -EOVERFLOW when a sum would overflow (nothing recorded).
 */
static int ldg_record(struct ledger *l, const char *role, size_t rlen,
		      const char *key, size_t klen, uint64_t eps,
		      uint64_t delta)
{
	struct ldg_use_sum {
		uint64_t re, rd, te, td;
	} s;
	struct ldg_ent *e;
	struct ldg_role *r;
	uint32_t ri;
	char *k;
	int rc;

	rc = ldg_role_get(l, role, rlen, &ri);
	if (rc)
		return rc;
	r = &l->roles[ri];
	s.re = r->use.eps;
	s.rd = r->use.delta;
	s.te = l->total.eps;
	s.td = l->total.delta;
	if (!ldg_add(&s.re, eps) || !ldg_add(&s.rd, delta) ||
	    !ldg_add(&s.te, eps) || !ldg_add(&s.td, delta))
		return -EOVERFLOW;
	rc = ldg_grow_array((void **)&l->ents, &l->ents_cap, l->nents,
			    sizeof(*l->ents));
	if (!rc)
		rc = ldg_map_grow(&l->ent_map, l->nents + 1, ldg_ent_hash_of,
				  l);
	if (rc)
		return rc;
	k = spot_arena_alloc(&l->names, klen + 1);
	if (!k)
		return -ENOMEM;
	memcpy(k, key, klen);
	k[klen] = '\0';
	e = &l->ents[l->nents];
	e->key = k;
	e->role = ri;
	e->hash = ldg_ent_hash(role, rlen, key, klen);
	ldg_map_put(&l->ent_map, e->hash, (uint32_t)l->nents);
	l->nents++;
	r->use.eps = s.re;
	r->use.delta = s.rd;
	r->use.releases++;
	l->total.eps = s.te;
	l->total.delta = s.td;
	l->total.releases++;
	return 0;
}

/* ---- the file ---- */

/* A strict decimal uint64: 1 to 20 digits, no sign, no overflow. */
static bool ldg_parse_num(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n < 1 || n > LDG_NUM_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* Parse one line (without its LF) into the state. 0, -ENOMEM, or -EINVAL
 * with why set to what is wrong (never the line's text). */
static int ldg_parse_line(struct ledger *l, const char *p, size_t n,
			  const char **why)
{
	const char *f[5];
	size_t fl[5], k = 0, i, start = 0;
	uint64_t eps, delta;
	int rc;

	for (i = 0; i <= n && k < 5; i++) {
		if (i < n && p[i] != '\t')
			continue;
		f[k] = p + start;
		fl[k++] = i - start;
		start = i + 1;
	}
	if (k != 5 || i <= n) {
		*why = "not 5 tab-separated fields";
		return -EINVAL;
	}
	if (fl[0] != strlen(LDG_VERSION) || memcmp(f[0], LDG_VERSION, fl[0])) {
		*why = "unknown version (not v1)";
		return -EINVAL;
	}
	if (!ldg_name_ok(f[1], fl[1]) || !ldg_name_ok(f[2], fl[2])) {
		*why = "empty, too long or binary role or key";
		return -EINVAL;
	}
	if (!ldg_parse_num(f[3], fl[3], &eps) ||
	    !ldg_parse_num(f[4], fl[4], &delta)) {
		*why = "epsilon or delta is not a decimal number of nano units";
		return -EINVAL;
	}
	rc = ldg_record(l, f[1], fl[1], f[2], fl[2], eps, delta);
	if (rc == -EOVERFLOW) {
		*why = "the totals overflow";
		return -EINVAL;
	}
	return rc;
}

/* Rebuild the state from the whole of fd (locked by the caller). */
static int ldg_load(struct ledger *l, int fd, off_t *size, struct spot_err *err)
{
	struct spot_buf b;
	const char *p, *nl, *why = NULL;
	size_t off = 0, lineno = 0;
	ssize_t r;
	int rc = 0;

	ldg_state_reset(l);
	spot_buf_init(&b);
	for (;;) {
		if (b.len > (size_t)LDG_FILE_MAX) {
			spot_err_set(err,
				     "ledger %s: larger than %d MiB: refusing "
				     "to read it (a steward must archive it)",
				     l->path, (int)(LDG_FILE_MAX >> 20));
			rc = -EIO;
			goto out;
		}
		if (spot_buf_reserve(&b, 65536)) {
			rc = -ENOMEM;
			goto nomem;
		}
		r = pread(fd, b.p + b.len, b.cap - b.len - 1, (off_t)b.len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			spot_err_set(err, "ledger %s: read: %s", l->path,
				     strerror(errno));
			rc = -EIO;
			goto out;
		}
		if (!r)
			break;
		b.len += (size_t)r;
	}
	while (off < b.len) {
		lineno++;
		p = (const char *)b.p + off;
		nl = memchr(p, '\n', b.len - off);
		if (!nl) {
			spot_err_set(err,
				     "ledger %s: line %zu has no end of line: "
				     "a charge cut short by a crash or a full "
				     "disk (spotfs grants a charge only once "
				     "its whole line is on disk); every charge "
				     "is refused until a steward deletes that "
				     "incomplete last line",
				     l->path, lineno);
			rc = -EIO;
			goto out;
		}
		if ((size_t)(nl - p) + 1 > LDG_LINE_MAX) {
			why = "longer than 4096 bytes";
		} else {
			rc = ldg_parse_line(l, p, (size_t)(nl - p), &why);
			if (rc == -ENOMEM)
				goto nomem;
		}
		if (why) {
			spot_err_set(err,
				     "ledger %s: line %zu: %s; every charge "
				     "is refused until a steward repairs the "
				     "file",
				     l->path, lineno, why);
			rc = -EIO;
			goto out;
		}
		off += (size_t)(nl - p) + 1;
	}
	*size = (off_t)b.len;
	goto out;
nomem:
	spot_err_set(err, "ledger %s: out of memory reading it", l->path);
	rc = -EIO;
out:
	spot_buf_fini(&b);
	if (rc)
		ldg_state_reset(l); /* never decide on a partial read */
	return rc;
}

/* fd is a regular file owned by us, with no group or other access. */
static int ldg_check_fd(const struct ledger *l, int fd, struct stat *st,
			struct spot_err *err)
{
	if (fstat(fd, st)) {
		spot_err_set(err, "ledger %s: stat: %s", l->path,
			     strerror(errno));
		return -EIO;
	}
	if (!S_ISREG(st->st_mode)) {
		spot_err_set(err, "ledger %s: not a regular file", l->path);
		return -EIO;
	}
	if (st->st_uid != geteuid()) {
		spot_err_set(err,
			     "ledger %s: owned by uid %u, not by the daemon's "
			     "user (uid %u)",
			     l->path, (unsigned)st->st_uid,
			     (unsigned)geteuid());
		return -EIO;
	}
	if (st->st_mode & (S_IRWXG | S_IRWXO)) {
		spot_err_set(err,
			     "ledger %s: mode %04o gives access to group or "
			     "others (chmod 600 it)",
			     l->path, (unsigned)(st->st_mode & 07777));
		return -EIO;
	}
	return 0;
}

static void ldg_unlock_close(int fd)
{
	if (fd < 0)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}

/*
 * Open the ledger's file, lock it (LOCK_SH or LOCK_EX), check it is still
 * the file opened at ledger_open (not replaced or removed: two sandboxes
 * would then lock different files) and rebuild the state from it. The
 * file is opened afresh by every call, so a forked child never shares a
 * lock with its parent. The locked fd, or -EIO.
 */
static int ldg_file_begin(struct ledger *l, int lock, off_t *size,
			  struct spot_err *err)
{
	struct stat st, pst;
	int fd, rc;

	fd = open(l->path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		spot_err_set(err, "ledger %s: %s", l->path, strerror(errno));
		return -EIO;
	}
	while ((rc = flock(fd, lock)) && errno == EINTR)
		;
	if (rc) {
		spot_err_set(err, "ledger %s: flock: %s", l->path,
			     strerror(errno));
		goto fail;
	}
	if (ldg_check_fd(l, fd, &st, err))
		goto fail;
	if (st.st_size > LDG_FILE_MAX) {
		spot_err_set(err,
			     "ledger %s: larger than %d MiB: refusing to read "
			     "it (a steward must archive it)",
			     l->path, (int)(LDG_FILE_MAX >> 20));
		goto fail;
	}
	if (lstat(l->path, &pst) || pst.st_dev != st.st_dev ||
	    pst.st_ino != st.st_ino || st.st_dev != l->dev ||
	    st.st_ino != l->ino || st.st_nlink < 1) {
		spot_err_set(err,
			     "ledger %s: replaced or removed since the sandbox "
			     "started; restart the sandbox",
			     l->path);
		goto fail;
	}
	if (ldg_load(l, fd, size, err))
		goto fail;
	return fd;
fail:
	ldg_unlock_close(fd);
	return -EIO;
}

/* Append one charge line with a single write() and fsync it. On failure
 * the file is cut back to size, so it never keeps a partial line. */
static int ldg_file_append(struct ledger *l, int fd, off_t size,
			   const char *role, const char *key, uint64_t eps,
			   uint64_t delta, struct spot_err *err)
{
	char line[LDG_LINE_MAX];
	int n, saverr;
	ssize_t w;

	n = snprintf(line, sizeof(line),
		     "%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\n", LDG_VERSION,
		     role, key, eps, delta);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    size > LDG_FILE_MAX - (off_t)n) {
		spot_err_set(err, "ledger %s: full (%d MiB)", l->path,
			     (int)(LDG_FILE_MAX >> 20));
		return -EIO;
	}
	do
		w = write(fd, line, (size_t)n);
	while (w < 0 && errno == EINTR);
	saverr = w < 0 ? errno : ENOSPC;
	if (w == n) {
		if (!fsync(fd))
			return 0;
		saverr = errno;
	}
	/* Not durably written: drop whatever reached the file, so the charge
	 * is neither granted nor half-recorded. If even that fails, the file
	 * is left with a partial line and every later call fails closed. */
	if (ftruncate(fd, size) == 0)
		fsync(fd);
	spot_err_set(err, "ledger %s: write: %s", l->path, strerror(saverr));
	return -EIO;
}

/* Make the file's name durable: a ledger lost in a crash would give
 * every budget back. Filesystems that cannot sync a folder are let be. */
static int ldg_sync_dir(const struct ledger *l, struct spot_err *err)
{
	const char *slash = strrchr(l->path, '/');
	char *dir;
	int fd, rc = 0;

	if (slash == l->path)
		dir = strdup("/");
	else if (slash)
		dir = strndup(l->path, (size_t)(slash - l->path));
	else
		dir = strdup(".");
	if (!dir) {
		spot_err_set(err, "ledger: out of memory");
		return -EIO;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && fsync(fd) && errno == EIO) {
		spot_err_set(err, "ledger %s: cannot sync its folder: %s",
			     l->path, strerror(errno));
		rc = -EIO;
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* ---- the API ---- */

int ledger_open(const struct ledger_opts *o, struct ledger **out,
		struct spot_err *err)
{
	struct ledger *l;
	struct stat st;
	off_t size;
	int fd = -1;

	l = calloc(1, sizeof(*l));
	if (!l) {
		spot_err_set(err, "ledger: out of memory");
		return -ENOMEM;
	}
	l->per_role = o->per_role;
	l->per_sandbox = o->per_sandbox;
	spot_arena_init(&l->names);
	if (pthread_mutex_init(&l->mu, NULL)) {
		spot_arena_fini(&l->names);
		free(l);
		spot_err_set(err, "ledger: cannot create a mutex");
		return -ENOMEM;
	}
	if (!o->path) {
		*out = l;
		return 0;
	}
	l->path = strdup(o->path);
	if (!l->path) {
		spot_err_set(err, "ledger: out of memory");
		ledger_free(l);
		return -ENOMEM;
	}
	fd = open(l->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		spot_err_set(err, "ledger %s: %s", l->path, strerror(errno));
		goto fail;
	}
	if (ldg_check_fd(l, fd, &st, err))
		goto fail;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	close(fd);
	if (ldg_sync_dir(l, err)) {
		fd = -1;
		goto fail;
	}
	fd = ldg_file_begin(l, LOCK_SH, &size, err);
	if (fd < 0)
		goto fail;
	ldg_unlock_close(fd);
	*out = l;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	ledger_free(l);
	return -EIO;
}

void ledger_free(struct ledger *l)
{
	if (!l)
		return;
	ldg_state_fini(l);
	pthread_mutex_destroy(&l->mu);
	free(l->path);
	free(l);
}

int ledger_charge(struct ledger *l, const char *role, const char *key,
		  uint64_t eps, uint64_t delta, bool *fresh,
		  struct spot_err *err)
{
	size_t rlen, klen;
	uint32_t ri;
	off_t size = 0;
	int fd = -1, rc;

	if (!ldg_cname_ok(role) || !ldg_cname_ok(key)) {
		spot_err_set(err, "ledger: empty, too long or binary role or "
				  "release name");
		return -EINVAL;
	}
	rlen = strlen(role);
	klen = strlen(key);
	pthread_mutex_lock(&l->mu);
	if (l->path) {
		fd = ldg_file_begin(l, LOCK_EX, &size, err);
		if (fd < 0) {
			rc = -EIO;
			goto out;
		}
	}
	if (ldg_ent_find(l, role, rlen, key, klen) != LDG_EMPTY) {
		*fresh = false;
		rc = 0;
		goto out;
	}
	ri = ldg_role_find(l, role, rlen);
	if (!ldg_fits(l, ri == LDG_EMPTY ? NULL : &l->roles[ri], eps, delta)) {
		spot_err_set(err,
			     "ledger: the budget of role %s or of the "
			     "sandbox would be passed",
			     role);
		rc = -EDQUOT;
		goto out;
	}
	if (fd >= 0) {
		rc = ldg_file_append(l, fd, size, role, key, eps, delta, err);
		if (rc)
			goto out;
	}
	rc = ldg_record(l, role, rlen, key, klen, eps, delta);
	if (rc && fd < 0) {
		spot_err_set(err, "ledger: out of memory");
		goto out;
	}
	/* A file's line is written: the charge stands even if the state
	 * (rebuilt from the file by the next call) could not record it. */
	rc = 0;
	*fresh = true;
out:
	ldg_unlock_close(fd);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

bool ledger_charged(struct ledger *l, const char *role, const char *key)
{
	struct spot_err err;
	off_t size;
	bool found = false;
	int fd = -1;

	if (!ldg_cname_ok(role) || !ldg_cname_ok(key))
		return false;
	pthread_mutex_lock(&l->mu);
	if (l->path) {
		fd = ldg_file_begin(l, LOCK_SH, &size, &err);
		if (fd < 0) {
			spot_log(SPOT_LOG_ERR, "%s", err.msg);
			goto out;
		}
	}
	found = ldg_ent_find(l, role, strlen(role), key, strlen(key)) !=
		LDG_EMPTY;
out:
	ldg_unlock_close(fd);
	pthread_mutex_unlock(&l->mu);
	return found;
}

int ledger_spent(struct ledger *l, const char *role, struct ledger_use *u)
{
	struct spot_err err;
	off_t size;
	uint32_t ri;
	int fd = -1, rc = 0;

	if (role && !ldg_cname_ok(role))
		return -EINVAL;
	pthread_mutex_lock(&l->mu);
	if (l->path) {
		fd = ldg_file_begin(l, LOCK_SH, &size, &err);
		if (fd < 0) {
			spot_log(SPOT_LOG_ERR, "%s", err.msg);
			rc = -EIO;
			goto out;
		}
	}
	if (!role) {
		*u = l->total;
	} else {
		ri = ldg_role_find(l, role, strlen(role));
		if (ri == LDG_EMPTY)
			memset(u, 0, sizeof(*u));
		else
			*u = l->roles[ri].use;
	}
out:
	ldg_unlock_close(fd);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

void ledger_budget(const struct ledger *l, uint64_t *per_role,
		   uint64_t *per_sandbox)
{
	*per_role = l->per_role;
	*per_sandbox = l->per_sandbox;
}
