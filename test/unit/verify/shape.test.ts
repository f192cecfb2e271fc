// What the schema watch says changed (db/shape.ts): every part of a table's shape that decides
// what a row is, in words a person can act on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeShapeChange, shapeFingerprint, type TableShape } from '../../../src/db/shape.js';
import { shapeChangeError } from '../../../src/verify/schema-watch.js';

const shape: TableShape = {
  columns: [
    { name: 'id', type: 'bigint(20)', charset: null, collation: null, nullable: false, generated: null, expression: null },
    { name: 'email', type: 'varchar(120)', charset: 'utf8mb4', collation: 'utf8mb4_general_ci', nullable: false, generated: null, expression: null },
    { name: 'domain', type: 'varchar(120)', charset: 'utf8mb4', collation: 'utf8mb4_general_ci', nullable: true, generated: 'virtual', expression: "substring_index(`email`,'@',-1)" },
  ],
  primaryKey: ['id'],
  uniqueKeys: [{ name: 'u_email', parts: ['email'] }],
};

const changed = (change: (copy: { -readonly [K in keyof TableShape]: TableShape[K] }) => void): TableShape => {
  const copy = JSON.parse(JSON.stringify(shape)) as TableShape;
  change(copy as never);
  return copy;
};

describe('table shape changes', () => {
  it('finds none in an equal shape, and fingerprints it the same', () => {
    assert.deepEqual(describeShapeChange(shape, changed(() => undefined)), []);
    assert.equal(shapeFingerprint(shape), shapeFingerprint(changed(() => undefined)));
  });

  it('names a changed collation, nullability, type and generation expression', () => {
    const after = changed((copy) => {
      const columns = copy.columns as unknown as { collation: string | null; nullable: boolean; type: string; expression: string | null }[];
      columns[1]!.collation = 'utf8mb4_bin';
      columns[1]!.nullable = true;
      columns[0]!.type = 'int(11)';
      columns[2]!.expression = '`email`';
    });
    assert.deepEqual(describeShapeChange(shape, after), [
      'column id: type bigint(20) → int(11)',
      'column email: collation utf8mb4_general_ci → utf8mb4_bin',
      'column email: nullability NOT NULL → NULL',
      "column domain: generation expression substring_index(`email`,'@',-1) → `email`",
    ]);
    assert.notEqual(shapeFingerprint(shape), shapeFingerprint(after));
  });

  it('names added, dropped and reordered columns, and changed keys', () => {
    const after = changed((copy) => {
      const columns = copy.columns as unknown[];
      columns.splice(2, 1);
      columns.unshift({ name: 'tenant', type: 'int(11)', charset: null, collation: null, nullable: false, generated: null, expression: null });
      (copy as unknown as { primaryKey: string[] }).primaryKey = ['tenant', 'id'];
      (copy as unknown as { uniqueKeys: unknown[] }).uniqueKeys = [{ name: 'u_tenant_email', parts: ['tenant', 'email(20)'] }];
    });
    assert.deepEqual(describeShapeChange(shape, after), [
      'column domain was dropped',
      'column tenant was added (int(11) NOT NULL)',
      'primary key (id) → (tenant, id)',
      'unique key u_email (email) was dropped',
      'unique key u_tenant_email (tenant, email(20)) was added',
    ]);
    const swapped = changed((copy) => (copy.columns as unknown[]).reverse());
    assert.deepEqual(describeShapeChange(shape, swapped), ['column order id, email, domain → domain, email, id']);
    assert.deepEqual(describeShapeChange(shape, undefined), ['the table was dropped or renamed']);
  });

  it('stops the run with the table, the side and the change', () => {
    const tables = [{ database: 'shop', name: 'customers' }];
    const before = new Map([['shop.customers', shape]]);
    assert.equal(shapeChangeError('target', tables, before, new Map(before)), undefined);
    const error = shapeChangeError('target', tables, before, new Map([['shop.customers', changed((copy) => ((copy.uniqueKeys as unknown[]).length = 0))]]));
    assert.match(error?.message ?? '', /^table shop\.customers changed on the target during the run: unique key u_email \(email\) was dropped\. The run stopped and saved its state/);
    assert.equal(error?.name, 'SchemaChangedError');
  });
});
