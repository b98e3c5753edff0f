// SPDX-License-Identifier: LGPL-2.1-or-later
//
// pq.mjs - DuckDB side of the Parquet benchmark (run from tests/.node so
// @duckdb/node-api resolves, or with NODE_PATH set).
//   node pq.mjs gen OUT ROWS    write the 10-column benchmark file (snappy)
//   node pq.mjs copy SRC OUT    DuckDB's own masked rewrite; prints seconds
//   node pq.mjs csvcopy SRC OUT the same for the CSV of issue 12's script
//                               comparison (email, ssn, phone); prints the
//                               query's seconds
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const where = [process.cwd(), ...(process.env.NODE_PATH || '').split(':')];
const { DuckDBInstance } = await import(
  pathToFileURL(require.resolve('@duckdb/node-api', { paths: where })).href);

const [cmd, a, b] = process.argv.slice(2);
const q = (p) => `'${p.replace(/'/g, "''")}'`;
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
if (cmd === 'gen') {
  await conn.run(`COPY (SELECT
      i::BIGINT AS id,
      'user' || i || '@corp.example' AS email,
      'Name ' || (i % 100003) || ' Surname' AS name,
      ['Paris', 'Lyon', 'Nice', 'Oslo', 'Rome'][i % 5 + 1] AS city,
      (i % 1000)::INTEGER AS qty,
      i * 1.25 AS amount,
      (i * 0.001)::DOUBLE AS score,
      DATE '2000-01-01' + (i % 9000)::INTEGER AS day,
      TIMESTAMP '2020-01-01 00:00:00' + to_seconds(i) AS seen,
      md5(i::VARCHAR) AS token
    FROM range(${Number(b)}) t(i))
    TO ${q(a)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 500000)`);
} else if (cmd === 'copy') {
  const t0 = process.hrtime.bigint();
  await conn.run(`COPY (SELECT * REPLACE (substr(md5(email), 1, 16) AS email,
      '[REDACTED]' AS name) FROM ${q(a)})
    TO ${q(b)} (FORMAT parquet, COMPRESSION snappy)`);
  console.log((Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3));
} else if (cmd === 'csvcopy') {
  // md5 (DuckDB has no keyed hash), the last 4 of ssn, phone redacted.
  const t0 = process.hrtime.bigint();
  await conn.run(`COPY (SELECT * REPLACE (substr(md5(email), 1, 16) AS email,
      '***-**-' || right(ssn, 4) AS ssn, '[REDACTED]' AS phone)
      FROM read_csv(${q(a)}, header = true, all_varchar = true))
    TO ${q(b)} (FORMAT csv, HEADER)`);
  console.log((Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3));
} else {
  console.error('usage: pq.mjs gen OUT ROWS | copy SRC OUT | csvcopy SRC OUT');
  process.exit(2);
}
