// Every column type survives source → binlog → decode → literal() → target byte for byte:
// the same DDL on both sides, edge values written on the source, the streamed items applied
// to the target with plain statements, then every row compared by an exact server-side hash
// and by fetching both sides.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { startSandbox, type Sandbox } from '../../../src/sandbox/index.js';
import { connect } from '../../../src/db/connection.js';
import { readTableSchema } from '../../../src/db/introspect.js';
import type { TableSchema } from '../../../src/db/schema.js';
import { literal, quoteIdentifier, type SqlValue } from '../../../src/db/sql.js';
import { rawTypeCast } from '../../../src/db/values.js';
import { readSourcePosition } from '../../../src/binlog/position.js';
import { BinlogStreamer } from '../../../src/binlog/stream/streamer.js';
import type { RowItem, StreamItem } from '../../../src/binlog/events.js';
import { applyItems, drainUntil } from './helpers.js';

const DDL = `CREATE TABLE app.all_types (
  id INT NOT NULL PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
  i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  d DECIMAL(65,30), d0 DECIMAL(10,0), d5 DECIMAL(7,3),
  f FLOAT, db DOUBLE,
  dt DATE, dtm DATETIME(6), dtm0 DATETIME, dtm3 DATETIME(3),
  ts TIMESTAMP(6) NULL DEFAULT NULL, ts0 TIMESTAMP NULL DEFAULT NULL, ts1 TIMESTAMP(1) NULL DEFAULT NULL,
  tm TIME(6), tm0 TIME, tm1 TIME(1), tm3 TIME(3), y YEAR,
  b1 BIT(1), b10 BIT(10), b64 BIT(64),
  cu VARCHAR(100) CHARACTER SET utf8mb4, cl VARCHAR(300) CHARACTER SET latin1,
  chl CHAR(10) CHARACTER SET latin1, chu CHAR(5) CHARACTER SET utf8mb4,
  tx TEXT CHARACTER SET utf8mb4, txl MEDIUMTEXT CHARACTER SET latin1,
  bn BINARY(8), vb VARBINARY(300), bl BLOB, lb LONGBLOB,
  e ENUM('a','b','c d','é'), s SET('x','y','z','w'),
  j JSON,
  \`__proto__\` INT,
  g BIGINT AS (i + 1) VIRTUAL, gs VARCHAR(200) AS (CONCAT(cu, '!')) STORED
) DEFAULT CHARSET = utf8mb4`;

const LATIN1_HIGH = Buffer.from(Array.from({ length: 128 }, (_, index) => 0x80 + index));
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, index) => index));

