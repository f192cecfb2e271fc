// A throwaway Prometheus (Debian package `prometheus`) for tests: its own config, data dir and
// port under a temp folder, scraping the given targets every second; stop() kills it and waits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/sandbox/index.js';

export const prometheusInstalled = (): boolean => spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;

export interface QueryResult {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export class TestPrometheus {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
    private readonly output: () => string,
  ) {}

  /** Starts Prometheus scraping `targets` (host:port) as job `job`, and waits until it is ready. */
  static async start(job: string, targets: readonly string[]): Promise<TestPrometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'tf-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, JSON.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: job, static_configs: [{ targets }] }],
    })); // YAML is a superset of JSON
    const port = await freePort();
    const child = spawn('prometheus', [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-4000); });
    const prometheus = new TestPrometheus(child, dir, `http://127.0.0.1:${port}`, () => output);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${output}`);
      const ready = await fetch(`${prometheus.url}/-/ready`).then((response) => response.ok, () => false);
      if (ready) return prometheus;
      if (Date.now() > deadline) {
        await prometheus.stop();
        throw new Error(`prometheus not ready after 30 s: ${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** An instant query; throws with Prometheus' error for a query it rejects. */
  async query(expr: string): Promise<QueryResult[]> {
    const response = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: QueryResult[] } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? response.status}`);
    return body.data!.result;
  }

  /** Values of a label over the series that match `match` (what Grafana's label_values() asks). */
  async labelValues(label: string, match: string): Promise<string[]> {
    const response = await fetch(`${this.url}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': match })}`);
    return ((await response.json()) as { data: string[] }).data;
  }

  get log(): string {
    return this.output();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
