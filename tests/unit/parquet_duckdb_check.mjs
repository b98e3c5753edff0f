// SPDX-License-Identifier: LGPL-2.1-or-later
//
// parquet_duckdb_check.mjs - verifies with DuckDB the views written by
// `test_parquet FIXTURE_DIR OUT_DIR` (see tests/unit/test_parquet.c):
//   - pass_<f>: a view without masks reads back identical to the source;
//   - masked_<f>: same row count, unmasked columns identical (row by row),
//     masked columns hold exactly the values of the test's transforms,
//     parquet_metadata() shows no min/max for masked columns, and no raw
//     value of the masked string columns occurs anywhere in the file.
//
//   NODE_PATH=/tmp/pqnode/node_modules \
//     node tests/unit/parquet_duckdb_check.mjs FIXTURE_DIR OUT_DIR
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const where = [process.cwd(), ...(process.env.NODE_PATH || '').split(':')];
const { DuckDBInstance } = await import(
  pathToFileURL(require.resolve('@duckdb/node-api', { paths: where })).href);

const [fixDir, outDir] = process.argv.slice(2);
if (!fixDir || !outDir) {
  console.error('usage: parquet_duckdb_check.mjs FIXTURE_DIR OUT_DIR');
  process.exit(2);
}
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
let n = 0, failed = 0;
function check(ok, what) {
  n++;
  if (!ok) failed++;
  console.log(`${ok ? '' : 'not '}ok ${n} - ${what}`);
}
async function one(sql) {
  const r = await conn.runAndReadAll(sql);
  return r.getRows()[0];
}
const q = (p) => `'${p.replace(/'/g, "''")}'`;

// The masked columns and what the C test's transforms made of them.
const MASKED = ['email', 'name', 'qty', 'amount', 'score', 'active', 'born',
  'seen', 'id'];
const EXPECT = `
  m.email IS NOT DISTINCT FROM ('X' || strlen(s.email)) AND
  m.name IS NOT DISTINCT FROM ('X' || strlen(s.name)) AND
  m.qty IS NOT DISTINCT FROM CASE WHEN s.qty IS NULL THEN NULL ELSE 7 END AND
  m.amount IS NOT DISTINCT FROM CASE WHEN s.amount IS NULL THEN NULL ELSE 1.50 END AND
  m.score IS NOT DISTINCT FROM CASE WHEN s.score IS NULL THEN NULL ELSE 0.25 END AND
  m.active IS NOT DISTINCT FROM CASE WHEN s.active IS NULL THEN NULL ELSE false END AND
  m.born IS NOT DISTINCT FROM date_trunc('year', s.born)::DATE AND
  m.seen IS NOT DISTINCT FROM date_trunc('day', s.seen) AND
  m.id IS NOT DISTINCT FROM ('ID-' || s.id)`;
const UNMASKED = ['city', 'big', 'tags'];

const raw = JSON.parse(fs.readFileSync(path.join(fixDir, 'rows.json')));
const files = fs.readdirSync(fixDir).filter((f) => f.endsWith('.parquet')).sort();
check(files.length > 0, `fixtures in ${fixDir}`);
for (const f of files) {
  const src = q(path.join(fixDir, f));
  const pass = q(path.join(outDir, `pass_${f}`));
  const masked = path.join(outDir, `masked_${f}`);
  const mq = q(masked);
  try {
    const [d1] = await one(`SELECT count(*) FROM (SELECT * FROM ${src}
      EXCEPT ALL SELECT * FROM ${pass})`);
    const [d2] = await one(`SELECT count(*) FROM (SELECT * FROM ${pass}
      EXCEPT ALL SELECT * FROM ${src})`);
    const [c1] = await one(`SELECT count(*) FROM ${src}`);
    const [c2] = await one(`SELECT count(*) FROM ${pass}`);
    check(d1 === 0n && d2 === 0n && c1 === c2, `${f}: pass-through identical`);

    const [c3] = await one(`SELECT count(*) FROM ${mq}`);
    check(c3 === c1, `${f}: masked row count`);
    const same = UNMASKED.map((c) => `s.${c} IS NOT DISTINCT FROM m.${c}`).join(' AND ');
    const [bad] = await one(`SELECT count(*) FILTER (WHERE NOT (${same}))
      FROM (SELECT * FROM ${src}) s POSITIONAL JOIN (SELECT * FROM ${mq}) m`);
    check(bad === 0n, `${f}: unmasked columns identical`);
    const [badm] = await one(`SELECT count(*) FILTER (WHERE NOT (${EXPECT}))
      FROM (SELECT * FROM ${src}) s POSITIONAL JOIN (SELECT * FROM ${mq}) m`);
    check(badm === 0n, `${f}: masked columns hold the masked values`);
    const [stats] = await one(`SELECT count(*) FROM parquet_metadata(${mq})
      WHERE path_in_schema IN (${MASKED.map((c) => `'${c}'`).join(',')})
        AND (stats_min IS NOT NULL OR stats_max IS NOT NULL
          OR stats_min_value IS NOT NULL OR stats_max_value IS NOT NULL
          OR bloom_filter_offset IS NOT NULL)`);
    check(stats === 0n, `${f}: no min/max or bloom filter for masked columns`);
  } catch (e) {
    check(false, `${f}: DuckDB error: ${e.message}`);
  }
  const bytes = fs.readFileSync(masked);
  const leak = raw.find((v) => bytes.indexOf(v) >= 0);
  check(leak === undefined, `${f}: no raw masked value in the served bytes`);
}
console.log(`1..${n}`);
console.log(`${n - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
