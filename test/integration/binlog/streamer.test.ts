// The streamer against a real source: reconnection after the dump connection is killed,
// backpressure on a slow consumer, and the errors that must stop a run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { startSandbox, type Sandbox } from '../../../src/sandbox/index.js';
import { readTableSchema } from '../../../src/db/introspect.js';
import type { TableSchema } from '../../../src/db/schema.js';
import { SchemaChangedError } from '../../../src/errors.js';
import { compareBinlogPositions, readSourcePosition, type BinlogPosition } from '../../../src/binlog/position.js';
import { BinlogStreamer, type BinlogStreamerOptions } from '../../../src/binlog/stream/streamer.js';
import { BinlogStreamError, StatementLoggedChangeError, XaTransactionError } from '../../../src/binlog/errors.js';
import type { StreamItem } from '../../../src/binlog/events.js';
import { drainUntil, sleep } from './helpers.js';

describe('BinlogStreamer', () => {
  let sandbox: Sandbox;
  let admin: Connection;
  const streamers: BinlogStreamer[] = [];

  before(async () => {
    sandbox = await startSandbox();
    admin = await sandbox.source.connect();
    await admin.query(`CREATE DATABASE app;
      CREATE TABLE app.kills (id INT PRIMARY KEY, v VARCHAR(30));
      CREATE TABLE app.big (id INT PRIMARY KEY, v TEXT);
      CREATE TABLE app.pressure (id INT PRIMARY KEY, v VARCHAR(50));
      CREATE TABLE app.heavy (id INT PRIMARY KEY, v LONGBLOB);
      CREATE TABLE app.watched (id INT PRIMARY KEY, v VARCHAR(10));
      CREATE TABLE app.other (id INT PRIMARY KEY);
      CREATE TABLE app.statements (id INT PRIMARY KEY);
      CREATE TABLE app.truncated (id INT PRIMARY KEY);
      CREATE TABLE app.filtered (id INT PRIMARY KEY, v INT);
      CREATE TABLE app.quiet (id INT PRIMARY KEY);
      CREATE TABLE app.xa (id INT PRIMARY KEY);
      CREATE TABLE app.xa_other (id INT PRIMARY KEY);`);
  });

  after(async () => {
    for (const streamer of streamers) await streamer.stop();
    await admin?.end();
    await sandbox?.stop();
  });

  async function streamerFor(names: readonly string[], options: Partial<BinlogStreamerOptions> = {}): Promise<BinlogStreamer> {
    const tables = new Map<string, TableSchema>();
    for (const name of names) tables.set(`app.${name}`, (await readTableSchema(admin, { database: 'app', name }))!);
    const streamer = new BinlogStreamer({ endpoint: sandbox.source.endpoint, tables, ...options });
    streamers.push(streamer);
    return streamer;
  }

  const insertedIds = (items: readonly StreamItem[]): number[] =>
    items.flatMap((item) => (item.kind === 'row' && item.type === 'insert' ? [Number(item.after[0])] : []));

  /** Takes items until take() rejects; returns what came before and the error. */
  async function takeUntilError(streamer: BinlogStreamer, timeoutMs = 10_000): Promise<{ items: StreamItem[]; error: unknown }> {
    const items: StreamItem[] = [];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        items.push(...(await streamer.take(100, 200)));
      } catch (error) {
        return { items, error };
      }
    }
    throw new Error(`take() did not reject within ${timeoutMs} ms; got ${items.length} items`);
  }

  it('reconnects after its dump connection is killed, and loses no row', async (context) => {
    const streamer = await streamerFor(['kills']);
    streamer.start(await readSourcePosition(admin));
    const writer = await sandbox.source.connect();
    const received = new Set<number>();
    let duplicates = 0;
    let consuming = true;
    const consumer = (async () => {
      while (consuming) {
        for (const id of insertedIds(await streamer.take(500, 50))) {
          if (received.has(id)) duplicates++;
          received.add(id);
        }
      }
    })();

    // The writer keeps going until three kills have happened and 3000 rows are written.
    const killed: number[] = [];
    let written = 0;
    const writing = (async () => {
      // Five rows per transaction, so that a kill may land inside one.
      while (written < 3000 || killed.length < 3) {
        const values = Array.from({ length: 5 }, (_, offset) => `INSERT INTO app.kills VALUES (${written + offset + 1}, 'row');`);
        await writer.query(`BEGIN; ${values.join(' ')} COMMIT;`);
        written += 5;
      }
    })();

    const killDeadline = Date.now() + 20_000;
    while (killed.length < 3) {
      assert.ok(Date.now() < killDeadline, `only ${killed.length} kills in 20 s (${streamer.stats.rowsReceived} rows received)`);
      const threadId = streamer.binlogConnectionThreadId;
      if (threadId !== undefined && !killed.includes(threadId) && streamer.stats.rowsReceived > 300 * (killed.length + 1)) {
        await admin.query(`KILL CONNECTION ${threadId}`);
        killed.push(threadId);
      }
      await sleep(10);
    }
    await writing;
    await writer.end();
    const total = written;
    const final = await readSourcePosition(admin);
    const deadline = Date.now() + 20_000;
    while (received.size < total && Date.now() < deadline) await sleep(50);
    consuming = false;
    await consumer;

    assert.ok(streamer.reconnects >= 3, `reconnected ${streamer.reconnects} times`);
    assert.equal(received.size, total, `received ${received.size} of ${total} rows (${duplicates} duplicates)`);
    const [[count]] = (await admin.query('SELECT COUNT(*) AS n FROM app.kills')) as unknown as [[{ n: number }]];
    assert.equal(Number(count.n), total);
    assert.ok(compareBinlogPositions(streamer.lastReceivedPosition!, final) >= 0);
    context.diagnostic(`kills ${killed.length}, reconnects ${streamer.reconnects}, rows received ${streamer.stats.rowsReceived}, redelivered ${duplicates}`);
  });

  it('delivers a transaction cut by a kill again, whole, after the rows already queued', async (context) => {
    // One transaction far larger than the socket buffers, read by a slow consumer: the dump is
    // stalled inside it when the connection is killed.
    const streamer = await streamerFor(['big'], { maxQueuedItems: 100 });
    streamer.start(await readSourcePosition(admin));
    const total = 3000;
    const padding = 'x'.repeat(4000);
    const statements = Array.from({ length: total }, (_, index) => `INSERT INTO app.big VALUES (${index + 1}, '${padding}');`);
    await admin.query(`BEGIN; ${statements.join(' ')} COMMIT;`);

    const received: number[] = [];
    let commits = 0;
    let killedAfter: number | undefined;
    const deadline = Date.now() + 30_000;
    while (commits === 0 && Date.now() < deadline) {
      const items = await streamer.take(50, 100);
      received.push(...insertedIds(items));
      commits += items.filter((item) => item.kind === 'commit').length;
      if (killedAfter === undefined && received.length >= 500) {
        killedAfter = received.length;
        await admin.query(`KILL CONNECTION ${streamer.binlogConnectionThreadId}`);
      }
    }
    const distinct = new Set(received);
    context.diagnostic(`killed after ${killedAfter} rows; received ${received.length} rows, ${distinct.size} distinct`);
    assert.equal(streamer.reconnects, 1);
    assert.equal(distinct.size, total);
    // Rows before the kill came twice: the replay starts at the transaction's beginning.
    assert.ok(received.length > total, `received ${received.length} rows`);
    assert.deepEqual(received.slice(received.length - total), Array.from({ length: total }, (_, index) => index + 1));
  });

  it('pauses the socket while the queue is full, and exceeds the bound by at most one event', async (context) => {
    const maxQueuedItems = 50;
    const rowsPerStatement = 10;
    const streamer = await streamerFor(['pressure'], { maxQueuedItems });
    streamer.start(await readSourcePosition(admin));
    const statements = Array.from({ length: 300 }, (_, statement) =>
      `INSERT INTO app.pressure VALUES ${Array.from({ length: rowsPerStatement }, (_, row) => `(${statement * rowsPerStatement + row + 1}, 'value')`).join(',')};`,
    );
    await admin.query(statements.join(' '));

    let maxQueued = 0;
    let pausedSeen = false;
    const sampler = setInterval(() => {
      maxQueued = Math.max(maxQueued, streamer.queuedItems);
      pausedSeen ||= streamer.socketPaused;
    }, 1);
    const received = new Set<number>();
    const deadline = Date.now() + 30_000;
    try {
      while (received.size < 3000 && Date.now() < deadline) {
        maxQueued = Math.max(maxQueued, streamer.queuedItems);
        for (const id of insertedIds(await streamer.take(5, 100))) received.add(id);
        await sleep(1);
      }
    } finally {
      clearInterval(sampler);
    }
    context.diagnostic(`queue peaked at ${maxQueued} items (bound ${maxQueuedItems})`);
    assert.equal(received.size, 3000);
    assert.ok(pausedSeen, 'the socket was paused');
    assert.ok(maxQueued >= maxQueuedItems, `the queue filled up (max ${maxQueued})`);
    assert.ok(maxQueued <= maxQueuedItems + rowsPerStatement, `queue peaked at ${maxQueued} items, bound ${maxQueuedItems} + one event of ${rowsPerStatement} rows`);
  });

  it('bounds the bytes queued when rows are large', async (context) => {
    const maxQueuedBytes = 100_000;
    const rowBytes = 4000;
    const streamer = await streamerFor(['heavy'], { maxQueuedBytes });
    streamer.start(await readSourcePosition(admin));
    await admin.query(Array.from({ length: 300 }, (_, index) => `INSERT INTO app.heavy VALUES (${index + 1}, REPEAT('x', ${rowBytes}));`).join(' '));
    let maxBytes = 0;
    const sampler = setInterval(() => {
      maxBytes = Math.max(maxBytes, streamer.queuedBytes);
    }, 1);
    const received = new Set<number>();
    const deadline = Date.now() + 30_000;
    try {
      while (received.size < 300 && Date.now() < deadline) {
        maxBytes = Math.max(maxBytes, streamer.queuedBytes);
        for (const id of insertedIds(await streamer.take(2, 100))) received.add(id);
        await sleep(1);
      }
    } finally {
      clearInterval(sampler);
    }
    context.diagnostic(`queued bytes peaked at ${maxBytes} (bound ${maxQueuedBytes})`);
    assert.equal(received.size, 300);
    assert.ok(maxBytes >= maxQueuedBytes * 0.9, `the byte bound was reached (peak ${maxBytes})`);
    // Over by at most the one event being handled: a row image holds its text as hex, two characters per byte.
    assert.ok(maxBytes <= maxQueuedBytes + 2 * rowBytes + 200, `queued bytes peaked at ${maxBytes}`);
  });

  it('stops with SchemaChangedError at an ALTER TABLE of a selected table, after the rows before it', async () => {
    const streamer = await streamerFor(['watched']);
    streamer.start(await readSourcePosition(admin));
    await admin.query(`INSERT INTO app.watched VALUES (1, 'a');
      ALTER TABLE app.other ADD COLUMN x INT;
      INSERT INTO app.watched VALUES (2, 'b');
      ALTER TABLE app.watched ADD COLUMN extra INT;
      INSERT INTO app.watched VALUES (3, 'c', 3);`);
    const { items, error } = await takeUntilError(streamer);
    assert.deepEqual(insertedIds(items), [1, 2]);
    assert.ok(error instanceof SchemaChangedError, `got ${String(error)}`);
    assert.match(error.message, /app\.watched/);
    assert.match(error.message, /ALTER TABLE app\.watched ADD COLUMN extra INT/);
  });

  it('stops with SchemaChangedError at a TRUNCATE of a selected table', async () => {
    const streamer = await streamerFor(['truncated']);
    streamer.start(await readSourcePosition(admin));
    await admin.query('INSERT INTO app.truncated VALUES (1); TRUNCATE TABLE `app`.`truncated`');
    const { error } = await takeUntilError(streamer);
    assert.ok(error instanceof SchemaChangedError, `got ${String(error)}`);
    assert.match(error.message, /TRUNCATE/);
  });

  it('stops when a change to a selected table is logged as a statement', async () => {
    const streamer = await streamerFor(['statements']);
    streamer.start(await readSourcePosition(admin));
    await admin.query("SET SESSION binlog_format = 'STATEMENT'; INSERT INTO app.statements VALUES (1); SET SESSION binlog_format = 'ROW'");
    const { error } = await takeUntilError(streamer);
    assert.ok(error instanceof StatementLoggedChangeError, `got ${String(error)}`);
    assert.match(error.message, /app\.statements/);
  });

  it('reaches the end of the binlog after a rotation (for the cutover drain)', async () => {
    const streamer = await streamerFor(['watched']);
    streamer.start(await readSourcePosition(admin));
    await admin.query("INSERT INTO app.other (id) VALUES (100); FLUSH BINARY LOGS");
    const final: BinlogPosition = await readSourcePosition(admin);
    await drainUntil(streamer, final, 10_000);
    assert.equal(streamer.lastReceivedPosition?.file, final.file);
    assert.ok(final.gtid && streamer.lastReceivedPosition?.gtid === final.gtid, `gtid ${streamer.lastReceivedPosition?.gtid} vs ${final.gtid}`);
  });

  it('stays connected while the source is idle (heartbeats)', async () => {
    const streamer = await streamerFor(['quiet'], { heartbeatMs: 200, idleTimeoutMs: 1000 });
    streamer.start(await readSourcePosition(admin));
    await sleep(2500);
    assert.equal(streamer.reconnects, 0);
    await admin.query('INSERT INTO app.quiet VALUES (1)');
    const items = await drainUntil(streamer, await readSourcePosition(admin), 5000);
    assert.deepEqual(insertedIds(items), [1]);
  });

  it('drops changes whose images all fall outside the row filter, and keeps updates that cross it', async () => {
    const streamer = await streamerFor(['filtered'], { rowFilter: (_table, image) => Number(image[1]) % 2 === 1 });
    streamer.start(await readSourcePosition(admin));
    await admin.query(`INSERT INTO app.filtered VALUES (1, 1), (2, 2), (3, 3);
      UPDATE app.filtered SET v = 5 WHERE id = 1;
      UPDATE app.filtered SET v = 4 WHERE id = 2;
      UPDATE app.filtered SET v = 6 WHERE id = 3;
      DELETE FROM app.filtered WHERE id IN (1, 2);`);
    const items = await drainUntil(streamer, await readSourcePosition(admin));
    const changes = items.flatMap((item) => (item.kind === 'row' ? [`${item.type} ${(item.type === 'insert' ? item.after : item.before)[0]}`] : []));
    assert.deepEqual(changes, ['insert 1', 'insert 3', 'update 1', 'update 3', 'delete 1']);
  });

  it('stops at an XA transaction on a selected table before any of its rows, and not at one on another table', async () => {
    // XA rows reach the binlog at XA PREPARE, before the outcome; this one is rolled back.
    const streamer = await streamerFor(['xa']);
    streamer.start(await readSourcePosition(admin));
    await admin.query(`XA START 'other'; INSERT INTO app.xa_other VALUES (1); XA END 'other'; XA PREPARE 'other'; XA COMMIT 'other';
      INSERT INTO app.xa VALUES (1);
      XA START 'rolled back'; INSERT INTO app.xa VALUES (2); XA END 'rolled back'; XA PREPARE 'rolled back'; XA ROLLBACK 'rolled back';
      INSERT INTO app.xa VALUES (3);`);
    const { items, error } = await takeUntilError(streamer);
    assert.ok(error instanceof XaTransactionError, `got ${String(error)}`);
    assert.match(error.message, /an XA transaction \(XA START … XA PREPARE\) changed app\.xa.*Nothing of it was applied/);
    assert.deepEqual(insertedIds(items), [1], 'the row before the XA transaction came, none of it');
  });

  it('fails with a clear error when the binlog file is gone', async () => {
    const streamer = await streamerFor(['watched']);
    streamer.start({ file: 'binlog.000999', position: 4 });
    const { error } = await takeUntilError(streamer);
    assert.ok(error instanceof BinlogStreamError, `got ${String(error)}`);
    assert.match(error.message, /binlog\.000999.*no longer on the source/);
  });

  it('fails with a clear error when the start position is not an event boundary', async () => {
    const streamer = await streamerFor(['watched']);
    const current = await readSourcePosition(admin);
    streamer.start({ file: current.file, position: 5 });
    const { error } = await takeUntilError(streamer);
    assert.ok(error instanceof BinlogStreamError, `got ${String(error)}`);
    assert.match(error.message, /cannot send its binlog from the requested position/);
  });
});
