// A request to the controller's API as the driver makes it: the token as a bearer, an https
// controller verified against a given CA (Node's fetch takes no CA), answered as a standard Response.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';

export interface ControllerAccess {
  /** The driver token; none: no Authorization header. */
  token?: string;
  /** PEM file of the CA that signed the controller's certificate; none: the system's CAs. */
  caFile?: string;
}

export function controllerRequest(
  url: string,
  access: ControllerAccess,
  init: { method?: string; body?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method: init.method ?? 'GET',
        signal: init.signal,
        ...(access.caFile && u.protocol === 'https:' ? { ca: readFileSync(access.caFile) } : {}),
        headers: {
          ...(access.token ? { authorization: `Bearer ${access.token}` } : {}),
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500 })));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
