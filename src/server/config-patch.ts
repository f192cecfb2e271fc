// PUT /config's body → a validated LivePatch, or the reasons it is refused. Pure: no I/O, no
// state; the HTTP layer (http.ts) applies the patch only when every key of it is valid, so a
// bad request changes nothing. Each value is checked with the config schema's own field schema
// (configSchema, schema.ts), so that the bounds are written once: the copy's concurrency is
// 1–64 here because it is 1–64 in a config file.
import { z } from 'zod';
import { configSchema } from '../config/schema.js';
import type { LivePatch, LiveValues } from '../config/live.js';

/** The config's default-wrapped object section `name`, unwrapped to its field schemas. */
const copyFields = configSchema.shape.copy.unwrap().shape;
const throttleFields = configSchema.shape.throttle.unwrap().shape;

/** What may change while a run runs, each with the schema a config file's value passes. */
export const LIVE_KEYS = {
  'copy.batchRows': copyFields.batchRows.unwrap(),
  'copy.concurrency': copyFields.concurrency.unwrap(),
  'throttle.maxLagSeconds': throttleFields.maxLagSeconds.unwrap(),
  'throttle.maxPauseSeconds': throttleFields.maxPauseSeconds.unwrap(),
  'throttle.binlogLagTargetSeconds': throttleFields.binlogLagTargetSeconds.unwrap(),
} as const satisfies Record<string, z.ZodType<number>>;

export type LiveKey = keyof typeof LIVE_KEYS;
export const LIVE_KEY_NAMES = Object.keys(LIVE_KEYS) as LiveKey[];

const isLiveKey = (key: string): key is LiveKey => Object.hasOwn(LIVE_KEYS, key);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether `path` (`cutover.mode`) names a key of the config file at all (to tell "cannot change mid-run" from "unknown"). */
export function isConfigKey(path: string): boolean {
  let schema: z.ZodType | undefined = configSchema;
  for (const part of path.split('.')) {
    while (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
    if (!(schema instanceof z.ZodObject)) return false;
    const shape = schema.shape as Record<string, z.ZodType>;
    if (!Object.hasOwn(shape, part)) return false;
    schema = shape[part];
  }
  return true;
}

export type PatchResult =
  | { readonly ok: true; readonly patch: LivePatch; readonly values: ReadonlyMap<LiveKey, number> }
  | { readonly ok: false; readonly error: string; readonly problems: readonly string[] };

const CHANGEABLE = `what can change mid-run: ${LIVE_KEY_NAMES.join(', ')}`;

/**
 * Reads a PUT /config body: nested (`{"copy": {"concurrency": 8}}`) or dotted
 * (`{"copy.concurrency": 8}`) keys, or both. Every problem is named, not just the first: unknown
 * keys, keys that cannot change while the run runs, values out of the schema's bounds, a key
 * given twice, an empty body.
 */
export function parseConfigPatch(body: unknown): PatchResult {
  if (!isPlainObject(body)) {
    return refused(['the body must be a JSON object of the settings to change, e.g. {"copy":{"concurrency":8}}']);
  }
  const entries: [string, unknown][] = [];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (key.includes('.')) entries.push([key, value]);
    else if (isPlainObject(value)) {
      for (const [inner, innerValue] of Object.entries(value)) entries.push([`${key}.${inner}`, innerValue]);
    } else if (isConfigKey(key) && LIVE_KEY_NAMES.some((name) => name.startsWith(`${key}.`))) {
      problems.push(`"${key}" must be an object of its keys, e.g. {"${key}":{"${LIVE_KEY_NAMES.find((name) => name.startsWith(`${key}.`))!.slice(key.length + 1)}":…}}`);
    } else entries.push([key, value]);
  }
  const values = new Map<LiveKey, number>();
  const seen = new Set<string>();
  const unknown: string[] = [];
  const fixed: string[] = [];
  for (const [key, value] of entries) {
    if (seen.has(key)) {
      problems.push(`"${key}" is given twice`);
      continue;
    }
    seen.add(key);
    if (!isLiveKey(key)) {
      (isConfigKey(key) ? fixed : unknown).push(key);
      continue;
    }
    const parsed = LIVE_KEYS[key].safeParse(value);
    if (parsed.success) values.set(key, parsed.data);
    else problems.push(...parsed.error.issues.map((issue) => `"${key}": ${issue.message}${typeof value === 'number' || typeof value === 'string' ? ` (got ${JSON.stringify(value)})` : ''}`));
  }
  if (unknown.length) problems.unshift(`unknown key ${unknown.map((key) => `"${key}"`).join(', ')}`);
  if (fixed.length) problems.unshift(`${fixed.map((key) => `"${key}"`).join(', ')} cannot change while the run runs (restart with the config changed)`);
  if (problems.length === 0 && values.size === 0) problems.push('nothing to change');
  if (problems.length) return refused(problems, unknown.length > 0 || fixed.length > 0 || values.size === 0);
  const patch: { -readonly [Section in keyof LiveValues]?: Record<string, number> } = {};
  for (const [key, value] of values) {
    const [section, name] = key.split('.') as [keyof LiveValues, string];
    (patch[section] ??= {})[name] = value;
  }
  return { ok: true, patch: patch as LivePatch, values };
}

function refused(problems: string[], listChangeable = true): PatchResult {
  return { ok: false, problems, error: `${problems.join('; ')}${listChangeable ? `; ${CHANGEABLE}` : ''}; nothing was changed` };
}

/** A live value by its dotted key. */
export function liveValue(values: LiveValues, key: LiveKey): number {
  const [section, name] = key.split('.') as [keyof LiveValues, string];
  return (values[section] as Record<string, number>)[name]!;
}
