// `npm run bench -- row-filter`: what judging a batch's images by a row filter costs (the one
// round trip binlog/apply/row-filter.ts adds per batch), beside what writing that batch costs.
// A table with ENUM, SET, BIT, latin1 and utf8mb4_bin text, DATETIME, JSON and NULLs on a
// sandbox target; batches of inserts as the decoder renders them.
import { applyRowFilters } from '../src/binlog/apply/row-filter.js';
import { planStatements } from '../src/binlog/apply/plan.js';
import type { RowChange } from '../src/binlog/events.js';
import { connect } from '../src/db/connection.js';
import { readTableSchema } from '../src/db/introspect.js';
import { startSandbox } from '../src/sandbox/index.js';
import { writeResults } from './report.js';

const hex = (text: string, charset = 'utf8mb4') => `_${charset} X'${Buffer.from(text, charset === 'latin1' ? 'latin1' : 'utf8').toString('hex')}'`;

const image = (id: number): string[] => [
  String(id), String(1 + (id % 4)), String(id % 8), `X'${(id % 32).toString(16).padStart(2, '0')}'`, hex(id % 3 ? 'Straße' : 'Muller', 'latin1'),
  hex(id % 2 ? 'ABC-1' : 'abc-1'), "'2024-06-01 00:00:00.000'", hex('{"tier":"gold"}'), id % 3 ? String(id) : 'NULL', "'2024-01-01'",
];

export async function benchRowFilter(options: { sizes: readonly number[]; rounds: number }): Promise<void> {
  const sandbox = await startSandbox();
  try {
    const admin = await sandbox.target.connect();
    await admin.query(`CREATE DATABASE bench; CREATE TABLE bench.t (id INT PRIMARY KEY, e ENUM('a','b','c','d') NOT NULL, s SET('x','y','z'), b BIT(5) NOT NULL,
      l VARCHAR(40) CHARACTER SET latin1 COLLATE latin1_german2_ci, code VARCHAR(20) COLLATE utf8mb4_bin NOT NULL, dt DATETIME(3), j JSON, n INT, d DATE NOT NULL)`);
    const table = (await readTableSchema(admin, { database: 'bench', name: 't' }))!;
    await admin.end();
    const tables = new Map([['bench.t', table]]);
    const filters = new Map([['bench.t', "e = 'c' AND code LIKE 'ABC%' AND l = 'Strasse'"]]);
    const connection = await connect(sandbox.target.endpoint, { multipleStatements: true });
    const records = [];
    let next = 0;
    try {
      for (const size of options.sizes) {
        const batches = Array.from({ length: options.rounds + 1 }, (): RowChange[] => Array.from({ length: size }, () => ({ type: 'insert', table: 'bench.t', after: image(next++) })));
        const time = async (work: (batch: RowChange[]) => Promise<unknown>): Promise<number> => {
          await work(batches[0]!); // warm-up: the first batch of a session also makes the temporary table
          const started = performance.now();
          for (const batch of batches.slice(1)) await work(batch);
          return (performance.now() - started) / options.rounds;
        };
        const judge = await time((batch) => applyRowFilters(connection, batch, tables, filters));
        const write = await time((batch) => connection.query(`START TRANSACTION;\n${planStatements(batch, tables, { coalesce: true, maxStatementBytes: 1 << 24 }).join(';\n')};\nCOMMIT`));
        records.push({ 'images/batch': size, 'judge ms/batch': judge, 'write ms/batch': write, 'judge ÷ write': judge / write });
      }
    } finally {
      await connection.end();
    }
    writeResults('row-filter', records, `Row filter judging per batch (one round trip), beside the batch's own write; ${options.rounds} batches per size.`);
  } finally {
    await sandbox.stop();
  }
}
