// The settings a run may change while it runs (PUT /config): the copy's batch rows and
// concurrency, the replica-lag throttle's bounds, the binlog lag target. Everything else is
// read once from the config. The parts that use these read them here at each step (the copier
// before each batch, the copy gate before each stride), never a copy taken at the start.
import type { Config } from './schema.js';

export interface LiveValues {
  readonly copy: { readonly batchRows: number; readonly concurrency: number };
  readonly throttle: { readonly maxLagSeconds: number; readonly maxPauseSeconds: number; readonly binlogLagTargetSeconds: number };
}

/** A change to some of the live values; validated by the caller (server/config-patch.ts). */
export type LivePatch = { readonly [Section in keyof LiveValues]?: Partial<LiveValues[Section]> };

export type LiveListener = (changed: readonly string[], values: LiveValues) => void;

export class LiveSettings {
  private current: LiveValues;
  private readonly listeners = new Set<LiveListener>();

  constructor(config: Pick<Config, 'copy' | 'throttle'>) {
    this.current = {
      copy: { batchRows: config.copy.batchRows, concurrency: config.copy.concurrency },
      throttle: {
        maxLagSeconds: config.throttle.maxLagSeconds,
        maxPauseSeconds: config.throttle.maxPauseSeconds,
        binlogLagTargetSeconds: config.throttle.binlogLagTargetSeconds,
      },
    };
  }

  get copy(): LiveValues['copy'] {
    return this.current.copy;
  }

  get throttle(): LiveValues['throttle'] {
    return this.current.throttle;
  }

  get values(): LiveValues {
    return this.current;
  }

  /**
   * Applies a validated patch whole and tells the listeners which keys (`copy.batchRows`, …)
   * changed value. Returns those keys; none when every value was already so.
   */
  apply(patch: LivePatch): string[] {
    const changed: string[] = [];
    const next = { copy: { ...this.current.copy }, throttle: { ...this.current.throttle } } as { -readonly [S in keyof LiveValues]: Record<string, number> };
    for (const section of Object.keys(patch) as (keyof LiveValues)[]) {
      for (const [key, value] of Object.entries(patch[section] ?? {})) {
        if (value === undefined || next[section][key] === value) continue;
        next[section][key] = value as number;
        changed.push(`${section}.${key}`);
      }
    }
    if (changed.length === 0) return changed;
    this.current = next as unknown as LiveValues;
    for (const listener of this.listeners) listener(changed, this.current);
    return changed;
  }

  /** Calls `listener` after every change; returns the function that removes it. */
  onChange(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
