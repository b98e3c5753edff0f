/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * format.h - the table of formats: the only place that knows which
 * formats exist. Everything above masking/ (policy/, fs/) asks this table
 * about a format (its name, suffixes, magic, whether it holds tables of
 * its own) and builds views through it; nothing above masking/ includes a
 * codec's header (masking/formats/), which the build checks
 * (tests/unit/no_codec_includes.sh).
 *
 * Like SQLite's io_methods: each format is one constant entry of struct
 * view_format; view_format_get() finds it by id, view_format_by_name() by
 * the name a config uses, view_detect() by a file's first bytes and name.
 *
 * ADDING A FORMAT (JSON Lines, say) is one codec plus one table entry:
 *
 *  1. The codec in masking/formats/ (e.g. jsonl.c, jsonl.h): a pipeline
 *     source (struct pipe_source_ops) reading the format and a sink
 *     (struct pipe_sink_ops) writing it.
 *  2. A value in enum view_fmt, before VIEW_FMT_COUNT, and its entry in
 *     the table in format.c (entry i holds id i + 1; magic is tried in
 *     table order), with its glue (open the source, make the sink) in a
 *     masking/view_<fmt>.c. An entry must provide:
 *       id        its enum view_fmt value;
 *       name      lower case, unique: the config's "format:" value, the
 *                 as: value when it is an output form, and messages;
 *       title     the name for people ("JSON Lines");
 *       suffixes  NULL-terminated list of lower-case suffixes with the dot
 *                 (".jsonl", ".ndjson"); matched ignoring case;
 *       magic     the first bytes every file of the format starts with, and
 *                 magic_len; NULL and 0 for a format without any (text);
 *       forms     the other formats its data may also be served as (as:),
 *                 as bits VIEW_FMT_BIT(id); each must have a sink; 0: none.
 *                 With csv among them, spotfs preview shows its rows
 *                 (a format with field_paths prints its own records);
 *       leaf_paths whether its column names are paths of leaves in nested
 *                 groups ("a.b"), which a rule must tell apart (plan.h);
 *       field_paths whether its columns are field paths of nested
 *                 records ("messages[].content") that rules name with
 *                 patterns: "[]" and "*" segments, a rule on a path
 *                 covering every leaf under it (plan.h);
 *       by_path   whether it opens the source by req->path rather than
 *                 reading req->fd (SQLite does, for its journals);
 *       builds_forms whether its build makes its other forms too
 *                 (req->form one of forms) instead of view_build_rows
 *                 (JSON Lines: a row is cut out of the masked record);
 *       source_open  its rows as a pipeline source (struct view_source);
 *       sink_new  a writer of the format into a buffer (struct view_sink);
 *       build     the view in the format's own form (req->form == id):
 *                 view_build_rows (source -> plan -> own sink) unless the
 *                 format serves its own form otherwise (CSV keeps the
 *                 source's dialect on several threads, Parquet copies
 *                 unmasked column chunks);
 *       objects   NULL for a format holding one table (CSV, Parquet); else
 *                 every callback of struct view_objects_ops.
 *     No callback may be NULL: a format that has no source or no sink (a
 *     SQLite database is read table by table by its own build) uses
 *     view_no_source / view_no_sink, which fail with -ENOTSUP.
 *     Conversions (as: and previews) need nothing more: view_format_build
 *     runs the source of one format into the sink of another.
 *     tests/unit/test_format.c checks every entry for all of this.
 *  3. Nothing else: policy/ takes the format's name from the table, fs/
 *     detects, builds and serves it through the table. (Config keys of a
 *     format's own, like CSV's delimiter:, still need their config code.)
 */
#ifndef SPOT_FORMAT_H
#define SPOT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pipe.h"
#include "spot.h"
#include "view.h"

/* Every format there is. 0 is "not known (yet)": a config's format: auto. */
enum view_fmt {
	VIEW_FMT_UNKNOWN = 0,
	VIEW_FMT_CSV,
	VIEW_FMT_PARQUET,
	VIEW_FMT_SQLITE,
	VIEW_FMT_JSONL,
	VIEW_FMT_COUNT /* not a format: the number of ids */
};