// Written by the source session below (time_zone +00:00, non-strict sql_mode so that zero
// dates and the ENUM error value are accepted).
const WRITES = [
  `INSERT INTO app.all_types (id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, d, d0, d5, f, db, dt, dtm, dtm0, dtm3, ts, ts0, ts1,
     tm, tm0, tm1, tm3, y, b1, b10, b64, cu, cl, chl, chu, tx, txl, bn, vb, bl, lb, e, s, j, \`__proto__\`) VALUES
   (1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
    '99999999999999999999999999999999999.999999999999999999999999999999', 9999999999, 9999.999,
    3.4028234663852886e38, 1.7976931348623157e308,
    '9999-12-31', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999',
    '2038-01-19 03:14:07.999999', '2038-01-19 03:14:07', '2038-01-19 03:14:07.9',
    '838:59:59.000000', '838:59:59', '838:59:59.0', '838:59:59.000', 2155, b'1', b'1111111111', x'FFFFFFFFFFFFFFFF',
    _utf8mb4 X'${Buffer.from('😀 ünïcödé ✓ 中文', 'utf8').toString('hex')}', _latin1 X'${LATIN1_HIGH.toString('hex')}',
    _latin1 X'80818D8F90', _utf8mb4 X'${Buffer.from('🦀é', 'utf8').toString('hex')}',
    _utf8mb4 X'${Buffer.from('emoji 👩‍👩‍👧 and quotes \' " \\\\ and a NUL \u0000 end', 'utf8').toString('hex')}',
    _latin1 X'${Buffer.concat([LATIN1_HIGH, LATIN1_HIGH]).toString('hex')}',
    X'00275C00FF', X'${ALL_BYTES.toString('hex')}', X'00275C', X'${Buffer.concat([ALL_BYTES, ALL_BYTES, ALL_BYTES]).toString('hex')}',
    'é', 'x,z,w', '{"a": [1, 2.5, "😀"], "b": null, "big": 18446744073709551615}', 7)`,
  `INSERT INTO app.all_types (id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, d, d0, d5, f, db, dt, dtm, dtm0, dtm3, ts, ts0, ts1,
     tm, tm0, tm1, tm3, y, b1, b10, b64, cu, cl, chl, chu, tx, txl, bn, vb, bl, lb, e, s, j) VALUES
   (2, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
    '-99999999999999999999999999999999999.999999999999999999999999999999', -9999999999, -0.001,
    -1.4e-45, -4.9406564584124654e-324,
    '1000-01-01', '1000-01-01 00:00:00.000000', '1000-01-01 00:00:00', '1000-01-01 00:00:00.001',
    '1970-01-01 00:00:01.000001', '1970-01-01 00:00:01', '1970-01-01 00:00:01.1',
    '-838:59:59.000000', '-00:01:00', '-00:00:01.5', '-12:34:56.789', 1901, b'0', b'0', b'0',
    '', '', '', '', '', '', X'', X'', X'', X'', 'a', '', '[]')`,
  // Zero dates, YEAR 0000, the ENUM error value (index 0), NULL everywhere else.
  `INSERT INTO app.all_types (id, dt, dtm, dtm0, ts, ts0, y, e, tm, tm0) VALUES
   (3, '0000-00-00', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', 0, 'not a member', '00:00:00', '-00:00:00')`,
  // Several rows in one event, fractions at the edges.
  `INSERT INTO app.all_types (id, d, d5, f, db, tm, tm1, tm3, dtm3, ts, cu, e, s, j, b64) VALUES
   (4, '0.000000000000000000000000000001', 0.5, 0.1, 0.1, '-00:00:00.000001', '-00:00:00.1', '-00:00:01.001', '2020-02-29 12:00:00.001', '2021-06-30 23:59:59.5', 'x', 'c d', 'y', '"a string"', b'1000000000000000000000000000000000000000000000000000000000000001'),
   (5, '-0.000000000000000000000000000001', -0.5, 1.17549435e-38, 2.2250738585072014e-308, '00:00:00.999999', '23:59:59.9', '-00:00:00.001', '2020-01-01 00:00:00', '2000-01-01 00:00:00.000001', NULL, NULL, 'x,y,z,w', 'null', x'8000000000000000'),
   (6, '12345678901234567890.123456789012345678901234567890', 12.345, 16777217, 9007199254740993, '-01:00:00', '-00:59:59.9', '100:00:00.5', '1999-12-31 23:59:59.999', '1999-12-31 23:59:59.999999', 'ok', 'b', 'x', '{"nested": {"deep": [true, false]}}', b'0')`,
  // Updates (one moves a primary key), a delete, and a multi-statement transaction.
  `UPDATE app.all_types SET cu = _utf8mb4 X'${Buffer.from('changed 🎉', 'utf8').toString('hex')}', biu = 18446744073709551614, tm = '-00:00:59.999999', e = 'b' WHERE id = 1`,
  `UPDATE app.all_types SET id = 20, s = 'w', d = NULL WHERE id = 2`,
  `UPDATE app.all_types SET cl = _latin1 X'9D', txl = NULL, y = 2000 WHERE id IN (4, 5, 6)`,
  `DELETE FROM app.all_types WHERE id = 3`,
  `BEGIN; INSERT INTO app.all_types (id, cu) VALUES (7, 'in a transaction'); UPDATE app.all_types SET cu = 'twice' WHERE id = 7; INSERT INTO app.all_types (id, bi) VALUES (8, -1); COMMIT`,
];

/** A per-row hash that is exact for every type: binary casts, FLOAT widened to DOUBLE. */
function rowHashQuery(table: TableSchema): string {
  const parts = table.columns.map((column) => {
    const name = quoteIdentifier(column.name);
    const value = column.dataType === 'float' ? `CAST(${name} AS DOUBLE)` : name;
    return `IFNULL(HEX(CAST(${value} AS BINARY)), 'NULL')`;
  });
  return `SELECT id, MD5(CONCAT_WS('|', ${parts.join(', ')})) AS h FROM app.all_types ORDER BY id`;
}

async function fetchRaw(connection: Connection, table: TableSchema): Promise<unknown[]> {
  // Aliased: mysql2 refuses a result column named __proto__, even for rows as arrays.
  const columns = table.columns.map((column, index) => {
    const name = quoteIdentifier(column.name);
    return `${column.dataType === 'float' ? `CAST(${name} AS DOUBLE)` : name} AS c${index}`;
  });
  const [rows] = await connection.query({ sql: `SELECT ${columns.join(', ')} FROM app.all_types ORDER BY id`, rowsAsArray: true, typeCast: rawTypeCast as never });
  return rows as unknown[];
}

