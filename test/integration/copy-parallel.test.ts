// Several workers copy one table over key ranges (copy/ranges.ts):
// - a whole migration of one large table under a real write load (sysbench oltp_write_only:
//   updates, deletes and inserts across the whole key range) with 4 workers in the table, which
//   ends with every row of source and target equal;
// - a copy stopped while later ranges were done beyond the frontier resumes from the state's
//   lastKey and ends with every row equal;
// - copy.concurrency changed mid-copy through the live settings: workers start and retire, and
//   every row is equal at the end.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { FixedBatchSizer, RowCopier, type CopyGate } from '../../src/copy/copier.js';
import { LoadDataRowWriter } from '../../src/copy/writer.js';
import { LiveSettings } from '../../src/config/live.js';
import { createPool } from '../../src/db/connection.js';
import { preflight, prepareTarget } from '../../src/db/preflight.js';
import { schemaFingerprint, tableKey, type TableSchema } from '../../src/db/schema.js';
import { Ferry } from '../../src/ferry.js';
import { silentLogger } from '../../src/log.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createSysbenchTables, SYSBENCH_DATABASE } from '../../src/sandbox/sysbench.js';
import { SysbenchLoad } from '../../src/sandbox/sysbench-load.js';
import { decodeRow } from '../../src/state/codec.js';
import { StateTracker } from '../../src/state/tracker.js';
import { dumpTable, sandboxConfig, TEST_IDENTITY, testLogger } from './helpers.js';

