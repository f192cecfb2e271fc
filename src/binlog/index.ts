// The binlog side of tideferry: reading the source binlog as row changes (the streamer) and the
// positions that make resume safe. The applier (applier*.ts) consumes these.
export type { BinlogPosition } from './position.js';
export { compareBinlogPositions, describePosition, readSourcePosition } from './position.js';
export type { CommitItem, RowChange, RowItem, StreamItem } from './events.js';
export { BinlogStreamer, defaultBinlogServerId, type BinlogStreamerOptions, type BinlogStreamerStats, type RowFilter } from './stream/streamer.js';
export { BinlogSchemaChangedError, BinlogStreamError, StatementLoggedChangeError, UnsupportedColumnError } from './errors.js';
