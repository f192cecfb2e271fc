// What one binlog event means, for the connection it arrived on: its common header, the
// FORMAT_DESCRIPTION that says how the events that follow are laid out, the TABLE_MAPs (cached on
// their bytes), the rows of selected tables as row items, the statements the DDL guard judges,
// and the event-group boundaries a resume may start from. A new reader per connection: table
// ids and the format description belong to one dump.
import type { TableRef, TableSchema } from '../../db/schema.js';
import {
  EventType, MARIADB_GTID_PREPARED_XA, MARIADB_GTID_STANDALONE, postHeaderLength, readEventHeader, readFormatDescription,
  readHeartbeatFile, readMariadbGtid, readMysqlGtid, readQuery, readRotate, type EventHeader, type FormatDescription,
} from '../decode/binlog-events.js';
import { TableMapCache } from '../decode/table-map.js';
import { BinlogSchemaChangedError, BinlogStreamError, StatementLoggedChangeError, XaTransactionError, abbreviate } from '../errors.js';
import type { RowImage, RowItem } from '../events.js';
import type { BinlogPosition } from '../position.js';
import { EventGroupTracker, type GroupEvent } from './event-groups.js';
import { classifyStatement } from './statement-guard.js';
import { readRowsEvent, tableReaderFor, type RowsKind, type TableReader } from './table-events.js';

/** Whether a row image belongs to the migration (see streamer.ts, RowFilter). */
export type ImageFilter = (table: TableSchema, image: RowImage) => boolean | undefined;

const ROWS_KIND = new Map<number, { kind: RowsKind; version2: boolean }>([
  [EventType.WRITE_ROWS_V1, { kind: 'insert', version2: false }],
  [EventType.UPDATE_ROWS_V1, { kind: 'update', version2: false }],
  [EventType.DELETE_ROWS_V1, { kind: 'delete', version2: false }],
  [EventType.WRITE_ROWS_V2, { kind: 'insert', version2: true }],
  [EventType.UPDATE_ROWS_V2, { kind: 'update', version2: true }],
  [EventType.DELETE_ROWS_V2, { kind: 'delete', version2: true }],
]);

/** Event types whose contents tideferry cannot read; each says what to change on the source. */
const REFUSED = new Map<number, string>([
  [EventType.TRANSACTION_PAYLOAD, 'the source compresses its binlog transactions (binlog_transaction_compression=ON): turn it off for the migration'],
  [EventType.PARTIAL_UPDATE_ROWS, 'the source logs partial JSON updates (binlog_row_value_options=PARTIAL_JSON): set it to empty for the migration'],
  [EventType.MARIADB_WRITE_ROWS_COMPRESSED_V1, 'the source compresses its row events (log_bin_compress=ON): turn it off for the migration'],
  [EventType.MARIADB_UPDATE_ROWS_COMPRESSED_V1, 'the source compresses its row events (log_bin_compress=ON): turn it off for the migration'],
  [EventType.MARIADB_DELETE_ROWS_COMPRESSED_V1, 'the source compresses its row events (log_bin_compress=ON): turn it off for the migration'],
  [EventType.MARIADB_WRITE_ROWS_COMPRESSED, 'the source compresses its row events (log_bin_compress=ON): turn it off for the migration'],
  [EventType.MARIADB_UPDATE_ROWS_COMPRESSED, 'the source compresses its row events (log_bin_compress=ON): turn it off for the migration'],
  [EventType.MARIADB_DELETE_ROWS_COMPRESSED, 'the source compresses its row events (log_bin_compress=ON): turn it off for the migration'],
  [EventType.MARIADB_QUERY_COMPRESSED, 'the source compresses its binlog statements (log_bin_compress=ON): turn it off for the migration'],
]);

export class EventReader {
  private readonly tableMaps = new TableMapCache<TableReader | undefined>();
  private readonly tracker: EventGroupTracker;
  private format: FormatDescription | undefined;
  /** Row events of selected tables read (before any row filter). */
  rowsReceived = 0;

  constructor(
    from: BinlogPosition,
    /** Whether events carry a CRC32 (what the preamble learnt; a FORMAT_DESCRIPTION confirms it). */
    private checksumBytes: number,
    private readonly tables: ReadonlyMap<string, TableSchema>,
    private readonly push: (item: RowItem) => void,
    private readonly rowFilter: ImageFilter | undefined,
  ) {
    this.tracker = new EventGroupTracker(from);
  }

  /**
   * Reads the event at buffer[start, end). Returns the resume point right after it when it ends
   * an event group (and its source time); throws a TideferryError for what must stop the stream.
   */
  read(buffer: Buffer, start: number, end: number): { boundary: BinlogPosition; timestamp: number } | undefined {
    const header = readEventHeader(buffer, start, end, this.checksumBytes);
    const groupEvent = this.readEvent(buffer, header, end);
    const boundary = groupEvent && this.tracker.observe(groupEvent);
    return boundary ? { boundary, timestamp: header.timestamp } : undefined;
  }

