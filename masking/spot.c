/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spot.c - buffers, arena, errors and logging shared by all layers.
 */
#include "spot.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

_Thread_local struct spot_progress *spot_progress_cur;

int spot_progress_check(const struct spot_progress *p, struct spot_err *err)
{
	if (!p || !p->stop || !__atomic_load_n(p->stop, __ATOMIC_RELAXED))
		return 0;
	spot_err_set(err, "the sandbox is ending");
	return -ECANCELED;
}

/* ---- growable buffer ---- */

void spot_buf_init(struct spot_buf *b)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

void spot_buf_fini(struct spot_buf *b)
{
	free(b->p);
	spot_buf_init(b);
}

void spot_buf_reset(struct spot_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = 0;
}

/* Buffers this large are views in the making: back them by huge pages. */
#define SPOT_BUF_HUGE ((size_t)4 << 20)

/*
 * Ask for transparent huge pages over a large buffer. A 4 KiB page fault
 * costs several microseconds on a virtual machine, so filling a 100 MB view
 * took longer than masking it (issue 12); with THP in "madvise" mode
 * (Debian's default) one fault maps 2 MiB. The advice covers whole pages
 * from the page holding the first byte: a large buffer is a mapping of its
 * own, and advising all of it keeps it one mapping that realloc can still
 * grow with mremap (advising only its middle would split it, and glibc
 * would copy instead). Advice only: without THP nothing changes.
 */