const ROWS = 200_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('one table copied by several workers', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let tables: readonly TableSchema[];

  const freshState = () =>
    StateTracker.fresh({ source: 's', target: 't', identity: TEST_IDENTITY, start: { file: 'binlog.000001', position: 4 }, fingerprints: new Map(tables.map((table) => [tableKey(table), schemaFingerprint(table)])) });

  const resetTarget = async () => {
    await target.query(`DROP DATABASE IF EXISTS ${SYSBENCH_DATABASE}`);
    const result = await preflight({ source: sandbox.source.endpoint, target: sandbox.target.endpoint, selection: { databases: [SYSBENCH_DATABASE], include: ['*'], exclude: [] }, binlogServerId: 4242, cutoverSetsReadOnly: false });
    await prepareTarget(target, result);
    tables = result.tables;
  };

  const copier = (state: StateTracker, gate: CopyGate, settings: { copy: { batchRows: number; concurrency: number } }, pool: ReturnType<typeof createPool>, onBatch?: (rows: number) => void) =>
    new RowCopier({
      source: sandbox.source.endpoint, writer: new LoadDataRowWriter(pool), tables, rowFilters: new Map(), settings, lockingRead: 'share', state, gate,
      sizerFor: () => new FixedBatchSizer(settings.copy.batchRows), logger: silentLogger(),
      ...(onBatch ? { onBatch: (batch: { rowsRead: number }) => onBatch(batch.rowsRead) } : {}),
    });

  const assertEqual = async () => {
    const expected = await dumpTable(source, SYSBENCH_DATABASE, 'sbtest1');
    const actual = await dumpTable(target, SYSBENCH_DATABASE, 'sbtest1');
    assert.equal(actual.length, expected.length, 'row count');
    const first = actual.findIndex((row, at) => row !== expected[at]);
    assert.equal(first, -1, `rows differ from row ${first}: ${actual[first]?.slice(0, 80)} vs ${expected[first]?.slice(0, 80)}`);
  };

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    await createSysbenchTables(source, 1, ROWS);
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  it('migrates one large table with 4 workers in it under a write load across the key range, every row equal', { timeout: 300_000 }, async () => {
    await target.query(`DROP DATABASE IF EXISTS ${SYSBENCH_DATABASE}`);
    const ferry = new Ferry({
      config: sandboxConfig(sandbox, { databases: [SYSBENCH_DATABASE], copy: { batchRows: 500, adaptive: false, concurrency: 4 }, cutover: { mode: 'read-only', maxLagSeconds: 1 } }),
      logger: testLogger(),
    });
    const load = new SysbenchLoad({
      user: { host: '127.0.0.1', port: sandbox.source.port, user: sandbox.source.applicationUser, password: sandbox.source.applicationPassword },
      database: SYSBENCH_DATABASE, tables: 1, tableSize: ROWS, threads: 4, seconds: 300, rate: 300,
    });
    let peak = 0;
    const sampler = setInterval(() => {
      const status = ferry.status();
      if (status['phase'] === 'copy') peak = Math.max(peak, Number(status['copyWorkers']));
    }, 20);
    try {
      const summary = await ferry.run();
      assert.ok(summary.eventsApplied > 500, `the load wrote during the run: ${summary.eventsApplied} events applied`);
    } finally {
      clearInterval(sampler);
      load.stop();
      await load.finished.catch(() => undefined);
    }
    assert.equal(peak, 4, 'four workers copied the one table at once');
    // The cutover left the source read-only: the load has stopped, the rows are final.
    await assertEqual();
    await source.query('SET GLOBAL read_only = OFF');
  });

  it('resumes a copy stopped with ranges done beyond the frontier, every row equal', { timeout: 120_000 }, async () => {
    await resetTarget();
    const key = `${SYSBENCH_DATABASE}.sbtest1`;
    const stop = new AbortController();
    let batches = 0;
    // The 5th batch waits in the gate until the stop: its range stays undone, so the frontier
    // stays below it while the other workers finish the ranges after it.
    const gate: CopyGate = {
      wait: async (signal) => {
        const batch = ++batches;
        if (batch === 5) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        if (batch === 100) stop.abort(new Error('interrupted'));
      },
    };
    const state = freshState();
    const pool = createPool(sandbox.target.endpoint, 8, { flags: ['+LOCAL_FILES'] } as never);
    try {
      await assert.rejects(copier(state, gate, { copy: { batchRows: 500, concurrency: 4 } }, pool).run(stop.signal), /interrupted/);
      const saved = state.snapshot().tables[key]!;
      assert.equal(saved.done, false);
      assert.ok(saved.lastKey, 'the frontier moved');
      const frontier = Number((decodeRow(saved.lastKey)[0] as Buffer).toString());
      const [[beyond]] = (await target.query(`SELECT COUNT(*) AS n FROM ${key} WHERE id > ${frontier}`)) as unknown as [[{ n: number }]];
      assert.ok(Number(beyond.n) > 0, `rows beyond the frontier ${frontier} were copied: ranges finished out of order (${beyond.n} rows beyond it)`);
      const [[below]] = (await target.query(`SELECT COUNT(*) AS n FROM ${key} WHERE id <= ${frontier}`)) as unknown as [[{ n: number }]];
      assert.equal(Number(below.n), frontier, 'every row up to the frontier is on the target');
      const resumed = new StateTracker(state.snapshot());
      await copier(resumed, { wait: async () => undefined }, { copy: { batchRows: 2000, concurrency: 4 } }, pool).run(new AbortController().signal);
      assert.ok(resumed.table(key).done);
    } finally {
      await pool.end();
    }
    await assertEqual();
  });

  it('follows copy.concurrency and copy.batchRows changed mid-copy: workers start and retire, sizers restart', { timeout: 120_000 }, async () => {
    await resetTarget();
    const settings = new LiveSettings(sandboxConfig(sandbox, { copy: { batchRows: 300, concurrency: 1 } }));
    const seen: number[] = [];
    let run: RowCopier | undefined;
    const gate: CopyGate = {
      wait: async () => {
        seen.push(run!.activeWorkers);
        await sleep(2);
      },
    };
    const pool = createPool(sandbox.target.endpoint, 8, { flags: ['+LOCAL_FILES'] } as never);
    try {
      const batchRows: number[] = [];
      run = copier(freshState(), gate, settings, pool, (rows) => batchRows.push(rows));
      const copying = run.run(new AbortController().signal);
      const phase = async (concurrency: number, until: (workers: number) => boolean) => {
        settings.apply({ copy: { concurrency } });
        const from = seen.length;
        for (let waited = 0; waited < 20_000 && !seen.slice(from).some(until); waited += 10) await sleep(10);
        const after = seen.slice(from);
        assert.ok(after.some(until), `concurrency ${concurrency}: workers seen ${[...new Set(after)].join(',')}`);
        return after;
      };
      await sleep(200);
      assert.ok(seen.length > 0 && seen.every((workers) => workers === 1), `one worker at first: ${[...new Set(seen)].join(',')}`);
      await phase(4, (workers) => workers === 4);
      await phase(2, (workers) => workers === 2);
      // Once down to 2, it stays there.
      const from = seen.length;
      await sleep(300);
      assert.ok(seen.slice(from).every((workers) => workers <= 2), `after the change to 2: ${[...new Set(seen.slice(from))].join(',')}`);
      assert.equal(run.peakWorkers, 4);
      // batchRows: the sizers start again from the new value (a batch in flight may still have the old size).
      settings.apply({ copy: { batchRows: 50 } });
      const sized = batchRows.length + 2;
      await sleep(300);
      const later = batchRows.slice(sized);
      assert.ok(later.length > 5 && later.every((rows) => rows <= 50) && later.includes(50), `batches after the change to 50 rows: ${[...new Set(later)].join(',')}`);
      settings.apply({ copy: { batchRows: 3000 } });
      await copying;
    } finally {
      await pool.end();
    }
    await assertEqual();
  });
});
