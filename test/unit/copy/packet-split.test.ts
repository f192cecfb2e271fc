// The copy's writes under the target's max_allowed_packet: an INSERT batch is cut into
// statements that each fit, in row order; a row that cannot fit alone is a clear error; the
// LOAD DATA file goes in pieces that each fit in a packet.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PacketTooLargeError } from '../../../src/binlog/errors.js';
import { fileChunks, insertStatements } from '../../../src/copy/writer.js';
import type { TableSchema } from '../../../src/db/schema.js';

const table: TableSchema = { database: 'big', name: 'docs', columns: [], primaryKey: ['id'], hasSecondaryUniqueKey: false, createStatement: '' };
const head = 'INSERT IGNORE INTO `big`.`docs` (`id`,`body`) VALUES ';
const tuple = (id: number, bytes: number) => `(${id},X'${'ab'.repeat(bytes)}')`;

describe('copy statements under max_allowed_packet', () => {
  it('keeps a batch that fits in one statement', () => {
    const tuples = [tuple(1, 10), tuple(2, 10)];
    assert.deepEqual(insertStatements(table, head, tuples, 10_000), [head + tuples.join(',')]);
  });

  it('cuts a batch into statements that each fit, every row once, in order', () => {
    const tuples = Array.from({ length: 40 }, (_, index) => tuple(index, 100 + ((index * 37) % 400)));
    const maxBytes = 2000;
    const statements = insertStatements(table, head, tuples, maxBytes);
    assert.ok(statements.length > 5);
    for (const statement of statements) {
      assert.ok(Buffer.byteLength(statement) <= maxBytes, `${Buffer.byteLength(statement)} bytes`);
      assert.ok(statement.startsWith(head));
    }
    assert.equal(statements.map((statement) => statement.slice(head.length)).join(','), tuples.join(','));
  });

  it('counts bytes, not characters', () => {
    const tuples = ["(1,'é')", "(2,'é')"]; // 7 characters, 8 bytes; 9 counted with a comma
    assert.equal(insertStatements(table, head, tuples, Buffer.byteLength(head) + 17).length, 2);
    assert.equal(insertStatements(table, head, tuples, Buffer.byteLength(head) + 18).length, 1);
  });

  it('refuses a row that cannot fit alone, naming the table, the size and the setting', () => {
    assert.throws(() => insertStatements(table, head, [tuple(1, 10), tuple(2, 3000)], 4000), (error: unknown) => {
      assert.ok(error instanceof PacketTooLargeError);
      assert.match(error.message, /copying big\.docs: one row makes an INSERT of 6\d{3} bytes/);
      assert.match(error.message, /max_allowed_packet allows \(5024 bytes\)\. Raise max_allowed_packet on the target to at least 1M/);
      return true;
    });
  });

  it('sends the LOAD DATA file in pieces of at most the chunk size', () => {
    const payload = Buffer.from('x'.repeat(2500));
    const pieces = [...fileChunks(payload, 1000)];
    assert.deepEqual(pieces.map((piece) => piece.length), [1000, 1000, 500]);
    assert.ok(Buffer.concat(pieces).equals(payload));
  });
});
