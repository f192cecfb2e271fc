// MySQL's binary JSON (a JSON column in a MySQL row image) as something the target reads back
// to the same document. The layout is MySQL's sql-common/json_binary.h:
//   doc    ::= type value
//   object ::= count size key-entry* value-entry* key* value*     (count, size, offsets: 2 bytes
//   array  ::= count size value-entry* value*                       small, 4 bytes large)
//   key-entry ::= offset length(2)     value-entry ::= type offset-or-inlined-value
//   string ::= length(7 bits per byte, high bit: more) utf8mb4     opaque ::= field-type length data
// Offsets count from the start of the enclosing object or array. Literals and 16-bit integers
// are inlined in the value entry (in the large format 32-bit integers too).
//
// Plain documents become JSON text. MySQL's "opaque" values (DECIMAL, DATE, TIME, DATETIME,
// TIMESTAMP held inside a JSON document) would turn into strings or doubles through text, so a
// document holding one becomes an SQL expression (JSON_OBJECT / JSON_ARRAY / CAST) that rebuilds
// those values with their types: see mysqlJsonLiteral.
// MariaDB stores JSON as LONGTEXT; none of this runs there.
import { decodeDecimal } from './numeric.js';

const SMALL_OBJECT = 0x00;
const LARGE_OBJECT = 0x01;
const SMALL_ARRAY = 0x02;
const LARGE_ARRAY = 0x03;
const LITERAL = 0x04;
const INT16 = 0x05;
const UINT16 = 0x06;
const INT32 = 0x07;
const UINT32 = 0x08;
const INT64 = 0x09;
const UINT64 = 0x0a;
const DOUBLE = 0x0b;
const STRING = 0x0c;
const OPAQUE = 0x0f;

// Field types of opaque values (enum_field_types).
const FIELD_NEWDECIMAL = 246;
const FIELD_DATE = 10;
const FIELD_TIME = 11;
const FIELD_DATETIME = 12;
const FIELD_TIMESTAMP = 7;

/** A decoded JSON value: plain JSON, or a typed MySQL value that JSON text cannot carry. */
type JsonValue =
  | null | boolean | string
  | { readonly number: string }
  | { readonly object: readonly (readonly [string, JsonValue])[] }
  | { readonly array: readonly JsonValue[] }
  | { readonly typed: string };

function inlined(type: number, large: boolean): boolean {
  return type === LITERAL || type === INT16 || type === UINT16 || (large && (type === INT32 || type === UINT32));
}

function readVariableLength(buffer: Buffer, offset: number): { length: number; next: number } {
  let length = 0;
  for (let index = 0; index < 5; index++) {
    const byte = buffer[offset + index]!;
    length |= (byte & 0x7f) << (7 * index);
    if ((byte & 0x80) === 0) return { length: length >>> 0, next: offset + index + 1 };
  }
  throw new Error('binary JSON: string length longer than 5 bytes');
}

function readScalar(buffer: Buffer, type: number, offset: number): JsonValue {
  switch (type) {
    case LITERAL: {
      const literal = buffer[offset]!;
      return literal === 0 ? null : literal === 1;
    }
    case INT16: return { number: String(buffer.readInt16LE(offset)) };
    case UINT16: return { number: String(buffer.readUInt16LE(offset)) };
    case INT32: return { number: String(buffer.readInt32LE(offset)) };
    case UINT32: return { number: String(buffer.readUInt32LE(offset)) };
    case INT64: return { number: buffer.readBigInt64LE(offset).toString() };
    case UINT64: return { number: buffer.readBigUInt64LE(offset).toString() };
    case DOUBLE: {
      const value = buffer.readDoubleLE(offset);
      // A double stays a double through text only if the text shows it is not an integer.
      const text = String(value);
      return { number: /[.eE]/.test(text) ? text : `${text}.0` };
    }
    case STRING: {
      const { length, next } = readVariableLength(buffer, offset);
      return buffer.toString('utf8', next, next + length);
    }
    case OPAQUE: return readOpaque(buffer, offset);
    default:
      throw new Error(`binary JSON: unknown value type 0x${type.toString(16)}`);
  }
}

/** A packed MySQL TIME/DATETIME (my_time.h TIME_to_longlong_*_packed) as text. */
function packedTemporalText(packed: bigint, fieldType: number): string {
  const negative = packed < 0n;
  const magnitude = negative ? -packed : packed;
  const microseconds = Number(magnitude % (1n << 24n));
  const whole = Number(magnitude >> 24n);
  const fraction = microseconds ? `.${String(microseconds).padStart(6, '0')}` : '';
  const two = (value: number) => String(value).padStart(2, '0');
  if (fieldType === FIELD_TIME) {
    const hours = Math.floor(whole / 4096) % (1 << 10);
    return `${negative ? '-' : ''}${two(hours)}:${two(Math.floor(whole / 64) % 64)}:${two(whole % 64)}${fraction}`;
  }
  const yearMonth = Math.floor(whole / 2 ** 17);
  const day = Math.floor(whole / 4096) % 32;
  const clock = whole % 2 ** 17;
  const date = `${String(Math.floor(yearMonth / 13)).padStart(4, '0')}-${two(yearMonth % 13)}-${two(day)}`;
  if (fieldType === FIELD_DATE) return date;
  return `${date} ${two(Math.floor(clock / 4096))}:${two(Math.floor(clock / 64) % 64)}:${two(clock % 64)}${fraction}`;
}

