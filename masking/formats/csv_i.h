/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * csv_i.h - private to the CSV codec: the reader's state, shared by csv.c
 * (the record parser, the header and the pipeline source) and csv_input.c
 * (opening, tuning, input and buffers), and the helpers csv_write.c (the
 * writer) shares with the reader. A reader is used by one thread at a time.
 */
#ifndef SPOT_CSV_I_H
#define SPOT_CSV_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv.h"

#define CSV_FLD_ESC (1u << 7) /* quoted field holding doubled quotes */

enum csv_state {
	CSV_ST_FIELD = 0, /* at the first byte of a field */
	CSV_ST_BARE,	  /* in an unquoted field */
	CSV_ST_QUOTED,	  /* inside quotes */
	CSV_ST_QSEEN,	  /* just after a quote inside quotes */
	CSV_ST_CR,	  /* after a CR that ends the record: LF may follow */
};

struct csv_fld {
	size_t off; /* from the record's first byte */
	size_t len;
	uint8_t flags; /* PIPE_F_QUOTED, CSV_FLD_ESC */
};

/* Parse state of the record in progress, relative to its first byte. */
struct csv_rec {
	size_t scan;	/* next byte to look at */
	size_t fstart;	/* first content byte of the current field */
	size_t nf;	/* fields ended so far */
	uint64_t nl;	/* LFs seen inside quoted fields */
	uint64_t qline; /* line where the current quoted field began */
	uint8_t st;	/* enum csv_state */
	uint8_t fflags; /* flags of the current field */
	uint8_t eol;	/* enum csv_eol, once complete */
};

struct csv_blk {
	struct csv_blk *next;
	size_t cap;
	_Alignas(16) uint8_t data[];
};

struct csv_reader {
	int fd; /* -1 for memory */
	const uint8_t *mem;
	size_t mem_len;
	uint64_t in_off;  /* next input offset to read */
	uint64_t in_end;  /* a part reader stops reading here (0: at EOF) */
	uint64_t stop_at; /* a part's batches: none starts at or after it */
	bool align;	  /* a part's batches: skip to a batch start first */
	bool zero_copy;	  /* memory reader whose cells point into mem */
	bool eof;	  /* no more input */
	bool started;	  /* reading began: tuning is closed */
	bool use_read;	  /* fd cannot pread (pipe) */
	bool header_done;
	bool auto_delim;
	bool grow_flds; /* header: the field array grows */
	bool pinned;	/* cells of this batch point into cur */
	bool borrowed;	/* cols belong to the header reader (a part) */
	size_t chunk;
	size_t max_record;

	struct csv_blk *cur;	 /* NULL when zero_copy */
	struct csv_blk *retired; /* hold cells of this batch */
	struct csv_blk *spare;
	const uint8_t *base; /* cur->data or mem */
	size_t start;	     /* first byte of the record in progress */
	size_t end;	     /* end of valid bytes */
	size_t cap;

	struct csv_rec rec;
	struct csv_fld *flds;
	size_t fcap;
	uint8_t stop[256]; /* bytes that end an unquoted run */

	uint64_t line; /* line of the record in progress, from 1 */
	uint64_t rows;
	struct csv_dialect dia;
	struct pipe_col *cols;
	size_t ncols;
	int failed; /* sticky -errno */
	char errmsg[SPOT_ERR_MAX];
};

/* ---- csv.c ---- */

/* The UTF-8 byte order mark. */
extern const uint8_t csv_bom[3];

/* Whether d can be a delimiter. */
bool csv_delim_ok(char d);
/* Make rc the reader's sticky error, with a message; returns rc. */
__attribute__((format(printf, 3, 4))) int csv_fail(struct csv_reader *r, int rc,
						   const char *fmt, ...);
/* Use delimiter d: r->dia.delim and the bytes that end an unquoted run. */
void csv_set_delim(struct csv_reader *r, char d);

/* ---- csv_input.c ---- */

/* Read up to one chunk more after the buffered bytes. 0 or -errno (sticky). */
int csv_fill(struct csv_reader *r);
/* At a batch start: retired buffers become spares (a few are kept). */
void csv_recycle(struct csv_reader *r);

#endif /* SPOT_CSV_I_H */
