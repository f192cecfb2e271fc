// The applier's statement plans against a real server: for random sequences of row changes
// (key moves, deletes and re-inserts, redelivered events), the coalesced plan and the ordered
// plan leave the target exactly as applying the changes one by one does.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { planStatements } from '../../../src/binlog/apply/plan.js';
import type { RowChange } from '../../../src/binlog/events.js';
import { connect } from '../../../src/db/connection.js';
import { readTableSchema } from '../../../src/db/introspect.js';
import type { TableSchema } from '../../../src/db/schema.js';
import { quoteString, type Row } from '../../../src/db/sql.js';
import { tableKey } from '../../../src/db/schema.js';
import { SandboxServer } from '../../../src/sandbox/index.js';
import { seededRandom } from '../../../src/sandbox/random.js';

/** Changes a source could log for table (a, b) → v, u: generated against a model of the source, then redelivered in part. */
/** The literal image of a model row (numbers and plain strings). */
const image = (row: Row): string[] => row.map((value) => (value === null ? 'NULL' : typeof value === 'string' ? quoteString(value) : String(value)));

function randomChanges(schema: TableSchema, random: () => number, count: number, initial: Map<string, Row>): RowChange[] {
  const table = tableKey(schema);
  const rows = new Map(initial);
  const changes: RowChange[] = [];
  const key = (row: Row) => `${row[0]},${row[1]}`;
  const pick = () => [...rows.values()][Math.floor(random() * rows.size)];
  let version = 0;
  while (changes.length < count) {
    const choice = random();
    const existing = pick();
    if (choice < 0.3 || !existing) {
      const row: Row = [Math.floor(random() * 6) - 2, Math.floor(random() * 3), `v${version++}`, null];
      if (rows.has(key(row))) continue;
      rows.set(key(row), row);
      changes.push({ type: 'insert', table, after: image(row) });
    } else if (choice < 0.55) {
      rows.delete(key(existing));
      changes.push({ type: 'delete', table, before: image(existing) });
    } else if (choice < 0.8) {
      const after: Row = [existing[0]!, existing[1]!, `v${version++}`, existing[3]!];
      rows.set(key(after), after);
      changes.push({ type: 'update', table, before: image(existing), after: image(after) });
    } else {
      const after: Row = [Math.floor(random() * 6) - 2, Math.floor(random() * 3), `v${version++}`, null];
      if (rows.has(key(after))) continue;
      rows.delete(key(existing));
      rows.set(key(after), after);
      changes.push({ type: 'update', table, before: image(existing), after: image(after) });
    }
    // At-least-once delivery: a reconnect replays the transaction cut off, whole, right
    // after the part already received — here the last few changes, from their start.
    if (random() < 0.1 && changes.length > 3) {
      const replayed = 1 + Math.floor(random() * 3);
      changes.push(...changes.slice(-replayed - 1));
    }
  }
  return changes;
}

describe('applier statement plans', () => {
  let server: SandboxServer;
  let connection: Connection;
  const tables = new Map<string, TableSchema>();

  before(async () => {
    server = await SandboxServer.start({ name: 'plans', serverId: 77 });
    connection = await connect(server.endpoint, { multipleStatements: true });
    await connection.query(`CREATE DATABASE t;
      CREATE TABLE t.plain (a INT, b INT, v VARCHAR(20), w VARCHAR(5), PRIMARY KEY (a, b));
      CREATE TABLE t.uniq (a INT, b INT, v VARCHAR(20), w VARCHAR(5), PRIMARY KEY (a, b), UNIQUE KEY (v))`);
    for (const name of ['plain', 'uniq']) tables.set(`t.${name}`, (await readTableSchema(connection, { database: 't', name }))!);
  });
  after(async () => {
    await connection?.end();
    await server?.stop();
  });

  const contents = async (name: string) => (await connection.query(`SELECT a, b, v, w FROM t.${name} ORDER BY a, b`))[0];

  for (const name of ['plain', 'uniq']) {
    it(`${name}: coalesced and ordered plans equal one-by-one replay`, async () => {
      const table = tables.get(`t.${name}`)!;
      assert.equal(table.hasSecondaryUniqueKey, name === 'uniq');
      const random = seededRandom(name.length * 7919);
      for (let round = 0; round < 40; round++) {
        // A starting state, as the copy or earlier batches left it.
        const initial = new Map<string, Row>();
        for (let i = 0; i < 4; i++) {
          const row: Row = [i - 1, i % 3, `init${round}-${i}`, 'x'];
          initial.set(`${row[0]},${row[1]}`, row);
        }
        const changes = randomChanges(table, random, 25, initial);
        // Batches end anywhere, mid-transaction included; the target must match one-by-one
        // replay after every batch, not only at the end.
        const cuts = [0];
        while (cuts[cuts.length - 1]! < changes.length) cuts.push(Math.min(changes.length, cuts[cuts.length - 1]! + 1 + Math.floor(random() * 8)));
        const results: unknown[][] = [];
        for (const mode of ['one-by-one', 'ordered', 'coalesced'] as const) {
          await connection.query(`DELETE FROM t.${name}`);
          await connection.query(`INSERT INTO t.${name} VALUES ${[...initial.values()].map((row) => `(${row[0]}, ${row[1]}, '${row[2]}', 'x')`).join(',')}`);
          const snapshots: unknown[] = [];
          for (let batch = 1; batch < cuts.length; batch++) {
            const slice = changes.slice(cuts[batch - 1], cuts[batch]);
            const plans = mode === 'one-by-one' ? slice.map((change) => planStatements([change], tables, { coalesce: false })) : [planStatements(slice, tables, { coalesce: mode === 'coalesced' })];
            for (const statements of plans) await connection.query(statements.join(';\n'));
            if (mode === 'coalesced' && name === 'plain') assert.ok(plans[0]!.length <= 3, `coalesced plan has ${plans[0]!.length} statements`);
            snapshots.push(await contents(name));
          }
          results.push(snapshots);
        }
        assert.deepEqual(results[1], results[0], `round ${round}: ordered plan differs`);
        assert.deepEqual(results[2], results[0], `round ${round}: coalesced plan differs`);
      }
    });
  }
});
