// Reads table schemas from INFORMATION_SCHEMA.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { ColumnSchema, TableRef, TableSchema } from './schema.js';
import { quoteTable } from './sql.js';

interface ColumnRow extends RowDataPacket {
  name: string;
  dataType: string;
  columnType: string;
  charset: string | null;
  collation: string | null;
  nullable: string;
  extra: string;
  generation: string | null;
}

export async function readTableSchema(connection: Connection, table: TableRef): Promise<TableSchema | undefined> {
  const [columns] = await connection.query<ColumnRow[]>(
    `SELECT COLUMN_NAME AS name, LOWER(DATA_TYPE) AS dataType, COLUMN_TYPE AS columnType,
            CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation, IS_NULLABLE AS nullable, EXTRA AS extra,
            IS_GENERATED AS generation
       FROM INFORMATION_SCHEMA.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
      ORDER BY ORDINAL_POSITION`,
    [table.database, table.name],
  );
  if (columns.length === 0) return undefined;
  const [keyRows] = await connection.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name FROM INFORMATION_SCHEMA.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
      ORDER BY ORDINAL_POSITION`,
    [table.database, table.name],
  );
  const [uniqueRows] = await connection.query<RowDataPacket[]>(
    `SELECT COUNT(DISTINCT INDEX_NAME) AS n FROM INFORMATION_SCHEMA.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'`,
    [table.database, table.name],
  );
  const jsonColumns = await mariadbJsonColumns(connection, table);
  const [createRows] = await connection.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteTable(table)}`);
  const createStatement = String(createRows[0]?.['Create Table'] ?? '');
  return {
    database: table.database,
    name: table.name,
    columns: columns.map((row): ColumnSchema => ({
      name: String(row.name),
      dataType: String(row.dataType),
      columnType: String(row.columnType),
      unsigned: /\bunsigned\b/i.test(String(row.columnType)),
      charset: row.charset === null ? null : String(row.charset),
      collation: row.collation === null ? null : String(row.collation),
      json: String(row.dataType) === 'json' || jsonColumns.has(String(row.name)),
      nullable: row.nullable === 'YES',
      // MariaDB reports IS_GENERATED = 'ALWAYS' and EXTRA 'VIRTUAL GENERATED'/'STORED GENERATED' (or PERSISTENT).
      generated: row.generation === 'ALWAYS' || /\b(VIRTUAL|STORED|PERSISTENT)\b/i.test(String(row.extra)),
    })),
    primaryKey: keyRows.map((row) => String(row.name)),
    hasSecondaryUniqueKey: Number(uniqueRows[0]?.['n'] ?? 0) > 0,
    createStatement,
  };
}

const NO_CHECK_CONSTRAINTS_TABLE = new Set(['ER_BAD_FIELD_ERROR', 'ER_UNKNOWN_TABLE', 'ER_NO_SUCH_TABLE']);

/**
 * MariaDB's JSON columns: a JSON column is stored as LONGTEXT with the column check
 * json_valid(`column`), and any text column with that check is JSON to JSON_OBJECT() and the
 * like. MySQL has a JSON type instead, and no TABLE_NAME in CHECK_CONSTRAINTS (the query fails).
 */
async function mariadbJsonColumns(connection: Connection, table: TableRef): Promise<Set<string>> {
  try {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT CHECK_CLAUSE AS clause FROM INFORMATION_SCHEMA.CHECK_CONSTRAINTS
        WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND LEVEL = 'Column'`,
      [table.database, table.name],
    );
    const names = new Set<string>();
    for (const row of rows) {
      const match = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(row['clause']).trim());
      if (match) names.add(match[1]!.replace(/``/g, '`'));
    }
    return names;
  } catch (error) {
    // MySQL 8 (no TABLE_NAME column) and 5.7 (no such table): JSON is a type of its own there.
    if (NO_CHECK_CONSTRAINTS_TABLE.has((error as { code?: string }).code ?? '')) return new Set();
    throw error;
  }
}

/** The base tables of a database, in name order. */
export async function listTables(connection: Connection, database: string): Promise<string[]> {
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS name FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
    [database],
  );
  return rows.map((row) => String(row.name));
}
