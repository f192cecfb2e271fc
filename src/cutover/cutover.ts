// The cutover sequence (DESIGN.md step 5): stop the writers, read the final position, drain the
// applier to it, prove the writers stopped (the position did not move on for the migrated
// tables), verify (the rows changed since they were verified, verify/inline.ts), prove it again, done. On any failure, a stop request included, the writers
// are let go again before the error goes up. The state file learns each change to the writers
// before the run goes on, so that a process that dies here leaves a state whose resume knows the
// writers are stopped (see interrupted.ts).
import type { Connection } from 'mysql2/promise';
import { describePosition, readSourcePosition, type BinlogPosition } from '../binlog/position.js';
import type { TableSchema } from '../db/schema.js';
import { CutoverError, RunCancelledError, SchemaChangedError, VerificationError, WritesContinuedError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { StateTracker, WritersStopped } from '../state/tracker.js';
import { describeDifferences, type VerifyReport } from '../verify/checksum.js';
import { describeSourceWrites, findSourceWritesAfter } from './source-writes.js';
import type { WriterStop } from './writers.js';

export interface CutoverOptions {
  readonly writerStop: WriterStop;
  /** The binlog side: drains to a position, and stops applying. */
  readonly replication: { drainTo(final: BinlogPosition, signal?: AbortSignal): Promise<void> };
  readonly sourceAdmin: Connection;
  readonly tables: readonly TableSchema[];
  /** The comparison at cutover, once the drain is done; undefined: none (verify.enabled false). */
  readonly verify: ((signal: AbortSignal) => Promise<VerifyReport>) | undefined;
  readonly state: StateTracker;
  /** Writes the state file now; throws when it cannot. */
  readonly flushState: () => void;
  /** Races a step against the run's failures (the binlog side's error, a stop request). */
  readonly guard: <T>(work: Promise<T>) => Promise<T>;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Writers that an interrupted run stopped and that are still stopped: finish with them instead of stopping them again. */
  readonly alreadyStopped?: WritersStopped | undefined;
  /** Phase changes, for the status page (`verify` once the drain is done). */
  readonly onPhase?: (phase: 'verify') => void;
}

export interface CutoverOutcome {
  /** Writers stopped → drained. */
  readonly drainSeconds: number;
  /** The comparison at cutover (0 without one). */
  readonly verifySeconds: number;
  readonly downtimeSeconds: number;
  readonly verify: VerifyReport | undefined;
}

export async function runCutover(options: CutoverOptions): Promise<CutoverOutcome> {
  const { writerStop, state, logger, guard, signal } = options;
  const stoppedAt = performance.now();
  try {
    if (options.alreadyStopped) {
      logger.warn({ mode: options.alreadyStopped.mode, since: options.alreadyStopped.since }, 'the writers are still stopped by the interrupted cutover: finishing it');
    } else {
      const previous = await guard(writerStop.prepare());
      state.writersStopping({ mode: writerStop.mode, since: new Date().toISOString(), previous });
      options.flushState();
      await guard(writerStop.stop(signal));
    }
    const final = options.alreadyStopped?.final ?? (await readSourcePosition(options.sourceAdmin));
    state.finalPosition(final);
    options.flushState();
    logger.info({ position: describePosition(final) }, 'writers stopped; draining the binlog to the final position');
    await guard(options.replication.drainTo(final, signal));
    const drainedAt = performance.now();
    await assertWritersStopped(options, final);
    options.onPhase?.('verify');
    let report: VerifyReport | undefined;
    let verifySeconds = 0;
    if (options.verify) {
      const verifyStart = performance.now();
      report = await guard(options.verify(signal));
      verifySeconds = (performance.now() - verifyStart) / 1000;
      if (report.differences.length > 0) {
        // Writes during verification explain a difference better than the difference does.
        await assertWritersStopped(options, final);
        throw new VerificationError(`source and target differ after cutover:\n${describeDifferences(report)}`);
      }
    }
    await assertWritersStopped(options, final);
    state.cutoverCompleted();
    options.flushState();
    // Finishing an interrupted cutover: the writers have been stopped since the other process stopped them.
    const stoppedBefore = options.alreadyStopped ? Math.max(0, performance.timeOrigin + stoppedAt - Date.parse(options.alreadyStopped.since)) : 0;
    return { drainSeconds: (drainedAt - stoppedAt) / 1000, verifySeconds, downtimeSeconds: (stoppedBefore + performance.now() - stoppedAt) / 1000, verify: report };
  } catch (error) {
    throw failureError(error, await releaseWriters(options), options);
  }
}

async function assertWritersStopped(options: CutoverOptions, final: BinlogPosition): Promise<void> {
  const report = await options.guard(findSourceWritesAfter(options.sourceAdmin, final, options.tables));
  const message = describeSourceWrites(final, report);
  if (message) throw new WritesContinuedError(message);
  if (report.now.position !== final.position || report.now.file !== final.file) {
    options.logger.info({ final: describePosition(final), now: describePosition(report.now) }, 'the source binlog moved on, but not for the migrated tables');
  }
}

/** Lets the writers go again; the state file says so once they do. False when that failed. */
async function releaseWriters(options: CutoverOptions): Promise<boolean> {
  const { writerStop, state, logger } = options;
  if (!state.writersStopped) return true;
  let released: boolean;
  try {
    released = await writerStop.restore();
  } catch (restoreError) {
    logger.error({ error: errorMessage(restoreError) }, 'cutover failed AND letting the writers go again failed: check read_only (or your writers) on the source by hand; `tideferry resume` tries again');
    return false;
  }
  logger.warn({ mode: writerStop.mode }, `cutover stopped: ${writerStop.restoredNote}`);
  // Left to a person, the writers stay recorded as stopped: `resume` says so again.
  if (!released) return true;
  state.writersReleased();
  try {
    options.flushState();
  } catch (error) {
    logger.error({ error: errorMessage(error) }, 'the writers run again, but the state file cannot say so');
  }
  return true;
}

/** The error a failed cutover reports: what failed, and what became of the writers. */
function failureError(error: unknown, writersReleased: boolean, options: CutoverOptions): Error {
  const writers = writersReleased
    ? options.writerStop.restoredNote
    : 'letting the writers go again FAILED: check the source by hand (`tideferry resume` tries again)';
  if (options.signal.aborted) {
    return new RunCancelledError(`run stopped (${errorMessage(options.signal.reason)}) during cutover, ${writers}; state saved, resume with \`tideferry resume\``, { cause: error });
  }
  if (error instanceof VerificationError || error instanceof SchemaChangedError) return error;
  if (error instanceof WritesContinuedError) return new WritesContinuedError(`cutover failed, ${writers}: ${error.message}`, { cause: error });
  return new CutoverError(`cutover failed, ${writers}: ${errorMessage(error)}`, { cause: error });
}
