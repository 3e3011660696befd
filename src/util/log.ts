/**
 * Minimal structured logger: one line per record on stderr, `level component message key=value`.
 * Level from NETVPP_LOG_LEVEL (debug|info|warn|error), default info; tests default to warn.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: Level =
  (process.env.NETVPP_LOG_LEVEL as Level | undefined) ?? (process.env.NODE_TEST_CONTEXT ? 'warn' : 'info');

export function setLogLevel(l: Level): void {
  threshold = l;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

function fmt(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v);
}

export function logger(component: string): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < ORDER[threshold]) return;
    const kv = fields
      ? Object.entries(fields)
          .map(([k, v]) => ` ${k}=${fmt(v)}`)
          .join('')
      : '';
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${component}: ${msg}${kv}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (c) => logger(`${component}.${c}`),
  };
}
