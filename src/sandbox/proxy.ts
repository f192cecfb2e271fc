// A TCP proxy in front of a sandbox server, for tests and benchmarks: it can hold every chunk
// a fixed time in each direction (the kernel's netem is not available on these machines, so
// this is how the benchmarks raise the target's per-write overhead), and it can cut all
// connections at once and refuse new ones (a target that becomes unreachable).
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface LatencyProxyOptions {
  readonly upstreamHost: string;
  readonly upstreamPort: number;
  /** Milliseconds each chunk is held, per direction (a round trip costs twice this). */
  readonly delayMs?: number;
}

function relay(from: Socket, to: Socket, delayMs: number): void {
  if (delayMs <= 0) {
    from.pipe(to);
    return;
  }
  // Chunks keep their order: each is released delayMs after it arrived, and arrivals are ordered.
  let pending = 0;
  from.on('data', (chunk: Buffer) => {
    pending++;
    if (pending > 64) from.pause();
    setTimeout(() => {
      pending--;
      if (!to.destroyed) to.write(chunk);
      if (pending <= 16) from.resume();
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs));
}

export class LatencyProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly options: LatencyProxyOptions) {}

  async start(): Promise<this> {
    const delay = this.options.delayMs ?? 0;
    this.server = createServer((client) => {
      const upstream = createConnection({ host: this.options.upstreamHost, port: this.options.upstreamPort });
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      relay(client, upstream, delay);
      relay(upstream, client, delay);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  /** Drops every connection and refuses new ones. */
  cut(): void {
    this.server?.close();
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
