// A write load on the sample database, for the demo and the correctness tests: inserts,
// updates and deletes across the key range (rows not yet copied included), updates that move a
// row's primary key ahead of or behind the copy cursor, zero and negative keys, and rows deleted
// and re-inserted in one transaction.
import { classifyError } from '../db/retry.js';
import type { Connection } from 'mysql2/promise';
import { ALL_TYPES_COLUMNS, allTypesValues, DEFAULT_SAMPLE_SIZES, SAMPLE_DATABASE, type SampleSizes } from './sample.js';
import { seededRandom } from './random.js';
import type { SandboxServer } from './server.js';

export interface WriteLoadOptions {
  /** Target operations per second over all connections (0: as fast as they go). */
  readonly ratePerSecond: number;
  readonly connections: number;
  readonly sizes?: SampleSizes;
  /** Seed of the operation mix, for reproducible runs. */
  readonly seed?: number;
  /** Reconnect and go on after a lost connection (the server restarted) instead of failing. */
  readonly survivesRestarts?: boolean;
}

export interface WriteLoadStats {
  operations: number;
  /** Operations refused by the server as they should be (a key move onto a taken key). */
  conflicts: number;
  readonly byKind: Record<string, number>;
}

type Random = () => number;

type Operation = (random: Random) => { kind: string; sql: string };