/* The bit of a format in a set of formats (struct view_format.forms). */
#define VIEW_FMT_BIT(f) (1u << (f))

/*
 * Formula injection in served CSV (csv.h): cells a spreadsheet would run as
 * formulas get a leading ' unless the config says off. 0 is the default,
 * so a request that does not say is guarded.
 */
enum view_csv_injection {
	VIEW_CSV_INJ_DEFAULT = 0, /* neutralize */
	VIEW_CSV_INJ_NEUTRALIZE,
	VIEW_CSV_INJ_OFF, /* every cell as it is */
};

/* What one view build reads and how it binds plans. */
struct view_req {
	enum view_fmt form; /* the output: the source's own format or a form */
	/* "" or a table of a format with objects (built as CSV). */
	const char *sub;
	int fd;		  /* the source, O_RDONLY; the caller keeps it open */
	const char *path; /* its path, for formats with by_path */
	char delim;	  /* CSV: 0 = detect */
	unsigned threads; /* build workers */
	/* Conversions into CSV: stop after this many kept rows (UINT64_MAX:
	 * all; 0: nothing at all, not even the header). */
	uint64_t limit;
	/* JSON Lines into its own form: each served record as written, for
	 * the export review's row fingerprints (optional, NULL: none). */
	void (*record)(void *record_arg, const uint8_t *rec, size_t len);
	void *record_arg;
	/* Formats with objects: what the dataset serves (see view.h). */
	const struct view_sqlobj *objs;
	size_t nobjs;
	/*
	 * Bind the plan of a table (NULL for a format holding one table);
	 * more binds a further plan of the same table for another worker
	 * (each plan is used by one thread).
	 */
	view_bind_tbl_fn bind;
	view_bind_tbl_fn more;
	void *arg;
	/*
	 * Streaming (optional, NULL: none): a build that can (CSV, Parquet) hands the
	 * view's bytes to emit in order as it makes them, in bounded memory;
	 * the view is then the emitted bytes followed by out->buf.
	 */
	int (*emit)(void *emit_arg, const void *p, size_t len);
	void *emit_arg;
	/* Start the emitted bytes again from the first (a build that must
	 * redo its output after streaming some); NULL: such a build fails. */
	int (*emit_rewind)(void *emit_arg);
	/* Bytes kept in memory before streaming starts (0: from the first
	 * byte): see view_csv_opts.emit_after. */
	uint64_t emit_after;
	/*
	 * The same destination with random access (optional, NULL: none),
	 * for a build that must write its bytes out of order (a SQLite
	 * database larger than emit_after is built in it). The view is
	 * then the file's bytes and out->buf stays empty.
	 */
	const struct spot_rwfile *rw;
	/*
	 * Scratch files (optional, NULL: none) with random access like rw,
	 * for what a build needs beside its output (the masked tables a
	 * SQLite database's views run against): encrypted in the store, gone
	 * at scratch_free. A build puts an intermediate there when its
	 * source is past emit_after; without them, it stays in memory.
	 */
	int (*scratch_new)(void *scratch_arg, struct spot_rwfile *out);
	void (*scratch_free)(void *scratch_arg, struct spot_rwfile *rw);
	void *scratch_arg;
	/* CSV output (the own form or a conversion): the formula guard. */
	enum view_csv_injection csv_injection;
};

/*
 * What a build produces: bytes in buf, or, when read is set, a view that
 * reads (part of) its bytes from the source at each read, through the fd
 * of the request, which the caller keeps open and checks unchanged (a
 * rewrite in place would put other bytes at the offsets read). free
 * releases obj and never closes fd.
 */
struct view_out {
	struct spot_buf buf;
	void *obj;
	uint64_t size;
	uint64_t mem; /* with read: bytes obj holds in memory, at least 1 */
	ssize_t (*read)(void *obj, int fd, void *buf, size_t len, uint64_t off);
	void (*free)(void *obj);
	uint64_t rows_in;  /* rows read from the source */
	uint64_t rows_out; /* rows served after the row filter */
};

void view_out_init(struct view_out *o);
/* Free what a build produced (after a failure too); o can be reused. */
void view_out_fini(struct view_out *o);

