// Binlog events from the bytes of a COM_BINLOG_DUMP packet: the common header, and the bodies
// of the few event types the stream acts on (everything else is skipped by its type code).
// Layouts: MySQL's libbinlogevents (binlog_event.h, control_events.h, statement_events.h) and
// MariaDB's log_event.h; the row events and TABLE_MAP are in rows.ts and table-map.ts.
//
// Reading walks the packet buffer by offsets: no copy of the event, no object per field beyond
// the few the stream needs.

/** Event type codes (the ones tideferry reads or refuses). */
export const EventType = {
  QUERY: 2,
  STOP: 3,
  ROTATE: 4,
  FORMAT_DESCRIPTION: 15,
  XID: 16,
  TABLE_MAP: 19,
  WRITE_ROWS_V1: 23,
  UPDATE_ROWS_V1: 24,
  DELETE_ROWS_V1: 25,
  INCIDENT: 26,
  HEARTBEAT: 27,
  WRITE_ROWS_V2: 30,
  UPDATE_ROWS_V2: 31,
  DELETE_ROWS_V2: 32,
  GTID: 33,
  ANONYMOUS_GTID: 34,
  XA_PREPARE: 38,
  PARTIAL_UPDATE_ROWS: 39,
  TRANSACTION_PAYLOAD: 40,
  HEARTBEAT_V2: 41,
  GTID_TAGGED: 42,
  MARIADB_ANNOTATE_ROWS: 160,
  MARIADB_BINLOG_CHECKPOINT: 161,
  MARIADB_GTID: 162,
  MARIADB_GTID_LIST: 163,
  MARIADB_START_ENCRYPTION: 164,
  MARIADB_QUERY_COMPRESSED: 165,
  MARIADB_WRITE_ROWS_COMPRESSED_V1: 166,
  MARIADB_UPDATE_ROWS_COMPRESSED_V1: 167,
  MARIADB_DELETE_ROWS_COMPRESSED_V1: 168,
  MARIADB_WRITE_ROWS_COMPRESSED: 169,
  MARIADB_UPDATE_ROWS_COMPRESSED: 170,
  MARIADB_DELETE_ROWS_COMPRESSED: 171,
} as const;

export const HEADER_LENGTH = 19;

/** Where an event sits in the packet buffer, and its common header. */
export interface EventHeader {
  /** Source time of the event (its statement's start), whole seconds since the epoch. */
  readonly timestamp: number;
  readonly type: number;
  readonly serverId: number;
  /** Position of the next event in the binlog file (0 for events the server makes up, such as a fake rotate). */
  readonly nextPosition: number;
  readonly flags: number;
  /** First byte of the event body (after the common header). */
  readonly bodyStart: number;
  /** End of the event body (before the checksum, if any). */
  readonly bodyEnd: number;
}

/** The common header of the event at `start`, which ends at `end` (a checksum of `checksumBytes` last). */
export function readEventHeader(buffer: Buffer, start: number, end: number, checksumBytes: number): EventHeader {
  return {
    timestamp: buffer.readUInt32LE(start),
    type: buffer[start + 4]!,
    serverId: buffer.readUInt32LE(start + 5),
    nextPosition: buffer.readUInt32LE(start + 13),
    flags: buffer.readUInt16LE(start + 17),
    bodyStart: start + HEADER_LENGTH,
    bodyEnd: end - checksumBytes,
  };
}

/** What the FORMAT_DESCRIPTION event says about the events that follow. */
export interface FormatDescription {
  /** Length of the post-header of each event type, by type code (index type − 1). */
  readonly postHeaderLengths: Buffer;
  /** Whether events carry a CRC32 checksum in their last four bytes. */
  readonly checksum: boolean;
  readonly serverVersion: string;
}

/**
 * binlog_version (2), server_version (50), create_timestamp (4), header_length (1), the
 * post-header lengths (one byte per type), and — since MySQL 5.6.1 / MariaDB 5.3 — the
 * checksum algorithm byte followed by the event's own checksum. The FORMAT_DESCRIPTION event
 * is checksummed whatever the setting, so its body is read without knowing it first.
 */