static void spot_buf_advise(uint8_t *p, size_t cap)
{
	static uintptr_t page;
	uintptr_t lo, hi;

	if (!page) {
		long ps = sysconf(_SC_PAGESIZE);

		page = ps > 0 ? (uintptr_t)ps : 4096;
	}
	lo = (uintptr_t)p & ~(page - 1);
	hi = ((uintptr_t)p + cap + page - 1) & ~(page - 1);
	(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

int spot_buf_reserve(struct spot_buf *b, size_t extra)
{
	size_t need, ncap;
	uint8_t *np;

	/* One spare byte keeps the contents NUL-terminated for printing. */
	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	np = realloc(b->p, ncap);
	if (!np)
		return -ENOMEM;
	if (ncap >= SPOT_BUF_HUGE)
		spot_buf_advise(np, ncap);
	b->p = np;
	b->cap = ncap;
	return 0;
}

int spot_buf_append(struct spot_buf *b, const void *p, size_t n)
{
	int rc = spot_buf_reserve(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

int spot_buf_putc(struct spot_buf *b, uint8_t c)
{
	if (b->len + 1 >= b->cap) {
		int rc = spot_buf_reserve(b, 1);

		if (rc)
			return rc;
	}
	b->p[b->len++] = c;
	b->p[b->len] = 0;
	return 0;
}

int spot_buf_printf(struct spot_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	rc = spot_buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

uint8_t *spot_buf_steal(struct spot_buf *b, size_t *len)
{
	uint8_t *p = b->p;

	if (len)
		*len = b->len;
	spot_buf_init(b);
	return p;
}

/* Bytes of the valid UTF-8 sequence at p (1-4), or 0. */
static size_t spot_utf8_len(const unsigned char *p)
{
	size_t n = p[0] >= 0xf0 && p[0] <= 0xf4	  ? 4
		   : p[0] >= 0xe0		  ? 3
		   : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
						  : 0;
	uint32_t cp;

	if (!n || p[0] >= 0xf5)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	cp = n == 2   ? (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f)
	     : n == 3 ? (uint32_t)(p[0] & 0x0f) << 12 |
				(uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f)
		      : (uint32_t)(p[0] & 0x07) << 18 |
				(uint32_t)(p[1] & 0x3f) << 12 |
				(uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

int spot_buf_json_str(struct spot_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc = spot_buf_putc(b, '"');

	while (!rc && p && *p) {
		size_t n = *p >= 0x80 ? spot_utf8_len(p) : 0;

		if (n) { /* valid UTF-8: as is */
			rc = spot_buf_append(b, p, n);
			p += n;
			continue;
		}
		if (*p == '"' || *p == '\\')
			rc = spot_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			rc = spot_buf_printf(b, "\\u%04x", *p);
		else if (*p >= 0x80) /* not UTF-8: the replacement character */
			rc = spot_buf_printf(b, "\\ufffd");
		else
			rc = spot_buf_putc(b, *p);
		p++;
	}
	return rc ? rc : spot_buf_putc(b, '"');
}

void spot_printable(const char *s, char *out, size_t len)
{
	size_t k = 0;

	for (const unsigned char *p = (const unsigned char *)s;
	     p && *p && k + 1 < len; p++)
		out[k++] = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
	if (len)
		out[k] = 0;
}

/* ---- arena ---- */

#define SPOT_ARENA_CHUNK (64 * 1024)

struct spot_arena_chunk {
	struct spot_arena_chunk *next;
	size_t used;
	size_t cap;
	_Alignas(16) uint8_t data[];
};

void spot_arena_init(struct spot_arena *a)
{
	a->head = NULL;
	a->spare = NULL;
}

static void spot_chunks_free(struct spot_arena_chunk *c)
{
	while (c) {
		struct spot_arena_chunk *next = c->next;

		free(c);
		c = next;
	}
}

void spot_arena_fini(struct spot_arena *a)
{
	spot_chunks_free(a->head);
	spot_chunks_free(a->spare);
	spot_arena_init(a);
}

void spot_arena_reset(struct spot_arena *a)
{
	struct spot_arena_chunk *c = a->head;

	while (c) {
		struct spot_arena_chunk *next = c->next;

		if (c->cap == SPOT_ARENA_CHUNK) {
			c->used = 0;
			c->next = a->spare;
			a->spare = c;
		} else {
			free(c); /* oversized one-off chunk */
		}
		c = next;
	}
	a->head = NULL;
}

void *spot_arena_alloc(struct spot_arena *a, size_t n)
{
	struct spot_arena_chunk *c = a->head;
	size_t need = (n + 7) & ~(size_t)7;
	size_t cap;

	if (n > SIZE_MAX - 64)
		return NULL;
	if (c && c->cap - c->used >= need) {
		void *p = c->data + c->used;

		c->used += need;
		return p;
	}
	if (need <= SPOT_ARENA_CHUNK && a->spare) {
		c = a->spare;
		a->spare = c->next;
	} else {
		cap = need > SPOT_ARENA_CHUNK ? need : SPOT_ARENA_CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->cap = cap;
	}
	c->used = need;
	c->next = a->head;
	a->head = c;
	return c->data;
}

void *spot_arena_dup(struct spot_arena *a, const void *p, size_t n)
{
	void *d = spot_arena_alloc(a, n ? n : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

/* ---- errors ---- */

void spot_err_vset(struct spot_err *e, const char *fmt, va_list ap)
{
	if (!e)
		return;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

void spot_err_set(struct spot_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spot_err_vset(e, fmt, ap);
	va_end(ap);
}

void spot_err_prefix(struct spot_err *e, const char *fmt, ...)
{
	char old[SPOT_ERR_MAX];
	size_t n, olen;
	va_list ap;
	int w;

	if (!e)
		return;
	memcpy(old, e->msg, sizeof(old));
	old[sizeof(old) - 1] = 0;
	va_start(ap, fmt);
	w = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = w < 0 ? 0 : (size_t)w;
	if (n >= sizeof(e->msg) - 1)
		return;
	olen = strlen(old);
	if (olen > sizeof(e->msg) - 1 - n)
		olen = sizeof(e->msg) - 1 - n;
	memcpy(e->msg + n, old, olen);
	e->msg[n + olen] = 0;
}

/* ---- logging ---- */

static enum spot_log_level spot_log_level_max = SPOT_LOG_INFO;
static int spot_log_syslog;
static pthread_mutex_t spot_log_lock = PTHREAD_MUTEX_INITIALIZER;

void spot_log_set_level(enum spot_log_level level)
{
	spot_log_level_max = level;
}

void spot_log_use_syslog(int on)
{
	spot_log_syslog = on;
	if (on)
		openlog("spotfs", LOG_PID, LOG_DAEMON);
}

static int spot_log_stamps;

void spot_log_use_stamps(int on)
{
	spot_log_stamps = on;
}

int spot_log_syslog_listens(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, ok;

	if (strlen(path) >= sizeof(a.sun_path))
		return 0;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = !connect(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return ok;
}

void spot_log(enum spot_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	va_list ap;

	if (level > spot_log_level_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (spot_log_syslog) {
		syslog(prio[level], "%s", msg);
		return;
	}
	pthread_mutex_lock(&spot_log_lock);
	if (spot_log_stamps) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ spotfs[%d]: %s: %s\n", when,
			ts.tv_nsec / 1000000, (int)getpid(), names[level], msg);
	} else {
		fprintf(stderr, "spotfs: %s: %s\n", names[level], msg);
	}
	pthread_mutex_unlock(&spot_log_lock);
}

/* ---- durations ---- */

#define SPOT_DURATION_MAX (100ULL * 365 * 24 * 3600)

int spot_parse_duration(const char *s, uint64_t *out_sec)
{
	uint64_t total = 0;
	int any = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		uint64_t n = 0, mult;
		int digits = 0;

		while (isdigit((unsigned char)*s)) {
			if (n > SPOT_DURATION_MAX)
				return -ERANGE;
			n = n * 10 + (uint64_t)(*s - '0');
			s++;
			digits++;
		}
		if (!digits)
			return -EINVAL;
		switch (*s) {
		case 's':
			mult = 1;
			s++;
			break;
		case 'm':
			mult = 60;
			s++;
			break;
		case 'h':
			mult = 3600;
			s++;
			break;
		case 'd':
			mult = 86400;
			s++;
			break;
		case '\0':
			if (any)
				return -EINVAL; /* "1h30" is ambiguous */
			mult = 1;
			break;
		default:
			return -EINVAL;
		}
		if (n > SPOT_DURATION_MAX / mult)
			return -ERANGE;
		total += n * mult;
		if (total > SPOT_DURATION_MAX)
			return -ERANGE;
		any = 1;
	}
	*out_sec = total;
	return 0;
}

void spot_format_duration(uint64_t sec, char *buf, size_t len)
{
	uint64_t d = sec / 86400, h = sec % 86400 / 3600, m = sec % 3600 / 60,
		 s = sec % 60;

	if (d)
		snprintf(buf, len, "%llud%02lluh%02llum%02llus",
			 (unsigned long long)d, (unsigned long long)h,
			 (unsigned long long)m, (unsigned long long)s);
	else if (h)
		snprintf(buf, len, "%lluh%02llum%02llus", (unsigned long long)h,
			 (unsigned long long)m, (unsigned long long)s);
	else if (m)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)m,
			 (unsigned long long)s);
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
}

/* ---- calendar ---- */

int64_t spot_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void spot_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

ssize_t spot_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got,
				  off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}
