// Opening the run's state: a fresh one for `run`, the state file's for `resume` once it is shown
// to belong to this run (same servers, tables, row filters and table schemas).
import type { BinlogPosition } from '../binlog/position.js';
import { describePosition } from '../binlog/position.js';
import { describeShapeChange, type TableShape } from '../db/shape.js';
import { ResumeError } from '../errors.js';
import type { Logger } from '../log.js';
import { readStateFile } from './file.js';
import { identityDifferences, type RunIdentity } from './identity.js';
import { StateTracker } from './tracker.js';
import { existsSync } from 'node:fs';

export interface OpenStateOptions {
  readonly path: string;
  readonly resume: boolean;
  readonly identity: RunIdentity;
  /** Schema fingerprint of every selected table, by `database.table` (db/shape.ts). */
  readonly fingerprints: ReadonlyMap<string, string>;
  /** The source shapes behind them, to say what changed. */
  readonly shapes?: ReadonlyMap<string, TableShape>;
  /** Where the run connects, for the file's readers. */
  readonly source: string;
  readonly target: string;
  /** Reads P0, for a fresh run. */
  readonly readStart: () => Promise<BinlogPosition>;
  readonly logger: Logger;
}

export async function openState(options: OpenStateOptions): Promise<StateTracker> {
  const { path, logger } = options;
  if (!options.resume) {
    refuseOverwritingStoppedWriters(path);
    // P0: recorded before streaming starts, and streaming starts before the copy.
    const start = await options.readStart();
    logger.info({ position: describePosition(start), gtid: start.gtid }, 'recorded source binlog position P0');
    return StateTracker.fresh({ source: options.source, target: options.target, identity: options.identity, start, fingerprints: options.fingerprints });
  }
  const saved = readStateFile(path);
  if (saved.cutoverDone) throw new ResumeError(`state file ${path} belongs to a migration that already cut over; nothing to resume`);
  const differences = identityDifferences(saved.identity, options.identity);
  if (differences.length > 0) {
    throw new ResumeError(`state file ${path} belongs to another run: ${differences.join('; ')}. Point the config back at that run's servers and tables, or start a new run (another stateFile)`);
  }
  for (const [key, fingerprint] of options.fingerprints) {
    if (saved.tables[key]?.fingerprint === fingerprint) continue;
    const before = saved.tables[key]?.shapes?.source;
    const changes = before ? describeShapeChange(before, options.shapes?.get(key)) : [];
    throw new ResumeError(`table ${key} changed on the source since ${path} was written${changes.length ? `: ${changes.join('; ')}` : ''}; undo the change, or start a new run`);
  }
  logger.info({ from: describePosition(saved.binlogApplied) }, 'resuming');
  return new StateTracker(saved);
}

/** `run` over the state of a run that died with the writers stopped would forget them. */
function refuseOverwritingStoppedWriters(path: string): void {
  if (!existsSync(path)) return;
  let writersStopped: unknown;
  try {
    writersStopped = readStateFile(path).writersStopped;
  } catch {
    return; // not a current state file: nothing in it to lose
  }
  if (writersStopped) {
    throw new ResumeError(`state file ${path} records a cutover that stopped the source's writers and did not finish: \`tideferry resume\` lets them go or finishes it (or delete the file once you have let them go by hand)`);
  }
}

/**
 * Records the shapes the run works with (a fresh run), or checks that the target's did not change
 * since the state file was written (a resume: the run compared rows against that target shape).
 */
export function recordShapes(state: StateTracker, options: { resume: boolean; path: string; source: ReadonlyMap<string, TableShape>; target: ReadonlyMap<string, TableShape> }): void {
  for (const [key, source] of options.source) {
    const before = state.table(key).shapes?.target;
    const target = options.target.get(key);
    if (options.resume && before) {
      const changes = describeShapeChange(before, target);
      if (changes.length) throw new ResumeError(`table ${key} changed on the target since ${options.path} was written: ${changes.join('; ')}; undo the change, or start a new run`);
    }
    state.recordShapes(key, { source, target });
  }
}
