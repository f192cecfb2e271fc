// sysbench-shaped tables (oltp_common.lua): id INT primary key, k INT with an index,
// c CHAR(120) and pad CHAR(60) made of 11-digit groups separated by dashes.
import type { Connection } from 'mysql2/promise';

export const SYSBENCH_DATABASE = 'sbtest';

const groups = (count: number, seed: string) =>
  `CONCAT_WS('-', ${Array.from({ length: count }, (_, index) => `LPAD(FLOOR(RAND(${seed} * ${count} + ${index}) * 99999999999), 11, '0')`).join(', ')})`;

export async function createSysbenchTables(connection: Connection, tables: number, rowsPerTable: number): Promise<void> {
  await connection.query(`DROP DATABASE IF EXISTS ${SYSBENCH_DATABASE}; CREATE DATABASE ${SYSBENCH_DATABASE}`);
  for (let index = 1; index <= tables; index++) {
    await connection.query(
      `CREATE TABLE ${SYSBENCH_DATABASE}.sbtest${index} (
         id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
         k INT NOT NULL DEFAULT 0,
         c CHAR(120) NOT NULL DEFAULT '',
         pad CHAR(60) NOT NULL DEFAULT '',
         KEY k_${index} (k)
       ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    );
    await connection.query(
      `INSERT INTO ${SYSBENCH_DATABASE}.sbtest${index} (id, k, c, pad)
       SELECT seq, FLOOR(RAND(seq) * ${rowsPerTable}), ${groups(10, 'seq')}, ${groups(5, 'seq + 7')} FROM ${SYSBENCH_DATABASE}.seq_1_to_${rowsPerTable}`,
    );
  }
}
