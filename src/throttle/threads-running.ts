// lhm's other throttler: the target's `Threads_running` (statements executing now). Over
// `throttle.maxThreadsRunning` the pause between copy strides doubles, at or under it halves, as
// for replica lag (backoff.ts); the copy gate takes the larger of the two pauses. A value that
// cannot be read counts as too many. The count includes tideferry's own sessions on the target:
// the copy's writers (up to copy.concurrency), the binlog applier, and this reader.
import type { Connection } from 'mysql2/promise';
import type { Endpoint } from '../db/connection.js';
import { connect } from '../db/connection.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

export interface LoadSource {
  /** Threads_running on the target now; Infinity when it cannot be read. */
  read(): Promise<number>;
  close(): Promise<void>;
}

export class ThreadsRunningSource implements LoadSource {
  private connection: Connection | undefined;
  private closed = false;
  private failing = false;

  constructor(private readonly target: Endpoint, private readonly logger?: Logger) {}

  async read(): Promise<number> {
    if (this.closed) return Infinity;
    try {
      if (!this.connection) {
        const connection = await connect(this.target, { connectTimeout: 5_000 });
        if (this.closed) {
          await connection.end().catch(() => undefined);
          return Infinity;
        }
        connection.on('error', () => undefined);
        this.connection = connection;
      }
      const [rows] = (await this.connection.query("SHOW GLOBAL STATUS LIKE 'Threads_running'")) as unknown as [{ Value: string }[]];
      const value = Number(rows[0]?.Value);
      if (!Number.isFinite(value)) throw new Error('the target reports no Threads_running');
      if (this.failing) this.logger?.info({}, "the target's Threads_running can be read again");
      this.failing = false;
      return value;
    } catch (error) {
      if (!this.failing) this.logger?.warn({ reason: errorMessage(error) }, "cannot read the target's Threads_running: counted as too many (the copy waits) until it can");
      this.failing = true;
      const connection = this.connection;
      this.connection = undefined;
      connection?.destroy();
      return Infinity;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.end().catch(() => connection.destroy());
  }
}
