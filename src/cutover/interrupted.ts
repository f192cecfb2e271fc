// Resuming a run whose process died during cutover, with the writers stopped (the state file
// says so: cutover.ts records it before it stops them). Either the cutover is finished from
// where it was, or the writers are let go and the run cuts over again later; the log says which.
// Finishing is safe only while the writers are provably still stopped: read_only still ON.
// For the other modes nothing proves it, so the writers are let go (undo hook) where that is
// possible; the later cutover then stops them again.
import { CutoverError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { StateTracker, WritersStopped } from '../state/tracker.js';
import { HookWriterStop, ReadOnlyWriterStop, type WriterStop } from './writers.js';

export interface InterruptedCutoverOptions {
  readonly state: StateTracker;
  readonly writerStop: WriterStop;
  /** A read-only stop on the source, for a record of mode read-only when the config now says otherwise. */
  readonly readOnlyStop: () => ReadOnlyWriterStop;
  readonly flushState: () => void;
  readonly logger: Logger;
}

/** Returns the record to finish the cutover with, or undefined when the run goes on normally. */
export async function settleInterruptedCutover(options: InterruptedCutoverOptions): Promise<WritersStopped | undefined> {
  const { state, writerStop, logger } = options;
  const record = state.writersStopped;
  if (!record) return undefined;
  const release = (message: string) => {
    state.writersReleased();
    options.flushState();
    logger.warn({ mode: record.mode, since: record.since }, message);
    return undefined;
  };
  switch (record.mode) {
    case 'read-only': {
      const readOnly = writerStop instanceof ReadOnlyWriterStop ? writerStop : options.readOnlyStop();
      readOnly.adopt(record.previous);
      if (!(await readOnly.isStopped())) {
        return release('the interrupted cutover had made the source read-only, and read_only is OFF again: the writers run, the run continues and cuts over again');
      }
      if (readOnly === writerStop && state.allCopied) {
        logger.warn({ since: record.since, final: record.final }, 'the interrupted cutover left the source read-only: finishing the cutover (drain, verify), without letting the writers go in between');
        return record;
      }
      await readOnly.restore().catch((error: unknown) => {
        throw new CutoverError(`cannot make the source writable again after the interrupted cutover (check read_only by hand): ${errorMessage(error)}`, { cause: error });
      });
      return release('the interrupted cutover had made the source read-only: read_only is restored, the run continues and cuts over again');
    }
    case 'hook': {
      if (writerStop instanceof HookWriterStop && writerStop.undoHook) {
        writerStop.adopt();
        await writerStop.restore();
        return release('the interrupted cutover had stopped the writers with cutover.hook: cutover.undoHook ran, the run continues and cuts over again');
      }
      // Kept: the writers may still be stopped, and the next cutover runs the hook again.
      logger.error({ since: record.since }, 'the interrupted cutover stopped the writers with cutover.hook, and there is no cutover.undoHook: they stay stopped until this run cuts over (let them go by hand if it cannot)');
      return undefined;
    }
    case 'manual':
      return release('the interrupted cutover waited for writers stopped by hand: let them go again, or keep them stopped and confirm the cutover again when the run asks');
  }
}
