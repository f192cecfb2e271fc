// The state file: written atomically (temp file, fsync, rename), so a crash mid-write leaves
// the previous state whole.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ResumeError } from '../errors.js';
import { STATE_VERSION, type MigrationState } from './tracker.js';

export function writeStateFile(path: string, state: MigrationState): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const descriptor = openSync(temporary, 'w', 0o600);
  try {
    writeSync(descriptor, JSON.stringify(state, null, 2) + '\n');
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  renameSync(temporary, path);
  // The rename itself is durable only once the directory is synced.
  const directory = openSync(dirname(resolve(path)), 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}

export function readStateFile(path: string): MigrationState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ResumeError(`cannot read state file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let state: MigrationState;
  try {
    state = JSON.parse(text) as MigrationState;
  } catch (error) {
    throw new ResumeError(`state file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const version = (state as { version?: unknown }).version;
  if (version === 1) {
    throw new ResumeError(
      `state file ${path} was written by an earlier tideferry (state version 1), which did not record the run's servers, tables and row filters, ` +
        'so resuming cannot be checked to be safe: finish that run with the version that started it, or delete the file and start a new run',
    );
  }
  if (version === 2) {
    throw new ResumeError(
      `state file ${path} was written by an earlier tideferry (state version 2), which verified only at cutover and did not record what was verified, ` +
        'so resuming would have to guess which rows were compared: finish that run with the version that started it, or delete the file and start a new run',
    );
  }
  if (version !== STATE_VERSION || !state.tables || !state.binlogApplied || !state.identity) {
    throw new ResumeError(`state file ${path} is not a tideferry state file this version can read (version ${String(version)}, expected ${STATE_VERSION})`);
  }
  return state;
}
