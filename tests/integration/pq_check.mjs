// SPDX-License-Identifier: LGPL-2.1-or-later
//
// pq_check.mjs - compares a served (masked) Parquet file with its source,
// with DuckDB as the reader. Prints one JSON object of findings.
//
//   node pq_check.mjs SOURCE SERVED MASKED_COLS(comma-separated)
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const where = [process.cwd(), ...(process.env.NODE_PATH || '').split(':')];
const { DuckDBInstance } = await import(
  pathToFileURL(require.resolve('@duckdb/node-api', { paths: where })).href);

const [src, served, maskedArg] = process.argv.slice(2);
const masked = maskedArg ? maskedArg.split(',') : [];
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const q = (p) => `'${p.replace(/'/g, "''")}'`;
const id = (c) => `"${c.replace(/"/g, '""')}"`;
const rows = async (sql) => (await conn.runAndReadAll(sql)).getRows();
const big = (k, v) => (typeof v === 'bigint' ? v.toString() : v);

const out = {};
const cols = (await rows(`DESCRIBE SELECT * FROM ${q(src)}`)).map((r) => r[0]);
out.columns = cols;
out.count_src = Number((await rows(`SELECT count(*) FROM ${q(src)}`))[0][0]);
out.count_served = Number((await rows(`SELECT count(*) FROM ${q(served)}`))[0][0]);
const plain = cols.filter((c) => !masked.includes(c)).map(id).join(', ');
out.unmasked_diff = Number((await rows(`SELECT count(*) FROM (
  (SELECT ${plain} FROM ${q(src)} EXCEPT ALL SELECT ${plain} FROM ${q(served)})
  UNION ALL
  (SELECT ${plain} FROM ${q(served)} EXCEPT ALL SELECT ${plain} FROM ${q(src)}))`))[0][0]);
out.masked = {};
for (const c of masked) {
  const same = Number((await rows(`SELECT count(*) FROM
    (SELECT ${id(c)} AS v, row_number() OVER () AS n FROM ${q(src)}) a JOIN
    (SELECT ${id(c)} AS v, row_number() OVER () AS n FROM ${q(served)}) b
    USING (n) WHERE a.v IS NOT NULL AND a.v::VARCHAR = b.v::VARCHAR`))[0][0]);
  const sample = (await rows(`SELECT ${id(c)}::VARCHAR FROM ${q(served)}
    WHERE ${id(c)} IS NOT NULL LIMIT 3`)).map((r) => r[0]);
  const stats = await rows(`SELECT stats_min, stats_max, stats_min_value,
    stats_max_value FROM parquet_metadata(${q(served)})
    WHERE path_in_schema = ${q(c)}`);
  out.masked[c] = {
    equal_to_source: same,
    sample,
    stats_present: stats.some((r) => r.some((v) => v !== null)),
  };
}
console.log(JSON.stringify(out, big));
