// One HTTP listener (127.0.0.1 unless configured): /metrics for Prometheus, /status as JSON,
// a small status page at /, and the control API: POST /pause, /resume, /cutover, /abort,
// GET and PUT /config (the settings a run may change while it runs). Every request that changes
// something (POST, PUT) is refused from another site's page, and needs the bearer token when
// http.tokenEnv names one. A refused request gets a 4xx with {"error": "<what is wrong>"} and
// changes nothing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { LiveSettings, LiveValues } from '../config/live.js';
import type { Logger } from '../log.js';
import { checkBearer, type ControlToken } from './auth.js';
import { LIVE_KEY_NAMES, liveValue, parseConfigPatch, type LiveKey } from './config-patch.js';
import { STATUS_PAGE } from './status-page.js';

export type ControlAnswer = { readonly confirmed: true } | { readonly confirmed: false; readonly reason: string };

export interface ControlActions {
  status(): Record<string, unknown>;
  pause(): void;
  resume(): void;
  /** Confirms a manual cutover; refused, with the reason, unless the run is waiting for one. */
  cutover(): ControlAnswer;
  /** Stops the run cleanly (state saved, writers let go); refused, with the reason, once the run has ended. */
  abort?(): ControlAnswer;
  /** The values PUT /config changes. */
  readonly settings?: LiveSettings;
}

export interface HttpOptions {
  /** Required (as a bearer token) by every request that changes something. */
  readonly token?: ControlToken | undefined;
}

/** Largest PUT /config body read, bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen) ?? /^(\d+)$/.exec(listen);
  if (!match) throw new Error(`http.listen must be host:port, got "${listen}"`);
  if (match.length === 2) return { host: '127.0.0.1', port: Number(match[1]) };
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port: Number(match[3]) };
}

/** Whether a request's Origin names the host it was sent to (http, or https behind a proxy). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host;
  } catch {
    return false; // "null" (a sandboxed page, a file) or garbage
  }
}

/** The methods each path answers; another method gets 405 with these in Allow. */
const ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/': ['GET'],
  '/status': ['GET'],
  '/metrics': ['GET'],
  '/config': ['GET', 'PUT'],
  '/pause': ['POST'],
  '/resume': ['POST'],
  '/cutover': ['POST'],
  '/abort': ['POST'],
};

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

class RequestError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** The body of a PUT: JSON only, at most MAX_BODY_BYTES. */
async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new RequestError(415, `the body must be JSON: send "Content-Type: application/json"${type ? ` (got ${type})` : ''}`);
  }
  const declared = Number(request.headers['content-length']);
  const tooLarge = () => new RequestError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new RequestError(400, 'the body is empty: send a JSON object of the settings to change, e.g. {"copy":{"concurrency":8}}');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new RequestError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Who sent a request, for the log: the peer address, and the client's name. */
function requester(request: IncomingMessage): Record<string, string | undefined> {
  return { remote: request.socket.remoteAddress, userAgent: request.headers['user-agent'] };
}

