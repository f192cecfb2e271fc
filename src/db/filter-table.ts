// The table in which replay judges row images by a row filter: a session TEMPORARY table with
// the source table's column definitions (types, charsets, collations, ENUM/SET members, JSON-ness),
// so that an image's literals become values of their real types, as the copy's WHERE sees them on
// the source. Differences from the real table, each on purpose:
// - generated columns are plain columns: the images carry their values;
// - no keys: several images of one row fit, and nothing but the filter can refuse an image;
// - an image-number column, so that the filter's answer can be matched to the images.
// Pure SQL building; binlog/apply/row-filter.ts runs it, and preflight tries it once.
import type { ColumnSchema, TableRef, TableSchema } from './schema.js';
import { quoteIdentifier, quoteTable } from './sql.js';

export interface FilterTable {
  readonly table: TableSchema;
  /** The temporary table: in the table's own database, named apart from every migrated table. */
  readonly name: TableRef;
  /** The image-number column, named apart from the table's columns. */
  readonly imageColumn: string;
}

const freeName = (base: string, taken: (name: string) => boolean): string => {
  let name = base;
  for (let suffix = 1; taken(name.toLowerCase()); suffix++) name = `${base}_${suffix}`;
  return name;
};

/**
 * `index` tells apart the filtered tables of a run; `migrated` holds every migrated table's
 * key (database.table). A temporary table hides a real one of the same name from its session,
 * and this session also writes the migrated tables, so the name must be none of theirs.
 */
export function filterTableFor(table: TableSchema, index: number, migrated: Iterable<string>): FilterTable {
  const takenTables = new Set([...migrated].map((key) => key.toLowerCase()));
  const takenColumns = new Set(table.columns.map((column) => column.name.toLowerCase()));
  const name = freeName(`tideferry_filter_${index}`, (candidate) => takenTables.has(`${table.database}.${candidate}`.toLowerCase()));
  return {
    table,
    name: { database: table.database, name },
    imageColumn: freeName('tideferry_image', (candidate) => takenColumns.has(candidate)),
  };
}

// Charset and collation names come from INFORMATION_SCHEMA and are plain words.
function plainName(name: string, what: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unexpected ${what} name ${JSON.stringify(name)}`);
  return name;
}

/** The column as the source defines it, minus generation, defaults and keys. */
export function filterColumnDefinition(column: ColumnSchema): string {
  let definition = `${quoteIdentifier(column.name)} ${column.columnType}`;
  // MySQL's JSON type takes no charset; MariaDB's JSON is text and keeps its collation (utf8mb4_bin).
  if (column.charset !== null && column.collation !== null && column.dataType !== 'json') {
    definition += ` CHARACTER SET ${plainName(column.charset, 'charset')} COLLATE ${plainName(column.collation, 'collation')}`;
  }
  // Nullability is part of the meaning: `d IS NULL` also matches a NOT NULL DATE's zero date.
  definition += column.nullable ? ' NULL' : ' NOT NULL';
  // In MariaDB this check is what makes a text column JSON to JSON_OBJECT() and the like.
  if (column.json && column.dataType !== 'json') definition += ` CHECK (json_valid(${quoteIdentifier(column.name)}))`;
  return definition;
}

/** Replaces any earlier table of that name in the session (a half-done setup). */
export function createFilterTable(filterTable: FilterTable): string[] {
  const columns = [`${quoteIdentifier(filterTable.imageColumn)} INT UNSIGNED NOT NULL`, ...filterTable.table.columns.map(filterColumnDefinition)];
  return [
    `DROP TEMPORARY TABLE IF EXISTS ${quoteTable(filterTable.name)}`,
    `CREATE TEMPORARY TABLE ${quoteTable(filterTable.name)} (${columns.join(', ')})`,
  ];
}

export const dropFilterTable = (filterTable: FilterTable): string => `DROP TEMPORARY TABLE IF EXISTS ${quoteTable(filterTable.name)}`;

/**
 * TRUNCATE, not DELETE: half the time for 50 images, a third less for 5000 (InnoDB temporary
 * table, MariaDB 10.11). It commits implicitly, so it must not run inside the batch's transaction.
 */
export const clearFilterTable = (filterTable: FilterTable): string => `TRUNCATE TABLE ${quoteTable(filterTable.name)}`;

/** The images as rows (image number first), in INSERTs of at most `maxStatementBytes` each (but one row). */
export function fillFilterTable(filterTable: FilterTable, images: readonly { readonly number: number; readonly image: readonly string[] }[], maxStatementBytes: number): string[] {
  const head = `INSERT INTO ${quoteTable(filterTable.name)} VALUES `;
  const width = filterTable.table.columns.length;
  const statements: string[] = [];
  let current = '';
  for (const { number, image } of images) {
    let row = `(${number}`;
    for (let position = 0; position < width; position++) row += `,${image[position] ?? 'NULL'}`;
    row += ')';
    if (current && current.length + row.length + 1 > maxStatementBytes) {
      statements.push(current);
      current = '';
    }
    current = current ? `${current},${row}` : head + row;
  }
  if (current) statements.push(current);
  return statements;
}

/** The numbers of the images the filter selects, the table seen under its own name as in the copy's query. */
export const selectMatching = (filterTable: FilterTable, filter: string): string =>
  `SELECT ${quoteIdentifier(filterTable.imageColumn)} FROM ${quoteTable(filterTable.name)} AS ${quoteIdentifier(filterTable.table.name)} WHERE (${filter})`;
