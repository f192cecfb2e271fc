// Dates and times from their row-image bytes, as the ASCII text a server reads back exactly
// ('2020-01-02 03:04:05.123456', '-838:59:59.000000', '0000-00-00'). Nothing goes through a JS
// Date except the whole seconds of a TIMESTAMP, which are UTC by definition: zongji's own
// decoding builds Dates (losing microseconds unless dateStrings is set), mis-renders negative
// whole-second TIMEs ('-00:01:00' comes out as '-00:00:64') and reads YEAR 0000 as 1900.
// Layouts: sql-common/my_time.cc (my_*_packed_from_binary) and sql/field.cc.

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

/** '.123' for 123000 µs at 3 digits; '' without fractional digits. */
function fractionText(microseconds: number, decimals: number): string {
  if (decimals === 0) return '';
  return '.' + pad(microseconds, 6).slice(0, decimals);
}

const dateText = (year: number, month: number, day: number): string => `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
const timeOfDayText = (hour: number, minute: number, second: number): string => `${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`;

/**
 * The fractional part stored after TIME2/DATETIME2/TIMESTAMP2: 1 byte of 1/100 s for 1–2 digits,
 * 2 bytes of 1/10000 s for 3–4, 3 bytes of µs for 5–6, big-endian. Returned as it is stored (a
 * signed count of units) with the factor that turns it into microseconds.
 */
function readStoredFraction(bytes: Buffer, offset: number, decimals: number, signed: boolean): { value: number; unit: number } {
  if (decimals === 0) return { value: 0, unit: 1 };
  if (decimals <= 2) return { value: signed ? bytes.readInt8(offset) : bytes.readUInt8(offset), unit: 10_000 };
  if (decimals <= 4) return { value: signed ? bytes.readInt16BE(offset) : bytes.readUInt16BE(offset), unit: 100 };
  return { value: signed ? bytes.readIntBE(offset, 3) : bytes.readUIntBE(offset, 3), unit: 1 };
}

/** DATE: 3 bytes little-endian, day in bits 0–4, month in 5–8, year above. */
export function decodeDate(bytes: Buffer): string {
  const value = bytes.readUIntLE(0, 3);
  return dateText(Math.floor(value / 512), Math.floor(value / 32) % 16, value % 32);
}

const PACKED_FRACTION = 2 ** 24;

/**
 * TIME2: a signed "packed time" (integer part × 2^24 + microseconds) stored with an offset so it
 * sorts as unsigned. Negative values with 1–4 fractional digits store the integer part rounded
 * down and the fraction as its complement, which is undone first.
 */
export function decodeTime2(bytes: Buffer, decimals: number): string {
  let packed: number;
  if (decimals >= 5) {
    packed = bytes.readUIntBE(0, 6) - 0x8000_0000_0000;
  } else {
    let integerPart = bytes.readUIntBE(0, 3) - 0x80_0000;
    let { value: fraction, unit } = readStoredFraction(bytes, 3, decimals, false);
    if (integerPart < 0 && fraction !== 0) {
      integerPart += 1;
      fraction -= decimals <= 2 ? 0x100 : 0x1_0000;
    }
    packed = integerPart * PACKED_FRACTION + fraction * unit;
  }
  const negative = packed < 0;
  const magnitude = Math.abs(packed);
  const clock = Math.floor(magnitude / PACKED_FRACTION);
  const microseconds = magnitude % PACKED_FRACTION;
  const hour = Math.floor(clock / 4096) % 1024;
  const minute = Math.floor(clock / 64) % 64;
  const second = clock % 64;
  return (negative ? '-' : '') + timeOfDayText(hour, minute, second) + fractionText(microseconds, decimals);
}

/**
 * DATETIME2: 5 bytes big-endian of sign bit, year×13+month (17 bits), day (5), hour (5),
 * minute (6), second (6); then the fraction.
 */
export function decodeDatetime2(bytes: Buffer, decimals: number): string {
  const packed = bytes.readUIntBE(0, 5) - 0x80_0000_0000;
  const yearMonth = Math.floor(packed / 2 ** 22);
  const day = Math.floor(packed / 2 ** 17) % 32;
  const hour = Math.floor(packed / 4096) % 32;
  const minute = Math.floor(packed / 64) % 64;
  const second = packed % 64;
  const { value, unit } = readStoredFraction(bytes, 5, decimals, false);
  return `${dateText(Math.floor(yearMonth / 13), yearMonth % 13, day)} ${timeOfDayText(hour, minute, second)}${fractionText(value * unit, decimals)}`;
}

/**
 * TIMESTAMP2: seconds since the epoch (4 bytes big-endian), then the fraction; rendered in UTC,
 * the session time zone of every tideferry connection. Zero is the zero timestamp.
 */
export function decodeTimestamp2(bytes: Buffer, decimals: number): string {
  const seconds = bytes.readUInt32BE(0);
  const { value, unit } = readStoredFraction(bytes, 4, decimals, false);
  return utcText(seconds) + fractionText(value * unit, decimals);
}

/** Classic TIMESTAMP (before MySQL 5.6.4 / MariaDB 10.3 formats): 4 bytes little-endian seconds. */
export const decodeTimestamp = (bytes: Buffer): string => utcText(bytes.readUInt32LE(0));

function utcText(seconds: number): string {
  if (seconds === 0) return '0000-00-00 00:00:00';
  // Whole seconds only: a Date holds them exactly and reads them back in UTC.
  const date = new Date(seconds * 1000);
  return `${dateText(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate())} ${timeOfDayText(date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds())}`;
}

/** Classic TIME: 3 bytes little-endian signed, the decimal number ±HHMMSS. */
export function decodeTime(bytes: Buffer): string {
  const value = bytes.readIntLE(0, 3);
  const magnitude = Math.abs(value);
  return (value < 0 ? '-' : '') + timeOfDayText(Math.floor(magnitude / 10_000), Math.floor(magnitude / 100) % 100, magnitude % 100);
}

/** Classic DATETIME: 8 bytes little-endian, the decimal number YYYYMMDDHHMMSS. */
export function decodeDatetime(bytes: Buffer): string {
  const value = Number(bytes.readBigUInt64LE(0));
  const date = Math.floor(value / 1_000_000);
  const time = value % 1_000_000;
  return `${dateText(Math.floor(date / 10_000), Math.floor(date / 100) % 100, date % 100)} ${timeOfDayText(Math.floor(time / 10_000), Math.floor(time / 100) % 100, time % 100)}`;
}

/** YEAR: one byte, 0 for the year 0000, otherwise years since 1900. */
export function decodeYear(bytes: Buffer): number {
  const value = bytes.readUInt8(0);
  return value === 0 ? 0 : 1900 + value;
}
