// The end-to-end stack runs as production should: the controller on HTTPS with a certificate from a
// throw-away CA, the driver (and the tests) authenticated by a token from a file, and desired state
// signed by the controller and verified by every agent (docs/security.md).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controllerRequest as request } from '../../src/cli/controller-request.ts';
import { generateKeyFiles } from '../../src/model/signing.ts';
import { makeCerts } from '../store/helpers/certs.ts';

export interface ControllerSecurity {
  /** The driver's token and the file both sides read it from. */
  token: string;
  tokenFile: string;
  /** CA that signed the controller's certificate (the driver's `ca_file`). */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The controller's `[security] signing_key_file` and the agents' `verify_keys` (a directory). */
  signingKeyFile: string;
  verifyKeys: string;
  /** Directory holding all of it (remove it when done). */
  dir: string;
}

export function makeControllerSecurity(): ControllerSecurity {
  const certs = makeCerts();
  const token = randomBytes(32).toString('hex');
  const tokenFile = join(certs.dir, 'controller-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const signing = generateKeyFiles(join(certs.dir, 'signing'), 'e2e');
  return {
    signingKeyFile: signing.privateFile,
    verifyKeys: join(certs.dir, 'signing'),
    token,
    tokenFile,
    caFile: certs.ca,
    certFile: certs.serverCert,
    keyFile: certs.serverKey,
    dir: certs.dir,
  };
}

/** fetch() for the controller with the stack's CA and token (plain http and no token without them). */
export function controllerRequest(
  url: string,
  sec: ControllerSecurity | null,
  init: { method?: string; body?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  return request(url, sec ? { token: sec.token, caFile: sec.caFile } : {}, init);
}
