// What a copy batch reads and writes when the primary key holds a generated column: the key is
// read (the cursor needs it) but not written (the target computes it), and a batch whose last
// row has no key is an error, never the end of the table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { batchLayout, batchRowKey, CopyCursorError, selectBatch, writtenValues } from '../../../src/copy/cursor.js';
import type { ColumnSchema, TableSchema } from '../../../src/db/schema.js';

const column = (name: string, generated = false): ColumnSchema => ({ name, dataType: 'int', columnType: 'int(11)', unsigned: false, charset: null, collation: null, json: false, nullable: false, generated });

const table: TableSchema = {
  database: 'gk',
  name: 'events',
  columns: [column('id'), column('kind'), column('bucket', true), column('shout', true), column('payload')],
  primaryKey: ['bucket', 'id'],
  hasSecondaryUniqueKey: false,
  createStatement: '',
};

describe('copy batch layout', () => {
  it('reads the writable columns, then the generated key columns', () => {
    const layout = batchLayout(table);
    assert.deepEqual(layout.columns.map((item) => item.name), ['id', 'kind', 'payload', 'bucket']);
    assert.equal(layout.written, 3);
    assert.deepEqual(layout.keyPositions, [3, 0]);
    assert.match(selectBatch({ table, after: undefined, limit: 10, lock: 'share' }), /^SELECT `id` AS c0,`kind` AS c1,`payload` AS c2,`bucket` AS c3 FROM `gk`\.`events` ORDER BY `bucket`,`id` LIMIT 10/);
  });

  it('writes the writable columns only, and keys by the whole primary key', () => {
    const layout = batchLayout(table);
    const row = [Buffer.from('7'), Buffer.from('12'), null, Buffer.from('5')];
    assert.deepEqual(writtenValues(layout, row), [Buffer.from('7'), Buffer.from('12'), null]);
    assert.deepEqual(batchRowKey(layout, row, table), [Buffer.from('5'), Buffer.from('7')]);
  });

  it('reads nothing extra for a key of plain columns', () => {
    const plain = { ...table, primaryKey: ['id'] };
    const layout = batchLayout(plain);
    assert.equal(layout.columns.length, layout.written);
    const row = [Buffer.from('7'), Buffer.from('12'), null];
    assert.equal(writtenValues(layout, row), row);
  });

  it('refuses a last row without its key instead of ending the table', () => {
    const layout = batchLayout(table);
    assert.throws(() => batchRowKey(layout, [Buffer.from('7'), Buffer.from('12'), null], table), (error: unknown) => {
      assert.ok(error instanceof CopyCursorError);
      assert.match(error.message, /gk\.events .* primary-key column bucket/);
      return true;
    });
    assert.throws(() => batchRowKey(layout, [null, Buffer.from('12'), null, Buffer.from('5')], table), /primary-key column id/);
  });
});
