// Process-wide effects belong to the CLI alone (docs/architecture.md, "Processes"): a library
// module that installs a signal handler or exits the process changes every program that
// imports it (the sandbox's handlers once made SIGTERM bypass the engine's own).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const PROCESS_EFFECT = /\bprocess\s*\.\s*(on|once|addListener|prependListener|prependOnceListener|exit|exitCode|kill\s*\(\s*process\.pid)\b/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

describe('process-wide effects', () => {
  it('only src/cli.ts registers process handlers, exits or sets the exit code', () => {
    const offenders = sourceFiles('src')
      .filter((path) => path !== join('src', 'cli.ts'))
      .flatMap((path) =>
        readFileSync(path, 'utf8')
          .split('\n')
          .map((line, index) => ({ line, where: `${path}:${index + 1}` }))
          .filter(({ line }) => PROCESS_EFFECT.test(line.replace(/\/\/.*$/, '')))
          .map(({ where, line }) => `${where}: ${line.trim()}`),
      );
    assert.deepEqual(offenders, []);
  });
});
