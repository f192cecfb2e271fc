// The full comparison: every row of the given tables, chunk by chunk in key order, on one pair of
// connections (compare.ts says how rows are compared). `tideferry verify` runs it in parallel
// (full.ts); the run itself verifies while it copies (inline.ts).
import type { Connection } from 'mysql2/promise';
import type { TableSchema } from '../db/schema.js';
import { tableKey } from '../db/schema.js';
import { compareRange, countDifferences, describeKey, type DifferenceCounts, type RowDifference } from './compare.js';

export interface TableDifference {
  readonly table: string;
  readonly missingOnTarget: number;
  readonly extraOnTarget: number;
  readonly different: number;
  /** Some of the differing rows' keys, as `column=value`, for the report. */
  readonly sampleKeys: readonly string[];
}

export interface VerifyReport {
  readonly tablesChecked: number;
  readonly rowsChecked: number;
  readonly differences: readonly TableDifference[];
}

/** Keys named per table in a report: enough to find the rows, few enough to read. */
export const NAMED_ROWS = 10;

/** The differences of one table as counts and a few named rows; undefined when there are none. */
export function tableDifference(table: TableSchema, differences: readonly RowDifference[], counts: DifferenceCounts = countDifferences(differences)): TableDifference | undefined {
  if (counts['missing on target'] + counts['only on target'] + counts.different === 0) return undefined;
  return {
    table: tableKey(table),
    missingOnTarget: counts['missing on target'],
    extraOnTarget: counts['only on target'],
    different: counts.different,
    sampleKeys: differences.slice(0, NAMED_ROWS).map((difference) => `${describeKey(table, difference.key)} (${difference.kind})`),
  };
}

export interface VerifyOptions {
  readonly source: Connection;
  readonly target: Connection;
  readonly tables: readonly TableSchema[];
  readonly rowFilters?: ReadonlyMap<string, string>;
  readonly chunkRows?: number;
  /** Stops between chunks (a run being stopped must not wait for the whole comparison). */
  readonly signal?: AbortSignal;
}

/** Compares every row of the given tables. Both connections should read a quiet state (writers stopped). */
export async function verifyTables(options: VerifyOptions): Promise<VerifyReport> {
  for (const connection of [options.source, options.target]) await connection.query('SET character_set_results = binary');
  const differences: TableDifference[] = [];
  let rowsChecked = 0;
  for (const table of options.tables) {
    const result = await compareRange({
      source: options.source,
      target: options.target,
      table,
      after: undefined,
      through: undefined,
      filter: options.rowFilters?.get(tableKey(table)),
      chunkRows: options.chunkRows ?? 10_000,
      signal: options.signal,
    });
    rowsChecked += result.rows;
    const found = tableDifference(table, result.differences, result.counts);
    if (found) differences.push(found);
  }
  return { tablesChecked: options.tables.length, rowsChecked, differences };
}

export function describeDifferences(report: VerifyReport): string {
  return report.differences
    .map((d) => {
      const counted = d.missingOnTarget + d.extraOnTarget + d.different;
      const more = counted > d.sampleKeys.length ? `; ${counted - d.sampleKeys.length} more` : '';
      return `${d.table}: ${d.missingOnTarget} missing on target, ${d.extraOnTarget} only on target, ${d.different} different (rows ${d.sampleKeys.join('; ')}${more})`;
    })
    .join('\n');
}
