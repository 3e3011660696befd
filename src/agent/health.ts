// The agent's HTTP endpoint on a loopback port (docs/operations.md):
//   GET /health        etcd, VPP, liveness and port counts as JSON; 200 when connected to both etcd
//                      and VPP, else 503 (a supervisor or the operator can tell at a glance)
//   GET /health/live   200 while the process answers (liveness: restart it when this fails)
//   GET /health/ready  200 once the desired state is loaded, the first resync done and VPP connected
//   GET /metrics       Prometheus text (metrics.ts)
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { AgentHealth } from './agent.ts';
import { isReady } from './metrics.ts';

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body, null, 2) + '\n');
}

export async function startHealthServer(
  host: string,
  port: number,
  health: () => AgentHealth,
  metrics?: Registry,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return json(res, 405, { error: 'GET only' });
    if (path === '/health' || path === '/healthz') {
      const h = health();
      return json(res, h.ok ? 200 : 503, { ...h, ready: isReady(h) });
    }
    if (path === '/health/live' || path === '/livez') return json(res, 200, { status: 'alive' });
    if (path === '/health/ready' || path === '/readyz') {
      const h = health();
      const ready = isReady(h);
      return json(res, ready ? 200 : 503, {
        ready,
        desiredLoaded: h.etcd.desiredLoaded,
        firstResyncDone: h.lastResync !== null,
        vppConnected: h.vpp.connected,
      });
    }
    if (path === '/metrics' && metrics) {
      metrics.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType });
          res.end(text);
        },
        (e: unknown) => json(res, 500, { error: e instanceof Error ? e.message : String(e) }),
      );
      return;
    }
    json(res, 404, { error: 'not found; try GET /health, /health/live, /health/ready or /metrics' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