struct view_format;

/*
 * Build the view req asks for from a source of format f into out
 * (initialised by the caller with view_out_init). 0 or -errno with err
 * set (no row value in it).
 */
typedef int (*view_build_fn)(const struct view_format *f,
			     const struct view_req *req, struct view_out *out,
			     struct spot_err *err);

/* A format's rows as a pipeline source (ops on state); free(obj) ends it. */
struct view_source {
	const struct pipe_source_ops *ops;
	void *state;
	void (*free)(void *obj);
	void *obj;
};

/*
 * A format's writer into a buffer; free(state) releases it. drained (NULL
 * for writers that never look back at what they wrote) tells the writer
 * that the first n bytes of its buffer went elsewhere (a streamed build):
 * what it appends next sits n bytes further into the file than the
 * buffer says.
 */
struct view_sink {
	const struct pipe_sink_ops *ops;
	void *state;
	void (*free)(void *state);
	void (*drained)(void *state, uint64_t n);
};

/*
 * A writer (sink, appending to out) wrapped for a request that streams
 * (req->emit): once out passes req->emit_after, its bytes go to emit after
 * each batch, in pieces of 1 MiB or more, and sink->drained is told; what
 * the writer leaves at the end (a footer) stays in out as the view's tail.
 * Run pipe_run with view_stream_ops on it. view_stream_restart starts the
 * bytes again from the first (a retried snapshot): out emptied, the
 * emitted bytes rewound (-EIO when the request cannot rewind).
 */
struct view_stream {
	struct view_sink *sink;
	const struct view_req *req;
	struct spot_buf *out;
	bool streaming;
};

/*
 * Set the formula guard of a writer made by the sink_new of format form
 * (nothing for other formats than CSV). A writer is guarded until told.
 */
void view_sink_csv_injection(struct view_sink *sink, enum view_fmt form,
			     enum view_csv_injection m);

extern const struct pipe_sink_ops view_stream_ops;
int view_stream_restart(struct view_stream *s);

/* Open the rows of req's source (fd, path, delim). 0 or -errno, err set. */
typedef int (*view_source_fn)(const struct view_req *req,
			      struct view_source *src, struct spot_err *err);
/* A writer appending to out. 0 or -errno with err set. */
typedef int (*view_sink_fn)(struct spot_buf *out, struct view_sink *sink,
			    struct spot_err *err);

/* The tables and views of a format holding several (SQLite). */
struct view_objects_ops {
	/*
	 * Every table and view of the file at path, sorted by name, with its
	 * kind (enum view_sqlkind) in (*kinds)[i]. Free names with
	 * view_names_free and kinds with free().
	 */
	int (*list)(const char *path, char ***names, unsigned **kinds,
		    size_t *n, struct spot_err *err);
	/* The SELECT of the file's own view name, malloc'd; -ENOENT. */
	int (*view_sql)(const char *path, const char *name, char **sql,
			struct spot_err *err);
	/*
	 * The columns of objs[0..n) one after the other (for rules written
	 * once for all tables), names malloc'd: free with view_cols_free.
	 * *cols is never NULL on success.
	 */
	int (*columns)(const char *path, const struct view_sqlobj *objs,
		       size_t n, struct pipe_col **cols, size_t *ncols,
		       struct spot_err *err);
};

/* One format. See "ADDING A FORMAT" above for what each field must hold. */
struct view_format {
	enum view_fmt id;
	const char *name;
	const char *title;
	const char *const *suffixes;
	const uint8_t *magic;
	size_t magic_len;
	unsigned forms;
	bool leaf_paths;
	bool field_paths;
	bool by_path;
	bool builds_forms;
	view_source_fn source_open;
	view_sink_fn sink_new;
	view_build_fn build;
	const struct view_objects_ops *objects;
};

