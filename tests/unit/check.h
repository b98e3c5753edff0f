/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * check.h - a tiny TAP producer for the unit tests.
 *
 *   CHECK(cond, "what is checked");
 *   return check_done();
 *
 * Prints "ok N - what" or "not ok N - what (file:line: cond)" per check and
 * the plan "1..N" at the end; exit status 1 if any check failed. A
 * description is kept on one line (line breaks become spaces) so that TAP
 * parsers see every check.
 */
#ifndef SPOT_CHECK_H
#define SPOT_CHECK_H

#include <stdio.h>

static int check_n, check_failed;

static inline void check_print_flat(const char *s)
{
	for (; *s; s++)
		putchar(*s == '\n' || *s == '\r' ? ' ' : *s);
}

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		char check_desc_[1024];                                        \
		int check_ok_ = !!(cond);                                      \
		check_n++;                                                     \
		if (!check_ok_)                                                \
			check_failed++;                                        \
		snprintf(check_desc_, sizeof(check_desc_), __VA_ARGS__);       \
		printf("%sok %d - ", check_ok_ ? "" : "not ", check_n);        \
		check_print_flat(check_desc_);                                 \
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
