// JSON encoding of key values for the state file: Buffers (raw key bytes) survive as base64.
import type { Row, SqlValue } from '../db/sql.js';

export type EncodedValue = null | number | string;

export function encodeValue(value: SqlValue): EncodedValue {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return `b:${value.toString('base64')}`;
  if (typeof value === 'bigint') return `n:${value.toString()}`;
  if (typeof value === 'number') return value;
  return `s:${value}`;
}

export function decodeValue(value: EncodedValue): SqlValue {
  if (value === null || typeof value === 'number') return value;
  const tag = value.slice(0, 2);
  const body = value.slice(2);
  if (tag === 'b:') return Buffer.from(body, 'base64');
  if (tag === 'n:') return BigInt(body);
  if (tag === 's:') return body;
  throw new Error(`unreadable key value in state file: ${value.slice(0, 40)}`);
}

export const encodeRow = (row: Row): EncodedValue[] => row.map(encodeValue);
export const decodeRow = (row: readonly EncodedValue[]): Row => row.map(decodeValue);