function operations(sizes: SampleSizes): Operation[] {
  const half = Math.floor(sizes.customers / 2);
  const int = (random: Random, low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  // Keys a little beyond both ends, so inserts land ahead of and behind the copy cursor.
  const customerId = (random: Random) => int(random, -half - 1000, half + 1000);
  const sku = (random: Random) => `${['A', 'b', 'Z'][int(random, 0, 2)]}-${String(int(random, 1, sizes.products + 500)).padStart(6, '0')}`;
  const allTypesId = (random: Random) => int(random, 0, sizes.allTypes + 500);
  return [
    (r) => ({ kind: 'insert', sql: `INSERT IGNORE INTO customers VALUES (${customerId(r)}, 'New 🙂', 'new@example.com', ${r() * 1000}, NOW(6))` }),
    (r) => ({ kind: 'update', sql: `UPDATE customers SET balance = balance + 1, name = CONCAT(LEFT(name, 80), '+') WHERE id = ${customerId(r)}` }),
    (r) => ({ kind: 'update', sql: `UPDATE customers SET email = CONCAT('u', id, '@example.org') WHERE id BETWEEN ${customerId(r)} AND ${customerId(r)} LIMIT 5` }),
    (r) => ({ kind: 'delete', sql: `DELETE FROM customers WHERE id = ${customerId(r)}` }),
    (r) => ({ kind: 'key-move', sql: `UPDATE customers SET id = ${customerId(r)} WHERE id = ${customerId(r)}` }),
    (r) => ({ kind: 'zero-key', sql: `INSERT INTO customers VALUES (0, 'Zero', 'zero@example.com', ${r()}, NOW(6)) ON DUPLICATE KEY UPDATE balance = balance + 1` }),
    (r) => {
      const id = customerId(r);
      return { kind: 'reinsert', sql: `START TRANSACTION; DELETE FROM customers WHERE id = ${id}; INSERT IGNORE INTO customers VALUES (${id}, 'Reborn', 'again@example.com', 1, NOW(6)); COMMIT` };
    },
    (r) => ({ kind: 'insert', sql: `INSERT IGNORE INTO orders VALUES (${int(r, -20, 1000)}, ${int(r, -10, 60)}, ${int(r, 0, 99999) / 100}, 'new', 'n\u00e9w')` }),
    (r) => ({ kind: 'update', sql: `UPDATE orders SET status = 'paid', amount = amount + 1 WHERE customer_id = ${int(r, -10, 990)} LIMIT 3` }),
    (r) => ({ kind: 'key-move', sql: `UPDATE orders SET order_no = order_no + ${int(r, -30, 30)} WHERE customer_id = ${int(r, -10, 990)} AND order_no = ${int(r, -5, 35)}` }),
    (r) => ({ kind: 'delete', sql: `DELETE FROM orders WHERE customer_id = ${int(r, -10, 990)} AND order_no = ${int(r, -5, 35)}` }),
    (r) => ({ kind: 'update', sql: `UPDATE products SET price = price * 1.01, tags = 'sale,red' WHERE sku = '${sku(r)}'` }),
    (r) => ({ kind: 'key-move', sql: `UPDATE products SET sku = '${sku(r)}' WHERE sku = '${sku(r)}'` }),
    (r) => ({ kind: 'insert', sql: `INSERT IGNORE INTO products (sku, title, price) VALUES ('${sku(r)}', 'Fresh ✨', ${r() * 100})` }),
    (r) => ({ kind: 'update', sql: `UPDATE files SET body = RANDOM_BYTES(${int(r, 1, 100)}) WHERE hash = UNHEX(MD5(${int(r, 1, sizes.files)}))` }),
    (r) => ({ kind: 'insert', sql: `INSERT IGNORE INTO all_types (${ALL_TYPES_COLUMNS}) SELECT ${allTypesValues(String(allTypesId(r)))}` }),
    (r) => ({ kind: 'update', sql: `UPDATE all_types SET vc = CONCAT('upd ✓ ', id), t = '-12:34:56.789', f32 = f32 / 3, dec65 = -dec65, j = JSON_OBJECT('u', id) WHERE id = ${allTypesId(r)}` }),
    (r) => ({ kind: 'delete', sql: `DELETE FROM all_types WHERE id = ${allTypesId(r)}` }),
  ];
}

const CONFLICT_CODES = new Set(['ER_DUP_ENTRY', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

export class WriteLoad {
  readonly stats: WriteLoadStats = { operations: 0, conflicts: 0, byKind: {} };
  private running = false;
  private workers: Promise<void>[] = [];
  private connections: Connection[] = [];

  constructor(
    private readonly server: SandboxServer,
    private readonly options: WriteLoadOptions,
  ) {}

  async start(): Promise<void> {
    this.running = true;
    const mix = operations(this.options.sizes ?? DEFAULT_SAMPLE_SIZES);
    const perConnectionInterval = this.options.ratePerSecond > 0 ? (1000 * this.options.connections) / this.options.ratePerSecond : 0;
    for (let index = 0; index < this.options.connections; index++) {
      const connection = await this.server.connectAsApplication({ database: SAMPLE_DATABASE });
      await connection.query("SET time_zone = '+00:00'");
      this.connections.push(connection);
      const random = seededRandom((this.options.seed ?? 1) * 1000 + index);
      this.workers.push(this.work(connection, mix, random, perConnectionInterval));
    }
  }

  /** Operations lost to a restart (sent, their outcome unknown) when survivesRestarts. */
  reconnects = 0;

  private async work(first: Connection, mix: Operation[], random: Random, intervalMs: number): Promise<void> {
    let next = performance.now();
    let connection = first;
    while (this.running) {
      const operation = mix[Math.floor(random() * mix.length)]!(random);
      try {
        await connection.query(operation.sql);
        this.stats.operations++;
        this.stats.byKind[operation.kind] = (this.stats.byKind[operation.kind] ?? 0) + 1;
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        if (CONFLICT_CODES.has(code)) {
          this.stats.conflicts++;
          await connection.query('ROLLBACK').catch(() => undefined);
        } else if (code === 'ER_OPTION_PREVENTS_STATEMENT') {
          // The source went read-only: cutover has stopped the writers.
          await connection.query('ROLLBACK').catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 50));
        } else if (this.options.survivesRestarts && classifyError(error) === 'connection') {
          // The server restarted: a new connection once it is back (the operation's outcome is
          // the server's business; the migration is compared against what the source holds).
          const index = this.connections.indexOf(connection);
          connection.destroy();
          for (;;) {
            if (!this.running) return;
            try {
              connection = await this.server.connectAsApplication({ database: SAMPLE_DATABASE });
              await connection.query("SET time_zone = '+00:00'");
              break;
            } catch {
              await new Promise((resolve) => setTimeout(resolve, 200));
            }
          }
          this.reconnects++;
          if (index >= 0) this.connections[index] = connection;
        } else if (this.running) {
          throw error;
        }
      }
      if (intervalMs > 0) {
        next += intervalMs;
        const wait = next - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        else if (wait < -1000) next = performance.now();
      }
    }
  }

  /** Stops the load and resolves with its figures; rejects if an operation failed unexpectedly. */
  async stop(): Promise<WriteLoadStats> {
    this.running = false;
    try {
      await Promise.all(this.workers);
    } finally {
      await Promise.all(this.connections.map((connection) => connection.end().catch(() => undefined)));
    }
    return this.stats;
  }
}
