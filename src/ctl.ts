// `tideferry ctl pause|resume|cutover|abort|status|config`: calls a running run's control API.
// Where: --url, or the http.listen of --config; the token: the environment variable that
// --token-env or the config's http.tokenEnv names. Returns what to print and the exit code;
// cli.ts writes and exits (no process-wide effects here).
import { loadConfig } from './config/load.js';
import { ConfigError } from './errors.js';
import { parseListen } from './server/http.js';

export const CTL_VERBS = ['status', 'pause', 'resume', 'cutover', 'abort', 'config'] as const;
export type CtlVerb = (typeof CTL_VERBS)[number];

export interface CtlOptions {
  readonly url?: string | undefined;
  readonly config?: string | undefined;
  readonly tokenEnv?: string | undefined;
  /** Seconds to wait for an answer. */
  readonly timeoutSeconds?: number;
}

export interface CtlOutcome {
  readonly exitCode: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

export const DEFAULT_CONTROL_URL = 'http://127.0.0.1:9107';

/** The URL a listener on `listen` answers at: a wildcard address is reached on loopback. */
export function urlForListen(listen: string): string {
  const { host, port } = parseListen(listen);
  if (port === 0) throw new ConfigError(`http.listen is ${listen}: the port is chosen when the run starts (its log says "control API listening" with the url); give --url`);
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * `copy.concurrency=8 throttle.maxLagSeconds=2` → {"copy.concurrency": 8, …} for PUT /config
 * (the server reads dotted keys and checks them; a value that is not JSON goes as a string).
 */
export function parseAssignments(assignments: readonly string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const match = /^([^=\s]+)=(.*)$/.exec(assignment);
    if (!match) throw new ConfigError(`"${assignment}" is not key=value (e.g. copy.concurrency=8)`);
    const [, key, text] = match as unknown as [string, string, string];
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    body[key] = value;
  }
  return body;
}

interface Target {
  readonly url: string;
  readonly token: string | undefined;
  readonly tokenEnv: string | undefined;
}

function resolveTarget(options: CtlOptions, env: NodeJS.ProcessEnv): Target {
  const config = options.config !== undefined ? loadConfig(options.config) : undefined;
  if (config && !config.http.enabled && options.url === undefined) {
    throw new ConfigError(`http.enabled is false in ${options.config}: a run of it has no control API (give --url to call another)`);
  }
  const url = (options.url ?? (config ? urlForListen(config.http.listen) : DEFAULT_CONTROL_URL)).replace(/\/+$/, '');
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new ConfigError(`--url must be an http:// URL, got "${url}"`);
  }
  const tokenEnv = options.tokenEnv ?? config?.http.tokenEnv;
  let token: string | undefined;
  if (tokenEnv !== undefined) {
    token = env[tokenEnv];
    if (token === undefined || token.trim() === '') {
      const from = options.tokenEnv !== undefined ? '--token-env' : `http.tokenEnv in ${options.config}`;
      throw new ConfigError(`${from} names the environment variable ${tokenEnv}, which is ${token === undefined ? 'not set' : 'empty'}: set it to the run's control token`);
    }
  }
  return { url, token, tokenEnv };
}

function describeFailure(error: unknown, url: string, timeoutSeconds: number): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code;
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer from ${url} within ${timeoutSeconds} s`;
  switch (code) {
    case 'ECONNREFUSED':
      return `no tideferry run answers at ${url} (connection refused)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${url}: unknown host`;
    case 'ECONNRESET':
      return `the connection to ${url} was reset (the run may have ended)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach ${url} (${code})`;
    default:
      return `cannot call ${url}: ${cause?.message ?? (error as Error).message ?? String(error)}`;
  }
}

/** Calls the control API for `verb`; `assignments` only for `config` (none: GET /config). */
export async function runCtl(verb: CtlVerb, assignments: readonly string[], options: CtlOptions, env: NodeJS.ProcessEnv = process.env): Promise<CtlOutcome> {
  if (verb !== 'config' && assignments.length > 0) throw new ConfigError(`ctl ${verb} takes no arguments (got ${assignments.join(' ')}); only ctl config takes key=value`);
  const target = resolveTarget(options, env);
  const body = verb === 'config' && assignments.length > 0 ? JSON.stringify(parseAssignments(assignments)) : undefined;
  const method = verb === 'status' ? 'GET' : verb === 'config' ? (body ? 'PUT' : 'GET') : 'POST';
  const path = verb === 'status' ? '/status' : `/${verb}`;
  const headers: Record<string, string> = { 'user-agent': 'tideferry-ctl' };
  if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const timeoutSeconds = options.timeoutSeconds ?? 10;
  const url = `${target.url}${path}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutSeconds * 1000) });
    text = await response.text();
  } catch (error) {
    return { exitCode: 1, stderr: `tideferry ctl ${verb}: ${describeFailure(error, target.url, timeoutSeconds)}` };
  }
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = undefined;
  }
  if (response.ok) {
    const printed = answer === undefined ? text.trim() : verb === 'status' || (verb === 'config' && !body) ? JSON.stringify(answer, null, 2) : JSON.stringify(answer);
    return { exitCode: 0, stdout: printed };
  }
  const sentence = typeof (answer as { error?: unknown } | undefined)?.error === 'string' ? (answer as { error: string }).error : text.trim() || response.statusText;
  const hint = response.status === 401 && target.token === undefined ? ' (give --config with the run\'s config, or --token-env NAME)' : '';
  return { exitCode: 1, stderr: `tideferry ctl ${verb}: ${method} ${path} refused (${response.status}): ${sentence}${hint}` };
}
