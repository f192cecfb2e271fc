// Writing benchmark results: a CSV and a markdown table under bench/out/, and the table on stdout.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const OUT_DIR = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'out');

export type Record = { readonly [column: string]: string | number };

const cell = (value: string | number) => (typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toPrecision(4)) : value);

export function markdownTable(records: readonly Record[]): string {
  if (records.length === 0) return '(no results)';
  const columns = Object.keys(records[0]!);
  return [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...records.map((record) => `| ${columns.map((column) => cell(record[column] ?? '').replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');
}

export function writeResults(name: string, records: readonly Record[], notes = ''): { csv: string; markdown: string } {
  mkdirSync(OUT_DIR, { recursive: true });
  const columns = Object.keys(records[0] ?? {});
  const csv = join(OUT_DIR, `${name}.csv`);
  writeFileSync(csv, [columns.join(','), ...records.map((record) => columns.map((column) => cell(record[column] ?? '')).join(','))].join('\n') + '\n');
  const markdown = join(OUT_DIR, `${name}.md`);
  const table = markdownTable(records);
  writeFileSync(markdown, `${notes ? notes + '\n\n' : ''}${table}\n`);
  process.stdout.write(`\n${table}\n\nwritten: ${csv}, ${markdown}\n`);
  return { csv, markdown };
}
