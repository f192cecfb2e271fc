// One HTTP listener (127.0.0.1 unless configured): /metrics for Prometheus, /status as JSON,
// a small status page at /, and the control API: POST /pause, /resume, /cutover.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';

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

function statusPage(status: Record<string, unknown>): string {
  const rows = Object.entries(status)
    .map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td><pre>${escapeHtml(typeof value === 'string' ? value : JSON.stringify(value, null, 1))}</pre></td></tr>`)
    .join('');
  return `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>tideferry</title>
<style>body{font:14px system-ui;margin:2em}th{text-align:left;padding-right:1em;vertical-align:top}pre{margin:0}</style>
<h1>tideferry</h1><table>${rows}</table>
<p>Control: <code>curl -X POST http://HOST/pause</code>, <code>/resume</code>, <code>/cutover</code> (manual mode). Metrics at <a href="/metrics">/metrics</a>.</p>`;
}

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

export async function startHttpServer(listen: string, registry: Registry, actions: ControlActions, logger: Logger): Promise<Server> {
  const { host, port } = parseListen(listen);
  const reply = (response: ServerResponse, code: number, body: string, type = 'application/json') => {
    response.writeHead(code, { 'content-type': type });
    response.end(body);
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const route = `${request.method} ${(request.url ?? '/').split('?')[0]}`;
    void (async () => {
      switch (route) {
        case 'GET /metrics':
          return reply(response, 200, await registry.metrics(), registry.contentType);
        case 'GET /status':
          return reply(response, 200, JSON.stringify(actions.status(), null, 2));
        case 'GET /':
          return reply(response, 200, statusPage(actions.status()), 'text/html; charset=utf-8');
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
