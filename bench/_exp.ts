import { startBenchServers, stopBenchServers, targetVia, runSteady } from './apply-harness.js';
let servers;
try {
  servers = await startBenchServers({ tables: 4, rowsPerTable: 25000 });
  const via = await targetVia(servers, 1);
  for (const sizer of [100, 'adaptive'] as const) {
    const { points, ...rest } = await runSteady(servers, { target: via.endpoint, sizer, rate: 600, warmupSeconds: 1, seconds: 3, drainCapSeconds: 2 });
    console.log(JSON.stringify({ lag: rest.lag, e2e: rest.endToEnd, mean: rest.meanBatch }));
  }
  await via.stop();
} finally { await stopBenchServers(servers); }
