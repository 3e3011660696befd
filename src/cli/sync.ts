// `netvpp sync`: shows the full sync and the journal batch the controller holds for deleting too much
// (docs/security.md), and with --confirm applies one. Exit status: 0 nothing held / confirmed, 1 error, 3 a sync is held.
import { readFileSync } from 'node:fs';
import { parseTokens } from '../controller/auth.ts';
import type { HeldSync } from '../controller/valve.ts';
import { controllerRequest, type ControllerAccess } from './controller-request.ts';

export const SYNC_USAGE = `usage: netvpp sync [--url URL] [--token-file FILE] [--ca-file FILE] [--confirm [ID]] [--json]
  --url URL          the leading controller (default $NETVPP_CONTROLLER_URL or http://127.0.0.1:9797)
  --token-file FILE  a token the controller accepts: its first one is used (default $NETVPP_CONTROLLER_TOKEN_FILE)
  --ca-file FILE     CA of an https controller (default $NETVPP_CONTROLLER_CA_FILE, else the system's)
  --confirm [ID]     apply the held sync or journal batch (ID: only if it is still that one)`;

interface Args {
  url: string;
  access: ControllerAccess;
  confirm: string | true | null;
  json: boolean;
}

function parse(argv: string[], env: NodeJS.ProcessEnv): Args {
  let url = env.NETVPP_CONTROLLER_URL || 'http://127.0.0.1:9797';
  let tokenFile = env.NETVPP_CONTROLLER_TOKEN_FILE || undefined;
  let caFile = env.NETVPP_CONTROLLER_CA_FILE || undefined;
  let confirm: string | true | null = null;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${SYNC_USAGE}`);
      return v;
    };
    if (a === '--url') url = value();
    else if (a === '--token-file') tokenFile = value();
    else if (a === '--ca-file') caFile = value();
    else if (a === '--json') json = true;
    else if (a === '--confirm') confirm = argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : true;
    else throw new Error(`unexpected argument "${a}"\n${SYNC_USAGE}`);
  }
  const token = tokenFile ? parseTokens(readFileSync(tokenFile, 'utf8'), tokenFile)[0] : undefined;
  return { url: url.replace(/\/+$/, ''), access: { token, caFile }, confirm, json };
}

async function api(a: Args, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await controllerRequest(`${a.url}${path}`, a.access, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(600_000),
  });
  const reply = (await r.json()) as Record<string, unknown>;
  if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status}: ${String(reply.error)}`);
  return reply;
}

function describe(h: HeldSync): string {
  const lines = [
    `a ${h.kind === 'journal' ? 'journal batch' : 'full sync'} is held (id ${h.id}, since ${h.at}): it would delete ${h.deletes} of the ${h.of} desired-state keys`,
  ];
  if (h.ports.length) lines.push(`  ports: ${h.ports.join(' ')}`);
  if (h.security_groups.length) lines.push(`  security groups: ${h.security_groups.join(' ')}`);
  lines.push(...h.sample.map((k) => `  - ${k}`));
  if (h.deletes > h.sample.length) lines.push(`  ... and ${h.deletes - h.sample.length} more`);
  return lines.join('\n');
}

export async function runSync(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(SYNC_USAGE);
    return 0;
  }
  const a = parse(argv, env);
  const reply = await api(a, 'GET', '/v1/sync/held');
  const held = [reply.held, reply.journal].filter((h): h is HeldSync => !!h);
  if (a.confirm === null) {
    if (a.json) console.log(JSON.stringify({ held: reply.held ?? null, journal: reply.journal ?? null }));
    else if (held.length === 0) console.log('nothing is held');
    else for (const h of held) console.log(`${describe(h)}\nconfirm with: netvpp sync --confirm ${h.id}`);
    return held.length ? 3 : 0;
  }
  if (a.confirm === true && held.length > 1)
    throw new Error(
      `a full sync and a journal batch are held: name the one to confirm (${held.map((h) => h.id).join(', ')})`,
    );
  const id = a.confirm === true ? held[0]?.id : a.confirm;
  if (!id) throw new Error('nothing is held: nothing to confirm');
  const h = held.find((x) => x.id === id);
  if (h && !a.json) console.log(describe(h));
  const done = await api(a, 'POST', '/v1/sync/confirm', { id });
  console.log(a.json ? JSON.stringify(done) : `confirmed: ${JSON.stringify(done)}`);
  return 0;
}
