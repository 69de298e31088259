// DuckDB competitor for bench/compare: count netfilter log lines by key with SQL.
//
//   node count.mjs FILE KEY[,KEY...] [THREADS]
//   node count.mjs --json FILE FIELD[,FIELD...] [THREADS]
//
// Reads FILE as one VARCHAR column (a delimiter that never occurs in a log, no quoting, no
// header), keeps the lines that contain `IN=` (as `grep IN=` would), extracts each KEY with
// regexp_extract(line, ' KEY=([^ ]*)', 1) -- the FIRST occurrence in the line, brackets not
// skipped -- groups, and prints `count<TAB>value<TAB>value...` most frequent first. A missing
// value is the empty string, as regexp_extract returns it.
//
// With --json, FILE is JSON lines (ulogd2's JSON plugin): read_json(format =
// 'newline_delimited') reads only the top-level FIELDs, each as VARCHAR (a number as written,
// a field that is absent or null as NULL), groups by them and prints the same layout, NULL as
// the empty string.
import { DuckDBInstance } from '@duckdb/node-api';
import os from 'node:os';

const args = process.argv.slice(2);
const json = args[0] === '--json';
if (json) args.shift();
const [file, keyList, threadsArg] = args;
if (!file || !keyList) {
  process.stderr.write('usage: node count.mjs [--json] FILE KEY[,KEY...] [THREADS]\n');
  process.exit(2);
}
const keys = keyList.split(',');
for (const k of keys) {
  if (!(json ? /^[A-Za-z0-9_.]+$/ : /^[A-Za-z0-9_]+$/).test(k)) {
    process.stderr.write(`bad key: ${k}\n`);
    process.exit(2);
  }
}
const threads = Number(threadsArg || os.availableParallelism());
const quote = (s) => `'${s.replaceAll("'", "''")}'`;

const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const con = await instance.connect();
const names = keys.map((_, i) => `k${i}`);
const ident = (s) => `"${s.replaceAll('"', '""')}"`;
const jsonSql = `
  WITH g AS (
    SELECT ${keys.map((k, i) => `${ident(k)} AS k${i}`).join(', ')}, count(*) AS n
    FROM read_json(${quote(file)}, format = 'newline_delimited',
                   columns = {${keys.map((k) => `${quote(k)}: 'VARCHAR'`).join(', ')}})
    GROUP BY ALL
  )
  SELECT concat_ws(chr(9), n::VARCHAR, ${names.map((k) => `coalesce(${k}, '')`).join(', ')}) AS row
  FROM g ORDER BY n DESC, ${names.join(', ')}`;
const cols = keys.map((k, i) => `regexp_extract(line, ' ${k}=([^ ]*)', 1) AS k${i}`).join(', ');
const textSql = `
  WITH t AS (
    SELECT ${cols}
    FROM read_csv(${quote(file)}, columns = {'line': 'VARCHAR'}, delim = '\x01', header = false,
                  quote = '', escape = '', auto_detect = false, strict_mode = false,
                  max_line_size = 16777216)
    WHERE contains(line, 'IN=')
  ), g AS (
    SELECT ${names.join(', ')}, count(*) AS n FROM t GROUP BY ALL
  )
  SELECT concat_ws(chr(9), n::VARCHAR, ${names.join(', ')}) AS row
  FROM g ORDER BY n DESC, ${names.join(', ')}`;

const result = await con.stream(json ? jsonSql : textSql);
let buf = [];
let size = 0;
for (;;) {
  const chunk = await result.fetchChunk();
  if (!chunk || chunk.rowCount === 0) break;
  for (const v of chunk.getColumnValues(0)) {
    buf.push(v);
    size += v.length + 1;
  }
  if (size > (1 << 20)) {
    process.stdout.write(buf.join('\n') + '\n');
    buf = [];
    size = 0;
  }
}
if (buf.length) process.stdout.write(buf.join('\n') + '\n');
