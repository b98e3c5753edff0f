/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * check.h - a tiny TAP producer for the unit tests.
 *
 *   CHECK(cond, "what is checked");
 *   return check_done();
 *
 * Prints "ok N - what" or "not ok N - what (file:line: cond)" per check and
 * the plan "1..N" at the end; exit status 1 if any check failed.
 */
#ifndef SPOT_CHECK_H
#define SPOT_CHECK_H

#include <stdio.h>

static int check_n, check_failed;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		int check_ok_ = !!(cond);                                      \
		check_n++;                                                     \
		if (!check_ok_)                                                \
			check_failed++;                                        \
		printf("%sok %d - ", check_ok_ ? "" : "not ", check_n);        \
		printf(__VA_ARGS__);                                           \
		if (!check_ok_)                                                \
			printf(" (%s:%d: %s)", __FILE__, __LINE__, #cond);     \
		printf("\n");                                                  \
		fflush(stdout);                                                \
	} while (0)

static inline int check_done(void)
{
	printf("1..%d\n", check_n);
	return check_failed ? 1 : 0;
}

#endif /* SPOT_CHECK_H */
