// When the target is current up to a source position. The last events before `final` need not
// be row events of the selected tables (nor carry a commit item at exactly `final`): once the
// streamer has read up to `final` and nothing is queued or being written, the target is current.
import type { BinlogApplier } from './applier.js';
import { compareBinlogPositions, type BinlogPosition } from './position.js';
import type { BinlogStreamer } from './streamer.js';

export function isDrainedTo(applier: BinlogApplier, streamer: BinlogStreamer, final: BinlogPosition): boolean {
  if (compareBinlogPositions(applier.appliedPosition, final) >= 0) return true;
  const received = streamer.lastReceivedPosition;
  return !!received && compareBinlogPositions(received, final) >= 0 && streamer.queuedItems === 0 && applier.idle;
}
