// Pure tests (no server) of the row-image decoders against byte layouts documented by MySQL
// (strings/decimal.c, sql-common/my_time.cc). The round-trip test checks them against a server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDecimal, decodeInteger } from '../../../src/binlog/decode/numeric.js';
import { decodeDate, decodeTime, decodeTime2, decodeTimestamp2, decodeYear } from '../../../src/binlog/decode/temporal.js';
import { decimalByteWidth } from '../../../src/binlog/decode/column-types.js';

const bytes = (...values: number[]): Buffer => Buffer.from(values);

describe('row-image decoders', () => {
  it('decodes DECIMAL (the decimal2bin example of strings/decimal.c)', () => {
    assert.equal(decimalByteWidth(14, 4), 7);
    assert.equal(decodeDecimal(bytes(0x81, 0x0d, 0xfb, 0x38, 0xd2, 0x04, 0xd2), 14, 4), '1234567890.1234');
    assert.equal(decodeDecimal(bytes(0x7e, 0xf2, 0x04, 0xc7, 0x2d, 0xfb, 0x2d), 14, 4), '-1234567890.1234');
    assert.equal(decodeDecimal(bytes(0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), 14, 4), '0.0000');
  });

  it('decodes 64-bit integers without rounding', () => {
    const allOnes = Buffer.alloc(8, 0xff);
    assert.equal(decodeInteger(allOnes, true), 18446744073709551615n);
    assert.equal(decodeInteger(allOnes, false), -1);
    assert.equal(decodeInteger(bytes(0, 0, 0, 0, 0, 0, 0, 0x80), false), -9223372036854775808n);
    assert.equal(decodeInteger(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0), false), 9007199254740991);
    assert.equal(decodeInteger(bytes(0, 0, 0, 0, 0, 0, 0x20, 0), false), 9007199254740992n);
  });

  it('decodes negative whole-second TIME2 values (zongji renders -00:01:00 as -00:00:64)', () => {
    // 0x800000 − 64: the integer part of −(1 minute) at 0 fractional digits.
    assert.equal(decodeTime2(bytes(0x7f, 0xff, 0xc0), 0), '-00:01:00');
    assert.equal(decodeTime2(bytes(0x80, 0x00, 0x00), 0), '00:00:00');
    // −1.10 s at 2 digits: integer part rounded down (−2), fraction stored as 0x100 − 10.
    assert.equal(decodeTime2(bytes(0x7f, 0xff, 0xfe, 0xf6), 2), '-00:00:01.10');
    assert.equal(decodeTime2(bytes(0x7f, 0xff, 0xff, 0x00), 2), '-00:00:01.00');
  });

  it('decodes the other temporal layouts', () => {
    assert.equal(decodeDate(bytes(0, 0, 0)), '0000-00-00');
    assert.equal(decodeDate(Buffer.from([(2020 * 512 + 2 * 32 + 29) & 0xff, ((2020 * 512 + 2 * 32 + 29) >> 8) & 0xff, (2020 * 512 + 2 * 32 + 29) >> 16])), '2020-02-29');
    assert.equal(decodeTimestamp2(bytes(0, 0, 0, 0, 0, 0, 0), 6), '0000-00-00 00:00:00.000000');
    assert.equal(decodeTimestamp2(bytes(0x7f, 0xff, 0xff, 0xff, 0x63), 2), '2038-01-19 03:14:07.99');
    const classicTime = Buffer.alloc(3);
    classicTime.writeIntLE(-83835, 0, 3);
    assert.equal(decodeTime(classicTime), '-08:38:35');
    assert.equal(decodeYear(bytes(0)), 0);
    assert.equal(decodeYear(bytes(255)), 2155);
  });
});