  private readEvent(buffer: Buffer, header: EventHeader, eventEnd: number): GroupEvent | undefined {
    const rows = ROWS_KIND.get(header.type);
    if (rows) {
      this.onRows(buffer, header, rows.kind, rows.version2);
      return { kind: 'rows' };
    }
    switch (header.type) {
      case EventType.TABLE_MAP: {
        const postHeader = postHeaderLength(this.format, EventType.TABLE_MAP, 8);
        this.tableMaps.lookup(buffer, header.bodyStart, header.bodyEnd, postHeader, (map) => {
          const table = this.tables.get(`${map.database}.${map.table}`);
          return table ? tableReaderFor(map, table) : undefined;
        });
        return { kind: 'rows' };
      }
      case EventType.QUERY: {
        const { schema, query } = readQuery(buffer, header, this.format);
        this.onStatement(query, schema);
        return { kind: 'query', statement: query, nextPosition: header.nextPosition };
      }
      case EventType.XID:
      case EventType.XA_PREPARE:
        return { kind: 'commit', nextPosition: header.nextPosition };
      case EventType.MARIADB_GTID: {
        const gtid = readMariadbGtid(buffer, header);
        return {
          kind: 'mariadb-gtid',
          standalone: (gtid.flags & MARIADB_GTID_STANDALONE) !== 0,
          // An XA PREPARE's group carries the rows; the XA COMMIT or ROLLBACK later (FL_COMPLETED_XA) carries none.
          xa: (gtid.flags & MARIADB_GTID_PREPARED_XA) !== 0,
          domainId: gtid.domainId,
          serverId: gtid.serverId,
          seqNo: gtid.seqNo,
        };
      }
      case EventType.GTID:
      case EventType.GTID_TAGGED:
        return { kind: 'mysql-gtid', gtid: header.type === EventType.GTID ? readMysqlGtid(buffer, header) : undefined };
      case EventType.ANONYMOUS_GTID:
        return { kind: 'mysql-gtid', gtid: undefined };
      case EventType.ROTATE: {
        const rotate = readRotate(buffer, header);
        return { kind: 'rotate', file: rotate.file, position: rotate.position };
      }
      case EventType.FORMAT_DESCRIPTION:
        this.format = readFormatDescription(buffer, header.bodyStart, eventEnd);
        this.checksumBytes = this.format.checksum ? 4 : 0;
        return { kind: 'other', nextPosition: header.nextPosition };
      case EventType.HEARTBEAT:
      case EventType.HEARTBEAT_V2:
        return { kind: 'heartbeat', file: header.type === EventType.HEARTBEAT ? readHeartbeatFile(buffer, header) : this.tracker.currentFile, nextPosition: header.nextPosition };
      case EventType.INCIDENT:
        throw new BinlogStreamError('the source logged an INCIDENT event (it lost changes it could not log, e.g. after a crash): its binlog cannot be trusted from here; start a new migration');
      default: {
        const refused = REFUSED.get(header.type);
        if (refused) throw new BinlogStreamError(`the binlog cannot be read: ${refused}`);
        return { kind: 'other', nextPosition: header.nextPosition };
      }
    }
  }

  private onRows(buffer: Buffer, header: EventHeader, kind: RowsKind, version2: boolean): void {
    const postHeader = postHeaderLength(this.format, header.type, version2 ? 10 : 8);
    const tableId = postHeader === 6 ? buffer.readUInt32LE(header.bodyStart) : buffer.readUIntLE(header.bodyStart, 6);
    const entry = this.tableMaps.get(tableId);
    if (!entry) throw new BinlogStreamError(`row event for table id ${tableId} without a TABLE_MAP`);
    const reader = entry.derived;
    if (!reader) return; // a table that is not migrated
    if (this.tracker.insideXa) throw new XaTransactionError(reader.table);
    const filter = this.rowFilter;
    const keep = filter ? (image: RowImage) => filter(reader.table, image) !== false : undefined;
    this.rowsReceived += readRowsEvent(buffer, header.bodyStart, header.bodyEnd, postHeader, version2, kind, reader, header.timestamp, this.push, keep);
  }

  private onStatement(query: string, schema: string): void {
    const effect = classifyStatement(query, schema, (reference) => this.selectedMatching(reference));
    if (effect.kind === 'none') return;
    const table = effect.tables[0]!;
    if (effect.kind === 'row-change') throw new StatementLoggedChangeError(table, query);
    throw new BinlogSchemaChangedError(table, query, `statement: ${abbreviate(query)}`);
  }

  // Names are compared without case: a false match stops a run, a missed one corrupts it.
  private selectedMatching(reference: TableRef): TableRef[] {
    const database = reference.database.toLowerCase();
    const name = reference.name.toLowerCase();
    return [...this.tables.values()].filter(
      (table) => table.database.toLowerCase() === database && (name === '*' || table.name.toLowerCase() === name),
    );
  }
}
