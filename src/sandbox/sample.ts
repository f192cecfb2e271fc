// Sample data for the demo and the tests: a small shop with the shapes that break naive copiers
// (signed and zero keys, a composite key, a string key, a binary key, every column type).
// Rows are generated on the server from MariaDB's built-in sequence tables (seq_1_to_N).
import type { Connection } from 'mysql2/promise';

export const SAMPLE_DATABASE = 'shop';

export const SAMPLE_TABLES = ['customers', 'orders', 'products', 'files', 'all_types'] as const;

const DDL = [
  `CREATE TABLE customers (
     id BIGINT NOT NULL PRIMARY KEY,
     name VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL,
     email VARCHAR(120) NOT NULL,
     balance DECIMAL(65,30) NOT NULL,
     created DATETIME(6) NOT NULL,
     KEY (email)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE orders (
     customer_id INT NOT NULL,
     order_no INT NOT NULL,
     amount DECIMAL(12,2) NOT NULL,
     status ENUM('new','paid','shipped','cancelled') NOT NULL,
     note TEXT CHARACTER SET latin1,
     PRIMARY KEY (customer_id, order_no)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE products (
     sku VARCHAR(32) CHARACTER SET utf8mb4 NOT NULL PRIMARY KEY,
     title VARCHAR(200) NOT NULL,
     price DOUBLE NOT NULL,
     weight FLOAT,
     tags SET('red','green','blue','sale') NOT NULL DEFAULT ''
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE files (
     hash BINARY(16) NOT NULL PRIMARY KEY,
     body BLOB,
     name VARBINARY(64)
   ) ENGINE=InnoDB`,
  `CREATE TABLE all_types (
     id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
     i8 TINYINT, u8 TINYINT UNSIGNED, i16 SMALLINT, i24 MEDIUMINT, i32 INT, u32 INT UNSIGNED,
     i64 BIGINT, u64 BIGINT UNSIGNED,
     dec65 DECIMAL(65,30), f32 FLOAT, f64 DOUBLE,
     d DATE, dt DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, t TIME(6), y YEAR,
     b1 BIT(1), b64 BIT(64),
     c CHAR(10) CHARACTER SET utf8mb4, vc VARCHAR(255) CHARACTER SET utf8mb4, tx TEXT CHARACTER SET utf8mb4,
     l1 VARCHAR(64) CHARACTER SET latin1,
     bin BINARY(8), vbin VARBINARY(64), bl BLOB,
     e ENUM('x','y','z'), s SET('a','b','c','d'),
     j JSON,
     gen_sum BIGINT AS (i32 + 1) VIRTUAL,
     gen_up VARCHAR(255) AS (UPPER(vc)) STORED
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];

/** SELECT list generating an all_types row from a number n (a column or an expression). */
export function allTypesValues(n: string): string {
  return `${n},
    (${n} % 256) - 128, ${n} % 256, (${n} * 7 % 65536) - 32768, (${n} * 13 % 16777216) - 8388608, (${n} * 7919) % 2147483647 - 1073741823,
    (${n} * 104729) % 4294967296,
    IF(${n} % 3 = 0, -9223372036854775808 + ${n}, 9223372036854775807 - ${n}), IF(${n} % 2 = 0, 18446744073709551615 - ${n}, ${n}),
    CAST(CONCAT(IF(${n} % 2, '-', ''), ${n}, '.', LPAD(${n} * 7919 % 1000000007, 30, '0')) AS DECIMAL(65,30)),
    RAND(${n}) * 1e30, RAND(${n} + 1) / 3e-300,
    DATE('1000-01-01') + INTERVAL ${n} % 3000000 DAY, TIMESTAMP('2001-02-03 04:05:06.789012') + INTERVAL ${n} * 1001 SECOND,
    IF(${n} % 10 = 0, NULL, FROM_UNIXTIME(1 + ${n} * 3331 % 2000000000) + INTERVAL ${n} % 1000000 MICROSECOND),
    SEC_TO_TIME(((${n} * 7) % 6000000 - 3000000) + (${n} % 1000000) / 1000000), 1901 + ${n} % 255,
    ${n} % 2, ${n} * 2654435761 % 18446744073709551615,
    LEFT(CONCAT('c', ${n}), 10), CONCAT('vc-', ${n}, ' ', IF(${n} % 5 = 0, '😀 ünïcödé ✓', 'plain')), REPEAT(CONCAT('text ', ${n}, ' '), ${n} % 20),
    CAST(CONCAT(CHAR(128 + ${n} % 128 USING latin1), 'é', CHAR(${n} % 32 + 128 USING latin1)) AS CHAR CHARACTER SET latin1),
    UNHEX(LPAD(HEX(${n}), 16, '0')), IF(${n} % 7 = 0, '', UNHEX(MD5(${n}))), IF(${n} % 11 = 0, NULL, CONCAT(UNHEX('00275C0A0D1A'), UNHEX(SHA2(${n}, 256)))),
    ELT(1 + ${n} % 3, 'x', 'y', 'z'), MAKE_SET(${n} % 16, 'a', 'b', 'c', 'd'),
    JSON_OBJECT('n', ${n}, 'tags', JSON_ARRAY('a', ${n} % 3), 'u', '✓')`;
}

export const ALL_TYPES_COLUMNS =
  'id,i8,u8,i16,i24,i32,u32,i64,u64,dec65,f32,f64,d,dt,ts,t,y,b1,b64,c,vc,tx,l1,bin,vbin,bl,e,s,j';

export interface SampleSizes {
  readonly customers: number;
  readonly orders: number;
  readonly products: number;
  readonly files: number;
  readonly allTypes: number;
}

/** About 100,000 rows in all. */
export const DEFAULT_SAMPLE_SIZES: SampleSizes = { customers: 30_000, orders: 40_000, products: 10_000, files: 10_000, allTypes: 10_000 };

/** Rows of one signed column `seq` numbered from..to (MariaDB's sequence engine counts unsigned). */
const numbers = (from: number, to: number): string => `(SELECT CAST(seq AS SIGNED) AS seq FROM seq_${from}_to_${to}) AS numbers`;

/** Creates the sample database on the (source) server and fills it. */
export async function createSampleDatabase(connection: Connection, sizes: SampleSizes = DEFAULT_SAMPLE_SIZES): Promise<void> {
  await connection.query(`CREATE DATABASE IF NOT EXISTS ${SAMPLE_DATABASE}`);
  await connection.query(`USE ${SAMPLE_DATABASE}`);
  for (const ddl of DDL) await connection.query(ddl);
  // Keys around zero, negative ones included: ids run from -N/2 to N/2.
  await connection.query(
    `INSERT INTO customers SELECT seq - ${Math.floor(sizes.customers / 2)}, CONCAT('Customer ', seq, IF(seq % 9 = 0, ' 🚀', '')),
            CONCAT('c', seq, '@example.com'), (seq * 7919 % 100000) / 7, TIMESTAMP('2020-01-01') + INTERVAL seq * 17 SECOND + INTERVAL seq MICROSECOND
       FROM ${numbers(1, sizes.customers)}`,
  );
  await connection.query(
    `INSERT INTO orders SELECT seq % 1000 - 10, seq DIV 1000 - 5, (seq * 31 % 100000) / 100, ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'),
            IF(seq % 5 = 0, NULL, CONCAT('note ', seq, ' ', CHAR(192 + seq % 64 USING latin1)))
       FROM ${numbers(1, sizes.orders)}`,
  );
  await connection.query(
    `INSERT INTO products SELECT CONCAT(ELT(1 + seq % 3, 'A', 'b', 'Z'), '-', LPAD(seq, 6, '0')), CONCAT('Product ', seq, IF(seq % 4 = 0, ' 🎁', '')),
            RAND(seq) * 1000, IF(seq % 6 = 0, NULL, RAND(seq + 7) * 50), MAKE_SET(seq % 16, 'red', 'green', 'blue', 'sale')
       FROM ${numbers(1, sizes.products)}`,
  );
  await connection.query(
    `INSERT INTO files SELECT UNHEX(MD5(seq)), IF(seq % 8 = 0, NULL, RANDOM_BYTES(1 + seq % 200)), CONCAT('file-', seq, UNHEX('00FF'))
       FROM ${numbers(1, sizes.files)}`,
  );
  await connection.query(
    `INSERT INTO all_types (${ALL_TYPES_COLUMNS}) SELECT ${allTypesValues('seq')} FROM ${numbers(0, sizes.allTypes - 1)}`,
  );
  // Edge rows: the extremes of every integer type, zero dates, negative TIME, empty vs NULL.
  await connection.query(
    `INSERT INTO all_types (${ALL_TYPES_COLUMNS}) VALUES
      (18446744073709551615, -128, 255, -32768, -8388608, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
       '-99999999999999999999999999999999999.999999999999999999999999999999', 3.4028234e38, 1.7976931348623157e308,
       '0000-00-00', '0000-00-00 00:00:00.000000', '1970-01-01 00:00:01.000000', '-838:59:59.000000', 0,
       b'1', b'1111111111111111111111111111111111111111111111111111111111111111',
       '', '', '', '', X'0000000000000000', X'', X'', 'z', 'a,b,c,d', '[]'),
      (18446744073709551614, 127, 0, 32767, 8388607, 2147483647, 0, 9223372036854775807, 0,
       '99999999999999999999999999999999999.999999999999999999999999999999', -1.17549435e-38, -5e-324,
       '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '838:59:59.000000', 2155,
       b'0', b'0', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL)`,
  );
}