export function readFormatDescription(buffer: Buffer, bodyStart: number, eventEnd: number): FormatDescription {
  const serverVersion = buffer.toString('latin1', bodyStart + 2, bodyStart + 52).replace(/\0.*$/s, '');
  const lengthsStart = bodyStart + 2 + 50 + 4 + 1;
  // The last 5 bytes are the checksum algorithm (1) and the CRC32 (4) on servers that know checksums.
  const algorithm = buffer[eventEnd - 5]!;
  const knowsChecksums = versionAtLeast(serverVersion, 5, 6, 1) || /mariadb/i.test(serverVersion);
  const lengthsEnd = knowsChecksums ? eventEnd - 5 : eventEnd;
  return {
    postHeaderLengths: Buffer.from(buffer.subarray(lengthsStart, lengthsEnd)),
    checksum: knowsChecksums && algorithm === 1,
    serverVersion,
  };
}

function versionAtLeast(version: string, major: number, minor: number, patch: number): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [a, b, c] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
}

/** The post-header length of `type` (defaults for a stream that has not seen a FORMAT_DESCRIPTION yet). */
export function postHeaderLength(format: FormatDescription | undefined, type: number, fallback: number): number {
  const length = format?.postHeaderLengths[type - 1];
  return length === undefined ? fallback : length;
}

/** ROTATE: the position (8) and the name of the next binlog file. */
export function readRotate(buffer: Buffer, header: EventHeader): { file: string; position: number } {
  return {
    position: Number(buffer.readBigUInt64LE(header.bodyStart)),
    file: buffer.toString('utf8', header.bodyStart + 8, header.bodyEnd),
  };
}

/**
 * QUERY: thread id (4), exec time (4), schema length (1), error code (2), status-vars length
 * (2, since v4) — then the status variables, the default schema and a NUL, and the statement.
 */
export function readQuery(buffer: Buffer, header: EventHeader, format: FormatDescription | undefined): { schema: string; query: string } {
  const postHeader = postHeaderLength(format, EventType.QUERY, 13);
  const schemaLength = buffer[header.bodyStart + 8]!;
  const statusLength = postHeader >= 13 ? buffer.readUInt16LE(header.bodyStart + 11) : 0;
  const schemaStart = header.bodyStart + postHeader + statusLength;
  return {
    schema: buffer.toString('utf8', schemaStart, schemaStart + schemaLength),
    query: buffer.toString('utf8', schemaStart + schemaLength + 1, header.bodyEnd),
  };
}

/** MariaDB GTID flags (log_event.h): the group is one standalone statement; an XA PREPARE; an XA COMMIT/ROLLBACK. */
export const MARIADB_GTID_STANDALONE = 0x01;
export const MARIADB_GTID_PREPARED_XA = 0x40;
export const MARIADB_GTID_COMPLETED_XA = 0x80;

/** MariaDB GTID: sequence number (8), domain id (4), flags (1), then optional parts. */
export function readMariadbGtid(buffer: Buffer, header: EventHeader): { domainId: number; serverId: number; seqNo: bigint; flags: number } {
  return {
    seqNo: buffer.readBigUInt64LE(header.bodyStart),
    domainId: buffer.readUInt32LE(header.bodyStart + 8),
    serverId: header.serverId,
    flags: buffer[header.bodyStart + 12]!,
  };
}

/** MySQL GTID: flags (1), source uuid (16), transaction number (8). */
export function readMysqlGtid(buffer: Buffer, header: EventHeader): string {
  const uuid = buffer.toString('hex', header.bodyStart + 1, header.bodyStart + 17);
  const gno = buffer.readBigInt64LE(header.bodyStart + 17);
  return `${uuid.slice(0, 8)}-${uuid.slice(8, 12)}-${uuid.slice(12, 16)}-${uuid.slice(16, 20)}-${uuid.slice(20)}:${gno}`;
}

/** HEARTBEAT: the body is the name of the binlog file the source is at (its position is the header's). */
export const readHeartbeatFile = (buffer: Buffer, header: EventHeader): string => buffer.toString('utf8', header.bodyStart, header.bodyEnd);
