// MySQL's binary JSON (decode/mysql-json.ts) on documents built by hand to the layout of MySQL's
// sql-common/json_binary.h: offsets count from the start of the enclosing object or array,
// literals and 16-bit integers are inlined in the value entries. MySQL is not available on
// these machines, so these are what holds the reader to the format.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mysqlJsonLiteral, mysqlJsonText } from '../../../src/binlog/decode/mysql-json.js';

const u16 = (value: number) => [value & 0xff, value >> 8];

describe('MySQL binary JSON', () => {
  it('reads scalars at the top level', () => {
    assert.equal(mysqlJsonText(Buffer.from([0x04, 0x01])), 'true');
    assert.equal(mysqlJsonText(Buffer.from([0x04, 0x00])), 'null');
    assert.equal(mysqlJsonText(Buffer.from([0x05, ...u16(0xfffe)])), '-2');
    const big = Buffer.alloc(9);
    big[0] = 0x0a;
    big.writeBigUInt64LE(18446744073709551615n, 1);
    assert.equal(mysqlJsonText(big), '18446744073709551615');
    const double = Buffer.alloc(9);
    double[0] = 0x0b;
    double.writeDoubleLE(3, 1);
    assert.equal(mysqlJsonText(double), '3.0', 'a double stays a double through text');
    assert.equal(mysqlJsonText(Buffer.from([0x0c, 0x03, 0x61, 0xc3, 0xa9])), '"aé"');
  });

  it('reads a small array: inlined values and a string at an offset', () => {
    // [1, "ab", null]: count 3, size 16, three value entries (type + 2 bytes), then "ab" at 13.
    const doc = Buffer.from([
      0x02,
      ...u16(3), ...u16(16),
      0x05, ...u16(1),
      0x0c, ...u16(13),
      0x04, ...u16(0),
      0x02, 0x61, 0x62,
    ]);
    assert.equal(mysqlJsonText(doc), '[1, "ab", null]');
  });

  it('reads a small object: keys at offsets, a double and a nested array', () => {
    // {"a": 1.5, "b": [true]}: header 4, key entries 2 × 4, value entries 2 × 3, keys at 18 and 19,
    // the double at 20, the array at 28 (count 1, size 7, one inlined literal).
    const value = Buffer.alloc(8);
    value.writeDoubleLE(1.5);
    const doc = Buffer.from([
      0x00,
      ...u16(2), ...u16(35),
      ...u16(18), ...u16(1),
      ...u16(19), ...u16(1),
      0x0b, ...u16(20),
      0x02, ...u16(28),
      0x61, 0x62,
      ...value,
      ...u16(1), ...u16(7), 0x04, ...u16(1),
    ]);
    assert.equal(mysqlJsonText(doc), '{"a": 1.5, "b": [true]}');
    assert.equal(mysqlJsonLiteral(doc), `_utf8mb4 X'${Buffer.from('{"a": 1.5, "b": [true]}').toString('hex')}'`);
  });

  it('rebuilds typed values (opaque DECIMAL) with CAST instead of text', () => {
    // [12.50] as DECIMAL(4,2): opaque field type 246, length 4: precision 4, scale 2, then the
    // packed decimal (strings/decimal.c): one byte of integer digits with the sign bit, one of fraction.
    const doc = Buffer.from([
      0x02,
      ...u16(1), ...u16(13),
      0x0f, ...u16(7),
      246, 0x04, 4, 2, 0x8c, 0x32,
    ]);
    assert.equal(mysqlJsonLiteral(doc), "JSON_ARRAY(CAST('12.50' AS DECIMAL(4,2)))");
    assert.throws(() => mysqlJsonText(doc), /typed value/);
  });
});
