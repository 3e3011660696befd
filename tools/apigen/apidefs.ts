/** Loads VPP `.api.json` files into one registry of types, messages and services. */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export type RawField = [string, string, ...unknown[]];

export interface ApiMessage {
  name: string;
  module: string;
  fields: RawField[];
  crc: string;
  comment?: string;
}

export interface ApiService {
  reply: string;
  stream?: boolean;
  stream_msg?: string;
  events?: string[];
}

export interface ApiRegistry {
  messages: Map<string, ApiMessage>;
  services: Map<string, ApiService>;
  structs: Map<string, RawField[]>;
  unions: Map<string, RawField[]>;
  enums: Map<string, { t: string; values: [string, number][]; flags: boolean }>;
  aliases: Map<string, { type: string; length?: number }>;
}

interface ApiFile {
  module?: string;
  types?: unknown[][];
  unions?: unknown[][];
  enums?: unknown[][];
  enumflags?: unknown[][];
  aliases?: Record<string, { type: string; length?: number }>;
  messages?: unknown[][];
  services?: Record<string, ApiService>;
}

/** Where API definitions are found: an explicit dir, a VPP install, or the shared copy. */
export function defaultApiDirs(): string[] {
  const env = process.env.NETVPP_VPP_API_DIR;
  if (env) return [env];
  if (existsSync('/usr/share/vpp/api')) return ['/usr/share/vpp/api'];
  return [new URL('../../../shared/vpp-api', import.meta.url).pathname];
}

function walk(dir: string, out: string[]): string[] {
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (n.endsWith('.api.json')) out.push(p);
  }
  return out;
}

function fieldsOf(entry: unknown[]): { fields: RawField[]; meta: Record<string, unknown> } {
  const fields: RawField[] = [];
  let meta: Record<string, unknown> = {};
  for (const x of entry.slice(1)) {
    if (Array.isArray(x)) fields.push(x as RawField);
    else if (x && typeof x === 'object') meta = x as Record<string, unknown>;
  }
  return { fields, meta };
}

export function loadApi(dirs: string[]): ApiRegistry {
  const reg: ApiRegistry = {
    messages: new Map(),
    services: new Map(),
    structs: new Map(),
    unions: new Map(),
    enums: new Map(),
    aliases: new Map(),
  };
  for (const file of dirs.flatMap((d) => walk(d, []))) {
    const api = JSON.parse(readFileSync(file, 'utf8')) as ApiFile;
    const module = api.module ?? file.replace(/^.*\//, '').replace('.api.json', '');
    for (const t of api.types ?? []) reg.structs.set(t[0] as string, fieldsOf(t).fields);
    for (const u of api.unions ?? []) reg.unions.set(u[0] as string, fieldsOf(u).fields);
    for (const [list, flags] of [
      [api.enums ?? [], false],
      [api.enumflags ?? [], true],
    ] as const) {
      for (const e of list) {
        const values: [string, number][] = [];
        let t = 'u32';
        for (const x of e.slice(1)) {
          if (Array.isArray(x)) values.push([x[0] as string, x[1] as number]);
          else if (x && typeof x === 'object') t = (x as { enumtype?: string }).enumtype ?? t;
        }
        reg.enums.set(e[0] as string, { t, values, flags });
      }
    }
    for (const [k, v] of Object.entries(api.aliases ?? {})) reg.aliases.set(k, v);
    for (const m of api.messages ?? []) {
      const { fields, meta } = fieldsOf(m);
      reg.messages.set(m[0] as string, {
        name: m[0] as string,
        module,
        fields,
        crc: meta.crc as string,
        comment: meta.comment as string | undefined,
      });
    }
    for (const [k, v] of Object.entries(api.services ?? {})) reg.services.set(k, v);
  }
  return reg;
}