export async function startHttpServer(listen: string, registry: Registry, actions: ControlActions, logger: Logger, options: HttpOptions = {}): Promise<Server> {
  const { host, port } = parseListen(listen);
  const { token } = options;
  const reply = (response: ServerResponse, code: number, body: string, type = 'application/json', headers: Record<string, string> = {}) => {
    response.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...headers });
    response.end(body);
  };
  const json = (response: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}) => reply(response, code, JSON.stringify(body), 'application/json', headers);
  const refuse = (response: ServerResponse, code: number, error: string, headers: Record<string, string> = {}) => json(response, code, { error }, headers);
  const liveSettings = (values: LiveValues) => ({ settings: values, changeable: LIVE_KEY_NAMES });

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const method = request.method ?? 'GET';
    const path = (request.url ?? '/').split('?')[0]!;
    const route = `${method} ${path}`;
    const allowed = Object.hasOwn(ROUTES, path) ? ROUTES[path]! : undefined;
    if (!allowed) return refuse(response, 404, `no such path: ${path} (the control API answers ${Object.keys(ROUTES).join(', ')})`);
    if (!allowed.includes(method)) {
      return refuse(response, 405, `${path} answers ${allowed.join(' and ')}, not ${method}`, { allow: allowed.join(', ') });
    }
    if (CHANGES.has(method)) {
      // A page of another site open in the operator's browser could otherwise pause a run or
      // confirm its cutover: browsers name the page's origin in every cross-origin POST or PUT.
      if (request.headers.origin !== undefined && !sameOrigin(request.headers.origin, request.headers.host)) {
        logger.warn({ origin: request.headers.origin, route }, 'control request from another origin refused');
        return refuse(response, 403, `refused: a request from the page of another origin (${request.headers.origin})`);
      }
      if (token) {
        const check = checkBearer(request.headers.authorization, token);
        if (!check.ok) {
          logger.warn({ route, ...requester(request), tokenSent: request.headers.authorization !== undefined }, 'control request without the right bearer token refused');
          return refuse(response, 401, check.error, { 'www-authenticate': check.challenge });
        }
      }
    }
    switch (route) {
      case 'GET /metrics':
        return reply(response, 200, await registry.metrics(), registry.contentType);
      case 'GET /status':
        return reply(response, 200, JSON.stringify(actions.status(), null, 2));
      case 'GET /':
        return reply(response, 200, STATUS_PAGE.html, 'text/html; charset=utf-8', { 'content-security-policy': STATUS_PAGE.contentSecurityPolicy });
      case 'POST /pause':
        actions.pause();
        logger.info(requester(request), 'row copy paused by the control API');
        return reply(response, 200, '{"paused":true}');
      case 'POST /resume':
        actions.resume();
        logger.info(requester(request), 'row copy resumed by the control API');
        return reply(response, 200, '{"paused":false}');
      case 'POST /cutover': {
        const answer = actions.cutover();
        if (answer.confirmed) {
          logger.info(requester(request), 'manual cutover confirmed by the control API');
          return reply(response, 202, '{"cutover":"confirmed"}');
        }
        logger.warn({ reason: answer.reason }, 'POST /cutover refused');
        return refuse(response, 409, answer.reason);
      }
      case 'POST /abort': {
        if (!actions.abort) return refuse(response, 501, 'this listener has no run to abort');
        const answer = actions.abort();
        if (!answer.confirmed) {
          logger.warn({ reason: answer.reason }, 'POST /abort refused');
          return refuse(response, 409, answer.reason);
        }
        logger.warn(requester(request), 'run aborted by the control API: stopping (state saved, writers let go if cutover had stopped them)');
        return json(response, 202, { abort: 'accepted', message: 'the run is stopping: its state is saved and the writers are let go if cutover had stopped them; resume with `tideferry resume`' });
      }
      case 'GET /config':
        if (!actions.settings) return refuse(response, 501, 'this listener has no run whose settings could change');
        return json(response, 200, liveSettings(actions.settings.values));
      case 'PUT /config': {
        const settings = actions.settings;
        if (!settings) return refuse(response, 501, 'this listener has no run whose settings could change');
        const parsed = parseConfigPatch(await readJsonBody(request));
        if (!parsed.ok) {
          logger.warn({ route, ...requester(request), error: parsed.error }, 'PUT /config refused');
          return refuse(response, 400, parsed.error);
        }
        const before = settings.values;
        const keys = settings.apply(parsed.patch) as LiveKey[];
        const changed = Object.fromEntries(keys.map((key) => [key, { from: liveValue(before, key), to: liveValue(settings.values, key) }]));
        for (const key of keys) {
          logger.info({ key, from: liveValue(before, key), to: liveValue(settings.values, key), ...requester(request) }, `live setting ${key} changed by the control API: ${liveValue(before, key)} → ${liveValue(settings.values, key)}`);
        }
        return json(response, 200, { changed, ...liveSettings(settings.values) });
      }
      default:
        return refuse(response, 404, `no such path: ${path}`);
    }
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) return void response.destroy();
      if (error instanceof RequestError) {
        // A body left unread (too large) would otherwise hold the connection open.
        refuse(response, error.code, error.message, error.code === 413 ? { connection: 'close' } : {});
        if (error.code === 413) request.resume();
        return;
      }
      logger.error({ error: String(error) }, 'control API request failed');
      refuse(response, 500, `internal error: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on http.listen ${listen}: ${error.code === 'EADDRINUSE' ? 'address in use (set http.listen to another port)' : error.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  logger.info(
    { url: `http://${host.includes(':') ? `[${host}]` : host}:${typeof address === 'object' && address ? address.port : port}/`, tokenRequired: token !== undefined, ...(token ? { tokenEnv: token.envName } : {}) },
    'status page, /metrics and control API listening',
  );
  return server;
}
