// SPDX-License-Identifier: LGPL-2.1-or-later
// DuckDB over the served Parquet form of orders.csv, writing its result into
// the sandbox:  NODE_PATH=tests/.node/node_modules node duckdb.mjs MOUNTPOINT
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const path = require.resolve('@duckdb/node-api',
  { paths: (process.env.NODE_PATH || '').split(':') });
const { DuckDBInstance } = await import(pathToFileURL(path).href);
const mnt = process.argv[2];
const con = await (await DuckDBInstance.create(':memory:')).connect();
const q = `SELECT strftime(CAST(ordered_at AS DATE), '%Y-%m') AS month,
                  count(*) AS orders, round(sum(CAST(amount AS DOUBLE)), 2) AS total
           FROM read_parquet('${mnt}/orders.parquet')
           GROUP BY month ORDER BY month`;
const rows = (await con.runAndReadAll(q)).getRows();
await con.run(`COPY (${q}) TO '${mnt}/results/orders_by_month.csv' (HEADER)`);
console.log(`duckdb: ${rows.length} months from orders.parquet`);