function readOpaque(buffer: Buffer, offset: number): JsonValue {
  const fieldType = buffer[offset]!;
  const { length, next } = readVariableLength(buffer, offset + 1);
  const data = buffer.subarray(next, next + length);
  switch (fieldType) {
    case FIELD_NEWDECIMAL: {
      const precision = data[0]!;
      const scale = data[1]!;
      const text = decodeDecimal(data.subarray(2), precision, scale);
      return { typed: `CAST('${text}' AS DECIMAL(${precision},${scale}))` };
    }
    case FIELD_DATE:
      return { typed: `CAST('${packedTemporalText(data.readBigInt64LE(0), FIELD_DATE)}' AS DATE)` };
    case FIELD_TIME:
      return { typed: `CAST('${packedTemporalText(data.readBigInt64LE(0), FIELD_TIME)}' AS TIME(6))` };
    case FIELD_DATETIME:
    case FIELD_TIMESTAMP:
      return { typed: `CAST('${packedTemporalText(data.readBigInt64LE(0), FIELD_DATETIME)}' AS DATETIME(6))` };
    default:
      // Other opaque values (BLOBs, bit strings, geometry) keep their bytes, as MySQL's CAST(… AS JSON) of them does.
      return { typed: `CAST(X'${data.toString('hex')}' AS JSON)` };
  }
}

function readContainer(buffer: Buffer, start: number, large: boolean, isObject: boolean): JsonValue {
  const read = large ? (at: number) => buffer.readUInt32LE(at) : (at: number) => buffer.readUInt16LE(at);
  const width = large ? 4 : 2;
  const count = read(start);
  const keyEntries = start + 2 * width;
  const valueEntries = keyEntries + (isObject ? count * (width + 2) : 0);
  const values: JsonValue[] = [];
  for (let index = 0; index < count; index++) {
    const entry = valueEntries + index * (1 + width);
    const type = buffer[entry]!;
    values.push(inlined(type, large) ? readScalar(buffer, type, entry + 1) : readValue(buffer, type, start + read(entry + 1)));
  }
  if (!isObject) return { array: values };
  const members: [string, JsonValue][] = [];
  for (let index = 0; index < count; index++) {
    const entry = keyEntries + index * (width + 2);
    const keyStart = start + read(entry);
    members.push([buffer.toString('utf8', keyStart, keyStart + buffer.readUInt16LE(entry + width)), values[index]!]);
  }
  return { object: members };
}

function readValue(buffer: Buffer, type: number, offset: number): JsonValue {
  switch (type) {
    case SMALL_OBJECT: return readContainer(buffer, offset, false, true);
    case LARGE_OBJECT: return readContainer(buffer, offset, true, true);
    case SMALL_ARRAY: return readContainer(buffer, offset, false, false);
    case LARGE_ARRAY: return readContainer(buffer, offset, true, false);
    default: return readScalar(buffer, type, offset);
  }
}

const hasTyped = (value: JsonValue): boolean =>
  value !== null && typeof value === 'object' &&
  ('typed' in value || ('object' in value && value.object.some(([, member]) => hasTyped(member))) || ('array' in value && value.array.some(hasTyped)));

function jsonText(value: JsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if ('number' in value) return value.number;
  if ('array' in value) return `[${value.array.map(jsonText).join(', ')}]`;
  if ('object' in value) return `{${value.object.map(([key, member]) => `${JSON.stringify(key)}: ${jsonText(member)}`).join(', ')}}`;
  throw new Error('binary JSON: a typed value cannot be written as JSON text');
}

const sqlText = (text: string): string => `_utf8mb4 X'${Buffer.from(text, 'utf8').toString('hex')}'`;

/** The same document as an SQL expression, each typed value rebuilt with its type. */
function jsonExpression(value: JsonValue): string {
  if (value !== null && typeof value === 'object') {
    if ('typed' in value) return value.typed;
    if ('array' in value) return `JSON_ARRAY(${value.array.map(jsonExpression).join(',')})`;
    if ('object' in value) return `JSON_OBJECT(${value.object.map(([key, member]) => `${sqlText(key)},${jsonExpression(member)}`).join(',')})`;
  }
  return `CAST(${sqlText(jsonText(value))} AS JSON)`;
}

/** The JSON text of a binary document (throws when it holds typed values; see mysqlJsonLiteral). */
export function mysqlJsonText(binary: Buffer): string {
  return jsonText(readValue(binary, binary[0]!, 1));
}

/** The SQL literal that writes this binary JSON document back exactly. */
export function mysqlJsonLiteral(binary: Buffer): string {
  const value = readValue(binary, binary[0]!, 1);
  return hasTyped(value) ? jsonExpression(value) : sqlText(jsonText(value));
}
