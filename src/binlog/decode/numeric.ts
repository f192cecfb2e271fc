// Numbers from their row-image bytes. Integers are little-endian; DECIMAL is the packed,
// sign-flipped big-endian format of strings/decimal.c; FLOAT and DOUBLE are IEEE 754.
// Exactness: a JS number holds every FLOAT and DOUBLE exactly and String() prints the shortest
// text that reads back to the same value; integers beyond 2^53 become bigint; DECIMAL is text.

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** A number when it is exactly representable as one, a bigint otherwise. */
export const exactInteger = (value: bigint): number | bigint => (value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value);

/** A little-endian integer of 1 to 8 bytes. */
export function decodeInteger(bytes: Buffer, unsigned: boolean): number | bigint {
  if (bytes.length <= 6) return unsigned ? bytes.readUIntLE(0, bytes.length) : bytes.readIntLE(0, bytes.length);
  let value = 0n;
  for (let index = bytes.length - 1; index >= 0; index--) value = (value << 8n) | BigInt(bytes[index]!);
  return exactInteger(unsigned ? value : BigInt.asIntN(bytes.length * 8, value));
}

export const decodeFloat = (bytes: Buffer): number => bytes.readFloatLE(0);
export const decodeDouble = (bytes: Buffer): number => bytes.readDoubleLE(0);

const DECIMAL_GROUP_BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4] as const;

/**
 * DECIMAL(precision, scale) as exact text, e.g. '-12.500' for DECIMAL(5,3). The first bit is the
 * sign (set for positive); a negative number has every bit inverted. Digits come in groups of
 * nine per four big-endian bytes, a shorter group first (integer part) and last (fraction).
 */
export function decodeDecimal(raw: Buffer, precision: number, scale: number): string {
  const bytes = Buffer.from(raw);
  const negative = (bytes[0]! & 0x80) === 0;
  bytes[0] = bytes[0]! ^ 0x80;
  if (negative) for (let index = 0; index < bytes.length; index++) bytes[index] = bytes[index]! ^ 0xff;

  let offset = 0;
  const readGroup = (digits: number, pad: boolean): string => {
    const size = digits === 9 ? 4 : DECIMAL_GROUP_BYTES[digits]!;
    if (size === 0) return '';
    const value = bytes.readUIntBE(offset, size);
    offset += size;
    const text = String(value);
    return pad ? text.padStart(digits, '0') : text;
  };

  const integerDigits = precision - scale;
  let integerPart = readGroup(integerDigits % 9, false);
  for (let group = 0; group < Math.floor(integerDigits / 9); group++) integerPart += readGroup(9, true);
  integerPart = integerPart.replace(/^0+(?=\d)/, '') || '0';

  let fractionPart = '';
  for (let group = 0; group < Math.floor(scale / 9); group++) fractionPart += readGroup(9, true);
  fractionPart += readGroup(scale % 9, true);

  return (negative ? '-' : '') + integerPart + (scale > 0 ? '.' + fractionPart : '');
}
