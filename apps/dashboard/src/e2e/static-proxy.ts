/**
 * The serving contract of the dashboard, as a tiny server for tests and local use: API paths
 * (src/api/paths.ts) are proxied to the coordinator — streamed, so server-sent events pass through —
 * and everything else is a file of dist/ (`/` → index.html). The coordinator, once it serves dist
 * itself, must behave the same way.
 */
import { createReadStream, promises as fs } from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { isApiPath } from '../api/paths';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** A running server and how to stop it. */
export interface StaticProxy {
  url: string;
  close: () => Promise<void>;
}

/** Serves `distDir` and proxies the API to `apiOrigin` (e.g. `http://127.0.0.1:3000`) on a free port. */
export async function startStaticProxy(distDir: string, apiOrigin: string): Promise<StaticProxy> {
  const api = new URL(apiOrigin);
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (isApiPath(pathname)) proxy(req, res, api);
    else void serveFile(distDir, pathname, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function proxy(req: http.IncomingMessage, res: http.ServerResponse, api: URL): void {
  const upstream = http.request(
    { host: api.hostname, port: api.port, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ statusCode: 502, message: `coordinator unreachable: ${err.message}` }));
  });
  req.pipe(upstream);
  // the browser went away (page closed, EventSource reconnecting): drop the upstream stream too
  res.on('close', () => upstream.destroy());
}

async function serveFile(distDir: string, pathname: string, res: http.ServerResponse): Promise<void> {
  const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
  const file = path.resolve(distDir, relative);
  if (!file.startsWith(path.resolve(distDir) + path.sep)) {
    res.writeHead(403).end('forbidden');
    return;
  }
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw new Error('not a file');
  } catch {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${pathname}`);
    return;
  }
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
}
