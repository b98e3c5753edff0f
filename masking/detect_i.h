/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * detect_i.h - helpers shared by detect.c (values, rules) and
 * detect_name.c (names).
 */
#ifndef SPOT_DETECT_I_H
#define SPOT_DETECT_I_H

#include <stdbool.h>
#include <stdint.h>

#include "detect.h"

static inline bool det_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static inline bool det_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static inline bool det_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

#endif /* SPOT_DETECT_I_H */
