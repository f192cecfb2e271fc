// A table's shape: what of its definition decides whether copied and replayed rows mean the same
// on both servers. Columns (order, type, charset and collation, nullability, generation and its
// expression), the primary key and the unique keys (a unique key the other side lacks turns an
// INSERT IGNORE into a silently dropped row; a collation decides which keys are equal). Read for
// all selected tables at once from INFORMATION_SCHEMA (two queries per server, whatever the
// number of tables), so that the schema watch can afford to read it every minute.
// Defaults, comments, non-unique indexes, engine and row format are left out on purpose: they do
// not change what a row is.
import { createHash } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { tableKey, type TableRef } from './schema.js';

export interface ColumnShape {
  readonly name: string;
  readonly type: string;
  readonly charset: string | null;
  readonly collation: string | null;
  readonly nullable: boolean;
  /** 'virtual' or 'stored' for a generated column, null otherwise. */
  readonly generated: 'virtual' | 'stored' | null;
  /** The generation expression as the server prints it; null for ordinary columns. */
  readonly expression: string | null;
}

export interface KeyShape {
  readonly name: string;
  /** Key parts in order: `column` or `column(prefix)`; `(expression)` for a functional part. */
  readonly parts: readonly string[];
}

export interface TableShape {
  readonly columns: readonly ColumnShape[];
  readonly primaryKey: readonly string[];
  /** Unique keys other than the primary key, by name order. */
  readonly uniqueKeys: readonly KeyShape[];
}

const text = (value: unknown): string | null => (value === null || value === undefined ? null : Buffer.isBuffer(value) ? value.toString('utf8') : String(value));

/** Shapes of the given tables; a table missing from the map does not exist on that server. */
export async function readTableShapes(connection: Connection, tables: readonly TableRef[]): Promise<Map<string, TableShape>> {
  const wanted = new Set(tables.map(tableKey));
  const databases = [...new Set(tables.map((table) => table.database))];
  const shapes = new Map<string, { columns: ColumnShape[]; keys: Map<string, string[]> }>();
  if (databases.length === 0) return new Map();
  // Aliased: MySQL 8 returns INFORMATION_SCHEMA column names in upper case, MariaDB as written.
  const [columnRows] = await connection.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, COLUMN_NAME AS name, COLUMN_TYPE AS type, CHARACTER_SET_NAME AS charset,
            COLLATION_NAME AS collation, IS_NULLABLE AS nullable, EXTRA AS extra, GENERATION_EXPRESSION AS expression
       FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
    [databases],
  );
  for (const row of columnRows) {
    const key = `${text(row['db'])}.${text(row['tbl'])}`;
    if (!wanted.has(key)) continue;
    let shape = shapes.get(key);
    if (!shape) shapes.set(key, (shape = { columns: [], keys: new Map() }));
    const extra = text(row['extra']) ?? '';
    const generated = /\bVIRTUAL\b/i.test(extra) ? 'virtual' : /\b(STORED|PERSISTENT)\b/i.test(extra) ? 'stored' : null;
    // MySQL prints '' for an ordinary column's expression, MariaDB NULL.
    const expression = text(row['expression']);
    shape.columns.push({
      name: text(row['name']) ?? '',
      type: text(row['type']) ?? '',
      charset: text(row['charset']),
      collation: text(row['collation']),
      nullable: text(row['nullable']) === 'YES',
      generated,
      expression: generated && expression ? expression : null,
    });
  }
  const [keyRows] = await connection.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, INDEX_NAME AS name, COLUMN_NAME AS col, SUB_PART AS prefix
       FROM INFORMATION_SCHEMA.STATISTICS WHERE TABLE_SCHEMA IN (?) AND NON_UNIQUE = 0
      ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    [databases],
  );
  for (const row of keyRows) {
    const shape = shapes.get(`${text(row['db'])}.${text(row['tbl'])}`);
    if (!shape) continue;
    const name = text(row['name']) ?? '';
    const column = text(row['col']);
    const prefix = text(row['prefix']);
    const part = column === null ? '(expression)' : prefix ? `${column}(${prefix})` : column;
    shape.keys.set(name, [...(shape.keys.get(name) ?? []), part]);
  }
  const result = new Map<string, TableShape>();
  for (const [key, shape] of shapes) {
    const uniqueKeys = [...shape.keys].filter(([name]) => name !== 'PRIMARY').map(([name, parts]) => ({ name, parts })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    result.set(key, { columns: shape.columns, primaryKey: shape.keys.get('PRIMARY') ?? [], uniqueKeys });
  }
  return result;
}

