// The binlog side of tideferry (docs/architecture.md, "The binlog side"): Replication is the
// unit to run; the rest is what its users see of it.
export { Replication, type ReplicationOptions } from './replication.js';
export type { AppliedBatch, BinlogBatchSizer } from './apply/applier.js';
export type { BinlogPosition } from './position.js';
export { compareBinlogPositions, describePosition, readSourcePosition } from './position.js';
export type { CommitItem, RowChange, RowImage, RowItem, StreamItem } from './events.js';
export { BinlogStreamer, defaultBinlogServerId, type BinlogStreamerOptions, type BinlogStreamerStats, type RowFilter } from './stream/streamer.js';
export {
  BinlogSchemaChangedError, BinlogStreamError, PacketTooLargeError, StatementLoggedChangeError, UnsupportedColumnError, XaTransactionError,
} from './errors.js';
