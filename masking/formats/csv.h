/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * csv.h - streaming CSV reader and writer (RFC 4180 and the real world),
 * with adapters for the view pipeline (pipe.h).
 *
 * Reader: the first record is the header (column names). Fields may be
 * quoted ("a,b", "say ""hi""", embedded CR/LF); a quote inside an unquoted
 * field (ab"c) is literal. Records end in LF, CRLF or a lone CR; the
 * terminator of every record is kept (batch->rowmeta, enum csv_eol) so the
 * writer reproduces it. A UTF-8 BOM is skipped and remembered. Bytes are
 * bytes: invalid UTF-8 and NUL pass through. Rules that are choices:
 *   - a file that ends in a terminator has no empty last record;
 *   - a blank line is a record of one empty field: a row in a one-column
 *     file, a ragged-row error otherwise;
 *   - duplicate header names are allowed (pipe_col_find gives the first);
 *   - line numbers count LF inside quoted fields and one per terminator.
 * Errors (-EBADMSG, message "line N: ...", never a cell value): ragged row,
 * unterminated quoted field at EOF, a character other than a delimiter or
 * line end after a closing quote. A streamed record (file or chunked
 * memory) longer than the limit is -EFBIG, which bounds memory; a
 * zero-copy memory reader needs no limit. -EIO-like read errors are
 * returned as they come (-errno). An error is sticky: later calls return
 * it again, with the same message.
 *
 * Streaming: from a file descriptor the reader reads chunks (1 MiB by
 * default) with pread() from offset 0 (read() for pipes); the file position
 * is not used. Cells point into the reader's buffers (zero copy) unless a
 * quoted field holds doubled quotes, which are unescaped into
 * batch->src_arena. Cells stay valid until the next next_batch() call.
 * From memory (csv_reader_open_mem) the cells point into the caller's
 * bytes, which must outlive the reader; csv_reader_set_chunk() makes a
 * memory reader copy the bytes in chunks instead, as from a file (tests).
 *
 * Writer: appends to a caller's spot_buf. With the dialect of a CSV source
 * (csv_source_ops.dialect) it reuses its delimiter, BOM and per-record line
 * endings, and writes unchanged cells exactly as read (same quoting), so a
 * view without transforms is byte-identical to its source (unless it holds
 * formula cells, which the guard below changes). Other cells
 * (PIPE_F_SET, or rows from a non-CSV source) go through csv_write_field:
 * quoted when they hold the delimiter, a quote, CR or LF, or start or end
 * with a space or tab (readers that trim would lose them), or when the
 * cell has PIPE_F_QUOTED (a cell copied through unchanged). Never because
 * the source cell was quoted: a masked cell's quoting depends on its served
 * bytes only, else it would tell whether the raw value held a delimiter, a
 * quote or a line break. PIPE_NULL is an empty field, never "". INT, REAL
 * and BLOB cells are written as their bytes. In a one-column file an empty
 * transformed cell (NULL or empty text alike) is written "" so that readers
 * skipping blank lines still see the row.
 *
 * Locking: none; a reader or writer is used by one thread at a time.
 */
#ifndef SPOT_CSV_H
#define SPOT_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipe.h"
#include "spot.h"

/* Default read size. */
#define CSV_CHUNK_DEFAULT (1u << 20)
/* Default limit on one record (header or row), in bytes. */
#define CSV_MAX_RECORD_DEFAULT ((size_t)256 << 20)
/* Most header columns accepted. */
#define CSV_MAX_COLUMNS (1u << 20)

/* Record terminators as stored in batch->rowmeta by the CSV source. */
enum csv_eol {
	CSV_EOL_DEFAULT = 0, /* not from a CSV source: the dialect's eol */
	CSV_EOL_LF = 1,
	CSV_EOL_CRLF = 2,
	CSV_EOL_CR = 3,
	CSV_EOL_NONE = 4, /* last record of a file without final newline */
};

#define CSV_DIALECT_MAGIC 0x43535631u /* "CSV1" */

/* What a CSV source tells the CSV sink (csv_source_ops.dialect). */
struct csv_dialect {
	uint32_t magic; /* CSV_DIALECT_MAGIC: anything else is ignored */
	char delim;
	bool bom;	    /* the file started with a UTF-8 BOM */
	uint8_t header_eol; /* enum csv_eol of the header record */
	uint8_t eol;	    /* for rows with CSV_EOL_DEFAULT: header's, or LF */
	uint64_t size;	    /* source bytes to read, 0 if unknown: the sink
			       reserves about as much for its output */
};

/* ---- reader ---- */

struct csv_reader;

/*
 * Open a reader on fd (not closed by the reader; it must stay open until
 * csv_reader_free). delim: ',', ';', '\t', '|' or any byte except '"', CR
 * and LF; 0 = detect from the header line (csv_sniff_delimiter).
 * Nothing is read until the first columns()/next_batch() call.
 * 0, -EINVAL (bad delimiter) or -ENOMEM. *out is freed by csv_reader_free.
 */
int csv_reader_open_fd(int fd, char delim, struct csv_reader **out);
/* The same over (p, len), which must outlive the reader (zero copy). */
int csv_reader_open_mem(const void *p, size_t len, char delim,
			struct csv_reader **out);
/*
 * Tuning, before the first read: the read size (>= 1; on a memory reader
 * this switches to copying chunks, to exercise buffer boundaries) and the
 * record size limit. 0 or -EINVAL (0, or called after reading started).
 */
int csv_reader_set_chunk(struct csv_reader *r, size_t chunk);
int csv_reader_set_max_record(struct csv_reader *r, size_t max);
/* Data rows returned so far. */
uint64_t csv_reader_rows(const struct csv_reader *r);

/*
 * Parallel builds. After the header of hdr (an fd reader) was read:
 * csv_reader_data_offset() is the file offset of the first data record and
 * csv_reader_line() the line number of the record in progress.
 *
 * csv_reader_open_part() opens a reader on the records of fd in
 * [off, end) (end 0: up to EOF), which must start at a record boundary:
 * it has hdr's columns (borrowed: hdr must outlive it) and dialect, reads
 * no header, and numbers lines from line and rows from rows, so its
 * messages and row numbers are those of one reader over the whole file.
 * Batches are cut at multiples of the batch size in global rows, as one
 * reader cuts them. At end (when not 0) the input stops: a record still
 * inside quotes there is -ERANGE ("crosses the part's end"), anything else
 * parses as a reader over the whole file would up to that point.
 * 0, -EINVAL or -ENOMEM.
 *
 * csv_reader_skim() parses every record of a reader without handing out
 * cells (counting rows and lines, checking widths): 0 or -errno with the
 * reader's message in err.
 */
/*
 * csv_reader_part_batches() makes a part reader (before its first batch)
 * hand out the batches one reader over the whole file hands out that
 * start in the part: it first skips rows to the next multiple of the
 * batch size (unless the part starts at row 0), then reads across the
 * part's end up to the end of the batch in progress (a record boundary is
 * proven there by the caller) and stops before a batch that would start at
 * or after the end. The skipped rows are the previous part's.
 */
void csv_reader_part_batches(struct csv_reader *r);
uint64_t csv_reader_data_offset(const struct csv_reader *r);
uint64_t csv_reader_line(const struct csv_reader *r);
int csv_reader_open_part(int fd, const struct csv_reader *hdr, uint64_t off,
			 uint64_t end, uint64_t line, uint64_t rows,
			 struct csv_reader **out);
int csv_reader_skim(struct csv_reader *r, struct spot_err *err);
void csv_reader_free(struct csv_reader *r);

/*
 * Pipeline source over a csv_reader (the void *src). columns() reads the
 * header on first use; next_batch() resets b->src_arena, fills b->in,
 * b->rowmeta (enum csv_eol) and sets b->keep[r] = 1; it may return fewer
 * than b->cap rows before the end (0 rows only at the end). b->ncols must
 * equal the column count. dialect() returns a struct csv_dialect owned by
 * the reader (valid after columns()).
 */
extern const struct pipe_source_ops csv_source_ops;

/*
 * Guess the delimiter of the first line of (p, len): the most frequent of
 * ',', '\t', ';', '|' outside quotes (ties in that order); ',' when none
 * occurs. Always 0.
 */
int csv_sniff_delimiter(const uint8_t *p, size_t len, char *out);

/* ---- writer ---- */

struct csv_writer;

/*
 * A writer appending to out (owned by the caller, which must outlive the
 * writer). Defaults without a dialect: ',', LF, no BOM. 0 or -ENOMEM.
 */
int csv_writer_new(struct spot_buf *out, struct csv_writer **w);
void csv_writer_free(struct csv_writer *w);

/*
 * Write no BOM and no header (a later part of a parallel build): begin()
 * only takes the columns and the dialect. Before begin().
 */
void csv_writer_body_only(struct csv_writer *w);
/*
 * BLOB cells (PIPE_BLOB: raw bytes, as a SQLite table's source gives them
 * and as masking methods see them) are written as lowercase hex.
 */
void csv_writer_hex_blobs(struct csv_writer *w);

/*
 * Formula injection: a spreadsheet opening a CSV runs a cell that starts
 * with '=', '+', '-', '@', a tab or a CR as a formula (=HYPERLINK() sends
 * other cells away, DDE runs programs). By default a writer serves such a
 * cell, header names included, with a leading "'", which spreadsheets
 * read as "text" and do not show: "=1+2" is served as "'=1+2". Signed
 * numbers ("-5", "+3.25", "-1e3", "-inf"; csv_is_signed_number) are no
 * formulas and stay as they are, so numeric columns keep their values.
 * A guarded cell is no longer byte-identical to its source (the rule
 * above for unchanged cells yields to it). csv_writer_guard(w, false)
 * serves every cell as it is. Before begin().
 */
void csv_writer_guard(struct csv_writer *w, bool on);
bool csv_is_signed_number(const uint8_t *p, size_t len);

/*
 * Pipeline sink over a csv_writer (the void *sink). begin() writes the BOM
 * and the header (nothing for zero columns), rows() the kept rows, end()
 * nothing more (a file without final newline stays without one).
 * 0, -EINVAL (batch width differs from begin's) or -ENOMEM.
 */
extern const struct pipe_sink_ops csv_sink_ops;

/*
 * Append one field to out, quoted (with quotes doubled) if force_quote or
 * if needed as described above. 0 or -ENOMEM.
 */
int csv_write_field(struct spot_buf *out, const uint8_t *p, size_t len,
		    char delim, bool force_quote);

#endif /* SPOT_CSV_H */
