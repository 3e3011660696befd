/**
 * Minimal structured logger: one line per record on stderr, `level component message key=value`,
 * or one JSON object per line (oslo.log's use_json), or appended to a file (log_file).
 * Level from NETVPP_LOG_LEVEL (debug|info|warn|error), default info; tests default to warn.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: Level =
  (process.env.NETVPP_LOG_LEVEL as Level | undefined) ?? (process.env.NODE_TEST_CONTEXT ? 'warn' : 'info');

export function setLogLevel(l: Level): void {
  threshold = l;
}

let json = false;
/** File descriptor of log_file; undefined: stderr. */
let fileFd: number | undefined;

export interface LogSettings {
  level: Level;
  /** One JSON object per line: {time, level, component, message, ...fields}. */
  json?: boolean;
  /** Append to this file instead of stderr (opened now: a bad path fails at start, not later). */
  file?: string | null;
}

/** Applies a daemon's logging options ([DEFAULT] log_level/debug/use_json/log_file). */
export function configureLog(s: LogSettings): void {
  threshold = s.level;
  json = s.json === true;
  if (fileFd !== undefined) closeSync(fileFd);
  fileFd = s.file ? openSync(s.file, 'a') : undefined;
}

function write(line: string): void {
  if (fileFd === undefined) process.stderr.write(line);
  else writeSync(fileFd, line);
}

function jsonValue(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  if (typeof v === 'bigint') return v.toString();
  return v;
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
    const time = new Date().toISOString();
    if (json) {
      const rec: Record<string, unknown> = { time, level, component, message: msg };
      for (const [k, v] of Object.entries(fields ?? {})) if (!(k in rec)) rec[k] = jsonValue(v);
      write(JSON.stringify(rec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
      return;
    }
    const kv = fields
      ? Object.entries(fields)
          .map(([k, v]) => ` ${k}=${fmt(v)}`)
          .join('')
      : '';
    write(`${time} ${level.toUpperCase()} ${component}: ${msg}${kv}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (c) => logger(`${component}.${c}`),
  };
}
