/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spot.h - helpers shared by every layer of spotfs: growable byte buffers,
 * a chunked arena for short-lived values, error messages and logging.
 *
 * This is the lowest layer: it depends on libc only. Every other module
 * includes it; nothing here knows about FUSE, Lua, YAML or a data format.
 *
 * Data is (pointer, length) throughout spotfs, never NUL-terminated, since
 * cells may contain NUL bytes. spot_buf keeps one spare byte and a NUL after
 * its contents so text built in a buffer can be printed, but callers must not
 * rely on it for data.
 */
#ifndef SPOT_H
#define SPOT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPOT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- growable buffer ---- */

struct spot_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

/* Initialise an empty buffer; allocation happens on first append. */
void spot_buf_init(struct spot_buf *b);
/* Free the contents; the buffer is left empty and may be reused. */
void spot_buf_fini(struct spot_buf *b);
/* Forget the contents but keep the allocation. */
void spot_buf_reset(struct spot_buf *b);
/* Make room for at least extra more bytes. 0 or -ENOMEM. */
int spot_buf_reserve(struct spot_buf *b, size_t extra);
/* Append n bytes. 0 or -ENOMEM. */
int spot_buf_append(struct spot_buf *b, const void *p, size_t n);
/* Append one byte. 0 or -ENOMEM. */
int spot_buf_putc(struct spot_buf *b, uint8_t c);
/* Append formatted text. 0 or -ENOMEM. */
int spot_buf_printf(struct spot_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Take ownership of the contents: *out gets the pointer (free with free()),
 * the buffer is left empty.
 */
uint8_t *spot_buf_steal(struct spot_buf *b, size_t *len);
/*
 * Append s as a JSON string: valid UTF-8 as is, quotes and backslashes
 * escaped, control bytes as \u00XX, bytes that are not UTF-8 as U+FFFD (so
 * any bytes give valid JSON). 0 or -ENOMEM.
 */
int spot_buf_json_str(struct spot_buf *b, const char *s);
/* s into out (len bytes, NUL-terminated, cut) with control bytes as '?':
 * names from data printed on a terminal or in a log line. */
void spot_printable(const char *s, char *out, size_t len);

/*
 * pread() until len bytes are read, end of file or an error, retrying on
 * EINTR: a short read (which a regular file may give) is not the end.
 * Bytes read (fewer only at the end of the file) or -errno.
 */
ssize_t spot_pread_full(int fd, void *buf, size_t len, off_t off);

/* ---- build progress ---- */

/*
 * What the build running on this thread has done so far, for `spotfs
 * status`: source bytes read and rows. Whoever starts a build points
 * spot_progress_cur at its counters; codecs add to them as they go (a
 * builder that hands work to other threads passes the pointer on). The
 * counters are read by other threads while the build runs: relaxed atomics.
 */
/*
 * A file the caller provides for random access (a view's spill file in
 * the store): SQLite builds the masked database in one through a VFS.
 * pwrite writes all of len bytes (0 or -errno); pread reads up to len
 * (bytes, short only at the end, or -errno); the size is the highest byte
 * written, or what truncate set.
 */
struct spot_rwfile {
	int (*pwrite)(void *arg, const void *p, size_t len, uint64_t off);
	ssize_t (*pread)(void *arg, void *buf, size_t len, uint64_t off);
	int (*truncate)(void *arg, uint64_t size);
	uint64_t (*size)(void *arg);
	void *arg;
};

struct spot_progress {
	uint64_t bytes;
	uint64_t rows;
	/* Set by the build's owner when the build must stop (the sandbox is
	 * ending): codecs check it between batches and fail with
	 * -ECANCELED. NULL: never stopped. */
	const bool *stop;
};

extern _Thread_local struct spot_progress *spot_progress_cur;

static inline void spot_progress_add(struct spot_progress *p, uint64_t bytes,
				     uint64_t rows)
{
	if (!p)
		return;
	__atomic_add_fetch(&p->bytes, bytes, __ATOMIC_RELAXED);
	__atomic_add_fetch(&p->rows, rows, __ATOMIC_RELAXED);
}

struct spot_err;

/* -ECANCELED (and err set) once the build p counts for must stop, else 0. */
int spot_progress_check(const struct spot_progress *p, struct spot_err *err);

/* ---- arena: many small allocations freed together ---- */

struct spot_arena_chunk;

struct spot_arena {
	struct spot_arena_chunk *head;	/* chunk being filled */
	struct spot_arena_chunk *spare; /* emptied chunks kept for reuse */
};

void spot_arena_init(struct spot_arena *a);
/* Free every chunk. */
void spot_arena_fini(struct spot_arena *a);
/* Release every allocation at once; chunks are kept for reuse. */
void spot_arena_reset(struct spot_arena *a);
/* n bytes aligned to 8, valid until the next reset/fini. NULL on ENOMEM. */
void *spot_arena_alloc(struct spot_arena *a, size_t n);
/* Copy (p, n) into the arena. NULL on ENOMEM. */
void *spot_arena_dup(struct spot_arena *a, const void *p, size_t n);

/* ---- errors ---- */

/*
 * A human-readable error for the user: "file:line:col: what went wrong".
 * Never put a row value in one: these reach the terminal and the logs.
 */
#define SPOT_ERR_MAX 512

struct spot_err {
	char msg[SPOT_ERR_MAX];
};

/* Set the message (replacing any earlier one). */
void spot_err_set(struct spot_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void spot_err_vset(struct spot_err *e, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Prefix the current message with formatted text (for adding context). */
void spot_err_prefix(struct spot_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- logging ---- */

enum spot_log_level {
	SPOT_LOG_ERR = 0,
	SPOT_LOG_WARN = 1,
	SPOT_LOG_INFO = 2,
	SPOT_LOG_DEBUG = 3,
};

/*
 * Log to stderr (or syslog once spot_log_use_syslog() is called), prefixed
 * with "spotfs: ". Messages at a level above the threshold are dropped.
 * Thread-safe. Never log a row value.
 */
void spot_log(enum spot_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void spot_log_set_level(enum spot_log_level level);
void spot_log_use_syslog(int on);
/*
 * stderr is a log file: every line starts with the time (UTC, ISO 8601,
 * milliseconds) and "spotfs[PID]: " instead of "spotfs: ".
 */
void spot_log_use_stamps(int on);
/* Whether a syslog daemon (or the journal) listens on path (a datagram
 * socket such as /dev/log). */
int spot_log_syslog_listens(const char *path);

/* ---- small parsing helpers ---- */

/*
 * Parse a duration such as "90s", "15m", "2h", "1d", "1h30m" or a bare number
 * of seconds. 0 or -EINVAL. Overflow past ~100 years is -ERANGE.
 */
int spot_parse_duration(const char *s, uint64_t *out_sec);
/* Format seconds as "1h02m03s" into buf. */
void spot_format_duration(uint64_t sec, char *buf, size_t len);

/* ---- calendar (proleptic Gregorian, days since 1970-01-01) ---- */

/* Days since the Unix epoch of y-m-d (m 1-12, d 1-31; any year). */
int64_t spot_days_from_civil(int64_t y, unsigned m, unsigned d);
/* The date of z days since the Unix epoch. */
void spot_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif /* SPOT_H */
