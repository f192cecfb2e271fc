// Writing copied rows to the target: multi-row INSERT IGNORE, or a LOAD DATA LOCAL INFILE stream.
// Either way, rows already on the target (written by the binlog applier) are kept as they are.
// Both stay under the target's max_allowed_packet: a batch's INSERT is cut into several
// statements, and the LOAD DATA file goes in packets well under it.
import { Readable } from 'node:stream';
import type { Pool } from 'mysql2/promise';
import { PacketTooLargeError } from '../binlog/errors.js';
import type { ColumnSchema, TableSchema } from '../db/schema.js';
import { tableKey, valueKind, writableColumns } from '../db/schema.js';
import { literalRow, quoteIdentifier, quoteTable, type Row } from '../db/sql.js';

export type WriteMethod = 'insert' | 'load-data';

export interface RowWriter {
  readonly method: WriteMethod;
  /** Writes rows (writable columns, raw values) and returns how many the target inserted. */
  write(table: TableSchema, rows: readonly Row[]): Promise<number>;
}

// Room left in a packet for the command byte and the protocol's header.
const PACKET_SLACK_BYTES = 1024;

/** The target's max_allowed_packet, read once (on first use) from the writer's own pool. */
class PacketLimit {
  private bytes: Promise<number> | undefined;
  constructor(private readonly target: Pool) {}

  read(): Promise<number> {
    this.bytes ??= this.target.query('SELECT @@max_allowed_packet AS bytes').then(
      ([rows]) => {
        const bytes = Number((rows as { bytes: unknown }[])[0]?.bytes);
        if (!Number.isFinite(bytes) || bytes <= 0) throw new Error(`the target reported max_allowed_packet = ${String(bytes)}`);
        return bytes;
      },
      (error: unknown) => {
        this.bytes = undefined; // read again next time
        throw error;
      },
    );
    return this.bytes;
  }
}

const MEBIBYTE = 1024 * 1024;

/**
 * `head` + tuples joined by commas, as several statements of at most `maxBytes` each.
 * Literals may hold non-ASCII text (quoted dates or numbers do not, hex literals do not), so
 * sizes are counted in UTF-8 bytes, as the statement goes on the wire.
 */
export function insertStatements(table: TableSchema, head: string, tuples: readonly string[], maxBytes: number): string[] {
  const headBytes = Buffer.byteLength(head);
  const statements: string[] = [];
  let start = 0;
  let size = headBytes;
  for (let index = 0; index < tuples.length; index++) {
    const bytes = Buffer.byteLength(tuples[index]!) + 1;
    if (headBytes + bytes > maxBytes) {
      const needed = Math.ceil((headBytes + bytes + PACKET_SLACK_BYTES) / MEBIBYTE);
      throw new PacketTooLargeError(
        `copying ${tableKey(table)}: one row makes an INSERT of ${headBytes + bytes} bytes (values travel as hex, about twice their ` +
          `stored size), more than the target's max_allowed_packet allows (${maxBytes + PACKET_SLACK_BYTES} bytes). Raise ` +
          `max_allowed_packet on the target to at least ${needed}M (SET GLOBAL max_allowed_packet = ${needed * MEBIBYTE}, and in its ` +
          `config file); replaying this row's changes from the binlog needs as much.`,
      );
    }
    if (size + bytes > maxBytes && index > start) {
      statements.push(head + tuples.slice(start, index).join(','));
      start = index;
      size = headBytes;
    }
    size += bytes;
  }
  if (tuples.length > start) statements.push(head + (start === 0 ? tuples.join(',') : tuples.slice(start).join(',')));
  return statements;
}

export class InsertRowWriter implements RowWriter {
  readonly method = 'insert';
  private readonly packetLimit: PacketLimit;
  constructor(private readonly target: Pool) {
    this.packetLimit = new PacketLimit(target);
  }

  /** Several statements when the batch exceeds a packet; each is idempotent, so none needs the others' transaction. */
  async write(table: TableSchema, rows: readonly Row[]): Promise<number> {
    if (rows.length === 0) return 0;
    const columns = writableColumns(table);
    const head = `INSERT IGNORE INTO ${quoteTable(table)} (${columns.map((column) => quoteIdentifier(column.name)).join(',')}) VALUES `;
    const maxBytes = (await this.packetLimit.read()) - PACKET_SLACK_BYTES;
    let inserted = 0;
    for (const sql of insertStatements(table, head, rows.map((row) => literalRow(row, columns)), maxBytes)) {
      const [result] = await this.target.query(sql);
      inserted += (result as { affectedRows: number }).affectedRows;
    }
    return inserted;
  }
}

// LOAD DATA's text format: tab between fields, newline between rows, backslash escapes, \N for
// NULL. The file is declared CHARACTER SET binary so each value's bytes land unconverted: the
// copier reads text in the column's own charset, so they are already right.
// The byte that follows a backslash for each byte that must be escaped; 0: written as is.
const ESCAPE = new Uint8Array(256);
ESCAPE[0x5c] = 0x5c; // backslash
ESCAPE[0x09] = 0x74; // tab
ESCAPE[0x0a] = 0x6e; // newline
ESCAPE[0x00] = 0x30; // NUL, for safety

