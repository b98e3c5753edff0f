/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * alloc_fail.h - allocation-failure injection for unit tests. A test that
 * includes this header is linked with -Wl,--wrap=malloc,calloc,realloc
 * (tests/meson.build, alloc_fail_link): every malloc, calloc and realloc
 * call made by the test and by the static libraries it links (masking/,
 * policy/, fs/) goes through the wrappers below, which fail the n-th call
 * once armed. Shared libraries (libc's own strdup, SQLite, Lua) are not
 * wrapped and keep allocating.
 *
 *   alloc_fail_loop("what", op, arg) runs op with the 1st, 2nd, ...
 *   allocation failing until a run needs no failure; op returns 0 or
 *   -errno, and checks itself that what it built on success is whole
 *   (returning 1 when it is not: a view with a NULL callback, say).
 *   Leaks on the failure paths are caught by LeakSanitizer at exit.
 *   ALLOC_FAIL_TRACE=1 in the environment prints each run's result.
 *
 * A run may also succeed with an allocation failed: Lua retries a failed
 * allocation after an emergency collection, for one.
 */
#ifndef SPOT_ALLOC_FAIL_H
#define SPOT_ALLOC_FAIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static long alloc_fail_at = -1; /* the call to fail (0-based), -1: none */
static long alloc_calls;
static int alloc_hit;

/* Whether this call is the one to fail (thread-safe). */
static int alloc_fail_now(void)
{
	if (__atomic_load_n(&alloc_fail_at, __ATOMIC_RELAXED) < 0)
		return 0;
	if (__atomic_fetch_add(&alloc_calls, 1, __ATOMIC_RELAXED) !=
	    alloc_fail_at)
		return 0;
	__atomic_store_n(&alloc_hit, 1, __ATOMIC_RELAXED);
	return 1;
}

void *__wrap_malloc(size_t n)
{
	return alloc_fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return alloc_fail_now() ? NULL : __real_realloc(p, n);
}

static void alloc_fail_arm(long n)
{
	alloc_calls = 0;
	alloc_hit = 0;
	__atomic_store_n(&alloc_fail_at, n, __ATOMIC_SEQ_CST);
}

/* Disarm; whether the armed call was reached (and failed). */
static int alloc_fail_disarm(void)
{
	__atomic_store_n(&alloc_fail_at, -1, __ATOMIC_SEQ_CST);
	return alloc_hit;
}

/*
 * Fail each allocation of op in turn. A run whose allocation failed must
 * return -ENOMEM or another -errno (or 0 when the code tolerates the
 * failure, op having checked its result), never 1 (broken); a run with
 * none failing must succeed. Returns the number of allocations op makes.
 */
static long alloc_fail_loop(const char *what, int (*op)(void *arg), void *arg)
{
	long n, bad = 0, enomem = 0;
	int rc = 0;

	for (n = 0; n < 100000; n++) {
		int hit;

		alloc_fail_arm(n);
		rc = op(arg);
		hit = alloc_fail_disarm();
		if (!hit)
			break;
		if (rc > 0)
			bad++;
		if (getenv("ALLOC_FAIL_TRACE"))
			fprintf(stderr, "%s: allocation %ld failed: rc %d\n",
				what, n, rc);
		enomem += rc == -12; /* -ENOMEM */
	}
	CHECK(rc == 0, "%s: succeeds when no allocation fails (rc %d)", what,
	      rc);
	CHECK(n > 0 && bad == 0,
	      "%s: each of its %ld allocations failing fails cleanly "
	      "(%ld with -ENOMEM)",
	      what, n, enomem);
	return n;
}

#endif /* SPOT_ALLOC_FAIL_H */
