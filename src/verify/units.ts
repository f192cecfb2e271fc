// Too many changed keys to remember one by one: which verified units (progress.ts) hold them.
// Keys are compared by the server, never in JS (a collation, an ENUM's order, a signed key's
// order are the server's business): the keys and the units' end keys go into a session
// TEMPORARY table on the target whose key columns have the table's own definitions (types,
// charsets, collations), and one ORDER BY returns them in the table's key order. Walking that
// order, each key falls in the unit whose end comes next. A unit with a key becomes a range to
// compare again; neighbouring ones merge.
import type { Connection } from 'mysql2/promise';
import { filterColumnDefinition } from '../db/filter-table.js';
import type { TableSchema } from '../db/schema.js';
import { primaryKeyColumns } from '../db/schema.js';
import { literal, quoteIdentifier, quoteTable, type Row } from '../db/sql.js';
import type { Unit } from './progress.js';

export interface UnitRange {
  readonly after: Row | undefined;
  readonly through: Row | undefined;
  readonly rows: number;
}

const freeName = (base: string, taken: ReadonlySet<string>): string => {
  let name = base;
  for (let suffix = 1; taken.has(name.toLowerCase()); suffix++) name = `${base}_${suffix}`;
  return name;
};

/** The inside of a key text: `(a,b)` → `a,b` for a composite key, the literal itself otherwise. */
const keyValues = (text: string, width: number): string => (width === 1 ? text : text.slice(1, -1));

export interface MappingOptions {
  readonly target: Connection;
  readonly table: TableSchema;
  /** Key texts (SQL literals or tuples, as keyIn() takes them). */
  readonly keys: readonly string[];
  /** The table's units, in key order, as they were when the keys were taken. */
  readonly units: readonly Unit[];
  /** Rows of the open range past the last unit, when its verification has begun (undefined otherwise). */
  readonly openRows: number | undefined;
  /** Migrated tables (`db.table`): the temporary table must not hide one of them. */
  readonly migrated: ReadonlySet<string>;
  readonly maxStatementBytes: number;
}

/**
 * The ranges that hold `keys`. A key past the last unit belongs to no verified range unless the
 * open range's verification has begun (then to it); otherwise its range is verified later, after
 * its change, and it needs no entry.
 */
export async function rangesHoldingKeys(options: MappingOptions): Promise<UnitRange[]> {
  const { table, target, units } = options;
  const keys = primaryKeyColumns(table);
  const width = keys.length;
  const takenColumns = new Set(table.columns.map((column) => column.name.toLowerCase()));
  const pointColumn = freeName('tideferry_point', takenColumns);
  const unitColumn = freeName('tideferry_unit', takenColumns);
  const takenTables = new Set([...options.migrated].filter((key) => key.startsWith(`${table.database}.`)).map((key) => key.slice(table.database.length + 1).toLowerCase()));
  const name = quoteTable({ database: table.database, name: freeName('tideferry_units', takenTables) });
  const columns = [`${quoteIdentifier(pointColumn)} TINYINT NOT NULL`, `${quoteIdentifier(unitColumn)} INT NOT NULL`, ...keys.map(filterColumnDefinition)];
  await target.query(`DROP TEMPORARY TABLE IF EXISTS ${name}`);
  await target.query(`CREATE TEMPORARY TABLE ${name} (${columns.join(', ')})`);
  try {
    // Changed keys are points of kind 0, unit ends of kind 1: on equal keys the key sorts first,
    // and belongs to the unit that ends there (units include their end).
    const tuples = [
      ...options.keys.map((text) => `(0,0,${keyValues(text, width)})`),
      ...units.map((unit, index) => `(1,${index},${keys.map((column, position) => literal(unit.through[position] ?? null, column)).join(',')})`),
    ];
    const head = `INSERT INTO ${name} VALUES `;
    for (let start = 0; start < tuples.length; ) {
      let end = start;
      let bytes = head.length;
      while (end < tuples.length && (end === start || bytes + tuples[end]!.length + 1 <= options.maxStatementBytes)) bytes += tuples[end++]!.length + 1;
      await target.query(head + tuples.slice(start, end).join(','));
      start = end;
    }
    const [rows] = await target.query({
      sql: `SELECT ${quoteIdentifier(pointColumn)}, ${quoteIdentifier(unitColumn)} FROM ${name} ORDER BY ${keys.map((column) => quoteIdentifier(column.name)).join(',')}, ${quoteIdentifier(pointColumn)}`,
      rowsAsArray: true,
    });
    const dirty: number[] = [];
    let keyBefore = false;
    for (const [point, unit] of rows as unknown as [number | string, number | string][]) {
      if (Number(point) === 0) keyBefore = true;
      else {
        if (keyBefore) dirty.push(Number(unit));
        keyBefore = false;
      }
    }
    // Keys past the last unit: the open unit, if its verification has begun.
    if (keyBefore && options.openRows !== undefined) dirty.push(units.length);
    return mergeUnits(units, dirty, options.openRows ?? 0);
  } finally {
    await target.query(`DROP TEMPORARY TABLE IF EXISTS ${name}`).catch(() => undefined);
  }
}

/** Consecutive dirty units as one range each; index `units.length` is the open unit. */
export function mergeUnits(units: readonly Unit[], dirty: readonly number[], openRows: number): UnitRange[] {
  const sorted = [...new Set(dirty)].sort((a, b) => a - b);
  const ranges: UnitRange[] = [];
  const rowsOf = (index: number) => (index === units.length ? openRows : units[index]!.rows);
  for (let position = 0; position < sorted.length; ) {
    const first = sorted[position]!;
    let last = first;
    let rows = rowsOf(first);
    while (sorted[position + 1] === last + 1) {
      last = sorted[++position]!;
      rows += rowsOf(last);
    }
    position++;
    ranges.push({ after: first === 0 ? undefined : units[first - 1]!.through, through: last === units.length ? undefined : units[last]!.through, rows });
  }
  return ranges;
}