const BACKSLASH = 0x5c;
const TAB = 0x09;
const NEWLINE = 0x0a;
const NULL_FIELD = Buffer.from('\\N');

/**
 * The batch's LOAD DATA file, written in one pass into one buffer (grown when a batch's escapes
 * need more room): no Buffer per field, values without a byte to escape copied whole. This was
 * most of the engine's CPU in the copy (a Buffer per escaped field and per separator, joined
 * by Buffer.concat: 60% of its samples in `npm run bench -- copy`).
 */
export function loadDataPayload(columns: readonly ColumnSchema[], rows: readonly Row[]): Buffer {
  const bits = columns.map((column) => valueKind(column) === 'bit');
  const width = columns.length;
  let size = rows.length * (width + 1);
  for (const row of rows) {
    for (let index = 0; index < width; index++) {
      const value = row[index];
      size += value === null || value === undefined ? 2 : Buffer.isBuffer(value) ? value.length : String(value).length;
    }
  }
  // A little room for escapes; grown if more are needed.
  let out = Buffer.allocUnsafe(size + (size >> 6) + 64);
  let at = 0;
  const ensure = (bytes: number) => {
    if (at + bytes <= out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(out.length * 2, at + bytes));
    out.copy(grown, 0, 0, at);
    out = grown;
  };
  for (const row of rows) {
    for (let index = 0; index < width; index++) {
      if (index > 0) {
        ensure(1);
        out[at++] = TAB;
      }
      const value = row[index] ?? null;
      if (value === null) {
        ensure(2);
        out[at++] = NULL_FIELD[0]!;
        out[at++] = NULL_FIELD[1]!;
        continue;
      }
      let bytes: Buffer;
      if (bits[index]) {
        // LOAD DATA cannot load BIT values as bytes; they go as a decimal number, converted by SET.
        const raw = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'latin1');
        bytes = Buffer.from(BigInt(raw.length ? '0x' + raw.toString('hex') : '0').toString());
      } else bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
      const length = bytes.length;
      let escapes = 0;
      for (let byte = 0; byte < length; byte++) if (ESCAPE[bytes[byte]!] !== 0) escapes++;
      ensure(length + escapes);
      if (escapes === 0) {
        out.set(bytes, at); // a builtin memcpy; Buffer#copy costs more per call for short fields
        at += length;
        continue;
      }
      for (let byte = 0; byte < length; byte++) {
        const value = bytes[byte]!;
        const escape = ESCAPE[value]!;
        if (escape === 0) out[at++] = value;
        else {
          out[at++] = BACKSLASH;
          out[at++] = escape;
        }
      }
    }
    ensure(1);
    out[at++] = NEWLINE;
  }
  return out.subarray(0, at);
}

export function loadDataStatement(table: TableSchema): string {
  const columns = writableColumns(table);
  const targets = columns.map((column, index) => (valueKind(column) === 'bit' ? `@bit${index}` : quoteIdentifier(column.name)));
  const conversions = columns
    .map((column, index) => (valueKind(column) === 'bit' ? `${quoteIdentifier(column.name)} = CAST(@bit${index} AS UNSIGNED)` : undefined))
    .filter((item) => item !== undefined);
  return (
    `LOAD DATA LOCAL INFILE 'tideferry' IGNORE INTO TABLE ${quoteTable(table)} CHARACTER SET binary ` +
    `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${targets.join(',')})` +
    (conversions.length ? ` SET ${conversions.join(', ')}` : '')
  );
}

/**
 * The file in pieces of at most `chunkBytes`: mysql2 sends each piece the stream yields as one
 * packet, and a packet over max_allowed_packet breaks the connection. Rows may straddle pieces:
 * the server reassembles the file, and a row in it is not bounded by max_allowed_packet
 * (MariaDB 10.11: a 12 MB row loads with max_allowed_packet = 4M).
 */
export function* fileChunks(payload: Buffer, chunkBytes: number): Generator<Buffer> {
  for (let offset = 0; offset < payload.length; offset += chunkBytes) yield payload.subarray(offset, offset + chunkBytes);
}

// Pieces of 1 MiB: far under any max_allowed_packet a server allows by default.
const LOAD_DATA_CHUNK_BYTES = MEBIBYTE;

export class LoadDataRowWriter implements RowWriter {
  readonly method = 'load-data';
  private readonly packetLimit: PacketLimit;
  constructor(private readonly target: Pool) {
    this.packetLimit = new PacketLimit(target);
  }

  async write(table: TableSchema, rows: readonly Row[]): Promise<number> {
    if (rows.length === 0) return 0;
    const payload = loadDataPayload(writableColumns(table), rows);
    const chunkBytes = Math.min(LOAD_DATA_CHUNK_BYTES, Math.floor((await this.packetLimit.read()) / 2));
    const [result] = await this.target.query({
      sql: loadDataStatement(table),
      infileStreamFactory: () => Readable.from(fileChunks(payload, chunkBytes)),
    });
    return (result as { affectedRows: number }).affectedRows;
  }
}
