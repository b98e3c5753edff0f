// SPDX-License-Identifier: LGPL-2.1-or-later
//
// pq_rows_duckdb.mjs - DuckDB verification of row-filtered Parquet views.
//
//   gen FIXTURE_DIR FLAT_DIR: for every t_<codec>_<ver>_<enc>.parquet that
//     tests/fixtures/make_parquet.mjs wrote, write FLAT_DIR/f_<...>.parquet:
//     the same rows without the list column (row filters refuse list/map
//     columns), with the same codec, version, encoding and row group size.
//     (A folder of its own: other checks expect only t_* fixtures.)
//   check FLAT_DIR OUT_DIR: verify the filtered_f_*.parquet views that
//     `test_pq_rows FIXTURE_DIR OUT_DIR FLAT_DIR` wrote (filter: keep
//     id % 3 <> 1; email -> 'm' || id, qty -> 7 where not NULL): the rows
//     equal SELECT ... WHERE id % 3 <> 1 of the source in the same order,
//     row groups add up, and parquet_metadata() shows no min/max statistics
//     at all (values of dropped rows cannot leak through them).
//
//   export NODE_PATH=tests/.node/node_modules
//   node tests/fixtures/make_parquet.mjs /tmp/fix 5000
//   node tests/unit/pq_rows_duckdb.mjs gen /tmp/fix /tmp/flat
//   build-asan/tests/test_pq_rows /tmp/fix /tmp/out /tmp/flat
//   node tests/unit/pq_rows_duckdb.mjs check /tmp/flat /tmp/out
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const where = [process.cwd(), ...(process.env.NODE_PATH || '').split(':')];
const { DuckDBInstance } = await import(
  pathToFileURL(require.resolve('@duckdb/node-api', { paths: where })).href);

const [mode, fixDir, outDir] = process.argv.slice(2);
if (!fixDir || !outDir || (mode !== 'gen' && mode !== 'check')) {
  console.error('usage: pq_rows_duckdb.mjs gen FIXTURE_DIR FLAT_DIR | ' +
                'check FLAT_DIR OUT_DIR');
  process.exit(2);
}
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const q = (p) => `'${p.replace(/'/g, "''")}'`;
async function one(sql) {
  const r = await conn.runAndReadAll(sql);
  return r.getRows()[0];
}

if (mode === 'gen') {
  fs.mkdirSync(outDir, { recursive: true });
  const files = fs.readdirSync(fixDir).filter((f) => /^t_.*\.parquet$/.test(f));
  for (const f of files) {
    const m = /^t_(.+)_(v[12])_(dict|plain)\.parquet$/.exec(f);
    if (!m) continue;
    const dict = m[3] === 'plain' ? ', DICTIONARY_SIZE_LIMIT 1' : '';
    await conn.run(`COPY (SELECT * EXCLUDE (tags) FROM
        read_parquet(${q(path.join(fixDir, f))}) ORDER BY id)
      TO ${q(path.join(outDir, 'f' + f.slice(1)))} (FORMAT parquet,
        COMPRESSION ${m[1]}, PARQUET_VERSION ${m[2].toUpperCase()},
        ROW_GROUP_SIZE 2048${dict})`);
  }
  console.log(`wrote ${files.length} flat fixtures to ${outDir}`);
  process.exit(0);
}

let n = 0, failed = 0;
function check(ok, what) {
  n++;
  if (!ok) failed++;
  console.log(`${ok ? '' : 'not '}ok ${n} - ${what}`);
}
const files = fs.readdirSync(fixDir).filter((f) => /^f_.*\.parquet$/.test(f)).sort();
check(files.length > 0, `flat fixtures in ${fixDir}`);
for (const f of files) {
  const src = q(path.join(fixDir, f));
  const out = path.join(outDir, 'filtered_' + f);
  if (!fs.existsSync(out)) {
    check(false, `${f}: filtered view written`);
    continue;
  }
  const dst = q(out);
  const [cnt] = await one(`SELECT count(*) FROM read_parquet(${dst})`);
  const [want] = await one(
    `SELECT count(*) FROM read_parquet(${src}) WHERE id % 3 <> 1`);
  check(cnt === want, `${f}: count(*) ${cnt} = kept rows ${want}`);
  const [diff] = await one(`SELECT count(*) FROM (
      (SELECT * REPLACE ('m' || id AS email,
                         CASE WHEN qty IS NULL THEN NULL ELSE 7 END AS qty)
         FROM read_parquet(${src}) WHERE id % 3 <> 1
       EXCEPT ALL SELECT * FROM read_parquet(${dst}))
      UNION ALL
      (SELECT * FROM read_parquet(${dst})
       EXCEPT ALL SELECT * REPLACE ('m' || id AS email,
                         CASE WHEN qty IS NULL THEN NULL ELSE 7 END AS qty)
         FROM read_parquet(${src}) WHERE id % 3 <> 1))`);
  check(diff === 0n, `${f}: every kept row identical, in every column`);
  const [order] = await one(`SELECT count(*) FROM (SELECT id,
      lag(id) OVER () AS prev FROM read_parquet(${dst})) WHERE id < prev`);
  check(order === 0n, `${f}: rows keep their order`);
  const [stats, rgrows] = await one(`SELECT
      count(*) FILTER (WHERE stats_min IS NOT NULL OR stats_max IS NOT NULL
        OR stats_min_value IS NOT NULL OR stats_max_value IS NOT NULL),
      sum(row_group_num_rows) FILTER (WHERE column_id = 0)
    FROM parquet_metadata(${dst})`);
  check(stats === 0n, `${f}: no min/max statistics (dropped rows may not leak)`);
  check(rgrows === cnt, `${f}: row groups add up to ${rgrows}`);
}
console.log(`1..${n}`);
console.log(`${n - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
