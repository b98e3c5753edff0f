/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fault_i.h - what fault.c shares with the wrappers (fault_wrap.c) and the
 * SQLite VFS shim (fault_vfs.c). Test builds only.
 */
#ifndef SPOT_FAULT_I_H
#define SPOT_FAULT_I_H

#include "fault.h"

/* Bit (1u << point) per armed point; relaxed atomic loads. */
extern unsigned flt_armed_mask;

static inline bool flt_any(unsigned points)
{
	return __atomic_load_n(&flt_armed_mask, __ATOMIC_RELAXED) & points;
}

#define FLT_BIT(p) (1u << (p))

/* Register the VFS shim as SQLite's default. 0 or -EIO. */
int flt_sqlite_vfs_setup(void);

#endif /* SPOT_FAULT_I_H */