/** A short hash of the shape, for the state file: equal shapes, equal fingerprints. */
export function shapeFingerprint(shape: TableShape): string {
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 16);
}

const describeColumn = (column: ColumnShape): string =>
  `${column.type}${column.collation ? ` COLLATE ${column.collation}` : ''}${column.nullable ? '' : ' NOT NULL'}${column.generated ? ` AS (${column.expression ?? '?'}) ${column.generated.toUpperCase()}` : ''}`;

const keyText = (parts: readonly string[]): string => `(${parts.join(', ')})`;

/** What changed from `before` to `after`, one phrase each; empty when nothing did. `after` undefined: the table is gone. */
export function describeShapeChange(before: TableShape, after: TableShape | undefined): string[] {
  if (!after) return ['the table was dropped or renamed'];
  const changes: string[] = [];
  const afterColumns = new Map(after.columns.map((column) => [column.name, column]));
  const beforeNames = new Set(before.columns.map((column) => column.name));
  for (const column of before.columns) {
    const now = afterColumns.get(column.name);
    if (!now) {
      changes.push(`column ${column.name} was dropped`);
      continue;
    }
    const was = (what: string, from: unknown, to: unknown) => from !== to && changes.push(`column ${column.name}: ${what} ${String(from ?? 'none')} → ${String(to ?? 'none')}`);
    was('type', column.type, now.type);
    was('charset', column.charset, now.charset);
    was('collation', column.collation, now.collation);
    was('nullability', column.nullable ? 'NULL' : 'NOT NULL', now.nullable ? 'NULL' : 'NOT NULL');
    was('generation', column.generated, now.generated);
    was('generation expression', column.expression, now.expression);
  }
  for (const column of after.columns) if (!beforeNames.has(column.name)) changes.push(`column ${column.name} was added (${describeColumn(column)})`);
  const common = (columns: readonly ColumnShape[], other: ReadonlySet<string>) => columns.map((column) => column.name).filter((name) => other.has(name));
  const beforeOrder = common(before.columns, new Set(afterColumns.keys()));
  const afterOrder = common(after.columns, beforeNames);
  if (beforeOrder.join('\0') !== afterOrder.join('\0')) changes.push(`column order ${beforeOrder.join(', ')} → ${afterOrder.join(', ')}`);
  if (before.primaryKey.join('\0') !== after.primaryKey.join('\0')) changes.push(`primary key ${keyText(before.primaryKey)} → ${keyText(after.primaryKey)}`);
  const afterKeys = new Map(after.uniqueKeys.map((key) => [key.name, key]));
  const beforeKeys = new Set(before.uniqueKeys.map((key) => key.name));
  for (const key of before.uniqueKeys) {
    const now = afterKeys.get(key.name);
    if (!now) changes.push(`unique key ${key.name} ${keyText(key.parts)} was dropped`);
    else if (now.parts.join('\0') !== key.parts.join('\0')) changes.push(`unique key ${key.name}: ${keyText(key.parts)} → ${keyText(now.parts)}`);
  }
  for (const key of after.uniqueKeys) if (!beforeKeys.has(key.name)) changes.push(`unique key ${key.name} ${keyText(key.parts)} was added`);
  return changes;
}
