// `tideferry demo`: the whole job on an embedded default. Starts a source, a target and a
// replica of the target, fills a sample shop, runs a write load on the source, migrates with
// cutover, and prints the figures. Everything is thrown away afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from './config/load.js';
import { RunCancelledError, errorMessage } from './errors.js';
import { Ferry } from './ferry.js';
import type { Logger } from './log.js';
import { startSandbox } from './sandbox/index.js';
import { WriteLoad } from './sandbox/load.js';
import { createSampleDatabase, DEFAULT_SAMPLE_SIZES, SAMPLE_DATABASE, type SampleSizes } from './sandbox/sample.js';
import type { RunSummary } from './summary.js';

export interface DemoOptions {
  readonly writeRate: number;
  readonly scale: number;
  readonly logger: Logger;
  /** Stops the demo (the CLI's Ctrl-C): the migration stops, the sandbox is removed. */
  readonly signal?: AbortSignal;
  /** Called when the migration starts, with its ferry (the CLI's progress line reads its status). */
  readonly onMigration?: (ferry: Ferry) => void;
}

export async function runDemo(options: DemoOptions): Promise<RunSummary> {
  const { logger } = options;
  const scale = Number.isFinite(options.scale) && options.scale > 0 ? options.scale : 1;
  const sizes = Object.fromEntries(Object.entries(DEFAULT_SAMPLE_SIZES).map(([key, value]) => [key, Math.round(value * scale)])) as unknown as SampleSizes;
  logger.info('starting sandbox servers: source, target, and a replica of the target');
  const sandbox = await startSandbox({ replica: true });
  const work = mkdtempSync(join(tmpdir(), 'tideferry-demo-'));
  let load: WriteLoad | undefined;
  const stopped = () => {
    if (options.signal?.aborted) throw new RunCancelledError(`demo stopped (${errorMessage(options.signal.reason)}); its sandbox servers are removed`);
  };
  try {
    stopped();
    const admin = await sandbox.source.connect();
    await createSampleDatabase(admin, sizes);
    await admin.end();
    stopped();
    logger.info({ rows: Object.values(sizes).reduce((a, b) => a + b, 0) }, 'sample shop created on the source');
    load = new WriteLoad(sandbox.source, { ratePerSecond: options.writeRate, connections: 2, sizes });
    await load.start();
    logger.info({ operationsPerSecond: options.writeRate }, 'write load running on the source');
    const config = parseConfig(
      {
        source: sandbox.source.endpoint,
        target: sandbox.target.endpoint,
        databases: [SAMPLE_DATABASE],
        throttle: { replicas: [sandbox.replica!.endpoint], maxLagSeconds: 1 },
        stateFile: join(work, 'state.json'),
        http: { listen: '127.0.0.1:0' },
        cutover: { mode: 'read-only', maxLagSeconds: 1 },
      },
      'demo config',
    );
    stopped();
    const ferry = new Ferry({ config, logger });
    const cancel = () => ferry.cancel(errorMessage(options.signal?.reason));
    options.signal?.addEventListener('abort', cancel, { once: true });
    let summary: RunSummary;
    try {
      const running = ferry.run();
      options.onMigration?.(ferry);
      summary = await running;
    } catch (error) {
      stopped();
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', cancel);
    }
    const stats = await load.stop();
    load = undefined;
    logger.info({ operations: stats.operations, byKind: stats.byKind }, 'write load stopped (cutover made the source read-only)');
    return summary;
  } finally {
    await load?.stop().catch(() => undefined);
    await sandbox.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
