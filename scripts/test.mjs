#!/usr/bin/env node
// Runs node's built-in test runner over test/**/*.test.ts through tsx.
// Node 20 takes neither glob arguments nor TypeScript, so the files are listed here.
// Usage: node scripts/test.mjs [unit|integration] [extra node --test flags]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const [scope, ...extra] = process.argv.slice(2);
const roots = scope === 'unit' ? ['test/unit'] : scope === 'integration' ? ['test/integration'] : ['test/unit', 'test/integration'];

function find(dir) {
  let out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(find(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const files = roots.flatMap((root) => { try { return find(root); } catch { return []; } });
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`);
  process.exit(1);
}
// Integration tests start real servers: one file at a time keeps a 2-core machine honest.
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...extra, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