/* The entry of f, or NULL for VIEW_FMT_UNKNOWN and anything out of range. */
const struct view_format *view_format_get(enum view_fmt f);
/* The entry named name (exactly, lower case), or NULL. */
const struct view_format *view_format_by_name(const char *name);
/* The entry whose magic (*head, n) starts with, or NULL. */
const struct view_format *view_format_by_magic(const uint8_t *head, size_t n);
/* The entry one of whose suffixes ends name (ignoring case), or NULL. */
const struct view_format *view_format_by_suffix(const char *name);
/* The name of f ("csv"), "unknown" for anything not in the table. */
const char *view_fmt_name(enum view_fmt f);

/*
 * The format of an open file: by magic bytes, else by the name's suffix,
 * else CSV (the fallback: text without a magic). Reads at most the first
 * 16 bytes with pread (a short read is continued). VIEW_FMT_UNKNOWN when
 * they cannot be read: the caller must not remember that answer.
 */
enum view_fmt view_detect(int fd, const char *name);

/*
 * Build req through f's entry: its own form with f->build, one of its
 * forms by running f's source into the form's sink (req->limit honoured),
 * anything else -ENOTSUP. 0 or -errno with err set.
 */
int view_format_build(const struct view_format *f, const struct view_req *req,
		      struct view_out *out, struct spot_err *err);

/* Free columns returned by view_objects_ops.columns. */
void view_cols_free(struct pipe_col *cols, size_t n);

/*
 * A build for entries: the rows of f's source through the plan into
 * the sink of format req->form, at most req->limit kept rows.
 */
int view_build_rows(const struct view_format *f, const struct view_req *req,
		    struct view_out *out, struct spot_err *err);
/* For entries without a source or a sink: -ENOTSUP with err set. */
int view_no_source(const struct view_req *req, struct view_source *src,
		   struct spot_err *err);
int view_no_sink(struct spot_buf *out, struct view_sink *sink,
		 struct spot_err *err);

/* The glue of the entries (view.c, view_parquet.c, view_sqlite.c). */
int view_csv_source(const struct view_req *req, struct view_source *src,
		    struct spot_err *err);
int view_csv_sink(struct spot_buf *out, struct view_sink *sink,
		  struct spot_err *err);
int view_parquet_source(const struct view_req *req, struct view_source *src,
			struct spot_err *err);
int view_parquet_sink(struct spot_buf *out, struct view_sink *sink,
		      struct spot_err *err);
/* view_bind_fn of a single-table format: req (the arg) binds table NULL. */
int view_req_bind(void *arg, const struct pipe_col *cols, size_t ncols,
		  const struct pipe_plan **plan, struct spot_err *err);
/* The same through req->more: a further plan for another worker. */
int view_req_more(void *arg, const struct pipe_col *cols, size_t ncols,
		  const struct pipe_plan **plan, struct spot_err *err);
int view_csv_build(const struct view_format *f, const struct view_req *req,
		   struct view_out *out, struct spot_err *err);
int view_parquet_build(const struct view_format *f, const struct view_req *req,
		       struct view_out *out, struct spot_err *err);
int view_sqlite_build(const struct view_format *f, const struct view_req *req,
		      struct view_out *out, struct spot_err *err);
/* JSON Lines (view_jsonl.c): masked in place, record by record; its raw
 * records as rows of field paths (view_jsonl_src.c, for spotfs scan). */
int view_jsonl_source(const struct view_req *req, struct view_source *src,
		      struct spot_err *err);
int view_jsonl_build(const struct view_format *f, const struct view_req *req,
		     struct view_out *out, struct spot_err *err);
int view_sqlite_columns(const char *path, const struct view_sqlobj *objs,
			size_t n, struct pipe_col **cols, size_t *ncols,
			struct spot_err *err);

/*
 * The export review's look at a Parquet file in memory (p, len): every
 * string its rows do not show, to fn: the footer's key-value metadata
 * (keys and values), every entry of every dictionary page, and every value
 * of a leaf inside a list or map (numbers as decimal text). 0, fn's
 * nonzero return, -EINVAL/-ENOTSUP (cannot be read: opaque) or -ENOMEM
 * (formats/pq_review.c).
 */
typedef int (*view_string_fn)(void *arg, const uint8_t *p, size_t len);
int view_parquet_strings(const uint8_t *p, size_t len, view_string_fn fn,
			 void *arg, struct spot_err *err);

#endif /* SPOT_FORMAT_H */
