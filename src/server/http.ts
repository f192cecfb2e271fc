// One HTTP listener (127.0.0.1 unless configured): /metrics for Prometheus, /status as JSON,
// a small status page at /, and the control API: POST /pause, /resume, /cutover.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { STATUS_PAGE } from './status-page.js';

export interface ControlActions {
  status(): Record<string, unknown>;
  pause(): void;
  resume(): void;
  /** Confirms a manual cutover; refused, with the reason, unless the run is waiting for one. */
  cutover(): { readonly confirmed: true } | { readonly confirmed: false; readonly reason: string };
}

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

export async function startHttpServer(listen: string, registry: Registry, actions: ControlActions, logger: Logger): Promise<Server> {
  const { host, port } = parseListen(listen);
  const reply = (response: ServerResponse, code: number, body: string, type = 'application/json', headers: Record<string, string> = {}) => {
    response.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...headers });
    response.end(body);
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const route = `${request.method} ${(request.url ?? '/').split('?')[0]}`;
    void (async () => {
      // A page of another site open in the operator's browser could otherwise pause a run or
      // confirm its cutover: browsers name the page's origin in every cross-origin POST.
      if (request.method === 'POST' && request.headers.origin !== undefined && !sameOrigin(request.headers.origin, request.headers.host)) {
        logger.warn({ origin: request.headers.origin, route }, 'control request from another origin refused');
        return reply(response, 403, JSON.stringify({ error: `refused: a request from the page of another origin (${request.headers.origin})` }));
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
          logger.info('row copy paused by the control API');
          return reply(response, 200, '{"paused":true}');
        case 'POST /resume':
          actions.resume();
          logger.info('row copy resumed by the control API');
          return reply(response, 200, '{"paused":false}');
        case 'POST /cutover': {
          const answer = actions.cutover();
          if (answer.confirmed) {
            logger.info('manual cutover confirmed by the control API');
            return reply(response, 202, '{"cutover":"confirmed"}');
          }
          logger.warn({ reason: answer.reason }, 'POST /cutover refused');
          return reply(response, 409, JSON.stringify({ error: answer.reason }));
        }
        default:
          return reply(response, 404, '{"error":"not found"}');
      }
    })().catch((error: unknown) => reply(response, 500, JSON.stringify({ error: String(error) })));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on http.listen ${listen}: ${error.code === 'EADDRINUSE' ? 'address in use (set http.listen to another port)' : error.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  logger.info({ url: `http://${host}:${typeof address === 'object' && address ? address.port : port}/` }, 'status page, /metrics and control API listening');
  return server;
}