describe('binlog decoding round-trips every column type', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let items: StreamItem[] = [];
  let table: TableSchema;

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await connect(sandbox.target.endpoint, { multipleStatements: true });
    for (const connection of [source, target]) {
      await connection.query(`CREATE DATABASE app; ${DDL}`);
    }
    table = (await readTableSchema(source, { database: 'app', name: 'all_types' }))!;
    const p0 = await readSourcePosition(source);
    const streamer = new BinlogStreamer({ endpoint: sandbox.source.endpoint, tables: new Map([['app.all_types', table]]) });
    streamer.start(p0);
    try {
      await source.query("SET SESSION time_zone = '+00:00', SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'");
      for (const statement of WRITES) await source.query(statement);
      items = await drainUntil(streamer, await readSourcePosition(source));
    } finally {
      await streamer.stop();
    }
    await applyItems(target, items, new Map([['app.all_types', table]]));
  });

  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  const rowOf = (id: number): RowItem & { type: 'insert' } => {
    const idIndex = table.columns.findIndex((column) => column.name === 'id');
    const found = items.find((item): item is RowItem & { type: 'insert' } => item.kind === 'row' && item.type === 'insert' && item.after[idIndex] === String(id));
    assert.ok(found, `insert of id ${id} streamed`);
    return found;
  };
  const value = (row: { after: readonly string[] }, name: string): string | undefined => row.after[table.columns.findIndex((column) => column.name === name)];
  /** The decoded image holds exactly the literal that writes `expected` (a JS value) into the column. */
  const expectValue = (row: { after: readonly string[] }, name: string, expected: SqlValue): void =>
    assert.equal(value(row, name), literal(expected, table.columns.find((column) => column.name === name)!), `column ${name}`);

  it('streams every change, each transaction followed by its commit', () => {
    const rows = items.filter((item) => item.kind === 'row');
    // 6 inserted + 1 (id 1) + 1 (id 2→20) + 3 + 1 deleted + 3 in the transaction.
    assert.equal(rows.length, 15);
    assert.equal(items.at(-1)?.kind, 'commit');
    const transaction = items.slice(-4);
    assert.deepEqual(transaction.map((item) => (item.kind === 'row' ? item.type : 'commit')), ['insert', 'update', 'insert', 'commit']);
  });

  it('decodes edge values exactly', () => {
    const max = rowOf(1);
    expectValue(max, 'biu', 18446744073709551615n);
    expectValue(max, 'bi', 9223372036854775807n);
    expectValue(max, 'iu', 4294967295);
    expectValue(max, 'd', '99999999999999999999999999999999999.999999999999999999999999999999');
    expectValue(max, 'f', 3.4028234663852886e38);
    expectValue(max, 'db', 1.7976931348623157e308);
    expectValue(max, 'dtm', '9999-12-31 23:59:59.999999');
    expectValue(max, 'ts', '2038-01-19 03:14:07.999999');
    expectValue(max, 'ts1', '2038-01-19 03:14:07.9');
    expectValue(max, 'tm', '838:59:59.000000');
    expectValue(max, 'y', 2155);
    expectValue(max, 'cl', LATIN1_HIGH);
    expectValue(max, 'chl', Buffer.from([0x80, 0x81, 0x8d, 0x8f, 0x90]));
    expectValue(max, 'cu', Buffer.from('😀 ünïcödé ✓ 中文', 'utf8'));
    expectValue(max, 'bn', Buffer.from([0x00, 0x27, 0x5c, 0x00, 0xff, 0, 0, 0]));
    expectValue(max, 'vb', ALL_BYTES);
    expectValue(max, 'b10', Buffer.from([0x03, 0xff]));
    expectValue(max, 'e', 4);
    expectValue(max, 's', 0b1101);
    expectValue(max, '__proto__', 7);
    expectValue(max, 'g', 2147483648);

    const min = rowOf(2);
    expectValue(min, 'bi', -9223372036854775808n);
    expectValue(min, 'd', '-99999999999999999999999999999999999.999999999999999999999999999999');
    expectValue(min, 'd5', '-0.001');
    expectValue(min, 'tm', '-838:59:59.000000');
    expectValue(min, 'tm0', '-00:01:00');
    expectValue(min, 'tm1', '-00:00:01.5');
    expectValue(min, 'tm3', '-12:34:56.789');
    expectValue(min, 'ts', '1970-01-01 00:00:01.000001');
    expectValue(min, 'db', -5e-324);
    expectValue(min, 'cu', Buffer.alloc(0));
    expectValue(min, 's', 0);

    const zero = rowOf(3);
    expectValue(zero, 'dt', '0000-00-00');
    expectValue(zero, 'dtm', '0000-00-00 00:00:00.000000');
    expectValue(zero, 'ts', '0000-00-00 00:00:00.000000');
    expectValue(zero, 'y', 0);
    expectValue(zero, 'e', 0);
    expectValue(zero, 'cu', null);

    const fractions = rowOf(4);
    expectValue(fractions, 'd', '0.000000000000000000000000000001');
    expectValue(fractions, 'tm', '-00:00:00.000001');
    expectValue(fractions, 'tm1', '-00:00:00.1');
    expectValue(fractions, 'tm3', '-00:00:01.001');
    expectValue(fractions, 'f', Math.fround(0.1));
    expectValue(rowOf(5), 'd', '-0.000000000000000000000000000001');
    expectValue(rowOf(6), 'tm1', '-00:59:59.9');
  });

  it('writes the target identical to the source (exact per-row hash)', async () => {
    const [sourceHashes] = await source.query<RowDataPacket[]>(rowHashQuery(table));
    const [targetHashes] = await target.query<RowDataPacket[]>(rowHashQuery(table));
    assert.equal(sourceHashes.length, 7);
    assert.deepEqual(targetHashes, sourceHashes);
  });

  it('writes the target identical to the source (fetched rows)', async () => {
    await target.query("SET SESSION time_zone = '+00:00'");
    const sourceRows = await fetchRaw(source, table);
    const targetRows = await fetchRaw(target, table);
    assert.equal(targetRows.length, 7);
    assert.deepEqual(targetRows, sourceRows);
  });
});
