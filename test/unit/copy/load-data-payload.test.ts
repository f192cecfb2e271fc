// The LOAD DATA file of a batch (copy/writer.ts), written in one pass: every byte that must be
// escaped is, NULL is \N, BIT goes as a decimal number, and the bytes match a plain reference
// encoder for random values (escapes dense enough to outgrow the first buffer).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { loadDataPayload } from '../../../src/copy/writer.js';
import type { ColumnSchema } from '../../../src/db/schema.js';
import type { Row } from '../../../src/db/sql.js';

const column = (name: string, dataType: string): ColumnSchema => ({ name, dataType, columnType: dataType, unsigned: false, charset: dataType === 'blob' ? null : 'utf8mb4', collation: null, json: false, nullable: true, generated: false });

function reference(columns: readonly ColumnSchema[], rows: readonly Row[]): Buffer {
  const escape = (bytes: Buffer) => {
    const out: number[] = [];
    for (const byte of bytes) {
      const map: Record<number, number> = { 0x5c: 0x5c, 0x09: 0x74, 0x0a: 0x6e, 0x00: 0x30 };
      if (map[byte] === undefined) out.push(byte);
      else out.push(0x5c, map[byte]!);
    }
    return Buffer.from(out);
  };
  return Buffer.concat(
    rows.map((row) =>
      Buffer.concat([
        Buffer.concat(
          columns.map((column, index) => {
            const value = row[index] ?? null;
            const field = value === null ? Buffer.from('\\N') : column.dataType === 'bit' ? Buffer.from(BigInt('0x' + (value as Buffer).toString('hex')).toString()) : escape(Buffer.isBuffer(value) ? value : Buffer.from(String(value)));
            return index > 0 ? Buffer.concat([Buffer.from('\t'), field]) : field;
          }),
        ),
        Buffer.from('\n'),
      ]),
    ),
  );
}

describe('LOAD DATA payload', () => {
  const columns = [column('id', 'int'), column('body', 'blob'), column('note', 'varchar'), column('flags', 'bit')];

  it('escapes backslash, tab, newline and NUL; NULL is \\N; BIT is decimal', () => {
    const rows: Row[] = [[Buffer.from('1'), Buffer.from('a\\b\tc\nd\0e'), null, Buffer.from([0x01, 0x00])], [Buffer.from('2'), Buffer.alloc(0), 'héllo', null]];
    assert.equal(loadDataPayload(columns, rows).toString('latin1'), Buffer.from('1\ta\\\\b\\tc\\nd\\0e\t\\N\t256\n2\t\t' + 'héllo' + '\t\\N\n').toString('latin1'));
  });

  it('matches the reference encoder byte for byte on random values, escapes outgrowing the first buffer', () => {
    for (let round = 0; round < 20; round++) {
      const rows: Row[] = Array.from({ length: 200 }, (_, index) => {
        // Every other row all escapes: twice its size on the wire.
        const body = index % 2 ? Buffer.alloc(300, round % 2 ? 0x5c : 0x0a) : randomBytes(300);
        return [Buffer.from(String(index)), body, index % 7 ? randomBytes(20).toString('hex') : null, index % 5 ? randomBytes(2) : null];
      });
      assert.deepEqual(loadDataPayload(columns, rows), reference(columns, rows));
    }
  });
});
