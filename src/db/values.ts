// Reading rows so that writing them back is byte-exact: every value comes as the raw bytes the
// server sent (connection with `character_set_results = binary`), never parsed into JS numbers
// or dates, which would lose unsigned 64-bit integers, DECIMAL(65,30) digits or microseconds.
import type { ColumnSchema } from './schema.js';
import { quoteIdentifier } from './sql.js';

/** mysql2 typeCast that keeps every value as a Buffer (or null). */
export const rawTypeCast = (field: { buffer(): Buffer | null }): Buffer | null => field.buffer();

/**
 * The select expression of a column for reading its value. FLOAT is widened to DOUBLE because
 * the server prints FLOAT with 6 significant digits (3.4028234e38 comes back as '3.40282e38')
 * while a DOUBLE prints its shortest exact form, which writes back to the same float.
 */
export function readExpression(column: ColumnSchema): string {
  const name = quoteIdentifier(column.name);
  return column.dataType === 'float' ? `CAST(${name} AS DOUBLE)` : name;
}
