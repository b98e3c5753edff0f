/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fault_wrap.c - the link-time wrappers of a fault build (see fault.h):
 * the spotfs binary is linked with -Wl,--wrap=SYMBOL for each function
 * below (meson.build, fault_link_args), so its own calls come here and
 * the real function is __real_SYMBOL. Nothing else references this file:
 * a program linked without those flags never pulls it in (the unit tests
 * that wrap malloc themselves, alloc_fail.h, keep theirs).
 *
 * Unarmed, each wrapper costs one relaxed atomic load. Armed I/O points
 * classify the descriptor by its path (/proc/self/fd), so only files in
 * the source folder or the store are hit, never sockets, logs or pipes.
 * With _FILE_OFFSET_BITS=64 the offset calls are the *64 symbols.
 */
#include "fault_i.h"

#ifdef SPOT_FAULT_INJECTION

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__real_sodium_malloc(size_t n);
void *__real_sodium_allocarray(size_t count, size_t size);
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_pread64(int fd, void *buf, size_t n, off_t off);
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __real_pwrite64(int fd, const void *buf, size_t n, off_t off);
int __real_fallocate64(int fd, int mode, off_t off, off_t len);
int __real_ftruncate64(int fd, off_t len);
int __real_fsync(int fd);
int __real_fdatasync(int fd);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
void *__wrap_sodium_malloc(size_t n);
void *__wrap_sodium_allocarray(size_t count, size_t size);
ssize_t __wrap_read(int fd, void *buf, size_t n);
ssize_t __wrap_pread64(int fd, void *buf, size_t n, off_t off);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_pwrite64(int fd, const void *buf, size_t n, off_t off);
int __wrap_fallocate64(int fd, int mode, off_t off, off_t len);
int __wrap_ftruncate64(int fd, off_t len);
int __wrap_fsync(int fd);
int __wrap_fdatasync(int fd);

/* ---- allocation ---- */

static bool flt_nomem(enum flt_point p)
{
	if (!flt_fire(p))
		return false;
	errno = ENOMEM;
	return true;
}

void *__wrap_malloc(size_t n)
{
	return flt_nomem(FLT_ALLOC) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return flt_nomem(FLT_ALLOC) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	/* realloc(p, 0) frees: not an allocation that can fail. */
	return n && flt_nomem(FLT_ALLOC) ? NULL : __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
	return flt_nomem(FLT_ALLOC) ? NULL : __real_aligned_alloc(align, n);
}

char *__wrap_strdup(const char *s)
{
	return flt_nomem(FLT_ALLOC) ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return flt_nomem(FLT_ALLOC) ? NULL : __real_strndup(s, n);
}

void *__wrap_sodium_malloc(size_t n)
{
	return flt_nomem(FLT_ALLOC_SODIUM) ? NULL : __real_sodium_malloc(n);
}

void *__wrap_sodium_allocarray(size_t count, size_t size)
{
	return flt_nomem(FLT_ALLOC_SODIUM)
		       ? NULL
		       : __real_sodium_allocarray(count, size);
}

/* ---- I/O ---- */

#define FLT_READ_POINTS                                                        \
	(FLT_BIT(FLT_SRC_READ_SHORT) | FLT_BIT(FLT_SRC_READ_EIO) |             \
	 FLT_BIT(FLT_STORE_READ_EIO))
#define FLT_WRITE_POINTS                                                       \
	(FLT_BIT(FLT_STORE_WRITE_EIO) | FLT_BIT(FLT_STORE_WRITE_ENOSPC))

/*
 * Whether a read of n bytes from fd fails (-1, errno set) or is cut short
 * (*n lowered); false lets it through as asked.
 */
static bool flt_read_fails(int fd, size_t *n)
{
	enum flt_dir d;

	if (!flt_any(FLT_READ_POINTS))
		return false;
	d = flt_fd_dir(fd);
	if (d == FLT_DIR_SRC) {
		if (flt_fire(FLT_SRC_READ_EIO)) {
			errno = EIO;
			return true;
		}
		if (*n > 1 && flt_fire(FLT_SRC_READ_SHORT))
			*n /= 2;
	} else if (d == FLT_DIR_STORE && flt_fire(FLT_STORE_READ_EIO)) {
		errno = EIO;
		return true;
	}
	return false;
}

/* Whether a write-like call on fd fails: -1 and errno set. eio: the
 * call can fail with EIO (writes, syncs); enospc: with ENOSPC. */
static bool flt_write_fails(int fd, bool eio, bool enospc)
{
	if (!flt_any(FLT_WRITE_POINTS) || flt_fd_dir(fd) != FLT_DIR_STORE)
		return false;
	if (enospc && flt_fire(FLT_STORE_WRITE_ENOSPC)) {
		errno = ENOSPC;
		return true;
	}
	if (eio && flt_fire(FLT_STORE_WRITE_EIO)) {
		errno = EIO;
		return true;
	}
	return false;
}

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	return flt_read_fails(fd, &n) ? -1 : __real_read(fd, buf, n);
}

ssize_t __wrap_pread64(int fd, void *buf, size_t n, off_t off)
{
	return flt_read_fails(fd, &n) ? -1 : __real_pread64(fd, buf, n, off);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	return flt_write_fails(fd, true, true) ? -1 : __real_write(fd, buf, n);
}

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return flt_write_fails(fd, true, true)
		       ? -1
		       : __real_pwrite64(fd, buf, n, off);
}

int __wrap_fallocate64(int fd, int mode, off_t off, off_t len)
{
	return flt_write_fails(fd, false, true)
		       ? -1
		       : __real_fallocate64(fd, mode, off, len);
}

int __wrap_ftruncate64(int fd, off_t len)
{
	return flt_write_fails(fd, true, false) ? -1
						: __real_ftruncate64(fd, len);
}

int __wrap_fsync(int fd)
{
	return flt_write_fails(fd, true, false) ? -1 : __real_fsync(fd);
}

int __wrap_fdatasync(int fd)
{
	return flt_write_fails(fd, true, false) ? -1 : __real_fdatasync(fd);
}

#endif /* SPOT_FAULT_INJECTION */
