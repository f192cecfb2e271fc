import { startBenchServers, stopBenchServers, probeCosts, targetVia, runSteady, checksums } from './apply-harness.js';
let servers;
const t0 = Date.now();
try {
  servers = await startBenchServers({ tables: 4, rowsPerTable: 25000 });
  console.log('setup', (Date.now() - t0) / 1000);
  for (const delay of [0, 3]) {
    const via = await targetVia(servers, delay);
    const p = await probeCosts(servers, via.endpoint, 2);
    console.log('delay', delay, { m_us: p.m * 1e6, o_ms: p.o * 1e3, batches: p.batches, gen: Math.round(p.generatorRate), drain: Math.round(p.drainRate) });
    await via.stop();
  }
  const via = await targetVia(servers, undefined);
  for (const sizer of [1000, 'adaptive'] as const) {
    const r = await runSteady(servers, { target: via.endpoint, sizer, rate: 8000, warmupSeconds: 2, seconds: 4, drainCapSeconds: 5 });
    const { points, ...rest } = r;
    console.log(JSON.stringify(rest));
  }
  console.log(await checksums(servers));
} finally { await stopBenchServers(servers); }
